"""Hash-chain verification finds the first edited, deleted or reordered entry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.event import listen, remove

from carbonhub.db import create_db_engine
from carbonhub.hub import Hub
from carbonhub.ledger import verify_ledger
from carbonhub.ledger.chain import entry_hash
from tests.fixtures.actors import event
from tests.ledger.conftest import LedgerView


@pytest.fixture
def chains(make_person: Callable[..., str], post: Callable) -> tuple[str, str]:
    """Two persons with four entries each; returns (first, second) in verification order."""
    people = sorted([make_person(), make_person("110105")])
    post(
        event(person, "transport.bike_share", f"2023-07-0{day} 01:00", km=f"{day}.5")
        for person in people
        for day in range(1, 5)
    )
    return people[0], people[1]


def ids(ledger: LedgerView, person: str) -> list[int]:
    return [e.id for e in ledger.entries(person) if e.id is not None]


def test_given_an_untouched_ledger_then_it_verifies(hub: Hub, chains: tuple[str, str]) -> None:
    report = verify_ledger(hub.engine)

    assert report.ok
    assert (report.entries, report.persons) == (8, 2)


def test_given_an_empty_ledger_then_it_verifies(hub: Hub) -> None:
    assert verify_ledger(hub.engine).ok


def test_given_an_edited_amount_then_the_entry_is_reported_as_edited(
    hub: Hub, chains: tuple[str, str], ledger: LedgerView
) -> None:
    target = ids(ledger, chains[1])[1]
    ledger.execute(
        "UPDATE ledger_entry SET reduction_mg = reduction_mg * 10 WHERE id = :id", id=target
    )

    problem = verify_ledger(hub.engine).problem

    assert problem is not None
    assert (problem.kind, problem.entry_id, problem.person_id, problem.seq) == (
        "edited",
        target,
        chains[1],
        2,
    )
    assert f"entry {target}" in problem.describe()


def test_given_two_edits_then_the_first_in_chain_order_is_reported(
    hub: Hub, chains: tuple[str, str], ledger: LedgerView
) -> None:
    later, earlier = ids(ledger, chains[1])[3], ids(ledger, chains[0])[2]
    for target in (later, earlier):
        ledger.execute("UPDATE ledger_entry SET unit = 'ride' WHERE id = :id", id=target)

    problem = verify_ledger(hub.engine).problem

    assert problem is not None
    assert (problem.kind, problem.entry_id) == ("edited", earlier)


def test_given_a_deleted_middle_entry_then_the_gap_is_reported_at_the_next_entry(
    hub: Hub, chains: tuple[str, str], ledger: LedgerView
) -> None:
    entry_ids = ids(ledger, chains[0])
    ledger.execute("DELETE FROM ledger_entry WHERE id = :id", id=entry_ids[1])

    problem = verify_ledger(hub.engine).problem

    assert problem is not None
    assert (problem.kind, problem.entry_id, problem.seq) == ("deleted", entry_ids[2], 3)


def test_given_a_deleted_last_entry_then_the_head_reveals_it(
    hub: Hub, chains: tuple[str, str], ledger: LedgerView
) -> None:
    ledger.execute("DELETE FROM ledger_entry WHERE id = :id", id=ids(ledger, chains[0])[-1])

    problem = verify_ledger(hub.engine).problem

    assert problem is not None
    assert (problem.kind, problem.person_id, problem.entry_id) == ("deleted", chains[0], None)
    assert "head records seq 4" in problem.detail


def test_given_every_entry_of_a_person_deleted_then_the_head_reveals_it(
    hub: Hub, chains: tuple[str, str], ledger: LedgerView
) -> None:
    ledger.execute("DELETE FROM ledger_entry WHERE person_id = :p", p=chains[1])

    problem = verify_ledger(hub.engine).problem

    assert problem is not None
    assert (problem.kind, problem.person_id) == ("deleted", chains[1])


def test_given_two_entries_swapped_in_the_chain_then_the_first_of_them_is_reported(
    hub: Hub, chains: tuple[str, str], ledger: LedgerView
) -> None:
    second, third = ids(ledger, chains[0])[1:3]
    ledger.execute("UPDATE ledger_entry SET seq = -1 WHERE id = :id", id=second)
    ledger.execute("UPDATE ledger_entry SET seq = 2 WHERE id = :id", id=third)
    ledger.execute("UPDATE ledger_entry SET seq = 3 WHERE id = :id", id=second)

    problem = verify_ledger(hub.engine).problem

    assert problem is not None
    assert problem.entry_id == third
    assert problem.kind in {"edited", "reordered"}


def test_given_an_edit_with_its_hash_recomputed_then_the_broken_link_is_found(
    hub: Hub, chains: tuple[str, str], ledger: LedgerView
) -> None:
    entries = ledger.entries(chains[0])
    forged = entries[1].model_dump()
    forged["reduction_mg"] = 9_999_999
    ledger.execute(
        "UPDATE ledger_entry SET reduction_mg = :mg, hash = :hash WHERE id = :id",
        mg=forged["reduction_mg"],
        hash=entry_hash(forged),
        id=forged["id"],
    )

    problem = verify_ledger(hub.engine).problem

    assert problem is not None
    assert (problem.kind, problem.entry_id) == ("broken link", entries[2].id)


def test_given_an_altered_head_then_verification_fails(
    hub: Hub, chains: tuple[str, str], ledger: LedgerView
) -> None:
    ledger.execute("UPDATE ledger_head SET last_seq = 3 WHERE person_id = :p", p=chains[1])

    problem = verify_ledger(hub.engine).problem

    assert problem is not None
    assert problem.person_id == chains[1]


def test_given_entries_posted_while_verifying_then_the_walk_sees_one_consistent_snapshot(
    hub: Hub, chains: tuple[str, str]
) -> None:
    # a second connection posts to the first person's chain after verification has read the
    # chain heads and before it reads the entries
    writer = create_db_engine(hub.engine.url.render_as_string(hide_password=False))
    late_ride = event(chains[0], "transport.bike_share", "2023-07-09 01:00", km="1")
    posted: list[int] = []

    def post_concurrently(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM ledger_entry" in statement and not posted:
            posted.append(hub.poster().post(writer, [late_ride]).posted)

    listen(hub.engine, "before_cursor_execute", post_concurrently)
    try:
        report = verify_ledger(hub.engine)
    finally:
        remove(hub.engine, "before_cursor_execute", post_concurrently)
        writer.dispose()

    assert posted == [1]
    assert report.ok, report.problem
    assert report.entries == 8
    assert verify_ledger(hub.engine).entries == 9
