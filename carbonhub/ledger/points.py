"""Green points: earned from credited reductions at the programme's rate, redeemed for rewards.

Points cannot be transferred (Shenzhen's rule, 《深圳市碳普惠管理办法》): there is no operation
that moves points from one person to another; a redemption names a reward, never a person.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.db import is_sqlite
from carbonhub.errors import Conflict, InvalidInput, NotFound
from carbonhub.models import LedgerHead, Person, PointsRedemption


@dataclass(frozen=True, slots=True)
class PointsBalance:
    """A person's points: earned (net of reversals), redeemed, and what is left."""

    earned: int
    redeemed: int

    @property
    def balance(self) -> int:
        """Points that can still be redeemed."""
        return self.earned - self.redeemed


def points_balance(session: Session, person_id: str) -> PointsBalance:
    """The person's points account (zero before their first entry)."""
    head = session.get(LedgerHead, person_id, populate_existing=True)
    if head is None:
        return PointsBalance(0, 0)
    return PointsBalance(head.points_earned, head.points_redeemed)


def redeem_points(
    session: Session, *, person_id: str, points: int, reward: str
) -> PointsRedemption:
    """Spend ``points`` of the person's balance on ``reward``, in the caller's transaction."""
    if points <= 0:
        raise InvalidInput(f"redeem a positive number of points, not {points}")
    if not reward.strip():
        raise InvalidInput("name the reward the points are redeemed for")
    if session.get(Person, person_id) is None:
        raise NotFound(f"unknown person {person_id!r}")
    query = (
        select(LedgerHead)
        .where(col(LedgerHead.person_id) == person_id)
        .execution_options(populate_existing=True)
    )
    if not is_sqlite(session.get_bind()):
        query = query.with_for_update()
    head = session.scalars(query).first()
    balance = 0 if head is None else head.points_earned - head.points_redeemed
    if head is None or points > balance:
        raise Conflict(f"cannot redeem {points} points: the balance is {balance}")
    head.points_redeemed += points
    redemption = PointsRedemption(person_id=person_id, points=points, reward=reward.strip()[:200])
    session.add(redemption)
    session.flush()
    return redemption
