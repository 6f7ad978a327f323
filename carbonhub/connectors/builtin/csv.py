"""The ``csv`` connector: behaviour events of hub persons imported from a CSV file.

Used by ``carbonhub import FILE`` for data that arrives outside any provider API (a programme's
paper forms, a one-off export). Its records name hub person ids (``info.names_persons``), so no
account linking is involved. It neither pulls nor accepts pushes.

The file format (UTF-8, an optional byte-order mark; the header row is required)::

    external_id,person_id,behaviour,occurred_at,km,ride,order,reference
    r-0001,p_5VQ2M4XK7D3JH6NW2C8T,transport.bike_share,2023-07-01T08:15:00+08:00,3.2,1,,
    r-0002,p_5VQ2M4XK7D3JH6NW2C8T,food.no_utensils,2023-07-01T12:30:00+08:00,,,1,T-88231

Columns (names are case-insensitive; their order is free):

- required: ``external_id`` (the row's id: importing it again changes nothing), ``person_id``,
  ``behaviour`` (a catalogue code, see :data:`BEHAVIOUR_UNITS`), ``occurred_at`` (ISO 8601
  with an offset, e.g. ``2023-07-01T08:15:00+08:00`` or ``...Z``).
- quantities: one column per unit (:data:`UNIT_COLUMNS`: ``km``, ``ride``, ``order``,
  ``waybill`` ...), empty when the row does not report it; a row fills at least one, in units
  of its behaviour, with a positive number.
- optional: ``reference`` (a waybill or order number other providers may report too, counted
  once), ``duration_s`` (whole seconds, for speed plausibility), ``business_travel``
  (``true``/``false``, empty is false).

Any other column makes the whole file unusable (:class:`CsvFormatError` names it), except
coordinates or a track (``lat``, ``lng``, ``trajectory`` ...: the names of
:data:`~carbonhub.connectors.records.LOCATION_KEYS`): every row filling one is rejected with
reason ``location_data``, because movement data is never stored. Other row problems become
rejections naming the row's line: ``malformed``, ``unknown_behaviour``, ``wrong_unit``,
``non_positive_quantity``.

:func:`read_rows` streams the rows; a structural error (not UTF-8, broken quoting, a row with
more or fewer fields than the header) stops the import there. Rows read before it may already be
posted; importing the corrected file again is safe, because posting is idempotent.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from carbonhub.connectors.base import (
    ConnectorConfig,
    ConnectorInfo,
    Normalized,
    Page,
    ProviderAccount,
    ProviderEvent,
    ProviderOAuth,
    PushRequest,
)
from carbonhub.connectors.records import (
    LOCATION_KEYS,
    BadRecord,
    instant,
    malformed,
    number,
    reject_location,
    text,
)

# The behaviours of the packaged catalogue and their units. A plugin does not read the hub's
# methodology data; a test keeps this list equal to carbonhub/methodology/data/catalogue.toml.
BEHAVIOUR_UNITS: Mapping[str, tuple[str, ...]] = {
    "transport.bike_share": ("km", "ride"),
    "transport.metro": ("ride", "km"),
    "transport.bus": ("ride", "km"),
    "transport.walk": ("day", "step"),
    "food.no_utensils": ("order",),
    "food.clean_plate": ("meal",),
    "food.plant_based_meat": ("meal",),
    "housing.water_saving_tap": ("tap",),
    "use.e_waybill": ("waybill",),
    "use.own_cup": ("cup",),
    "office.shared_office": ("day",),
    "digital_finance.e_invoice": ("invoice",),
    "digital_finance.offline_payment": ("payment",),
    "digital_finance.utility_bill_online": ("bill",),
    "digital_finance.e_transfer": ("transfer",),
}
REQUIRED_COLUMNS = ("external_id", "person_id", "behaviour", "occurred_at")
OPTIONAL_COLUMNS = ("reference", "duration_s", "business_travel")
UNIT_COLUMNS = tuple(sorted({unit for units in BEHAVIOUR_UNITS.values() for unit in units}))
KNOWN_COLUMNS = frozenset((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, *UNIT_COLUMNS))
LINE = "line"  # the key under which read_rows gives each row's line number (not a column)
MAX_TEXT = 200  # the ledger's width of ids and references
MAX_QUANTITY_DIGITS = 9  # a quantity of 10^9 units or more is a typing error, not a behaviour
BOM = b"\xef\xbb\xbf"


class CsvFormatError(ValueError):
    """The file is not a readable events CSV; the message names the file and the line."""

    def __init__(self, source: str, line: int, problem: str) -> None:
        super().__init__(f"{source}, line {line}: {problem}")
        self.line = line


def read_rows(path: str | Path) -> Iterator[dict[str, Any]]:
    """Stream the rows of an events CSV as ``{column: text, "line": number}`` mappings.

    Cells are stripped of surrounding spaces; empty rows are skipped. Raises
    :class:`CsvFormatError` for a missing or unknown header, undecodable bytes, broken
    quoting, or a row whose number of fields differs from the header's.
    """
    name = str(path)
    with open(path, "rb") as stream:
        lines = _decoded(stream, name)
        reader = csv.reader(lines, strict=True)
        header = _header(_next_row(reader, name), name)
        end = reader.line_num
        while (row := _next_row(reader, name)) is not None:
            start, end = end + 1, reader.line_num
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if len(cells) != len(header):
                raise CsvFormatError(
                    name, start, f"the row has {len(cells)} fields, the header has {len(header)}"
                )
            yield {**dict(zip(header, cells, strict=True)), LINE: start}


def _decoded(stream: Iterable[bytes], name: str) -> Iterator[str]:
    """The file's lines as text, line by line, so a decoding error has an exact line number."""
    for number_, raw in enumerate(stream, start=1):
        data = raw.removeprefix(BOM) if number_ == 1 else raw
        try:
            yield data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CsvFormatError(
                name, number_, f"byte {data[exc.start]:#04x} at column {exc.start + 1} is not UTF-8"
            ) from None


def _next_row(reader: Any, name: str) -> list[str] | None:
    try:
        row: list[str] = next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        raise CsvFormatError(name, reader.line_num, f"unreadable CSV: {exc}") from None
    return row


def _header(row: list[str] | None, name: str) -> list[str]:
    if row is None:
        raise CsvFormatError(name, 1, "the file is empty; a header row is required")
    header = [cell.strip().lower() for cell in row]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if len(missing) == len(REQUIRED_COLUMNS):
        raise CsvFormatError(
            name,
            1,
            f"the first row is not a header (it names none of {', '.join(REQUIRED_COLUMNS)}); "
            "a header row is required",
        )
    if "" in header:
        raise CsvFormatError(name, 1, f"column {header.index('') + 1} of the header has no name")
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise CsvFormatError(name, 1, f"the header repeats {', '.join(repeated)}")
    unknown = [c for c in header if c not in KNOWN_COLUMNS and c not in LOCATION_KEYS]
    if unknown:
        raise CsvFormatError(
            name,
            1,
            f"unknown column(s) {', '.join(unknown)}; the columns are "
            f"{', '.join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)} and one per unit "
            f"({', '.join(UNIT_COLUMNS)})",
        )
    if missing:
        raise CsvFormatError(name, 1, f"the header lacks the required {', '.join(missing)}")
    if not any(c in UNIT_COLUMNS for c in header):
        raise CsvFormatError(
            name, 1, f"no quantity column; name at least one unit ({', '.join(UNIT_COLUMNS)})"
        )
    return header


class _Refused(Exception):
    """A readable row the connector refuses for a reason other than ``malformed``."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class CsvConnector:
    """Reads events CSV rows (see the module docstring for the format) into provider events."""

    info = ConnectorInfo(
        slug="csv",
        name="CSV file import",
        version="1.0.0",
        behaviours=frozenset(BEHAVIOUR_UNITS),
        categories=frozenset(code.partition(".")[0] for code in BEHAVIOUR_UNITS),
        pull=False,
        push=False,
        config_model=ConnectorConfig,
        description="Behaviour events of hub persons from a CSV file (carbonhub import FILE).",
        names_persons=True,
    )
    read_rows = staticmethod(read_rows)

    def __init__(self, config: ConnectorConfig, http: httpx.AsyncClient) -> None:
        self.config = config

    def oauth(self) -> ProviderOAuth | None:
        """None: rows name hub persons, so there are no provider accounts to link."""
        return None

    async def fetch(self, account: ProviderAccount, cursor: str | None) -> Page:
        """Not supported: a CSV file is imported with ``carbonhub import FILE``."""
        raise NotImplementedError("the csv connector does not pull; use `carbonhub import FILE`")

    def verify(self, request: PushRequest) -> list[Mapping[str, Any]]:
        """Not supported: a CSV file is imported with ``carbonhub import FILE``."""
        raise NotImplementedError(
            "the csv connector accepts no pushes; use `carbonhub import FILE`"
        )

    def normalize(self, record: Mapping[str, Any]) -> Normalized:
        """A row as a provider event whose account is the person id, or a rejection (never raises)."""
        if not isinstance(record, Mapping):
            return malformed(record, "", "external_id", "person_id")
        where = _where(record)
        located = reject_location(record, "external_id", "person_id")
        if located is not None:
            return replace(located, detail=where + located.detail)
        try:
            return _event(record)
        except _Refused as exc:
            return replace(
                malformed(record, where + str(exc), "external_id", "person_id"), reason=exc.reason
            )
        except ValueError as exc:  # BadRecord, and the odd value Python itself cannot read
            return malformed(record, where + str(exc), "external_id", "person_id")


def _where(record: Mapping[str, Any]) -> str:
    line = record.get(LINE)
    return f"line {line}: " if isinstance(line, int) and not isinstance(line, bool) else ""


def _event(record: Mapping[str, Any]) -> ProviderEvent:
    # empty location cells pass (a spreadsheet template may have the column); filled ones never
    # get here: reject_location refused the row already
    unknown = sorted(
        str(k)
        for k in record
        if k not in KNOWN_COLUMNS and k != LINE and str(k).lower() not in LOCATION_KEYS
    )
    if unknown:
        raise BadRecord(f"unknown column(s) {', '.join(unknown)}")
    if any(isinstance(v, str) and "\x00" in v for v in record.values()):
        raise BadRecord("a cell contains a NUL character")
    external_id = _bounded(text(record, "external_id"), "external_id")
    person_id = _bounded(text(record, "person_id"), "person_id")
    behaviour = text(record, "behaviour")
    units = BEHAVIOUR_UNITS.get(behaviour)
    if units is None:
        raise _Refused("unknown_behaviour", f"behaviour {behaviour[:80]!r} is not in the catalogue")
    occurred_at = instant(record, "occurred_at")
    try:
        occurred_at.astimezone(UTC)
    except OverflowError:
        raise BadRecord(f"occurred_at {record['occurred_at']!r} is out of range") from None
    return ProviderEvent(
        external_id=external_id,
        account=person_id,
        behaviour=behaviour,
        occurred_at=occurred_at,
        measures=_measures(record, behaviour, units),
        reference=None
        if _blank(record, "reference")
        else _bounded(text(record, "reference"), "reference"),
        duration_s=_duration(record),
        business_travel=_flag(record, "business_travel"),
    )


def _measures(
    record: Mapping[str, Any], behaviour: str, units: tuple[str, ...]
) -> dict[str, Decimal]:
    measures: dict[str, Decimal] = {}
    for unit in UNIT_COLUMNS:
        if _blank(record, unit):
            continue
        quantity = number(record, unit)
        if unit not in units:
            raise _Refused(
                "wrong_unit", f"{behaviour} is measured in {', '.join(units)}, not {unit}"
            )
        if quantity <= 0:
            raise _Refused("non_positive_quantity", f"{unit} {quantity} must be positive")
        if quantity.adjusted() >= MAX_QUANTITY_DIGITS:
            raise BadRecord(f"{unit} {quantity} is out of range")
        measures[unit] = quantity
    if not measures:
        raise BadRecord(f"no quantity: fill at least one of {', '.join(units)} for {behaviour}")
    return measures


def _duration(record: Mapping[str, Any]) -> int | None:
    if _blank(record, "duration_s"):
        return None
    value = record["duration_s"]
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 10**8:
        raise BadRecord(f"duration_s {value!r} is not a whole number of seconds")
    return value


def _flag(record: Mapping[str, Any], name: str) -> bool:
    value = record.get(name)
    if isinstance(value, bool):
        return value
    if value is None or (
        isinstance(value, str) and value.strip().lower() in {"", "false", "no", "0"}
    ):
        return False
    if isinstance(value, str) and value.strip().lower() in {"true", "yes", "1"}:
        return True
    raise BadRecord(f"{name} must be true or false, not {str(value)[:40]!r}")


def _blank(record: Mapping[str, Any], name: str) -> bool:
    value = record.get(name)
    return value is None or (isinstance(value, str) and not value.strip())


def _bounded(value: str, name: str) -> str:
    if len(value) > MAX_TEXT:
        raise BadRecord(f"{name} is longer than {MAX_TEXT} characters")
    return value
