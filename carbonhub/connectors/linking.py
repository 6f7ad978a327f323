"""Linking a citizen's provider account: carbonhub as the provider's OAuth client.

1. :meth:`AccountLinking.start` records the OAuth ``state`` and a PKCE verifier (encrypted) and
   returns the provider's authorisation URL (S256 code challenge) for the citizen's browser.
2. The provider redirects to ``/connectors/{slug}/callback``; :meth:`AccountLinking.complete`
   exchanges the code with the verifier, stores the provider's tokens encrypted and records the
   ingest consent (with its receipt) in the same transaction as the linked account.
3. :meth:`AccountLinking.access_token` hands the sync a fresh token, refreshing (and storing the
   rotated pair) shortly before expiry or when the provider answered 401.
"""

from __future__ import annotations

import secrets
import ssl
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.connectors.base import ProviderConfig, ProviderOAuth
from carbonhub.connectors.registry import ConnectorRegistry, LoadedConnector
from carbonhub.connectors.vault import TokenVault
from carbonhub.consent.service import ConsentService, ConsentTerms
from carbonhub.db import read_session, write_session
from carbonhub.errors import CarbonhubError, Conflict, InvalidInput, NotFound
from carbonhub.models import AccountLinkRequest, LinkedAccount, Person

LINK_REQUEST_MINUTES = 10
REFRESH_MARGIN = timedelta(seconds=60)
DEFAULT_HISTORY_DAYS = 90  # how far back a new link lets the provider deliver
CONSENT_DAYS = 365


class LinkFailed(CarbonhubError):
    """The provider refused the link or the token exchange (the citizen may try again)."""

    code = "LINK_FAILED"


@dataclass(frozen=True, slots=True)
class LinkTerms:
    """What the citizen allows the provider to deliver, chosen when linking."""

    categories: tuple[str, ...] | None = None  # None: every category the connector delivers
    data_from: date | None = None  # None: DEFAULT_HISTORY_DAYS before today
    data_to: date | None = None  # None: as long as the consent lasts
    language: str = "zh-CN"


class AccountLinking:
    """Starts and completes account links and keeps provider tokens fresh."""

    def __init__(
        self,
        engine: Engine,
        registry: ConnectorRegistry,
        vault: TokenVault,
        consents: ConsentService,
        public_url: str,
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.vault = vault
        self.consents = consents
        self.public_url = public_url.rstrip("/")

    def redirect_uri(self, slug: str) -> str:
        """Where the provider sends the citizen back to."""
        return f"{self.public_url}/connectors/{slug}/callback"

    def start(
        self,
        session: Session,
        person_id: str,
        slug: str,
        terms: LinkTerms,
        *,
        now: datetime,
        return_to: str | None = None,
    ) -> str:
        """Record a link request and return the provider's authorisation URL for the citizen."""
        loaded = self.registry.get(slug)
        oauth, config = _oauth_of(loaded)
        if session.get(Person, person_id) is None:
            raise NotFound(f"unknown person {person_id!r}")
        categories = terms.categories or tuple(sorted(loaded.info.categories))
        undeclared = sorted(set(categories) - loaded.info.categories)
        if undeclared:
            raise InvalidInput(f"{slug} does not deliver categories {undeclared}")
        state = secrets.token_urlsafe(32)
        verifier = generate_token(64)
        window = _window(terms, now)
        session.add(
            AccountLinkRequest(
                state=state,
                person_id=person_id,
                connector=slug,
                code_verifier=self.vault.seal(verifier),
                categories=" ".join(categories),
                data_from=window[0],
                data_to=window[1],
                language=terms.language,
                return_to=return_to,
                created_at=now,
            )
        )
        client = _client(config, self.redirect_uri(slug), scope=oauth.scope)
        url, _ = client.create_authorization_url(
            oauth.authorize_url, state=state, code_verifier=verifier
        )
        return str(url)

    async def complete(self, slug: str, state: str, code: str, *, now: datetime) -> LinkedAccount:
        """Exchange the provider's code, store the tokens and record the ingest consent."""
        loaded = self.registry.get(slug)
        oauth, config = _oauth_of(loaded)
        with write_session(self.engine) as session:
            request = session.get(AccountLinkRequest, state)
            if request is None or request.connector != slug:
                raise LinkFailed("this link request is unknown or was already used; start again")
            session.delete(request)
            if request.created_at < now - timedelta(minutes=LINK_REQUEST_MINUTES):
                raise LinkFailed("this link request expired; start again")
            verifier = self.vault.open(request.code_verifier)
            person_id = request.person_id
            stored_terms = (
                tuple(request.categories.split()),
                request.data_from,
                request.data_to,
                request.language,
            )
        token = await self._exchange(oauth, config, slug, code, verifier)
        subject = str(token.get("account_id") or "")
        if not subject:
            raise LinkFailed(f"{slug} did not say which account was linked (no account_id)")
        with write_session(self.engine) as session:
            return self._store(session, slug, person_id, subject, token, stored_terms, now)

    async def access_token(
        self, account: LinkedAccount, *, now: datetime, force: bool = False
    ) -> str:
        """A usable access token of ``account``, refreshed when due (or when ``force``)."""
        if account.access_token is None:
            raise LinkFailed(
                f"{account.connector} account {account.subject} holds no token; link it again"
            )
        due = (
            account.token_expires_at is not None
            and account.token_expires_at - REFRESH_MARGIN <= now
        )
        if not (due or force):
            return self.vault.open(account.access_token)
        if account.refresh_token is None:
            raise LinkFailed(
                f"{account.connector} account {account.subject}: the token expired and cannot be refreshed; link it again"
            )
        oauth, config = _oauth_of(self.registry.get(account.connector))
        async with _client(config) as client:
            try:
                token = await client.refresh_token(
                    oauth.token_url, refresh_token=self.vault.open(account.refresh_token)
                )
            except OAuthError as exc:
                raise LinkFailed(
                    f"{account.connector} refused the token refresh ({exc.error}); link the account again"
                ) from exc
        self._seal_tokens(account, dict(token), now)
        with write_session(self.engine) as session:
            row = session.get(LinkedAccount, account.id)
            if row is not None:
                row.access_token = account.access_token
                row.refresh_token = account.refresh_token
                row.token_expires_at = account.token_expires_at
        return str(token["access_token"])

    def unlink(
        self, session: Session, person_id: str, slug: str, *, now: datetime
    ) -> LinkedAccount:
        """Forget the provider's tokens and revoke the ingest consent (the entries stay)."""
        account = _linked(session, person_id, slug)
        if account is None or account.status == "unlinked":
            raise NotFound(f"no linked {slug} account")
        account.status = "unlinked"
        account.access_token = account.refresh_token = None
        account.token_expires_at = None
        if account.consent_id is not None:
            self.consents.revoke(
                session, person_id, account.consent_id, now=now, reason="account unlinked"
            )
        return account

    async def _exchange(
        self, oauth: ProviderOAuth, config: ProviderConfig, slug: str, code: str, verifier: str
    ) -> dict[str, Any]:
        async with _client(config, redirect_uri=self.redirect_uri(slug)) as client:
            try:
                token = await client.fetch_token(oauth.token_url, code=code, code_verifier=verifier)
            except OAuthError as exc:
                raise LinkFailed(f"{slug} refused the code ({exc.error}); start again") from exc
        return dict(token)

    def _store(
        self,
        session: Session,
        slug: str,
        person_id: str,
        subject: str,
        token: dict[str, Any],
        stored_terms: tuple[tuple[str, ...], date, date, str],
        now: datetime,
    ) -> LinkedAccount:
        taken = session.scalars(
            select(LinkedAccount).where(
                col(LinkedAccount.connector) == slug, col(LinkedAccount.subject) == subject
            )
        ).first()
        if taken is not None and taken.person_id != person_id and taken.status != "unlinked":
            raise Conflict(f"this {slug} account is already linked to another citizen")
        account = taken or _linked(session, person_id, slug)
        if account is None:
            account = LinkedAccount(
                id=f"la_{secrets.token_urlsafe(12)}",
                person_id=person_id,
                connector=slug,
                subject=subject,
            )
            session.add(account)
        elif account.subject != subject:
            account.cursor = None  # another account at the same provider: start from its beginning
        account.person_id, account.subject = person_id, subject
        account.status, account.failures, account.last_error = "active", 0, None
        account.linked_at = now
        self._seal_tokens(account, token, now)
        categories, first, last, language = stored_terms
        expires = now + timedelta(days=CONSENT_DAYS)
        grant = self.consents.grant(
            session,
            person_id,
            ConsentTerms("data_ingest", slug, categories, first, last, expires, language),
            now=now,
        )
        account.consent_id = grant.id
        session.flush()
        return account

    def _seal_tokens(self, account: LinkedAccount, token: dict[str, Any], now: datetime) -> None:
        account.access_token = self.vault.seal(str(token["access_token"]))
        refresh = token.get("refresh_token")
        if refresh:
            account.refresh_token = self.vault.seal(str(refresh))
        expires_in = token.get("expires_in")
        account.token_expires_at = (
            None if expires_in is None else now + timedelta(seconds=int(expires_in))
        )


def linked_accounts(engine: Engine, person_id: str) -> list[LinkedAccount]:
    """A citizen's provider accounts (linked or unlinked), by connector."""
    with read_session(engine) as session:
        return list(
            session.scalars(
                select(LinkedAccount)
                .where(col(LinkedAccount.person_id) == person_id)
                .order_by(col(LinkedAccount.connector))
            )
        )


def _linked(session: Session, person_id: str, slug: str) -> LinkedAccount | None:
    """The person's account at ``slug`` (linked or not), if they ever linked one."""
    return session.scalars(
        select(LinkedAccount).where(
            col(LinkedAccount.person_id) == person_id, col(LinkedAccount.connector) == slug
        )
    ).first()


def _oauth_of(loaded: LoadedConnector) -> tuple[ProviderOAuth, ProviderConfig]:
    oauth = loaded.offline().oauth()
    config = loaded.config
    if oauth is None or not isinstance(config, ProviderConfig):
        raise InvalidInput(f"{loaded.info.slug} accounts are not linked through OAuth")
    return oauth, config


def _client(
    config: ProviderConfig, redirect_uri: str | None = None, scope: str | None = None
) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        config.client_id,
        config.client_secret.get_secret_value(),
        scope=scope,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
        timeout=config.timeout_s,
        verify=_tls(),
    )


@cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every token request (building one reads the CA bundle: ~20 ms)."""
    return ssl.create_default_context()


def _window(terms: LinkTerms, now: datetime) -> tuple[date, date]:
    today = now.date()
    first = terms.data_from or today - timedelta(days=DEFAULT_HISTORY_DAYS)
    last = terms.data_to or today + timedelta(days=CONSENT_DAYS)
    if first > last:
        raise InvalidInput("the data window starts after it ends")
    return first, last
