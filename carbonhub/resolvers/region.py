"""Resolvers for regions and regional reports."""

from __future__ import annotations

from datetime import date

from carbonhub.consent import policy
from carbonhub.errors import NotFound
from carbonhub.models import Region
from carbonhub.reports import RegionReport, choose_methodology
from carbonhub.resolvers.access import read_and_log, release_access
from carbonhub.resolvers.common import (
    fields_wanted,
    report_period_argument,
    season_of,
)
from carbonhub.resolvers.context import Info, in_thread


async def region(info: Info, code: str) -> Region:
    """A region by GB/T 2260 code; NotFound names the unknown code."""
    found = await info.context.loaders.region.load(code)
    if found is None:
        raise NotFound(f"unknown region code {code!r} (GB/T 2260, e.g. 110108)")
    return found


async def regions(info: Info, codes: list[str]) -> list[Region]:
    """Regions by code, in the order given (unknown codes skipped)."""
    loaded = await info.context.loaders.region.load_many(codes)
    return [r for r in loaded if r is not None]


async def top_regions(info: Info) -> list[Region]:
    """The top-level regions the hub knows."""
    return await regions(info, list(info.context.hub.regions.roots()))


async def children(info: Info, code: str) -> list[Region]:
    """The regions directly below ``code``."""
    return await regions(info, list(info.context.hub.regions.children(code)))


def region_report(
    info: Info,
    code: str,
    period: str | None,
    start: date | None,
    end: date | None,
    methodology: str | None,
) -> RegionReport:
    """A regional report, after the access policy has allowed it."""
    hub = info.context.hub
    hub.regions.require(code)
    policy.require_region_report(info.context.principal, code, hub.regions)
    programme = hub.programmes.for_region(code)
    return RegionReport(
        engine=hub.engine,
        catalogue=hub.registry.catalogue,
        regions=hub.regions,
        k=hub.settings.privacy_k,
        region_code=code,
        methodology=choose_methodology(hub.registry, hub.programmes, code, methodology),
        period=report_period_argument(hub, code, period, start, end, info.context.now),
        programme_region=programme.region if programme is not None else code,
        season=season_of(hub, code),
    )


async def released_region_report(
    info: Info,
    code: str,
    period: str | None,
    start: date | None,
    end: date | None,
    methodology: str | None,
) -> RegionReport:
    """The regional report, its release recorded in the access log."""
    report = region_report(info, code, period, start, end, methodology)
    report.want(fields_wanted(info))
    access = release_access(
        info,
        purpose="regional_statistics",
        what="region_report",
        scope_code=code,
        period=(report.period.start, report.period.end),
        regional=True,
    )
    await in_thread(read_and_log, info.context.hub, info.context.now, report.total, access)
    return report
