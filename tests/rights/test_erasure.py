"""Erasure (PIPL Art. 47): the person is gone from every table, statistics lose exactly their
contribution, and everybody else's data and hash chains stay as they were."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from carbonhub.actors import move_residence
from carbonhub.consent.access_log import first_broken_entry
from carbonhub.consent.rights import erase_person
from carbonhub.db import read_session, write_session
from carbonhub.errors import NotFound
from carbonhub.hub import Hub
from carbonhub.ledger import verify_ledger
from carbonhub.models import AccessLogEntry, Person, metadata
from tests.fixtures.actors import event
from tests.fixtures.graphql import citizen
from tests.rights.conftest import NOW, PRIMARY, Citizen, person_contributions, region_totals


def erase(hub: Hub, person_id: str):
    with write_session(hub.engine) as session:
        return erase_person(session, person_id, now=NOW, rules=hub.release_rules())


def rows_naming(hub: Hub, person_id: str) -> dict[str, int]:
    """Rows of any table with a person id column (or the access log's subject) naming the person."""
    found: dict[str, int] = {}
    with read_session(hub.engine) as session:
        for table in metadata.sorted_tables:
            for column in ("person_id", "subject_person_id"):
                if column in table.c:
                    count = session.scalar(
                        select(func.count()).select_from(table).where(table.c[column] == person_id)
                    )
                    if count:
                        found[f"{table.name}.{column}"] = count
        if session.get(Person, person_id) is not None:
            found["person.id"] = 1
    return found


def without(contributions: dict[tuple[str, str], int], totals: dict[tuple[str, str], int]):
    """``totals`` minus ``contributions`` (keys that reach zero dropped)."""
    result = Counter(totals)
    result.subtract(contributions)
    return {k: v for k, v in result.items() if v}


@pytest.fixture
def two(make_citizen_with_everything) -> tuple[Citizen, Citizen]:
    return make_citizen_with_everything(), make_citizen_with_everything()


def test_given_a_citizen_when_erased_then_no_table_holds_their_id(hub, two):
    me, other = two
    assert rows_naming(hub, me.person_id)

    erase(hub, me.person_id)

    assert rows_naming(hub, me.person_id) == {}
    assert rows_naming(hub, other.person_id) != {}


def test_given_a_citizen_when_erased_then_their_account_and_tokens_are_gone(hub, two):
    me, other = two

    report = erase(hub, me.person_id)

    for table in (
        "citizen_account",
        "login_session",
        "oauth_grant",
        "oauth_refresh_token",
        "oauth_access_token",
        "oauth_authorization_code",
        "consent_grant",
        "consent_grant_category",
        "consent_event",
        "consent_head",
        "consent_receipt",
        "entry_dispute",
        "points_redemption",
        "residence",
        "employment",
        "ledger_head",
    ):
        assert report.rows.get(table, 0) >= 1, table
    assert report.rows["ledger_entry"] == 5
    assert report.rows["quarantined_event"] == 2
    assert report.rows["person"] == 1
    with read_session(hub.engine) as session:
        grants = session.execute(text("SELECT person_id FROM oauth_grant")).scalars().all()
    assert grants == [other.person_id]


def test_given_an_erasure_then_region_totals_drop_by_exactly_the_persons_contribution(hub, two):
    me, _ = two
    before = region_totals(hub.engine)
    mine = person_contributions(hub.engine)[me.person_id]
    assert {region for region, _ in mine} == {"110108", "110105"}  # they moved mid-July

    report = erase(hub, me.person_id)

    assert region_totals(hub.engine) == without(mine, before)
    per_methodology = Counter()
    for (_, key), mg in mine.items():
        per_methodology[key] += mg
    assert report.removed_mg == dict(per_methodology)
    assert report.removed_mg[PRIMARY] > 0


def test_given_an_erasure_then_the_remaining_ledger_verifies(hub, two):
    me, _ = two

    erase(hub, me.person_id)

    report = verify_ledger(hub.engine)
    assert report.ok, report.problem
    assert report.persons == 1
    assert report.entries == 5


def test_given_an_erasure_then_the_access_log_keeps_its_rows_and_its_chain_verifies(hub, two):
    me, other = two
    with read_session(hub.engine) as session:
        before = [(r.id, r.subject_digest, r.hash) for r in session.scalars(select(AccessLogEntry))]

    report = erase(hub, me.person_id)

    with read_session(hub.engine) as session:
        after = session.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id)).all()
        assert first_broken_entry(session) is None
    assert [(r.id, r.subject_digest, r.hash) for r in after] == sorted(before)
    assert [r.subject_person_id for r in after] == [None, other.person_id]
    assert report.rows["access_log"] == 1


def test_given_a_citizen_who_read_their_own_data_when_erased_then_no_log_row_names_them(
    hub, gql, two
):
    me, _ = two
    gql("{ me { id } }", principal=citizen(me.person_id)).ok()

    erase(hub, me.person_id)

    with read_session(hub.engine) as session:
        named = session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.recipient_id == me.person_id)
        ).all()
    assert named == []


def test_given_an_erased_person_when_erased_again_then_it_is_not_found(hub, two):
    me, _ = two
    erase(hub, me.person_id)

    with pytest.raises(NotFound):
        erase(hub, me.person_id)


def test_given_an_erasure_then_the_other_persons_rollups_are_untouched(hub, two):
    me, other = two
    theirs = person_contributions(hub.engine)[other.person_id]

    erase(hub, me.person_id)

    assert person_contributions(hub.engine) == {other.person_id: theirs}


# -- the property: any person of any small population --------------------------------------

DISTRICTS = ("110108", "110105", "110102")
BEHAVIOURS = st.sampled_from(("bike", "order", "metro"))
lives = st.lists(
    st.tuples(
        st.sampled_from(DISTRICTS),
        st.lists(st.tuples(BEHAVIOURS, st.integers(1, 28), st.integers(1, 40)), max_size=5),
        st.booleans(),
    ),
    min_size=2,
    max_size=5,
)


def _event(person: str, kind: str, day: int, amount: int):
    when = f"2023-07-{day:02d} 0{amount % 9}:{amount:02d}"
    if kind == "bike":
        return event(person, "transport.bike_share", when, km=str(amount / 10), duration_s=1800)
    if kind == "order":
        return event(
            person,
            "food.no_utensils",
            when,
            source="takeaway",
            order=1,
            reference=f"{person}{when}",
        )
    return event(person, "transport.metro", when, source="transit", km=str(amount), ride=1)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(population=lives, data=st.data())
def test_given_a_random_population_when_one_is_erased_then_everyone_else_is_unchanged(
    hub, make_person, post, population, data
):
    persons = []
    for district, behaviours, moves in population:
        person = make_person(district)
        if moves:
            with write_session(hub.engine) as session:
                move_residence(
                    session, person_id=person, region_code="110101", on=date(2023, 7, 15)
                )
        persons.append(person)
        post([_event(person, *b) for b in behaviours])
    victim = data.draw(st.sampled_from(persons))
    before_regions = region_totals(hub.engine)
    before_people = person_contributions(hub.engine)
    mine = before_people.pop(victim, {})

    report = erase(hub, victim)

    assert region_totals(hub.engine) == without(mine, before_regions)
    assert person_contributions(hub.engine) == before_people
    removed = Counter()
    for (_, key), mg in mine.items():
        removed[key] += mg
    assert report.removed_mg == dict(removed)
    assert rows_naming(hub, victim) == {}
    assert verify_ledger(hub.engine).ok
