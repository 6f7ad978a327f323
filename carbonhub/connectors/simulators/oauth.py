"""The simulators' OAuth 2 authorisation server: code flow with PKCE (S256), refresh rotation.

carbonhub is the one registered client. A citizen approves on a plain HTML page by typing their
account id; codes are single use and live 60 s; refreshing rotates both tokens. Tokens live in
memory only (a restarted simulator forgets them, as a provider that revoked everything would).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from itertools import islice
from typing import Any
from urllib.parse import unquote, urlencode, urlsplit

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from carbonhub.connectors.simulators.faults import Faults
from carbonhub.connectors.simulators.options import SimulatorOptions

CODE_TTL_S = 60
AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)
PKCE_VALUE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """A validated ``/oauth/authorize`` request."""

    redirect_uri: str
    scope: str
    state: str | None
    code_challenge: str


@dataclass(frozen=True, slots=True)
class Grant:
    """What a code, an access token or a refresh token stands for."""

    account: str
    scope: str
    expires_at: float  # Unix seconds (inf: never)
    redirect_uri: str = ""
    code_challenge: str = ""


class OAuthError(Exception):
    """An RFC 6749 error of the token endpoint."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status


class OAuthServer:
    """Codes, tokens and the three OAuth endpoints of one simulator."""

    def __init__(
        self,
        options: SimulatorOptions,
        faults: Faults,
        *,
        provider_name: str,
        scope: str,
        is_account: Callable[[str], bool],
    ) -> None:
        self.options = options
        self.faults = faults
        self.provider_name = provider_name
        self.scope = scope
        self.is_account = is_account
        self.codes: dict[str, Grant] = {}
        self.access_tokens: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, Grant] = {}

    def routes(self) -> list[Route]:
        """``GET|POST /oauth/authorize`` and ``POST /oauth/token``."""
        return [
            Route("/oauth/authorize", self.authorize, methods=["GET", "POST"]),
            Route("/oauth/token", self.token, methods=["POST"]),
        ]

    def account_of(self, access_token: str) -> str | None:
        """The account an unexpired access token belongs to, or None."""
        grant = self.access_tokens.get(access_token)
        if grant is None:
            return None
        if grant.expires_at <= self._now():
            del self.access_tokens[access_token]
            return None
        return grant.account

    async def authorize(self, request: Request) -> Response:
        """The consent page (GET) and the citizen's decision (POST)."""
        await self.faults.delay()
        params: Mapping[str, Any] = request.query_params
        if request.method == "POST":
            params = await request.form()
        checked = self._check(params)
        if isinstance(checked, str):
            return self._page("Invalid authorisation request", f"<p>{escape(checked)}</p>", 400)
        if request.method == "GET":
            return self._consent_page(params, checked)
        decision = params.get("decision")
        if decision == "deny":
            return self._redirect(checked, {"error": "access_denied"})
        if decision != "approve":
            return self._page("Invalid decision", "<p>decision must be approve or deny.</p>", 400)
        account = str(params.get("account") or "").strip()
        if not self.is_account(account):
            return self._page("Unknown account", f"<p>No account {escape(account)}.</p>", 400)
        code = secrets.token_urlsafe(24)
        self._forget_expired(self.codes)
        self.codes[code] = Grant(
            account,
            checked.scope,
            self._now() + CODE_TTL_S,
            checked.redirect_uri,
            checked.code_challenge,
        )
        return self._redirect(checked, {"code": code})

    async def token(self, request: Request) -> Response:
        """Exchange a code (with its PKCE verifier) or a refresh token for a new token pair."""
        await self.faults.delay()
        form = await request.form()
        try:
            self._authenticate(request, form)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                grant = self._redeem_code(form)
            elif grant_type == "refresh_token":
                grant = self._redeem_refresh_token(form)
            else:
                raise OAuthError(
                    "unsupported_grant_type", f"grant_type {grant_type!r} is not supported"
                )
        except OAuthError as exc:
            headers = {"Cache-Control": "no-store"}
            if exc.status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="simulator"'
            body = {"error": exc.error, "error_description": str(exc)}
            return Response(orjson.dumps(body), exc.status, headers, "application/json")
        return self._issue(grant.account, grant.scope)

    def _check(self, params: Mapping[str, Any]) -> AuthorizationRequest | str:
        """The request's parameters, or what is wrong with them."""
        if params.get("client_id") != self.options.client_id:
            return "unknown client_id"
        redirect_uri = str(params.get("redirect_uri") or "")
        if not self._redirect_allowed(redirect_uri):
            return "redirect_uri is not registered for this client"
        if params.get("response_type") != "code":
            return "response_type must be code"
        challenge = str(params.get("code_challenge") or "")
        if not PKCE_VALUE.match(challenge) or params.get("code_challenge_method") != "S256":
            return "PKCE is required: code_challenge with code_challenge_method=S256"
        scope = str(params.get("scope") or self.scope)
        if not set(scope.split()) <= set(self.scope.split()):
            return f"scope must be within {self.scope!r}"
        state = params.get("state")
        return AuthorizationRequest(
            redirect_uri, scope, None if state is None else str(state), challenge
        )

    def _redirect_allowed(self, uri: str) -> bool:
        prefix = self.options.redirect_prefix
        if prefix and uri.startswith(prefix):
            return True
        try:
            parts = urlsplit(uri)
            parts.port  # noqa: B018  (raises ValueError on a bad port)
        except ValueError:
            return False
        return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS and not parts.fragment

    def _consent_page(self, params: Mapping[str, Any], checked: AuthorizationRequest) -> Response:
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{escape(str(params[name]))}">'
            for name in AUTHORIZE_PARAMS
            if params.get(name) is not None
        )
        body = f"""<p>carbonhub asks to read your {escape(self.provider_name)} records
(scope <code>{escape(checked.scope)}</code>): quantified activity for your carbon ledger.</p>
<form method="post" action="/oauth/authorize">{hidden}
<label for="account">Account id</label>
<input type="text" id="account" name="account" required autocomplete="username">
<button type="submit" name="decision" value="approve">Approve</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>"""
        return self._page(f"Link your {self.provider_name} account to carbonhub", body, 200)

    def _page(self, title: str, body: str, status: int) -> Response:
        html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title></head>
<body><h1>{escape(title)}</h1>
{body}
</body></html>"""
        return HTMLResponse(html, status, headers={"Cache-Control": "no-store"})

    def _redirect(self, checked: AuthorizationRequest, params: dict[str, str]) -> Response:
        if checked.state is not None:
            params["state"] = checked.state
        separator = "&" if "?" in checked.redirect_uri else "?"
        return RedirectResponse(checked.redirect_uri + separator + urlencode(params), 302)

    def _authenticate(self, request: Request, form: Mapping[str, Any]) -> None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise OAuthError("invalid_client", "unreadable Basic credentials", 401) from None
            raw_id, _, raw_secret = decoded.partition(":")
            client_id, client_secret = unquote(raw_id), unquote(raw_secret)
        if not (
            isinstance(client_id, str)
            and isinstance(client_secret, str)
            and hmac.compare_digest(client_id.encode(), self.options.client_id.encode())
            and hmac.compare_digest(client_secret.encode(), self.options.client_secret.encode())
        ):
            raise OAuthError("invalid_client", "client authentication failed", 401)

    def _redeem_code(self, form: Mapping[str, Any]) -> Grant:
        grant = self.codes.pop(str(form.get("code") or ""), None)  # single use, even when refused
        if grant is None or grant.expires_at <= self._now():
            raise OAuthError("invalid_grant", "the code is unknown, used or expired")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorisation request")
        verifier = str(form.get("code_verifier") or "")
        if not PKCE_VALUE.match(verifier) or not hmac.compare_digest(
            s256(verifier), grant.code_challenge
        ):
            raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
        return grant

    def _redeem_refresh_token(self, form: Mapping[str, Any]) -> Grant:
        grant = self.refresh_tokens.pop(str(form.get("refresh_token") or ""), None)
        if grant is None:
            raise OAuthError("invalid_grant", "the refresh token is unknown or was rotated")
        return grant

    def _issue(self, account: str, scope: str) -> Response:
        access_token, refresh_token = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        ttl = self.options.token_ttl
        self._forget_expired(self.access_tokens)
        self.access_tokens[access_token] = Grant(account, scope, self._now() + ttl)
        self.refresh_tokens[refresh_token] = Grant(account, scope, float("inf"))
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "refresh_token": refresh_token,
            "scope": scope,
            "account_id": account,
        }
        headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        return Response(orjson.dumps(body), 200, headers, "application/json")

    def _forget_expired(self, grants: dict[str, Grant]) -> None:
        """Drop a few expired grants (amortised: memory stays bounded under long runs)."""
        now = self._now()
        for key in [k for k, grant in islice(grants.items(), 8) if grant.expires_at <= now]:
            del grants[key]

    def _now(self) -> float:
        return self.options.clock().timestamp()


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
