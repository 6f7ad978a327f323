"""The README's "Scopes a router should enforce" table is the SDL's @requiresScopes, exactly."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import parse, value_from_ast_untyped
from graphql.language import InterfaceTypeDefinitionNode, ObjectTypeDefinitionNode

ROOT = Path(__file__).resolve().parents[2]
ROOT_TYPES = {"Query", "Mutation"}


def sdl_scopes() -> dict[str, set[str]]:
    """Scope -> the fields (``Type.field``, or the bare name of a root field) that require it,
    leaving out @inaccessible fields (a router never sees them) and the ``admin`` alternative."""
    scopes: dict[str, set[str]] = {}
    document = parse((ROOT / "schema.graphql").read_text(encoding="utf-8"))
    for definition in document.definitions:
        if not isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
            continue
        for field in definition.fields or ():
            directives = {d.name.value: d for d in field.directives or ()}
            if "requiresScopes" not in directives or "inaccessible" in directives:
                continue
            alternatives = value_from_ast_untyped(directives["requiresScopes"].arguments[0].value)
            owner = definition.name.value
            name = field.name.value if owner in ROOT_TYPES else f"{owner}.{field.name.value}"
            for (scope,) in alternatives:
                if scope != "admin":
                    scopes.setdefault(scope, set()).add(name)
    return scopes


def readme_scopes() -> dict[str, set[str]]:
    """Scope -> fields, from the table under "Scopes a router should enforce"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("**Scopes a router should enforce.**", 1)[1].split("\n\n", 2)[1]
    scopes: dict[str, set[str]] = {}
    for scope, fields in re.findall(r"^\| `([a-z:]+)` \| (.+) \|$", table, re.MULTILINE):
        scopes[scope] = set(re.findall(r"`([A-Za-z.]+)`", fields))
    return scopes


def test_the_readme_scope_table_lists_every_protected_field_of_the_sdl() -> None:
    # given the committed SDL and the README
    # then the table names each protected field under the scope the SDL requires
    assert readme_scopes() == sdl_scopes()
