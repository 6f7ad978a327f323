"""What the GraphQL fuzzer draws and what every answer must look like.

Arbitrary values find nothing: ``person(id: "x")`` stops at NOT_FOUND and the resolvers below
it never run. So three argument values in four are ones the hub knows: a drawn ``"@known:N"``
becomes the Nth (cyclically) of the values that argument takes (:data:`KNOWN`, by field and
argument name: region codes for ``code``, methodologies for ``methodology``, periods for
``period`` ...). The world's ids are random, so those values are roles (``"@resident"``) that
:func:`addressed` replaces with the ids of the world at hand when the operation is posted: a
failing operation printed by Hypothesis replays on any world.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib.metadata import entry_points
from typing import Any, TypeVar

import graphql
from hypothesis import strategies as st
from hypothesis_graphql import nodes
from starlette.testclient import TestClient

from carbonhub.aggregates import PURPOSES
from carbonhub.auth.clients import create_client
from carbonhub.auth.scopes import KIND_SCOPES, ClientKind
from carbonhub.auth.tokens import issue_access_token
from carbonhub.db import write_session
from carbonhub.hub import Hub
from carbonhub.methodology.registry import packaged_registry
from carbonhub.models import AccessToken, OAuthGrant, utcnow
from carbonhub.schema import schema
from carbonhub.schema.cost import operation_cost
from carbonhub.schema.errors import PARSE_FAILED
from carbonhub.schema.limits import TOO_EXPENSIVE, VALIDATION_FAILED, measure
from carbonhub.settings import Settings

GRAPHQL_SCHEMA = schema._schema  # the executable schema: its directives are defined
T = TypeVar("T")

# --- what the fuzzer draws ---------------------------------------------------------------

RESIDENTS = ("@resident", "@unemployed", "@chaoyang")
ROLES = (*RESIDENTS, "@employer", "@consent", "@request", "@entry", "@dispute")
"""Placeholders for the world's ids: an employed Haidian resident sharing everything (the
citizen of the token tests), an unemployed one, a Chaoyang resident, their employer, the
resident's first consent, the employer's consent request to its employees, the resident's
first ledger entry and their dispute of another one."""

_REGISTRY = packaged_registry()
REGION_CODES = ("110000", "110108", "110105", "120000", "310000")
METHODOLOGIES = tuple(m.id for m in _REGISTRY.all()) + tuple(m.key for m in _REGISTRY.all())
CONNECTORS = tuple(sorted(e.name for e in entry_points(group="carbonhub.connectors")))
CATEGORIES = tuple(c.code for c in _REGISTRY.catalogue.categories)
BEHAVIOURS = tuple(b.code for b in _REGISTRY.catalogue.behaviours)
PERIODS = ("2023", "2023-Q3", "2023-07", "2023-07-03", "2023-W27", "2024-01")
ROW_IDS = tuple(map(str, range(1, 13)))  # ledger entries, disputes, sync runs
KNOWN: dict[str, tuple[str | None, ...]] = {
    # by field.argument, then by argument
    "person.id": RESIDENTS,
    "enterprise.id": ("@employer",),
    "methodology.id": METHODOLOGIES,
    "revokeConsent.id": ("@consent",),
    "terminateConsent.id": ("@consent",),
    "answerConsentRequest.id": ("@request",),
    "resolveDispute.id": ("@dispute", *ROW_IDS),
    "reverseLedgerEntry.id": ("@entry", *ROW_IDS),
    "entryId": ("@entry", *ROW_IDS),
    "after": (None,),  # the first page: cursors are opaque
    "code": REGION_CODES,
    "methodology": METHODOLOGIES,
    "methodologies": METHODOLOGIES,
    "enterpriseId": ("@employer",),
    "recipientId": ("@employer", "110000"),
    "connector": CONNECTORS,
    "source": CONNECTORS,
    "id": ROW_IDS,
    "period": PERIODS,
    "categories": CATEGORIES,
    "purpose": tuple(PURPOSES.values()),
    "language": ("zh-CN", "en"),
    "reason": ("implausible", "malformed", "duplicate", "I walked that day"),
    "reward": ("bus ticket",),
}
"""The values the hub knows, for each argument that takes some (None: null)."""
ANY_KNOWN = tuple(dict.fromkeys(v for values in KNOWN.values() for v in values if v))
_DRAWN = "@known:"
TODAY = utcnow().date()  # the hub's clock is the real one: consents expire after it


def mostly(known: st.SearchStrategy[T], anything: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Three draws in four from ``known``, the fourth from ``anything``."""
    return st.one_of(known, known, known, anything)


def _literal(value: Any) -> graphql.ValueNode:
    """A JSON value as a GraphQL literal (what a client writes for a ``JSON`` argument)."""
    if isinstance(value, dict):
        return nodes.Object(
            [
                graphql.ObjectFieldNode(name=graphql.NameNode(value=k), value=_literal(v))
                for k, v in value.items()
            ]
        )
    if isinstance(value, list):
        return nodes.List([_literal(v) for v in value])
    if isinstance(value, bool):
        return nodes.Boolean(value)
    if isinstance(value, int):
        return nodes.Int(value)
    if value is None:
        return nodes.Null
    return nodes.String(value)


_NAMES = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz_"), min_size=1, max_size=8)
# a behaviour record as connectors deliver it, or any small JSON object
RECORDS = st.one_of(
    st.fixed_dictionaries(
        {
            "external_id": st.text(max_size=6),
            "person_id": st.sampled_from(RESIDENTS),
            "behaviour": st.sampled_from(BEHAVIOURS),
            "occurred_at": st.sampled_from(("2023-07-03T08:30:00+08:00", "2023-13-01", "")),
        },
        optional={"km": st.sampled_from(("4", "-1", "1e9", "x")), "order": st.integers(-1, 3)},
    ),
    st.dictionaries(_NAMES, st.one_of(st.integers(), st.text(max_size=5), st.none()), max_size=3),
)
_KNOWN_STRING = st.integers(0, 63).map(lambda n: f"{_DRAWN}{n}")

SCALARS: dict[str, st.SearchStrategy[graphql.ValueNode]] = {
    "ID": mostly(_KNOWN_STRING, st.text(max_size=12)).map(nodes.String),
    "String": mostly(_KNOWN_STRING, st.text(max_size=20)).map(nodes.String),
    "Int": mostly(st.integers(1, 12), st.integers(-(2**31), 2**31 - 1)).map(nodes.Int),
    # the world's events are in July 2023
    "Date": mostly(st.dates(date(2023, 6, 1), date(2023, 8, 31)), st.dates()).map(nodes.String),
    "DateTime": mostly(
        st.integers(1, 400).map(
            lambda days: datetime.combine(TODAY, time(), UTC) + timedelta(days)
        ),
        st.datetimes(timezones=st.just(UTC)),
    )
    .map(datetime.isoformat)
    .map(nodes.String),
    "Decimal": st.decimals(Decimal(-1000), Decimal(100_000), places=3).map(nodes.String),
    "JSON": RECORDS.map(_literal),
}
"""Strategies of literals for the input scalars, the built-in ones included."""


class _KnownValues(graphql.Visitor):
    """Replaces each drawn ``"@known:N"`` with a value its argument takes."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []
        self.argument = ""

    def enter_field(self, node: graphql.FieldNode, *_: Any) -> None:
        self.fields.append(node.name.value)

    def leave_field(self, *_: Any) -> None:
        self.fields.pop()

    def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> None:
        self.argument = node.name.value

    def enter_string_value(self, node: graphql.StringValueNode, *_: Any) -> Any:
        if not node.value.startswith(_DRAWN):
            return None
        values = (
            KNOWN.get(f"{self.fields[-1]}.{self.argument}") or KNOWN.get(self.argument) or ANY_KNOWN
        )
        value = values[int(node.value.removeprefix(_DRAWN)) % len(values)]
        return nodes.Null if value is None else nodes.String(value)


def printed(document: graphql.DocumentNode) -> str:
    """The generated operation as a client would send it, known values in place."""
    return graphql.print_ast(graphql.visit(document, _KnownValues()))


def addressed(operation: str, ids: Mapping[str, str]) -> str:
    """``operation`` with each role placeholder replaced by the world's id for that role."""
    for role, value in ids.items():
        operation = operation.replace(f'"{role}"', graphql.print_ast(nodes.String(value)))
    return operation


# --- what every answer must look like ----------------------------------------------------

# graphql-core 3.3 drops the coroutines of a list's items it had not started when a sibling
# non-null field fails (e.g. `{ region(code: "") { name } regions { children { name } } }`):
# no work ran in them, but Python warns when they are collected. Known, upstream, harmless:
# everything else left behind fails the test.
NEVER_STARTED = "was never awaited"
# the TestClient's future of the app's task, and the task's own cancellation
CANCELLED = (concurrent.futures.CancelledError, asyncio.CancelledError)


@contextmanager
def unraisable() -> Iterator[list[str]]:
    """What Python could not raise inside the block (a coroutine never awaited ...), collected
    at its end.

    A full collection walks every object the process holds: ~0.1 s here, up to seconds late
    in the whole suite, which was most of the fuzzer's time. The survivors of the collection
    are frozen (:func:`gc.freeze`), so the next block's collection walks only what that block
    made; :func:`frozen_heap` gives them back to the collector.
    """
    seen: list[str] = []
    previous = sys.unraisablehook
    sys.unraisablehook = lambda raised: seen.append(f"{raised.exc_value!r} in {raised.object!r}")
    try:
        yield seen
        gc.collect()
        gc.freeze()
    finally:
        sys.unraisablehook = previous


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze the heap around the block; at its end collect everything again and fail on
    anything left behind that no single operation's collection could reach."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        with unraisable() as left_behind:
            gc.unfreeze()  # the collection at the end walks every object again
        gc.unfreeze()
    assert [u for u in left_behind if NEVER_STARTED not in u] == []


def exceeded_limits(operation: str, settings: Settings) -> set[str | None]:
    """The codes of the refusals ``operation`` gets for going over the limits of ``settings``
    (a parse error, as a refusal for too many tokens is, has none). Measured as the hub
    measures: its limit rules and its price list are tested on their own."""
    try:
        document = graphql.parse(operation, max_tokens=settings.graphql_max_tokens)
    except graphql.GraphQLSyntaxError:
        return {None}
    exceeded: set[str | None] = set()
    for definition, shape in measure(document):
        if (
            shape.depth > settings.graphql_max_depth
            or shape.aliases > settings.graphql_max_aliases
            or shape.root_fields > settings.graphql_max_root_fields
        ):
            exceeded.add(VALIDATION_FAILED)
        elif operation_cost(GRAPHQL_SCHEMA, document, definition) > settings.graphql_max_cost:
            exceeded.add(TOO_EXPENSIVE)
    return exceeded


def posted(
    client: TestClient, operation: str, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The body of the answer to ``operation``, which must never be a 500 or a traceback, and
    must leave no work behind (a resolver's coroutine never awaited)."""
    with unraisable() as left_behind:
        try:
            response = client.post("/graphql", json={"query": operation}, headers=headers)
        except CANCELLED as exc:  # a server answers 500 when the app's task dies unanswered
            raise AssertionError(f"the app was cancelled before answering: {operation}") from exc
    assert [u for u in left_behind if NEVER_STARTED not in u] == [], operation
    assert response.status_code < 500, (operation, response.text)
    assert "Traceback" not in response.text, operation
    body: dict[str, Any] = response.json()
    assert "data" in body or "errors" in body, (operation, body)
    return body


def codes(body: dict[str, Any]) -> set[str | None]:
    """The codes of the answer's errors (None: an error without one)."""
    return {(error.get("extensions") or {}).get("code") for error in body.get("errors") or []}


def assert_answered(body: dict[str, Any], operation: str, settings: Settings) -> None:
    """The answer to a valid operation: over a limit of ``settings``, refused unrun with that
    limit's code; within every limit, data or GraphQL errors, each with a code, none an
    internal error nor a limit's."""
    exceeded = exceeded_limits(operation, settings)
    if exceeded:
        assert_refused(body, operation)
        assert exceeded <= codes(body), (operation, exceeded, body)
    else:
        assert not codes(body) & {
            None,
            "INTERNAL_SERVER_ERROR",
            VALIDATION_FAILED,
            TOO_EXPENSIVE,
        }, (
            operation,
            body,
        )


def assert_refused(body: dict[str, Any], operation: str) -> None:
    """The answer to an operation refused before it runs: no data, errors without a path, each
    with the code of a refusal: GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED (graphql-core's
    own rules and the hub's limits) or COST_ESTIMATED_TOO_EXPENSIVE."""
    assert body.get("data") is None, (operation, body)
    assert body["errors"], (operation, body)
    assert not any("path" in error for error in body["errors"]), (operation, body)
    assert codes(body) <= {PARSE_FAILED, VALIDATION_FAILED, TOO_EXPENSIVE}, (operation, body)


def citizen_bearer(hub: Hub, person_id: str) -> dict[str, str]:
    """Headers of a request by ``person_id`` through an app client with every citizen scope:
    the token an authorisation code would have given (it lives ``access_token_minutes``)."""
    scope = " ".join(sorted(KIND_SCOPES[ClientKind.APP]))
    now = utcnow()
    with write_session(hub.engine) as session:
        client = create_client(
            session, kind=ClientKind.APP, name="fuzzer", redirect_uris=("https://app.example/cb",)
        )
        session.add(
            OAuthGrant(
                id="grant_fuzz", client_id=client.client_id, person_id=person_id, scope=scope
            )
        )
        session.flush()
        issued = issue_access_token(
            hub.keys,
            hub.settings,
            client_id=client.client_id,
            subject=person_id,
            scope=scope,
            now=now,
        )
        session.add(
            AccessToken(
                jti=issued.jti,
                grant_id="grant_fuzz",
                issued_at=now,
                expires_at=issued.expires_at,
            )
        )
    return {"Authorization": f"Bearer {issued.token}"}
