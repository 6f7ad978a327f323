"""Turning an export's data into its file: CSV, JSON (the GraphQL ``data``) or an HTML page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from carbonhub.errors import InvalidInput
from carbonhub.exports.page import render_page
from carbonhub.exports.run import ReportData
from carbonhub.exports.table import to_csv


class ExportFormat(StrEnum):
    """The formats a report is exported in."""

    CSV = "csv"
    JSON = "json"
    HTML = "html"

    @classmethod
    def parse(cls, text: str) -> ExportFormat:
        """The format named ``text``; InvalidInput naming the formats otherwise."""
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(f.value for f in cls)
            raise InvalidInput(f"unknown format {text!r}: use one of {names}") from None

    @property
    def media_type(self) -> str:
        """The HTTP content type of the format."""
        return {
            ExportFormat.CSV: "text/csv; charset=utf-8",
            ExportFormat.JSON: "application/json",
            ExportFormat.HTML: "text/html; charset=utf-8",
        }[self]


@dataclass(frozen=True, slots=True)
class ExportFile:
    """A rendered export: its text, content type and a file name for downloads."""

    text: str
    media_type: str
    filename: str


def to_json(export: ReportData) -> str:
    """The JSON export: exactly the ``data`` of the GraphQL answer (decimals as strings)."""
    return json.dumps(export.data, ensure_ascii=False, indent=2) + "\n"


def render(export: ReportData, export_format: ExportFormat, *, inline: bool = True) -> ExportFile:
    """The export in ``export_format``; ``inline`` embeds plotly.js in HTML (offline files)."""
    if export_format is ExportFormat.CSV:
        text = to_csv(export)
    elif export_format is ExportFormat.JSON:
        text = to_json(export)
    else:
        text = render_page(export, inline=inline)
    filename = f"{export.request.slug}.{export_format.value}"
    return ExportFile(text, export_format.media_type, filename)
