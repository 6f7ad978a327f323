"""``carbonhub report region|enterprise``: exports as the operator, in each format."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from carbonhub.cli import main
from carbonhub.exports import COLUMNS
from carbonhub.settings import Settings
from tests.exports.conftest import LONELY_DISTRICT, PERIOD
from tests.graphql.conftest import World

Report = Callable[..., Result]


@pytest.fixture
def report(settings: Settings, report_world: World) -> Report:
    """Run ``carbonhub report ...`` on the test database (k = 3, as the hub's settings)."""
    runner = CliRunner(env={"CARBONHUB_PRIVACY_K": "3", "CARBONHUB_ENV": "development"})

    def invoke(*args: str) -> Result:
        arguments = ["report", *args, "--database-url", settings.database_url]
        return runner.invoke(main, arguments, catch_exceptions=False)

    return invoke


def exported_json(report: Report, *args: str) -> dict[str, Any]:
    result = report(*args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def test_given_the_world_when_beijing_is_exported_as_json_then_it_has_every_section(
    report: Report,
) -> None:
    data = exported_json(report, "region", "110000", "--period", PERIOD)
    region = data["region"]
    assert (region["code"], region["nameEn"]) == ("110000", "Beijing")
    beijing = region["report"]
    # 4 x (1000 + 45.72) g + 3 x 500 g + 750 g in Yanqing
    assert Decimal(beijing["totalReductionKg"]) == Decimal("6.43288")
    assert beijing["participants"] == 8
    assert beijing["methodology"]["key"] == "beijing-green-life-2023@1.0"
    assert beijing["privacyThreshold"] == 3
    assert [p["label"] for p in beijing["byMonth"]] == [PERIOD]
    assert len(beijing["byDay"]) == 31
    assert {c["region"]["code"] for c in beijing["children"]} >= {"110108", LONELY_DISTRICT}
    assert beijing["topBehaviours"][0]["behaviour"]["code"] == "transport.bike_share"
    assert "compare" not in beijing


def test_given_compared_methodologies_when_exported_then_each_gives_its_figures(
    report: Report,
) -> None:
    data = exported_json(
        report,
        "region",
        "110000",
        "--period",
        PERIOD,
        "--compare",
        "beijing-handbook-2022",
        "--compare",
        "shenzhen-transit-2021",
    )
    compared = data["region"]["report"]["compare"]
    assert [c["methodology"]["id"] for c in compared] == [
        "beijing-handbook-2022",
        "shenzhen-transit-2021",
    ]
    shenzhen = {b["behaviour"]["code"]: b for b in compared[1]["byBehaviour"]}
    assert shenzhen["transport.bike_share"]["covered"] is False


def test_given_the_world_when_exported_as_csv_then_the_documented_columns_come_first(
    report: Report,
) -> None:
    result = report("region", "110000", "--period", PERIOD, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    reader = csv.DictReader(io.StringIO(result.stdout))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    rows = list(reader)
    sections = {r["section"] for r in rows}
    assert sections == {"total", "category", "behaviour", "child_region", "month", "day"}
    assert all(set(r) == set(COLUMNS) for r in rows)
    lonely = next(r for r in rows if r["section"] == "child_region" and r["key"] == LONELY_DISTRICT)
    assert (lonely["suppressed"], lonely["reduction_kg"]) == ("true", "")


def test_given_the_employer_when_its_esg_report_is_exported_to_a_file_then_it_is_written(
    report: Report, report_world: World, tmp_path: Path
) -> None:
    output = tmp_path / "esg.csv"
    result = report(
        "enterprise",
        report_world.employer,
        "--period",
        PERIOD,
        "--format",
        "csv",
        "-o",
        str(output),
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    rows = list(csv.DictReader(io.StringIO(output.read_text(encoding="utf-8"))))
    total = next(r for r in rows if r["section"] == "total")
    # 3 employees x (1000 + 45.72) g
    assert (total["reduction_kg"], total["employees"]) == ("3.13716", "3")


def test_given_the_world_when_exported_as_html_then_the_page_embeds_plotly_and_the_figures(
    report: Report, report_world: World
) -> None:
    result = report("enterprise", report_world.employer, "--period", PERIOD, "--format", "html")
    assert result.exit_code == 0, result.stderr
    page = result.stdout
    assert page.startswith("<!doctype html>")
    assert "plotly.js v" in page  # the library itself, inline: the file works offline
    assert "<script src=" not in page
    assert 'data-chart="chart-by-category"' in page
    assert 'id="total-reduction-kg" data-value="3.13716"' in page
    assert "Scope 3" in page
    assert "k = 3" in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(("region", "999999", "--period", PERIOD), "unknown region", id="region"),
        pytest.param(
            ("enterprise", "e_nobody", "--period", PERIOD), "unknown enterprise", id="ent"
        ),
        pytest.param(("region", "110000", "--period", "2023-13"), "period", id="period"),
        pytest.param(
            ("region", "110000", "--period", PERIOD, "--methodology", "nope"),
            "unknown methodology",
            id="methodology",
        ),
    ],
)
def test_given_bad_input_when_exported_then_one_line_and_exit_1(
    report: Report, args: tuple[str, ...], message: str
) -> None:
    result = report(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("carbonhub: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr
