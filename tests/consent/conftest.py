"""Consent fixtures: the hub's consent service, and terms that read like the behaviour."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

import pytest

from carbonhub.consent.service import ConsentService, ConsentTerms
from carbonhub.hub import Hub
from carbonhub.models import utcnow

NOW = utcnow()


@pytest.fixture
def service(hub: Hub) -> ConsentService:
    return hub.consents()


@pytest.fixture
def terms(hub: Hub) -> Callable[..., ConsentTerms]:
    """ESG-reporting terms for ``recipient`` (every category, 2023 data, a year) unless told."""
    every = tuple(c.code for c in hub.registry.catalogue.categories)

    def make(
        recipient: str,
        *,
        purpose: str = "esg_reporting",
        categories: tuple[str, ...] = every,
        data_from: date = date(2023, 1, 1),
        data_to: date = date(2023, 12, 31),
        expires_at: datetime | None = None,
    ) -> ConsentTerms:
        return ConsentTerms(
            purpose=purpose,
            recipient_id=recipient,
            categories=categories,
            data_from=data_from,
            data_to=data_to,
            expires_at=expires_at or NOW + timedelta(days=300),
        )

    return make
