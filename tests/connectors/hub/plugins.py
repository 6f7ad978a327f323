"""Small connector plugins for testing the hub's side (registry, ingest, push) in isolation.

``CupConnector`` is a complete push-only plugin of a fictional cup-refill provider; the other
names are deliberately broken plugins the registry must refuse.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import httpx

from carbonhub.connectors import (
    ConnectorInfo,
    InvalidPush,
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


class CupConfig(ProviderConfig):
    base_url: str = "http://127.0.0.1:1"


class CupConnector:
    """Refills of one's own cup, pushed by the provider as ``{"refills": [...]}``."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        slug="cups",
        name="Cup refills",
        version="1.0.0",
        behaviours=frozenset({"use.own_cup"}),
        categories=frozenset({"use"}),
        pull=False,
        push=True,
        config_model=CupConfig,
    )

    def __init__(self, config: CupConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http

    def oauth(self) -> ProviderOAuth | None:
        return None

    async def fetch(self, account: ProviderAccount, cursor: str | None) -> Page:
        raise NotImplementedError("cups only pushes")

    def verify(self, request: PushRequest) -> list[Mapping[str, Any]]:
        verify_signature(request)
        try:
            body = json.loads(request.body)
            refills = body["refills"]
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidPush(f"the body is not a refill list: {exc}") from exc
        if not isinstance(refills, list):
            raise InvalidPush("refills must be a list")
        return refills

    def normalize(self, record: Any) -> ProviderEvent | RecordRejection:
        if not isinstance(record, Mapping):
            return malformed(record, "not an object", "id", "member")
        located = reject_location(record, "id", "member")
        if located is not None:
            return located
        try:
            return ProviderEvent(
                external_id=text(record, "id"),
                account=text(record, "member"),
                behaviour=str(record.get("behaviour", "use.own_cup")),
                occurred_at=instant(record, "at"),
                measures={"cup": Decimal(1)},
            )
        except BadRecord as exc:
            return malformed(record, str(exc), "id", "member")


class RaisingConnector(CupConnector):
    """A buggy plugin whose normalize raises."""

    info: ClassVar[ConnectorInfo] = ConnectorInfo(
        slug="raising",
        name="Raises",
        version="1.0.0",
        behaviours=frozenset({"use.own_cup"}),
        categories=frozenset({"use"}),
        pull=False,
        push=True,
        config_model=CupConfig,
    )

    def normalize(self, record: Any) -> ProviderEvent | RecordRejection:
        raise KeyError("boom")


class NoInfo:
    """Not a plugin: it declares nothing."""


BAD_SLUG = ConnectorInfo(
    slug="Bad Slug!",
    name="bad",
    version="1",
    behaviours=frozenset(),
    categories=frozenset(),
    pull=False,
    push=False,
)


class BadSlugConnector(CupConnector):
    info: ClassVar[ConnectorInfo] = BAD_SLUG
