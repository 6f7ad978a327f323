"""Argument handling shared by resolvers: periods, methodologies, cursors."""

from __future__ import annotations

import base64
import binascii
from datetime import date

from carbonhub.errors import InvalidInput
from carbonhub.hub import Hub
from carbonhub.periods import Period, parse_period

MAX_PAGE = 500


def period_argument(
    hub: Hub, region_code: str, text: str | None, start: date | None, end: date | None
) -> Period:
    """The period asked for; with none given, the season of the region's programme."""
    if text is None and start is None and end is None:
        programme = hub.programmes.for_region(region_code)
        if programme is not None and programme.starts and programme.ends:
            return Period(programme.starts, programme.ends, f"{programme.id} season")
    return parse_period(text, start=start, end=end)


def page_size(first: int) -> int:
    """Validate a page size (``first``): 1 to 500."""
    if not 1 <= first <= MAX_PAGE:
        raise InvalidInput(f"first must be between 1 and {MAX_PAGE}, not {first}")
    return first


def encode_cursor(kind: str, position: int) -> str:
    """An opaque cursor for a position in a list."""
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode()


def decode_cursor(kind: str, cursor: str | None) -> int | None:
    """The position a cursor names; InvalidInput for a cursor of another list or garbage."""
    if cursor is None:
        return None
    try:
        prefix, _, position = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if prefix == kind:
            return int(position)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        pass
    raise InvalidInput(f"invalid cursor {cursor!r}")
