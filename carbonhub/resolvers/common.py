"""Argument handling shared by resolvers: periods, methodologies, cursors."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from carbonhub.consent.released import catch_up, catch_up_due
from carbonhub.db import reading, write_session
from carbonhub.errors import InvalidInput
from carbonhub.hub import Hub
from carbonhub.periods import Interval, Period, local_date, parse_period
from carbonhub.reports import resolve_compared
from carbonhub.reports.breakdown import Part
from carbonhub.reports.partitions import report_period

MAX_PAGE = 500

# which report part each field of a report (or of one of its comparisons) reads
FIELD_PARTS = {
    "suppressed": Part.TOTAL,
    "totalReductionKg": Part.TOTAL,
    "participants": Part.TOTAL,
    "entries": Part.TOTAL,
    "coverage": Part.TOTAL,
    "scope3": Part.SCOPE3,
    "byCategory": Part.CATEGORIES,
    "byBehaviour": Part.BEHAVIOURS,
    "topBehaviours": Part.BEHAVIOURS,
    "notCovered": Part.BEHAVIOURS,
    "children": Part.CHILDREN,
    "byMonth": Part.MONTHS,
}
SERIES_PARTS = {Interval.DAY: Part.DAYS, Interval.WEEK: Part.WEEKS, Interval.MONTH: Part.MONTHS}

T = TypeVar("T")


def period_argument(
    hub: Hub, region_code: str, text: str | None, start: date | None, end: date | None
) -> Period:
    """The period asked for; with none given, the season of the region's programme."""
    if text is None and start is None and end is None:
        programme = hub.programmes.for_region(region_code)
        if programme is not None and programme.starts and programme.ends:
            return Period(programme.starts, programme.ends, f"{programme.id} season")
    return parse_period(text, start=start, end=end)


def season_of(hub: Hub, region_code: str) -> Period | None:
    """The season of the programme covering ``region_code``, if it has one."""
    programme = hub.programmes.for_region(region_code)
    if programme is None or not programme.starts or not programme.ends:
        return None
    return Period(programme.starts, programme.ends, f"{programme.id} season")


def catch_up_consents(hub: Hub, now: datetime) -> None:
    """Bring the released aggregates to read time ``now`` before a report reads them: the
    consents in force (those that expired or started since), and the persons posted since."""
    with write_session(hub.engine) as session:
        catch_up(session, hub.release_rules(), now)


def caught_up(hub: Hub, now: datetime, read: Callable[[], T]) -> T:
    """``read()`` after :func:`catch_up_consents`, in the caller's thread: a report's first
    read follows the catch-up without another hop to the thread pool.

    Usually nothing is due: one read-only probe finds so, and the probe and every read of
    ``read()`` share one connection. Only when something is due does a write transaction
    run, after that connection went back (a thread holds one connection at a time).
    """
    with reading(hub.engine) as connection:
        if not catch_up_due(connection, now):
            return read()
    catch_up_consents(hub, now)
    with reading(hub.engine):
        return read()


def report_period_argument(
    hub: Hub,
    region_code: str,
    text: str | None,
    start: date | None,
    end: date | None,
    now: datetime,
) -> Period:
    """The period a report covers: a calendar partition or the programme's season, with data.

    Arbitrary ranges are refused (see :mod:`carbonhub.reports.partitions`), and so are periods
    wholly in the future or before the ledger's first data.
    """
    season = season_of(hub, region_code)
    if text is None and start is None and end is None and season is not None:
        period = season
    else:
        period = report_period(parse_period(text, start=start, end=end), season)
    today = local_date(now, ZoneInfo(hub.settings.timezone))
    return hub.data_span.check(hub.engine, period, today)


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


def check_compared(hub: Hub, selections: Iterable[Any]) -> None:
    """Resolve every ``compare(methodologies:)`` a report query asks for, before any work starts.

    An unknown methodology then fails the report field at once, instead of failing one field
    while its siblings' database reads run on in threads the answer no longer waits for.
    """
    for selection in selections:
        if getattr(selection, "name", None) == "compare":
            references = selection.arguments.get("methodologies") or []
            if references:  # an empty list is the compare field's own error, when it resolves
                resolve_compared(hub.registry, [str(r) for r in references])
        check_compared(hub, getattr(selection, "selections", None) or [])


def fields_wanted(info: Any) -> set[Part]:
    """The report parts asked for below the field being resolved."""
    return wanted_parts(s for field in info.selected_fields for s in field.selections)


def wanted_parts(selections: Iterable[Any]) -> set[Part]:
    """The report parts a selection set asks for (through fragments too, not into ``compare``,
    whose reports are planned on their own), so that a report reads them all at once."""
    parts: set[Part] = set()
    for selection in selections:
        name = getattr(selection, "name", None)
        arguments = getattr(selection, "arguments", None)
        if arguments is None:  # a fragment: its fields belong to the same report
            parts |= wanted_parts(getattr(selection, "selections", None) or [])
        elif name == "series":
            interval = str(arguments.get("interval") or Interval.MONTH).lower()
            parts.add(SERIES_PARTS.get(Interval(interval), Part.MONTHS))
        elif name in FIELD_PARTS:
            parts.add(FIELD_PARTS[name])
    return parts
