"""A sync killed with SIGKILL at random points resumes from its last committed cursor: the
final ledger is exactly the one an uninterrupted sync produces, nothing lost, nothing twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from carbonhub.db import read_session
from carbonhub.hub import open_hub
from carbonhub.ledger import verify_ledger
from carbonhub.models import LinkedAccount
from carbonhub.settings import Settings
from tests.connectors.hub.conftest import ledger_of, sync

BOTH = ("bikeshare", "transit")
SYNC = [sys.executable, "-c", "from carbonhub.cli import main; main()", "sync"]


def by_account(hub) -> dict:
    """The ledger with each person replaced by their bikeshare account (comparable across hubs)."""
    with read_session(hub.engine) as session:
        number = {
            a.person_id: a.subject[1:]
            for a in session.scalars(select(LinkedAccount))
            if a.connector == "bikeshare"
        }
    return {key: (number[value[0]], *value[1:]) for key, value in ledger_of(hub).items()}


def test_given_a_sync_killed_at_random_points_then_resuming_gives_the_uninterrupted_ledger(
    hub, providers, linked, tmp_path: Path
):
    running = providers(BOTH, latency_ms=60, page_size=2)
    linked(running.connectors(hub), 5, BOTH)
    config = tmp_path / "connectors.toml"
    config.write_text(running.toml(), encoding="utf-8")
    env = {
        **os.environ,
        "CARBONHUB_DATABASE_URL": hub.settings.database_url,
        "CARBONHUB_CONNECTORS_FILE": str(config),
        "CARBONHUB_CONNECTORS": ",".join(BOTH),
        "CARBONHUB_SYNC_CONCURRENCY": "1",
    }
    rng = random.Random(20231)
    kills = 0
    for _ in range(5):
        process = subprocess.Popen(
            SYNC, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(rng.uniform(1.0, 3.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    finished = subprocess.run(SYNC, env=env, capture_output=True, text=True, timeout=300)

    reference = open_hub(Settings(database_url=f"sqlite:///{tmp_path / 'reference.db'}"))
    try:
        linked(running.connectors(reference), 5, BOTH, make=_registrar(reference))
        sync(running.connectors(reference))
        expected = by_account(reference)
    finally:
        reference.engine.dispose()
    assert kills >= 2, "the sync finished before it could be killed: make it slower"
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert verify_ledger(hub.engine).problem is None
    assert by_account(hub) == expected


def _registrar(hub):
    from carbonhub.actors import register_person
    from carbonhub.db import write_session

    def make(**_: object) -> str:
        from datetime import date

        with write_session(hub.engine) as session:
            return register_person(session, home_region_code="110108", since=date(2023, 1, 1)).id

    return make
