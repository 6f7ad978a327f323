"""The ingest consent gate: posting asks it which provider events their persons consented to.

The ledger defines the question; the consent package answers it (``ConsentIngestGate``), so
posting needs no knowledge of consents and tests of ledger rules post without a gate.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import NamedTuple, Protocol

from sqlalchemy.orm import Session


class IngestCheck(NamedTuple):
    """May ``source`` deliver the person's behaviour of ``category`` on local ``day``?"""

    person_id: str
    source: str
    category: str
    day: date


class IngestGate(Protocol):
    """Answers, for a whole batch at once, which checks an ingest consent covers at ``now``."""

    def covered(
        self, session: Session, checks: Sequence[IngestCheck], now: datetime
    ) -> set[IngestCheck]:
        """The subset of ``checks`` an active ingest consent covers."""
        ...
