"""Federation ``_entities`` batches of 500 keys over HTTP against the raw SQL of the same lookup.

What a router sends when a supergraph query needs carbonhub's fields for many objects found in
another subgraph: one ``_entities`` request with a list of representations. Measured per entity
type on a fresh database (PostgreSQL by default) with ``--keys`` (500) keys:

* **Person**: ``--keys`` registered citizens, asked for by an operator client (``admin``: the
  only callers who may resolve persons other than themselves); every read is written to the
  access log, as the root field's are.
* **Enterprise**: ``--keys`` registered enterprises (public registry data).
* **Region**: ``--keys`` references cycling over every region the hub knows (about 60), as a
  router sends them for many enterprises' or persons' regions.

The stack: ``create_app`` served by uvicorn on 127.0.0.1, the operator's ES256 bearer token
from ``POST /oauth/token`` (client credentials), production settings, rate limits off. The
baseline: the same lookup as one SQL statement (``SELECT ... WHERE key IN (...)``) on the same
engine, rows fetched. Printed: medians of ``--repeat`` runs, the ratio, and the statements the
stack ran per request (a DataLoader makes each type one query). Nothing is asserted.

Run::

    .venv/bin/python -m bench.entities
    .venv/bin/python -m bench.entities --backend sqlite --keys 500 --repeat 15
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
from rich.console import Console
from sqlalchemy import Engine, select
from sqlmodel import col

from bench.common import (
    Bearer,
    base_parser,
    chosen_backends,
    counting,
    environment,
    fmt_seconds,
    free_port,
    fresh_database,
    keep_alive_client,
    median,
    served_settings,
    server_version,
    serving,
    stopwatch,
    table,
    write_results,
)
from carbonhub.actors.directory import register_enterprise, register_person
from carbonhub.actors.uscc import complete_uscc
from carbonhub.app import create_app
from carbonhub.auth.clients import create_client
from carbonhub.auth.scopes import ClientKind
from carbonhub.db import write_session
from carbonhub.hub import Hub, open_hub
from carbonhub.models import Enterprise, Person, Region

console = Console()
DISTRICTS = ("110101", "110105", "110108", "310104", "120101")

ENTITIES = """query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on Person { id }
    ... on Enterprise { id name uscc }
    ... on Region { code nameZh nameEn level }
  }
}"""


@dataclass(frozen=True)
class Lookup:
    """One entity type: its representations and the raw SQL of the same lookup."""

    name: str
    representations: list[dict[str, str]]
    raw: Callable[[], int]


def populate(hub: Hub, keys: int) -> tuple[list[str], list[str]]:
    """Register ``keys`` persons and ``keys`` enterprises; returns their ids."""
    with write_session(hub.engine) as session:
        persons = [
            register_person(
                session, home_region_code=DISTRICTS[i % len(DISTRICTS)], since=date(2023, 1, 1)
            ).id
            for i in range(keys)
        ]
        enterprises = [
            register_enterprise(
                session,
                name=f"绿色企业{i}",
                uscc=complete_uscc("91110108", f"{20_000_000 + i}"),
                region_code="110108",
            ).id
            for i in range(keys)
        ]
    return persons, enterprises


def raw_lookup(engine: Engine, statement: Any) -> Callable[[], int]:
    """The baseline: run ``statement`` and fetch its rows; returns the row count."""

    def run() -> int:
        with engine.connect() as connection:
            return len(connection.execute(statement).fetchall())

    return run


def lookups(hub: Hub, persons: list[str], enterprises: list[str], keys: int) -> list[Lookup]:
    """The three batches and their raw SQL."""
    codes = list(itertools.islice(itertools.cycle(hub.regions.codes()), keys))
    return [
        Lookup(
            "Person",
            [{"__typename": "Person", "id": p} for p in persons],
            raw_lookup(hub.engine, select(col(Person.id)).where(col(Person.id).in_(persons))),
        ),
        Lookup(
            "Enterprise",
            [{"__typename": "Enterprise", "id": e} for e in enterprises],
            raw_lookup(
                hub.engine,
                select(col(Enterprise.id), col(Enterprise.name), col(Enterprise.uscc)).where(
                    col(Enterprise.id).in_(enterprises)
                ),
            ),
        ),
        Lookup(
            "Region",
            [{"__typename": "Region", "code": c} for c in codes],
            raw_lookup(
                hub.engine,
                select(
                    col(Region.code), col(Region.name_zh), col(Region.name_en), col(Region.level)
                ).where(col(Region.code).in_(codes)),
            ),
        ),
    ]


def measure(
    http: httpx.Client, headers: dict[str, str], hub: Hub, lookup: Lookup, repeat: int
) -> dict[str, Any]:
    """Median latency of the ``_entities`` request and of the raw SQL, alternating."""
    payload = {"query": ENTITIES, "variables": {"representations": lookup.representations}}
    stack: list[float] = []
    raw: list[float] = []
    statements: list[int] = []
    for _ in range(repeat + 1):  # the first round warms caches and is dropped
        with counting(hub.engine) as count, stopwatch() as elapsed:
            body = http.post("/graphql", json=payload, headers=headers).json()
        if body.get("errors") or len(body["data"]["_entities"]) != len(lookup.representations):
            raise SystemExit(f"{lookup.name}: unexpected answer {str(body)[:300]}")
        stack.append(elapsed())
        statements.append(count[0])
        with stopwatch() as elapsed:
            rows = lookup.raw()
        raw.append(elapsed())
    return {
        "type": lookup.name,
        "keys": len(lookup.representations),
        "raw_rows": rows,
        "stack_median_s": median(stack[1:]),
        "raw_median_s": median(raw[1:]),
        "ratio": median(stack[1:]) / median(raw[1:]),
        "statements_per_request": median(statements[1:]),
    }


def run_backend(backend: str, args: Any) -> dict[str, Any]:
    """Populate a fresh database of ``backend`` and measure the three batches."""
    with fresh_database(backend, args.postgres_url) as db:
        persons, enterprises = populate(db.hub, args.keys)
        port = free_port()
        settings = served_settings(db.url, port)
        hub = open_hub(settings, upgrade=False)
        try:
            with write_session(hub.engine) as session:
                operator = create_client(session, kind=ClientKind.OPERATOR, name="bench operator")
            app = create_app(settings, hub=hub, scheduler=False)
            with serving(app, port) as base_url, keep_alive_client(base_url, 120) as http:
                headers = Bearer(http, operator).headers()
                rows = [
                    measure(http, headers, hub, lookup, args.repeat)
                    for lookup in lookups(hub, persons, enterprises, args.keys)
                ]
            version = server_version(hub.engine)
        finally:
            hub.engine.dispose()
    return {"backend": backend, "server": version, "batches": rows}


def print_results(results: Sequence[dict[str, Any]]) -> None:
    for result in results:
        console.print(
            table(
                f"_entities over HTTP vs raw SQL, {result['server']}",
                ["type", "keys", "stack", "raw SQL", "ratio", "statements"],
                [
                    [
                        r["type"],
                        r["keys"],
                        fmt_seconds(r["stack_median_s"]),
                        fmt_seconds(r["raw_median_s"]),
                        f"{r['ratio']:.1f}×",
                        f"{r['statements_per_request']:.0f}",
                    ]
                    for r in result["batches"]
                ],
            )
        )


def main() -> int:
    parser = base_parser(__doc__.splitlines()[0], default_repeat=9)
    parser.set_defaults(backend="postgresql")
    parser.add_argument("--keys", type=int, default=500, help="representations per batch")
    args = parser.parse_args()
    started = environment()
    results = [run_backend(backend, args) for backend in chosen_backends(args)]
    print_results(results)
    path = write_results(
        args.results_dir,
        "entities",
        {"environment": started, "keys": args.keys, "repeat": args.repeat, "results": results},
    )
    console.print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
