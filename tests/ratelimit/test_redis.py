"""Counters in Redis: replicas share them, and an unreachable Redis leaves the API up."""

from __future__ import annotations

import logging

import pytest

from tests.ratelimit.conftest import REGION_QUERY, RedisTarget, at_ip


def test_given_two_replicas_on_one_redis_then_they_share_one_bucket(
    limited_app, redis_target: RedisTarget
) -> None:
    settings = {"redis_url": redis_target.url, "rate_limit_per_ip": "3/minute"}
    first, second = limited_app(**settings), limited_app(**settings)
    with at_ip(first, redis_target.ip) as one, at_ip(second, redis_target.ip) as other:
        statuses = [
            one.post("/graphql", json=REGION_QUERY).status_code,
            other.post("/graphql", json=REGION_QUERY).status_code,
            one.post("/graphql", json=REGION_QUERY).status_code,
        ]
        refused = other.post("/graphql", json=REGION_QUERY)

    assert statuses == [200, 200, 200]
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1


def test_given_an_unreachable_redis_then_requests_pass_unlimited_and_a_warning_is_logged(
    limited_app, caplog: pytest.LogCaptureFixture
) -> None:
    app = limited_app(redis_url="redis://127.0.0.1:1/0", rate_limit_per_ip="1/minute")
    with caplog.at_level(logging.WARNING, logger="carbonhub.ratelimit"), at_ip(app) as http:
        statuses = [http.post("/graphql", json=REGION_QUERY).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]
    warnings = [r.getMessage() for r in caplog.records if r.name == "carbonhub.ratelimit"]
    assert len(warnings) == 1
    assert "rate limits are off" in warnings[0]
