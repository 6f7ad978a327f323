"""Resolvers of the connectors: events delivered over GraphQL, account links, sync runs."""

from __future__ import annotations

from typing import Any

from carbonhub.auth import Scope
from carbonhub.connectors.linking import LinkTerms, linked_accounts
from carbonhub.connectors.service import Connectors, IngestOutcome
from carbonhub.consent import policy
from carbonhub.db import write_session
from carbonhub.errors import ConfigurationError
from carbonhub.models import LinkedAccount, Person, SyncRun
from carbonhub.resolvers.common import page_size
from carbonhub.resolvers.context import Info, in_thread


def connectors_of(info: Info) -> Connectors:
    """The app's connectors (the schema also runs outside the app, in tests, without them)."""
    if info.context.connectors is None:
        raise ConfigurationError("connectors are not loaded in this process")
    return info.context.connectors


async def ingest_events(info: Info, records: list[Any]) -> IngestOutcome:
    """Post records a connector client delivers, exactly like a signed push of its connector."""
    slug = policy.acting_connector(info.context.principal, "deliver events")
    connectors = connectors_of(info)
    return await in_thread(
        lambda: connectors.deliver(slug, records, mode="graphql", now=info.context.now)
    )


async def person_linked_accounts(info: Info, subject: Person) -> list[LinkedAccount]:
    """The provider accounts of a person (who was loaded under the access policy)."""
    return await in_thread(lambda: linked_accounts(info.context.hub.engine, subject.id))


async def link_account(info: Info, slug: str, categories: list[str] | None) -> str:
    """Start linking a provider account; the URL to send the citizen's browser to."""
    person_id = policy.require_own_person(
        info.context.principal, Scope.CONSENT_MANAGE, "linking a provider account"
    )
    linking = connectors_of(info).linking
    terms = LinkTerms(categories=tuple(categories) if categories else None)

    def run() -> str:
        with write_session(info.context.hub.engine) as session:
            return linking.start(session, person_id, slug, terms, now=info.context.now)

    return await in_thread(run)


async def unlink_account(info: Info, slug: str) -> LinkedAccount:
    """Unlink a provider account: its tokens are forgotten and the ingest consent revoked."""
    person_id = policy.require_own_person(
        info.context.principal, Scope.CONSENT_MANAGE, "unlinking a provider account"
    )
    linking = connectors_of(info).linking

    def run() -> LinkedAccount:
        with write_session(info.context.hub.engine) as session:
            return linking.unlink(session, person_id, slug, now=info.context.now)

    return await in_thread(run)


async def sync_runs(info: Info, connector: str | None, first: int) -> list[SyncRun]:
    """The latest sync, push and import runs (operators)."""
    policy.require_operator(info.context.principal, "reading sync runs")
    connectors = connectors_of(info)
    limit = page_size(first)
    return await in_thread(lambda: connectors.runs(connector=connector, limit=limit))
