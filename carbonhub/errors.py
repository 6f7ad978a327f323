"""Errors that carry a message meant for the caller (shown in GraphQL and CLI output).

Anything that is not a :class:`CarbonhubError` is an internal fault: it is logged and, in
GraphQL, masked.
"""

from __future__ import annotations


class CarbonhubError(Exception):
    """An error whose message is safe and useful to show to the caller."""

    code = "BAD_REQUEST"


class InvalidInput(CarbonhubError):
    """The caller sent something malformed (a period, an id, a quantity...)."""

    code = "BAD_USER_INPUT"


class NotFound(CarbonhubError):
    """The caller named something that does not exist (or that they may not know exists)."""

    code = "NOT_FOUND"


class Unauthenticated(CarbonhubError):
    """The request carries no usable identity and the operation needs one."""

    code = "UNAUTHENTICATED"


class AccessDenied(CarbonhubError):
    """The principal is known but may not do or see this."""

    code = "FORBIDDEN"


class Conflict(CarbonhubError):
    """The request contradicts the current state (e.g. redeeming more points than held)."""

    code = "CONFLICT"


class ConfigurationError(CarbonhubError):
    """The hub's settings cannot work (a missing connector, a missing key); startup stops."""

    code = "CONFIGURATION"
