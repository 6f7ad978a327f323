"""Signed pushes: HMAC-SHA256 over ``<timestamp>.<body>`` with a replay window.

Providers send ``X-Carbonhub-Timestamp`` (Unix seconds) and ``X-Carbonhub-Signature:
sha256=<hex>``. The hub refuses a push whose timestamp is further than the window from its own
clock, so a captured request cannot be replayed later (within the window a replay only repeats
events, which posting ignores as duplicates).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from carbonhub.connectors.base import InvalidPush, PushRequest

TIMESTAMP_HEADER = "x-carbonhub-timestamp"
SIGNATURE_HEADER = "x-carbonhub-signature"
REPLAY_WINDOW_S = 300


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``sha256=<hex>`` signature of a push body sent at ``timestamp``."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: bytes, body: bytes, now: datetime) -> dict[str, str]:
    """The headers a provider sends with ``body`` (used by simulators, tests and examples)."""
    timestamp = int(now.timestamp())
    return {
        "X-Carbonhub-Timestamp": str(timestamp),
        "X-Carbonhub-Signature": signature(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def verify_signature(request: PushRequest, *, window_s: int | None = None) -> None:
    """Raise :class:`InvalidPush` unless the push is signed with its secret inside the window
    (``window_s``, by default the hub's, carried by the request)."""
    window_s = request.window_s if window_s is None else window_s
    if not request.secret:
        raise InvalidPush("this connector has no signing secret configured")
    raw_timestamp = request.headers.get(TIMESTAMP_HEADER)
    given = request.headers.get(SIGNATURE_HEADER)
    if raw_timestamp is None or given is None:
        raise InvalidPush(f"the push lacks the {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    try:
        timestamp = int(raw_timestamp)
    except ValueError:
        raise InvalidPush(f"{TIMESTAMP_HEADER} must be Unix seconds") from None
    skew = abs(request.received_at.timestamp() - timestamp)
    if skew > window_s:
        raise InvalidPush(
            f"the push is {int(skew)} s away from the hub's clock (window {window_s} s)"
        )
    expected = signature(request.secret, timestamp, request.body)
    if not hmac.compare_digest(expected.encode(), given.strip().encode()):
        raise InvalidPush("the signature does not match the body")
