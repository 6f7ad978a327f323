"""Field permissions: the scope each protected field needs, checked before its resolver runs.

Deny by default: every field that reaches personal, enterprise or regional data is declared
with :func:`guarded` (a schema walk in the tests fails on any path from the root to such data
without one). The scope check here is the first gate; the access policy
(:mod:`carbonhub.consent.policy`) then decides which objects and rows the principal may see,
and answers "not found" for other principals' objects. The same scopes are emitted in the
federation SDL as ``@authenticated`` and ``@requiresScopes`` so a router can enforce them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import strawberry
from strawberry.permission import BasePermission

from carbonhub.auth import Scope
from carbonhub.errors import AccessDenied, Unauthenticated
from carbonhub.resolvers.context import Info


class ScopeGuard(BasePermission):
    """Lets the field run when the principal holds ``scope`` (or sees everything)."""

    scope: ClassVar[Scope]
    message = "not permitted"

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if principal.sees_everything or principal.has(self.scope):
            return True
        field = f"{info._raw_info.parent_type.name}.{info.field_name}"
        if not principal.is_authenticated:
            raise Unauthenticated(f"{field} needs an access token with scope {self.scope.value}")
        raise AccessDenied(f"{field} needs scope {self.scope.value}")


GUARDS: dict[Scope, type[ScopeGuard]] = {
    scope: type(f"Requires_{scope.name}", (ScopeGuard,), {"scope": scope}) for scope in Scope
}


def _scopes_directive(scope: Scope) -> list[list[str]]:
    # outer list: alternatives; operators holding admin may use every field
    alternatives = [[scope.value]]
    if scope is not Scope.ADMIN:
        alternatives.append([Scope.ADMIN.value])
    return alternatives


# The hub's own operations: operator tools and connectors' deliveries are used against the hub
# directly, never through a supergraph, so a router's API schema leaves them out.
INTERNAL_SCOPES = frozenset({Scope.ADMIN, Scope.EVENTS_INGEST})


def guarded(
    scope: Scope, *, description: str | None = None, directives: Sequence[object] = ()
) -> Any:
    """A field that needs ``scope``: the permission, ``@authenticated`` and ``@requiresScopes``
    (and any other ``directives``, e.g. ``@cost`` or ``@listSize``); ``@inaccessible`` when
    only the hub's own operators or connectors may call it."""
    return strawberry.federation.field(
        description=description,
        directives=directives,
        permission_classes=[GUARDS[scope]],
        authenticated=True,
        requires_scopes=_scopes_directive(scope),
        inaccessible=scope in INTERNAL_SCOPES,
    )


def guarded_mutation(scope: Scope, *, description: str | None = None) -> Any:
    """A mutation that needs ``scope`` (same rules as :func:`guarded`)."""
    return strawberry.federation.mutation(
        description=description,
        permission_classes=[GUARDS[scope]],
        authenticated=True,
        requires_scopes=_scopes_directive(scope),
        inaccessible=scope in INTERNAL_SCOPES,
    )


def guard_of(field: Any) -> Scope | None:
    """The scope a schema field is guarded by, if any (used by the schema walk)."""
    for permission in getattr(field, "permission_classes", None) or []:
        if isinstance(permission, type) and issubclass(permission, ScopeGuard):
            return permission.scope
    return None
