"""The access policy: the one place that decides what a principal may see.

Every read of personal, enterprise or regional data asks this module. Row-level decisions are
returned as SQL boolean expressions that the caller puts into its query's ``WHERE`` clause, so
nothing personal is fetched and then filtered in Python. Object-level decisions (may this
principal read this region's report at all?) raise a :class:`~carbonhub.errors.CarbonhubError`.

Rules today (the OAuth and consent layers extend them here, not in resolvers):

* anonymous callers see public reference data only (catalogue, methodologies, regions);
* the development superuser and operators holding ``admin`` see everything;
* a citizen with ``ledger:read`` sees their own ledger and points;
* an enterprise client with ``esg:read`` sees its own enterprise's ESG report: aggregates over
  the employees whose ESG-reporting consent covers the row's day and category at read time;
* an agency client with ``region:read`` sees reports of its region and every region below it:
  aggregates over residents with a regional-statistics consent in force at read time.

Reports aggregate only consented contributions whoever reads them (operators included): a
report is a release, and what it may contain does not depend on who asks. Those contributions
are kept ahead of the reads, as the recipients' released aggregates
(:mod:`carbonhub.consent.released` decides which consents count); this module decides who may
read a report at all.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.sql.elements import ColumnElement as Column

from carbonhub.actors import RegionTree
from carbonhub.auth import Principal, PrincipalKind, Scope
from carbonhub.errors import AccessDenied, NotFound, Unauthenticated


def _require(principal: Principal, scope: Scope, what: str) -> None:
    if principal.sees_everything:
        return
    if not principal.is_authenticated:
        raise Unauthenticated(f"{what} needs an access token with scope {scope.value}")
    if not principal.has(scope):
        raise AccessDenied(f"{what} needs scope {scope.value}")


def person_rows(principal: Principal, person_id: Column[str]) -> ColumnElement[bool]:
    """``WHERE`` clause over a person id column: the persons whose ledger the principal may read."""
    if principal.sees_everything:
        return true()
    if (
        principal.kind is PrincipalKind.CITIZEN
        and principal.has(Scope.LEDGER_READ)
        and principal.person_id
    ):
        return person_id == principal.person_id
    return false()


def require_person_reader(principal: Principal) -> None:
    """Refuse callers who can read no person at all (so they get a clear error, not silence)."""
    _require(principal, Scope.LEDGER_READ, "reading a person's ledger")


def require_operator(principal: Principal, what: str) -> None:
    """Only the development superuser and operators with ``admin`` may do ``what``."""
    if principal.sees_everything:
        return
    if not principal.is_authenticated:
        raise Unauthenticated(f"{what} needs an operator's access token (scope admin)")
    raise AccessDenied(f"{what} is for operators (scope admin)")


def require_region_report(principal: Principal, region_code: str, regions: RegionTree) -> None:
    """Refuse a regional report outside the principal's region subtree (as not found)."""
    _require(principal, Scope.REGION_READ, f"the report of region {region_code}")
    if principal.sees_everything:
        return
    bound = principal.region_code
    if principal.kind is not PrincipalKind.AGENCY or bound is None:
        raise AccessDenied(f"the report of region {region_code} is for agency clients")
    if not regions.is_within(region_code, bound):
        # answered as not found: the client learns nothing of regions outside its subtree
        raise NotFound(f"no report of region {region_code} for this client")


def require_enterprise_report(principal: Principal, enterprise_id: str) -> None:
    """Refuse an ESG report of any enterprise but the principal's own (another's as not found)."""
    _require(principal, Scope.ESG_READ, f"the ESG report of enterprise {enterprise_id}")
    if principal.sees_everything:
        return
    if principal.kind is not PrincipalKind.ENTERPRISE:
        raise AccessDenied(f"the ESG report of enterprise {enterprise_id} is for its own client")
    if principal.enterprise_id != enterprise_id:
        # answered as not found: another enterprise learns nothing of this one's report
        raise NotFound(f"no ESG report of enterprise {enterprise_id} for this client")


def may_read_enterprise_profile(principal: Principal) -> bool:
    """Enterprise names, codes and regions are public registry data."""
    return True


def require_citizen(principal: Principal, what: str) -> str:
    """The person a citizen's token acts for; any other caller, operators included, is refused."""
    if not principal.is_authenticated:
        raise Unauthenticated(f"{what} needs a citizen's access token")
    if principal.kind is not PrincipalKind.CITIZEN or principal.person_id is None:
        raise AccessDenied(f"{what} is the signed-in citizen's own; this token acts for no citizen")
    return principal.person_id


def require_own_person(principal: Principal, scope: Scope, what: str) -> str:
    """The person a citizen acts for, for a right only that citizen may exercise (export,
    erasure, disputes); anyone else, operators included, is refused."""
    _require(principal, scope, what)
    return require_citizen(principal, what)


def require_own_enterprise(
    principal: Principal, enterprise_id: str, what: str, *, hidden: bool = False
) -> None:
    """Only the enterprise's own client (or an operator) may do ``what`` for it.

    ``hidden``: answer another enterprise's client with "not found" rather than "forbidden",
    for reads that would otherwise reveal what that enterprise does.
    """
    if principal.sees_everything or principal.enterprise_id == enterprise_id:
        return
    if hidden:
        raise NotFound(f"unknown enterprise {enterprise_id!r}")
    raise AccessDenied(f"enterprise {enterprise_id} is not this client's enterprise ({what})")


def acting_enterprise(principal: Principal, what: str) -> str:
    """The enterprise an enterprise client acts for; anyone else is refused."""
    if principal.enterprise_id is None:
        raise AccessDenied(f"only an enterprise's client may {what}")
    return principal.enterprise_id


def acting_connector(principal: Principal, what: str) -> str:
    """The connector a connector client delivers for; anyone else (operators too) is refused.

    Delivering events is the provider's act under its citizens' ingest consents, so not even
    the development superuser may deliver in a connector's name.
    """
    _require(principal, Scope.EVENTS_INGEST, what)
    if principal.kind is not PrincipalKind.CONNECTOR or principal.connector is None:
        raise AccessDenied(f"only a connector's client may {what}")
    return principal.connector


def require_own_connector(principal: Principal, slug: str) -> None:
    """A connector client delivers only for the connector it is bound to."""
    if principal.connector != slug:
        raise AccessDenied(f"this client delivers for {principal.connector}, not {slug}")
