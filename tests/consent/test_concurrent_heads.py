"""Two first consents of one person in concurrent transactions share one history head."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session

from carbonhub.consent.history import _locked_head
from carbonhub.db import is_sqlite


def test_given_two_transactions_creating_a_persons_first_head_then_both_get_the_same_row(
    hub, make_person
):
    if is_sqlite(hub.engine):
        pytest.skip("SQLite serialises writers: there is no concurrent first head to race")
    person = make_person(consents=False)
    first = Session(hub.engine)
    first.begin()
    _locked_head(first, person)  # holds the new head's row, not committed yet
    outcome: list[object] = []

    def second() -> None:
        with Session(hub.engine) as session, session.begin():
            try:
                outcome.append(_locked_head(session, person).last_seq)
            except Exception as exc:  # what the race used to raise
                outcome.append(exc)

    racer = threading.Thread(target=second)
    racer.start()
    racer.join(timeout=0.5)  # it waits for the first transaction
    first.commit()
    first.close()
    racer.join(timeout=10)

    assert outcome == [0]
