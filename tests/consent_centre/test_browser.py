"""One real browser through the consent centre, and the enterprise's view changing with it.

Debian's chromium driven by playwright (never a downloaded browser; skipped when absent,
failing in CI): sign in, approve the employer's consent request with one category unticked,
see the ESG report include the citizen on the next GraphQL read, revoke, see it drop them
again, then download a receipt and verify it on the hub's verify page.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine

from carbonhub.actors import employ
from carbonhub.app import create_app
from carbonhub.db import create_db_engine, write_session
from carbonhub.hub import Hub
from carbonhub.resolvers.context import Context
from carbonhub.schema import schema
from tests.auth.test_browser import chromium  # noqa: F401 - the shared browser fixture
from tests.consent_centre.conftest import ask_employees
from tests.fixtures.accounts import FAST_ARGON2, PASSWORD, Citizen
from tests.fixtures.actors import event
from tests.fixtures.graphql import enterprise_client

ESG = """
query ($id: ID!) {
  enterprise(id: $id) { esgReport(period: "2023") { participants totalReductionKg } }
}
"""


@pytest.fixture
def engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    """SQLite only: one browser run is enough (the HTTP tests cover both databases)."""
    path = tmp_path / "carbonhub.db"
    shutil.copyfile(sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def live(hub: Hub) -> Iterator[tuple[str, Hub]]:
    """The whole app served by uvicorn on a free loopback port: (base URL, its hub)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    base_url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    served = replace(
        hub, settings=hub.settings.model_copy(update={**FAST_ARGON2, "public_url": base_url})
    )
    config = uvicorn.Config(
        create_app(hub=served),
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
        yield base_url, served
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def esg_report(hub: Hub, enterprise_id: str) -> dict[str, Any]:
    """The enterprise's ESG report for 2023, read in-process as its ESG client.

    In a thread of its own: playwright's sync API keeps an event loop running in this one.
    """
    context = Context(hub=hub, principal=enterprise_client(enterprise_id))
    with ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(
            asyncio.run, schema.execute(ESG, {"id": enterprise_id}, context_value=context)
        ).result()
    assert not result.errors, result.errors
    assert result.data is not None
    report: dict[str, Any] = result.data["enterprise"]["esgReport"]
    return report


def test_a_citizen_approves_revokes_and_verifies_a_receipt_in_a_real_browser(
    chromium: Path,  # noqa: F811 - the imported fixture
    live: tuple[str, Hub],
    make_person: Callable[..., str],
    make_enterprise: Callable[..., str],
    make_citizen: Callable[..., Citizen],
    post: Callable[..., Any],
    tmp_path: Path,
) -> None:
    from playwright.sync_api import sync_playwright

    base, hub = live
    enterprise_id = make_enterprise()
    colleagues = [make_person(employer=enterprise_id) for _ in range(3)]
    me = make_citizen("zhang.min")
    with write_session(hub.engine) as session:
        employ(
            session,
            person_id=me.account.person_id,
            enterprise_id=enterprise_id,
            since=date(2023, 1, 1),
        )
    bike = {"km": "4", "duration_s": 1200}
    post([event(p, "transport.bike_share", "2023-07-03 00:30", **bike) for p in colleagues])
    post([event(me.account.person_id, "transport.bike_share", "2023-07-04 00:30", **bike)])
    ask_employees(hub, enterprise_id, ("transport", "food"))
    before = esg_report(hub, enterprise_id)
    assert before["participants"] == 3

    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium),
            headless=True,
            args=["--no-sandbox"] if os.geteuid() == 0 else [],
        )
        try:
            context = browser.new_context(accept_downloads=True, locale="en-GB")
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on(
                "response",
                lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
            )

            page.goto(f"{base}/consent/")
            page.wait_for_url(f"{base}/account/login?next=%2Fconsent%2F")
            page.fill("#username", "zhang.min")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/consent/")

            # Approve the employer's request, sharing transport but not food.
            request = page.get_by_role("article", name="京绿科技有限公司 asks for ESG reporting")
            request.get_by_role("checkbox", name="Food").uncheck()
            request.get_by_role("button", name="Approve sharing the ticked categories").click()
            page.wait_for_url(f"{base}/consent/?done=approved")
            assert "You approved the request" in page.inner_text("[role=status]")
            shared = esg_report(hub, enterprise_id)
            assert shared["participants"] == 4
            assert Decimal(shared["totalReductionKg"]) > Decimal(before["totalReductionKg"])

            # Revoke it: a link to a confirmation page, then one button.
            page.get_by_role("link", name="Revoke the consent given to 京绿科技有限公司").click()
            page.get_by_role("button", name="Yes, revoke it").click()
            page.wait_for_url(f"{base}/consent/?done=revoked")
            assert "✕ Revoked" in page.inner_text("#ended ~ article")
            revoked = esg_report(hub, enterprise_id)
            assert revoked == before

            # Download the newest receipt and verify it on the hub's verify page.
            page.click("text=Receipts")
            page.wait_for_url(f"{base}/consent/receipts")
            with page.expect_download() as download_info:
                page.locator("a[href$='.jws']").first.click()
            saved = tmp_path / "receipt.jws"
            download_info.value.save_as(saved)
            receipt = saved.read_text()
            assert receipt.count(".") == 2
            page.goto(f"{base}/receipts/verify")
            page.fill("#receipt", receipt)
            page.get_by_role("button", name="Verify the receipt").click()
            page.wait_for_url(f"{base}/receipts/verify")
            assert "Valid: issued by this hub" in page.inner_text("[role=status]")
            assert '"type": "revoked"' in page.inner_text("pre.claims")

            # The page reads well on a phone: nothing wider than the screen.
            page.set_viewport_size({"width": 360, "height": 740})
            page.goto(f"{base}/consent/")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 360
        finally:
            browser.close()
    assert problems == []
