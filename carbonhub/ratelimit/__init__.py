"""Rate limits per client IP and per OAuth client, answered with HTTP 429 and ``Retry-After``.

:class:`RateLimitMiddleware` wraps the whole app (``create_app``) and applies
:class:`~carbonhub.ratelimit.policy.RateLimitPolicy`, built from the ``rate_limit_*`` settings,
with the ``limits`` library's moving window: exact, with no burst of twice the rate across a
window boundary as a fixed window allows.

What is limited
    * Per client IP: every request to ``/graphql`` (WebSocket handshakes included),
      ``/oauth/*``, ``/reports/*``, ``/account/*`` and ``/consent/*`` (``rate_limit_per_ip``). A
      POST to the token endpoint or the login form also spends the stricter
      ``rate_limit_token_endpoint`` of the IP: the guard against guessing passwords and secrets.
    * Per OAuth client (``rate_limit_per_client``): requests with a bearer token, keyed by the
      token's ``client_id`` and, for a citizen's token (``sub`` is a person, not the client), by
      client and citizen, so that one app's citizens do not share one budget; and token
      requests, keyed by the client id of the Basic credentials or of the form.
    * Never ``/healthz`` and ``/readyz`` (probes must see the process as it is), nor providers'
      signed pushes, the JWKS and the server metadata.

The answer is 429 with ``Retry-After`` (whole seconds, at least 1) and a JSON body shaped like
the endpoint's own errors: ``{"errors": [{"message", "extensions": {"code": "RATE_LIMITED",
"retryAfter"}}]}`` for ``/graphql`` and ``/reports/*``, OAuth's ``{"error": "rate_limited",
"error_description", "retry_after"}`` elsewhere. A refused WebSocket handshake is closed (1008).

The client IP is the ASGI peer. ``X-Forwarded-For`` is believed only when the peer is in
``rate_limit_trusted_proxies``, walking it from the right past trusted proxies to the first
address that is not one. An IPv6 client is keyed by its /64, which one subscriber gets whole
and could otherwise rotate through.

Why the per-client key comes from the token's *unverified* claims. Verifying belongs to the
endpoints (``Authenticated`` for ``/graphql``, the report routes, authlib at the token
endpoint) and costs a signature check and a database read: doing it here would do it twice,
and a check placed after ``Authenticated`` would cover ``/graphql`` only. Reading ``client_id``
and ``sub`` costs a base64 and a JSON decode. Anyone can write any claims into a forged token,
so the client's bucket is only *tested* before the request and *charged* after it, when the
endpoint did not answer 401: a forged or revoked token, or a wrong client secret, never spends
the bucket of the client it names (it spends the sender's per-IP buckets), while a client over
its limit is refused before any work is done. The price: requests already in flight when a
client runs out can overshoot its limit by their number. A public client has no secret, so
anyone can name it at the token endpoint; there only the per-IP limits protect its bucket.

Counters live in this process by default (each replica counts alone) or, when ``redis_url`` is
set, in Redis, shared by every replica (:mod:`carbonhub.ratelimit.counters`). When Redis does
not answer the limiter **fails open**: requests pass unlimited, one warning is logged per
outage, and Redis is asked again after :data:`RETRY_STORAGE_AFTER_S` (not on every request, so
that an outage does not add a connection timeout to each one). The limits protect capacity,
not data: tokens, passwords, consents and access policy are checked whatever happens here, and
failing closed would turn a Redis outage into an outage of the whole API.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from limits.errors import StorageError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from carbonhub.ratelimit.counters import Bucket, open_counters
from carbonhub.ratelimit.policy import RateLimitPolicy
from carbonhub.settings import Settings

logger = logging.getLogger(__name__)

GRAPHQL_SHAPED = ("/graphql", "/reports/")  # errors as {"errors": [{"message", "extensions"}]}
RETRY_STORAGE_AFTER_S = 5.0


class RateLimitMiddleware:
    """ASGI middleware refusing requests over their limits (see the package docstring)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.enabled = settings.rate_limit_enabled
        self.policy = RateLimitPolicy(settings)
        self.counters = open_counters(settings.redis_url)
        self._paused_until = 0.0  # storage unreachable: limits are off until then
        self._outage = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._closing(send))
            return
        if (
            not self.enabled
            or not self.policy.covers(scope["path"])
            or time.monotonic() < self._paused_until
        ):
            await self.app(scope, receive, send)
            return
        client: Bucket | None = None
        try:
            retry_after = await self._ip_refusal(scope)
            if retry_after is None and scope["type"] == "http":
                client, receive = await self.policy.client_of(scope, receive)
                if client is not None:
                    retry_after = await self._retry_after(client, only_if_spent=True)
            self._answering()
        except StorageError as exc:
            self._pause(exc)
            client, retry_after = None, None
        if retry_after is not None:
            await _too_many_requests(scope, receive, send, retry_after)
        elif client is None:
            await self.app(scope, receive, send)
        else:
            await self._charged_after(client, scope, receive, send)

    async def _charged_after(
        self, client: Bucket, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Serve the request, then charge ``client`` unless the endpoint answered 401."""
        statuses: list[int] = []

        async def send_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        await self.app(scope, receive, send_status)
        if statuses and statuses[0] != 401:
            try:
                await self.counters.hit(client)
            except StorageError as exc:
                self._pause(exc)

    def _closing(self, send: Send) -> Send:
        """``send`` of the lifespan, closing the counters' connections as the app shuts down."""

        async def send_closing(message: Message) -> None:
            if message["type"] in {"lifespan.shutdown.complete", "lifespan.shutdown.failed"}:
                await self.counters.close()
            await send(message)

        return send_closing

    async def _ip_refusal(self, scope: Scope) -> int | None:
        """Spend the caller's per-IP buckets; seconds to wait when one is spent, else None."""
        for bucket in self.policy.ip_buckets(scope, self.policy.client_ip(scope)):
            if not await self.counters.hit(bucket):
                return await self._retry_after(bucket)
        return None

    async def _retry_after(self, bucket: Bucket, *, only_if_spent: bool = False) -> int | None:
        """Whole seconds until ``bucket`` has room again (>= 1); None if it has room now."""
        stats = await self.counters.stats(bucket)
        if only_if_spent and stats.remaining > 0:
            return None
        wait = math.ceil(stats.reset_time - time.time())
        return min(max(wait, 1), bucket.rate.get_expiry())

    def _answering(self) -> None:
        if self._outage:
            self._outage = False
            logger.warning("rate limits are on again: their storage answers")

    def _pause(self, exc: StorageError) -> None:
        """Fail open: no limits for RETRY_STORAGE_AFTER_S; warn once per outage."""
        self._paused_until = time.monotonic() + RETRY_STORAGE_AFTER_S
        if not self._outage:
            self._outage = True
            logger.warning(
                "rate limits are off: their storage does not answer (%s); requests pass "
                "unlimited, retrying every %.0f s",
                exc.storage_error,
                RETRY_STORAGE_AFTER_S,
            )


async def _too_many_requests(scope: Scope, receive: Receive, send: Send, retry_after: int) -> None:
    """Refuse: 429 shaped like the errors of the endpoint asked; a WebSocket handshake is closed."""
    message = f"rate limit exceeded: try again in {retry_after} s"
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 1008, "reason": message})
        return
    body: dict[str, Any]
    if scope["path"].startswith(GRAPHQL_SHAPED):
        extensions = {"code": "RATE_LIMITED", "retryAfter": retry_after}
        body = {"errors": [{"message": message, "extensions": extensions}]}
    else:
        body = {"error": "rate_limited", "error_description": message, "retry_after": retry_after}
    headers = {"retry-after": str(retry_after), "cache-control": "no-store"}
    await JSONResponse(body, status_code=429, headers=headers)(scope, receive, send)


__all__ = ["RateLimitMiddleware", "RateLimitPolicy"]
