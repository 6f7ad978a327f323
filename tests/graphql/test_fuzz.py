"""Fuzzing the whole schema with hypothesis-graphql over HTTP: every generated query and mutation
is answered with data or GraphQL errors, never a 500, a traceback or an internal error; one
over a limit is refused unrun, one within every limit is never refused for one.

The callers: the developer principal of a development hub (every scope: queries reach every
resolver, mutations the operator's), a citizen with a token (``me`` and the citizen's own
mutations), nobody in production (every protected field refused); and queries with one schema
violation, which validation refuses. :mod:`tests.graphql.fuzzing` says what is drawn: mostly
ids, periods and categories the hub knows, so that resolvers run, and arbitrary values.

By default 2,750 operations: 1,000 developer queries, 500 developer mutations, 500 citizen
operations, 500 anonymous production queries and 250 invalid queries, on SQLite (the
database-specific suites cover PostgreSQL): about 30 s on the 2-core CI machine, shared, ~10 ms
an operation, most of it generating the operation and running its resolvers. (It was 0.1 s
alone and 0.7 s late in the whole suite: the full garbage collection that catches a coroutine
left behind walked the whole heap after each operation; it now walks only what the operation
made, see ``fuzzing.unraisable``.)
``CARBONHUB_FUZZ_EXAMPLES`` sets the number of developer queries (the others scale with it)
for a nightly-style run: ``CARBONHUB_FUZZ_EXAMPLES=20000 .venv/bin/pytest
tests/graphql/test_fuzz.py``. Hypothesis's CI profile (``CI`` set) derandomises the run, so a
red CI replays locally with ``CI=true``; add ``--hypothesis-seed=N`` to explore elsewhere.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema, mutations, queries
from sqlmodel import col, select
from starlette.testclient import TestClient

from carbonhub.app import create_app
from carbonhub.db import write_session
from carbonhub.hub import Hub, open_hub
from carbonhub.ledger.disputes import open_dispute
from carbonhub.models import ConsentGrant, LedgerEntry, utcnow
from carbonhub.settings import Settings
from tests.graphql.conftest import World
from tests.graphql.fuzzing import (
    GRAPHQL_SCHEMA,
    SCALARS,
    addressed,
    assert_answered,
    assert_refused,
    citizen_bearer,
    frozen_heap,
    posted,
    printed,
)

EXAMPLES = int(os.environ.get("CARBONHUB_FUZZ_EXAMPLES", "1000"))
# Root fields the fuzzer leaves out: federation's entry points take representations that need
# a typename and key fields (the federation tests send them), and a citizen's data erasure
# would empty the world under the next examples.
SKIPPED_ROOTS = {"_entities", "eraseMyData"}
QUERY_ROOTS = [f for f in GRAPHQL_SCHEMA.query_type.fields if f not in SKIPPED_ROOTS]  # type: ignore[union-attr]
MUTATION_ROOTS = [f for f in GRAPHQL_SCHEMA.mutation_type.fields if f not in SKIPPED_ROOTS]  # type: ignore[union-attr]
# The rate limits would answer most of a run with 429 (their own tests cover them); a citizen's
# token lives as long as it may, for long runs.
FUZZING = {
    "rate_limit_per_ip": "1000000/minute",
    "rate_limit_per_client": "1000000/minute",
    "access_token_minutes": 60,
}


def operations(
    kind: Callable[..., st.SearchStrategy[str]], roots: list[str], **options: Any
) -> st.SearchStrategy[str]:
    """Operations of ``kind`` (hypothesis-graphql's ``queries``, ``mutations``...): half of
    them select among all ``roots``, half one root field only, so that an error in one root
    field (null up to ``data``) does not hide what the others would have answered."""

    def of(fields: list[str]) -> st.SearchStrategy[str]:
        return kind(
            GRAPHQL_SCHEMA, fields=fields, custom_scalars=SCALARS, print_ast=printed, **options
        )

    one_root = {root: of([root]) for root in roots}
    return st.one_of(of(roots), st.sampled_from(roots).flatmap(one_root.__getitem__))


def fuzzed(examples: int) -> settings:
    """Hypothesis settings of a fuzzing test: no deadline, and no "too slow" health check (a
    shared machine's pauses are not the hub's); the fixtures are built once per test, not per
    example, by design (the world is read-mostly, and the mutation that would empty it is
    skipped). Every phase stays: shrinking and explaining run only after a failure, and turn
    it into a minimal operation to report. The database and the seed are the profile's (see
    the module)."""
    return settings(
        max_examples=max(1, examples),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


ON_SQLITE = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
# The never-awaited coroutines graphql-core drops (see fuzzing.NEVER_STARTED) reach pytest too.
fuzzing = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


class Caller:
    """One caller of one app: posts operations with the world's ids in place of the roles."""

    def __init__(
        self, client: TestClient, settings: Settings, ids: dict[str, str], headers: dict[str, str]
    ) -> None:
        self.client = client
        self.settings = settings
        self.ids = ids
        self.headers = headers

    def post(self, operation: str) -> tuple[str, dict[str, Any]]:
        """The operation as sent (roles replaced) and the body of its answer."""
        sent = addressed(operation, self.ids)
        return sent, posted(self.client, sent, self.headers)

    def answers(self, operation: str) -> None:
        sent, body = self.post(operation)
        assert_answered(body, sent, self.settings)

    def refuses(self, operation: str) -> None:
        sent, body = self.post(operation)
        assert_refused(body, sent)


@pytest.fixture(autouse=True)
def _frozen_heap() -> Iterator[None]:
    with frozen_heap():
        yield


@pytest.fixture
def ids(hub: Hub, world: World) -> dict[str, str]:
    """The world's id for each role of :data:`tests.graphql.fuzzing.ROLES`."""
    resident = world.employees[0]
    now = utcnow()
    with write_session(hub.engine) as session:
        request = hub.consents().request(
            session,
            enterprise_id=world.employer,
            client_id=None,
            categories=("transport",),
            data_from=date(2023, 1, 1),
            data_to=date(2023, 12, 31),
            consent_expires_at=now + timedelta(days=90),
            now=now,
        )
        consent = session.scalars(
            select(ConsentGrant.id)
            .where(col(ConsentGrant.person_id) == resident)
            .order_by(col(ConsentGrant.kind), col(ConsentGrant.purpose))
        ).first()
        entries = session.scalars(
            select(LedgerEntry.id)
            .where(col(LedgerEntry.person_id) == resident)
            .order_by(col(LedgerEntry.seq))
        ).all()
        dispute = open_dispute(
            session, person_id=resident, entry_id=entries[1], reason="not me", now=now
        )
    assert consent is not None
    return {
        "@resident": resident,
        "@unemployed": world.haidian[3],
        "@chaoyang": world.chaoyang[0],
        "@employer": world.employer,
        "@consent": consent,
        "@request": request.id,
        "@entry": str(entries[0]),
        "@dispute": str(dispute.id),
    }


def serving(
    hub: Hub, ids: dict[str, str], env: str = "development", citizen: str | None = None
) -> Iterator[Caller]:
    """A caller of an app in ``env`` on ``hub``'s database: anonymous, or the ``citizen`` role
    with a token."""
    served = open_hub(
        hub.settings.model_copy(update={"env": env, **FUZZING}), engine=hub.engine, upgrade=False
    )
    headers = {} if citizen is None else citizen_bearer(served, ids[citizen])
    with TestClient(create_app(hub=served), base_url="https://testserver") as client:
        yield Caller(client, served.settings, ids, headers)


@pytest.fixture
def developer(hub: Hub, ids: dict[str, str]) -> Iterator[Caller]:
    """The development app's anonymous caller: the developer principal, every scope."""
    yield from serving(hub, ids)


@pytest.fixture
def citizen(hub: Hub, ids: dict[str, str]) -> Iterator[Caller]:
    """The employed Haidian resident, with a token of an app holding every citizen scope."""
    for citizen in serving(hub, ids, citizen="@resident"):
        _, body = citizen.post("{ me { id } }")
        assert body == {"data": {"me": {"id": ids["@resident"]}}}, body  # the token works
        yield citizen


@pytest.fixture
def nobody_in_production(hub: Hub, ids: dict[str, str]) -> Iterator[Caller]:
    yield from serving(hub, ids, env="production")


@ON_SQLITE
@fuzzing
@fuzzed(EXAMPLES)
@given(operation=operations(queries, QUERY_ROOTS))
def test_given_any_valid_query_when_a_developer_posts_it_then_it_is_answered(
    developer: Caller, operation: str
) -> None:
    developer.answers(operation)


@ON_SQLITE
@fuzzing
@fuzzed(EXAMPLES // 2)
@given(operation=operations(mutations, MUTATION_ROOTS))
def test_given_any_valid_mutation_when_a_developer_posts_it_then_it_is_answered(
    developer: Caller, operation: str
) -> None:
    developer.answers(operation)


@ON_SQLITE
@fuzzing
@fuzzed(EXAMPLES // 2)
@given(operation=operations(from_schema, QUERY_ROOTS + MUTATION_ROOTS))
def test_given_any_valid_operation_when_a_citizen_posts_it_with_a_token_then_it_is_answered(
    citizen: Caller, operation: str
) -> None:
    citizen.answers(operation)


@ON_SQLITE
@fuzzing
@fuzzed(EXAMPLES // 2)
@given(operation=operations(queries, QUERY_ROOTS))
def test_given_any_valid_query_in_production_without_a_token_then_it_is_answered(
    nobody_in_production: Caller, operation: str
) -> None:
    nobody_in_production.answers(operation)


@ON_SQLITE
@fuzzing
@fuzzed(EXAMPLES // 4)
@given(
    operation=queries(
        GRAPHQL_SCHEMA,
        fields=QUERY_ROOTS,
        custom_scalars=SCALARS,
        print_ast=printed,
        mode=Mode.NEGATIVE,
    )
)
def test_given_a_query_with_one_schema_violation_when_posted_then_validation_refuses_it(
    developer: Caller, operation: str
) -> None:
    developer.refuses(operation)


# Found by this fuzzer (shrunk by Hypothesis from a production query without a token): when a
# field fails, graphql-core cancels its pending siblings, and cancelling a resolver that awaits a
# DataLoader future cancels the future itself, under every other resolver awaiting the same key.
# Here the malformed period fails a `report` while `parent` and `regions.children` await the
# region loader's future for 110000: the CancelledError escapes the execution and the app's task
# dies unanswered (HTTP 500 under a server), every time.
SHARED_LOAD = (
    '{ region(code: "110000") { children { parent { name } } }'
    ' regions { children { name } report(period: "bad") { entries } } }'
)


@ON_SQLITE
def test_given_a_failing_field_beside_siblings_sharing_a_loaded_key_then_it_is_answered(
    developer: Caller,
) -> None:
    _, body = developer.post(SHARED_LOAD)

    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}, body
