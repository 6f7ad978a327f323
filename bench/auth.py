"""Token verification cost: a trivial GraphQL query over HTTP with a bearer token, against the
same query without one, on the same server in the same run.

What it measures: carbonhub is served by uvicorn with 2 worker processes (``bench.workers``:
uvicorn's supervisor on a listener that keeps TCP_NODELAY, see there; production settings) on 127.0.0.1 over a fresh SQLite database (or
a private PostgreSQL schema with ``--backend postgresql``). An agency client is registered and
gets an access token through ``/oauth/token`` (client credentials). Then ``{ regions { code } }``
(public reference data, so both variants get the same answer) is POSTed ``--requests`` times
per round from one keep-alive HTTP client, once without ``Authorization`` and once with
``Authorization: Bearer <token>``, alternating the two in ``--rounds`` rounds so that machine
drift hits both. With the token every request verifies the ES256 signature, the claims, and
reads the token's grant and client from the database (revocation takes effect at once).

Printed: the median and p90 latency of each variant, and the ratio authenticated / anonymous
of the medians.

Run::

    .venv/bin/python -m bench.auth
    .venv/bin/python -m bench.auth --backend postgresql --requests 500 --rounds 6
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console

from bench.common import (
    DEFAULT_POSTGRES_URL,
    RESULTS_DIR,
    environment,
    fresh_database,
    median,
    table,
    write_results,
)
from carbonhub.auth.clients import create_client
from carbonhub.auth.scopes import ClientKind
from carbonhub.db import write_session
from carbonhub.hub import open_hub
from carbonhub.settings import Settings

QUERY = "{ regions { code } }"
console = Console()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "bench.workers", "--port", str(port), "--workers", "2"]
    server = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("uvicorn did not come up within 60 s")


def _timed(client: httpx.Client, headers: dict[str, str], count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.post("/graphql", json={"query": QUERY}, headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200 or "errors" in response.json():
            raise RuntimeError(f"unexpected answer {response.status_code}: {response.text[:200]}")
    return latencies


def run(backend: str, requests: int, rounds: int, postgres_url: str) -> dict[str, Any]:
    """Serve, get a token, time both variants; returns the figures."""
    port = _free_port()
    with fresh_database(backend, postgres_url) as db:
        settings = Settings(
            database_url=db.url, env="production", public_url=f"http://127.0.0.1:{port}"
        )
        hub = open_hub(settings, engine=db.engine, upgrade=False)
        hub.keys.load()
        with write_session(hub.engine) as session:
            agency = create_client(
                session, kind=ClientKind.AGENCY, name="bench", region_code="110000"
            )
        env = {
            **os.environ,
            "CARBONHUB_DATABASE_URL": db.url,
            "CARBONHUB_ENV": "production",
            "CARBONHUB_PUBLIC_URL": settings.public_url,
            "CARBONHUB_RATE_LIMIT_ENABLED": "false",  # thousands of requests from one address
        }
        server = _serve(env, port)
        try:
            # TCP_NODELAY on the client side too: a POST's headers and body are two segments
            transport = httpx.HTTPTransport(
                socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
            )
            with httpx.Client(
                base_url=settings.public_url, timeout=30, transport=transport
            ) as client:
                token = client.post(
                    "/oauth/token",
                    data={"grant_type": "client_credentials"},
                    auth=(agency.client_id, agency.client_secret or ""),
                ).json()["access_token"]
                bearer = {"Authorization": f"Bearer {token}"}
                _timed(client, {}, 50)  # warm up both workers and caches
                _timed(client, bearer, 50)
                anonymous: list[float] = []
                authenticated: list[float] = []
                for _ in range(rounds):
                    anonymous += _timed(client, {}, requests)
                    authenticated += _timed(client, bearer, requests)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {
        "backend": backend,
        "requests_per_variant": requests * rounds,
        "anonymous_median_ms": median(anonymous) * 1000,
        "anonymous_p90_ms": _percentile(anonymous, 0.9) * 1000,
        "authenticated_median_ms": median(authenticated) * 1000,
        "authenticated_p90_ms": _percentile(authenticated, 0.9) * 1000,
        "ratio": median(authenticated) / median(anonymous),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--requests", type=int, default=400, help="per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args()
    started = environment()
    figures = run(args.backend, args.requests, args.rounds, args.postgres_url)
    console.print(
        table(
            "Token verification: authenticated / anonymous median latency, same query, same run",
            ["backend", "requests", "anonymous ms (p50/p90)", "bearer ms (p50/p90)", "ratio"],
            [
                [
                    figures["backend"],
                    f"{figures['requests_per_variant']:,} each",
                    f"{figures['anonymous_median_ms']:.2f} / {figures['anonymous_p90_ms']:.2f}",
                    f"{figures['authenticated_median_ms']:.2f} / {figures['authenticated_p90_ms']:.2f}",
                    f"{figures['ratio']:.2f}",
                ]
            ],
        )
    )
    path = write_results(
        args.results_dir, "auth", {"environment": started, "arguments": vars(args), **figures}
    )
    console.print(f"results written to {path}")


if __name__ == "__main__":
    main()
