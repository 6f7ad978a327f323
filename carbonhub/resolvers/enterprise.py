"""Resolvers for enterprises and their ESG reports."""

from __future__ import annotations

from datetime import date

from carbonhub.consent import policy
from carbonhub.errors import NotFound
from carbonhub.models import Enterprise, EnterpriseDailyRollup, table_of
from carbonhub.reports import EsgReport, choose_methodology
from carbonhub.resolvers.common import period_argument
from carbonhub.resolvers.context import Info


async def enterprise(info: Info, enterprise_id: str) -> Enterprise:
    """An enterprise by id (public registry data); NotFound names the unknown id."""
    found = await info.context.loaders.enterprise.load(enterprise_id)
    if found is None:
        raise NotFound(f"unknown enterprise {enterprise_id!r}")
    return found


def esg_report(
    info: Info,
    enterprise: Enterprise,
    period: str | None,
    start: date | None,
    end: date | None,
    methodology: str | None,
) -> EsgReport:
    """The enterprise's ESG report, after the access policy has allowed it."""
    hub = info.context.hub
    contributions = policy.esg_contributions(
        info.context.principal,
        enterprise.id,
        table_of(EnterpriseDailyRollup),
        hub.registry.catalogue.category_of(),
        info.context.now,
    )
    return EsgReport(
        engine=hub.engine,
        catalogue=hub.registry.catalogue,
        k=hub.settings.privacy_k,
        enterprise_id=enterprise.id,
        methodology=choose_methodology(
            hub.registry, hub.programmes, enterprise.region_code, methodology
        ),
        period=period_argument(hub, enterprise.region_code, period, start, end),
        contributions=contributions,
    )
