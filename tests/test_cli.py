"""The carbonhub command: serve, db upgrade, ledger verify, access-log verify, export-schema,
demo."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from carbonhub.cli import main
from carbonhub.consent import access_log
from carbonhub.consent.access_log import log_accesses
from carbonhub.models import utcnow
from tests.consent.test_access_log_chain import RELEASE
from tests.fixtures.actors import event

CARBONHUB = str(Path(sys.executable).with_name("carbonhub"))


@pytest.fixture
def cli():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_the_installed_command_runs():
    done = subprocess.run([CARBONHUB, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("carbonhub, version")


def test_serve_with_an_unreachable_database_exits_with_one_line():
    done = subprocess.run(
        [
            CARBONHUB,
            "serve",
            "--database-url",
            "postgresql://postgres@127.0.0.1:1/nowhere",
            "--port",
            "8999",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert lines[0].startswith("carbonhub: cannot reach the database")
    assert "Traceback" not in done.stderr


def test_serve_on_a_database_from_a_newer_carbonhub_exits_with_one_line(
    cli, settings, unknown_revision
):
    result = CliRunner().invoke(
        main, ["serve", "--database-url", settings.database_url, "--port", "8999"]
    )
    assert result.exit_code == 2
    assert result.output.startswith("carbonhub: cannot migrate")
    assert "0000" in result.output
    assert "Traceback" not in result.output


def test_db_upgrade_is_idempotent(cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    assert cli("db", "upgrade", "--database-url", url).exit_code == 0
    assert cli("db", "upgrade", "--database-url", url).exit_code == 0


def test_ledger_verify_passes_on_an_intact_ledger(cli, settings, make_person, post):
    post([event(make_person(), "transport.bike_share", "2023-07-01 01:00", km="3", duration_s=900)])
    result = cli("ledger", "verify", "--database-url", settings.database_url)
    assert result.exit_code == 0
    assert "all intact" in result.output


def test_ledger_verify_fails_naming_the_edited_entry(cli, settings, hub, make_person, post):
    person = make_person()
    post(
        [
            event(person, "transport.bike_share", f"2023-07-0{d} 01:00", km="3", duration_s=900)
            for d in (1, 2, 3)
        ]
    )
    with hub.engine.begin() as connection:
        connection.execute(
            text("UPDATE ledger_entry SET reduction_mg = reduction_mg * 10 WHERE seq = 2")
        )
        edited = connection.execute(text("SELECT id FROM ledger_entry WHERE seq = 2")).scalar_one()
    result = CliRunner().invoke(main, ["ledger", "verify", "--database-url", settings.database_url])
    assert result.exit_code == 1
    assert f"entry {edited} " in result.output
    assert "edited" in result.output


def test_export_schema_prints_a_federation_subgraph(cli):
    result = cli("export-schema")
    assert result.exit_code == 0
    assert "type Query" in result.output
    assert '@key(fields: "code")' in result.output


def test_demo_builds_once_and_is_reused(cli, settings, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CARBONHUB_PASSWORD_TIME_COST", "1")
    monkeypatch.setenv("CARBONHUB_PASSWORD_MEMORY_KIB", "8")
    first = cli("demo", "--no-serve", "--citizens", "60", "--database-url", settings.database_url)
    assert first.exit_code == 0, first.output
    assert "demo built: 60 citizens, 6 enterprises" in first.output
    credentials = next(
        Path(p)
        for p in (
            tmp_path / "carbonhub-demo.json",
            Path(settings.database_url[10:]).with_name("carbonhub-demo.json"),
        )
        if Path(p).exists()
    )
    document = json.loads(credentials.read_text(encoding="utf-8"))
    assert len(document["citizens"]) == 40
    assert document["citizens"][0]["person_id"].startswith("p_")
    assert all(c["password"] for c in document["citizens"])
    assert {c["enterprise_id"] for c in document["enterprise_clients"]} == {
        e["enterprise_id"] for e in document["enterprises"]
    }
    assert {c["region_code"] for c in document["agency_clients"]} >= {"110000", "310000"}
    assert all(c["client_secret"] for c in document["connector_clients"])
    again = cli("demo", "--no-serve", "--citizens", "60", "--database-url", settings.database_url)
    assert "reusing the demo database" in again.output
    assert json.loads(credentials.read_text(encoding="utf-8")) == document


def test_access_log_verify_passes_on_an_intact_chain(cli, settings, hub, monkeypatch):
    monkeypatch.setattr(access_log, "PAGE", 2)  # walked over two pages
    log_accesses(hub.engine, [RELEASE, RELEASE], at=utcnow())
    log_accesses(hub.engine, [RELEASE], at=utcnow())

    result = cli("access-log", "verify", "--database-url", settings.database_url)

    assert result.exit_code == 0
    assert "3 entries in one chain, all intact" in result.output


def test_access_log_verify_fails_naming_an_entry_chained_twice(cli, settings, hub):
    # given a log forked as concurrent appends could fork it before the head row: the third
    # entry names the first as its predecessor, as the second already does
    log_accesses(hub.engine, [RELEASE, RELEASE, RELEASE], at=utcnow())
    with hub.engine.begin() as connection:
        first, third = connection.execute(
            text("SELECT id, hash FROM access_log ORDER BY id")
        ).all()[::2]
        connection.execute(
            text("UPDATE access_log SET prev_hash = :p WHERE id = :i"),
            {"p": first[1], "i": third[0]},
        )

    result = CliRunner().invoke(
        main, ["access-log", "verify", "--database-url", settings.database_url]
    )

    assert result.exit_code == 1
    assert f"failed at entry {third[0]} (after 2 intact entries)" in result.output


def test_access_log_verify_fails_when_the_head_is_not_the_last_entry(cli, settings, hub):
    log_accesses(hub.engine, [RELEASE, RELEASE], at=utcnow())
    with hub.engine.begin() as connection:
        last = connection.execute(text("SELECT max(id) FROM access_log")).scalar_one()
        connection.execute(text("UPDATE access_log_head SET last_hash = :h"), {"h": "f" * 64})

    result = CliRunner().invoke(
        main, ["access-log", "verify", "--database-url", settings.database_url]
    )

    assert result.exit_code == 1
    assert f"failed at entry {last} " in result.output
