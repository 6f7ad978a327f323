"""What every provider simulator shares: accounts, cached histories, token checks, faults, JSON.

A provider module declares a :class:`ProviderSpec` (its account letter, scope, record fields and
history generator) and its data endpoints; :class:`Simulator` gives those endpoints the account
behind a bearer token (401/429/5xx as switched), the records visible now, and the page as sent.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from carbonhub.connectors.simulators.faults import Breakage, Faults
from carbonhub.connectors.simulators.history import History, Record, account_rng, build_history
from carbonhub.connectors.simulators.oauth import OAuthServer
from carbonhub.connectors.simulators.options import SimulatorOptions

Generator = Callable[[random.Random, str, SimulatorOptions], list[tuple[float, Record]]]


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One simulated provider.

    Attributes:
        slug, name: the provider (and the connector reading it).
        letter: the first letter of its account ids (``B000001``).
        scope: the OAuth scope carbonhub asks for.
        breakage: how its records are made malformed (the fault switch).
        generate: ``(rng, account, options) -> [(visible_at, record)]``; the id field is filled in.
    """

    slug: str
    name: str
    letter: str
    scope: str
    breakage: Breakage
    generate: Generator


class BadParameter(ValueError):
    """A query parameter or body field out of its range (answered 400)."""


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON answer serialised by orjson (the data endpoints' hot path)."""
    return Response(orjson.dumps(body), status, dict(headers or {}), "application/json")


def bad_request(message: str) -> Response:
    """A 400 naming what was wrong with the request."""
    return json_response({"error": "invalid_request", "error_description": message}, 400)


def int_param(
    value: Any, name: str, default: int, low: int, high: int | None = None, *, strict: bool = False
) -> int:
    """An integer parameter within [low, high], or its default when absent.

    Query parameters arrive as text; with ``strict`` (JSON bodies) only a JSON integer will do.
    """
    if value is None or (value == "" and not strict):
        return default
    if isinstance(value, bool | float) or (strict and not isinstance(value, int)):
        raise BadParameter(f"{name} must be an integer")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadParameter(f"{name} must be an integer") from None
    if number < low or (high is not None and number > high):
        upper = "" if high is None else f"..{high}"
        raise BadParameter(f"{name} must be in {low}{upper}")
    return number


class Simulator:
    """The state of one running simulator: options, OAuth, faults and the histories generated so far."""

    def __init__(self, spec: ProviderSpec, options: SimulatorOptions) -> None:
        self.spec = spec
        self.options = options
        rng = random.Random(f"{options.seed}:{spec.slug}:faults")  # noqa: S311  (simulated faults)
        self.faults = Faults(options, rng)
        self.oauth = OAuthServer(
            options,
            self.faults,
            provider_name=spec.name,
            scope=spec.scope,
            is_account=self.is_account,
        )
        self.histories: dict[str, History] = {}

    def is_account(self, account: str) -> bool:
        """Whether ``account`` is one of the simulator's accounts (``<letter><n:06d>``, 1 <= n <= N)."""
        letter, digits = account[:1], account[1:]
        return (
            letter == self.spec.letter
            and len(digits) == 6
            and digits.isascii()
            and digits.isdigit()
            and 1 <= int(digits) <= self.options.accounts
        )

    def history(self, account: str) -> History:
        """The account's whole history, generated on first use and kept."""
        history = self.histories.get(account)
        if history is None:
            rng = account_rng(self.options, self.spec.slug, account)
            dated = self.spec.generate(rng, account, self.options)
            history = build_history(dated, account, self.spec.breakage.id_field)
            self.histories[account] = history
        return history

    def visible(self, account: str) -> tuple[Sequence[Record], int]:
        """The account's records and how many of them (a prefix) may be served now."""
        history = self.history(account)
        return history.records, history.visible(self.options.clock())

    async def admit(self, request: Request) -> str | Response:
        """The account behind the request's bearer token, or the 401/429/5xx to answer instead."""
        await self.faults.delay()
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        account = self.oauth.account_of(token.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            body = {
                "error": "invalid_token",
                "error_description": "missing, unknown or expired token",
            }
            return json_response(body, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return self.faults.throttled(token.strip()) or self.faults.failure() or account

    def sent(self, records: Sequence[Record]) -> list[Record]:
        """A page's real records as the provider sends them (faults applied)."""
        return self.faults.garble(records, self.spec.breakage)

    def app(self, routes: Sequence[BaseRoute]) -> Starlette:
        """The simulator's ASGI app: OAuth, health and the provider's data endpoints."""

        async def health(request: Request) -> Response:
            return json_response({"status": "ok", "provider": self.spec.slug})

        app = Starlette(routes=[*self.oauth.routes(), Route("/healthz", health), *routes])
        app.state.simulator = self
        return app
