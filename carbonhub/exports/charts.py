"""The report page's charts, as plotly figures (plotly.js draws them in the browser).

Charts show released cells only: a suppressed cell has no figure to draw, so it is left out
and named in the chart's note instead (never drawn as zero). Bar heights are floats, as a
chart needs; the exact decimal of every bar is its text (shown on hover) and in the tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import plotly.graph_objects as go  # type: ignore[import-untyped]
import plotly.io as pio  # type: ignore[import-untyped]

from carbonhub.exports.documents import ReportKind
from carbonhub.exports.run import ReportData

GREEN = "#2e7d32"


@dataclass(frozen=True, slots=True)
class Chart:
    """One chart of the page: its element id, title, plotly figure (JSON) and a note."""

    id: str
    title: str
    figure: str
    note: str | None = None
    height: int = 360


def bars_height(count: int, *, horizontal: bool) -> int:
    """Pixels for a bar chart: horizontal bars get room for every label."""
    return max(360, 28 * count + 80) if horizontal else 360


def _bars(labels: list[str], values: list[str], *, axis: str, horizontal: bool = False) -> str:
    """A bar chart of exact decimal ``values`` (kg) named ``labels``, as plotly JSON."""
    numbers = [float(Decimal(v)) for v in values]
    bar = go.Bar(
        x=numbers if horizontal else labels,
        y=labels if horizontal else numbers,
        orientation="h" if horizontal else "v",
        text=values,
        textposition="none",
        marker_color=GREEN,
        hovertemplate=("%{y}" if horizontal else "%{x}") + ": %{text} kg CO₂e<extra></extra>",
    )
    figure = go.Figure(bar)
    figure.update_layout(
        margin={"l": 60, "r": 20, "t": 20, "b": 60},
        height=bars_height(len(labels), horizontal=horizontal),
        xaxis_title=axis if horizontal else None,
        yaxis_title=None if horizontal else axis,
    )
    if horizontal:  # labels are names, never dates or numbers to be put on a scale
        figure.update_yaxes(autorange="reversed", type="category")
    else:
        figure.update_xaxes(type="category")
    return str(pio.to_json(figure))


def _line(labels: list[str], values: list[str | None]) -> str:
    """A line over time; a suppressed step is a gap, not a zero."""
    numbers = [None if v is None else float(Decimal(v)) for v in values]
    figure = go.Figure(
        go.Scatter(
            x=labels,
            y=numbers,
            text=[v or "suppressed" for v in values],
            mode="lines+markers",
            line_color=GREEN,
            connectgaps=False,
            hovertemplate="%{x}: %{text} kg CO₂e<extra></extra>",
        )
    )
    figure.update_layout(
        margin={"l": 60, "r": 20, "t": 20, "b": 60},
        height=360,
        yaxis_title="kg CO₂e",
        xaxis_type="category",
    )
    return str(pio.to_json(figure))


def _withheld_note(names: list[str]) -> str | None:
    if not names:
        return None
    shown = ", ".join(names[:8]) + (" …" if len(names) > 8 else "")
    cells = "cell" if len(names) == 1 else "cells"
    return f"Not drawn: {len(names)} suppressed {cells} ({shown}); see the table."


def _released(rows: list[dict[str, Any]], value: str) -> list[dict[str, Any]]:
    return [r for r in rows if not r["suppressed"] and r[value] is not None]


def category_chart(report: dict[str, Any]) -> Chart | None:
    """Reductions by T/ACEF category."""
    rows = report["byCategory"]
    if not rows:
        return None
    shown = _released(rows, "reductionKg")
    return Chart(
        "chart-by-category",
        "Reductions by category",
        _bars(
            [r["category"]["nameEn"] for r in shown],
            [r["reductionKg"] for r in shown],
            axis="kg CO₂e",
        ),
        _withheld_note([r["category"]["nameEn"] for r in rows if r["suppressed"]]),
    )


def child_region_chart(report: dict[str, Any]) -> Chart | None:
    """Reductions by region directly below the report's region."""
    rows = report.get("children") or []
    if not rows:
        return None
    shown = _released(rows, "totalReductionKg")
    return Chart(
        "chart-by-child-region",
        "Reductions by region below",
        _bars(
            [r["region"]["nameEn"] or r["region"]["name"] for r in shown],
            [r["totalReductionKg"] for r in shown],
            axis="kg CO₂e",
            horizontal=True,
        ),
        _withheld_note(
            [r["region"]["nameEn"] or r["region"]["name"] for r in rows if r["suppressed"]]
        ),
        bars_height(len(shown), horizontal=True),
    )


def series_chart(points: list[dict[str, Any]] | None, *, daily: bool) -> Chart | None:
    """Reductions over time: by month (bars) or by day (a line with gaps)."""
    if not points:
        return None
    labels = [p["label"] for p in points]
    withheld = _withheld_note([p["label"] for p in points if p["suppressed"]])
    if daily:
        figure = _line(labels, [p["reductionKg"] for p in points])
        return Chart("chart-by-day", "Reductions by day", figure, withheld)
    shown = _released(points, "reductionKg")
    figure = _bars([p["label"] for p in shown], [p["reductionKg"] for p in shown], axis="kg CO₂e")
    return Chart("chart-by-month", "Reductions by month", figure, withheld)


def compare_chart(report: dict[str, Any]) -> Chart | None:
    """The total under each compared methodology."""
    rows = report.get("compare") or []
    if not rows:
        return None
    shown = _released(rows, "totalReductionKg")
    return Chart(
        "chart-compare",
        "Total under each compared methodology",
        _bars(
            [r["methodology"]["key"] for r in shown],
            [r["totalReductionKg"] for r in shown],
            axis="kg CO₂e",
        ),
        _withheld_note([r["methodology"]["key"] for r in rows if r["suppressed"]]),
    )


def report_charts(export: ReportData) -> list[Chart]:
    """The charts of a report page, in page order (charts without data are left out)."""
    report = export.report
    charts = [
        category_chart(report),
        child_region_chart(report) if export.request.kind is ReportKind.REGION else None,
        series_chart(report.get("byMonth"), daily=False),
        series_chart(report.get("byDay"), daily=True),
        compare_chart(report),
    ]
    return [c for c in charts if c is not None]
