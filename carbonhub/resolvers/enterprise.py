"""Resolvers for enterprises and their ESG reports."""

from __future__ import annotations

from datetime import date

from carbonhub.consent import policy
from carbonhub.errors import NotFound
from carbonhub.models import Enterprise
from carbonhub.reports import EsgReport, choose_methodology
from carbonhub.resolvers.access import read_and_log, release_access
from carbonhub.resolvers.common import (
    fields_wanted,
    report_period_argument,
    season_of,
)
from carbonhub.resolvers.context import Info, in_thread


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
    policy.require_enterprise_report(info.context.principal, enterprise.id)
    return EsgReport(
        engine=hub.engine,
        catalogue=hub.registry.catalogue,
        k=hub.settings.privacy_k,
        enterprise_id=enterprise.id,
        methodology=choose_methodology(
            hub.registry, hub.programmes, enterprise.region_code, methodology
        ),
        period=report_period_argument(
            hub, enterprise.region_code, period, start, end, info.context.now
        ),
        season=season_of(hub, enterprise.region_code),
    )


async def released_esg_report(
    info: Info,
    enterprise: Enterprise,
    period: str | None,
    start: date | None,
    end: date | None,
    methodology: str | None,
) -> EsgReport:
    """The ESG report, its release recorded in the access log."""
    report = esg_report(info, enterprise, period, start, end, methodology)
    report.want(fields_wanted(info))
    access = release_access(
        info,
        purpose="esg_reporting",
        what="esg_report",
        scope_code=enterprise.id,
        period=(report.period.start, report.period.end),
        regional=False,
    )
    await in_thread(read_and_log, info.context.hub, info.context.now, report.total, access)
    return report
