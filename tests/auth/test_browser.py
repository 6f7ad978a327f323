"""One real browser: Debian's chromium, driven by playwright, through the account pages.

Register, land signed in, sign out, sign in again: plain HTML forms, cookies, CSRF tokens,
303 redirects and the Content-Security-Policy as a browser really applies them. Playwright
never downloads a browser here; ``make test`` installs Debian's chromium when it is missing.
Without it the test is skipped, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from carbonhub.db import create_db_engine
from carbonhub.settings import Settings
from tests.fixtures.accounts import FAST_ARGON2, account_app
from tests.fixtures.database import IN_CI

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture
def chromium() -> Path:
    """Debian's chromium, or a skip (a failure in CI) saying how to get it."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: `apt-get install chromium` (make test does it)"
        if IN_CI:
            pytest.fail(f"CI requires the browser test: {message}")
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
def served(sqlite_template: Path, tmp_path: Path) -> Iterator[str]:
    """The account pages served by uvicorn on a free loopback port; yields the base URL."""
    path = tmp_path / "carbonhub.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    settings = Settings(
        database_url=f"sqlite:///{path}", public_url=f"http://127.0.0.1:{port}", **FAST_ARGON2
    )
    config = uvicorn.Config(
        account_app(engine, settings),
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
            pytest.fail("uvicorn did not start serving the account pages")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()
        engine.dispose()


def test_a_citizen_registers_signs_out_and_signs_in_again_in_a_real_browser(
    chromium: Path, served: str
) -> None:
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
            headless=True,
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )

            page.goto(f"{served}/account/register")
            page.fill("#username", "li.wei")
            page.fill("#password", "low carbon commute")
            page.fill("#password_confirmation", "low carbon commute")
            page.select_option("#home_region", "110108")
            page.click("button[type=submit]")
            page.wait_for_url(f"{served}/account/")
            assert page.inner_text("dd.username") == "li.wei"
            assert page.inner_text("dd code").startswith("p_")
            # The stylesheet loaded under the CSP: the header is carbonhub green.
            header = page.eval_on_selector(
                "header.site", "e => getComputedStyle(e).backgroundColor"
            )
            assert header == "rgb(31, 122, 77)"

            page.click("text=Sign out")
            page.wait_for_url(f"{served}/account/login")
            page.goto(f"{served}/account/")
            page.wait_for_url(f"{served}/account/login?next=%2Faccount%2F")

            page.fill("#username", "li.wei")
            page.fill("#password", "low carbon commute")
            page.click("button[type=submit]")
            page.wait_for_url(f"{served}/account/")
            assert page.inner_text("dd.username") == "li.wei"
        finally:
            browser.close()
    assert problems == []
