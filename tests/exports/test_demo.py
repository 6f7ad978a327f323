"""The demo points at its two report pages: where they are served and how to export them."""

from __future__ import annotations

import random
import shlex
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from carbonhub.cli import main
from carbonhub.demo.build import DemoResult
from carbonhub.demo.population import DemoCitizen, DemoEnterprise, demo_citizens, demo_enterprises
from carbonhub.demo.reports import demo_reports
from carbonhub.settings import Settings
from tests.graphql.conftest import World

DISTRICTS = {"110000": ["110108", "110105"], "120000": ["120116"], "310000": ["310115"]}


@pytest.fixture
def population() -> tuple[list[DemoCitizen], list[DemoEnterprise]]:
    """A small demo population (no database)."""
    rng = random.Random(2023)
    enterprises = demo_enterprises(rng)
    return demo_citizens(rng, 300, DISTRICTS, enterprises), enterprises


def test_given_the_demo_population_then_its_reports_are_beijing_and_its_fullest_employer(
    population: tuple[list[DemoCitizen], list[DemoEnterprise]],
) -> None:
    citizens, enterprises = population
    region, esg = demo_reports(citizens, enterprises)
    assert region.path == "/reports/region/110000?period=2023-07"
    staff = Counter(c.employer for c in citizens)
    beijing = [e.id for e in enterprises if e.region.startswith("11")]
    assert esg.request.key == max(beijing, key=lambda e: staff[e])
    assert esg.path == f"/reports/enterprise/{esg.request.key}?period=2023-Q3"


def test_given_a_demo_result_then_its_summary_names_both_report_pages(
    population: tuple[list[DemoCitizen], list[DemoEnterprise]], tmp_path: Path
) -> None:
    pages = demo_reports(*population)
    result = DemoResult(False, 300, 6, {}, tmp_path / "carbonhub-demo.json", pages)
    lines = result.summary().splitlines()
    assert lines[0].startswith("reusing the demo database")
    assert len(lines) == 3
    for page, line in zip(pages, lines[1:], strict=True):
        assert page.path in line
        assert page.command in line


def test_given_the_printed_command_when_run_then_it_writes_the_page(
    population: tuple[list[DemoCitizen], list[DemoEnterprise]],
    settings: Settings,
    report_world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    region, _ = demo_reports(*population)
    args = [*shlex.split(region.command)[1:], "--database-url", settings.database_url]
    result = CliRunner(env={"CARBONHUB_PRIVACY_K": "3"}).invoke(main, args)
    assert result.exit_code == 0, result.output
    page = (tmp_path / "region-110000-2023-07.html").read_text(encoding="utf-8")
    assert 'id="chart-by-child-region"' in page
