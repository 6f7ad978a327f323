"""Recording the hub's domain metrics: event outcomes, sync lag and consent changes.

Callers pass iterables (usually generators over their results); with metrics off they are
never iterated, so the recording costs nothing but the call.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from carbonhub.telemetry import runtime
from carbonhub.telemetry.spans import Traced

OUTCOMES = ("posted", "duplicate", "quarantined", "rejected")
_PENDING_CONSENTS = "carbonhub.telemetry.consents"


def count_events(outcomes: Iterable[tuple[str, str]]) -> Counter[str]:
    """Count ``(source, outcome)`` pairs in ``carbonhub.events``; the totals by outcome.

    Nothing is iterated (and the totals are empty) when metrics and traces are both off.
    """
    if not runtime.active():
        return Counter()
    pairs = Counter(outcomes)
    instruments = runtime.instruments()
    if instruments is not None:
        for (source, outcome), count in pairs.items():
            instruments.events.add(count, {"source": source, "outcome": outcome})
    totals: Counter[str] = Counter()
    for (_, outcome), count in pairs.items():
        totals[outcome] += count
    return totals


def record_outcomes(span: Traced, outcomes: Iterable[tuple[str, str]]) -> None:
    """Count ``(source, outcome)`` pairs and put the totals on ``span`` as
    ``carbonhub.events.<outcome>`` (every outcome, zeros included)."""
    totals = count_events(outcomes)
    if span.span is not None:
        span.set({f"carbonhub.events.{name}": totals.get(name, 0) for name in OUTCOMES})


def observe_sync_lag(lags: Iterable[tuple[str, float]]) -> None:
    """Record ``(source, seconds from occurrence to posting)`` pairs in ``carbonhub.sync.lag``."""
    instruments = runtime.instruments()
    if instruments is None:
        return
    for source, seconds in lags:
        instruments.sync_lag.record(max(0.0, seconds), {"source": source})


def consent_changed(session: Session, change: str, purpose: str) -> None:
    """Count a consent change in ``carbonhub.consents`` once ``session``'s transaction commits
    (a change rolled back is not counted)."""
    if runtime.instruments() is None:
        return
    pending: list[tuple[str, str]] | None = session.info.get(_PENDING_CONSENTS)
    if pending is None:
        pending = session.info[_PENDING_CONSENTS] = []
        event.listen(session, "after_commit", _count_committed)
        event.listen(session, "after_rollback", _forget_rolled_back)
    pending.append((change, purpose))


def _count_committed(session: Session) -> None:
    pending: list[tuple[str, str]] = session.info.get(_PENDING_CONSENTS) or []
    instruments = runtime.instruments()
    if instruments is not None:
        for change, purpose in pending:
            instruments.consents.add(1, {"change": change, "purpose": purpose})
    pending.clear()


def _forget_rolled_back(session: Session, *_: Any) -> None:
    pending: list[tuple[str, str]] = session.info.get(_PENDING_CONSENTS) or []
    pending.clear()
