"""The report operations, asked the way a client asks them: every figure of every breakdown."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SERIES = ("days", "weeks", "months")

FRAGMENTS = """
fragment Figures on ReductionReport {
  period { label start end }
  methodology { id version }
  suppressed totalReductionKg participants entries
  byCategory { category { code } reductionKg participants entries suppressed }
  byBehaviour { ...Row }
  days: series(interval: DAY) @include(if: $days) { ...Step }
  weeks: series(interval: WEEK) @include(if: $weeks) { ...Step }
  months: series(interval: MONTH) @include(if: $months) { ...Step }
}
fragment Row on BehaviourRow {
  behaviour { code } covered unit quantity reductionKg participants entries suppressed
}
fragment Step on SeriesPoint { label start end reductionKg participants suppressed }
fragment Compared on MethodologyComparison {
  methodology { id version } suppressed totalReductionKg participants
  byBehaviour { ...Row }
  notCovered { code }
}
"""

REGION_REPORT = (
    """
query RegionReport(
  $code: ID!, $period: String, $from: Date, $to: Date, $methodology: ID,
  $days: Boolean! = true, $weeks: Boolean! = true, $months: Boolean! = true, $comparing: Boolean! = false, $compare: [ID!]! = []
) {
  region(code: $code) {
    report(period: $period, from: $from, to: $to, methodology: $methodology) {
      ...Figures
      children { region { code } totalReductionKg participants entries suppressed }
      compare(methodologies: $compare) @include(if: $comparing) { ...Compared }
    }
  }
}
"""
    + FRAGMENTS
)

ESG_REPORT = (
    """
query EsgReport(
  $id: ID!, $period: String, $from: Date, $to: Date, $methodology: ID,
  $days: Boolean! = true, $weeks: Boolean! = true, $months: Boolean! = true, $comparing: Boolean! = false, $compare: [ID!]! = []
) {
  enterprise(id: $id) {
    esgReport(period: $period, from: $from, to: $to, methodology: $methodology) {
      ...Figures
      employees coverage
      byMonth { ...Step }
      scope3 { category6EmissionsKg category7EmissionsKg coverage method }
      compare(methodologies: $compare) @include(if: $comparing) { ...Compared }
    }
  }
}
"""
    + FRAGMENTS
)


def variables(
    *,
    period: str | None,
    methodology: str | None,
    compare: tuple[str, ...],
    series: bool | Iterable[str],
    start: str | None,
    end: str | None,
) -> dict[str, object]:
    """The operation's variables; ``series``: all three (True), none (False) or those named."""
    asked = set(SERIES if series is True else () if series is False else series)
    whole_year = (period is not None and len(period) == 4) or (
        start is not None
        and end is not None
        and start.endswith("-01-01")
        and end.endswith("-12-31")
    )
    return {
        "period": period,
        "methodology": methodology,
        # a year's 365 days cost more than the rest of a report; its weeks and months are asked
        "days": "days" in asked and not whole_year,
        "weeks": "weeks" in asked,
        "months": "months" in asked,
        "comparing": bool(compare),
        "compare": list(compare),
        "from": start,
        "to": end,
    }


def totals_query(reports: dict[str, tuple[str, str]], *, children: bool = False) -> str:
    """One operation asking the totals (and child rows) of many regional reports:
    alias -> (region, period)."""
    rows = " children { region { code } totalReductionKg suppressed }" if children else ""
    fields = "\n".join(
        f'  {alias}: region(code: "{code}") {{ report(period: "{period}", methodology: $methodology) '
        f"{{ suppressed totalReductionKg participants{rows} }} }}"
        for alias, (code, period) in reports.items()
    )
    return f"query Totals($methodology: ID) {{\n{fields}\n}}"


def ask_totals(
    gql: Any,
    reports: dict[str, tuple[str, str]],
    *args: Any,
    children: bool = False,
    **kwargs: Any,
) -> dict[str, Any]:
    """:func:`totals_query` asked in operations of at most ``ROOT_FIELDS`` reports (the
    GraphQL root-field limit), their data merged: alias -> answer."""
    items = list(reports.items())
    data: dict[str, Any] = {}
    for start in range(0, len(items), ROOT_FIELDS):
        chunk = dict(items[start : start + ROOT_FIELDS])
        data |= gql(totals_query(chunk, children=children), *args, **kwargs).ok()
    return data


ROOT_FIELDS = 10  # the default CARBONHUB_GRAPHQL_MAX_ROOT_FIELDS
