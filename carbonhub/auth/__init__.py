"""Authentication: principals and scopes (the OAuth authorisation server builds on these)."""

from carbonhub.auth.principal import Principal, PrincipalKind, Scope
from carbonhub.auth.request import InvalidToken, principal_for_request

__all__ = ["InvalidToken", "Principal", "PrincipalKind", "Scope", "principal_for_request"]
