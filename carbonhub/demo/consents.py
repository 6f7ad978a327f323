"""The demo's consents: most citizens share with their programme, employees answer their
employer's request (approve, refuse or not yet), and a few take their consent back, so that
reports visibly cover only those who agreed."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import date, timedelta

from carbonhub.consent.service import ConsentTerms
from carbonhub.db import read_session, write_session
from carbonhub.demo.population import DemoCitizen, DemoEnterprise
from carbonhub.hub import Hub
from carbonhub.models import HubMetadata, utcnow

CONSENTS_KEY = "demo_consents"
DATA_FROM, DATA_TO = date(2023, 1, 1), date(2023, 12, 31)
REGIONAL_SHARE = 0.85  # of citizens consent to regional statistics at registration
REVOKE_SHARE = 0.05  # of consents are taken back afterwards
APPROVE, REFUSE = 0.70, 0.20  # answers to the employer's request; the rest have not answered


def demo_consents(
    hub: Hub,
    citizens: list[DemoCitizen],
    enterprises: list[DemoEnterprise],
    rng: random.Random,
    advance: Callable[[int], None] = lambda _n: None,
) -> dict[str, int]:
    """Give the demo's consents once; returns how many of each kind (stored for reuse)."""
    with read_session(hub.engine) as session:
        done = session.get(HubMetadata, CONSENTS_KEY)
        if done is not None:
            counts: dict[str, int] = json.loads(done.value)
            return counts
    now = utcnow()
    service = hub.consents()
    every = tuple(c.code for c in hub.registry.catalogue.categories)
    expires = now + timedelta(days=365)
    counts = {"regional": 0, "esg": 0, "refused": 0, "pending": 0, "revoked": 0}
    with write_session(hub.engine) as session:
        requests = {
            e.id: service.request(
                session,
                enterprise_id=e.id,
                client_id=None,
                categories=("transport", "food", "use"),
                data_from=DATA_FROM,
                data_to=DATA_TO,
                consent_expires_at=expires,
                now=now,
            )
            for e in enterprises
        }
        for citizen in citizens:
            advance(1)
            granted = []
            programme = hub.programmes.for_region(citizen.home)
            if programme is not None and rng.random() < REGIONAL_SHARE:
                terms = ConsentTerms(
                    "regional_statistics", programme.region, every, DATA_FROM, DATA_TO, expires
                )
                granted.append(service.grant(session, citizen.person_id, terms, now=now))
                counts["regional"] += 1
            request = requests.get(citizen.employer or "")
            if request is not None and service.pending_requests(session, citizen.person_id):
                roll = rng.random()
                if roll < APPROVE:
                    answer = service.answer(
                        session, citizen.person_id, request.id, approve=True, now=now
                    )
                    granted.extend([answer] if answer is not None else [])
                    counts["esg"] += 1
                elif roll < APPROVE + REFUSE:
                    service.answer(session, citizen.person_id, request.id, approve=False, now=now)
                    counts["refused"] += 1
                else:
                    counts["pending"] += 1
            for grant in granted:
                if rng.random() < REVOKE_SHARE:
                    service.revoke(session, citizen.person_id, grant.id, now=now)
                    counts["revoked"] += 1
        session.add(HubMetadata(key=CONSENTS_KEY, value=json.dumps(counts)))
    return counts
