"""Schema change control: the committed SDL matches the code, and breaking changes are recorded.

Two checks keep the GraphQL contract honest for the clients and supergraphs that depend on it:

* **Drift**: ``schema.graphql`` at the repository root is what ``carbonhub export-schema``
  prints. A change to the schema shows in review as a diff of that file.
* **Breaking changes**: the SDL is compared with the previous release's
  (``releases/schema-<version>.graphql``, the newest version) by graphql-core's
  ``find_breaking_changes``. Each breaking change must be recorded in the README's
  "Schema changelog", in its "Unreleased" section, on a line that says "Breaking" and names the
  changed schema coordinate in backticks (e.g. ``- **Breaking:** `Region.nameEn` removed``).
  Dangerous changes (a new enum value, a changed default) are reported, not refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from graphql import GraphQLSchema, build_schema, find_breaking_changes, find_dangerous_changes

RELEASE_FILE = re.compile(r"^schema-(\d+(?:\.\d+)*)\.graphql$")
UNRELEASED = "### Unreleased"
# a schema coordinate in graphql-core's descriptions: Type.field, or a bare type / directive
_FIELD_COORDINATE = re.compile(r"\b[A-Za-z_]\w*\.[A-Za-z_]\w*\b")
_LEADING_NAME = re.compile(r"^@?([A-Za-z_]\w*)")
_CHANGELOG_HEADING = "## Schema changelog"


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """One difference between two schemas, as graphql-core describes it."""

    kind: str
    description: str
    breaking: bool

    @property
    def coordinate(self) -> str:
        """The schema coordinate the change is about (``Type.field``, ``Type`` or a directive)."""
        field = _FIELD_COORDINATE.search(self.description)
        if field:
            return field.group(0)
        leading = _LEADING_NAME.match(self.description)
        return leading.group(1) if leading else self.description


def _parsed(sdl: str) -> GraphQLSchema:
    # federation SDL names directives it imports through @link without defining them
    return build_schema(sdl, assume_valid_sdl=True)


def schema_changes(previous: str, current: str) -> list[SchemaChange]:
    """Breaking and dangerous changes from the ``previous`` SDL to the ``current`` one."""
    old, new = _parsed(previous), _parsed(current)
    breaking = [
        SchemaChange(c.type.name, c.description, breaking=True)
        for c in find_breaking_changes(old, new)
    ]
    dangerous = [
        SchemaChange(c.type.name, c.description, breaking=False)
        for c in find_dangerous_changes(old, new)
    ]
    return breaking + dangerous


def unreleased_notes(readme: str) -> str:
    """The text of the "Unreleased" section of the README's schema changelog ('' if none)."""
    if _CHANGELOG_HEADING not in readme:
        return ""
    changelog = readme.split(_CHANGELOG_HEADING, 1)[1].split("\n## ", 1)[0]
    if UNRELEASED not in changelog:
        return ""
    return changelog.split(UNRELEASED, 1)[1].split("\n### ", 1)[0]


def is_recorded(change: SchemaChange, notes: str) -> bool:
    """Whether a line of ``notes`` says "Breaking" and names the change's coordinate."""
    named = f"`{change.coordinate}`"
    return any(named in line and "breaking" in line.lower() for line in notes.splitlines())


def unrecorded_breaking_changes(changes: list[SchemaChange], readme: str) -> list[SchemaChange]:
    """The breaking changes the README's "Unreleased" schema changelog does not record."""
    notes = unreleased_notes(readme)
    return [c for c in changes if c.breaking and not is_recorded(c, notes)]


def latest_release(directory: Path) -> Path | None:
    """The newest ``schema-<version>.graphql`` in ``directory`` (None when there is none)."""
    releases = []
    for path in directory.glob("schema-*.graphql"):
        match = RELEASE_FILE.match(path.name)
        if match:
            releases.append((tuple(int(p) for p in match.group(1).split(".")), path))
    return max(releases)[1] if releases else None
