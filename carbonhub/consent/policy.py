"""The access policy: the one place that decides what a principal may see.

Every read of personal, enterprise or regional data asks this module. Row-level decisions are
returned as SQL boolean expressions that the caller puts into its query's ``WHERE`` clause, so
nothing personal is fetched and then filtered in Python. Object-level decisions (may this
principal read this region's report at all?) raise a :class:`~carbonhub.errors.CarbonhubError`.

Rules today (the OAuth and consent layers extend them here, not in resolvers):

* anonymous callers see public reference data only (catalogue, methodologies, regions);
* the development superuser and operators holding ``admin`` see everything;
* a citizen with ``ledger:read`` sees their own ledger and points;
* an enterprise client with ``esg:read`` sees its own enterprise's ESG report (aggregates over
  its employees);
* an agency client with ``region:read`` sees reports of its region and every region below it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true
from sqlalchemy.sql.elements import ColumnElement as Column

from carbonhub.actors import RegionTree
from carbonhub.auth import Principal, PrincipalKind, Scope
from carbonhub.errors import AccessDenied, Unauthenticated


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
    """Refuse a regional report outside the principal's region subtree."""
    _require(principal, Scope.REGION_READ, f"the report of region {region_code}")
    if principal.sees_everything:
        return
    bound = principal.region_code
    if (
        principal.kind is not PrincipalKind.AGENCY
        or bound is None
        or not regions.is_within(region_code, bound)
    ):
        raise AccessDenied(f"region {region_code} is outside the regions this client may read")


def require_enterprise_report(principal: Principal, enterprise_id: str) -> None:
    """Refuse an ESG report of any enterprise but the principal's own."""
    _require(principal, Scope.ESG_READ, f"the ESG report of enterprise {enterprise_id}")
    if principal.sees_everything:
        return
    if principal.kind is not PrincipalKind.ENTERPRISE or principal.enterprise_id != enterprise_id:
        raise AccessDenied(f"enterprise {enterprise_id} is not this client's enterprise")


def esg_contributions(
    principal: Principal, enterprise_id: str, rollup_enterprise: Column[str]
) -> ColumnElement[bool]:
    """``WHERE`` clause over the enterprise rollup: the rows an ESG report may aggregate.

    Today: the enterprise's own employees while employed (the rollup holds nothing else).
    The consent layer narrows this to employees with an active share consent.
    """
    require_enterprise_report(principal, enterprise_id)
    return rollup_enterprise == enterprise_id


def regional_contributions(
    principal: Principal, region_code: str, regions: RegionTree
) -> ColumnElement[bool]:
    """``WHERE`` clause over regional rollups: the contributions a regional report may aggregate.

    Today: every resident's. The consent layer narrows this to residents with an active
    regional-statistics consent.
    """
    require_region_report(principal, region_code, regions)
    return true()


def may_read_enterprise_profile(principal: Principal) -> bool:
    """Enterprise names, codes and regions are public registry data."""
    return True
