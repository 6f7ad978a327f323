"""GreenMiles cafés push own-cup purchases of their loyalty members to carbonhub.

GreenMiles is a fictional coffee chain. A member who brings their own cup earns a
``use.own_cup`` behaviour. The chain's backend pushes purchases as they happen::

    POST <hub>/connectors/greenmiles/events
    X-Carbonhub-Timestamp: 1688346720
    X-Carbonhub-Signature: sha256=<HMAC-SHA256 of "<timestamp>.<body>" with the signing secret>

    {"purchases": [{"purchase_id": "GM-0017-000042", "member_id": "M-1001",
                    "bought_at": "2023-07-03T08:12:00+08:00", "own_cup": true}]}

Citizens link their GreenMiles membership through GreenMiles' OAuth server (``oauth()``), which
is how the hub knows whose ``member_id`` a purchase is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import httpx
from carbonhub.connectors.base import (
    ConnectorInfo,
    InvalidPush,
    Normalized,
    Page,
    ProviderAccount,
    ProviderConfig,
    ProviderEvent,
    ProviderOAuth,
    PushRequest,
    RecordRejection,
)
from carbonhub.connectors.records import BadRecord, instant, malformed, reject_location, text
from carbonhub.connectors.signing import verify_signature

ID = "purchase_id"
ACCOUNT = "member_id"


class GreenMilesConfig(ProviderConfig):
    """The ``[greenmiles]`` table of the hub's connectors file.

    ``base_url`` (GreenMiles' API root), ``client_id``/``client_secret`` (the hub's client at
    GreenMiles' OAuth server) and ``signing_secret`` (the key GreenMiles signs pushes with) come
    from :class:`ProviderConfig`; the OAuth scope is GreenMiles' own setting.
    """

    scope: str = "purchases:read"


class GreenMilesConnector:
    """Verifies GreenMiles' signed pushes and turns own-cup purchases into provider events."""

    info = ConnectorInfo(
        slug="greenmiles",
        name="GreenMiles cafés",
        version="0.1.0",
        behaviours=frozenset({"use.own_cup"}),
        categories=frozenset({"use"}),
        pull=False,
        push=True,
        config_model=GreenMilesConfig,
        description="Own-cup purchases of GreenMiles loyalty members, pushed by GreenMiles.",
    )

    def __init__(self, config: GreenMilesConfig, http: httpx.AsyncClient) -> None:
        self.config = config

    def oauth(self) -> ProviderOAuth | None:
        """GreenMiles' OAuth endpoints: citizens link their membership there."""
        root = self.config.base_url.rstrip("/")
        return ProviderOAuth(f"{root}/oauth/authorize", f"{root}/oauth/token", self.config.scope)

    async def fetch(self, account: ProviderAccount, cursor: str | None) -> Page:
        """Not supported: GreenMiles pushes its purchases."""
        raise NotImplementedError("GreenMiles pushes its purchases; there is nothing to fetch")

    def verify(self, request: PushRequest) -> list[Mapping[str, Any]]:
        """The purchases of a signed push ``{"purchases": [...]}``, or InvalidPush.

        The hub puts the configured ``signing_secret`` into ``request.secret``.
        """
        verify_signature(request)
        try:
            body = json.loads(request.body)
        except ValueError:  # also a body that is not UTF-8
            raise InvalidPush("the push body is not JSON") from None
        purchases = body.get("purchases") if isinstance(body, dict) else None
        if not isinstance(purchases, list) or not all(isinstance(p, dict) for p in purchases):
            raise InvalidPush('the push body must be {"purchases": [<purchase object>, ...]}')
        return purchases

    def normalize(self, record: Mapping[str, Any]) -> Normalized:
        """An own-cup purchase as a ``use.own_cup`` event, or why not (never raises)."""
        if not isinstance(record, Mapping):
            return malformed(record, "", ID, ACCOUNT)
        located = reject_location(record, ID, ACCOUNT)
        if located is not None:
            return located
        try:
            purchase_id, member_id = text(record, ID), text(record, ACCOUNT)
            bought_at = instant(record, "bought_at")
            own_cup = record.get("own_cup")
            if not isinstance(own_cup, bool):
                raise BadRecord("own_cup must be true or false")
        except BadRecord as exc:
            return malformed(record, str(exc), ID, ACCOUNT)
        if not own_cup:
            return RecordRejection(
                "not_green", "the drink was served in a disposable cup", purchase_id, member_id
            )
        return ProviderEvent(
            external_id=purchase_id,
            account=member_id,
            behaviour="use.own_cup",
            occurred_at=bought_at,
            measures={"cup": Decimal(1)},
        )
