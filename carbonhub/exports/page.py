"""The HTML report page: charts (plotly.js), tables, the methodology and suppression notes.

Rendered with jinja2 from an export's GraphQL ``data``. Two ways to carry plotly.js:

- ``inline`` (exported files): plotly.js and the page's script are embedded, so the file
  works offline, opened from disk, with no network at all;
- served (``/reports/...``): the page loads them from the hub's own ``/reports/static/``
  routes (never a CDN), under a Content-Security-Policy that allows only the hub itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from plotly.offline import get_plotlyjs, get_plotlyjs_version  # type: ignore[import-untyped]

from carbonhub import __version__
from carbonhub.exports.charts import report_charts
from carbonhub.exports.documents import ReportKind
from carbonhub.exports.run import ReportData

STATIC_PREFIX = "/reports/static"


def decimal_text(value: Any) -> str:
    """An exact figure for reading: plain notation with thousands separators (``12,345.678``)."""
    if value is None:
        return "–"
    try:
        return f"{Decimal(str(value)):,f}"
    except InvalidOperation:
        return str(value)


def percent_text(value: Any) -> str:
    """A share (``0.5714``) as a percentage (``57.14 %``), exactly."""
    share = Decimal(str(value)) * 100
    return f"{share.normalize():f} %" if share == share.to_integral() else f"{share:f} %"


@cache
def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("carbonhub.exports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["decimal"] = decimal_text
    environment.filters["percent"] = percent_text
    return environment


@cache
def static_text(name: str) -> str:
    """A static asset of the page: ``plotly.min.js`` (from the plotly package) or one of ours."""
    if name == "plotly.min.js":
        return str(get_plotlyjs())
    return resources.files("carbonhub.exports").joinpath("static", name).read_text("utf-8")


def plotly_version() -> str:
    """The version of the bundled plotly.js."""
    return str(get_plotlyjs_version())


@dataclass(frozen=True, slots=True)
class Comparison:
    """The compared methodologies as a table: totals, then one row per behaviour."""

    methodologies: list[dict[str, Any]]
    totals: list[dict[str, Any]]
    rows: list[dict[str, Any]]


def comparison(report: dict[str, Any]) -> Comparison | None:
    """The side-by-side table of ``compare`` (None when no methodologies were compared)."""
    compared = report.get("compare") or []
    if not compared:
        return None
    names: dict[str, str] = {}
    for c in compared:
        for b in c["byBehaviour"]:
            names.setdefault(b["behaviour"]["code"], b["behaviour"]["nameEn"])
    rows = []
    for code, name in names.items():
        cells = []
        for c in compared:
            found = [b for b in c["byBehaviour"] if b["behaviour"]["code"] == code]
            cells.append(found[0] if found else None)
        rows.append({"code": code, "name": name, "cells": cells})
    return Comparison([c["methodology"] for c in compared], compared, rows)


def _titles(export: ReportData) -> tuple[str, str]:
    subject = export.subject
    if export.request.kind is ReportKind.REGION:
        name = f"{subject['name']} {subject['nameEn']}".strip()
        return f"{name}: regional report", f"region {subject['code']} ({subject['level']})"
    name = subject["name"] + (f" ({subject['nameEn']})" if subject.get("nameEn") else "")
    return f"{name}: ESG report", f"enterprise {subject['id']}, USCC {subject['uscc']}"


def render_page(export: ReportData, *, inline: bool = True) -> str:
    """The report page as HTML; ``inline`` embeds plotly.js (for a file that works offline)."""
    heading, subheading = _titles(export)
    report = export.report
    context = {
        "kind": export.request.kind.value,
        "title": f"{heading}, {report['period']['label']}",
        "heading": heading,
        "subheading": subheading,
        "subject": export.subject,
        "report": report,
        "charts": report_charts(export),
        "compare": comparison(report),
        "css": static_text("report.css"),
        "inline": inline,
        "version": __version__,
        "plotly_version": plotly_version(),
    }
    if inline:
        context |= {
            "plotly_js": static_text("plotly.min.js"),
            "report_js": static_text("report.js"),
        }
    else:
        suffix = f"?v={__version__}-{plotly_version()}"
        context |= {
            "plotly_url": f"{STATIC_PREFIX}/plotly.min.js{suffix}",
            "report_js_url": f"{STATIC_PREFIX}/report.js{suffix}",
        }
    return _environment().get_template("report.html").render(context)
