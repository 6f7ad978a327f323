"""``carbonhub report region CODE`` and ``carbonhub report enterprise ID``: report exports.

The command runs as the hub's operator (scope ``admin``), through the same GraphQL document
and the same consent filtering and suppression as any client's export; the read is recorded in
the access log under the operator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from carbonhub.cli.common import database_option, fail, opened_hub, settings_for
from carbonhub.errors import CarbonhubError
from carbonhub.exports import (
    OPERATOR,
    ExportFormat,
    ReportKind,
    ReportRequest,
    fetch_report,
    render,
)

F = TypeVar("F", bound=Callable[..., Any])


def report_options(function: F) -> F:
    """The options both report commands take."""
    options = [
        click.option(
            "--period",
            required=True,
            help="2023, 2023-Q3, 2023-07 or 2023-07-15 (local dates of the programme).",
        ),
        click.option("--methodology", help="id or id@version (default: the programme's primary)."),
        click.option(
            "--compare",
            multiple=True,
            metavar="ID",
            help="Also give the figures under this methodology (repeatable).",
        ),
        click.option(
            "--format",
            "export_format",
            type=click.Choice([f.value for f in ExportFormat]),
            default=ExportFormat.JSON.value,
            show_default=True,
        ),
        click.option(
            "--output",
            "-o",
            type=click.Path(dir_okay=False, path_type=Path),
            help="Write to a file instead of stdout.",
        ),
        database_option,
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group()
def report() -> None:
    """Export a region's report or an enterprise's ESG report as CSV, JSON or HTML."""


@report.command("region")
@click.argument("code")
@report_options
def region_report(
    code: str,
    period: str,
    methodology: str | None,
    compare: tuple[str, ...],
    export_format: str,
    output: Path | None,
    database_url: str | None,
) -> None:
    """The report of region CODE (GB/T 2260, e.g. 110000 for Beijing)."""
    wanted = ReportRequest(ReportKind.REGION, code, period, methodology, compare)
    export(wanted, ExportFormat(export_format), output, database_url)


@report.command("enterprise")
@click.argument("enterprise_id", metavar="ID")
@report_options
def enterprise_report(
    enterprise_id: str,
    period: str,
    methodology: str | None,
    compare: tuple[str, ...],
    export_format: str,
    output: Path | None,
    database_url: str | None,
) -> None:
    """The ESG report of enterprise ID."""
    wanted = ReportRequest(ReportKind.ENTERPRISE, enterprise_id, period, methodology, compare)
    export(wanted, ExportFormat(export_format), output, database_url)


def export(
    wanted: ReportRequest,
    export_format: ExportFormat,
    output: Path | None,
    database_url: str | None,
) -> None:
    """Run the export as the operator and write it (stdout unless ``output``)."""
    with opened_hub(settings_for(database_url)) as hub:
        try:
            data = asyncio.run(fetch_report(hub, OPERATOR, wanted))
        except CarbonhubError as exc:
            fail(str(exc), code=1)
        file = render(data, export_format, inline=True)
    if output is None:
        click.echo(file.text, nl=False)
        return
    output.write_text(file.text, encoding="utf-8")
    click.echo(f"{wanted.kind.value} report written to {output}", err=True)
