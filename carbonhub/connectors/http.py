"""Talking to a provider's API: one JSON request, its failures mapped onto the runner's errors."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import orjson

from carbonhub.connectors.base import (
    ProviderRefused,
    ProviderUnavailable,
    RateLimited,
    TokenExpired,
)

MAX_RETRY_AFTER_S = 300.0


async def request_json(
    http: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    token: str | None = None,
    timeout_s: float = 10.0,
    **kwargs: Any,
) -> Any:
    """Send one request and return its JSON body; failures become ``ProviderError`` subclasses.

    Timeouts, connection errors and 5xx are retryable (``ProviderUnavailable``), 429 carries its
    ``Retry-After`` (``RateLimited``), 401 asks for a token refresh (``TokenExpired``); any other
    non-2xx answer or a body that is not JSON is ``ProviderRefused``.
    """
    headers = dict(kwargs.pop("headers", None) or {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    try:
        response = await http.request(method, url, headers=headers, timeout=timeout_s, **kwargs)
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable(f"{method} {url}: timed out") from exc
    except httpx.TransportError as exc:
        raise ProviderUnavailable(f"{method} {url}: {type(exc).__name__} {exc}") from exc
    status = response.status_code
    if status == 429:
        raise RateLimited(f"{method} {url}: 429 rate limited", retry_after(response))
    if status >= 500:
        raise ProviderUnavailable(f"{method} {url}: HTTP {status}")
    if status == 401:
        raise TokenExpired(f"{method} {url}: 401 {response.text[:200]}")
    if status >= 400:
        raise ProviderRefused(f"{method} {url}: HTTP {status} {response.text[:200]}")
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError as exc:
        raise ProviderRefused(f"{method} {url}: the answer is not JSON") from exc


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), capped."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = (moment - datetime.now(UTC)).total_seconds()
    return max(0.0, min(seconds, MAX_RETRY_AFTER_S))
