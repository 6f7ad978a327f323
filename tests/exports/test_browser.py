"""The HTML report in a real browser: Debian's chromium, driven by playwright.

The served page is loaded from a real uvicorn server with an agency's real access token; its
plotly charts must render (``.js-plotly-plot`` with drawn SVG traces) and the figures the page
shows must be those of the JSON export. The exported file (``carbonhub report ... --format
html``) must render the same way from disk with every network request refused. Screenshots go
to the test's ``tmp_path``. SQLite only: one browser run is enough (the HTTP tests cover both
databases). Skipped without chromium, failing in CI.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from sqlalchemy import Engine

from carbonhub.app import create_app
from carbonhub.auth.clients import NewClient
from carbonhub.auth.scopes import ClientKind
from carbonhub.cli import main
from carbonhub.db import create_db_engine
from carbonhub.hub import open_hub
from carbonhub.settings import Settings
from tests.auth.test_browser import chromium  # noqa: F401 - the shared browser fixture
from tests.exports.conftest import PERIOD, bearer
from tests.fixtures.accounts import FAST_ARGON2
from tests.graphql.conftest import World

CHART_IDS = ("chart-by-category", "chart-by-child-region", "chart-by-month", "chart-by-day")


@pytest.fixture
def engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """SQLite only (see the module docstring)."""
    path = tmp_path / "carbonhub.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def live(engine: Engine) -> Iterator[str]:
    """The whole app served by uvicorn on a free loopback port; yields the base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        public_url=base_url,
        privacy_k=3,
        **FAST_ARGON2,
    )
    hub = open_hub(settings, engine=engine, upgrade=False)
    config = uvicorn.Config(
        create_app(hub=hub, scheduler=False),
        log_level="warning",
        lifespan="off",
        ws="none",
        http="h11",
        loop="asyncio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start serving the hub")
        time.sleep(0.02)
    try:
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


@pytest.fixture
def agency_token(live: str, report_world: World, make_client: Any) -> str:
    """A real access token of Beijing's agency client, from the live token endpoint."""
    client: NewClient = make_client(ClientKind.AGENCY, region_code="110000")
    assert client.client_secret is not None
    answer = httpx.post(
        f"{live}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, client.client_secret),
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def launch(playwright: Any, chromium: Path) -> Any:  # noqa: F811 - the imported fixture's name
    return playwright.chromium.launch(
        executable_path=str(chromium),
        headless=True,
        args=["--no-sandbox"] if os.geteuid() == 0 else [],
    )


def watch(page: Any) -> list[str]:
    """Collect console errors, page errors and failed responses of ``page``."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None
    )
    return problems


def assert_charts_drawn(page: Any, chart_ids: tuple[str, ...]) -> None:
    """Each chart is a plotly plot with drawn SVG traces (bars or a line)."""
    page.wait_for_selector("html[data-charts=drawn]")
    for chart_id in chart_ids:
        plot = page.locator(f"#{chart_id}.js-plotly-plot")
        assert plot.count() == 1, chart_id
        assert page.locator(f"#{chart_id} svg.main-svg").count() >= 1, chart_id
        traces = page.locator(f"#{chart_id} g.trace")
        assert traces.count() >= 1, chart_id


def assert_figures_match(page: Any, report: dict[str, Any]) -> None:
    """The total and every category row of the page are the JSON report's exact figures."""
    total = page.locator("#total-reduction-kg")
    assert total.get_attribute("data-value") == report["totalReductionKg"]
    assert Decimal(total.inner_text().replace(",", "")) == Decimal(report["totalReductionKg"])
    released = [c for c in report["byCategory"] if not c["suppressed"]]
    assert released
    for c in report["byCategory"]:
        cell = page.locator(f'#by-category tr[data-key="{c["category"]["code"]}"] td.num').first
        if c["suppressed"]:
            assert cell.inner_text() == "suppressed"
        else:
            assert Decimal(cell.inner_text().replace(",", "")) == Decimal(c["reductionKg"])
    # the chart's bars carry the same exact figures as their text
    bars = page.evaluate("() => document.getElementById('chart-by-category').data[0].text")
    assert bars == [c["reductionKg"] for c in released]


def test_the_served_region_report_renders_its_charts_and_figures_in_a_real_browser(
    chromium: Path,  # noqa: F811 - the imported fixture
    live: str,
    agency_token: str,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    url = f"{live}/reports/region/110000?period={PERIOD}"
    exported = httpx.get(f"{url}&format=json", headers=bearer(agency_token))
    assert exported.status_code == 200, exported.text
    report = exported.json()["region"]["report"]

    with sync_playwright() as playwright:
        browser = launch(playwright, chromium)
        try:
            context = browser.new_context(
                extra_http_headers=bearer(agency_token), viewport={"width": 1280, "height": 900}
            )
            page = context.new_page()
            problems = watch(page)
            hosts: set[str] = set()
            page.on("request", lambda r: hosts.add(r.url.split("/")[2]))
            page.goto(f"{url}&format=html")
            assert_charts_drawn(page, CHART_IDS)
            assert_figures_match(page, report)
            suppressed = page.locator('#by-child-region td[data-suppressed="true"]')
            assert suppressed.count() >= 1
            assert page.locator('#by-behaviour td[data-covered="false"]').count() >= 1
            assert "k = 3" in page.inner_text("#suppression-note")
            assert report["methodology"]["id"] in page.inner_text("#methodology-note")
            page.screenshot(path=str(tmp_path / "region-report.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "region-report.png").stat().st_size > 10_000
    assert problems == []
    assert hosts == {live.split("/")[2]}  # nothing but the hub itself


def test_the_exported_esg_report_renders_offline_from_a_file_in_a_real_browser(
    chromium: Path,  # noqa: F811 - the imported fixture
    settings: Settings,
    report_world: World,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    page_file, json_file = tmp_path / "esg.html", tmp_path / "esg.json"
    runner = CliRunner(env={"CARBONHUB_PRIVACY_K": "3", "CARBONHUB_ENV": "development"})
    for output, export_format in ((page_file, "html"), (json_file, "json")):
        arguments = ["report", "enterprise", report_world.employer, "--period", PERIOD]
        options = ["--format", export_format, "-o", str(output)]
        result = runner.invoke(
            main, [*arguments, *options, "--database-url", settings.database_url]
        )
        assert result.exit_code == 0, result.output
    report = json.loads(json_file.read_text(encoding="utf-8"))["enterprise"]["esgReport"]

    with sync_playwright() as playwright:
        browser = launch(playwright, chromium)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            refused: list[str] = []

            def refuse(route: Any) -> None:
                refused.append(route.request.url)
                route.abort()

            context.route("http://**/*", refuse)
            context.route("https://**/*", refuse)
            page = context.new_page()
            problems = watch(page)
            page.goto(page_file.as_uri())
            assert_charts_drawn(page, ("chart-by-category", "chart-by-month", "chart-by-day"))
            assert_figures_match(page, report)
            assert page.locator("#employees").get_attribute("data-value") == "3"
            page.screenshot(path=str(tmp_path / "esg-report.png"), full_page=True)
        finally:
            browser.close()
    assert refused == []  # the file needed no network at all
    assert problems == []
