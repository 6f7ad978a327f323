"""The figures a report releases, read by hand from the released aggregates (the timed baseline).

The reports read ``released_daily`` (consented sums) and ``released_count`` (distinct persons per
node, partition and scope); these statements read the same rows directly, with the same result
shapes as the statements over the rollups in ``bench.reports`` (key, mg, entries, quantity,
persons), so one comparison checks both. What the stack does beyond them (tokens, access
policy, the consents catch-up, the sibling-group reads of suppression, the access log) is the
overhead the benchmark measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, text

from carbonhub.aggregates import partition_key
from carbonhub.hub import Hub
from carbonhub.methodology import Methodology
from carbonhub.periods import Period
from carbonhub.reports.partitions import canonical
from carbonhub.resolvers.common import season_of

SUMS = (
    "COALESCE(SUM(d.reduction_mg), 0) AS mg, COALESCE(SUM(d.entries), 0) AS n, "
    "COALESCE(SUM(d.quantity_milli), 0) AS q"
)
MINE = "d.recipient_kind = :rk AND d.recipient_id = :rid AND d.local_date BETWEEN :start AND :end"
COUNTED = "c.recipient_kind = :rk AND c.recipient_id = :rid AND c.methodology_key = :m"


def _statement(sql: str, *expanding: str) -> Any:
    return text(sql).bindparams(*(bindparam(name, expanding=True) for name in expanding))


def _category(hub: Hub) -> str:
    whens = " ".join(
        f"WHEN '{b.code}' THEN '{b.category}'" for b in hub.registry.catalogue.behaviours
    )
    return f"CASE d.behaviour_code {whens} ELSE 'unknown' END"


def _text_of(hub: Hub, fmt: str) -> str:
    """The local date as text (``YYYY-MM-DD`` or ``YYYY-MM``) on the engine's dialect."""
    if hub.engine.dialect.name == "postgresql":
        return f"to_char(d.local_date, '{fmt}')"
    return f"strftime('{fmt.replace('YYYY', '%Y').replace('MM', '%m').replace('DD', '%d')}', d.local_date)"


def _grouped(key: str, where: str, join: str) -> str:
    """Sums grouped by ``key`` with the persons of the counter ``join`` picks for each key."""
    return (
        f"SELECT s.k, s.mg, s.n, s.q, COALESCE(c.persons, 0) FROM "
        f"(SELECT {key} AS k, {SUMS} FROM released_daily d WHERE {where} GROUP BY k) s "
        f"LEFT JOIN released_count c ON {COUNTED} AND {join}"
    )


def _total(where: str) -> str:
    return (
        f"SELECT {SUMS}, (SELECT COALESCE(MAX(c.persons), 0) FROM released_count c "
        f"WHERE {COUNTED} AND c.node = :node AND c.partition = :part AND c.scope = 'all') "
        f"FROM released_daily d WHERE {where}"
    )


def _common(hub: Hub, where: str) -> dict[str, Any]:
    here = "c.node = :node AND c.partition = :part"
    return {
        "total": _statement(_total(where), "units"),
        "by category": _statement(
            _grouped(_category(hub), where, f"{here} AND c.scope = 'c:' || s.k"), "units"
        ),
        "by behaviour": _statement(
            _grouped("d.behaviour_code", where, f"{here} AND c.scope = 'b:' || s.k"), "units"
        ),
    }


def region_released_sql(
    hub: Hub, region: str, programme_region: str, methodology: Methodology, period: Period
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Statements and parameters of the region report's figures from the released aggregates."""
    districts = list(hub.regions.leaves_under(region))
    where = f"{MINE} AND d.methodology_key = :m AND d.unit IN :units"
    statements = _common(hub, where)
    statements["by child region"] = _statement(
        _grouped("d.unit", where, "c.node = s.k AND c.partition = :part AND c.scope = 'all'"),
        "units",
    )
    day = _text_of(hub, "YYYY-MM-DD")
    statements["by day"] = _statement(
        _grouped(day, where, "c.node = :node AND c.partition = 'd:' || s.k AND c.scope = 'all'"),
        "units",
    )
    statements["active behaviours"] = _statement(
        f"SELECT DISTINCT d.behaviour_code FROM released_daily d WHERE {MINE} AND d.unit IN :units",
        "units",
    )
    statements["child regions"] = text(
        "SELECT code, name_zh FROM region WHERE parent_code = :node ORDER BY code"
    )
    season = season_of(hub, region)
    return statements, _parameters(
        hub, ("programme", programme_region), region, districts, methodology, period, season
    )


def esg_released_sql(
    hub: Hub,
    enterprise_id: str,
    enterprise_region: str,
    methodology: Methodology,
    period: Period,
    travel: Sequence[str],
    with_factor: Sequence[str],
    commute: set[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Statements and parameters of the ESG report's figures from the released aggregates."""
    where = f"{MINE} AND d.methodology_key = :m AND d.unit IN :units"
    statements = _common(hub, where)
    month = _text_of(hub, "YYYY-MM")
    statements["by month"] = _statement(
        _grouped(month, where, "c.node = :node AND c.partition = 'm:' || s.k AND c.scope = 'all'"),
        "units",
    )
    statements["active behaviours"] = _statement(
        f"SELECT DISTINCT d.behaviour_code FROM released_daily d WHERE {MINE}"
    )

    def among(codes: Sequence[str]) -> str:
        return f"d.behaviour_code IN ({', '.join(repr(c) for c in codes)})" if codes else "1 = 0"

    covered = among(with_factor)
    commuting = among([c for c in with_factor if c in commute])
    statements["scope 3"] = _statement(
        "SELECT COALESCE(SUM(d.entries), 0), "
        f"COALESCE(SUM(CASE WHEN {covered} THEN d.entries ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN {commuting} "
        "THEN d.project_emission_mg - d.business_project_emission_mg ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN {covered} THEN d.business_project_emission_mg ELSE 0 END), 0) "
        f"FROM released_daily d WHERE {where} AND d.behaviour_code IN :travel",
        "units",
        "travel",
    )
    parameters = _parameters(
        hub,
        ("enterprise", enterprise_id),
        enterprise_id,
        [enterprise_id],
        methodology,
        period,
        season_of(hub, enterprise_region),
    )
    parameters["travel"] = list(travel)
    return statements, parameters


def _parameters(
    hub: Hub,
    recipient: tuple[str, str],
    node: str,
    units: list[str],
    methodology: Methodology,
    period: Period,
    season: Period | None,
) -> dict[str, Any]:
    part = partition_key(canonical(period), season)
    assert part is not None, f"{period.label} is no released partition"
    return {
        "rk": recipient[0],
        "rid": recipient[1],
        "m": methodology.key,
        "start": period.start,
        "end": period.end,
        "node": node,
        "units": units,
        "part": part,
    }
