"""Authentication and authorisation: principals, scopes, the OAuth 2 server and citizen logins."""

from carbonhub.auth.principal import Principal, PrincipalKind, Scope
from carbonhub.auth.request import InvalidToken, TokenAuthenticator, bearer_token

__all__ = [
    "InvalidToken",
    "Principal",
    "PrincipalKind",
    "Scope",
    "TokenAuthenticator",
    "bearer_token",
]
