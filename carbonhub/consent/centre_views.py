"""What the consent centre shows, in plain words: consents, requests, receipts, access log rows.

The page handlers in :mod:`carbonhub.consent.centre` read the database and hand the rows to
:class:`Describer`, which names recipients, purposes and categories in the page's language
and turns dates into local days, so the templates only lay the words out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.actors import RegionTree
from carbonhub.consent.centre_text import text_of
from carbonhub.consent.service import ConsentState
from carbonhub.errors import NotFound
from carbonhub.methodology import Catalogue, ProgrammeDirectory
from carbonhub.models import (
    AccessLogEntry,
    ConsentEvent,
    ConsentGrant,
    ConsentReceipt,
    ConsentRequest,
    Enterprise,
)


@dataclass(frozen=True, slots=True)
class CategoryChoice:
    """A behaviour category as a checkbox: code, name in the page language, ticked or not."""

    code: str
    name: str
    checked: bool = True


@dataclass(frozen=True, slots=True)
class ConsentView:
    """One consent in plain words, with its status as a word (never only a colour)."""

    id: str
    recipient: str
    recipient_kind: str
    purpose: str
    categories: str
    window: str
    expires: str
    granted: str
    sentence: str
    status: str
    status_code: str
    reason: str | None
    ended: str | None
    active: bool


@dataclass(frozen=True, slots=True)
class RequestView:
    """An enterprise's request waiting for the citizen's answer."""

    id: str
    heading: str
    window: str
    expires: str
    categories: tuple[CategoryChoice, ...]


@dataclass(frozen=True, slots=True)
class ReceiptView:
    """A receipt in the list: its id, the consent it is about and the event it records."""

    id: str
    consent_id: str
    recipient: str
    event: str
    issued: str


@dataclass(frozen=True, slots=True)
class AccessView:
    """One access log row: who read what, when, why, over how many persons."""

    at: str
    who: str
    what: str
    why: str
    period: str
    persons: int


class Describer:
    """Names things in one language for one hub (its catalogue, programmes, regions, zone)."""

    def __init__(
        self,
        language: str,
        catalogue: Catalogue,
        programmes: ProgrammeDirectory,
        regions: RegionTree,
        zone: ZoneInfo,
    ) -> None:
        self.language = language
        self.t = text_of(language)
        self.catalogue = catalogue
        self.programmes = programmes
        self.regions = regions
        self.zone = zone
        self._enterprises: dict[str, str] = {}

    # -- words --------------------------------------------------------------------------------

    def word(self, prefix: str, code: str) -> str:
        """The catalogue's word for ``prefix + code`` (the code itself when there is none)."""
        return self.t.get(f"{prefix}{code}", code)

    def category_names(self, codes: Iterable[str]) -> str:
        """Category names in the catalogue's order, joined for a sentence."""
        wanted = set(codes)
        names = [self._category_name(c.code) for c in self.catalogue.categories if c.code in wanted]
        names += sorted(wanted - {c.code for c in self.catalogue.categories})
        return ("、" if self.language == "zh-CN" else ", ").join(names) or self.t["none"]

    def category_choices(
        self, offered: Iterable[str] | None = None, ticked: Iterable[str] | None = None
    ) -> tuple[CategoryChoice, ...]:
        """Checkboxes for ``offered`` categories (all of them by default), ``ticked`` ticked."""
        allowed = None if offered is None else set(offered)
        ticks = allowed if ticked is None else set(ticked)
        return tuple(
            CategoryChoice(c.code, self._category_name(c.code), ticks is None or c.code in ticks)
            for c in self.catalogue.categories
            if allowed is None or c.code in allowed
        )

    def _category_name(self, code: str) -> str:
        for category in self.catalogue.categories:
            if category.code == code:
                return category.name_zh if self.language == "zh-CN" else category.name_en
        return code

    def day(self, moment: datetime | date) -> str:
        """A date, or an instant as its local day and minute."""
        if isinstance(moment, datetime):
            return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")
        return moment.isoformat()

    def window(self, data_from: date, data_to: date) -> str:
        """A data window as words."""
        return self.t["window"].format(data_from=self.day(data_from), data_to=self.day(data_to))

    def programme_name(self, region_code: str) -> str:
        """The name of the programme of ``region_code`` (the code when there is none)."""
        programme = self.programmes.for_region(region_code)
        if programme is None:
            return region_code
        return programme.name_zh if self.language == "zh-CN" else programme.name_en

    def region_name(self, code: str) -> str:
        """A region's name in the page language (the code when unknown)."""
        try:
            zh, en = self.regions.name(code)
        except NotFound:
            return code
        return zh if self.language == "zh-CN" else en

    def enterprise_name(self, session: Session, enterprise_id: str) -> str:
        """An enterprise's registered name (cached for the page)."""
        if enterprise_id not in self._enterprises:
            enterprise = session.get(Enterprise, enterprise_id)
            self._enterprises[enterprise_id] = (
                enterprise_id if enterprise is None else enterprise.name
            )
        return self._enterprises[enterprise_id]

    def recipient(self, session: Session, kind: str, recipient_id: str) -> str:
        """A consent recipient's name: the enterprise, the programme or the provider."""
        if kind == "enterprise":
            return self.enterprise_name(session, recipient_id)
        if kind == "programme":
            return self.programme_name(recipient_id)
        return recipient_id

    # -- rows ---------------------------------------------------------------------------------

    def consent(self, session: Session, state: ConsentState) -> ConsentView:
        """A consent in plain words."""
        grant = state.grant
        recipient = self.recipient(session, grant.recipient_kind, grant.recipient_id)
        purpose = self.word("purpose_", grant.purpose)
        categories = self.category_names(state.categories)
        sentence_key = "ingest_sentence" if grant.kind == "ingest" else "consent_sentence"
        sentence = self.t[sentence_key].format(
            recipient=recipient,
            categories=categories,
            data_from=self.day(grant.data_from),
            data_to=self.day(grant.data_to),
            purpose=purpose,
            expires=self.day(grant.expires_at),
        )
        reason = None
        if state.status != "active":
            reason = self.word("reason_", state.status)
        return ConsentView(
            id=grant.id,
            recipient=recipient,
            recipient_kind=self.word("kind_", grant.recipient_kind),
            purpose=purpose,
            categories=categories,
            window=self.window(grant.data_from, grant.data_to),
            expires=self.day(grant.expires_at),
            granted=self.day(grant.granted_at),
            sentence=sentence,
            status=self.word("status_", state.status),
            status_code=state.status,
            reason=reason,
            ended=None if state.status_at is None else self.day(state.status_at),
            active=state.status == "active",
        )

    def request(self, session: Session, request: ConsentRequest) -> RequestView:
        """An enterprise's pending request, its categories as ticked checkboxes."""
        recipient = self.enterprise_name(session, request.enterprise_id)
        return RequestView(
            id=request.id,
            heading=self.t["request_from"].format(
                recipient=recipient, purpose=self.word("purpose_", request.purpose)
            ),
            window=self.window(request.data_from, request.data_to),
            expires=self.day(request.consent_expires_at),
            categories=self.category_choices(request.categories.split()),
        )

    def receipts(self, session: Session, rows: Sequence[ConsentReceipt]) -> list[ReceiptView]:
        """The receipts with the event each records and the consent's recipient."""
        events = {
            e.id: e
            for e in session.scalars(
                select(ConsentEvent).where(col(ConsentEvent.id).in_([r.event_id for r in rows]))
            )
        }
        views = []
        for row in rows:
            event = events.get(row.event_id)
            consent = session.get(ConsentGrant, row.consent_id)
            recipient = (
                row.consent_id
                if consent is None
                else self.recipient(session, consent.recipient_kind, consent.recipient_id)
            )
            views.append(
                ReceiptView(
                    id=row.id,
                    consent_id=row.consent_id,
                    recipient=recipient,
                    event="" if event is None else self.word("event_", event.event_type),
                    issued=self.day(row.issued_at),
                )
            )
        return views

    def access(self, session: Session, entry: AccessLogEntry) -> AccessView:
        """An access log row in plain words."""
        kind = self.word("kind_", entry.recipient_kind)
        if entry.recipient_kind == "enterprise":
            who = f"{self.enterprise_name(session, entry.recipient_id)} ({kind})"
        elif entry.recipient_kind == "agency":
            who = f"{kind}: {self.region_name(entry.recipient_id)}"
        elif entry.recipient_kind == "citizen":
            who = kind
        else:
            who = f"{kind} {entry.client_id or entry.recipient_id}"
        what = self.word("what_", entry.what)
        if entry.scope_code and entry.recipient_kind == "agency":
            what = f"{what} · {self.region_name(entry.scope_code)}"
        categories = entry.categories.split()
        if categories:
            what = f"{what} · {self.category_names(categories)}"
        return AccessView(
            at=self.day(entry.at),
            who=who,
            what=what,
            why=self.word("purpose_", entry.purpose),
            period=self.window(entry.period_from, entry.period_to),
            persons=entry.persons,
        )


def split_consents(
    views: Iterable[ConsentView], kinds: Mapping[str, str]
) -> tuple[list[ConsentView], list[ConsentView], list[ConsentView]]:
    """(active share consents, ended share consents, ingest consents) of ``views``.

    ``kinds`` maps a consent id to its kind (``share`` or ``ingest``).
    """
    active, ended, ingest = [], [], []
    for view in views:
        if kinds.get(view.id) == "ingest":
            ingest.append(view)
        elif view.active:
            active.append(view)
        else:
            ended.append(view)
    return active, ended, ingest
