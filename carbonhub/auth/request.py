"""Building the principal of an incoming HTTP request."""

from __future__ import annotations

from collections.abc import Mapping

from carbonhub.auth.principal import Principal
from carbonhub.errors import Unauthenticated
from carbonhub.settings import Settings


class InvalidToken(Unauthenticated):
    """The request presented credentials that cannot be accepted (answered with HTTP 401)."""


def principal_for_request(headers: Mapping[str, str], settings: Settings) -> Principal:
    """The request's principal.

    No credentials: anonymous, except on a development hub where the anonymous caller is the
    developer. Presented credentials must verify; until the OAuth server is configured no
    token can, so any ``Authorization`` header is refused rather than ignored.
    """
    authorization = headers.get("authorization")
    if authorization:
        raise InvalidToken("the access token is not valid for this hub")
    return Principal.anonymous() if settings.is_production else Principal.developer()
