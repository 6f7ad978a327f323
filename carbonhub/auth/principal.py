"""Who is asking: the principal every request carries, and the OAuth scopes it may hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class PrincipalKind(StrEnum):
    """The kinds of callers carbonhub serves."""

    ANONYMOUS = "anonymous"
    DEVELOPER = "developer"
    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"
    AGENCY = "agency"
    CONNECTOR = "connector"
    OPERATOR = "operator"


class Scope(StrEnum):
    """OAuth scopes, each bound to the principal's own person, enterprise, region or connector."""

    LEDGER_READ = "ledger:read"
    POINTS_REDEEM = "points:redeem"
    CONSENT_MANAGE = "consent:manage"
    ESG_READ = "esg:read"
    REGION_READ = "region:read"
    EVENTS_INGEST = "events:ingest"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request.

    Attributes:
        subject: the person id (citizens) or client id (clients); None when anonymous.
        person_id, enterprise_id, region_code, connector: what the principal is bound to;
            a scope only ever reaches data of its binding.
    """

    kind: PrincipalKind
    scopes: frozenset[str] = field(default_factory=frozenset)
    subject: str | None = None
    client_id: str | None = None
    person_id: str | None = None
    enterprise_id: str | None = None
    region_code: str | None = None
    connector: str | None = None

    @classmethod
    def anonymous(cls) -> Principal:
        """A caller without credentials: public reference data only."""
        return cls(PrincipalKind.ANONYMOUS)

    @classmethod
    def developer(cls) -> Principal:
        """The anonymous caller of a development hub, who may see everything (never in production)."""
        return cls(PrincipalKind.DEVELOPER, frozenset(s.value for s in Scope), subject="developer")

    @classmethod
    def operator(cls) -> Principal:
        """The hub's operator at the command line: administration, which reads every report."""
        return cls(
            PrincipalKind.OPERATOR, frozenset({Scope.ADMIN.value}), subject="carbonhub-operator"
        )

    def has(self, scope: Scope) -> bool:
        """Whether the principal holds ``scope``."""
        return scope.value in self.scopes

    @property
    def is_authenticated(self) -> bool:
        """Whether the caller proved who they are (or is the development superuser)."""
        return self.kind is not PrincipalKind.ANONYMOUS

    @property
    def sees_everything(self) -> bool:
        """Developers and operators holding ``admin``."""
        return self.kind in (PrincipalKind.DEVELOPER, PrincipalKind.OPERATOR) and self.has(
            Scope.ADMIN
        )
