"""Green points: earned from the primary methodology's credit at the programme's rate."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from carbonhub.db import read_session, write_session
from carbonhub.errors import Conflict, InvalidInput, NotFound
from carbonhub.hub import Hub
from carbonhub.ledger import PointsBalance, points_balance, redeem_points
from carbonhub.models import LedgerHead
from tests.fixtures.actors import event
from tests.ledger.conftest import LedgerView


def balance(hub: Hub, person: str) -> PointsBalance:
    with read_session(hub.engine) as session:
        return points_balance(session, person)


def redeem(hub: Hub, person: str, points: int, reward: str = "a metro ticket") -> None:
    with write_session(hub.engine) as session:
        redeem_points(session, person_id=person, points=points, reward=reward)


@pytest.fixture
def rider(make_person: Callable[..., str], post: Callable) -> str:
    """A person whose 3.2 km ride (800 g at 10 g a point) earned 80 points."""
    person = make_person()
    post([event(person, "transport.bike_share", "2023-07-01 01:00", km="3.2")])
    return person


def test_given_a_3_2_km_ride_at_10_g_a_point_then_it_earns_80_points(
    hub: Hub, rider: str, ledger: LedgerView
) -> None:
    assert balance(hub, rider) == PointsBalance(earned=80, redeemed=0)
    assert ledger.entries(rider)[0].points == 80


@pytest.mark.parametrize(
    ("orders", "points"),
    [(1, 4), (2, 9), (3, 13), (7, 32), (22, 100)],
    ids=lambda v: str(v),
)
def test_given_small_reductions_then_the_remainders_carry_over(
    hub: Hub,
    make_person: Callable[..., str],
    post: Callable,
    ledger: LedgerView,
    orders: int,
    points: int,
) -> None:
    person = make_person()

    post(
        event(
            person, "food.no_utensils", f"2023-07-01 0{i % 10}:{i:02d}", source="meituan", order=1
        )
        for i in range(orders)
    )

    assert balance(hub, person).earned == points  # floor(orders x 45.72 g / 10 g)
    head = ledger.head(person)
    assert head.points_earned * 10_000 + head.points_remainder_mg == orders * 45_720


def test_given_uncredited_behaviours_then_no_points_are_earned(
    hub: Hub, make_person: Callable[..., str], post: Callable
) -> None:
    person = make_person()

    post([event(person, "transport.metro", "2023-07-01 01:00", source="metro", ride=1)])

    assert balance(hub, person).earned == 0  # beijing-green-life-2023 does not cover the metro


def test_given_a_balance_when_points_are_redeemed_then_the_balance_drops(
    hub: Hub, rider: str
) -> None:
    redeem(hub, rider, 30)

    assert balance(hub, rider) == PointsBalance(earned=80, redeemed=30)
    assert balance(hub, rider).balance == 50


def test_given_a_balance_when_redeeming_more_then_it_conflicts_and_nothing_changes(
    hub: Hub, rider: str
) -> None:
    redeem(hub, rider, 50)

    with pytest.raises(Conflict, match="cannot redeem 31 points: the balance is 30"):
        redeem(hub, rider, 31)
    assert balance(hub, rider).balance == 30


@pytest.mark.parametrize("points", [0, -5])
def test_given_a_non_positive_amount_when_redeeming_then_it_is_invalid(
    hub: Hub, rider: str, points: int
) -> None:
    with pytest.raises(InvalidInput, match="positive number of points"):
        redeem(hub, rider, points)


def test_given_no_reward_when_redeeming_then_it_is_invalid(hub: Hub, rider: str) -> None:
    with pytest.raises(InvalidInput, match="name the reward"):
        redeem(hub, rider, 1, reward=" ")


def test_given_an_unknown_person_when_redeeming_then_it_is_not_found(hub: Hub) -> None:
    with pytest.raises(NotFound, match="p_nobody"):
        redeem(hub, "p_nobody", 1)


def test_given_a_person_without_entries_then_the_balance_is_zero_and_cannot_be_spent(
    hub: Hub, make_person: Callable[..., str]
) -> None:
    person = make_person()

    assert balance(hub, person) == PointsBalance(0, 0)
    with pytest.raises(Conflict, match="the balance is 0"):
        redeem(hub, person, 1)


def test_given_a_redemption_then_later_credits_add_to_the_balance(
    hub: Hub, rider: str, post: Callable
) -> None:
    redeem(hub, rider, 80)

    post([event(rider, "transport.bike_share", "2023-07-02 01:00", km="1")])

    assert balance(hub, rider) == PointsBalance(earned=105, redeemed=80)


def test_given_a_session_holding_the_head_when_posting_then_its_balance_is_current(
    hub: Hub, rider: str
) -> None:
    with write_session(hub.engine) as session:
        held = session.get(LedgerHead, rider)  # loaded before the batch: 80 points
        hub.poster().post_batch(
            session, [event(rider, "transport.bike_share", "2023-07-02 01:00", km="4")]
        )

        assert points_balance(session, rider).earned == 180
        redeem_points(session, person_id=rider, points=150, reward="a bike pass")
        assert held is not None

    assert balance(hub, rider) == PointsBalance(earned=180, redeemed=150)
