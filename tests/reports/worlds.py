"""Random small worlds for report tests: residents of a few Beijing districts, one employer, and
behaviour events posted through the real ledger poster (with some credits reversed).

A :class:`Plan` is pure data (what hypothesis draws); the ``build_world`` fixture of the
conftest turns it into persons, consents, employment, ledger entries and reversals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from hypothesis import assume
from hypothesis import strategies as st

from carbonhub.ledger import BehaviourEvent
from tests.fixtures.actors import event

BEIJING = "110000"
DISTRICTS = ("110101", "110102", "110105", "110108")
JULY = tuple(date(2023, 7, d) for d in range(1, 32))
JULY_AND_AUGUST = JULY + tuple(date(2023, 8, d) for d in range(1, 32))

METHODOLOGIES = (
    "beijing-green-life-2023@1.0",
    "beijing-handbook-2022@1.0",
    "shenzhen-transit-2021@1.0",
    "ant-forest-2023@1.0",
)

MakeEvent = Callable[[str, datetime, int, str], BehaviourEvent]

# behaviour -> event of that behaviour, given (person, when, amount 1..20, reference).
# Every methodology covers some of these and not others; the water-saving tap none at all.
BEHAVIOURS: dict[str, MakeEvent] = {
    "transport.bike_share": lambda p, when, n, ref: event(
        p, "transport.bike_share", when, km=str(Decimal(n) / 2), duration_s=150 * n
    ),
    "transport.metro": lambda p, when, n, ref: event(
        p, "transport.metro", when, source="transit", km=n, ride=1
    ),
    "transport.bus": lambda p, when, n, ref: event(
        p, "transport.bus", when, source="transit", km=n, ride=1
    ),
    "food.no_utensils": lambda p, when, n, ref: event(
        p, "food.no_utensils", when, source="takeaway", order=1, reference=ref
    ),
    "food.clean_plate": lambda p, when, n, ref: event(
        p, "food.clean_plate", when, source="canteen", meal=1, reference=ref
    ),
    "use.e_waybill": lambda p, when, n, ref: event(
        p, "use.e_waybill", when, source="logistics", waybill=1, reference=ref
    ),
    "digital_finance.e_invoice": lambda p, when, n, ref: event(
        p, "digital_finance.e_invoice", when, source="bank", invoice=1, reference=ref
    ),
    "housing.water_saving_tap": lambda p, when, n, ref: event(
        p, "housing.water_saving_tap", when, source="home", tap=1 + n % 10, reference=ref
    ),
}


# behaviours no registered methodology quantifies: their entries reach no rollup and no report
COVERED_BY_NONE = frozenset({"housing.water_saving_tap"})


@dataclass(frozen=True)
class PersonPlan:
    district: str
    consents: bool
    employed: bool


@dataclass(frozen=True)
class EventPlan:
    person: int
    behaviour: str
    day: date
    minute: int  # after 08:00 local (00:00 UTC), so the local day is ``day``
    amount: int

    def moment(self) -> datetime:
        return datetime.combine(self.day, datetime.min.time(), tzinfo=UTC) + timedelta(
            minutes=self.minute
        )


@dataclass(frozen=True)
class Plan:
    persons: tuple[PersonPlan, ...]
    events: tuple[EventPlan, ...]
    reversals: tuple[int, ...] = ()


@dataclass(frozen=True)
class World:
    """What a built plan became: person ids (in plan order), the employer, reversed entries."""

    persons: tuple[str, ...]
    employer: str
    reversed_entries: tuple[int, ...]

    def districts(self, plan: Plan) -> set[str]:
        return {p.district for p in plan.persons}


@st.composite
def plans(
    draw: st.DrawFn,
    *,
    districts: Sequence[str] = DISTRICTS,
    days: Sequence[date] = JULY_AND_AUGUST,
    persons: tuple[int, int] = (3, 8),
    events: tuple[int, int] = (1, 40),
    reversals: int = 3,
    consent_weights: Sequence[bool] = (True, True, True, False),
) -> Plan:
    """A plan of persons (most consenting, some employed) and their events."""
    people = draw(
        st.lists(
            st.builds(
                PersonPlan,
                district=st.sampled_from(districts),
                consents=st.sampled_from(consent_weights),
                employed=st.booleans(),
            ),
            min_size=persons[0],
            max_size=persons[1],
        )
    )
    happenings = draw(
        st.lists(
            st.builds(
                EventPlan,
                person=st.integers(0, len(people) - 1),
                behaviour=st.sampled_from(sorted(BEHAVIOURS)),
                day=st.sampled_from(days),
                minute=st.integers(0, 899),
                amount=st.integers(1, 20),
            ),
            min_size=events[0],
            max_size=events[1],
        )
    )
    undone = draw(st.lists(st.integers(0, 10_000), max_size=reversals))
    plan = Plan(tuple(people), tuple(happenings), tuple(undone))
    assume(periods_with_events(plan))
    return plan


@st.composite
def crowded_plans(
    draw: st.DrawFn,
    *,
    districts: Sequence[str] = DISTRICTS,
    days: Sequence[date] = JULY_AND_AUGUST,
    groups: tuple[int, int] = (1, 4),
    group_size: tuple[int, int] = (1, 5),
    reversals: int = 2,
) -> Plan:
    """Groups of persons doing the same things on the same days, next to loners.

    Cells then hold a few persons each, near the threshold, so that one small cell among
    larger siblings (the case complementary suppression exists for) is common.
    """
    few_days = draw(st.lists(st.sampled_from(days), min_size=1, max_size=4, unique=True))
    people: list[PersonPlan] = []
    happenings: list[EventPlan] = []
    for _ in range(draw(st.integers(*groups))):
        district = draw(st.sampled_from(districts))
        employed = draw(st.booleans())
        active_days = draw(st.lists(st.sampled_from(few_days), min_size=1, max_size=3, unique=True))
        behaviours = draw(
            st.lists(st.sampled_from(sorted(BEHAVIOURS)), min_size=1, max_size=2, unique=True)
        )
        for _ in range(draw(st.integers(*group_size))):
            people.append(
                PersonPlan(district, draw(st.sampled_from((True, True, True, False))), employed)
            )
            for day in active_days:
                for behaviour in behaviours:
                    happenings.append(
                        EventPlan(
                            len(people) - 1,
                            behaviour,
                            day,
                            draw(st.integers(0, 899)),
                            draw(st.integers(1, 20)),
                        )
                    )
    undone = draw(st.lists(st.integers(0, 10_000), max_size=reversals))
    plan = Plan(tuple(people), tuple(happenings), tuple(undone))
    assume(periods_with_events(plan))
    return plan


def events_of(plan: Plan, persons: Sequence[str]) -> list[BehaviourEvent]:
    """The plan's events for the built persons, with unique references."""
    return [
        BEHAVIOURS[e.behaviour](
            persons[e.person], e.moment(), e.amount, f"ref-{i}-{persons[e.person]}"
        )
        for i, e in enumerate(plan.events)
    ]


def periods_with_events(plan: Plan) -> list[str]:
    """The predefined periods (year, quarter, month, day) holding at least one planned event
    that some methodology quantifies (reports refuse periods before the ledger's first data)."""
    days = sorted({e.day for e in plan.events if e.behaviour not in COVERED_BY_NONE})
    found: list[str] = []
    for d in days:
        for label in (
            str(d.year),
            f"{d.year}-Q{(d.month + 2) // 3}",
            f"{d.year}-{d.month:02d}",
            d.isoformat(),
        ):
            if label not in found:
                found.append(label)
    return found


def bounds(period: str) -> tuple[date, date]:
    """First and last day of a predefined period, computed here rather than read from a report."""
    if len(period) == 4:
        return date(int(period), 1, 1), date(int(period), 12, 31)
    if "-Q" in period:
        year, quarter = int(period[:4]), int(period[-1])
        first = date(year, 3 * quarter - 2, 1)
        return first, _month_end(date(year, 3 * quarter, 1))
    if len(period) == 7:
        first = date(int(period[:4]), int(period[5:]), 1)
        return first, _month_end(first)
    day = date.fromisoformat(period)
    return day, day


def _month_end(first: date) -> date:
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return following - timedelta(days=1)
