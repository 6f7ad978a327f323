"""The methodology registry, its data files and the programmes: lookups and validation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import pytest

from carbonhub.errors import NotFound
from carbonhub.methodology import (
    Catalogue,
    MethodologyDataError,
    MethodologyRegistry,
    load_catalogue,
    load_methodology,
    load_programmes,
    packaged_registry,
)

SHIPPED = (
    "ant-forest-2023@1.0",
    "beijing-green-life-2023@1.0",
    "beijing-handbook-2022@1.0",
    "shenzhen-transit-2021@1.0",
)

HEADER = """
id = "test-method"
version = "1.0"
name_en = "Test"
name_zh = "测试"
publisher = "tests"
source = "tests"
effective_from = 2023-01-01
"""

METRO_FACTOR = """
[[factor]]
behaviour = "transport.metro"
unit = "ride"
grams_per_unit = "52"
"""


@pytest.fixture
def catalogue() -> Catalogue:
    return packaged_registry().catalogue


@pytest.fixture
def write_toml(tmp_path: Path) -> Callable[[str], Path]:
    """Write a TOML file into the test's directory; returns its path."""

    def write(text: str, name: str = "method.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


# -- the packaged registry ----------------------------------------------------------------------


def test_the_packaged_registry_holds_the_four_methodologies() -> None:
    assert tuple(m.key for m in packaged_registry().all()) == SHIPPED


@pytest.mark.parametrize("reference", ["ant-forest-2023", "ant-forest-2023@1.0"])
def test_given_an_id_or_id_at_version_when_resolved_then_the_methodology_is_found(
    reference: str,
) -> None:
    assert packaged_registry().resolve(reference).key == "ant-forest-2023@1.0"


@pytest.mark.parametrize("reference", ["green-life-1999", "ant-forest-2023@9.9", ""])
def test_given_an_unknown_methodology_when_resolved_then_not_found_names_the_known_ones(
    reference: str,
) -> None:
    with pytest.raises(NotFound) as raised:
        packaged_registry().resolve(reference)

    assert f"unknown methodology {reference!r}" in str(raised.value)
    for key in SHIPPED:
        assert key in str(raised.value)


def test_given_several_versions_when_resolving_the_id_then_the_highest_version_wins(
    catalogue: Catalogue,
) -> None:
    base = packaged_registry().resolve("ant-forest-2023")
    versions = [dataclasses.replace(base, version=v) for v in ("1.9", "1.10", "1.2", "1.0-rc1")]

    registry = MethodologyRegistry(catalogue, versions)

    assert registry.resolve("ant-forest-2023").version == "1.10"
    assert registry.resolve("ant-forest-2023@1.2").version == "1.2"


def test_given_a_release_and_its_candidate_then_the_release_is_the_latest(
    catalogue: Catalogue,
) -> None:
    base = packaged_registry().resolve("ant-forest-2023")
    versions = [dataclasses.replace(base, version=v) for v in ("2.0", "2.0-rc1", "1.5")]

    registry = MethodologyRegistry(catalogue, versions)

    assert registry.resolve("ant-forest-2023").version == "2.0"
    assert [m.version for m in registry.all()] == ["1.5", "2.0-rc1", "2.0"]


def test_given_the_same_version_twice_then_the_registry_refuses_it(catalogue: Catalogue) -> None:
    base = packaged_registry().resolve("ant-forest-2023")

    with pytest.raises(MethodologyDataError, match="registered twice"):
        MethodologyRegistry(catalogue, [base, base])


# -- methodology data files ---------------------------------------------------------------------


def test_given_a_well_formed_file_when_loaded_then_its_factors_are_exact_decimals(
    write_toml: Callable[[str], Path], catalogue: Catalogue
) -> None:
    path = write_toml(HEADER + METRO_FACTOR)

    registry = MethodologyRegistry(catalogue, [load_methodology(path)])

    factor = registry.resolve("test-method").factor_for("transport.metro")
    assert factor is not None
    assert str(factor.grams_per_unit) == "52"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            '[[factor]]\nbehaviour = "transport.metro"\nunit = "ride"\ngrams_per_unit = 52.0\n',
            "write decimals as strings, not floats",
            id="a float factor",
        ),
        pytest.param(
            '[[factor]]\nbehaviour = "transport.metro"\nunit = "ride"\ngrams_per_unit = "lots"\n',
            "not a number",
            id="a factor that is not a number",
        ),
        pytest.param(
            '[[factor]]\nbehaviour = "transport.metro"\nunit = "ride"\ngrams_per_unit = "NaN"\n',
            "not a finite number",
            id="a NaN factor",
        ),
        pytest.param(
            METRO_FACTOR + '[[cap]]\nbehaviour = "transport.metro"\nper = "week"\nmax_count = 5\n',
            "per 'week' is not one of day, month",
            id="a cap per week",
        ),
        pytest.param(
            METRO_FACTOR + '[[cap]]\nbehaviour = "transport.metro"\nper = "day"\nmax_count = 5.5\n',
            "'max_count' must be a whole number",
            id="a fractional count cap",
        ),
        pytest.param(
            '[[factor]]\nbehaviour = "transport.metro"\nunit = "ride"\ngrams_per_unit = "50"\n'
            'baseline_grams_per_unit = "80"\nproject_grams_per_unit = "20"\n',
            "is not baseline 80 minus project 20",
            id="reduction disagrees with baseline minus project",
        ),
    ],
)
def test_given_a_malformed_factor_file_when_loaded_then_the_error_names_the_file_and_problem(
    write_toml: Callable[[str], Path], body: str, message: str
) -> None:
    path = write_toml(HEADER + body)

    with pytest.raises(MethodologyDataError) as raised:
        load_methodology(path)

    assert str(path) in str(raised.value)
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        pytest.param(
            HEADER.replace('id = "test-method"\n', ""), "missing or empty 'id'", id="no id"
        ),
        pytest.param(
            HEADER.replace("2023-01-01", '"2023-01-01"'),
            "'effective_from' must be a date",
            id="a date written as a string",
        ),
        pytest.param(
            HEADER.replace("2023-01-01", "2023-01-01T00:00:00"),
            "'effective_from' must be a date",
            id="a date-time instead of a date",
        ),
        pytest.param(
            HEADER + "effective_to = 2022-12-31\n",
            "effective_to 2022-12-31 is before effective_from 2023-01-01",
            id="ends before it starts",
        ),
        pytest.param(HEADER + "this is not toml", "method.toml", id="not TOML at all"),
    ],
)
def test_given_a_malformed_header_when_loaded_then_the_error_names_the_problem(
    write_toml: Callable[[str], Path], header: str, message: str
) -> None:
    path = write_toml(header + METRO_FACTOR)

    with pytest.raises(MethodologyDataError, match=r"method\.toml") as raised:
        load_methodology(path)

    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            '[[factor]]\nbehaviour = "transport.teleport"\nunit = "ride"\ngrams_per_unit = "1"\n',
            "factor transport.teleport: behaviour not in the catalogue",
            id="a factor with an unknown behaviour",
        ),
        pytest.param(
            '[[factor]]\nbehaviour = "transport.metro"\nunit = "mile"\ngrams_per_unit = "1"\n',
            "unit 'mile' not one of ('ride', 'km')",
            id="a factor with a unit the behaviour is not measured in",
        ),
        pytest.param(
            METRO_FACTOR + METRO_FACTOR,
            "two factors for one behaviour",
            id="two factors for one behaviour",
        ),
        pytest.param(
            '[[factor]]\nbehaviour = "transport.metro"\nunit = "ride"\ngrams_per_unit = "-1"\n',
            "negative reduction factor",
            id="a negative factor",
        ),
        pytest.param(
            METRO_FACTOR + '[[cap]]\nbehaviour = "transport.bus"\nper = "day"\nmax_count = 5\n',
            "cap on uncovered transport.bus",
            id="a cap on an uncovered behaviour",
        ),
        pytest.param(
            METRO_FACTOR + '[[cap]]\nbehaviour = "transport.metro"\nper = "day"\n',
            "needs max_count or max_grams",
            id="a cap without a limit",
        ),
        pytest.param(
            METRO_FACTOR + '[[cap]]\nbehaviour = "transport.metro"\nper = "day"\nmax_count = 0\n',
            "must be positive",
            id="a cap of zero",
        ),
    ],
)
def test_given_a_file_inconsistent_with_the_catalogue_when_registered_then_it_is_refused(
    write_toml: Callable[[str], Path], catalogue: Catalogue, body: str, message: str
) -> None:
    methodology = load_methodology(write_toml(HEADER + body))

    with pytest.raises(MethodologyDataError) as raised:
        MethodologyRegistry(catalogue, [methodology])

    assert "test-method@1.0" in str(raised.value)
    assert message in str(raised.value)


def test_given_the_catalogue_then_it_has_the_seven_acef_categories() -> None:
    catalogue = packaged_registry().catalogue

    assert [c.code for c in catalogue.categories] == [
        "clothing",
        "food",
        "housing",
        "transport",
        "use",
        "office",
        "digital_finance",
    ]
    assert all(b.category == b.code.split(".")[0] for b in catalogue.behaviours)


# -- programmes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("district", "programme_id"),
    [
        pytest.param("110108", "beijing-green-life-2023", id="Haidian -> Beijing"),
        pytest.param("110000", "beijing-green-life-2023", id="Beijing itself"),
        pytest.param("120116", "tianjin-green-life-2023", id="Binhai -> Tianjin"),
        pytest.param("310115", "shanghai-green-life-2023", id="Pudong -> Shanghai"),
    ],
)
def test_given_a_district_when_looking_up_its_programme_then_its_province_programme_is_found(
    district: str, programme_id: str
) -> None:
    programmes = load_programmes(packaged_registry(), "Asia/Shanghai")

    programme = programmes.for_region(district)

    assert programme is not None
    assert programme.id == programme_id
    assert programme.primary_methodology == "beijing-green-life-2023@1.0"
    assert programme.mg_per_point == 10_000


def test_given_a_district_no_programme_covers_then_there_is_none() -> None:
    programmes = load_programmes(packaged_registry(), "Asia/Shanghai")

    assert programmes.for_region("440304") is None  # Futian, Shenzhen


def test_given_a_programme_without_a_time_zone_then_the_default_applies(
    write_toml: Callable[[str], Path],
) -> None:
    path = write_toml(PROGRAMME)

    programme = load_programmes(packaged_registry(), "Asia/Urumqi", path).get("test-programme")

    assert programme is not None
    assert programme.timezone.key == "Asia/Urumqi"


PROGRAMME = """
[[programme]]
id = "test-programme"
name_en = "Test"
name_zh = "测试"
region = "110000"
primary_methodology = "beijing-green-life-2023@1.0"
grams_per_point = 10
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            PROGRAMME.replace("beijing-green-life-2023@1.0", "beijing-green-life-2023"),
            "names unknown methodology 'beijing-green-life-2023' (use id@version)",
            id="a methodology without its version",
        ),
        pytest.param(
            PROGRAMME.replace("grams_per_point = 10", "grams_per_point = 0"),
            "grams_per_point <= 0",
            id="zero grams a point",
        ),
        pytest.param(
            PROGRAMME + 'timezone = "Mars/Olympus_Mons"\n',
            "unknown time zone 'Mars/Olympus_Mons'",
            id="an unknown time zone",
        ),
        pytest.param(
            PROGRAMME.replace('"110000"', '"110108"'),
            "region '110108' is not a province-level",
            id="a district instead of a province",
        ),
        pytest.param(
            PROGRAMME + PROGRAMME, "two programmes for region 110000", id="a region twice"
        ),
    ],
)
def test_given_a_malformed_programmes_file_when_loaded_then_it_is_refused(
    write_toml: Callable[[str], Path], text: str, message: str
) -> None:
    path = write_toml(text, "programmes.toml")

    with pytest.raises(MethodologyDataError) as raised:
        load_programmes(packaged_registry(), "Asia/Shanghai", path)

    assert message in str(raised.value)


BEHAVIOUR = """
[[category]]
code = "transport"
name_zh = "行"
name_en = "Transport"

[[behaviour]]
code = "transport.metro"
name_zh = "地铁出行"
name_en = "Metro ride"
units = ["ride", "km"]
count_unit = "ride"
dedup = "window"
window_minutes = 10
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            BEHAVIOUR.replace('dedup = "window"', 'dedup = "fuzzy"'),
            "dedup 'fuzzy' is not one of window, reference",
            id="an unknown de-duplication rule",
        ),
        pytest.param(
            BEHAVIOUR.replace("window_minutes = 10", 'window_minutes = "10"'),
            "'window_minutes' must be a whole number",
            id="a window written as text",
        ),
        pytest.param(
            BEHAVIOUR.replace('count_unit = "ride"', 'count_unit = "trip"'),
            "count_unit must be one of its units",
            id="a count unit the behaviour is not measured in",
        ),
        pytest.param(
            BEHAVIOUR.replace('code = "transport"\n', 'code = "mobility"\n'),
            "transport.metro: unknown category",
            id="a behaviour in an unknown category",
        ),
    ],
)
def test_given_a_malformed_catalogue_when_loaded_then_it_is_refused(
    write_toml: Callable[[str], Path], text: str, message: str
) -> None:
    path = write_toml(text, "catalogue.toml")

    with pytest.raises(MethodologyDataError) as raised:
        load_catalogue(path)

    assert str(path) in str(raised.value)
    assert message in str(raised.value)
