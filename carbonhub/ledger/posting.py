"""Posting behaviour events to the personal carbon ledger, in batches.

For each batch, in one transaction::

    parse -> validate -> person & programme -> lock chain heads -> idempotency
          -> cross-source de-duplication -> quantify under every methodology -> caps
          -> points -> hash chain -> entries + rollups + heads + quarantine

Nothing is silently dropped: every event ends as an entry, a duplicate of one, or a
quarantined record with its reason.
"""

from __future__ import annotations

import calendar
import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert
from sqlalchemy.orm import Session

from carbonhub.aggregates import ReleaseRules
from carbonhub.bulk import BulkWriter
from carbonhub.db import write_session
from carbonhub.ledger.chain import canonical_json, entry_hash
from carbonhub.ledger.events import (
    BehaviourEvent,
    EventResult,
    MalformedEvent,
    Outcome,
    PostingReport,
    Rejection,
    event_digest,
    parse_event,
    raw_payload,
)
from carbonhub.ledger.gate import IngestCheck, IngestGate
from carbonhub.ledger.rollups import Contribution, RollupDeltas
from carbonhub.ledger.state import (
    HEAD_COLUMNS,
    Claim,
    ClaimIndex,
    DayUsage,
    HeadState,
    PersonFacts,
    load_cap_usage,
    load_claims,
    load_persons,
    lock_heads,
    posted_events,
)
from carbonhub.ledger.validation import Refusal, ValidEvent, validate
from carbonhub.methodology import (
    Activity,
    CapPeriod,
    CapUsage,
    DedupRule,
    Methodology,
    MethodologyRegistry,
    Programme,
    ProgrammeDirectory,
    Quantification,
    QuantStatus,
    apply_caps,
    quantify,
)
from carbonhub.models import LedgerEntry, LedgerHead, QuarantinedEvent, table_of, utcnow
from carbonhub.periods import local_date
from carbonhub.telemetry import record_outcomes, traced

ENTRY_TABLE = table_of(LedgerEntry)
ENTRY_COLUMNS = tuple(c.name for c in ENTRY_TABLE.columns if c.name != "id")
HEAD_TABLE = table_of(LedgerHead)
QUARANTINE_TABLE = table_of(QuarantinedEvent)

Clock = Callable[[], datetime]
NOTE_LENGTH = 500  # the width of ledger_entry.note
DAY_UNIT = "day"  # a behaviour counted by the day is claimed once per local day


@dataclass(slots=True)
class _Candidate:
    """A valid event of a known person, ready to be checked against the ledger."""

    index: int
    valid: ValidEvent
    digest: str
    facts: PersonFacts
    programme: Programme
    primary: Methodology
    day: date

    @property
    def event(self) -> BehaviourEvent:
        return self.valid.event


class LedgerPoster:
    """Posts behaviour events under the registered methodologies and the programmes' rules."""

    def __init__(
        self,
        registry: MethodologyRegistry,
        programmes: ProgrammeDirectory,
        *,
        clock: Clock = utcnow,
        default_timezone: str = "Asia/Shanghai",
    ) -> None:
        self.registry = registry
        self.default_zone = ZoneInfo(default_timezone)
        self.catalogue = registry.catalogue
        self.programmes = programmes
        self.release_rules = ReleaseRules(programmes, self.catalogue.category_of())
        self.clock = clock
        self.methodologies = registry.all()
        self._capped = {cap.behaviour for m in self.methodologies for cap in m.caps}
        self._month_capped = {
            cap.behaviour
            for m in self.methodologies
            for cap in m.caps
            if cap.per is CapPeriod.MONTH
        }
        windows = [
            b.window_minutes for b in self.catalogue.behaviours if b.dedup is DedupRule.WINDOW
        ]
        self._max_window = timedelta(minutes=max(windows, default=0))
        # per behaviour, the methodologies with a factor for it (the others say "not covered")
        self.covering: dict[str, tuple[Methodology, ...]] = {
            b.code: tuple(m for m in self.methodologies if m.factor_for(b.code) is not None)
            for b in self.catalogue.behaviours
        }

    def post(
        self,
        engine: Engine,
        events: Iterable[BehaviourEvent | Mapping[str, Any]],
        *,
        batch_size: int = 2000,
        on_batch: Callable[[int], None] | None = None,
        gate: IngestGate | None = None,
    ) -> PostingReport:
        """Post ``events`` in batches, one transaction per batch; returns every outcome.

        With a ``gate`` (events from providers), an event its person did not consent to
        receive from that source is rejected and not stored.
        """
        results: list[EventResult] = []
        iterator = iter(events)
        while batch := list(itertools.islice(iterator, batch_size)):
            with write_session(engine) as session:
                results.extend(self.post_batch(session, batch, gate=gate))
            if on_batch is not None:
                on_batch(len(batch))
        return PostingReport.of(results)

    def post_batch(
        self,
        session: Session,
        raw_events: Sequence[BehaviourEvent | Mapping[str, Any]],
        *,
        gate: IngestGate | None = None,
    ) -> list[EventResult]:
        """Post one batch inside the caller's transaction (a sync run commits its cursor with it)."""
        with traced("ledger.post_batch", {"carbonhub.events.count": len(raw_events)}) as span:
            batch = _Batch(self, session, self.clock(), gate)
            batch.run(raw_events)
            results = batch.finish()
            record_outcomes(span, ((r.source, r.outcome.value) for r in results))
        return results


class _Batch:
    """The state of posting one batch."""

    def __init__(
        self, poster: LedgerPoster, session: Session, now: datetime, gate: IngestGate | None
    ) -> None:
        self.poster = poster
        self.session = session
        self.now = now
        self.gate = gate
        self.results: dict[int, EventResult] = {}
        self.quarantine: list[dict[str, Any]] = []
        # (index, index of its first copy, event): an event repeated within the batch shares
        # the first copy's fate, which is known only at the end of the batch.
        self.repeats: list[tuple[int, int, BehaviourEvent]] = []
        self.entries: list[dict[str, Any]] = []
        self.deltas = RollupDeltas()
        self.employer_json: dict[tuple[str, ...], str] = {}

    # -- outcomes -----------------------------------------------------------------------------

    def refuse(self, index: int, raw: object, reason: Rejection, detail: str) -> None:
        source, external_id, person_id, behaviour = _identity(raw)
        self.results[index] = EventResult(
            source, external_id, Outcome.QUARANTINED, person_id, None, reason, detail
        )
        self.quarantine.append(
            {
                "source": source[:64],
                "external_id": None if external_id is None else external_id[:200],
                "person_id": None if person_id is None else person_id[:40],
                "behaviour_code": None if behaviour is None else behaviour[:64],
                "reason": reason.value,
                "detail": detail[:1000],
                "payload": raw_payload(raw),
                "received_at": self.now,
            }
        )

    def duplicate(self, index: int, event: BehaviourEvent, person_id: str, seq: int | None) -> None:
        self.results[index] = EventResult(
            event.source, event.external_id, Outcome.DUPLICATE, person_id, seq
        )

    # -- the pipeline -------------------------------------------------------------------------

    def run(self, raw_events: Sequence[BehaviourEvent | Mapping[str, Any]]) -> None:
        valid = self._validate(raw_events)
        candidates = self._consented(self._attach_persons(valid))
        if not candidates:
            return
        heads = lock_heads(self.session, {c.facts.person_id for c in candidates})
        candidates = self._drop_posted(candidates)
        candidates.sort(
            key=lambda c: (
                c.facts.person_id,
                c.event.occurred_at,
                c.event.source,
                c.event.external_id,
            )
        )
        claims = self._load_claims(candidates)
        usage = self._load_usage(candidates)
        for candidate in candidates:
            self._post_one(candidate, heads[candidate.facts.person_id], claims, usage)
        self._write(heads)

    def _validate(
        self, raw_events: Sequence[BehaviourEvent | Mapping[str, Any]]
    ) -> list[tuple[int, ValidEvent, str]]:
        seen: dict[tuple[str, str], tuple[str, int]] = {}
        valid = []
        for index, raw in enumerate(raw_events):
            try:
                event = parse_event(raw)
            except MalformedEvent as exc:
                self.refuse(index, raw, Rejection.MALFORMED, str(exc))
                continue
            checked = validate(event, self.poster.catalogue, self.now)
            if isinstance(checked, Refusal):
                self.refuse(index, event, checked.reason, checked.detail)
                continue
            digest = event_digest(event, checked.measures)
            key = (event.source, event.external_id)
            if key in seen:
                first_digest, first_index = seen[key]
                if first_digest == digest:
                    self.repeats.append((index, first_index, event))
                else:
                    self.refuse(
                        index,
                        event,
                        Rejection.CONFLICTING_DUPLICATE,
                        f"{event.source} event {event.external_id} appears twice in the batch with different content",
                    )
                continue
            seen[key] = (digest, index)
            valid.append((index, checked, digest))
        return valid

    def _attach_persons(self, valid: list[tuple[int, ValidEvent, str]]) -> list[_Candidate]:
        persons = load_persons(self.session, (v.event.person_id for _, v, _ in valid))
        candidates = []
        for index, checked, digest in valid:
            event = checked.event
            facts = persons.get(event.person_id)
            if facts is None:
                self.refuse(
                    index,
                    event,
                    Rejection.UNKNOWN_PERSON,
                    f"no person {event.person_id!r} is registered",
                )
                continue
            placed = self._programme_on(facts, event.occurred_at)
            if isinstance(placed, str):
                self.refuse(
                    index,
                    event,
                    Rejection.NO_PROGRAMME,
                    f"no carbon-inclusion programme covers region {placed}",
                )
                continue
            programme, day = placed
            primary = self.poster.registry.resolve(programme.primary_methodology)
            if not primary.in_effect(day):
                until = primary.effective_to.isoformat() if primary.effective_to else "open"
                self.refuse(
                    index,
                    event,
                    Rejection.OUTSIDE_METHODOLOGY_PERIOD,
                    f"{day} is outside {primary.key}, in effect {primary.effective_from}..{until}",
                )
                continue
            candidates.append(_Candidate(index, checked, digest, facts, programme, primary, day))
        return candidates

    def _consented(self, candidates: list[_Candidate]) -> list[_Candidate]:
        """Drop (reject, not store) events their person did not consent to receive."""
        if self.gate is None or not candidates:
            return candidates
        asked = [
            IngestCheck(c.facts.person_id, c.event.source, c.valid.behaviour.category, c.day)
            for c in candidates
        ]
        covered = self.gate.covered(self.session, asked, self.now)
        kept = []
        for candidate, check in zip(candidates, asked, strict=True):
            if check in covered:
                kept.append(candidate)
                continue
            event = candidate.event
            self.results[candidate.index] = EventResult(
                event.source,
                event.external_id,
                Outcome.REJECTED,
                None,
                None,
                Rejection.NO_INGEST_CONSENT,
                f"person {check.person_id} has no ingest consent for {check.source} covering "
                f"category {check.category} on {check.day}; the event was not stored",
            )
        return kept

    def _programme_on(
        self, facts: PersonFacts, occurred_at: datetime
    ) -> tuple[Programme, date] | str:
        """The programme of the district the person lived in that day, and the local day.

        The day is first read in the home programme's time zone; a person who had moved to a
        region under another programme is placed there (and the day re-read in its zone).
        Returns the region code when no programme covers it.
        """
        home = self.poster.programmes.for_region(facts.home_region)
        zone = home.timezone if home is not None else self.poster.default_zone
        region = facts.region_on(local_date(occurred_at, zone))
        programme = self.poster.programmes.for_region(region)
        if programme is None:
            return region
        return programme, local_date(occurred_at, programme.timezone)

    def _drop_posted(self, candidates: list[_Candidate]) -> list[_Candidate]:
        posted = posted_events(
            self.session, ((c.event.source, c.event.external_id) for c in candidates)
        )
        remaining = []
        for c in candidates:
            earlier = posted.get((c.event.source, c.event.external_id))
            if earlier is None:
                remaining.append(c)
            elif earlier.event_digest == c.digest:
                self.duplicate(c.index, c.event, earlier.person_id, earlier.seq)
            else:
                self.refuse(
                    c.index,
                    c.event,
                    Rejection.CONFLICTING_DUPLICATE,
                    f"{c.event.source} event {c.event.external_id} was posted before with different "
                    f"content (person {earlier.person_id}, entry {earlier.seq}); send a correction "
                    "under a new id",
                )
        return remaining

    def _load_claims(self, candidates: list[_Candidate]) -> ClaimIndex:
        window = [c for c in candidates if c.valid.behaviour.dedup is DedupRule.WINDOW]
        referenced = [
            c
            for c in candidates
            if c.valid.behaviour.dedup is DedupRule.REFERENCE and c.event.reference
        ]
        times = [c.event.occurred_at for c in window] or [self.now]
        return load_claims(
            self.session,
            window_requests=[(c.facts.person_id, c.event.behaviour) for c in window],
            lo=min(times) - self.poster._max_window,
            hi=max(times) + self.poster._max_window,
            reference_requests=[
                (c.facts.person_id, c.event.behaviour, c.event.reference or "") for c in referenced
            ],
        )

    def _load_usage(
        self, candidates: list[_Candidate]
    ) -> dict[tuple[str, str, str], dict[date, DayUsage]]:
        """Earlier credits the caps count against: the event days, or whole months for month caps."""
        usage: dict[tuple[str, str, str], dict[date, DayUsage]] = {}
        capped = [c for c in candidates if c.event.behaviour in self.poster._capped]
        monthly = [c for c in capped if c.event.behaviour in self.poster._month_capped]
        daily = [c for c in capped if c.event.behaviour not in self.poster._month_capped]
        for group, whole_months in ((daily, False), (monthly, True)):
            if not group:
                continue
            first, last = min(c.day for c in group), max(c.day for c in group)
            if whole_months:
                first = first.replace(day=1)
                last = last.replace(day=calendar.monthrange(last.year, last.month)[1])
            usage.update(
                load_cap_usage(
                    self.session,
                    requests=[(c.facts.person_id, c.event.behaviour) for c in group],
                    first_day=first,
                    last_day=last,
                )
            )
        return usage

    def _duplicate_claim(self, c: _Candidate, claims: ClaimIndex) -> Claim | None:
        behaviour = c.valid.behaviour
        if behaviour.dedup is DedupRule.WINDOW:
            window = timedelta(minutes=behaviour.window_minutes)
            return claims.within(
                c.facts.person_id,
                behaviour.code,
                c.event.occurred_at,
                window,
                c.event.source,
                day=c.day if behaviour.count_unit == DAY_UNIT else None,
            )
        if c.event.reference:
            return claims.by_reference(c.facts.person_id, behaviour.code, c.event.reference)
        return None

    def _post_one(
        self,
        c: _Candidate,
        head: HeadState,
        claims: ClaimIndex,
        usage: dict[tuple[str, str, str], dict[date, DayUsage]],
    ) -> None:
        event = c.event
        earlier = self._duplicate_claim(c, claims)
        if earlier is not None:
            self.refuse(
                c.index,
                event,
                Rejection.DUPLICATE_CLAIM,
                f"{event.behaviour} already claimed by {earlier.source} event {earlier.external_id} "
                f"at {earlier.occurred_at.isoformat()}; counted once",
            )
            return
        covering = self.poster.covering.get(event.behaviour, ())
        quantifications = [self._quantify(c, m, usage) for m in covering]
        primary = next(
            (q for q in quantifications if q.methodology_key == c.primary.key),
            None,
        ) or quantify(Activity(event.behaviour, c.valid.measures, c.day), c.primary)
        region = c.facts.region_on(c.day)
        employers = c.facts.employers_on(c.day)
        points = _earn_points(head, primary.reduction_mg, c.programme)
        unit, quantity = _entry_measure(c, primary)
        entry: dict[str, Any] = {
            "person_id": c.facts.person_id,
            "seq": head.last_seq + 1,
            "entry_type": "credit",
            "source": event.source,
            "external_id": event.external_id,
            "reverses_entry_id": None,
            "behaviour_code": event.behaviour,
            "category": c.valid.behaviour.category,
            "claim_reference": event.reference,
            "quantity_milli": quantity,
            "unit": unit,
            "measures": canonical_json(c.valid.measures),
            "occurred_at": event.occurred_at,
            "local_date": c.day,
            "region_code": region,
            "employers": self._employers_json(employers),
            "programme_id": c.programme.id,
            "methodology_id": c.primary.id,
            "methodology_version": c.primary.version,
            "factor_g": None if primary.factor_g is None else str(primary.factor_g),
            "reduction_mg": primary.reduction_mg,
            "status": primary.status.value,
            "note": None if primary.note is None else primary.note[:NOTE_LENGTH],
            "reductions": canonical_json(reductions_json(quantifications)),
            "points": points,
            "event_digest": c.digest,
            "recorded_at": self.now,
            "prev_hash": head.last_hash,
            "business_travel": event.business_travel,
        }
        entry["hash"] = entry_hash(entry)
        head.last_seq, head.last_hash, head.changed = entry["seq"], entry["hash"], True
        self.entries.append(entry)
        claims.add(
            c.facts.person_id,
            event.behaviour,
            Claim(event.occurred_at, event.source, event.external_id, c.day),
            event.reference,
        )
        self.deltas.add(
            person_id=c.facts.person_id,
            day=c.day,
            behaviour=event.behaviour,
            region=region,
            employers=employers,
            contributions=[_contribution(q) for q in quantifications if q.applies],
            business_travel=event.business_travel,
        )
        self.results[c.index] = EventResult(
            event.source, event.external_id, Outcome.POSTED, c.facts.person_id, entry["seq"]
        )

    def _employers_json(self, employers: tuple[str, ...]) -> str:
        text = self.employer_json.get(employers)
        if text is None:
            text = self.employer_json[employers] = canonical_json(list(employers))
        return text

    def _quantify(
        self,
        c: _Candidate,
        methodology: Methodology,
        usage: dict[tuple[str, str, str], dict[date, DayUsage]],
    ) -> Quantification:
        q = quantify(Activity(c.event.behaviour, c.valid.measures, c.day), methodology)
        caps = methodology.caps_for(c.event.behaviour)
        if not caps or not q.applies:
            return q
        days = usage.setdefault((c.facts.person_id, c.event.behaviour, methodology.key), {})
        today = days.get(c.day, DayUsage())
        month = [u for d, u in days.items() if (d.year, d.month) == (c.day.year, c.day.month)]
        q = apply_caps(
            q,
            caps,
            {
                CapPeriod.DAY: CapUsage(today.counted, today.mg),
                CapPeriod.MONTH: CapUsage(sum(u.counted for u in month), sum(u.mg for u in month)),
            },
        )
        days[c.day] = DayUsage(
            today.counted + (1 if q.reduction_mg > 0 else 0), today.mg + q.reduction_mg
        )
        return q

    def _write(self, heads: dict[str, HeadState]) -> None:
        writer = BulkWriter(self.session)
        writer.insert(
            ENTRY_TABLE, ENTRY_COLUMNS, [tuple(e[c] for c in ENTRY_COLUMNS) for e in self.entries]
        )
        self.deltas.flush(self.session, self.poster.release_rules)
        writer.update(
            HEAD_TABLE,
            "person_id",
            HEAD_COLUMNS[1:],
            [h.row() for h in heads.values() if h.changed],
        )

    def finish(self) -> list[EventResult]:
        for index, first_index, event in self.repeats:
            first = self.results[first_index]
            if first.outcome is Outcome.QUARANTINED and first.reason is not None:
                self.refuse(index, event, first.reason, first.detail or first.reason.value)
            else:
                self.duplicate(index, event, first.person_id or event.person_id, first.seq)
        if self.quarantine:
            self.session.execute(insert(QUARANTINE_TABLE), self.quarantine)
        return [self.results[i] for i in sorted(self.results)]


def reductions_json(quantifications: Iterable[Quantification]) -> dict[str, dict[str, Any]]:
    """The stored form of an entry's reductions: every methodology that knows the behaviour."""
    stored: dict[str, dict[str, Any]] = {}
    for q in quantifications:
        if q.status is QuantStatus.NOT_COVERED:
            continue
        item: dict[str, Any] = {"status": q.status.value, "mg": q.reduction_mg}
        if q.unit is not None:
            item["unit"] = q.unit
        if q.applies:
            item["qty"] = q.quantity_milli
            item["factor"] = str(q.factor_g)
        if q.project_emission_mg is not None:
            item["pe_mg"] = q.project_emission_mg
        if q.note:
            item["note"] = q.note
        stored[q.methodology_key] = item
    return stored


def _contribution(q: Quantification) -> Contribution:
    return Contribution(
        methodology_key=q.methodology_key,
        entries=1,
        counted=1 if q.reduction_mg > 0 else 0,
        quantity_milli=q.quantity_milli,
        reduction_mg=q.reduction_mg,
        project_emission_mg=q.project_emission_mg or 0,
    )


def _earn_points(head: HeadState, reduction_mg: int, programme: Programme) -> int:
    """Whole points for the reduction; the milligrams short of a point carry over."""
    total = head.points_remainder_mg + reduction_mg
    points, head.points_remainder_mg = divmod(total, programme.mg_per_point)
    head.points_earned += points
    return points


def _entry_measure(c: _Candidate, primary: Quantification) -> tuple[str, int]:
    """The unit and quantity the entry shows: the primary methodology's, else the first reported."""
    if primary.applies and primary.unit is not None:
        return primary.unit, primary.quantity_milli
    for unit in c.valid.behaviour.units:
        if unit in c.valid.measures:
            return unit, c.valid.measures[unit]
    unit = c.valid.behaviour.count_unit
    return unit, c.valid.measures[unit]


def _identity(raw: object) -> tuple[str, str | None, str | None, str | None]:
    """(source, external id, person, behaviour) of whatever arrived, as far as it can be read."""
    if isinstance(raw, BehaviourEvent):
        return raw.source, raw.external_id, raw.person_id, raw.behaviour
    if isinstance(raw, Mapping):

        def text(key: str) -> str | None:
            value = raw.get(key)
            return value if isinstance(value, str) and value else None

        return (
            text("source") or "unknown",
            text("external_id"),
            text("person_id"),
            text("behaviour"),
        )
    return "unknown", None, None, None


def load_reductions(entry: LedgerEntry) -> dict[str, dict[str, Any]]:
    """The reductions JSON of a stored entry."""
    value: dict[str, dict[str, Any]] = json.loads(entry.reductions)
    return value
