"""The fixed GraphQL documents exports run, and what a caller asks an export for.

An export is the answer to one of two documents (a region's report, an enterprise's ESG
report) run through the hub's schema as the caller, so access policy, consent filtering and
small-cell suppression apply exactly as they do in GraphQL. The JSON export is the ``data`` of
that answer; CSV and HTML are drawn from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from carbonhub.errors import CarbonhubError
from carbonhub.periods import parse_period

DAILY_UP_TO_DAYS = 31  # a period of a month or shorter also gets a series by day

_FIGURES = """
fragment ReportFigures on ReductionReport {
  period { label start end days }
  methodology { id version key name nameEn publisher source sourceUrl }
  privacyThreshold
  suppressed
  totalReductionKg
  participants
  entries
  byCategory {
    category { code nameZh nameEn }
    reductionKg participants entries suppressed
  }
  byBehaviour { ...BehaviourFigures }
  topBehaviours(first: 5) { ...BehaviourFigures }
}

fragment BehaviourFigures on BehaviourRow {
  behaviour { code nameZh nameEn category { code } }
  covered unit quantity reductionKg participants entries suppressed
}

fragment SeriesFigures on SeriesPoint {
  label start end reductionKg participants suppressed
}

fragment Comparison on MethodologyComparison {
  methodology { id version key name nameEn source }
  suppressed totalReductionKg participants
  byBehaviour { ...BehaviourFigures }
  notCovered { code }
}
"""

REGION_REPORT_DOCUMENT = (
    """
query RegionReportExport(
  $code: ID!, $period: String, $methodology: ID,
  $compare: [ID!]! = [], $withCompare: Boolean! = false, $daily: Boolean! = false
) {
  region(code: $code) {
    code name nameEn level
    report(period: $period, methodology: $methodology) {
      ...ReportFigures
      children {
        region { code name nameEn }
        totalReductionKg participants entries suppressed
      }
      byMonth: series(interval: MONTH) { ...SeriesFigures }
      byDay: series(interval: DAY) @include(if: $daily) { ...SeriesFigures }
      compare(methodologies: $compare) @include(if: $withCompare) { ...Comparison }
    }
  }
}
"""
    + _FIGURES
)

ESG_REPORT_DOCUMENT = (
    """
query EsgReportExport(
  $id: ID!, $period: String, $methodology: ID,
  $compare: [ID!]! = [], $withCompare: Boolean! = false, $daily: Boolean! = false
) {
  enterprise(id: $id) {
    id name nameEn uscc
    esgReport(period: $period, methodology: $methodology) {
      ...ReportFigures
      employees
      coverage
      byMonth { ...SeriesFigures }
      byDay: series(interval: DAY) @include(if: $daily) { ...SeriesFigures }
      scope3 { category6EmissionsKg category7EmissionsKg coverage method }
      compare(methodologies: $compare) @include(if: $withCompare) { ...Comparison }
    }
  }
}
"""
    + _FIGURES
)


class ReportKind(StrEnum):
    """Which report an export is of."""

    REGION = "region"
    ENTERPRISE = "enterprise"

    @property
    def document(self) -> str:
        """The GraphQL document of this kind of report."""
        return REGION_REPORT_DOCUMENT if self is ReportKind.REGION else ESG_REPORT_DOCUMENT

    @property
    def root_field(self) -> str:
        """The query's root field (``region`` or ``enterprise``)."""
        return "region" if self is ReportKind.REGION else "enterprise"

    @property
    def report_field(self) -> str:
        """The report field below the root (``report`` or ``esgReport``)."""
        return "report" if self is ReportKind.REGION else "esgReport"


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """One export: the report of a region (by code) or an enterprise (by id), and its options.

    Attributes:
        period: ``2023``, ``2023-Q3``, ``2023-07`` or ``2023-07-15``; None for the default
            (the season of the programme).
        methodology: ``id`` or ``id@version``; None for the programme's primary methodology.
        compare: methodologies to show the same figures under, side by side (may be empty).
    """

    kind: ReportKind
    key: str
    period: str | None = None
    methodology: str | None = None
    compare: tuple[str, ...] = field(default_factory=tuple)

    @property
    def daily(self) -> bool:
        """Whether the export also has a series by day (a period of a month or shorter)."""
        if self.period is None:
            return False
        try:
            return parse_period(self.period).days <= DAILY_UP_TO_DAYS
        except CarbonhubError:
            return False  # the schema answers the malformed period with its own message

    def variables(self) -> dict[str, Any]:
        """The variables of the document for this request."""
        key_name = "code" if self.kind is ReportKind.REGION else "id"
        return {
            key_name: self.key,
            "period": self.period,
            "methodology": self.methodology,
            "compare": list(self.compare),
            "withCompare": bool(self.compare),
            "daily": self.daily,
        }

    @property
    def slug(self) -> str:
        """A file-name stem for the export, e.g. ``region-110000-2023-07``."""
        parts = [self.kind.value, self.key, self.period or "season"]
        if self.methodology:
            parts.append(self.methodology)
        text = "-".join(parts)
        return "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in text)
