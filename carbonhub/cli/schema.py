"""``carbonhub check-schema``: the committed SDL matches the code; breaking changes are recorded."""

from __future__ import annotations

from pathlib import Path

import click

from carbonhub.cli.common import fail


@click.command("check-schema")
@click.option(
    "--schema-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("schema.graphql"),
    show_default=True,
    help="The committed SDL (carbonhub export-schema -o schema.graphql writes it).",
)
@click.option(
    "--releases",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("releases"),
    show_default=True,
    help="Where released schemas are kept as schema-<version>.graphql.",
)
@click.option(
    "--readme",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=Path("README.md"),
    show_default=True,
    help="The README whose 'Schema changelog' records breaking changes.",
)
def check_schema(schema_file: Path, releases: Path, readme: Path) -> None:
    """Fail when schema.graphql drifts from the code or a breaking change is not recorded."""
    from carbonhub.schema import schema
    from carbonhub.schema.changes import latest_release, schema_changes, unrecorded_breaking_changes

    current = schema.as_str() + "\n"
    if not schema_file.exists() or schema_file.read_text(encoding="utf-8") != current:
        fail(f"{schema_file} does not match the code: run carbonhub export-schema -o {schema_file}")
    release = latest_release(releases)
    if release is None:
        click.echo(f"no released schema in {releases}/: nothing to compare with", err=True)
        return
    changes = schema_changes(release.read_text(encoding="utf-8"), current)
    for change in changes:
        label = "breaking" if change.breaking else "dangerous"
        click.echo(f"{label}: {change.description} ({change.kind})")
    missing = unrecorded_breaking_changes(changes, readme.read_text(encoding="utf-8"))
    if missing:
        names = ", ".join(f"`{c.coordinate}`" for c in missing)
        fail(
            f"{len(missing)} breaking change(s) since {release.name} not recorded in the "
            f"'Unreleased' schema changelog of {readme}: add a line saying Breaking for {names}",
            code=1,
        )
    click.echo(f"schema matches the code; no unrecorded breaking change since {release.name}")
