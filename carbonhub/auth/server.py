"""The OAuth 2 authorisation server: authlib's grants on carbonhub's storage, hardened.

authlib ships no Starlette server, and its defaults are weaker than RFC 9700 asks. Here:

* grants: authorization code (``app`` clients) with PKCE S256 required of every client,
  client credentials (enterprise, agency, connector and operator clients), refresh token with
  rotation; no implicit, no password grant;
* redirect URIs must be given and match a registered one exactly;
* a code is single-use: presenting it again revokes every token the first use issued;
* a refresh token is single-use: presenting a rotated one again revokes the whole family;
* codes, refresh tokens and client secrets are stored as SHA-256 digests; access tokens are
  RFC 9068 JWTs whose ``jti`` is recorded so that revocation reaches them too.

authlib is synchronous: every call runs in a worker thread inside one database transaction,
which the module-level context variable hands to the storage methods below.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749 import (
    InvalidRequestError,
    JsonRequest,
    OAuth2Payload,
    grants,
)
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidScopeError
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from sqlalchemy import CursorResult, Engine, Update, select, update
from sqlalchemy.orm import Session
from sqlmodel import col
from starlette.responses import JSONResponse, RedirectResponse, Response

from carbonhub.auth.clients import CONFIDENTIAL_AUTH_METHODS, RegisteredClient
from carbonhub.auth.keys import KeyRing
from carbonhub.auth.scopes import ALL_SCOPES, ClientKind
from carbonhub.auth.tokens import (
    InvalidToken,
    digest,
    issue_access_token,
    new_secret,
    verify_access_token,
)
from carbonhub.db import write_session
from carbonhub.models import (
    AccessToken,
    AuthorizationCode,
    OAuthClient,
    OAuthGrant,
    RefreshToken,
    utcnow,
)
from carbonhub.settings import Settings

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
_session: ContextVar[Session] = ContextVar("carbonhub_oauth_session")
TOKEN_AUTH_METHODS = [*CONFIDENTIAL_AUTH_METHODS, "none"]


def _db() -> Session:
    return _session.get()


# -- requests -------------------------------------------------------------------------------------


class FormPayload(OAuth2Payload):
    """Query and form parameters, with every value of a repeated parameter kept."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._pairs = pairs
        self._data: dict[str, str] = {}
        for key, value in pairs:
            self._data.setdefault(key, value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        values: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in self._pairs:
            values[key].append(value)
        return values


class HubOAuth2Request(OAuth2Request):
    """An authlib request built from a Starlette request whose body was read beforehand."""

    def __init__(
        self,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        query: list[tuple[str, str]],
        form: list[tuple[str, str]],
    ) -> None:
        super().__init__(method, uri, headers=headers)  # case-insensitive (Starlette)
        self._args = dict(query)
        self._form = dict(form)
        self.payload = FormPayload(query + form)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass(frozen=True, slots=True)
class OAuthCall:
    """What an endpoint hands the server: the request line, headers and parameters."""

    method: str
    uri: str
    headers: Mapping[str, str]
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class ResourceOwner:
    """The citizen an authorisation is for (authlib's "user")."""

    person_id: str


# -- records as authlib sees them ---------------------------------------------------------------


@dataclass(slots=True)
class CodeRecord:
    """A stored authorisation code (authlib's ``AuthorizationCodeMixin``)."""

    code_hash: str
    client_id: str
    person_id: str
    redirect_uri: str
    scope: str
    code_challenge: str
    code_challenge_method: str
    grant_id: str | None = None

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(slots=True)
class RefreshRecord:
    """A stored refresh token (authlib's ``TokenMixin``)."""

    token_hash: str
    grant_id: str
    client_id: str
    person_id: str | None
    scope: str
    expires_at: datetime
    issued_at: datetime
    revoked: bool
    kind: str = "refresh_token"

    def check_client(self, client: RegisteredClient) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return int((self.expires_at - self.issued_at).total_seconds())

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked


@dataclass(slots=True)
class AccessRecord:
    """A recorded access token, found by verifying its JWT and looking up its ``jti``."""

    jti: str
    grant_id: str
    client_id: str
    subject: str
    scope: str
    issued_at: datetime
    expires_at: datetime
    revoked: bool
    kind: str = "access_token"

    def check_client(self, client: RegisteredClient) -> bool:
        return client.client_id == self.client_id

    def get_scope(self) -> str:
        return self.scope

    def is_expired(self) -> bool:
        return self.expires_at <= utcnow()

    def is_revoked(self) -> bool:
        return self.revoked


# -- revocation --------------------------------------------------------------------------------


def revoke_grant(session: Session, grant_id: str, reason: str, now: datetime) -> None:
    """Revoke a token family: the grant, its refresh tokens and its access tokens."""
    session.execute(
        update(OAuthGrant)
        .where(col(OAuthGrant.id) == grant_id, col(OAuthGrant.revoked_at).is_(None))
        .values(revoked_at=now, revoked_reason=reason[:200])
    )
    for model in (RefreshToken, AccessToken):
        session.execute(
            update(model)
            .where(col(model.grant_id) == grant_id, col(model.revoked_at).is_(None))
            .values(revoked_at=now)
        )
    log.warning("oauth grant %s revoked: %s", grant_id, reason)


def _spend(statement: Update) -> bool:
    """Run a conditional UPDATE of one single-use credential; True if it changed that row."""
    result = cast(CursorResult[Any], _db().execute(statement))
    return result.rowcount == 1


# -- PKCE ----------------------------------------------------------------------------------------


class RequiredS256(CodeChallenge):
    """PKCE with S256 for every client, confidential ones included (RFC 9700 §2.1.1)."""

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012  (authlib's class attribute)

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("PKCE is required: send code_challenge (S256)")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("code_challenge_method must be S256 (plain is refused)")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)


# -- grants ---------------------------------------------------------------------------------------


class CodeGrant(grants.AuthorizationCodeGrant):
    """Authorization code grant on carbonhub's storage; codes are single-use."""

    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    @property
    def hub(self) -> HubAuthorizationServer:
        server: HubAuthorizationServer = self.server
        return server

    def save_authorization_code(self, code: str, request: Any) -> None:
        now = self.hub.clock()
        data = request.payload.data
        _db().add(
            AuthorizationCode(
                code_hash=digest(code),
                client_id=request.client.client_id,
                person_id=request.user.person_id,
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                code_challenge=data["code_challenge"],
                code_challenge_method=data.get("code_challenge_method", "S256"),
                auth_time=now,
                expires_at=now + timedelta(seconds=self.hub.settings.authorization_code_seconds),
            )
        )

    def query_authorization_code(self, code: str, client: RegisteredClient) -> CodeRecord | None:
        row = _db().get(AuthorizationCode, digest(code))
        if row is None or row.client_id != client.client_id:
            return None
        if row.used_at is not None:
            if row.grant_id is not None:
                revoke_grant(_db(), row.grant_id, "authorization code replayed", self.hub.clock())
            return None
        if row.expires_at <= self.hub.clock():
            return None
        return CodeRecord(
            row.code_hash,
            row.client_id,
            row.person_id,
            row.redirect_uri,
            row.scope,
            row.code_challenge,
            row.code_challenge_method,
        )

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """Spend the code; if a concurrent redemption spent it first, this one is a replay.

        The lookup and this update run in one transaction, but two redemptions of the same
        code can both pass the lookup (PostgreSQL, read committed). Only the one whose update
        finds the code unspent wins; the other revokes both families and fails.
        """
        now = self.hub.clock()
        spent = _spend(
            update(AuthorizationCode)
            .where(
                col(AuthorizationCode.code_hash) == authorization_code.code_hash,
                col(AuthorizationCode.used_at).is_(None),
            )
            .values(used_at=now, grant_id=authorization_code.grant_id)
        )
        if spent:
            return
        winner = _db().scalar(
            select(col(AuthorizationCode.grant_id)).where(
                col(AuthorizationCode.code_hash) == authorization_code.code_hash
            )
        )
        for grant_id in (winner, authorization_code.grant_id):
            if grant_id is not None:
                revoke_grant(_db(), grant_id, "authorization code redeemed concurrently", now)
        raise InvalidGrantError("the authorization code has already been used")

    def authenticate_user(self, authorization_code: CodeRecord) -> ResourceOwner:
        return ResourceOwner(authorization_code.person_id)


class RotatingRefreshGrant(grants.RefreshTokenGrant):
    """Refresh tokens rotate on use; a used one presented again revokes its family."""

    INCLUDE_NEW_REFRESH_TOKEN = True
    TOKEN_ENDPOINT_AUTH_METHODS = TOKEN_AUTH_METHODS

    @property
    def hub(self) -> HubAuthorizationServer:
        server: HubAuthorizationServer = self.server
        return server

    def authenticate_refresh_token(self, refresh_token: str) -> RefreshRecord | None:
        record = self.hub.find_refresh_token(refresh_token)
        if record is None:
            return None
        row = _db().get(RefreshToken, record.token_hash)
        assert row is not None
        if row.used_at is not None and row.revoked_at is None:
            revoke_grant(_db(), record.grant_id, "refresh token reused", self.hub.clock())
            return None
        if record.revoked or record.expires_at <= self.hub.clock():
            return None
        return record

    def authenticate_user(self, refresh_token: RefreshRecord) -> ResourceOwner | None:
        if refresh_token.person_id is None:
            return None
        return ResourceOwner(refresh_token.person_id)

    def revoke_old_credential(self, refresh_token: RefreshRecord) -> None:
        """Spend the refresh token; a concurrent use that spent it first makes this a reuse."""
        now = self.hub.clock()
        spent = _spend(
            update(RefreshToken)
            .where(
                col(RefreshToken.token_hash) == refresh_token.token_hash,
                col(RefreshToken.used_at).is_(None),
                col(RefreshToken.revoked_at).is_(None),
            )
            .values(used_at=now)
        )
        if not spent:
            revoke_grant(_db(), refresh_token.grant_id, "refresh token used concurrently", now)
            raise InvalidGrantError("the refresh token has already been used")


class CredentialsGrant(grants.ClientCredentialsGrant):
    """Client credentials for enterprise, agency, connector and operator clients.

    No scope asked: every scope the client may hold. A scope beyond those: ``invalid_scope``.
    """

    TOKEN_ENDPOINT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)  # noqa: RUF012

    def validate_token_request(self) -> None:
        super().validate_token_request()
        scope = self.request.client.get_allowed_scope(self.request.payload.scope)
        if scope is None:
            raise InvalidScopeError("the client may not hold the requested scope")
        self.request.scope = scope

    def create_token_response(self) -> Any:
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        self.save_token(token)
        return 200, token, self.TOKEN_RESPONSE_HEADER


# -- revocation and introspection endpoints -----------------------------------------------------


def _require_token_parameter(request: Any) -> None:
    """``token`` is required; ``token_type_hint`` only orders the search.

    RFC 7009 §2.1 and RFC 7662 §2.1: a server that cannot find the token with the hint searches
    every token type, and may ignore the hint. authlib answers an unknown hint with
    ``unsupported_token_type`` and HTTP 401, which tells the client its credentials are wrong.
    """
    if "token" not in request.form:
        raise InvalidRequestError("Missing 'token'")


class HubRevocationEndpoint(RevocationEndpoint):
    """RFC 7009: a client revokes its own tokens; a refresh token takes its family with it."""

    CLIENT_AUTH_METHODS = TOKEN_AUTH_METHODS

    def check_params(self, request: Any, client: RegisteredClient) -> None:
        _require_token_parameter(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        server: HubAuthorizationServer = self.server
        return server.find_token(token_string, token_type_hint)

    def revoke_token(self, token: RefreshRecord | AccessRecord, request: Any) -> None:
        server: HubAuthorizationServer = self.server
        now = server.clock()
        if isinstance(token, RefreshRecord):
            revoke_grant(_db(), token.grant_id, "refresh token revoked by its client", now)
        else:
            _db().execute(
                update(AccessToken).where(col(AccessToken.jti) == token.jti).values(revoked_at=now)
            )


class HubIntrospectionEndpoint(IntrospectionEndpoint):
    """RFC 7662: only the token's own client, or an operator (resource server), may introspect."""

    CLIENT_AUTH_METHODS = list(CONFIDENTIAL_AUTH_METHODS)  # noqa: RUF012

    def check_params(self, request: Any, client: RegisteredClient) -> None:
        _require_token_parameter(request)

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        server: HubAuthorizationServer = self.server
        return server.find_token(token_string, token_type_hint)

    def check_permission(self, token: Any, client: RegisteredClient, request: Any) -> bool:
        return bool(token.check_client(client) or client.kind is ClientKind.OPERATOR)

    def introspect_token(self, token: RefreshRecord | AccessRecord) -> dict[str, Any]:
        server: HubAuthorizationServer = self.server
        payload: dict[str, Any] = {
            "active": True,
            "client_id": token.client_id,
            "scope": token.scope,
            "token_type": "Bearer" if isinstance(token, AccessRecord) else "refresh_token",
            "exp": int(token.expires_at.timestamp()),
            "iat": int(token.issued_at.timestamp()),
            "iss": server.settings.issuer,
        }
        if isinstance(token, AccessRecord):
            payload.update({"sub": token.subject, "aud": server.settings.audience})
            payload["jti"] = token.jti
        elif token.person_id is not None:
            payload["sub"] = token.person_id
        return payload


# -- the server --------------------------------------------------------------------------------


class HubAuthorizationServer(AuthorizationServer):
    """authlib's ``AuthorizationServer`` on carbonhub's database and key ring."""

    def __init__(
        self, engine: Engine, settings: Settings, keys: KeyRing, clock: Clock = utcnow
    ) -> None:
        super().__init__(scopes_supported=list(ALL_SCOPES))
        self.engine = engine
        self.settings = settings
        self.keys = keys
        self.clock = clock
        self.register_token_generator("default", self._generate_token)
        self.register_grant(CodeGrant, [RequiredS256(required=True)])
        self.register_grant(RotatingRefreshGrant)
        self.register_grant(CredentialsGrant)
        self.register_endpoint(HubRevocationEndpoint)
        self.register_endpoint(HubIntrospectionEndpoint)

    # -- running authlib inside one transaction -----------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction the storage methods of this call use (commits on return)."""
        with write_session(self.engine) as session:
            marker = _session.set(session)
            try:
                yield session
            finally:
                _session.reset(marker)

    def request_of(self, call: OAuthCall) -> HubOAuth2Request:
        """The authlib request of an HTTP call."""
        return HubOAuth2Request(call.method, call.uri, call.headers, call.query, call.form)

    # -- authlib's framework hooks ------------------------------------------------------------

    def query_client(self, client_id: str) -> RegisteredClient | None:
        row = _db().get(OAuthClient, client_id)
        if row is None or row.revoked_at is not None:
            return None
        return RegisteredClient.of(row)

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        if isinstance(request, OAuthCall):
            return self.request_of(request)
        raise TypeError(f"not an OAuth call: {type(request).__name__}")

    def create_json_request(self, request: Any) -> JsonRequest:
        raise NotImplementedError("carbonhub's OAuth endpoints take form parameters only")

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        header_map = dict(headers or [])
        location = header_map.pop("Location", None)
        if location is not None:
            # RFC 9207: name the issuer in every authorisation response (mix-up defence)
            location = add_params_to_uri(location, [("iss", self.settings.issuer)])
            response: Response = RedirectResponse(location, status_code=302)
            response.headers.update(header_map)
            return response
        if isinstance(body, dict):
            return JSONResponse(body, status_code=status, headers=header_map)
        return Response(body or "", status_code=status, headers=header_map)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        log.info("oauth %s", name)

    def save_token(self, token: dict[str, Any], request: Any) -> None:
        now = self.clock()
        jti, expires_at = token.pop("_jti"), token.pop("_expires_at")
        session = _db()
        if request.refresh_token is not None:
            grant_id = request.refresh_token.grant_id
            refresh_scope = request.refresh_token.scope
        else:
            person = getattr(request.user, "person_id", None)
            grant = OAuthGrant(
                id=new_secret()[:32],
                client_id=request.client.client_id,
                person_id=person,
                scope=token.get("scope", ""),
                created_at=now,
            )
            session.add(grant)
            session.flush()
            grant_id, refresh_scope = grant.id, grant.scope
            if request.authorization_code is not None:
                request.authorization_code.grant_id = grant_id
        session.add(AccessToken(jti=jti, grant_id=grant_id, issued_at=now, expires_at=expires_at))
        if "refresh_token" in token:
            session.add(
                RefreshToken(
                    token_hash=digest(token["refresh_token"]),
                    grant_id=grant_id,
                    scope=refresh_scope,
                    issued_at=now,
                    expires_at=now + timedelta(days=self.settings.refresh_token_days),
                )
            )

    def _generate_token(
        self,
        grant_type: str,
        client: RegisteredClient,
        user: ResourceOwner | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        subject = user.person_id if user is not None else client.client_id
        issued = issue_access_token(
            self.keys,
            self.settings,
            client_id=client.client_id,
            subject=subject,
            scope=scope or "",
            now=self.clock(),
        )
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": issued.token,
            "expires_in": issued.expires_in,
            "scope": scope or "",
            "_jti": issued.jti,
            "_expires_at": issued.expires_at,
        }
        if include_refresh_token:
            token["refresh_token"] = new_secret()
        return token

    # -- finding tokens -----------------------------------------------------------------------

    def find_token(self, token: str, hint: str | None) -> RefreshRecord | AccessRecord | None:
        """A refresh or access token of this hub, whatever its state (revocation, introspection)."""
        finders = [self.find_refresh_token, self.find_access_token]
        if hint == "access_token":
            finders.reverse()
        for find in finders:
            found = find(token)
            if found is not None:
                return found
        return None

    def find_refresh_token(self, token: str) -> RefreshRecord | None:
        """The refresh token record behind ``token``, revoked or not."""
        row = (
            _db()
            .execute(
                select(RefreshToken, OAuthGrant)
                .join(OAuthGrant, col(OAuthGrant.id) == col(RefreshToken.grant_id))
                .where(col(RefreshToken.token_hash) == digest(token))
            )
            .first()
        )
        if row is None:
            return None
        refresh, grant = row
        return RefreshRecord(
            token_hash=refresh.token_hash,
            grant_id=grant.id,
            client_id=grant.client_id,
            person_id=grant.person_id,
            scope=refresh.scope,
            expires_at=refresh.expires_at,
            issued_at=refresh.issued_at,
            revoked=refresh.revoked_at is not None
            or refresh.used_at is not None
            or grant.revoked_at is not None,
        )

    def find_access_token(self, token: str) -> AccessRecord | None:
        """The access token record behind a JWT this hub signed (expired ones included)."""
        try:
            claims = verify_access_token(
                token, self.keys, self.settings, now=self.clock(), check_expiry=False
            )
        except InvalidToken:
            return None
        row = (
            _db()
            .execute(
                select(AccessToken, OAuthGrant)
                .join(OAuthGrant, col(OAuthGrant.id) == col(AccessToken.grant_id))
                .where(col(AccessToken.jti) == claims.jti)
            )
            .first()
        )
        if row is None:
            return None
        access, grant = row
        return AccessRecord(
            jti=access.jti,
            grant_id=grant.id,
            client_id=grant.client_id,
            subject=claims.subject,
            scope=" ".join(sorted(claims.scopes)),
            issued_at=access.issued_at,
            expires_at=access.expires_at,
            revoked=access.revoked_at is not None or grant.revoked_at is not None,
        )


__all__ = [
    "HubAuthorizationServer",
    "InvalidGrantError",
    "OAuthCall",
    "ResourceOwner",
    "revoke_grant",
]
