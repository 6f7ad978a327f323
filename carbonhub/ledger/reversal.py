"""Corrections: a credit is never edited; a reversal entry cancels it, in full.

The reversal carries the original's amounts negated, takes its place at the end of the person's
hash chain, claws back the points it earned and subtracts it from every rollup. A corrected
event is then posted as a new event (under a new external id).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.aggregates import ReleaseRules
from carbonhub.errors import Conflict, InvalidInput, NotFound
from carbonhub.ledger.chain import canonical_json, entry_hash
from carbonhub.ledger.rollups import RollupDeltas, contributions_of
from carbonhub.ledger.state import lock_heads
from carbonhub.methodology import ProgrammeDirectory
from carbonhub.models import LedgerEntry, LedgerHead, utcnow

REVERSAL_SOURCE = "carbonhub"


def reverse_entry(
    session: Session, *, entry_id: int, reason: str, programmes: ProgrammeDirectory
) -> LedgerEntry:
    """Append a reversal of credit ``entry_id`` to its person's ledger; returns the reversal."""
    if not reason.strip():
        raise InvalidInput("say why the entry is reversed")
    original = session.get(LedgerEntry, entry_id)
    if original is None:
        raise NotFound(f"unknown ledger entry {entry_id}")
    if original.entry_type != "credit":
        raise InvalidInput(
            f"entry {entry_id} is a {original.entry_type}; only credits can be reversed"
        )
    head = lock_heads(session, [original.person_id])[original.person_id]
    already = session.scalars(
        select(col(LedgerEntry.id)).where(col(LedgerEntry.reverses_entry_id) == entry_id)
    ).first()
    if already is not None:
        raise Conflict(f"entry {entry_id} was reversed already by entry {already}")
    programme = programmes.get(original.programme_id)
    mg_per_point = programme.mg_per_point if programme is not None else 1
    total = head.points_remainder_mg - original.reduction_mg
    points, remainder = divmod(total, mg_per_point)
    reductions = _negated(json.loads(original.reductions))
    row: dict[str, Any] = {
        "person_id": original.person_id,
        "seq": head.last_seq + 1,
        "entry_type": "reversal",
        "source": REVERSAL_SOURCE,
        "external_id": f"reversal:{original.id}",
        "reverses_entry_id": original.id,
        "behaviour_code": original.behaviour_code,
        "category": original.category,
        "claim_reference": original.claim_reference,
        "quantity_milli": -original.quantity_milli,
        "unit": original.unit,
        "measures": original.measures,
        "occurred_at": original.occurred_at,
        "local_date": original.local_date,
        "region_code": original.region_code,
        "employers": original.employers,
        "programme_id": original.programme_id,
        "methodology_id": original.methodology_id,
        "methodology_version": original.methodology_version,
        "factor_g": original.factor_g,
        "reduction_mg": -original.reduction_mg,
        "status": "reversal",
        "note": reason.strip()[:500],
        "reductions": canonical_json(reductions),
        "points": points,
        "event_digest": original.event_digest,
        "recorded_at": utcnow(),
        "prev_hash": head.last_hash,
        "business_travel": original.business_travel,
    }
    row["hash"] = entry_hash(row)
    reversal = LedgerEntry(**row)
    session.add(reversal)
    session.execute(
        update(LedgerHead)
        .where(col(LedgerHead.person_id) == original.person_id)
        .values(
            last_seq=row["seq"],
            last_hash=row["hash"],
            points_remainder_mg=remainder,
            points_earned=head.points_earned + points,
        )
    )
    deltas = RollupDeltas()
    deltas.add(
        person_id=original.person_id,
        day=original.local_date,
        behaviour=original.behaviour_code,
        region=original.region_code,
        employers=json.loads(original.employers),
        contributions=contributions_of(reductions, -1),
        business_travel=original.business_travel,
    )
    deltas.flush(session, ReleaseRules(programmes))
    session.flush()
    return reversal


def _negated(reductions: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    negated = {}
    for key, item in reductions.items():
        copy = dict(item)
        for amount in ("mg", "qty", "pe_mg"):
            if amount in copy:
                copy[amount] = -int(copy[amount])
        negated[key] = copy
    return negated
