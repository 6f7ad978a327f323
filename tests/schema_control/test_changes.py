"""Schema change control: schema.graphql follows the code, breaking changes need a changelog line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from carbonhub.cli import main
from carbonhub.schema import schema
from carbonhub.schema.changes import (
    latest_release,
    schema_changes,
    unrecorded_breaking_changes,
)

ROOT = Path(__file__).resolve().parents[2]
RELEASED = """
type Query { region(code: ID!): Region! }
type Region @key(fields: "code") { code: ID! nameEn: String! level: String! }
enum Interval { DAY WEEK MONTH }
"""


def readme(unreleased: str, older: str = "") -> str:
    return (
        "# carbonhub\n\n## Schema changelog\n\n### Unreleased\n\n"
        f"{unreleased}\n\n### 0.1.0\n\n{older}\n\n## Next section\n"
    )


def test_the_committed_schema_is_what_the_code_exports() -> None:
    # given the committed SDL and the schema the code builds
    committed = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    # then they are the same (else: carbonhub export-schema -o schema.graphql)
    assert committed == schema.as_str() + "\n"


def test_the_code_has_no_unrecorded_breaking_change_since_the_last_release() -> None:
    # given the newest released schema and the README's changelog
    release = latest_release(ROOT / "releases")
    assert release is not None
    changes = schema_changes(release.read_text(encoding="utf-8"), schema.as_str())
    # then every breaking change since is recorded
    readme_text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert unrecorded_breaking_changes(changes, readme_text) == []


def test_an_added_field_is_not_a_breaking_change() -> None:
    # given a release and a schema that only adds a field
    current = RELEASED.replace("level: String!", "level: String! population: Int")
    # then nothing breaks
    assert [c for c in schema_changes(RELEASED, current) if c.breaking] == []


def test_a_removed_field_is_breaking_and_named_by_its_coordinate() -> None:
    # given a schema without Region.nameEn
    current = RELEASED.replace("nameEn: String! ", "")
    # when the two are compared
    changes = schema_changes(RELEASED, current)
    # then the removal is breaking and names Region.nameEn
    assert [(c.breaking, c.coordinate) for c in changes] == [(True, "Region.nameEn")]


def test_an_unrecorded_breaking_change_is_refused() -> None:
    # given a removed field and a changelog that does not mention it
    changes = schema_changes(RELEASED, RELEASED.replace("nameEn: String! ", ""))
    # then it is reported as unrecorded
    assert unrecorded_breaking_changes(changes, readme("- Added `Region.population`.")) == changes


def test_a_breaking_change_recorded_under_unreleased_passes() -> None:
    # given the removal recorded as breaking in the Unreleased section
    changes = schema_changes(RELEASED, RELEASED.replace("nameEn: String! ", ""))
    notes = readme("- **Breaking:** `Region.nameEn` removed; use `Region.name`.")
    # then nothing is unrecorded
    assert unrecorded_breaking_changes(changes, notes) == []


def test_a_note_in_an_older_release_section_does_not_record_a_new_break() -> None:
    # given the same note, but under the previous release's heading
    changes = schema_changes(RELEASED, RELEASED.replace("nameEn: String! ", ""))
    notes = readme("", older="- **Breaking:** `Region.nameEn` removed.")
    # then the new removal is still unrecorded
    assert unrecorded_breaking_changes(changes, notes) == changes


def test_a_mention_without_saying_breaking_does_not_record_it() -> None:
    # given a line naming the field without calling the change breaking
    changes = schema_changes(RELEASED, RELEASED.replace("nameEn: String! ", ""))
    # then it does not count
    notes = readme("- `Region.nameEn` tidied up.")
    assert unrecorded_breaking_changes(changes, notes) == changes


def test_a_new_enum_value_is_dangerous_not_breaking() -> None:
    # given a new interval
    changes = schema_changes(RELEASED, RELEASED.replace("MONTH }", "MONTH YEAR }"))
    # then it is reported as dangerous and needs no changelog line
    assert [(c.breaking, c.coordinate) for c in changes] == [(False, "Interval.YEAR")]
    assert unrecorded_breaking_changes(changes, readme("")) == []


def test_the_newest_release_is_chosen_by_version_not_by_name(tmp_path: Path) -> None:
    # given releases 0.9.0 and 0.10.0
    for version in ("0.9.0", "0.10.0", "0.2.1"):
        (tmp_path / f"schema-{version}.graphql").write_text(RELEASED, encoding="utf-8")
    # then 0.10.0 is the newest
    assert latest_release(tmp_path) == tmp_path / "schema-0.10.0.graphql"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the schema file, the releases and the README, to break."""
    (tmp_path / "releases").mkdir()
    (tmp_path / "schema.graphql").write_text(schema.as_str() + "\n", encoding="utf-8")
    (tmp_path / "README.md").write_text(readme(""), encoding="utf-8")
    return tmp_path


def check(project: Path) -> tuple[int, str]:
    result = CliRunner().invoke(
        main,
        [
            "check-schema",
            "--schema-file",
            str(project / "schema.graphql"),
            "--releases",
            str(project / "releases"),
            "--readme",
            str(project / "README.md"),
        ],
    )
    return result.exit_code, result.output


def test_check_schema_fails_when_the_committed_file_drifts(project: Path) -> None:
    # given a schema file edited by hand
    path = project / "schema.graphql"
    path.write_text(path.read_text(encoding="utf-8") + "type Extra { x: Int }\n", "utf-8")
    # when the check runs
    code, output = check(project)
    # then it fails and says how to regenerate the file
    assert code == 2
    assert "carbonhub export-schema -o" in output


def test_check_schema_fails_on_an_unrecorded_break_since_the_release(project: Path) -> None:
    # given a release that had a field the code no longer has
    released = schema.as_str().replace(
        "  level: String!\n", "  level: String!\n  population: Int\n", 1
    )
    (project / "releases" / "schema-0.1.0.graphql").write_text(released, encoding="utf-8")
    # when the check runs
    code, output = check(project)
    # then it fails naming the field
    assert code == 1
    assert "breaking:" in output
    assert "population" in output
