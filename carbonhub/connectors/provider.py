"""What every connector to an OAuth-protected JSON API shares; the built-ins subclass it.

A subclass declares its ``info``, the OAuth ``scope`` it asks for, the record fields holding the
record's id and the provider's account id, and (for push) the key of the record list in a push
body; it writes ``fetch`` and ``read`` (one record, already known to be an object). This class
gives it the constructor, ``oauth``, a signed-JSON ``verify`` and a ``normalize`` that refuses
location data first and turns any unreadable record into a ``malformed`` rejection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

import httpx

from carbonhub.connectors.base import (
    ConnectorInfo,
    InvalidPush,
    Normalized,
    Page,
    ProviderAccount,
    ProviderConfig,
    ProviderOAuth,
    PushRequest,
    RecordRejection,
)
from carbonhub.connectors.records import (
    BadRecord,
    location_fields,
    malformed,
    reject_location,
)
from carbonhub.connectors.signing import verify_signature

UNREADABLE = (ArithmeticError, LookupError, TypeError, ValueError, RecursionError)


class ProviderConnector:
    """The shared half of a pull (and optionally push) connector to a provider's API."""

    info: ClassVar[ConnectorInfo]
    scope: ClassVar[str]  # what carbonhub asks the provider's OAuth for
    id_field: ClassVar[str]  # the record's own id
    account_field: ClassVar[str]  # the provider's id of the account the record is about
    push_list: ClassVar[str | None] = None  # the key of a push body's record list; None: no push
    push_item: ClassVar[str] = "record"  # what one pushed record is called, in error messages

    def __init__(self, config: ProviderConfig, http: httpx.AsyncClient) -> None:
        self.config = config
        self.http = http
        self.base_url = config.base_url.rstrip("/")

    def oauth(self) -> ProviderOAuth:
        """The provider's OAuth endpoints (under its base URL) and the scope carbonhub asks for."""
        return ProviderOAuth(
            authorize_url=f"{self.base_url}/oauth/authorize",
            token_url=f"{self.base_url}/oauth/token",
            scope=self.scope,
        )

    async def fetch(self, account: ProviderAccount, cursor: str | None) -> Page:
        """The page after ``cursor``: the provider's own API shape, written by the subclass."""
        raise NotImplementedError

    def verify(self, request: PushRequest) -> list[Mapping[str, Any]]:
        """The records of a signed push ``{<push_list>: [...]}`` (InvalidPush when unacceptable)."""
        if self.push_list is None:
            raise NotImplementedError(f"the {self.info.slug} connector is pull-only")
        secret = self.config.signing_secret
        if not request.secret and secret is not None:
            request = replace(request, secret=secret.get_secret_value().encode())
        verify_signature(request)
        try:
            body = json.loads(request.body)
        except (UnicodeDecodeError, ValueError):
            raise InvalidPush("the push body is not JSON") from None
        items = body.get(self.push_list) if isinstance(body, dict) else None
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise InvalidPush(
                f'the push body must be {{"{self.push_list}": [<{self.push_item} object>, ...]}}'
            )
        return list(items)

    def normalize(self, record: Mapping[str, Any]) -> Normalized:
        """The record as an event, or why not; location data is refused before anything is read,
        and no input makes it raise."""
        ids = (self.id_field, self.account_field)
        try:
            located = self._location(record)
            if located is not None:
                return located
            if not isinstance(record, Mapping):
                return malformed(record, "", *ids)
            return self.read(record)
        except BadRecord as exc:
            return malformed(record, str(exc), *ids)
        except UNREADABLE as exc:
            return malformed(record, f"unreadable record ({type(exc).__name__})", *ids)

    def read(self, record: Mapping[str, Any]) -> Normalized:
        """One record (an object) as an event or a rejection; raises BadRecord when unreadable."""
        raise NotImplementedError

    def _location(self, record: Any) -> RecordRejection | None:
        if isinstance(record, Mapping):
            return reject_location(record, self.id_field, self.account_field)
        if location_fields(record):
            return RecordRejection("location_data", "the record carries location data")
        return None


def page_records(items: Sequence[Any]) -> tuple[Mapping[str, Any], ...]:
    """A page's records; an entry that is not an object is kept (as ``{"record": value}``) so
    that normalisation rejects it as malformed instead of it being dropped unseen."""
    return tuple(r if isinstance(r, Mapping) else {"record": r} for r in items)
