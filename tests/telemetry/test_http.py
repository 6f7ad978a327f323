"""The HTTP middleware in-process: server spans, request metrics and the access log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from carbonhub.telemetry import TelemetryMiddleware
from tests.telemetry.conftest import Recording

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


async def consent(request: Request) -> Response:
    return PlainTextResponse(f"consent {request.path_params['consent_id']}")


async def broken(_request: Request) -> Response:
    raise RuntimeError("p_secret went wrong")


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = Starlette(
        routes=[Route("/consents/{consent_id}", consent), Route("/broken", broken)],
    )
    with TestClient(TelemetryMiddleware(app), raise_server_exceptions=False) as test_client:
        yield test_client


def test_given_a_traceparent_when_a_route_answers_then_its_server_span_continues_the_trace(
    recording: Recording, client: TestClient
) -> None:
    client.get("/consents/c_1?token=abc", headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"})
    [span] = recording.spans()
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_ID
    assert span.kind is SpanKind.SERVER
    assert span.name == "GET /consents/{consent_id}"
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": "/consents/c_1",
        "url.scheme": "http",
        "http.route": "/consents/{consent_id}",
        "http.response.status_code": 200,
    }


def test_given_no_route_when_a_path_is_asked_then_the_span_and_metrics_name_no_route(
    recording: Recording, client: TestClient
) -> None:
    client.get("/nowhere/p_123")
    [span] = recording.spans()
    assert span.name == "GET"
    assert "http.route" not in (span.attributes or {})
    [point] = recording.points("http.server.requests")
    assert point == {
        "http.request.method": "GET",
        "http.response.status_code": 404,
        "amount": 1,
    }


def test_given_a_failing_endpoint_then_its_span_is_an_error_with_status_500_only(
    recording: Recording, client: TestClient
) -> None:
    assert client.get("/broken").status_code == 500
    [span] = recording.spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "500"
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 500
    assert not span.events  # no exception event: its message may name a person


def test_given_requests_then_their_duration_is_recorded_in_seconds_by_route_and_status(
    recording: Recording, client: TestClient
) -> None:
    client.get("/consents/c_1")
    client.get("/consents/c_2")
    [point] = recording.points("http.server.request.duration")
    assert point == {
        "http.request.method": "GET",
        "http.route": "/consents/{consent_id}",
        "http.response.status_code": 200,
        "amount": 2,
    }


def test_given_a_request_then_one_access_line_names_method_path_status_and_trace_id(
    recording: Recording, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="carbonhub.access"):
        client.get("/consents/c_1?code=secret-code", headers={"Authorization": "Bearer tok"})
    [span] = recording.spans()
    [record] = [r for r in caplog.records if r.name == "carbonhub.access"]
    trace_id = format(span.context.trace_id, "032x")
    message = record.getMessage()
    assert message.startswith("GET /consents/c_1 200 ")
    assert message.endswith(f"ms trace_id={trace_id}")
    assert "secret-code" not in message
    assert "tok" not in message


def test_given_telemetry_off_then_requests_are_answered_and_logged_without_a_trace(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="carbonhub.access"):
        assert client.get("/consents/c_1").text == "consent c_1"
    [record] = [r for r in caplog.records if r.name == "carbonhub.access"]
    assert record.getMessage().endswith("trace_id=-")
