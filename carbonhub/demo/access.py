"""Who can reach the demo: citizen logins and OAuth clients, created once and listed in
``carbonhub-demo.json``.

Passwords and client secrets are random. The hub itself keeps only their hashes, so the
plain values of this demo database are kept beside the demo marker (in ``hub_metadata``)
for the credentials file to be rewritten when the demo is reused. A real deployment never
stores them: ``carbonhub clients create`` prints a secret once.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from carbonhub.auth.clients import create_client
from carbonhub.auth.passwords import PasswordHasher
from carbonhub.auth.scopes import ClientKind
from carbonhub.db import read_session, write_session
from carbonhub.demo.population import DemoCitizen, DemoEnterprise
from carbonhub.hub import Hub
from carbonhub.models import CitizenAccount, HubMetadata

ACCESS_KEY = "demo_access"
ACCOUNTS = 40  # citizens who get a login (hashing is deliberately slow)
AGENCY_REGIONS = ("110000", "120000", "310000", "110108")
CONNECTORS = ("bikeshare", "takeaway", "logistics", "transit")
APP_REDIRECT_URI = "http://127.0.0.1:8765/callback"


def demo_access(
    hub: Hub, citizens: list[DemoCitizen], enterprises: list[DemoEnterprise]
) -> dict[str, Any]:
    """The demo's logins and clients, created on the first call and read back afterwards."""
    with read_session(hub.engine) as session:
        stored = session.get(HubMetadata, ACCESS_KEY)
        if stored is not None:
            existing: dict[str, Any] = json.loads(stored.value)
            return existing
    hasher = PasswordHasher.from_settings(hub.settings)
    logins = [(c, secrets.token_urlsafe(9)) for c in citizens[:ACCOUNTS]]
    hashed = [(c, password, hasher.hash(password)) for c, password in logins]
    with write_session(hub.engine) as session:
        for citizen, _, password_hash in hashed:
            session.add(
                CitizenAccount(
                    username=citizen.username,
                    password_hash=password_hash,
                    person_id=citizen.person_id,
                )
            )

        def client(kind: ClientKind, name: str, **binding: Any) -> dict[str, Any]:
            new = create_client(session, kind=kind, name=name, **binding)
            return new.as_json()

        access = {
            "citizens": [
                {
                    "username": c.username,
                    "password": password,
                    "person_id": c.person_id,
                    "home_region": c.home,
                    "employer": c.employer,
                }
                for c, password, _ in hashed
            ],
            "enterprise_clients": [
                client(ClientKind.ENTERPRISE, f"{e.name_en} ESG", enterprise_id=e.id)
                for e in enterprises
            ],
            "agency_clients": [
                client(ClientKind.AGENCY, f"Agency {code}", region_code=code)
                for code in AGENCY_REGIONS
            ],
            "connector_clients": [
                client(ClientKind.CONNECTOR, f"{slug} connector", connector=slug)
                for slug in CONNECTORS
            ],
            "app_clients": [
                client(
                    ClientKind.APP,
                    "Green Life demo app",
                    redirect_uris=(APP_REDIRECT_URI,),
                )
            ],
            "operator_clients": [client(ClientKind.OPERATOR, "Demo operator")],
        }
        session.add(HubMetadata(key=ACCESS_KEY, value=json.dumps(access, ensure_ascii=False)))
    return access
