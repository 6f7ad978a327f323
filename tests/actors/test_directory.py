"""Registering persons and enterprises, residence moves and employment (database tests)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from sqlalchemy import select
from sqlmodel import col

from carbonhub.actors import (
    complete_uscc,
    employ,
    end_employment,
    move_residence,
    register_enterprise,
    register_person,
)
from carbonhub.db import read_session, write_session
from carbonhub.errors import Conflict, InvalidInput, NotFound
from carbonhub.hub import Hub
from carbonhub.models import Employment, Person, Residence


def residences(hub: Hub, person_id: str) -> list[tuple[str, date, date | None]]:
    with read_session(hub.engine) as session:
        rows = session.scalars(
            select(Residence)
            .where(col(Residence.person_id) == person_id)
            .order_by(col(Residence.valid_from))
        )
        return [(r.region_code, r.valid_from, r.valid_to) for r in rows]


def test_given_a_district_when_a_person_registers_then_an_open_residence_starts(hub: Hub) -> None:
    with write_session(hub.engine) as session:
        person = register_person(session, home_region_code="110108", since=date(2023, 1, 1))

    assert person.id.startswith("p_")
    assert len(person.id) == 22
    assert residences(hub, person.id) == [("110108", date(2023, 1, 1), None)]


def test_given_a_province_when_a_person_registers_then_it_is_refused(hub: Hub) -> None:
    with (
        pytest.raises(InvalidInput, match=r"110000 \(Beijing\) is not a district"),
        write_session(hub.engine) as session,
    ):
        register_person(session, home_region_code="110000", since=date(2023, 1, 1))


def test_given_an_unknown_region_when_a_person_registers_then_it_is_not_found(hub: Hub) -> None:
    with pytest.raises(NotFound, match="'110199'"), write_session(hub.engine) as session:
        register_person(session, home_region_code="110199", since=date(2023, 1, 1))


def test_given_a_taken_person_id_when_registering_it_again_then_it_conflicts(hub: Hub) -> None:
    with write_session(hub.engine) as session:
        register_person(session, home_region_code="110108", since=date(2023, 1, 1), person_id="p_x")

    with pytest.raises(Conflict), write_session(hub.engine) as session:
        register_person(session, home_region_code="110105", since=date(2023, 1, 1), person_id="p_x")


def test_given_a_move_then_the_previous_residence_ends_the_day_before(
    hub: Hub, make_person: Callable[..., str]
) -> None:
    person = make_person("110108", since=date(2023, 1, 1))

    with write_session(hub.engine) as session:
        move_residence(session, person_id=person, region_code="120101", on=date(2023, 8, 1))

    assert residences(hub, person) == [
        ("110108", date(2023, 1, 1), date(2023, 7, 31)),
        ("120101", date(2023, 8, 1), None),
    ]
    with read_session(hub.engine) as session:
        moved = session.get(Person, person)
        assert moved is not None
        assert moved.home_region_code == "120101"


def test_given_a_move_not_after_the_current_residence_began_then_it_is_refused(
    hub: Hub, make_person: Callable[..., str]
) -> None:
    person = make_person("110108", since=date(2023, 5, 1))

    with pytest.raises(InvalidInput, match="must come after"), write_session(hub.engine) as session:
        move_residence(session, person_id=person, region_code="110105", on=date(2023, 5, 1))


def test_given_an_unknown_person_when_moving_then_it_is_not_found(hub: Hub) -> None:
    with pytest.raises(NotFound, match="p_nobody"), write_session(hub.engine) as session:
        move_residence(session, person_id="p_nobody", region_code="110105", on=date(2023, 5, 1))


def test_given_a_valid_code_when_an_enterprise_registers_then_it_is_stored_normalised(
    hub: Hub,
) -> None:
    code = complete_uscc("91110108", "MA01ABCD")

    with write_session(hub.engine) as session:
        enterprise = register_enterprise(
            session, name="京绿科技有限公司", uscc=code.lower(), region_code="110108"
        )

    assert enterprise.uscc == code


def test_given_a_bad_code_when_an_enterprise_registers_then_it_is_refused(hub: Hub) -> None:
    with pytest.raises(InvalidInput, match="check character"), write_session(hub.engine) as session:
        register_enterprise(session, name="x", uscc="9144030071526726XH", region_code="110108")


def test_given_a_taken_code_when_another_enterprise_registers_then_it_conflicts(hub: Hub) -> None:
    with write_session(hub.engine) as session:
        register_enterprise(session, name="a", uscc="9144030071526726XG", region_code="110108")

    with pytest.raises(Conflict, match="9144030071526726XG"), write_session(hub.engine) as session:
        register_enterprise(session, name="b", uscc="9144030071526726XG", region_code="110108")


def test_given_an_unknown_region_when_an_enterprise_registers_then_it_is_not_found(
    hub: Hub,
) -> None:
    with pytest.raises(NotFound, match="'999999'"), write_session(hub.engine) as session:
        register_enterprise(session, name="a", uscc="9144030071526726XG", region_code="999999")


def test_given_known_ids_when_employing_then_the_employment_is_recorded(
    hub: Hub, make_person: Callable[..., str], make_enterprise: Callable[..., str]
) -> None:
    person, enterprise = make_person(), make_enterprise()

    with write_session(hub.engine) as session:
        employ(session, person_id=person, enterprise_id=enterprise, since=date(2023, 3, 1))

    with read_session(hub.engine) as session:
        rows = session.scalars(select(Employment).where(col(Employment.person_id) == person)).all()
    assert [(r.enterprise_id, r.valid_from, r.valid_to) for r in rows] == [
        (enterprise, date(2023, 3, 1), None)
    ]


@pytest.mark.parametrize("unknown", ["person", "enterprise"])
def test_given_an_unknown_id_when_employing_then_it_is_not_found(
    hub: Hub, make_person: Callable[..., str], make_enterprise: Callable[..., str], unknown: str
) -> None:
    ids = {"person": make_person(), "enterprise": make_enterprise()}
    ids[unknown] = "x_unknown"

    with (
        pytest.raises(NotFound, match=f"unknown {unknown} 'x_unknown'"),
        write_session(hub.engine) as session,
    ):
        employ(
            session,
            person_id=ids["person"],
            enterprise_id=ids["enterprise"],
            since=date(2023, 1, 1),
        )


def test_given_an_end_before_the_start_when_employing_then_it_is_refused(
    hub: Hub, make_person: Callable[..., str], make_enterprise: Callable[..., str]
) -> None:
    with (
        pytest.raises(InvalidInput, match="before it starts"),
        write_session(hub.engine) as session,
    ):
        employ(
            session,
            person_id=make_person(),
            enterprise_id=make_enterprise(),
            since=date(2023, 3, 1),
            until=date(2023, 2, 28),
        )


def test_given_an_employment_when_ended_before_it_began_then_it_is_refused(
    hub: Hub, make_person: Callable[..., str], make_enterprise: Callable[..., str]
) -> None:
    with write_session(hub.engine) as session:
        job = employ(
            session,
            person_id=make_person(),
            enterprise_id=make_enterprise(),
            since=date(2023, 3, 1),
        )

    assert job.id is not None
    with (
        pytest.raises(InvalidInput, match="before it starts"),
        write_session(hub.engine) as session,
    ):
        end_employment(session, employment_id=job.id, on=date(2023, 2, 1))
