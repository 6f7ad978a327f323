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
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from carbonhub.aggregates.presence import day_bit
from carbonhub.aggregates.rules import Coverage, Recipient, ReleaseRules
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
    present: list[tuple[PresenceKey, str, str, date]] = []
    keys = _stored_keys(session, persons)
    recipients_of = {p: {c.recipient for c in counted} for p, counted in coverage.items()}
    for person_id, recipient, unit, day, behaviour, methodology, amounts in _rows_of(
        session, recipients_of
    ):
        key = (*recipient, person_id, methodology)
        keys.add(key)
        if amounts[0] > 0 and any(
            c.recipient == recipient and c.covers(day, rules.category(behaviour))
            for c in coverage[person_id]
        ):
            present.append((key, unit, behaviour, day))
    batch = PresenceBatch(session, rules, keys, {p[3].year for p in present})
    for key in keys:
        batch.after[key] = {}
    for key, unit, behaviour, day in present:
        after = batch.after[key]
        after[(unit, behaviour)] = after.get((unit, behaviour), 0) | day_bit(day, batch.base)
    batch.save()
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
    rows = [r[1:] for r in _rows_of(session, {person_id: recipients})]
    sums: defaultdict[DailyKey, list[int]] = defaultdict(lambda: [0] * 6)
    keys = {k for k in _stored_keys(session, [person_id]) if (k[0], k[1]) in recipients}
    present: list[tuple[PresenceKey, str, str, date]] = []
    for recipient, unit, day, behaviour, methodology, amounts in rows:
        category = rules.category(behaviour)
        was = any(c.recipient == recipient and c.covers(day, category) for c in old)
        now = any(c.recipient == recipient and c.covers(day, category) for c in new)
        if was != now:
            row = sums[(*recipient, unit, day, behaviour, methodology)]
            for i, amount in enumerate(amounts):
                row[i] += amount if now else -amount
        key = (*recipient, person_id, methodology)
        keys.add(key)
        if now and amounts[0] > 0:
            present.append((key, unit, behaviour, day))
    add_daily(session, sums)
    batch = PresenceBatch(session, rules, keys, {p[3].year for p in present})
    for key in keys:
        batch.after[key] = {}
    for key, unit, behaviour, day in present:
        after = batch.after[key]
        after[(unit, behaviour)] = after.get((unit, behaviour), 0) | day_bit(day, batch.base)
    batch.save()


Contribution = tuple[str, Recipient, str, date, str, str, tuple[int, ...]]


def _rows_of(session: Session, recipients_of: Mapping[str, set[Recipient]]) -> list[Contribution]:
    """The persons' rollup rows as what each recipient could be released:
    (person, recipient, unit, day, behaviour, methodology, amounts)."""
    rows: list[Contribution] = []
    programmes = {p: [r for r in rs if r[0] == "programme"] for p, rs in recipients_of.items()}
    wanted = [p for p, rs in programmes.items() if rs]
    if wanted:
        query = select(
            PERSON.c.person_id,
            PERSON.c.region_code,
            PERSON.c.local_date,
            PERSON.c.behaviour_code,
            PERSON.c.methodology_key,
            PERSON.c.entries,
            PERSON.c.quantity_milli,
            PERSON.c.reduction_mg,
        ).where(PERSON.c.person_id.in_(wanted))
        for person, region, day, behaviour, methodology, n, quantity, mg in session.execute(query):
            for recipient in programmes[person]:
                amounts = (n, quantity, mg, 0, 0, 0)
                rows.append((person, recipient, region, day, behaviour, methodology, amounts))
    employers = {p: {r[1] for r in rs if r[0] == "enterprise"} for p, rs in recipients_of.items()}
    wanted = [p for p, es in employers.items() if es]
    if wanted:
        query = select(
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
        ).where(ENTERPRISE.c.person_id.in_(wanted))
        for row in session.execute(query):
            employee: str = row[0]
            enterprise: str = row[1]
            if enterprise in employers[employee]:
                recipient = ("enterprise", enterprise)
                rows.append(
                    (employee, recipient, enterprise, row[2], row[3], row[4], tuple(row[5:]))
                )
    return rows


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
