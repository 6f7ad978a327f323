"""The csv connector: reading events files, their structural errors, and normalising rows."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from carbonhub.connectors.base import ConnectorConfig, ProviderEvent, RecordRejection
from carbonhub.connectors.builtin.csv import (
    BEHAVIOUR_UNITS,
    CsvConnector,
    CsvFormatError,
    read_rows,
)
from carbonhub.methodology import packaged_registry

HEADER = "external_id,person_id,behaviour,occurred_at,km,ride,order"
RIDE = "r1,p_ANNA,transport.bike_share,2023-07-01T08:00:00+08:00,3.2,1,"


@pytest.fixture
def write(tmp_path: Path):
    """Write a file's bytes (text is encoded as UTF-8); returns its path."""

    def write_file(content: str | bytes) -> Path:
        path = tmp_path / "events.csv"
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return write_file


@pytest.fixture
def connector() -> CsvConnector:
    return CsvConnector(ConnectorConfig(), http=None)  # it makes no requests


def normalised(connector: CsvConnector, **cells: Any) -> ProviderEvent | RecordRejection:
    """Normalise a ride row with some cells changed (None removes the cell)."""
    record: dict[str, Any] = dict(zip(HEADER.split(","), RIDE.split(","), strict=True))
    record["line"] = 7
    record.update(cells)
    return connector.normalize({k: v for k, v in record.items() if v is not None})


# --- the declared behaviours ------------------------------------------------------------


def test_given_the_packaged_catalogue_then_the_declared_behaviours_and_units_are_its_own() -> None:
    catalogue = packaged_registry().catalogue

    declared = {code: set(units) for code, units in BEHAVIOUR_UNITS.items()}

    assert declared == {b.code: set(b.units) for b in catalogue.behaviours}


def test_given_the_connector_then_it_names_persons_and_neither_pulls_nor_pushes(
    connector: CsvConnector,
) -> None:
    info = connector.info

    assert (info.slug, info.names_persons, info.pull, info.push) == ("csv", True, False, False)
    assert connector.oauth() is None


# --- reading ----------------------------------------------------------------------------


def test_given_a_file_with_a_byte_order_mark_when_read_then_rows_carry_their_line(write) -> None:
    path = write(b"\xef\xbb\xbf" + f"{HEADER}\n{RIDE}\n".encode())

    rows = list(read_rows(path))

    assert rows == [
        {
            "external_id": "r1",
            "person_id": "p_ANNA",
            "behaviour": "transport.bike_share",
            "occurred_at": "2023-07-01T08:00:00+08:00",
            "km": "3.2",
            "ride": "1",
            "order": "",
            "line": 2,
        }
    ]


def test_given_spaces_and_capitals_in_the_header_when_read_then_columns_are_recognised(
    write,
) -> None:
    path = write(
        " External_ID , Person_Id,BEHAVIOUR,occurred_at, KM \r\nr1 , p_ANNA,transport.bike_share,2023-07-01T08:00:00Z, 3.2\r\n"
    )

    (row,) = read_rows(path)

    assert (row["external_id"], row["person_id"], row["km"]) == ("r1", "p_ANNA", "3.2")


def test_given_blank_rows_and_a_multi_line_cell_when_read_then_lines_are_physical(write) -> None:
    path = write(
        f'{HEADER}\n\n,,,,,,\n"r\n2",p_ANNA,food.no_utensils,2023-07-01T12:00:00Z,,,1\n{RIDE}\n'
    )

    rows = list(read_rows(path))

    assert [(r["external_id"], r["line"]) for r in rows] == [("r\n2", 4), ("r1", 6)]


def test_given_a_location_column_when_read_then_it_is_kept_for_the_rejection(write) -> None:
    path = write(f"{HEADER},trajectory\n{RIDE},116.39 39.90;116.40 39.91\n")

    (row,) = read_rows(path)

    assert row["trajectory"] == "116.39 39.90;116.40 39.91"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("", "line 1: the file is empty; a header row is required", id="empty"),
        pytest.param(
            f"{HEADER},colour,size\n", "line 1: unknown column(s) colour, size;", id="unknown"
        ),
        pytest.param(f"{RIDE}\n", "line 1: the first row is not a header", id="no-header"),
        pytest.param(
            "external_id,person_id,occurred_at,km\n",
            "line 1: the header lacks the required behaviour",
            id="missing",
        ),
        pytest.param(
            "external_id,person_id,behaviour,occurred_at,reference\n",
            "line 1: no quantity column",
            id="no-unit",
        ),
        pytest.param(f"{HEADER},km\n", "line 1: the header repeats km", id="repeated"),
        pytest.param(
            "external_id,,person_id\n", "line 1: column 2 of the header has no name", id="unnamed"
        ),
    ],
)
def test_given_a_bad_header_when_read_then_the_file_is_refused(
    write, content: str, message: str
) -> None:
    path = write(content)

    with pytest.raises(CsvFormatError, match="^" + str(path)) as refused:
        list(read_rows(path))

    assert message in str(refused.value)
    assert refused.value.line == 1


@pytest.mark.parametrize(
    ("bad_line", "message"),
    [
        pytest.param(f"{RIDE},extra", "the row has 8 fields, the header has 7", id="extra-field"),
        pytest.param(
            "r2,p_ANNA,transport.metro", "the row has 3 fields, the header has 7", id="short"
        ),
        pytest.param(
            'r2,p_ANNA,"transport.metro"x,2023-07-01T08:00:00Z,,1,', "unreadable CSV", id="quoting"
        ),
    ],
)
def test_given_a_malformed_row_when_read_then_the_error_names_its_line(
    write, bad_line: str, message: str
) -> None:
    path = write(f"{HEADER}\n{RIDE}\n{bad_line}\n")

    with pytest.raises(CsvFormatError) as refused:
        list(read_rows(path))

    assert f"line 3: {message}" in str(refused.value)


def test_given_bytes_that_are_not_utf8_when_read_then_the_error_names_line_and_column(
    write,
) -> None:
    path = write(f"{HEADER}\n{RIDE}\n".encode() + b"r2,p_\xe9,transport.metro\n")

    with pytest.raises(CsvFormatError, match=r"line 3: byte 0xe9 at column 6 is not UTF-8"):
        list(read_rows(path))


def test_given_a_late_structural_error_when_read_then_earlier_rows_were_streamed(write) -> None:
    path = write(f"{HEADER}\n{RIDE}\nr2,broken\n")
    rows = read_rows(path)

    first = next(rows)

    assert first["external_id"] == "r1"
    with pytest.raises(CsvFormatError, match="line 3"):
        next(rows)


# --- normalising ------------------------------------------------------------------------


def test_given_a_full_row_when_normalised_then_the_person_is_the_account(
    connector: CsvConnector,
) -> None:
    event = normalised(connector, reference="B-1", duration_s="900", business_travel="TRUE")

    assert event == ProviderEvent(
        external_id="r1",
        account="p_ANNA",
        behaviour="transport.bike_share",
        occurred_at=datetime(2023, 7, 1, 0, 0, tzinfo=UTC),
        measures={"km": Decimal("3.2"), "ride": Decimal("1")},
        reference="B-1",
        duration_s=900,
        business_travel=True,
    )


def test_given_a_json_record_without_a_line_when_normalised_then_numbers_are_read(
    connector: CsvConnector,
) -> None:
    event = normalised(connector, line=None, km=3.5, ride=None, duration_s=600)

    assert isinstance(event, ProviderEvent)
    assert (event.measures, event.duration_s) == ({"km": Decimal("3.5")}, 600)


def test_given_coordinates_when_normalised_then_the_row_is_refused_as_location_data(
    connector: CsvConnector,
) -> None:
    rejection = normalised(connector, lat="39.9", lng="116.4")

    assert rejection == RecordRejection(
        "location_data",
        "line 7: the record carries location data (lat, lng); only quantified activity is accepted",
        external_id="r1",
        account="p_ANNA",
    )


def test_given_an_empty_location_cell_when_normalised_then_the_row_is_accepted(
    connector: CsvConnector,
) -> None:
    assert isinstance(normalised(connector, trajectory=""), ProviderEvent)


@pytest.mark.parametrize(
    ("cells", "reason", "detail"),
    [
        pytest.param(
            {"occurred_at": "2023-07-01T08:00:00"},
            "malformed",
            "has no time zone offset",
            id="naive",
        ),
        pytest.param({"occurred_at": "1 July"}, "malformed", "is not an ISO 8601", id="unreadable"),
        pytest.param(
            {"occurred_at": "0001-01-01T00:00:00+08:00"}, "malformed", "out of range", id="year-1"
        ),
        pytest.param({"external_id": " "}, "malformed", "external_id must be", id="no-id"),
        pytest.param({"person_id": None}, "malformed", "person_id must be", id="no-person"),
        pytest.param({"external_id": "x" * 201}, "malformed", "longer than 200", id="long-id"),
        pytest.param(
            {"behaviour": "transport.taxi"},
            "unknown_behaviour",
            "not in the catalogue",
            id="behaviour",
        ),
        pytest.param({"order": "1"}, "wrong_unit", "measured in km, ride, not order", id="unit"),
        pytest.param({"km": "0"}, "non_positive_quantity", "km 0 must be positive", id="zero"),
        pytest.param({"km": "-2"}, "non_positive_quantity", "must be positive", id="negative"),
        pytest.param({"km": "NaN"}, "malformed", "not finite", id="nan"),
        pytest.param({"km": "3,2"}, "malformed", "is not a number", id="comma"),
        pytest.param({"km": "1e12"}, "malformed", "out of range", id="huge"),
        pytest.param({"km": "", "ride": ""}, "malformed", "no quantity: fill", id="none"),
        pytest.param({"duration_s": "15.5"}, "malformed", "duration_s", id="duration"),
        pytest.param({"business_travel": "maybe"}, "malformed", "true or false", id="flag"),
        pytest.param({"colour": "green"}, "malformed", "unknown column(s) colour", id="column"),
        pytest.param({"reference": "a\x00b"}, "malformed", "NUL", id="nul"),
    ],
)
def test_given_a_bad_cell_when_normalised_then_the_rejection_names_the_line(
    connector: CsvConnector, cells: dict[str, Any], reason: str, detail: str
) -> None:
    rejection = normalised(connector, **cells)

    assert isinstance(rejection, RecordRejection)
    assert rejection.reason == reason
    assert rejection.detail.startswith("line 7: ")
    assert detail in rejection.detail


def test_given_something_other_than_a_mapping_when_normalised_then_it_is_malformed(
    connector: CsvConnector,
) -> None:
    rejection = connector.normalize(["r1", "p_ANNA"])

    assert rejection == RecordRejection("malformed", "a record must be an object, not list")
