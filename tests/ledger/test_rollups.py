"""Rollups equal the sum of their entries, to the milligram, and can be rebuilt from them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from carbonhub.actors import employ, move_residence
from carbonhub.db import read_session, write_session
from carbonhub.hub import Hub
from carbonhub.ledger import BehaviourEvent, rebuild_rollups, reverse_entry
from carbonhub.models import (
    Employment,
    EnterpriseDailyRollup,
    Person,
    PersonDailyRollup,
    RegionDailyRollup,
)
from tests.fixtures.actors import event
from tests.ledger.conftest import LedgerView, reductions

CREDITING = {"credited", "capped"}
SEASON_START = datetime(2023, 6, 14, 16, tzinfo=UTC)  # 00:00 on 2023-06-15 in Beijing
SEASON_MINUTES = 139 * 24 * 60  # to the end of 2023-10-31, local
DB_EXAMPLES = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def rebuild(hub: Hub) -> None:
    with write_session(hub.engine) as session:
        rebuild_rollups(session, hub.release_rules())


def sums(rows: list[Any], key: Callable[[Any], Any]) -> Counter[Any]:
    """reduction_mg summed by ``key``, leaving out keys whose sum is zero."""
    total: Counter[Any] = Counter()
    for row in rows:
        total[key(row)] += row.reduction_mg
    return Counter({k: v for k, v in total.items() if v})


def credited(entry: Any) -> dict[str, int]:
    """The entry's reduction by methodology, where the methodology credited it."""
    return {k: int(v["mg"]) for k, v in reductions(entry).items() if v["status"] in CREDITING}


# -- the exact-totals property ------------------------------------------------------------------

BEIJING_DISTRICTS = ["110101", "110105", "110108", "110114", "110119"]
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("59.999"), places=3)
events_spec = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5),  # which person (modulo how many there are)
        st.sampled_from(["bike", "order", "waybill", "metro", "bus", "walk"]),
        st.integers(min_value=0, max_value=SEASON_MINUTES - 1),
        quantities,
        st.sampled_from(["bikeshare", "maas", "amap"]),
    ),
    min_size=1,
    max_size=30,
)
employments = st.one_of(
    st.none(),
    st.tuples(st.integers(0, 130), st.one_of(st.none(), st.integers(0, 40))),
)


def build(
    spec: tuple[int, str, int, Decimal, str], persons: list[str], serial: int
) -> BehaviourEvent:
    index, kind, minute, quantity, source = spec
    person = persons[index % len(persons)]
    when = SEASON_START + timedelta(minutes=minute)
    km = str(quantity)
    if kind == "bike":
        return event(person, "transport.bike_share", when, source=source, km=km)
    if kind == "order":
        return event(person, "food.no_utensils", when, source=source, order=1)
    if kind == "waybill":
        reference = f"SF{serial % 3}"  # a few shared references: some claims repeat
        return event(person, "use.e_waybill", when, source=source, reference=reference, waybill=1)
    if kind == "walk":
        return event(
            person, "transport.walk", when, source=source, step=int(quantity * 1000), day=1
        )
    behaviour = "transport.metro" if kind == "metro" else "transport.bus"
    return event(person, behaviour, when, source=source, ride=1, km=km)


@DB_EXAMPLES
@given(
    districts=st.lists(st.sampled_from(BEIJING_DISTRICTS), min_size=1, max_size=4),
    jobs=st.lists(employments, min_size=4, max_size=4),
    specs=events_spec,
)
def test_property_every_rollup_is_the_exact_sum_of_its_entries(
    hub: Hub,
    make_person: Callable[..., str],
    make_enterprise: Callable[..., str],
    post: Callable,
    ledger: LedgerView,
    districts: list[str],
    jobs: list[tuple[int, int | None] | None],
    specs: list[tuple[int, str, int, Decimal, str]],
) -> None:
    enterprise = make_enterprise()
    persons = [make_person(district) for district in districts]
    with write_session(hub.engine) as session:
        for person, job in zip(persons, jobs, strict=False):
            if job is not None:
                since = date(2023, 6, 15) + timedelta(days=job[0])
                until = None if job[1] is None else since + timedelta(days=job[1])
                employ(
                    session, person_id=person, enterprise_id=enterprise, since=since, until=until
                )

    post([build(spec, persons, serial) for serial, spec in enumerate(specs)])

    entries = ledger.entries()
    with read_session(hub.engine) as session:
        home = dict(session.execute(select(Person.id, Person.home_region_code)).all())
        employed = session.scalars(select(Employment)).all()
        region_rows = session.scalars(select(RegionDailyRollup)).all()
        person_rows = session.scalars(select(PersonDailyRollup)).all()
        enterprise_rows = session.scalars(select(EnterpriseDailyRollup)).all()

    def employers(person: str, day: date) -> list[str]:
        return [
            job.enterprise_id
            for job in employed
            if job.person_id == person
            and job.valid_from <= day
            and (job.valid_to is None or day <= job.valid_to)
        ]

    by_district: Counter[Any] = Counter()
    by_person: Counter[Any] = Counter()
    by_enterprise: Counter[Any] = Counter()
    for entry in entries:
        for key, mg in credited(entry).items():
            by_district[(home[entry.person_id], key)] += mg
            by_person[(entry.person_id, key)] += mg
            for employer in employers(entry.person_id, entry.local_date):
                by_enterprise[(employer, key)] += mg
    by_district = Counter({k: v for k, v in by_district.items() if v})

    # the whole of Beijing, methodology by methodology, to the milligram
    beijing = set(hub.regions.leaves_under("110000"))
    in_beijing = [r for r in region_rows if r.region_code in beijing]
    for key in {m.key for m in hub.registry.all()}:
        assert sum(r.reduction_mg for r in in_beijing if r.methodology_key == key) == sum(
            mg for entry in entries for k, mg in credited(entry).items() if k == key
        )
    # each district, each person, each employer
    assert sums(region_rows, lambda r: (r.region_code, r.methodology_key)) == by_district
    assert sums(person_rows, lambda r: (r.person_id, r.methodology_key)) == +by_person
    assert sums(enterprise_rows, lambda r: (r.enterprise_id, r.methodology_key)) == +by_enterprise
    # an employer's rows are only for days its employees worked there
    for row in enterprise_rows:
        assert row.enterprise_id in employers(row.person_id, row.local_date), row

    before = ledger.rollups()
    rebuild(hub)
    assert ledger.rollups() == before


# -- worked scenarios ---------------------------------------------------------------------------


def test_given_a_move_then_each_day_counts_in_the_district_lived_in_that_local_day(
    hub: Hub, make_person: Callable[..., str], post: Callable, ledger: LedgerView
) -> None:
    person = make_person("110108", since=date(2023, 1, 1))
    with write_session(hub.engine) as session:
        move_residence(session, person_id=person, region_code="110105", on=date(2023, 8, 1))

    # 15:30Z is 23:30 on 2023-07-31 in Beijing (Haidian); 16:30Z is 00:30 on 2023-08-01 (Chaoyang)
    post(
        [
            event(person, "transport.bike_share", "2023-07-31 15:30", km="1"),
            event(person, "transport.bike_share", "2023-07-31 16:30", km="2"),
        ]
    )

    assert [(e.local_date, e.region_code) for e in ledger.entries(person)] == [
        (date(2023, 7, 31), "110108"),
        (date(2023, 8, 1), "110105"),
    ]
    with read_session(hub.engine) as session:
        rows = session.scalars(
            select(RegionDailyRollup).where(
                RegionDailyRollup.methodology_key == "beijing-green-life-2023@1.0"
            )
        ).all()
    assert sorted((r.region_code, r.local_date, r.reduction_mg) for r in rows) == [
        ("110105", date(2023, 8, 1), 500_000),
        ("110108", date(2023, 7, 31), 250_000),
    ]


def test_given_an_employment_window_then_only_rides_inside_it_reach_the_employer(
    hub: Hub,
    make_person: Callable[..., str],
    make_enterprise: Callable[..., str],
    post: Callable,
) -> None:
    enterprise, person = make_enterprise(), make_person()
    with write_session(hub.engine) as session:
        employ(
            session,
            person_id=person,
            enterprise_id=enterprise,
            since=date(2023, 7, 1),
            until=date(2023, 7, 31),
        )

    post(
        [
            event(person, "transport.bike_share", when, km="1")
            for when in (
                "2023-06-30 15:00",
                "2023-06-30 16:30",
                "2023-07-31 15:00",
                "2023-07-31 16:30",
            )
        ]
    )

    with read_session(hub.engine) as session:
        rows = session.scalars(select(EnterpriseDailyRollup)).all()
    assert {(r.enterprise_id, r.local_date) for r in rows} == {
        (enterprise, date(2023, 7, 1)),
        (enterprise, date(2023, 7, 31)),
    }


def test_given_a_ledger_with_caps_moves_jobs_and_reversals_then_a_rebuild_reproduces_the_rollups(
    hub: Hub,
    make_person: Callable[..., str],
    make_enterprise: Callable[..., str],
    post: Callable,
    ledger: LedgerView,
) -> None:
    commuter = make_person("110108", employer=make_enterprise())
    mover = make_person("110101")
    with write_session(hub.engine) as session:
        move_residence(session, person_id=mover, region_code="110114", on=date(2023, 7, 2))
    post(
        [
            *(
                event(
                    commuter,
                    "transport.metro",
                    f"2023-07-01 0{h}:00",
                    source="metro",
                    ride=1,
                    km="9.7",
                )
                for h in range(7)
            ),
            event(commuter, "transport.bike_share", "2023-07-01 10:00", km="3.217"),
            event(mover, "food.no_utensils", "2023-07-01 04:00", source="meituan", order=1),
            event(mover, "food.no_utensils", "2023-07-02 04:00", source="meituan", order=1),
            event(
                mover, "use.e_waybill", "2023-07-02 05:00", source="sf", reference="SF1", waybill=1
            ),
        ]
    )
    with write_session(hub.engine) as session:
        for entry in (ledger.entries(commuter)[0], ledger.entries(mover)[-1]):
            assert entry.id is not None
            reverse_entry(
                session, entry_id=entry.id, reason="correction", programmes=hub.programmes
            )
    maintained = ledger.rollups()

    rebuild(hub)

    assert ledger.rollups() == maintained
    assert len(maintained["enterprise_daily_rollup"]) > 0
