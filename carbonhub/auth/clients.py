"""Registering OAuth clients and reading them back as authlib clients.

A client secret is 256 random bits shown once; the database keeps its SHA-256 (a secret that
long needs no slow hash, and the token endpoint must not spend 50 ms per request on one).
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from carbonhub.auth.scopes import KIND_SCOPES, ClientKind
from carbonhub.auth.tokens import digest
from carbonhub.errors import InvalidInput, NotFound
from carbonhub.models import Enterprise, OAuthClient, Region

CONFIDENTIAL_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True, slots=True)
class NewClient:
    """A client just registered; ``client_secret`` is shown this once (None for public apps)."""

    client_id: str
    client_secret: str | None
    kind: ClientKind
    name: str
    scopes: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    enterprise_id: str | None
    region_code: str | None
    connector: str | None

    def as_json(self) -> dict[str, object]:
        """What ``carbonhub clients create --json`` prints."""
        shown: dict[str, object] = {
            "client_id": self.client_id,
            "kind": self.kind.value,
            "name": self.name,
            "scope": " ".join(self.scopes),
        }
        if self.client_secret is not None:
            shown["client_secret"] = self.client_secret
        for key in ("enterprise_id", "region_code", "connector"):
            if getattr(self, key) is not None:
                shown[key] = getattr(self, key)
        if self.redirect_uris:
            shown["redirect_uris"] = list(self.redirect_uris)
        return shown


def check_redirect_uri(uri: str) -> str:
    """A redirect URI fit to register: absolute, https (http only on loopback), no fragment."""
    parts = urlsplit(uri)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(f"redirect URI {uri!r} must be an absolute http(s) URI")
    if parts.fragment or "#" in uri:
        raise InvalidInput(f"redirect URI {uri!r} must not have a fragment")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(f"redirect URI {uri!r} must not carry user information")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise InvalidInput(f"redirect URI {uri!r} must use https (http only for loopback)")
    return uri


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_client(
    session: Session,
    *,
    kind: ClientKind,
    name: str,
    redirect_uris: tuple[str, ...] = (),
    public: bool = False,
    enterprise_id: str | None = None,
    region_code: str | None = None,
    connector: str | None = None,
    client_id: str | None = None,
) -> NewClient:
    """Register a client bound as its kind requires; returns it with its one-time secret."""
    _check_binding(session, kind, enterprise_id, region_code, connector)
    if kind is ClientKind.APP and not redirect_uris:
        raise InvalidInput("an app client needs at least one --redirect-uri")
    if kind is not ClientKind.APP and (redirect_uris or public):
        raise InvalidInput(f"a {kind.value} client uses client credentials: no redirect URIs")
    if not name.strip():
        raise InvalidInput("a client needs a name")
    uris = tuple(check_redirect_uri(uri) for uri in redirect_uris)
    scopes = tuple(sorted(KIND_SCOPES[kind]))
    client_id = client_id or f"{kind.value}_{secrets.token_urlsafe(12)}"
    secret = None if public else secrets.token_urlsafe(32)
    session.add(
        OAuthClient(
            client_id=client_id,
            kind=kind.value,
            name=name.strip(),
            secret_hash=None if secret is None else digest(secret),
            redirect_uris=json.dumps(list(uris)),
            scopes=" ".join(scopes),
            enterprise_id=enterprise_id,
            region_code=region_code,
            connector=connector,
        )
    )
    session.flush()
    return NewClient(
        client_id, secret, kind, name.strip(), scopes, uris, enterprise_id, region_code, connector
    )


def _check_binding(
    session: Session,
    kind: ClientKind,
    enterprise_id: str | None,
    region_code: str | None,
    connector: str | None,
) -> None:
    wanted = {
        ClientKind.ENTERPRISE: "enterprise_id",
        ClientKind.AGENCY: "region_code",
        ClientKind.CONNECTOR: "connector",
    }.get(kind)
    given = {
        "enterprise_id": enterprise_id,
        "region_code": region_code,
        "connector": connector,
    }
    for key, value in given.items():
        if value is not None and key != wanted:
            raise InvalidInput(f"a {kind.value} client is not bound by {key}")
    if wanted is not None and not given[wanted]:
        raise InvalidInput(f"a {kind.value} client must be bound: give its {wanted}")
    if enterprise_id is not None and session.get(Enterprise, enterprise_id) is None:
        raise NotFound(f"no enterprise {enterprise_id!r}")
    if region_code is not None and session.get(Region, region_code) is None:
        raise NotFound(f"no region {region_code!r}")


@dataclass(frozen=True, slots=True)
class RegisteredClient:
    """A registered client as authlib's ``ClientMixin`` sees it (detached from any session)."""

    client_id: str
    kind: ClientKind
    name: str
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    scopes: frozenset[str]
    enterprise_id: str | None
    region_code: str | None
    connector: str | None

    @classmethod
    def of(cls, row: OAuthClient) -> RegisteredClient:
        """Read a client row."""
        return cls(
            client_id=row.client_id,
            kind=ClientKind(row.kind),
            name=row.name,
            secret_hash=row.secret_hash,
            redirect_uris=tuple(json.loads(row.redirect_uris)),
            scopes=frozenset(row.scopes.split()),
            enterprise_id=row.enterprise_id,
            region_code=row.region_code,
            connector=row.connector,
        )

    @property
    def is_public(self) -> bool:
        """A public app cannot keep a secret; PKCE alone protects its codes."""
        return self.secret_hash is None

    # -- authlib ClientMixin ------------------------------------------------------------------

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        # Every authorisation request must name its redirect URI, matched exactly.
        return None

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """The scope to grant: the requested one if the client may hold all of it."""
        if not scope:
            return " ".join(sorted(self.scopes))
        requested = scope.split()
        if not set(requested) <= self.scopes:
            return None
        return " ".join(dict.fromkeys(requested))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        if self.secret_hash is None:
            return False
        return hmac.compare_digest(self.secret_hash, digest(client_secret))

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.is_public:
            return method == "none"
        return method in CONFIDENTIAL_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return self.kind is ClientKind.APP and response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        if self.kind is ClientKind.APP:
            return grant_type in ("authorization_code", "refresh_token")
        return grant_type == "client_credentials"
