"""Keeping the released aggregates equal to what the recipients' counted consents release.

Three changes move them: a posted batch (its rollup deltas), a change of a person's counted
consents (granted, narrowed, revoked, terminated, expired), and an erasure. Each adds the
covered amounts to the daily sums in its own transaction. A consent change or an erasure also
recomputes the person's presence bitmaps, whose changes move the distinct-person counters; a
posted batch only marks its persons pending, and :func:`settle` recomputes them before the
next report reads (recomputing thousands of persons' presence per batch would cost posting
more than everything else it does).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carbonhub.aggregates.presence import day_bit
from carbonhub.aggregates.rules import Coverage, Recipient, ReleaseRules, covered
from carbonhub.aggregates.store import (
    PRESENCE,
    DailyKey,
    PresenceBatch,
    PresenceKey,
    add_daily,
    counted_coverage,
)
from carbonhub.bulk import BulkWriter
from carbonhub.models import EnterpriseDailyRollup, PersonDailyRollup, ReleasedPending, table_of

PERSON = table_of(PersonDailyRollup)
ENTERPRISE = table_of(EnterpriseDailyRollup)
PENDING = table_of(ReleasedPending)
PersonRows = Mapping[tuple[str, date, str, str], Sequence[int | str]]
EnterpriseRows = Mapping[tuple[str, str, date, str, str], Sequence[int]]
Present = tuple[PresenceKey, str, str, date]  # (key, unit, behaviour, day)


def _recipients(
    coverage: Sequence[Coverage], kind: str, day: date, category: str
) -> set[Recipient]:
    return {c.recipient for c in coverage if c.recipient[0] == kind and c.covers(day, category)}


def on_posted(
    session: Session, rules: ReleaseRules, person_rows: PersonRows, enterprise_rows: EnterpriseRows
) -> None:
    """Add a posted batch's rollup deltas (already flushed) to the released sums, and mark its
    consenting persons pending: their presence and the counters follow at :func:`settle`."""
    persons = {k[0] for k in person_rows} | {k[1] for k in enterprise_rows}
    coverage = counted_coverage(session, persons)
    if not coverage:
        return
    sums: defaultdict[DailyKey, list[int]] = defaultdict(lambda: [0] * 6)
    pending: set[str] = set()
    for (person, day, behaviour, methodology), values in person_rows.items():
        region, entries, _, quantity, mg = values
        for kind, recipient_id in _recipients(
            coverage.get(person, ()), "programme", day, rules.category(behaviour)
        ):
            row = sums[(kind, recipient_id, str(region), day, behaviour, methodology)]
            row[0] += int(entries)
            row[1] += int(quantity)
            row[2] += int(mg)
            pending.add(person)
    for (enterprise, person, day, behaviour, methodology), amounts in enterprise_rows.items():
        covered = ("enterprise", enterprise) in _recipients(
            coverage.get(person, ()), "enterprise", day, rules.category(behaviour)
        )
        if covered:
            row = sums[("enterprise", enterprise, enterprise, day, behaviour, methodology)]
            for i, amount in enumerate(amounts):
                row[i] += amount
            pending.add(person)
    add_daily(session, sums)
    mark_pending(session, pending)


def settle(session: Session, rules: ReleaseRules, persons: Sequence[str]) -> None:
    """Recompute the presence of ``persons`` from the rollups under their counted consents,
    move the counters by the difference, and clear their pending marks.

    The caller holds the persons' ledger locks, so no batch of theirs lands meanwhile.
    """
    if not persons:
        return
    coverage = counted_coverage(session, persons)
    present: list[Present] = []
    keys = _stored_keys(session, persons)
    recipients_of = {p: {c.recipient for c in counted} for p, counted in coverage.items()}
    for person_id, recipient, unit, day, behaviour, methodology, amounts in contributions(
        session, recipients_of, list(recipients_of)
    ):
        key = (*recipient, person_id, methodology)
        keys.add(key)
        if amounts[0] > 0 and covered(
            coverage[person_id], recipient, day, rules.category(behaviour)
        ):
            present.append((key, unit, behaviour, day))
    _replace_presence(session, rules, keys, present)
    session.execute(delete(PENDING).where(PENDING.c.person_id.in_(list(persons))))


def mark_pending(session: Session, persons: Iterable[str]) -> None:
    """Mark persons whose presence must be recomputed before the next report."""
    BulkWriter(session).insert_ignoring_conflicts(
        PENDING, ("person_id",), ("person_id",), [(p,) for p in sorted(persons)]
    )


def recount(
    session: Session,
    rules: ReleaseRules,
    person_id: str,
    old: Sequence[Coverage],
    new: Sequence[Coverage],
) -> None:
    """Move the person's contribution from what ``old`` consents released to what ``new`` do.

    The sums change by the rows whose coverage changed; the presence is recomputed from the
    rollups under ``new`` (so it also repairs days a reversal emptied).
    """
    recipients = {c.recipient for c in old} | {c.recipient for c in new}
    if not recipients:
        return
    sums: defaultdict[DailyKey, list[int]] = defaultdict(lambda: [0] * 6)
    keys = {k for k in _stored_keys(session, [person_id]) if (k[0], k[1]) in recipients}
    present: list[Present] = []
    for _, recipient, unit, day, behaviour, methodology, amounts in contributions(
        session, {person_id: recipients}, [person_id]
    ):
        category = rules.category(behaviour)
        was = covered(old, recipient, day, category)
        now = covered(new, recipient, day, category)
        if was != now:
            row = sums[(*recipient, unit, day, behaviour, methodology)]
            for i, amount in enumerate(amounts):
                row[i] += amount if now else -amount
        key = (*recipient, person_id, methodology)
        keys.add(key)
        if now and amounts[0] > 0:
            present.append((key, unit, behaviour, day))
    add_daily(session, sums)
    _replace_presence(session, rules, keys, present)


def _replace_presence(
    session: Session, rules: ReleaseRules, keys: set[PresenceKey], present: Sequence[Present]
) -> None:
    """Make ``present`` the whole presence of ``keys`` (moving the counters by the change)."""
    batch = PresenceBatch(session, rules, keys, {p[3].year for p in present})
    for key in keys:
        batch.after[key] = {}
    for key, unit, behaviour, day in present:
        after = batch.after[key]
        after[(unit, behaviour)] = after.get((unit, behaviour), 0) | day_bit(day, batch.base)
    batch.save()


# (person, recipient, unit, day, behaviour, methodology, amounts)
Contribution = tuple[str, Recipient, str, date, str, str, tuple[int, ...]]
PERSON_ROWS = select(
    PERSON.c.person_id,
    PERSON.c.region_code,
    PERSON.c.local_date,
    PERSON.c.behaviour_code,
    PERSON.c.methodology_key,
    PERSON.c.entries,
    PERSON.c.quantity_milli,
    PERSON.c.reduction_mg,
)
ENTERPRISE_ROWS = select(
    ENTERPRISE.c.person_id,
    ENTERPRISE.c.enterprise_id,
    ENTERPRISE.c.local_date,
    ENTERPRISE.c.behaviour_code,
    ENTERPRISE.c.methodology_key,
    ENTERPRISE.c.entries,
    ENTERPRISE.c.quantity_milli,
    ENTERPRISE.c.reduction_mg,
    ENTERPRISE.c.project_emission_mg,
    ENTERPRISE.c.business_entries,
    ENTERPRISE.c.business_project_emission_mg,
)
STREAM_ROWS = 20_000


def contributions(
    session: Session, recipients_of: Mapping[str, set[Recipient]], persons: list[str] | None
) -> Iterator[Contribution]:
    """The rollup rows of ``persons`` as what each of their recipients could be released: the
    person rollup for programmes, the enterprise rollup for employers.

    With ``persons`` None, every person's rows are streamed in person order (programme rows
    first, then enterprise rows) and those of persons without recipients skipped.
    """
    for table, query in ((PERSON, PERSON_ROWS), (ENTERPRISE, ENTERPRISE_ROWS)):
        if persons is None:
            query = query.order_by(table.c.person_id).execution_options(yield_per=STREAM_ROWS)
        else:
            query = query.where(table.c.person_id.in_(persons))
        for person, unit, day, behaviour, methodology, *amounts in session.execute(query):
            recipients = recipients_of.get(person, ())
            if table is PERSON:
                for recipient in recipients:
                    if recipient[0] == "programme":
                        yield (
                            person,
                            recipient,
                            unit,
                            day,
                            behaviour,
                            methodology,
                            (*amounts, 0, 0, 0),
                        )
            elif ("enterprise", unit) in recipients:
                yield (
                    person,
                    ("enterprise", unit),
                    unit,
                    day,
                    behaviour,
                    methodology,
                    tuple(amounts),
                )


def _stored_keys(session: Session, persons: Sequence[str]) -> set[PresenceKey]:
    query = select(
        PRESENCE.c.recipient_kind,
        PRESENCE.c.recipient_id,
        PRESENCE.c.person_id,
        PRESENCE.c.methodology_key,
    ).where(PRESENCE.c.person_id.in_(list(persons)))
    return {
        (kind, recipient_id, person, m) for kind, recipient_id, person, m in session.execute(query)
    }
