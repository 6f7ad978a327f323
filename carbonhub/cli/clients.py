"""``carbonhub clients`` and ``carbonhub keys``: OAuth clients and token signing keys."""

from __future__ import annotations

import json
from pathlib import Path

import click
from sqlalchemy import select, update
from sqlmodel import col

from carbonhub.auth.clients import create_client
from carbonhub.auth.documents import parse_manifest, register_manifest
from carbonhub.auth.keys import rotate_signing_key
from carbonhub.auth.scopes import ClientKind
from carbonhub.auth.server import revoke_grant
from carbonhub.cli.common import database_option, fail, opened_hub, settings_for
from carbonhub.db import read_session, write_session
from carbonhub.errors import CarbonhubError
from carbonhub.models import OAuthClient, OAuthGrant, utcnow


@click.group()
def clients() -> None:
    """Register, list and revoke OAuth clients."""


@clients.command("create")
@click.option("--kind", required=True, type=click.Choice([k.value for k in ClientKind]))
@click.option("--name", default=None, help="Shown to citizens on the authorisation page.")
@click.option("--enterprise", "enterprise_id", default=None, help="enterprise clients: its id")
@click.option("--region", "region_code", default=None, help="agency clients: its region code")
@click.option("--connector", default=None, help="connector clients: the connector's slug")
@click.option("--redirect-uri", "redirect_uris", multiple=True, help="app clients (repeatable)")
@click.option("--public", is_flag=True, help="app clients that cannot keep a secret (PKCE only)")
@click.option("--json", "as_json", is_flag=True, help="Print the client as JSON.")
@database_option
def create(
    kind: str,
    name: str | None,
    enterprise_id: str | None,
    region_code: str | None,
    connector: str | None,
    redirect_uris: tuple[str, ...],
    public: bool,
    as_json: bool,
    database_url: str | None,
) -> None:
    """Register a client and print its id and secret (the secret is shown only this once)."""
    client_kind = ClientKind(kind)
    with opened_hub(settings_for(database_url)) as hub:
        try:
            with write_session(hub.engine) as session:
                new = create_client(
                    session,
                    kind=client_kind,
                    name=name or f"{kind} client",
                    redirect_uris=redirect_uris,
                    public=public,
                    enterprise_id=enterprise_id,
                    region_code=region_code,
                    connector=connector,
                )
        except CarbonhubError as exc:
            fail(str(exc))
    if as_json:
        click.echo(json.dumps(new.as_json(), ensure_ascii=False))
        return
    click.echo(f"client_id:     {new.client_id}")
    if new.client_secret is not None:
        click.echo(f"client_secret: {new.client_secret}   (shown once; store it now)")
    click.echo(f"scope:         {' '.join(new.scopes)}")


@clients.command("list")
@database_option
def list_clients(database_url: str | None) -> None:
    """List the registered clients (never their secrets)."""
    with opened_hub(settings_for(database_url)) as hub, read_session(hub.engine) as session:
        for row in session.execute(
            select(OAuthClient).order_by(col(OAuthClient.created_at))
        ).scalars():
            binding = row.enterprise_id or row.region_code or row.connector or "-"
            state = "revoked" if row.revoked_at else "active"
            click.echo(f"{row.client_id}\t{row.kind}\t{binding}\t{state}\t{row.name}")


@clients.command("revoke")
@click.argument("client_id")
@database_option
def revoke(client_id: str, database_url: str | None) -> None:
    """Revoke a client and every token it holds."""
    now = utcnow()
    with opened_hub(settings_for(database_url)) as hub, write_session(hub.engine) as session:
        if session.get(OAuthClient, client_id) is None:
            fail(f"no client {client_id!r}")
        session.execute(
            update(OAuthClient)
            .where(col(OAuthClient.client_id) == client_id)
            .values(revoked_at=now)
        )
        grants = session.execute(
            select(col(OAuthGrant.id)).where(col(OAuthGrant.client_id) == client_id)
        ).scalars()
        for grant_id in list(grants):
            revoke_grant(session, grant_id, "client revoked by an operator", now)
    click.echo(f"revoked {client_id}")


@clients.command("documents")
@click.argument("client_id")
@click.argument("manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Drop the client's documents not in this manifest.")
@database_option
def documents(client_id: str, manifest: Path, replace: bool, database_url: str | None) -> None:
    """Register a client's trusted documents (Apollo persisted-query manifest or {id: body})."""
    try:
        operations = parse_manifest(manifest.read_text(encoding="utf-8"))
    except CarbonhubError as exc:
        fail(str(exc))
    with opened_hub(settings_for(database_url)) as hub:
        try:
            with write_session(hub.engine) as session:
                total = register_manifest(session, client_id, operations, replace=replace)
        except CarbonhubError as exc:
            fail(str(exc))
    click.echo(f"{len(operations)} documents registered; {client_id} has {total}")


@click.group()
def keys() -> None:
    """Manage the keys that sign access tokens."""


@keys.command("rotate")
@database_option
def rotate(database_url: str | None) -> None:
    """Sign new tokens with a new key; the old one stays published for a day."""
    with opened_hub(settings_for(database_url)) as hub:
        if hub.settings.signing_key_file is not None:
            fail("the signing key comes from CARBONHUB_SIGNING_KEY_FILE: replace that file instead")
        kid = rotate_signing_key(hub.engine)
    click.echo(f"new signing key {kid}")
