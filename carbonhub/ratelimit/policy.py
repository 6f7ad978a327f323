"""Which buckets a request draws on: the limited paths, the caller's IP, the client it names.

The client is read from the request without verifying anything (see the package docstring for
why that is safe): ``client_id`` and ``sub`` of a bearer JWT's payload, or the client id of a
token request's Basic credentials or form.
"""

from __future__ import annotations

import base64
import binascii
from collections import deque
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TypeGuard
from urllib.parse import parse_qs, quote, unquote

import orjson
from limits import parse
from starlette.types import Message, Receive, Scope

from carbonhub.auth.endpoints import LOGIN_PATH
from carbonhub.ratelimit.counters import Bucket
from carbonhub.settings import Settings

LIMITED_PREFIXES = ("/graphql", "/oauth/", "/reports/", "/account/", "/consent/")
TOKEN_PATH = "/oauth/token"  # noqa: S105  (a path, not a secret)
CREDENTIAL_PATHS = frozenset({TOKEN_PATH, LOGIN_PATH})
MAX_FORM_BYTES = 64 * 1024  # a token request is a few hundred bytes
MAX_ID_LENGTH = 200


class RateLimitPolicy:
    """Which buckets a request draws on, from the ``rate_limit_*`` settings."""

    def __init__(self, settings: Settings) -> None:
        self.per_ip = parse(settings.rate_limit_per_ip)
        self.per_client = parse(settings.rate_limit_per_client)
        self.credentials = parse(settings.rate_limit_token_endpoint)
        self.trusted: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(cidr) for cidr in settings.rate_limit_trusted_proxies.split(",") if cidr
        )

    @staticmethod
    def covers(path: str) -> bool:
        """Whether requests to ``path`` are limited at all."""
        return path.startswith(LIMITED_PREFIXES)

    def ip_buckets(self, scope: Scope, ip: str) -> list[Bucket]:
        """The per-IP buckets a request spends: the credential guard first, then the general one."""
        buckets = [Bucket(self.per_ip, ("ip", ip))]
        if scope.get("method") == "POST" and scope["path"] in CREDENTIAL_PATHS:
            buckets.insert(0, Bucket(self.credentials, ("credentials", ip)))
        return buckets

    def client_bucket(self, client_id: str, subject: str | None = None) -> Bucket:
        """The per-client bucket (per client and citizen when ``subject`` is a citizen)."""
        key: tuple[str, ...] = ("client", quote(client_id, safe=""))
        if subject is not None and subject != client_id:
            key = (*key, quote(subject, safe=""))
        return Bucket(self.per_client, key)

    def client_ip(self, scope: Scope) -> str:
        """The key of the caller's address (see the package docstring for proxies and IPv6)."""
        client = scope.get("client")
        if not client:
            return "unknown"
        if not self.trusted and ":" not in client[0]:
            return str(client[0])  # IPv4 as the server wrote it: the common case needs no parsing
        peer = _address(client[0])
        if peer is None:
            return str(client[0])  # not an IP (a test client's name, a unix socket)
        if self.trusted and self._trusted(peer):
            for hop in reversed(_forwarded_for(scope["headers"])):
                address = _address(hop)
                if address is None:
                    break
                peer = address
                if not self._trusted(address):
                    break
        if isinstance(peer, IPv6Address):
            return str(IPv6Network((peer, 64), strict=False))
        return str(peer)

    def _trusted(self, address: IPv4Address | IPv6Address) -> bool:
        return any(address in network for network in self.trusted)

    async def client_of(self, scope: Scope, receive: Receive) -> tuple[Bucket | None, Receive]:
        """The bucket of the client an HTTP request names, if any, and the ``receive`` to use
        from now on (reading a token request's form consumes the body: it is replayed)."""
        if scope["path"] == TOKEN_PATH and scope["method"] == "POST":
            client_id, receive = await _token_client(scope, receive)
            return (self.client_bucket(client_id) if client_id else None), receive
        claims = _bearer_claims(scope["headers"])
        return (self.client_bucket(*claims) if claims else None), receive


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def _forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    hops: list[str] = []
    for key, value in headers:
        if key == b"x-forwarded-for":
            hops.extend(hop.strip() for hop in value.decode("latin-1").split(","))
    return hops


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _bearer_claims(headers: Iterable[tuple[bytes, bytes]]) -> tuple[str, str | None] | None:
    """``(client_id, sub)`` read, unverified, from a bearer JWT's payload; None if there is none."""
    authorization = _header(headers, b"authorization")
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    parts = token.strip().split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(claims, dict):
        return None
    client_id, subject = claims.get("client_id"), claims.get("sub")
    if not _is_id(client_id):
        return None
    return client_id, subject if _is_id(subject) else None


def _is_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH


async def _token_client(scope: Scope, receive: Receive) -> tuple[str | None, Receive]:
    """The client id a token request names (Basic credentials, else the form's ``client_id``).

    Reading the form consumes the body, so the returned ``receive`` replays it to the endpoint.
    """
    authorization = _header(scope["headers"], b"authorization")
    if authorization is not None:
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            return None, receive
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None, receive
        client_id = unquote(decoded.partition(":")[0])  # RFC 6749 §2.3.1: form-encoded
        return (client_id if _is_id(client_id) else None), receive
    content_type = _header(scope["headers"], b"content-type") or ""
    if not content_type.lower().startswith("application/x-www-form-urlencoded"):
        return None, receive
    messages: deque[Message] = deque()
    size, complete = 0, False
    while size <= MAX_FORM_BYTES:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            complete = size <= MAX_FORM_BYTES
            break

    async def replay() -> Message:
        return messages.popleft() if messages else await receive()

    if not complete:
        return None, replay
    body = b"".join(m.get("body", b"") for m in messages).decode("utf-8", "replace")
    values = parse_qs(body).get("client_id", [])
    named = values[0] if len(values) == 1 else None
    return (named if _is_id(named) else None), replay
