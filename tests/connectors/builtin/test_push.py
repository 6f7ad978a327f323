"""Signed pushes to the push-capable connectors (takeaway, logistics); the others only pull."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from carbonhub.connectors.base import InvalidPush, PushRequest
from carbonhub.connectors.signing import signed_headers
from tests.connectors.builtin.samples import ORDER, WAYBILL
from tests.connectors.builtin.support import PUSH_SECRET, offline

NOW = datetime(2023, 7, 1, 12, tzinfo=UTC)
PUSHES = {"takeaway": {"orders": [ORDER]}, "logistics": {"items": [WAYBILL]}}


def push(body: bytes, *, secret: bytes = PUSH_SECRET, sent: datetime = NOW) -> PushRequest:
    """A push as the hub receives it (header names lower-cased), signed with ``secret``."""
    headers = {name.lower(): value for name, value in signed_headers(secret, body, sent).items()}
    return PushRequest(headers=headers, body=body, received_at=NOW, secret=PUSH_SECRET)


@pytest.mark.parametrize("provider", sorted(PUSHES))
def test_a_signed_push_gives_its_records(provider: str) -> None:
    body = json.dumps(PUSHES[provider]).encode()

    records = offline(provider).verify(push(body))

    assert records == next(iter(PUSHES[provider].values()))


@pytest.mark.parametrize("provider", sorted(PUSHES))
def test_the_connectors_own_secret_is_used_when_the_push_carries_none(provider: str) -> None:
    body = json.dumps(PUSHES[provider]).encode()
    request = push(body)
    bare = PushRequest(request.headers, request.body, request.received_at)

    assert offline(provider).verify(bare)


@pytest.mark.parametrize("provider", sorted(PUSHES))
def test_a_push_signed_with_another_secret_is_invalid(provider: str) -> None:
    body = json.dumps(PUSHES[provider]).encode()

    with pytest.raises(InvalidPush, match="signature"):
        offline(provider).verify(push(body, secret=b"guessed"))


@pytest.mark.parametrize("provider", sorted(PUSHES))
def test_a_replayed_old_push_is_invalid(provider: str) -> None:
    body = json.dumps(PUSHES[provider]).encode()

    with pytest.raises(InvalidPush, match="clock"):
        offline(provider).verify(push(body, sent=NOW - timedelta(hours=1)))


@pytest.mark.parametrize("provider", sorted(PUSHES))
@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"records": []}',
        b'{"orders": 1, "items": 1}',
        b'{"orders": [1], "items": [1]}',
    ],
)
def test_a_signed_push_with_an_unreadable_body_is_invalid(provider: str, body: bytes) -> None:
    with pytest.raises(InvalidPush):
        offline(provider).verify(push(body))


@pytest.mark.parametrize("provider", ["bikeshare", "transit"])
def test_a_pull_only_connector_does_not_take_pushes(provider: str) -> None:
    with pytest.raises(NotImplementedError):
        offline(provider).verify(push(b"{}"))
