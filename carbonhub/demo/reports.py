"""The demo's report pages: Beijing's regional report and one employer's ESG report, with charts.

The demo hub serves them at ``/reports/...`` (a development hub needs no token there; with
``CARBONHUB_ENV=production`` send an agency's or the enterprise's bearer token), and
``carbonhub report ... --format html`` writes the same page as a file that opens offline.
Nothing is computed at build time: the console shows where the pages are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from carbonhub.demo.population import DemoCitizen, DemoEnterprise
from carbonhub.exports import ReportKind, ReportRequest

REGION = "110000"  # Beijing
REGION_PERIOD = "2023-07"  # a month of the 2023 Green Life Season: charts by district and by day
ESG_PERIOD = "2023-Q3"


@dataclass(frozen=True, slots=True)
class DemoReport:
    """One report page of the demo: what it is, where it is served, how to export it."""

    title: str
    request: ReportRequest

    @property
    def path(self) -> str:
        """The served page's path on the demo hub."""
        request = self.request
        return f"/reports/{request.kind.value}/{request.key}?period={request.period}"

    @property
    def command(self) -> str:
        """The command that writes the same page to a file that opens offline."""
        request = self.request
        return (
            f"carbonhub report {request.kind.value} {request.key} --period {request.period} "
            f"--format html --output {request.slug}.html"
        )


def esg_enterprise(
    citizens: list[DemoCitizen], enterprises: list[DemoEnterprise]
) -> DemoEnterprise:
    """The Beijing employer with the most demo employees (the fullest ESG report)."""
    staff = Counter(c.employer for c in citizens if c.employer is not None)
    beijing = [e for e in enterprises if e.region.startswith("11")] or enterprises
    return max(beijing, key=lambda e: (staff[e.id], e.id))


def demo_reports(
    citizens: list[DemoCitizen], enterprises: list[DemoEnterprise]
) -> tuple[DemoReport, ...]:
    """Beijing's July 2023 report and the fullest Beijing employer's 2023 Q3 ESG report."""
    employer = esg_enterprise(citizens, enterprises)
    return (
        DemoReport("Beijing, July 2023", ReportRequest(ReportKind.REGION, REGION, REGION_PERIOD)),
        DemoReport(
            f"ESG of {employer.name_en} ({employer.id}), 2023 Q3",
            ReportRequest(ReportKind.ENTERPRISE, employer.id, ESG_PERIOD),
        ),
    )
