"""The personal carbon ledger: posting, hash chain, rollups, points, reversals and verification."""

from carbonhub.ledger.events import (
    BehaviourEvent,
    EventResult,
    MalformedEvent,
    Outcome,
    PostingReport,
    Rejection,
    parse_event,
)
from carbonhub.ledger.points import PointsBalance, points_balance, redeem_points
from carbonhub.ledger.posting import LedgerPoster
from carbonhub.ledger.reversal import reverse_entry
from carbonhub.ledger.rollups import rebuild_rollups
from carbonhub.ledger.verify import ChainProblem, VerificationReport, verify_ledger

__all__ = [
    "BehaviourEvent",
    "ChainProblem",
    "EventResult",
    "LedgerPoster",
    "MalformedEvent",
    "Outcome",
    "PointsBalance",
    "PostingReport",
    "Rejection",
    "VerificationReport",
    "parse_event",
    "points_balance",
    "rebuild_rollups",
    "redeem_points",
    "reverse_entry",
    "verify_ledger",
]
