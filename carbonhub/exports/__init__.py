"""Report exports: a region's report or an enterprise's ESG report as CSV, JSON or an HTML page.

Exports run a fixed GraphQL document through the hub's schema as the caller, so access
policy, consent filtering and suppression are exactly those of GraphQL; JSON is the answer's
``data``, CSV and the HTML page (charts by plotly.js, tables, notes) are drawn from it. The
CLI (``carbonhub report``) runs them as the operator; ``/reports/...`` as the bearer of a token.
"""

from carbonhub.exports.documents import (
    ESG_REPORT_DOCUMENT,
    REGION_REPORT_DOCUMENT,
    ReportKind,
    ReportRequest,
)
from carbonhub.exports.formats import ExportFile, ExportFormat, render, to_json
from carbonhub.exports.page import render_page
from carbonhub.exports.run import OPERATOR, ReportData, ReportUnavailable, fetch_report
from carbonhub.exports.table import COLUMNS, report_rows, to_csv

__all__ = [
    "COLUMNS",
    "ESG_REPORT_DOCUMENT",
    "OPERATOR",
    "REGION_REPORT_DOCUMENT",
    "ExportFile",
    "ExportFormat",
    "ReportData",
    "ReportKind",
    "ReportRequest",
    "ReportUnavailable",
    "fetch_report",
    "render",
    "render_page",
    "report_rows",
    "to_csv",
    "to_json",
]
