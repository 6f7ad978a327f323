"""Keeping the released aggregates equal to what the recipients' counted consents release.

Three changes move them: a posted batch (its rollup deltas), a change of a person's counted
consents (granted, narrowed, revoked, terminated, expired), and an erasure. Each adds the
covered amounts to the daily sums and updates the person's presence bitmaps, whose changes
move the distinct-person counters.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date

from sqlalchemy import select
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
from carbonhub.models import EnterpriseDailyRollup, PersonDailyRollup, table_of

PERSON = table_of(PersonDailyRollup)
ENTERPRISE = table_of(EnterpriseDailyRollup)
PersonRows = Mapping[tuple[str, date, str, str], Sequence[int | str]]
EnterpriseRows = Mapping[tuple[str, str, date, str, str], Sequence[int]]


def _recipients(
    coverage: Sequence[Coverage], kind: str, day: date, category: str
) -> set[Recipient]:
    return {c.recipient for c in coverage if c.recipient[0] == kind and c.covers(day, category)}


def on_posted(
    session: Session, rules: ReleaseRules, person_rows: PersonRows, enterprise_rows: EnterpriseRows
) -> None:
    """Add a posted batch's rollup deltas (already flushed) to the released aggregates."""
    persons = {k[0] for k in person_rows} | {k[1] for k in enterprise_rows}
    coverage = counted_coverage(session, persons)
    if not coverage:
        return
    sums: defaultdict[DailyKey, list[int]] = defaultdict(lambda: [0] * 6)
    bits: list[tuple[PresenceKey, str, str, date]] = []
    recheck: set[str] = set()
    for (person, day, behaviour, methodology), values in person_rows.items():
        region, entries, _, quantity, mg = values
        for kind, recipient_id in _recipients(
            coverage.get(person, ()), "programme", day, rules.category(behaviour)
        ):
            row = sums[(kind, recipient_id, str(region), day, behaviour, methodology)]
            row[0] += int(entries)
            row[1] += int(quantity)
            row[2] += int(mg)
            if int(entries) > 0:
                bits.append(
                    ((kind, recipient_id, person, methodology), str(region), behaviour, day)
                )
            else:
                recheck.add(person)
    for (enterprise, person, day, behaviour, methodology), amounts in enterprise_rows.items():
        covered = ("enterprise", enterprise) in _recipients(
            coverage.get(person, ()), "enterprise", day, rules.category(behaviour)
        )
        if not covered:
            continue
        row = sums[("enterprise", enterprise, enterprise, day, behaviour, methodology)]
        for i, amount in enumerate(amounts):
            row[i] += amount
        if amounts[0] > 0:
            bits.append(
                ((("enterprise", enterprise, person, methodology)), enterprise, behaviour, day)
            )
        else:
            recheck.add(person)
    add_daily(session, sums)
    if bits:
        batch = PresenceBatch(session, rules, {b[0] for b in bits}, {b[3].year for b in bits})
        for key, unit, behaviour, day in bits:
            after = batch.after[key]
            after[(unit, behaviour)] = after.get((unit, behaviour), 0) | day_bit(day, batch.base)
        batch.save()
    for person in sorted(recheck):
        # a reversal may have emptied a day: recount the person from the rollups
        recount(session, rules, person, coverage[person], coverage[person])


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
    rows = _rows_of(session, person_id, recipients)
    sums: defaultdict[DailyKey, list[int]] = defaultdict(lambda: [0] * 6)
    keys = _stored_keys(session, person_id, recipients)
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


def _rows_of(
    session: Session, person_id: str, recipients: set[Recipient]
) -> list[tuple[Recipient, str, date, str, str, tuple[int, ...]]]:
    """The person's rollup rows each recipient could be released: (recipient, unit, day, ...)."""
    rows: list[tuple[Recipient, str, date, str, str, tuple[int, ...]]] = []
    programmes = [r for r in recipients if r[0] == "programme"]
    if programmes:
        query = select(
            PERSON.c.region_code,
            PERSON.c.local_date,
            PERSON.c.behaviour_code,
            PERSON.c.methodology_key,
            PERSON.c.entries,
            PERSON.c.quantity_milli,
            PERSON.c.reduction_mg,
        ).where(PERSON.c.person_id == person_id)
        for region, day, behaviour, methodology, entries, quantity, mg in session.execute(query):
            for recipient in programmes:
                rows.append(
                    (
                        recipient,
                        region,
                        day,
                        behaviour,
                        methodology,
                        (entries, quantity, mg, 0, 0, 0),
                    )
                )
    enterprises = [r[1] for r in recipients if r[0] == "enterprise"]
    if enterprises:
        query = select(
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
        ).where(ENTERPRISE.c.person_id == person_id, ENTERPRISE.c.enterprise_id.in_(enterprises))
        for row in session.execute(query):
            enterprise: str = row[0]
            day, behaviour, methodology, amounts = row[1], row[2], row[3], tuple(row[4:])
            rows.append(
                (
                    ("enterprise", enterprise),
                    enterprise,
                    day,
                    behaviour,
                    methodology,
                    tuple(amounts),
                )
            )
    return rows


def _stored_keys(session: Session, person_id: str, recipients: set[Recipient]) -> set[PresenceKey]:
    query = select(
        PRESENCE.c.recipient_kind, PRESENCE.c.recipient_id, PRESENCE.c.methodology_key
    ).where(PRESENCE.c.person_id == person_id)
    return {
        (kind, recipient_id, person_id, methodology)
        for kind, recipient_id, methodology in session.execute(query)
        if (kind, recipient_id) in recipients
    }
