"""Hostile GraphQL requests for the limit tests, and what a refusal over HTTP must look like."""

from __future__ import annotations

from typing import Any

import httpx


def aliases(count: int, field: str = "code") -> str:
    """``{ region { a0: code a1: code ... } }``: ``count`` aliases of one field."""
    body = " ".join(f"a{i}: {field}" for i in range(count))
    return f'{{ region(code: "110000") {{ {body} }} }}'


def doubling_fragments(levels: int) -> str:
    """Fragments each spreading the next twice: ``2**levels`` aliases from ~8 tokens a level."""
    fragments = [f"fragment F{i} on Region {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    fragments.append(f"fragment F{levels} on Region {{ a: code }}")
    return '{ region(code: "110000") { ...F0 } } ' + " ".join(fragments)


def nested(depth: int, field: str = "parent") -> str:
    """``region { parent { parent { ... code } } }`` with ``depth`` levels below ``region``."""
    return '{ region(code: "110108") { ' + f"{field} {{ " * depth + "code" + " }" * depth + " } }"


def refusal(response: httpx.Response) -> str:
    """The first error's message of a request refused without running: a GraphQL error body,
    no data, HTTP 200 or a 4xx (never a 500) and no traceback."""
    assert response.status_code < 500, response.text
    assert "Traceback" not in response.text
    body: dict[str, Any] = response.json()
    assert body.get("data") is None, body
    assert body["errors"], body
    message: str = body["errors"][0]["message"]
    return message
