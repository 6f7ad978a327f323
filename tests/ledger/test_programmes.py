"""An event belongs to the programme of the district the person lived in that day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import text

from carbonhub.actors import move_residence
from carbonhub.db import write_session
from tests.fixtures.actors import event


def test_given_a_move_to_shanghai_then_later_events_belong_to_shanghais_programme(
    hub, make_person, post
):
    person = make_person("110108")
    with write_session(hub.engine) as session:
        move_residence(session, person_id=person, region_code="310115", on=date(2023, 8, 1))
    post(
        [
            event(person, "transport.bike_share", "2023-07-15 01:00", km="3", duration_s=900),
            event(person, "transport.bike_share", "2023-08-15 01:00", km="3", duration_s=900),
        ]
    )
    with hub.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT local_date, region_code, programme_id FROM ledger_entry ORDER BY seq")
        ).all()
    assert [(str(r[0]), r[1], r[2]) for r in rows] == [
        ("2023-07-15", "110108", "beijing-green-life-2023"),
        ("2023-08-15", "310115", "shanghai-green-life-2023"),
    ]
