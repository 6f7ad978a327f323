"""The CSV export: one row per released or suppressed cell, in a documented, stable column set.

Columns (:data:`COLUMNS`, in this order; the README documents them):

``section``
    ``total``, ``category``, ``behaviour``, ``child_region`` (region reports), ``month``,
    ``day`` (periods of a month or shorter), ``scope3`` (ESG reports), ``compare`` and
    ``compare_behaviour`` (when methodologies are compared).
``key``, ``label_en``, ``label_zh``
    What the row is of: a region code, enterprise id, category or behaviour code, month or day
    label, ``category6``/``category7`` or a methodology's ``id@version``; and its names.
``reduction_kg``, ``emissions_kg``, ``participants``, ``entries``, ``quantity``, ``unit``
    The figures; exact decimals as the report gives them (never rounded through a float).
    ``emissions_kg`` holds only the gross Scope 3 estimates (never netted against reductions).
``covered``
    ``true``/``false`` on behaviour rows: whether the methodology has a factor for it.
``suppressed``
    ``true`` for a suppressed cell, whose figures are then all empty; ``false`` otherwise.
``employees``, ``coverage``
    ESG totals: employees in the period and participants as a share of them; on ``scope3``
    rows, ``coverage`` is the share of commuting trips with a project-emission factor.
``note``
    The Scope 3 method, or ``not covered`` for a behaviour the methodology does not cover.
``methodology``, ``period``
    The ``id@version`` the row's figures are computed under, and the report's period label.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from carbonhub.exports.documents import ReportKind
from carbonhub.exports.run import ReportData

COLUMNS = (
    "section",
    "key",
    "label_en",
    "label_zh",
    "reduction_kg",
    "emissions_kg",
    "participants",
    "entries",
    "quantity",
    "unit",
    "covered",
    "suppressed",
    "employees",
    "coverage",
    "note",
    "methodology",
    "period",
)

Row = dict[str, str]


def exact(value: Any) -> str:
    """A figure as CSV text: decimals in plain notation (no exponent), empty for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    try:
        return format(Decimal(str(value)), "f")
    except InvalidOperation:
        return str(value)


def _flag(value: Any) -> str:
    return "" if value is None else exact(bool(value))


def _behaviour_row(section: str, row: dict[str, Any], methodology: str) -> Row:
    behaviour = row["behaviour"]
    return {
        "section": section,
        "key": behaviour["code"],
        "label_en": behaviour["nameEn"],
        "label_zh": behaviour["nameZh"],
        "reduction_kg": exact(row["reductionKg"]),
        "participants": exact(row["participants"]),
        "entries": exact(row["entries"]),
        "quantity": exact(row["quantity"]),
        "unit": row["unit"] or "",
        "covered": _flag(row["covered"]),
        "suppressed": _flag(row["suppressed"]),
        "note": "" if row["covered"] else "not covered",
        "methodology": methodology,
    }


def _series_rows(section: str, points: list[dict[str, Any]] | None) -> Iterator[Row]:
    for point in points or []:
        yield {
            "section": section,
            "key": point["label"],
            "label_en": f"{point['start']}..{point['end']}",
            "reduction_kg": exact(point["reductionKg"]),
            "participants": exact(point["participants"]),
            "suppressed": _flag(point["suppressed"]),
        }


def _total_row(export: ReportData, methodology: str) -> Row:
    subject, report = export.subject, export.report
    region = export.request.kind is ReportKind.REGION
    return {
        "section": "total",
        "key": subject["code"] if region else subject["id"],
        "label_en": subject.get("nameEn") or "",
        "label_zh": subject["name"],
        "reduction_kg": exact(report["totalReductionKg"]),
        "participants": exact(report["participants"]),
        "entries": exact(report["entries"]),
        "suppressed": _flag(report["suppressed"]),
        "employees": exact(report.get("employees")),
        "coverage": exact(report.get("coverage")),
        "methodology": methodology,
    }


def report_rows(export: ReportData) -> Iterator[Row]:
    """Every row of the CSV export, each with all of :data:`COLUMNS` (empty when not given)."""
    report = export.report
    methodology = report["methodology"]["key"]
    period = report["period"]["label"]
    for row in _rows(export, methodology):
        yield dict.fromkeys(COLUMNS, "") | {"period": period} | row


def _rows(export: ReportData, methodology: str) -> Iterator[Row]:
    report = export.report
    yield _total_row(export, methodology)
    for c in report["byCategory"]:
        yield {
            "section": "category",
            "key": c["category"]["code"],
            "label_en": c["category"]["nameEn"],
            "label_zh": c["category"]["nameZh"],
            "reduction_kg": exact(c["reductionKg"]),
            "participants": exact(c["participants"]),
            "entries": exact(c["entries"]),
            "suppressed": _flag(c["suppressed"]),
            "methodology": methodology,
        }
    for b in report["byBehaviour"]:
        yield _behaviour_row("behaviour", b, methodology)
    for child in report.get("children") or []:
        yield {
            "section": "child_region",
            "key": child["region"]["code"],
            "label_en": child["region"]["nameEn"],
            "label_zh": child["region"]["name"],
            "reduction_kg": exact(child["totalReductionKg"]),
            "participants": exact(child["participants"]),
            "entries": exact(child["entries"]),
            "suppressed": _flag(child["suppressed"]),
            "methodology": methodology,
        }
    for row in _series_rows("month", report.get("byMonth")):
        yield row | {"methodology": methodology}
    for row in _series_rows("day", report.get("byDay")):
        yield row | {"methodology": methodology}
    yield from _scope3_rows(report.get("scope3"), methodology)
    for compared in report.get("compare") or []:
        other = compared["methodology"]["key"]
        yield {
            "section": "compare",
            "key": other,
            "label_en": compared["methodology"]["nameEn"],
            "label_zh": compared["methodology"]["name"],
            "reduction_kg": exact(compared["totalReductionKg"]),
            "participants": exact(compared["participants"]),
            "suppressed": _flag(compared["suppressed"]),
            "methodology": other,
        }
        for b in compared["byBehaviour"]:
            yield _behaviour_row("compare_behaviour", b, other)


def _scope3_rows(scope3: dict[str, Any] | None, methodology: str) -> Iterator[Row]:
    if scope3 is None:
        return
    names = {
        "category6": ("Scope 3 category 6: business travel", "category6EmissionsKg"),
        "category7": ("Scope 3 category 7: employee commuting", "category7EmissionsKg"),
    }
    for key, (label, field) in names.items():
        yield {
            "section": "scope3",
            "key": key,
            "label_en": label,
            "emissions_kg": exact(scope3[field]),
            "suppressed": "false",
            "coverage": exact(scope3["coverage"]),
            "note": scope3["method"],
            "methodology": methodology,
        }


def to_csv(export: ReportData) -> str:
    """The CSV text of an export (header line first, ``\\r\\n`` line ends as RFC 4180 says)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(report_rows(export))
    return buffer.getvalue()
