"""Property: every released figure comes only from persons whose consent covers it at read time
and data time, revocation bites on the next read, and nobody reads another citizen's data.

A hypothesis state machine grants, narrows, revokes and lets consents expire (a controllable
clock), adds employees and residents with rides, and reads ESG and regional reports as the
recipients would, comparing every figure with an independent oracle computed from the raw
rows in Python.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import text

from carbonhub.consent.ingest import ConsentIngestGate
from carbonhub.consent.service import ConsentTerms
from carbonhub.db import read_session, write_session
from carbonhub.errors import InvalidInput
from carbonhub.models import utcnow
from carbonhub.resolvers.context import Context
from carbonhub.schema import schema
from tests.fixtures.actors import event
from tests.fixtures.graphql import agency, citizen, enterprise_client

DISTRICT = "110108"
ESG = '{ enterprise(id: "%s") { esgReport(period: "2023-07") { participants totalReductionKg } } }'
REGION = '{ region(code: "%s") { report(period: "2023-07") { participants totalReductionKg } } }'
PERSON = '{{ person(id: "{}") {{ points {{ balance }} }} }}'
CATEGORIES = st.sets(st.sampled_from(["transport", "food"]), min_size=1).map(tuple)
WINDOW_DAY = st.integers(min_value=1, max_value=31).map(lambda d: date(2023, 7, d))


def run(hub: Any, query: str, principal: Any, now: datetime) -> Any:
    """Execute in-process at read time ``now``."""
    context = Context(hub=hub, principal=principal, now=now)
    return asyncio.run(schema.execute(query, context_value=context))


def oracle(
    hub: Any, now: datetime, rollup: str, scope: str, recipient: tuple[str, str, str]
) -> tuple[int, int]:
    """(persons, milligrams) a report may release, recomputed from raw rows in Python."""
    kind, recipient_id, purpose = recipient
    category_of = hub.registry.catalogue.category_of()
    methodology = hub.registry.resolve("beijing-green-life-2023").key
    with read_session(hub.engine) as session:
        where = "enterprise_id = :scope" if rollup == "enterprise" else "region_code = :scope"
        rows = session.execute(
            text(
                f"SELECT person_id, local_date, behaviour_code, reduction_mg FROM {rollup}_daily_rollup "
                f"WHERE {where} AND methodology_key = :m"
            ),
            {"scope": scope, "m": methodology},
        ).all()
        grants = session.execute(
            text(
                "SELECT id, person_id, data_from, data_to, granted_at, expires_at FROM consent_grant "
                "WHERE kind = 'share' AND recipient_kind = :k AND recipient_id = :r AND purpose = :p"
            ),
            {"k": kind, "r": recipient_id, "p": purpose},
        ).all()
        ended = {
            row[0]
            for row in session.execute(
                text(
                    "SELECT consent_id FROM consent_event WHERE event_type IN "
                    "('revoked', 'terminated', 'superseded')"
                )
            )
        }
        covered = {
            (row[0], row[1])
            for row in session.execute(
                text("SELECT consent_id, category FROM consent_grant_category")
            )
        }
    persons: set[str] = set()
    total = 0
    for person, day, behaviour, mg in rows:
        day = day if isinstance(day, date) else date.fromisoformat(day)
        for g_id, g_person, first, last, granted, expires in grants:
            first = first if isinstance(first, date) else date.fromisoformat(first)
            last = last if isinstance(last, date) else date.fromisoformat(last)
            granted, expires = _aware(granted), _aware(expires)
            if (
                g_person == person
                and g_id not in ended
                and granted <= now < expires
                and first <= day <= last
                and (g_id, category_of.get(behaviour)) in covered
            ):
                persons.add(person)
                total += mg
                break
    return len(persons), total


def _aware(moment: Any) -> datetime:
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


class ConsentMachine(RuleBasedStateMachine):
    consents = Bundle("consents")
    people = Bundle("people")
    # Read time never goes back in a running hub (the released aggregates count what is in
    # force at the latest read). The examples share one database, so each starts its clock
    # where the previous example's stopped.
    latest = utcnow()

    def __init__(self, hub: Any, make_person: Any, make_enterprise: Any) -> None:
        super().__init__()
        self.hub = hub
        self.make_person = make_person
        self.make_enterprise = make_enterprise
        self.now = max(utcnow(), ConsentMachine.latest)
        self.employer = ""
        self.rides = 0

    @initialize()
    def open_office(self) -> None:
        self.employer = self.make_enterprise(name="属性测试公司")

    @rule(target=people, employed=st.booleans(), km=st.integers(min_value=1, max_value=9))
    def a_person_rides(self, employed: bool, km: int) -> str:
        person = self.make_person(
            DISTRICT, employer=self.employer if employed else None, consents=False
        )
        self.rides += 1
        ride = event(
            person,
            "transport.bike_share",
            f"2023-07-{1 + self.rides % 28:02d} 00:30",
            km=str(km),
            duration_s=600 * km,
        )
        order = event(
            person,
            "food.no_utensils",
            "2023-07-20 04:00",
            source="takeaway",
            order=1,
            reference=f"o-{person}",
        )
        assert self.hub.poster().post(self.hub.engine, [ride, order]).posted == 2
        return person

    @rule(
        target=consents,
        person=people,
        regional=st.booleans(),
        categories=CATEGORIES,
        first=WINDOW_DAY,
        length=st.integers(min_value=0, max_value=30),
        days=st.integers(min_value=1, max_value=60),
    )
    def a_person_consents(
        self,
        person: str,
        regional: bool,
        categories: tuple[str, ...],
        first: date,
        length: int,
        days: int,
    ) -> str:
        purpose, recipient = (
            ("regional_statistics", "110000") if regional else ("esg_reporting", self.employer)
        )
        terms = ConsentTerms(
            purpose,
            recipient,
            categories,
            first,
            first + timedelta(days=length),
            self.now + timedelta(days=days),
        )
        try:
            with write_session(self.hub.engine) as session:
                return self.hub.consents().grant(session, person, terms, now=self.now).id
        except InvalidInput as exc:  # an unemployed person cannot share with the employer
            if "does not employ" not in str(exc):
                raise
            return ""

    @rule(consent=consents)
    def the_person_revokes(self, consent: str) -> None:
        if not consent:
            return
        with write_session(self.hub.engine) as session:
            owner = session.execute(
                text("SELECT person_id FROM consent_grant WHERE id = :id"), {"id": consent}
            ).scalar_one()
            self.hub.consents().revoke(session, owner, consent, now=self.now)

    @rule(target=consents, consent=consents, keep=st.sampled_from(["transport", "food"]))
    def the_person_narrows(self, consent: str, keep: str) -> str:
        if not consent:
            return ""
        service = self.hub.consents()
        with write_session(self.hub.engine) as session:
            owner = session.execute(
                text("SELECT person_id FROM consent_grant WHERE id = :id"), {"id": consent}
            ).scalar_one()
            state = service.state(session, owner, consent, self.now)
            if state.status != "active" or keep not in state.categories:
                return ""
            if len(state.categories) == 1:
                return ""
            return service.narrow(session, owner, consent, categories=(keep,), now=self.now).id

    @rule(person=people, consents_to_provider=st.booleans())
    def a_provider_delivers(self, person: str, consents_to_provider: bool) -> None:
        if consents_to_provider:
            terms = ConsentTerms(
                "data_ingest",
                "metro-gate",
                ("transport",),
                date(2023, 7, 1),
                date(2023, 7, 31),
                self.now + timedelta(days=30),
            )
            with write_session(self.hub.engine) as session:
                self.hub.consents().grant(session, person, terms, now=self.now)
        self.rides += 1
        ride = event(
            person,
            "transport.metro",
            f"2023-07-{1 + self.rides % 28:02d} 09:00",
            source="metro-gate",
            km="5",
            ride=1,
        )
        poster = self.hub.poster()
        poster.clock = lambda: self.now
        report = poster.post(self.hub.engine, [ride], gate=ConsentIngestGate())
        active = self._has_ingest_consent(person)
        assert (report.posted, report.rejected) == ((1, 0) if active else (0, 1))

    def _has_ingest_consent(self, person: str) -> bool:
        with read_session(self.hub.engine) as session:
            state = self.hub.consents().active_for(
                session, person, "connector", "metro-gate", "data_ingest", self.now
            )
        return state is not None

    @rule(days=st.integers(min_value=1, max_value=40))
    def time_passes(self, days: int) -> None:
        self.now += timedelta(days=days)
        ConsentMachine.latest = max(ConsentMachine.latest, self.now)

    @invariant()
    def the_esg_report_covers_exactly_the_consented_rows(self) -> None:
        if not self.employer:
            return
        self._compare(
            ESG % self.employer,
            enterprise_client(self.employer),
            ("enterprise", self.employer),
            ("enterprise", self.employer, "esg_reporting"),
            lambda data: data["enterprise"]["esgReport"],
        )

    @invariant()
    def the_region_report_covers_exactly_the_consented_rows(self) -> None:
        self._compare(
            REGION % DISTRICT,
            agency("110000"),
            ("person", DISTRICT),
            ("programme", "110000", "regional_statistics"),
            lambda data: data["region"]["report"],
        )

    @rule(reader=people, subject=people)
    def a_citizen_never_reads_another(self, reader: str, subject: str) -> None:
        result = run(
            self.hub,
            PERSON.format(subject),
            citizen(reader),
            self.now,
        )
        if reader == subject:
            assert not result.errors
        else:
            assert result.data is None
            assert [e.extensions["code"] for e in result.errors] == ["NOT_FOUND"]

    def _compare(
        self,
        query: str,
        principal: Any,
        scope: tuple[str, str],
        recipient: tuple[str, str, str],
        pick: Any,
    ) -> None:
        result = run(self.hub, query, principal, self.now)
        assert not result.errors, result.errors
        released = pick(result.data)
        persons, milligrams = oracle(self.hub, self.now, scope[0], scope[1], recipient)
        k = self.hub.settings.privacy_k
        if persons == 0:
            assert released["participants"] in (0, None)
            assert released["totalReductionKg"] in ("0", None)
        elif persons < k:
            assert released["participants"] is None
            assert released["totalReductionKg"] is None
        else:
            assert released["participants"] == persons
            assert released["totalReductionKg"] == _kg(milligrams)


def _kg(milligrams: int) -> str:
    from carbonhub.reports import kg

    return str(kg(milligrams))


def test_consent_state_machine(hub, make_person, make_enterprise):
    run_state_machine_as_test(
        lambda: ConsentMachine(hub, make_person, make_enterprise),
        settings=settings(
            max_examples=12,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
