"""OTLP export end to end: ``carbonhub serve`` and ``carbonhub sync`` in subprocesses, pointed at
a real OTLP/HTTP receiver on 127.0.0.1.

Each scenario runs once per module (a subprocess start costs seconds); the tests then look at
what the receiver got, one behaviour each.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from carbonhub.actors import register_person
from carbonhub.auth.clients import create_client
from carbonhub.auth.scopes import ClientKind
from carbonhub.connectors.linking import LinkTerms
from carbonhub.connectors.simulators import SimulatorOptions
from carbonhub.db import read_session, write_session
from carbonhub.demo.providers import account_id, link_simulated, running_providers
from carbonhub.hub import open_hub
from carbonhub.models import LinkedAccount, utcnow
from carbonhub.settings import Settings
from tests.telemetry.conftest import (
    CARBONHUB,
    database_copy,
    exporting_to,
    hub_environment,
    serving,
)
from tests.telemetry.receiver import OtlpReceiver, ReceivedLog, ReceivedSpan

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
REGION_QUERY = """
query RegionTotals {
  region(code: "110000") { name report(period: "2023") { totalReductionKg participants } }
}"""
PERSON_QUERY = "query PersonLookup($id: ID!) { person(id: $id) { id } }"
SERVER, CLIENT = 2, 3  # OTLP span kinds


@dataclass
class Served:
    """What one served scenario sent, and what it must never show."""

    receiver: OtlpReceiver
    log: str
    personal: set[str]


@pytest.fixture(scope="module")
def served(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """An agency's token request and named report query (with a traceparent), and a query with
    a person id as its variable, served by ``carbonhub serve`` exporting to a receiver."""
    directory = tmp_path_factory.mktemp("served")
    url = database_copy(sqlite_template, directory)
    hub = open_hub(Settings(database_url=url), upgrade=False)
    try:
        with write_session(hub.engine) as session:
            person = register_person(session, home_region_code="110108", since=date(2023, 1, 1))
            agency = create_client(
                session, kind=ClientKind.AGENCY, name="Beijing DEE", region_code="110000"
            )
    finally:
        hub.engine.dispose()
    assert agency.client_secret is not None
    receiver = OtlpReceiver()
    try:
        with serving(hub_environment(url, **exporting_to(receiver)), directory) as server:
            token = httpx.post(
                f"{server.url}/oauth/token",
                data={"grant_type": "client_credentials"},
                auth=(agency.client_id, agency.client_secret),
            ).json()["access_token"]
            answer = httpx.post(
                f"{server.url}/graphql?source=dashboard",
                json={"query": REGION_QUERY, "operationName": "RegionTotals"},
                headers={
                    "Authorization": f"Bearer {token}",
                    "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
                },
            )
            assert answer.status_code == 200, answer.text
            assert "errors" not in answer.json(), answer.text
            lookup = httpx.post(
                f"{server.url}/graphql",
                json={"query": PERSON_QUERY, "variables": {"id": person.id}},
            )
            assert lookup.json()["data"]["person"]["id"] == person.id
            assert receiver.wait_for(lambda: bool(receiver.metric_points("http.server.requests")))
            assert receiver.wait_for(lambda: len(_access_lines(receiver)) >= 3)
        yield Served(receiver, server.log(), {person.id, agency.client_id, agency.client_secret})
    finally:
        receiver.close()


def _access_lines(receiver: OtlpReceiver) -> list[ReceivedLog]:
    return [line for line in receiver.logs() if line.logger == "carbonhub.access"]


def test_given_a_served_request_then_its_access_log_line_is_exported_in_its_trace(
    served: Served,
) -> None:
    [line] = [line for line in _access_lines(served.receiver) if line.trace_id == TRACE_ID]
    assert line.body.startswith("POST /graphql 200 ")
    assert line.severity == "INFO"
    [http] = [s for s in _trace(served.receiver.spans(), TRACE_ID) if s.kind == SERVER]
    assert line.span_id == http.span_id


def _trace(spans: list[ReceivedSpan], trace_id: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.trace_id == trace_id]


def test_given_a_traceparent_when_a_request_is_served_then_its_http_span_continues_that_trace(
    served: Served,
) -> None:
    [http] = [s for s in _trace(served.receiver.spans(), TRACE_ID) if s.kind == SERVER]
    assert http.parent_span_id == PARENT_ID
    assert http.name == "POST /graphql"
    assert http.service == "carbonhub"
    assert http.attributes == {
        "http.request.method": "POST",
        "url.path": "/graphql",
        "url.scheme": "http",
        "http.route": "/graphql",
        "http.response.status_code": 200,
    }


def test_given_a_named_operation_when_it_is_served_then_a_graphql_span_names_it_and_the_caller_kind(
    served: Served,
) -> None:
    spans = _trace(served.receiver.spans(), TRACE_ID)
    [http] = [s for s in spans if s.kind == SERVER]
    [operation] = [s for s in spans if s.name.startswith("graphql.")]
    assert operation.name == "graphql.query RegionTotals"
    assert operation.parent_span_id == http.span_id
    assert operation.attributes == {
        "graphql.operation.type": "query",
        "graphql.operation.name": "RegionTotals",
        "carbonhub.principal.kind": "agency",
    }


def test_given_a_served_operation_then_its_sql_spans_are_children_in_the_same_trace(
    served: Served,
) -> None:
    spans = _trace(served.receiver.spans(), TRACE_ID)
    in_trace = {s.span_id for s in spans}
    sql = [s for s in spans if s.kind == CLIENT]
    assert sql
    assert all(s.parent_span_id in in_trace for s in sql)
    assert {s.attributes["db.system"] for s in sql} == {"sqlite"}
    assert "SELECT" in {s.attributes["db.operation.name"] for s in sql}
    assert all(len(s.attributes["db.query.text"]) <= 300 for s in sql)


def test_given_served_requests_then_duration_and_count_metrics_arrive_by_route_and_status(
    served: Served,
) -> None:
    for name in ("http.server.request.duration", "http.server.requests"):
        keys = {
            (a["http.request.method"], a.get("http.route"), a["http.response.status_code"])
            for a in (
                {kv.key: kv.value.string_value or kv.value.int_value for kv in p.attributes}
                for p in served.receiver.metric_points(name)
            )
        }
        assert ("POST", "/graphql", 200) in keys, name
        assert ("POST", "/oauth/token", 200) in keys, name
    [unit] = {m.unit for m in served.receiver.metrics() if m.name == "http.server.request.duration"}
    assert unit == "s"


def test_given_a_served_request_then_its_access_log_line_carries_its_trace_id(
    served: Served,
) -> None:
    lines = [line for line in served.log.splitlines() if "carbonhub.access" in line]
    [line] = [line for line in lines if TRACE_ID in line]
    assert re.search(rf"POST /graphql 200 [\d.]+ms trace_id={TRACE_ID}$", line), line
    assert not any("?" in line for line in lines)  # no query strings
    assert not any("Bearer" in line or "127.0.0.1:" in line for line in lines)


def test_given_served_requests_then_nothing_exported_names_a_person_or_a_client(
    served: Served,
) -> None:
    _assert_nothing_names(served.receiver, served.personal)


def _assert_nothing_names(receiver: OtlpReceiver, personal: set[str]) -> None:
    values = [str(v) for v in receiver.attribute_values()]
    assert values
    leaks = {(secret, v) for v in values for secret in personal if secret in v}
    assert not leaks


# -- a connector sync ---------------------------------------------------------------------------


@dataclass
class Synced:
    receiver: OtlpReceiver
    personal: set[str]


@pytest.fixture(scope="module")
def synced(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    """``carbonhub sync`` of two linked bikeshare accounts (some records malformed) exporting
    to a receiver."""
    directory = tmp_path_factory.mktemp("synced")
    url = database_copy(sqlite_template, directory)
    options = SimulatorOptions(
        accounts=2, start=date(2023, 7, 1), end=date(2023, 7, 10), malformed_rate=0.2
    )
    receiver = OtlpReceiver()
    hub = open_hub(Settings(database_url=url), upgrade=False)
    hub.keys.load()  # the signing key now, not inside a linking transaction
    try:
        with running_providers(options, ("bikeshare",), page_size=20) as running:
            connectors = running.connectors(hub)
            terms = LinkTerms(data_from=date(2023, 1, 1), data_to=date(2024, 12, 31))
            for number in (1, 2):
                with write_session(hub.engine) as session:
                    person = register_person(
                        session, home_region_code="110108", since=date(2023, 1, 1)
                    )
                link_simulated(
                    connectors,
                    person.id,
                    "bikeshare",
                    account_id("bikeshare", number),
                    now=utcnow(),
                    terms=terms,
                )
            with read_session(hub.engine) as session:
                accounts = list(session.scalars(select(LinkedAccount)))
            config = directory / "connectors.toml"
            config.write_text(running.toml(), encoding="utf-8")
            env = hub_environment(
                url,
                CARBONHUB_CONNECTORS="bikeshare",
                CARBONHUB_CONNECTORS_FILE=str(config),
                **exporting_to(receiver),
            )
            done = subprocess.run(
                [CARBONHUB, "sync", "--connector", "bikeshare"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
        assert done.returncode == 0, done.stderr[-3000:]
        personal = {a.person_id for a in accounts} | {a.subject for a in accounts}
        yield Synced(receiver, personal | {a.id for a in accounts})
    finally:
        hub.engine.dispose()
        receiver.close()


def test_given_a_sync_then_a_span_per_run_and_per_account_arrives_with_record_counts(
    synced: Synced,
) -> None:
    spans = synced.receiver.spans()
    [run] = [s for s in spans if s.name == "connector.sync"]
    accounts = [s for s in spans if s.name == "connector.account_sync"]
    assert run.attributes["carbonhub.connectors"] == ["bikeshare"]
    assert run.attributes["carbonhub.sync.accounts"] == 2
    assert len(accounts) == 2
    assert all(a.parent_span_id == run.span_id for a in accounts)
    assert {a.attributes["carbonhub.connector"] for a in accounts} == {"bikeshare"}
    assert {a.attributes["carbonhub.sync.status"] for a in accounts} == {"ok"}
    for key in ("fetched", "posted", "quarantined"):
        total = sum(a.attributes[f"carbonhub.records.{key}"] for a in accounts)
        assert total == run.attributes[f"carbonhub.records.{key}"], key
    assert run.attributes["carbonhub.records.posted"] > 0
    assert run.attributes["carbonhub.records.quarantined"] > 0


def test_given_a_sync_then_its_ledger_batches_are_spans_of_its_trace_with_outcome_counts(
    synced: Synced,
) -> None:
    spans = synced.receiver.spans()
    [run] = [s for s in spans if s.name == "connector.sync"]
    batches = [s for s in spans if s.name == "ledger.post_batch"]
    assert batches
    assert {b.trace_id for b in batches} == {run.trace_id}
    posted = sum(b.attributes["carbonhub.events.posted"] for b in batches)
    assert posted == run.attributes["carbonhub.records.posted"]


def test_given_a_sync_then_the_events_counter_counts_each_outcome_by_source(
    synced: Synced,
) -> None:
    [run] = [s for s in synced.receiver.spans() if s.name == "connector.sync"]
    totals: dict[str, int] = {}
    # cumulative sums: the last export holds the totals
    for point in synced.receiver.metric_points("carbonhub.events"):
        attributes = {kv.key: kv.value.string_value for kv in point.attributes}
        assert attributes["source"] == "bikeshare"
        totals[attributes["outcome"]] = point.as_int
    assert totals["posted"] == run.attributes["carbonhub.records.posted"]
    assert totals["quarantined"] == run.attributes["carbonhub.records.quarantined"]


def test_given_a_sync_then_the_lag_of_each_posted_record_is_recorded(synced: Synced) -> None:
    [run] = [s for s in synced.receiver.spans() if s.name == "connector.sync"]
    points = synced.receiver.metric_points("carbonhub.sync.lag")
    assert points[-1].count == run.attributes["carbonhub.records.posted"]
    assert points[-1].min > 0  # July 2023 is long past


def test_given_a_sync_then_nothing_exported_names_a_person_or_a_provider_account(
    synced: Synced,
) -> None:
    _assert_nothing_names(synced.receiver, synced.personal)


# -- off by default -----------------------------------------------------------------------------


def test_given_no_otlp_endpoint_when_a_request_is_served_then_nothing_is_sent(
    sqlite_template: Path, tmp_path: Path
) -> None:
    url = database_copy(sqlite_template, tmp_path)
    receiver = _receiver_on_the_default_otlp_port()
    try:
        env = hub_environment(url, OTEL_SERVICE_NAME="carbonhub", OTEL_BSP_SCHEDULE_DELAY="100")
        env["OTEL_METRIC_EXPORT_INTERVAL"] = "200"
        with serving(env, tmp_path) as server:
            answer = httpx.post(f"{server.url}/graphql", json={"query": "{ regions { code } }"})
            assert answer.status_code == 200
            assert not receiver.wait_for(lambda: bool(receiver.requests), timeout=1.0)
        assert not receiver.requests
        assert "telemetry: exporting" not in server.log()
    finally:
        receiver.close()


def _receiver_on_the_default_otlp_port() -> OtlpReceiver:
    """A receiver where an exporter without configuration would send (localhost:4318), or on
    any port when that one is taken."""
    try:
        return OtlpReceiver(4318)
    except OSError:
        return OtlpReceiver()
