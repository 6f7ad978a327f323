"""Trusted documents (persisted queries): GraphQL documents registered per OAuth client.

A client may send a document's id (the SHA-256 hex digest of its text) instead of the text, as
Apollo's persisted-query extension (``extensions.persistedQuery.sha256Hash``) or the
GraphQL-over-HTTP ``documentId`` (``sha256:<hex>``). A deployment can require trusted documents
of whole client kinds (``CARBONHUB_TRUSTED_DOCUMENTS_REQUIRED_FOR``, e.g. ``agency,enterprise``):
those clients then run only the documents an operator registered for them, which closes the
door on ad-hoc queries from a leaked agency or enterprise credential.

Manifests are registered with ``carbonhub clients documents CLIENT_ID FILE``, in Apollo's
persisted-query manifest format or as a plain ``{"<sha256>": "<document>"}`` map.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError, OperationDefinitionNode, parse
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from sqlmodel import col

from carbonhub.auth.principal import Principal, PrincipalKind
from carbonhub.auth.scopes import ClientKind
from carbonhub.errors import InvalidInput, NotFound
from carbonhub.models import OAuthClient, TrustedDocument

HEX_ID = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class ManifestOperation:
    """One document of a manifest: its id (SHA-256 of the body), body and operation name."""

    document_id: str
    body: str
    operation_name: str | None


def document_id(body: str) -> str:
    """The id of a document: the SHA-256 hex digest of its UTF-8 text."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def requested_id(extensions: dict[str, Any] | None, document: str | None) -> str | None:
    """The document id a request names, if any (persisted-query extension or ``documentId``)."""
    if document is not None:
        value = document.removeprefix("sha256:")
        if not HEX_ID.match(value):
            raise InvalidInput("documentId must be sha256:<64 lowercase hex digits>")
        return value
    persisted = (extensions or {}).get("persistedQuery")
    if persisted is None:
        return None
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise InvalidInput("persistedQuery must be {version: 1, sha256Hash: <hex>}")
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not HEX_ID.match(digest):
        raise InvalidInput("persistedQuery.sha256Hash must be 64 lowercase hex digits")
    return digest


def parse_manifest(text: str) -> list[ManifestOperation]:
    """The operations of a manifest, each checked: its id is its body's digest, its body parses.

    Accepts Apollo's ``{"format": "apollo-persisted-query-manifest", "version": 1,
    "operations": [{"id", "body", "name"?, "type"?}]}`` and a plain ``{id: body}`` map.
    """
    try:
        loaded = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"the manifest is not JSON: {exc}") from exc
    if isinstance(loaded, dict) and loaded.get("format") == "apollo-persisted-query-manifest":
        entries = [(o.get("id"), o.get("body")) for o in loaded.get("operations") or []]
    elif isinstance(loaded, dict):
        entries = list(loaded.items())
    else:
        raise InvalidInput("a manifest is an Apollo persisted-query manifest or an {id: body} map")
    return [_checked(given, body) for given, body in entries]


def _checked(given: object, body: object) -> ManifestOperation:
    if not isinstance(given, str) or not isinstance(body, str):
        raise InvalidInput("every manifest entry needs a string id and a string body")
    actual = document_id(body)
    if given.removeprefix("sha256:") != actual:
        raise InvalidInput(f"manifest id {given} is not the SHA-256 of its body ({actual})")
    try:
        parsed = parse(body)
    except GraphQLError as exc:
        raise InvalidInput(f"manifest document {actual} does not parse: {exc.message}") from exc
    names = [
        d.name.value
        for d in parsed.definitions
        if isinstance(d, OperationDefinitionNode) and d.name is not None
    ]
    return ManifestOperation(actual, body, names[0] if len(names) == 1 else None)


def register_manifest(
    session: Session,
    client_id: str,
    operations: Sequence[ManifestOperation],
    *,
    replace: bool = False,
) -> int:
    """Register ``operations`` for a client (``replace``: instead of its current ones).

    Returns how many documents the client has afterwards.
    """
    client = session.get(OAuthClient, client_id)
    if client is None or client.revoked_at is not None:
        raise NotFound(f"no active client {client_id!r}")
    if replace:
        session.execute(delete(TrustedDocument).where(col(TrustedDocument.client_id) == client_id))
    for operation in operations:
        session.merge(
            TrustedDocument(
                client_id=client_id,
                document_id=operation.document_id,
                body=operation.body,
                operation_name=operation.operation_name,
            )
        )
    session.flush()
    return len(
        session.scalars(
            select(col(TrustedDocument.document_id)).where(
                col(TrustedDocument.client_id) == client_id
            )
        ).all()
    )


def registered_body(session: Session, client_id: str | None, wanted: str) -> str | None:
    """The body of document ``wanted`` registered for the client; None when it has none."""
    if client_id is None:
        return None
    found = session.get(TrustedDocument, (client_id, wanted))
    return None if found is None else found.body


def required_kinds(setting: str) -> frozenset[ClientKind]:
    """The client kinds that may run trusted documents only, from the comma-separated setting."""
    kinds = []
    for name in (part.strip() for part in setting.split(",")):
        if not name:
            continue
        try:
            kinds.append(ClientKind(name))
        except ValueError as exc:
            known = ", ".join(k.value for k in ClientKind)
            raise InvalidInput(f"unknown client kind {name!r} (one of {known})") from exc
    return frozenset(kinds)


def client_kind_of(principal: Principal) -> ClientKind | None:
    """The kind of client a principal acts through (a citizen's: an app); None without one."""
    if principal.client_id is None:
        return None
    if principal.kind is PrincipalKind.CITIZEN:
        return ClientKind.APP
    try:
        return ClientKind(principal.kind.value)
    except ValueError:
        return None
