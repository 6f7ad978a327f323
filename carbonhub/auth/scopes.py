"""Client kinds, the scopes each kind may hold, and what each scope means in plain language."""

from __future__ import annotations

from enum import StrEnum

from carbonhub.auth.principal import PrincipalKind, Scope


class ClientKind(StrEnum):
    """The kinds of OAuth clients carbonhub registers."""

    APP = "app"  # acts for citizens who approve it (authorization code + PKCE)
    ENTERPRISE = "enterprise"  # an employer's ESG system, bound to one enterprise
    AGENCY = "agency"  # a municipal agency, bound to one region subtree
    CONNECTOR = "connector"  # a data provider's connector, bound to one connector
    OPERATOR = "operator"  # the hub's operators (scope admin)


KIND_SCOPES: dict[ClientKind, frozenset[str]] = {
    ClientKind.APP: frozenset(
        {Scope.LEDGER_READ.value, Scope.POINTS_REDEEM.value, Scope.CONSENT_MANAGE.value}
    ),
    ClientKind.ENTERPRISE: frozenset({Scope.ESG_READ.value}),
    ClientKind.AGENCY: frozenset({Scope.REGION_READ.value}),
    ClientKind.CONNECTOR: frozenset({Scope.EVENTS_INGEST.value}),
    ClientKind.OPERATOR: frozenset({Scope.ADMIN.value}),
}

# What a token of each client kind makes its caller (an app's token acts for a citizen).
PRINCIPAL_OF: dict[ClientKind, PrincipalKind] = {
    ClientKind.APP: PrincipalKind.CITIZEN,
    ClientKind.ENTERPRISE: PrincipalKind.ENTERPRISE,
    ClientKind.AGENCY: PrincipalKind.AGENCY,
    ClientKind.CONNECTOR: PrincipalKind.CONNECTOR,
    ClientKind.OPERATOR: PrincipalKind.OPERATOR,
}

PLAIN_LANGUAGE: dict[str, str] = {
    Scope.LEDGER_READ.value: "See your carbon ledger: your green behaviours, the CO2e they avoided and your green points.",
    Scope.POINTS_REDEEM.value: "Spend your green points on rewards (points are never transferred).",
    Scope.CONSENT_MANAGE.value: "See and change who you share your carbon data with, and take consents back.",
    Scope.ESG_READ.value: "Read your enterprise's ESG report (aggregates of consenting employees only).",
    Scope.REGION_READ.value: "Read regional reports of your region and the regions within it.",
    Scope.EVENTS_INGEST.value: "Deliver behaviour events from your connector.",
    Scope.ADMIN.value: "Operate the hub: every ledger, quarantine and client.",
}

ALL_SCOPES: tuple[str, ...] = tuple(s.value for s in Scope)


def describe(scopes: list[str]) -> list[tuple[str, str]]:
    """(scope, what it lets the client do) for an authorisation page."""
    return [(scope, PLAIN_LANGUAGE.get(scope, scope)) for scope in scopes]
