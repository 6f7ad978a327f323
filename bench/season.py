"""The synthetic season the report benchmarks build: persons, their rollups, employers, consents.

Posting millions of events through the ledger engine would take hours, so a season's ledger
entries are represented by their rollups, generated directly and consistently (seeded);
``ledger_entry`` stays empty (no report reads it):

* ``person`` rows: ``persons`` citizens over the 16 Beijing districts (resident weights).
* ``person_daily_rollup``: person x local day x behaviour x methodology, one row for every
  methodology whose factor covers the behaviour, amounts computed per entry with that factor
  and rounded down to the milligram as the engine does (:class:`Cover`). ``entries`` entries
  over 2023-06-15..2023-10-31 in the behaviour mix of :data:`bench.common.BEHAVIOUR_MIX`: 8% of
  the persons inactive, the others log-normally active; commuters' rides come in pairs, at most
  3 entries of one behaviour a person a day (so no daily count cap is reached), an activity
  that would pass a monthly count cap is replaced by an e-waybill.
* ``region_daily_rollup``: the sums of the person rows grouped by (district, day, behaviour,
  methodology).
* With a :class:`Workforce`: ``enterprise`` rows (registered through carbonhub's own
  ``register_enterprise``, valid USCCs), ``employment`` rows (most employees for years, some
  joining or leaving during the season), and ``enterprise_daily_rollup`` rows equal to the
  employee's person rows on the days employed (as the engine writes one row per employer),
  with ``project_emission_mg`` from the methodology's project-emission factor per entry (zero
  where it gives none); :data:`BUSINESS_SHARE` of the employees' transport entries are marked
  business travel (``business_entries``, ``business_project_emission_mg``).
* Share consents (:func:`make_consents`, :func:`make_esg_consents`): ``consent_grant``,
  ``consent_grant_category`` and ``consent_event`` rows as a deployment holds them, some
  revoked since, so the access policy's consent clause excludes real rows. Event hashes are
  arbitrary 64-character hex strings chained per person by ``prev_hash``, not a verifiable
  chain (nothing measured reads them); consent_head, receipts and the access log are not
  generated.

:func:`load` writes it all (``COPY`` on PostgreSQL, ``executemany`` on SQLite) with the
tables' indexes and constraints dropped meanwhile and rebuilt after, then ``ANALYZE``;
:func:`check_build` checks that the rollups agree with each other and with what was generated.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex

from bench.common import (
    BEHAVIOUR_MIX,
    SEASON_DAYS,
    SEASON_END,
    SEASON_START,
    TRIP_KM_MILLI,
    BenchDatabase,
    analyze,
    behaviour_weights,
    district_picker,
    person_ids,
    stopwatch,
)
from carbonhub.actors.directory import register_enterprise
from carbonhub.actors.uscc import complete_uscc
from carbonhub.aggregates import COUNTED
from carbonhub.aggregates.rebuild import rebuild_released
from carbonhub.consent.history import ENDING_EVENTS, GENESIS
from carbonhub.consent.notices import notice_for
from carbonhub.consent.released import RETIRED
from carbonhub.db import write_session
from carbonhub.methodology import CapPeriod, MethodologyRegistry
from carbonhub.models import (
    ConsentEvent,
    ConsentGrant,
    ConsentGrantCategory,
    Employment,
    EnterpriseDailyRollup,
    Person,
    PersonDailyRollup,
    table_of,
    utcnow,
)
from carbonhub.models.types import UTCDateTime

MAX_PER_DAY = 3  # entries of one behaviour per person and day
ROUND_TRIP_SHARE = 0.6  # transport activities that are a commute out and back (2 entries)
INACTIVE_SHARE = 0.08  # registered persons with no entry in the season
FALLBACK_BEHAVIOUR = "use.e_waybill"  # replaces an activity that would reach a monthly cap
CONSENT_SHARE = 0.85  # persons with a regional-statistics consent
REVOKED_SHARE = 0.05  # of those consents (and of the ESG ones), revoked since
PURPOSE = "regional_statistics"
ESG_PURPOSE = "esg_reporting"
ESG_CONSENT_SHARE = 0.80  # employees with an ESG-reporting consent to their employer
ESG_COMMUTE_ONLY_SHARE = 0.30  # of those, consents for the transport category only
ESG_LATE_WINDOW_SHARE = 0.10  # of those, data windows starting mid-season (2023-07-16)
ESG_LATE_FROM = date(2023, 7, 16)
BUSINESS_SHARE = 0.05  # employees' transport entries marked business travel by the provider
JOINED_SHARE = 0.05  # employees who joined during the season
LEFT_SHARE = 0.05  # employees who left during the season
PERSON_TABLE = table_of(Person)
PERSON_ROLLUP = table_of(PersonDailyRollup)
ENTERPRISE_ROLLUP = table_of(EnterpriseDailyRollup)
EMPLOYMENT_TABLE = table_of(Employment)
CONSENT_TABLE = table_of(ConsentGrant)
CONSENT_CATEGORY_TABLE = table_of(ConsentGrantCategory)
CONSENT_EVENT_TABLE = table_of(ConsentEvent)
PARTICIPANTS_INDEX = "ix_person_daily_rollup_participants"
ENTERPRISE_INDEX = "ix_enterprise_daily_rollup_report"
CREATED_AT = datetime(2023, 6, 1, tzinfo=UTC)
PERSON_ROLLUP_COLUMNS = (
    "person_id",
    "local_date",
    "behaviour_code",
    "methodology_key",
    "region_code",
    "entries",
    "counted",
    "quantity_milli",
    "reduction_mg",
)
REGION_ROLLUP_COLUMNS = (
    "region_code",
    "local_date",
    "behaviour_code",
    "methodology_key",
    "entries",
    "quantity_milli",
    "reduction_mg",
)
ENTERPRISE_ROLLUP_COLUMNS = (
    "enterprise_id",
    "person_id",
    "local_date",
    "behaviour_code",
    "methodology_key",
    "entries",
    "quantity_milli",
    "reduction_mg",
    "project_emission_mg",
    "business_entries",
    "business_project_emission_mg",
)
EMPLOYMENT_COLUMNS = ("person_id", "enterprise_id", "valid_from", "valid_to")
CONSENT_COLUMNS = (
    "id",
    "kind",
    "person_id",
    "recipient_kind",
    "recipient_id",
    "purpose",
    "categories",
    "granularity",
    "data_from",
    "data_to",
    "granted_at",
    "expires_at",
    "notice_version",
    "notice_sha256",
    "language",
    "release_state",
)
CONSENT_CATEGORY_COLUMNS = ("consent_id", "category")
CONSENT_EVENT_COLUMNS = (
    "person_id",
    "seq",
    "event_type",
    "consent_id",
    "actor",
    "reason",
    "at",
    "prev_hash",
    "hash",
)
# Tables whose indexes and constraints are dropped during the load on PostgreSQL.
LOADED_TABLES = (
    "person",
    "employment",
    "person_daily_rollup",
    "region_daily_rollup",
    "enterprise_daily_rollup",
    "consent_grant",
    "consent_grant_category",
    "consent_event",
)
_B32 = "abcdefghijklmnopqrstuvwxyz234567"


# -- methodologies ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cover:
    """One methodology's factor for a behaviour, as exact integer arithmetic."""

    key: str
    per_km: bool
    numerator: int
    denominator: int
    project: tuple[int, int] | None = None  # project-emission grams per unit, as a fraction

    def mg(self, quantity_milli: int) -> int:
        """``floor(quantity_milli x grams_per_unit)``, as carbonhub.methodology.milligrams."""
        return quantity_milli * self.numerator // self.denominator

    def project_mg(self, quantity_milli: int) -> int:
        """The project emissions of one entry (0 without a project-emission factor)."""
        if self.project is None:
            return 0
        return quantity_milli * self.project[0] // self.project[1]


def covers(registry: MethodologyRegistry) -> tuple[dict[str, list[Cover]], dict[str, int]]:
    """Per behaviour of the mix, the methodologies that credit it; and the monthly count caps.

    Refuses data the generator cannot honour (a grams cap, a daily count cap below
    MAX_PER_DAY, a methodology not in effect over the whole season, an unreported unit).
    """
    result: dict[str, list[Cover]] = {}
    month_caps: dict[str, int] = {}
    for code in BEHAVIOUR_MIX:
        behaviour = registry.catalogue.behaviour(code)
        assert behaviour is not None, code
        items = []
        for methodology in registry.all():
            factor = methodology.factor_for(code)
            if factor is None or factor.grams_per_unit is None:
                continue
            if not (methodology.in_effect(SEASON_START) and methodology.in_effect(SEASON_END)):
                raise SystemExit(f"{methodology.key} is not in effect over the whole season")
            for cap in methodology.caps_for(code):
                if cap.max_grams is not None or cap.max_count is None:
                    raise SystemExit(f"{methodology.key}: grams cap on {code} not modelled")
                if cap.per is CapPeriod.DAY and cap.max_count < MAX_PER_DAY:
                    raise SystemExit(f"{methodology.key}: daily cap on {code} below {MAX_PER_DAY}")
                if cap.per is CapPeriod.MONTH:
                    month_caps[code] = min(month_caps.get(code, cap.max_count), cap.max_count)
            per_km = factor.unit == "km"
            if not per_km and factor.unit != behaviour.count_unit:
                raise SystemExit(f"{methodology.key} counts {code} in {factor.unit}")
            grams = Fraction(factor.grams_per_unit)
            project = None
            if factor.project_grams_per_unit is not None:
                fraction = Fraction(factor.project_grams_per_unit)
                project = (fraction.numerator, fraction.denominator)
            items.append(
                Cover(methodology.key, per_km, grams.numerator, grams.denominator, project)
            )
        result[code] = sorted(items, key=lambda c: c.key)
    return result, month_caps


# -- persons, entries and their rollups ---------------------------------------------------------


PersonRow = tuple[str, str, str, str, str, int, int, int, int]
EnterpriseRow = tuple[str, str, str, str, str, int, int, int, int, int, int]
RegionKey = tuple[str, int, str, str]


@dataclass
class Season:
    """The synthetic season: persons, their home districts, entry counts and rollup rows.

    With :attr:`employers` set (by :meth:`Workforce.employ`) before :meth:`person_rows` runs,
    the enterprise rollup rows of the employees are gathered in :attr:`enterprise_rows`.
    """

    persons: int
    entries: int
    seed: int
    registry: MethodologyRegistry
    person_ids: list[str] = field(init=False)
    homes: list[str] = field(init=False)
    counts: list[int] = field(init=False)
    region_sums: dict[RegionKey, list[int]] = field(init=False, default_factory=dict)
    entries_by_behaviour: dict[str, int] = field(init=False, default_factory=dict)
    covers: dict[str, list[Cover]] = field(init=False)
    month_caps: dict[str, int] = field(init=False)
    person_rows_written: int = field(init=False, default=0)
    fallbacks: int = field(init=False, default=0)
    # person -> (enterprise, first and last day index employed within the season)
    employers: dict[str, tuple[str, int, int]] = field(init=False, default_factory=dict)
    enterprise_rows: list[EnterpriseRow] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(self.seed)
        self.person_ids = person_ids(self.persons, rng)
        pick = district_picker(rng)
        self.homes = [pick() for _ in self.person_ids]
        self.counts = _entry_counts(self.persons, self.entries, rng)
        self.covers, self.month_caps = covers(self.registry)

    @property
    def active_persons(self) -> int:
        return sum(1 for n in self.counts if n)

    def person_rows(self) -> Iterator[PersonRow]:
        """``person_daily_rollup`` rows in primary-key order; fills :attr:`region_sums` (and
        :attr:`enterprise_rows`) on the way."""
        rng = random.Random(self.seed + 1)
        codes, cumulative = behaviour_weights()
        total_weight = cumulative[-1]
        days = [(SEASON_START + timedelta(days=d)).isoformat() for d in range(SEASON_DAYS)]
        month_of = [(SEASON_START + timedelta(days=d)).month for d in range(SEASON_DAYS)]
        random_ = rng.random
        region_sums = self.region_sums
        employers = self.employers
        enterprise_rows = self.enterprise_rows
        business = random.Random(self.seed + 5).random  # business-travel marks
        transport = {
            b.code for b in self.registry.catalogue.behaviours if b.category == "transport"
        }
        by_behaviour: dict[str, int] = dict.fromkeys(BEHAVIOUR_MIX, 0)
        for person, home, count in zip(self.person_ids, self.homes, self.counts, strict=True):
            if not count:
                continue
            job = employers.get(person)
            activity: dict[tuple[int, str], list[Any]] = {}
            monthly: dict[tuple[str, int], int] = {}
            remaining = count
            while remaining:
                code = codes[bisect.bisect_right(cumulative, random_() * total_weight)]
                trip = TRIP_KM_MILLI.get(code)
                n = 2 if trip and remaining >= 2 and random_() < ROUND_TRIP_SHARE else 1
                for _ in range(50):
                    day = int(random_() * SEASON_DAYS)
                    slot = activity.get((day, code))
                    if slot is None or slot[0] + n <= MAX_PER_DAY:
                        break
                else:
                    continue
                limit = self.month_caps.get(code)
                if limit is not None:
                    used = monthly.get((code, month_of[day]), 0)
                    if used + n > limit:
                        self.fallbacks += 1
                        code, trip, n = FALLBACK_BEHAVIOUR, None, 1
                        slot = activity.get((day, code))
                        if slot is not None and slot[0] + n > MAX_PER_DAY:
                            continue
                    else:
                        monthly[(code, month_of[day])] = used + n
                if slot is None:
                    slot = activity[(day, code)] = [0, []]
                slot[0] += n
                if trip:
                    low, span = trip[0], trip[1] - trip[0] + 1
                    slot[1].extend(low + int(random_() * span) for _ in range(n))
                remaining -= n
            for day, code in sorted(activity):
                n, kms = activity[(day, code)]
                by_behaviour[code] += n
                employed = job is not None and job[1] <= day <= job[2]
                if employed and code in transport:
                    marks = [business() < BUSINESS_SHARE for _ in range(n)]
                else:
                    marks = [False] * n
                business_n = sum(marks)
                for cover in self.covers[code]:
                    if cover.per_km:
                        quantity = sum(kms)
                        mg = sum(cover.mg(km) for km in kms)
                    else:
                        quantity = 1000 * n
                        mg = cover.mg(1000) * n
                    yield (person, days[day], code, cover.key, home, n, n, quantity, mg)
                    sums = region_sums.get((home, day, code, cover.key))
                    if sums is None:
                        region_sums[(home, day, code, cover.key)] = [n, quantity, mg]
                    else:
                        sums[0] += n
                        sums[1] += quantity
                        sums[2] += mg
                    self.person_rows_written += 1
                    if employed:
                        assert job is not None
                        if cover.project is None:
                            project = business_project = 0
                        elif cover.per_km:
                            each = [cover.project_mg(km) for km in kms]
                            project = sum(each)
                            business_project = sum(e for e, m in zip(each, marks, strict=True) if m)
                        else:
                            project = cover.project_mg(1000) * n
                            business_project = cover.project_mg(1000) * business_n
                        enterprise_rows.append(
                            (
                                job[0],
                                person,
                                days[day],
                                code,
                                cover.key,
                                n,
                                quantity,
                                mg,
                                project,
                                business_n,
                                business_project,
                            )
                        )
        self.entries_by_behaviour = by_behaviour

    def region_rows(self) -> list[tuple[str, str, str, str, int, int, int]]:
        """``region_daily_rollup`` rows: the sums of the person rows (after :meth:`person_rows`)."""
        return [
            (region, (SEASON_START + timedelta(days=day)).isoformat(), code, key, n, q, mg)
            for (region, day, code, key), (n, q, mg) in sorted(self.region_sums.items())
        ]


def _entry_counts(persons: int, entries: int, rng: random.Random) -> list[int]:
    """Entries per person: 8% inactive, the rest log-normally active, summing to ``entries``."""
    weights = [
        0.0 if rng.random() < INACTIVE_SHARE else rng.lognormvariate(0, 0.8) for _ in range(persons)
    ]
    total = sum(weights)
    counts = [int(entries * w / total) for w in weights]
    active = [i for i, w in enumerate(weights) if w > 0]
    for i in rng.sample(active, entries - sum(counts)):
        counts[i] += 1
    return counts


# -- employers ----------------------------------------------------------------------------------


@dataclass
class Workforce:
    """Enterprises and who works for them.

    ``enterprises``: (id, name, region code, employees), the first one the large one.
    ``employments``: (person, enterprise, valid_from, valid_to) rows, one per employee.
    """

    enterprises: list[tuple[str, str, str, int]]
    employments: list[tuple[str, str, date, date | None]]

    def employ(self, season: Season) -> None:
        """Tell the season who is employed on which of its days (before its rows are made)."""
        last = SEASON_DAYS - 1
        for person, enterprise, start, end in self.employments:
            first = max(0, (start - SEASON_START).days)
            until = last if end is None else min(last, (end - SEASON_START).days)
            season.employers[person] = (enterprise, first, until)

    def members(self, enterprise_id: str) -> list[str]:
        """The persons employed by the enterprise at some time."""
        return [p for p, e, _, _ in self.employments if e == enterprise_id]


def make_workforce(
    season: Season, large: int, others: int, region_code: str, seed: int
) -> Workforce:
    """One large enterprise of ``large`` employees and ``others`` smaller ones (log-uniform
    sizes between large/200 and large/2, at least 10), all registered in ``region_code``.

    Employees are distinct persons (seeded choice). 90% were employed since before the season
    and stay, :data:`JOINED_SHARE` joined during it, :data:`LEFT_SHARE` left during it.
    """
    rng = random.Random(seed)
    sizes = [large] + [
        max(10, round(large * 2 ** rng.uniform(-7.64, -1))) for _ in range(others)
    ]  # 2**-7.64 ~ 1/200
    if sum(sizes) > season.persons:
        raise SystemExit(f"{sum(sizes):,} employees need more than {season.persons:,} persons")
    chosen = rng.sample(season.person_ids, sum(sizes))
    enterprises = []
    employments: list[tuple[str, str, date, date | None]] = []
    start = 0
    for index, size in enumerate(sizes):
        enterprise_id = "e_bench" + "".join(rng.choices(_B32, k=8))
        name = "Large employer" if index == 0 else f"Employer {index}"
        enterprises.append((enterprise_id, name, region_code, size))
        for person in sorted(chosen[start : start + size]):
            draw = rng.random()
            since = date(2015, 1, 1) + timedelta(days=rng.randrange(8 * 365))
            if draw < JOINED_SHARE:
                since, until = SEASON_START + timedelta(days=rng.randrange(1, SEASON_DAYS)), None
            elif draw < JOINED_SHARE + LEFT_SHARE:
                until = SEASON_START + timedelta(days=rng.randrange(SEASON_DAYS - 1))
            else:
                until = None
            employments.append((person, enterprise_id, since, until))
        start += size
    return Workforce(enterprises, employments)


# -- consents -----------------------------------------------------------------------------------


@dataclass
class Consents:
    """Share consents of one purpose, as rows of the three consent tables."""

    purpose: str
    recipient_kind: str
    grants: list[tuple[Any, ...]]
    categories: list[tuple[str, str]]
    events: list[tuple[Any, ...]]
    revoked: int
    in_force: set[str]  # persons whose consent is in force at read time

    @property
    def consenting(self) -> int:
        return len(self.grants)


def make_consents(
    season: Season, programme_region: str, categories: Sequence[str], now: datetime
) -> Consents:
    """Consents like a deployment's: :data:`CONSENT_SHARE` of the persons (seeded choice) each
    gave one consent to the programme of ``programme_region`` for every category, covering the
    season's days, granted 1 to 360 days before ``now`` and lasting 720 days (so in force at
    read time; the notice allows 800); :data:`REVOKED_SHARE` of them revoked it since.

    Each consent has its ``granted`` event (seq 1) and a revoked one a ``revoked`` event (seq
    2). The hashes are arbitrary 64-character hex strings, not a verifiable chain (the report
    never reads them); consent_head, receipts and the access log are not generated.
    """
    rng = random.Random(season.seed + 2)
    notice = notice_for(PURPOSE)
    language = "zh-CN"
    digest = notice.sha256(language)
    listed = " ".join(sorted(categories))
    now = now.replace(microsecond=0)

    def random_hash() -> str:
        return f"{rng.getrandbits(256):064x}"

    grants: list[tuple[Any, ...]] = []
    covered: list[tuple[str, str]] = []
    events: list[tuple[Any, ...]] = []
    in_force: set[str] = set()
    revoked = 0
    for person in season.person_ids:
        if rng.random() >= CONSENT_SHARE:
            continue
        consent_id = "c_" + "".join(rng.choices(_B32, k=20))
        granted_at = now - timedelta(seconds=rng.randrange(86_400, 360 * 86_400))
        grants.append(
            (
                consent_id,
                "share",
                person,
                notice.recipient_kind,
                programme_region,
                PURPOSE,
                listed,
                "aggregate",
                SEASON_START,
                SEASON_END,
                granted_at,
                granted_at + timedelta(days=720),
                notice.version,
                digest,
                language,
            )
        )
        covered.extend((consent_id, category) for category in sorted(categories))
        granted_hash = random_hash()
        events.append(
            (person, 1, "granted", consent_id, "citizen", None, granted_at, GENESIS, granted_hash)
        )
        withdrawn = rng.random() < REVOKED_SHARE
        # counted by the released aggregates while in force, no longer once revoked
        grants[-1] = (*grants[-1], RETIRED if withdrawn else COUNTED)
        if withdrawn:
            revoked += 1
            revoked_at = granted_at + (now - granted_at) * rng.random()
            events.append(
                (
                    person,
                    2,
                    "revoked",
                    consent_id,
                    "citizen",
                    "revoked by the citizen",
                    revoked_at,
                    granted_hash,
                    random_hash(),
                )
            )
        else:
            in_force.add(person)
    return Consents(PURPOSE, notice.recipient_kind, grants, covered, events, revoked, in_force)


def make_esg_consents(
    season: Season,
    workforce: Workforce,
    categories: Sequence[str],
    now: datetime,
    earlier: Sequence[Consents],
) -> Consents:
    """ESG-reporting consents: :data:`ESG_CONSENT_SHARE` of each enterprise's employees (seeded
    choice) gave one to their employer (recipient ``enterprise``, purpose ``esg_reporting``):
    for every category, or (:data:`ESG_COMMUTE_ONLY_SHARE` of them) for transport only; over
    the season, or (:data:`ESG_LATE_WINDOW_SHARE`) from :data:`ESG_LATE_FROM` on; granted 1 to
    360 days before ``now``, lasting 720 days; :data:`REVOKED_SHARE` revoked since.

    Their events continue each person's history after the events of ``earlier`` consents.
    """
    rng = random.Random(season.seed + 3)
    notice = notice_for(ESG_PURPOSE)
    language = "zh-CN"
    digest = notice.sha256(language)
    everything = sorted(categories)
    commute = ["transport"]
    now = now.replace(microsecond=0)
    heads: dict[str, tuple[int, str]] = {}
    for consents in earlier:
        for event in consents.events:
            if event[1] > heads.get(event[0], (0, ""))[0]:
                heads[event[0]] = (event[1], event[8])

    def random_hash() -> str:
        return f"{rng.getrandbits(256):064x}"

    grants: list[tuple[Any, ...]] = []
    covered: list[tuple[str, str]] = []
    events: list[tuple[Any, ...]] = []
    in_force: set[str] = set()
    revoked = 0
    for person, enterprise, _, _ in workforce.employments:
        if rng.random() >= ESG_CONSENT_SHARE:
            continue
        consent_id = "c_" + "".join(rng.choices(_B32, k=20))
        chosen = commute if rng.random() < ESG_COMMUTE_ONLY_SHARE else everything
        data_from = ESG_LATE_FROM if rng.random() < ESG_LATE_WINDOW_SHARE else SEASON_START
        granted_at = now - timedelta(seconds=rng.randrange(86_400, 360 * 86_400))
        grants.append(
            (
                consent_id,
                "share",
                person,
                notice.recipient_kind,
                enterprise,
                ESG_PURPOSE,
                " ".join(chosen),
                "aggregate",
                data_from,
                SEASON_END,
                granted_at,
                granted_at + timedelta(days=720),
                notice.version,
                digest,
                language,
            )
        )
        covered.extend((consent_id, category) for category in chosen)
        seq, last_hash = heads.get(person, (0, GENESIS))
        granted_hash = random_hash()
        events.append(
            (
                person,
                seq + 1,
                "granted",
                consent_id,
                "citizen",
                None,
                granted_at,
                last_hash,
                granted_hash,
            )
        )
        withdrawn = rng.random() < REVOKED_SHARE
        # counted by the released aggregates while in force, no longer once revoked
        grants[-1] = (*grants[-1], RETIRED if withdrawn else COUNTED)
        if withdrawn:
            revoked += 1
            revoked_at = granted_at + (now - granted_at) * rng.random()
            events.append(
                (
                    person,
                    seq + 2,
                    "revoked",
                    consent_id,
                    "citizen",
                    "revoked by the citizen",
                    revoked_at,
                    granted_hash,
                    random_hash(),
                )
            )
        else:
            in_force.add(person)
    return Consents(ESG_PURPOSE, notice.recipient_kind, grants, covered, events, revoked, in_force)


def grant_in_force(
    g: str,
    *,
    recipient_kind: str = "programme",
    purpose: str = PURPOSE,
    recipient: str | None = None,
) -> str:
    """SQL over consent_grant ``g``: a share consent of ``purpose`` to a recipient of
    ``recipient_kind`` (the one named by the SQL ``recipient``, e.g. ``":programme"``, when
    given) in force at ``:now`` (given, not expired, no revoked/terminated/superseded event);
    its data window and categories are checked by the caller."""
    ending = ", ".join(f"'{e}'" for e in ENDING_EVENTS)
    named = f"AND {g}.recipient_id = {recipient} " if recipient else ""
    return (
        f"{g}.kind = 'share' AND {g}.recipient_kind = '{recipient_kind}' {named}"
        f"AND {g}.purpose = '{purpose}' "
        f"AND {g}.granted_at <= :now AND {g}.expires_at > :now "
        f"AND NOT EXISTS (SELECT 1 FROM consent_event e WHERE e.consent_id = {g}.id "
        f"AND e.event_type IN ({ending}))"
    )


def consent_clause(
    rollup: str,
    category_of: dict[str, str],
    *,
    recipient_kind: str = "programme",
    purpose: str = PURPOSE,
    recipient: str = ":programme",
) -> str:
    """The access policy's consent clause over the person-level rollup alias ``rollup``, by
    hand: the row's person has a consent in force to the recipient ``recipient`` (SQL) whose
    data window holds the row's day and whose categories include the row's behaviour's."""
    category = (
        f"CASE {rollup}.behaviour_code "
        + " ".join(f"WHEN '{code}' THEN '{cat}'" for code, cat in category_of.items())
        + " END"
    )
    in_force = grant_in_force(
        "g", recipient_kind=recipient_kind, purpose=purpose, recipient=recipient
    )
    return (
        "EXISTS (SELECT 1 FROM consent_grant g JOIN consent_grant_category c "
        f"ON c.consent_id = g.id WHERE g.person_id = {rollup}.person_id AND {in_force} "
        f"AND g.data_from <= {rollup}.local_date AND g.data_to >= {rollup}.local_date "
        f"AND c.category = {category})"
    )


# -- loading ------------------------------------------------------------------------------------


def load(
    db: BenchDatabase,
    season: Season,
    consents: Sequence[Consents],
    workforce: Workforce | None = None,
    *,
    day_order: bool = False,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, float]:
    """Insert persons, employers, the rollups and the consents; returns the seconds of each step.

    Indexes and constraints are dropped during the load and rebuilt after: on PostgreSQL every
    index, primary key, unique and foreign key of :data:`LOADED_TABLES` (and foreign keys
    referring to them), on SQLite the rollups' secondary indexes. With ``day_order`` the
    person and enterprise rollups are first loaded into a staging table and then inserted in
    (local_date, primary key) order, as rows posted in time order lie in a real database
    (otherwise they lie in person order).
    """
    steps = _Steps(progress)
    postgres = db.backend == "postgresql"
    with stopwatch() as elapsed, db.engine.begin() as connection:
        restore = _drop_indexes(connection, postgres)
    steps["drop indexes and constraints"] = elapsed()
    with stopwatch() as elapsed:
        rows = (
            (pid, home, CREATED_AT)
            for pid, home in zip(season.person_ids, season.homes, strict=True)
        )
        _write(db, "person", ("id", "home_region_code", "created_at"), rows, table=PERSON_TABLE)
    steps["persons"] = elapsed()
    if workforce is not None:
        with stopwatch() as elapsed:
            with Session(db.engine) as session, session.begin():
                for index, (enterprise_id, name, region, _) in enumerate(workforce.enterprises):
                    register_enterprise(
                        session,
                        name=name,
                        uscc=complete_uscc("91" + region, f"BENCH{index:03d}"),
                        region_code=region,
                        enterprise_id=enterprise_id,
                    )
            _write(
                db,
                "employment",
                EMPLOYMENT_COLUMNS,
                iter(workforce.employments),
                table=EMPLOYMENT_TABLE,
            )
            workforce.employ(season)
        steps["enterprises + employments"] = elapsed()
    with stopwatch() as elapsed:
        _write_rollup(
            db, "person_daily_rollup", PERSON_ROLLUP_COLUMNS, season.person_rows(), day_order
        )
    steps["generate + load person_daily_rollup" + (" (day order)" if day_order else "")] = elapsed()
    with stopwatch() as elapsed:
        _write(db, "region_daily_rollup", REGION_ROLLUP_COLUMNS, iter(season.region_rows()))
    steps["load region_daily_rollup"] = elapsed()
    if season.enterprise_rows:
        with stopwatch() as elapsed:
            _write_rollup(
                db,
                "enterprise_daily_rollup",
                ENTERPRISE_ROLLUP_COLUMNS,
                iter(season.enterprise_rows),
                day_order,
            )
        steps["load enterprise_daily_rollup"] = elapsed()
    with stopwatch() as elapsed:
        for group in consents:
            for table_, columns, rows_ in (
                (CONSENT_TABLE, CONSENT_COLUMNS, group.grants),
                (CONSENT_CATEGORY_TABLE, CONSENT_CATEGORY_COLUMNS, group.categories),
                (CONSENT_EVENT_TABLE, CONSENT_EVENT_COLUMNS, group.events),
            ):
                _write(db, table_.name, columns, iter(rows_), table=table_)
    steps["load consents"] = elapsed()
    with stopwatch() as elapsed, db.engine.begin() as connection:
        if postgres:
            connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
        for statement in restore:
            connection.exec_driver_sql(statement)
    steps["rebuild indexes and constraints"] = elapsed()
    with stopwatch() as elapsed, write_session(db.engine) as session:
        rebuild_released(session, db.hub.release_rules())
    steps["released aggregates"] = elapsed()
    with stopwatch() as elapsed:
        analyze(db.engine)
    steps["VACUUM ANALYZE" if postgres else "ANALYZE"] = elapsed()
    return dict(steps)


class _Steps(dict[str, float]):
    """Seconds per build step, told to ``progress`` as each one ends."""

    def __init__(self, progress: Callable[[str, float], None] | None) -> None:
        super().__init__()
        self.progress = progress

    def __setitem__(self, key: str, value: float) -> None:
        super().__setitem__(key, value)
        if self.progress is not None:
            self.progress(key, value)


def _drop_indexes(connection: Connection, postgres: bool) -> list[str]:
    """Drop the loaded tables' indexes and constraints; returns the statements that rebuild them
    (primary keys and unique constraints, then indexes, then foreign keys, validated)."""
    if not postgres:
        statements = []
        for table_, name in (
            (PERSON_ROLLUP, PARTICIPANTS_INDEX),
            (ENTERPRISE_ROLLUP, ENTERPRISE_INDEX),
        ):
            index = next(i for i in table_.indexes if i.name == name)
            index.drop(connection)
            statements.append(str(CreateIndex(index).compile(dialect=connection.dialect)))
        return statements
    tables = [f"'{name}'::regclass" for name in LOADED_TABLES]
    oids = f"ARRAY[{', '.join(tables)}]"
    foreign = connection.exec_driver_sql(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        f"WHERE contype = 'f' AND (conrelid = ANY({oids}) OR confrelid = ANY({oids})) "
        "ORDER BY 1, 2"
    ).all()
    keys = connection.exec_driver_sql(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        f"WHERE contype IN ('p', 'u') AND conrelid = ANY({oids}) ORDER BY 1, 2"
    ).all()
    indexes = connection.exec_driver_sql(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        f"WHERE i.indrelid = ANY({oids}) AND NOT EXISTS "
        "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1"
    ).all()
    for table_, name, _ in foreign:
        connection.exec_driver_sql(f'ALTER TABLE {table_} DROP CONSTRAINT "{name}"')
    for table_, name, _ in keys:
        connection.exec_driver_sql(f'ALTER TABLE {table_} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        connection.exec_driver_sql(f"DROP INDEX {name}")
    return [
        *(f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in keys),
        *(definition for _, definition in indexes),
        *(f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d in foreign),
    ]


def _write(
    db: BenchDatabase,
    name: str,
    columns: Sequence[str],
    rows: Iterator[tuple[Any, ...]],
    *,
    table: Any = None,
) -> None:
    """Insert rows: PostgreSQL ``COPY``; SQLite Core ``executemany`` when ``table`` is given
    (so timestamps are stored as the application stores them), else the driver's."""
    if db.backend == "postgresql":
        _copy(db.engine, name, columns, rows)
    elif table is not None:
        with db.engine.begin() as connection:
            batch: list[dict[str, Any]] = []
            for row in rows:
                batch.append(dict(zip(columns, row, strict=True)))
                if len(batch) == 50_000:
                    connection.execute(insert(table), batch)
                    batch = []
            if batch:
                connection.execute(insert(table), batch)
    else:
        _sqlite_executemany(db.engine, name, columns, rows)


def _write_rollup(
    db: BenchDatabase,
    name: str,
    columns: Sequence[str],
    rows: Iterator[tuple[Any, ...]],
    day_order: bool,
) -> None:
    """Load a rollup directly, or through a staging table and then in day order."""
    if not day_order:
        _write(db, name, columns, rows)
        return
    staging = f"bench_staging_{name}"
    postgres = db.backend == "postgresql"
    with db.engine.begin() as connection:
        if postgres:
            connection.exec_driver_sql(
                f"CREATE UNLOGGED TABLE {staging} (LIKE {name} INCLUDING DEFAULTS)"
            )
        else:
            connection.exec_driver_sql(f"CREATE TABLE {staging} AS SELECT * FROM {name} WHERE 0")
    _write(db, staging, columns, rows)
    key = ", ".join(c.name for c in table_of_name(name).primary_key.columns)
    listed = ", ".join(columns)
    with db.engine.begin() as connection:
        if postgres:
            connection.exec_driver_sql("SET LOCAL work_mem = '1GB'")
        connection.exec_driver_sql(
            f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {staging} "
            f"ORDER BY local_date, {key}"
        )
        connection.exec_driver_sql(f"DROP TABLE {staging}")


def table_of_name(name: str) -> Any:
    """The SQLAlchemy table of a rollup."""
    return {"person_daily_rollup": PERSON_ROLLUP, "enterprise_daily_rollup": ENTERPRISE_ROLLUP}[
        name
    ]


def _sqlite_executemany(
    engine: Engine, name: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]
) -> None:
    """The sqlite3 driver's executemany over a generator, in one transaction."""
    statement = (
        f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("BEGIN")
        cursor.executemany(statement, rows)
        cursor.execute("COMMIT")
        cursor.close()
    finally:
        raw.close()


def _copy(
    engine: Engine, name: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]
) -> None:
    """psycopg ``COPY name (columns) FROM STDIN``, one transaction."""
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        with (
            driver.cursor() as cursor,
            cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        driver.commit()
    finally:
        raw.close()


# -- checking the build -------------------------------------------------------------------------


def check_build(
    engine: Engine,
    season: Season,
    consents: Sequence[Consents],
    workforce: Workforce | None = None,
) -> tuple[dict[str, int], list[str]]:
    """Row counts, and problems: the rollups must agree and represent exactly the entries made
    (the enterprise rollup: its employees' person rows on the days employed), and the consents
    in the database must be those generated (consenting, revoked, in force, per purpose)."""
    problems = []
    counts: dict[str, int] = {}
    expected: dict[str, int] = {}
    in_force_at = bindparam("now", type_=UTCDateTime())
    with engine.connect() as connection:
        for group in consents:
            p = group.purpose
            counts[f"{p}: consenting persons"] = int(
                connection.execute(
                    text("SELECT COUNT(DISTINCT person_id) FROM consent_grant WHERE purpose = :p"),
                    {"p": p},
                ).scalar_one()
            )
            counts[f"{p}: revoked consents"] = int(
                connection.execute(
                    text(
                        "SELECT COUNT(DISTINCT e.consent_id) FROM consent_event e JOIN "
                        "consent_grant g ON g.id = e.consent_id "
                        "WHERE e.event_type = 'revoked' AND g.purpose = :p"
                    ),
                    {"p": p},
                ).scalar_one()
            )
            clause = grant_in_force("g", recipient_kind=group.recipient_kind, purpose=p)
            counts[f"{p}: persons with a consent in force"] = int(
                connection.execute(
                    text(
                        f"SELECT COUNT(DISTINCT g.person_id) FROM consent_grant g WHERE {clause}"
                    ).bindparams(in_force_at),
                    {"now": utcnow()},
                ).scalar_one()
            )
            expected |= {
                f"{p}: consenting persons": group.consenting,
                f"{p}: revoked consents": group.revoked,
                f"{p}: persons with a consent in force": len(group.in_force),
            }
            if not 0 < len(group.in_force) < group.consenting or not group.revoked:
                problems.append(f"{p}: the consents do not narrow the persons")
        expected["consent_grant_category"] = sum(len(g.categories) for g in consents)
        expected["consent_event"] = sum(len(g.events) for g in consents)
        sums = (
            "SELECT methodology_key, SUM(entries), SUM(quantity_milli), SUM(reduction_mg) "
            "FROM {} GROUP BY methodology_key"
        )
        person = _keyed(connection, sums.format("person_daily_rollup"))
        region = _keyed(connection, sums.format("region_daily_rollup"))
        by_behaviour = connection.execute(
            text(
                "SELECT behaviour_code, methodology_key, SUM(entries) FROM person_daily_rollup "
                "GROUP BY behaviour_code, methodology_key"
            )
        ).all()
        names = (
            "person",
            "person_daily_rollup",
            "region_daily_rollup",
            "enterprise_daily_rollup",
            "ledger_entry",
            "enterprise",
            "employment",
            "consent_grant",
            "consent_grant_category",
            "consent_event",
        )
        for name in names:
            counts[name] = int(
                connection.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
            )
        if workforce is not None:
            employees = _keyed(
                connection,
                "SELECT m.enterprise_id || ' ' || p.methodology_key, SUM(p.entries), "
                "SUM(p.quantity_milli), SUM(p.reduction_mg) FROM person_daily_rollup p "
                "JOIN employment m ON m.person_id = p.person_id AND p.local_date >= m.valid_from "
                "AND (m.valid_to IS NULL OR p.local_date <= m.valid_to) GROUP BY 1",
            )
            enterprise = _keyed(
                connection,
                "SELECT enterprise_id || ' ' || methodology_key, SUM(entries), "
                "SUM(quantity_milli), SUM(reduction_mg) FROM enterprise_daily_rollup GROUP BY 1",
            )
            if employees != enterprise:
                problems.append("enterprise_daily_rollup differs from the employees' person rows")
            extra = connection.execute(
                text(
                    "SELECT COALESCE(SUM(project_emission_mg), 0), COALESCE(SUM(business_entries), "
                    "0), COALESCE(SUM(business_project_emission_mg), 0) FROM enterprise_daily_rollup"
                )
            ).one()
            made = tuple(sum(int(row[i]) for row in season.enterprise_rows) for i in (8, 9, 10))
            if tuple(int(v) for v in extra) != made:
                problems.append(
                    f"project emissions, business trips and their emissions {tuple(extra)} in the "
                    f"database, {made} generated"
                )
            expected["enterprise"] = len(workforce.enterprises)
            expected["employment"] = len(workforce.employments)
            expected["enterprise_daily_rollup"] = len(season.enterprise_rows)
            if not season.enterprise_rows:
                problems.append("no enterprise rollup rows")
    for name, value in expected.items():
        if counts[name] != value:
            problems.append(f"{name}: {counts[name]} in the database, {value} generated")
    if person != region:
        problems.append(f"rollups disagree: person {person} != region {region}")
    for behaviour, key, entries in by_behaviour:
        if int(entries) != season.entries_by_behaviour[behaviour]:
            problems.append(
                f"{key} counts {entries} {behaviour} entries, {season.entries_by_behaviour[behaviour]} made"
            )
    if sum(season.entries_by_behaviour.values()) != season.entries:
        problems.append(
            f"{sum(season.entries_by_behaviour.values())} entries made, not {season.entries}"
        )
    if counts["person_daily_rollup"] != season.person_rows_written:
        problems.append("person_daily_rollup row count differs from the rows generated")
    return counts, problems


def _keyed(connection: Connection, sql: str) -> dict[str, tuple[int, ...]]:
    return {row[0]: tuple(int(v) for v in row[1:]) for row in connection.execute(text(sql))}
