"""Rate-limit settings are checked when the settings load."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from carbonhub.settings import Settings


@pytest.mark.parametrize("rate", ["lots", "0/minute", "10/fortnight", "1/second;100/minute", ""])
def test_given_a_bad_rate_string_then_the_settings_do_not_load_and_say_how_to_write_one(
    rate: str,
) -> None:
    with pytest.raises(ValidationError) as error:
        Settings(rate_limit_per_ip=rate)

    message = str(error.value)
    assert "rate_limit_per_ip" in message
    assert "like '300/minute'" in message


def test_given_a_bad_rate_in_the_environment_then_the_settings_error_names_the_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CARBONHUB_RATE_LIMIT_TOKEN_ENDPOINT", "twenty a minute")

    with pytest.raises(ValidationError, match="rate_limit_token_endpoint"):
        Settings()


def test_the_rates_are_written_in_the_limits_notation() -> None:
    settings = Settings(rate_limit_per_client="20 per second", rate_limit_token_endpoint="5/hour")

    assert (settings.rate_limit_per_client, settings.rate_limit_token_endpoint) == (
        "20 per second",
        "5/hour",
    )


def test_given_a_trusted_proxy_that_is_not_a_network_then_the_settings_do_not_load() -> None:
    with pytest.raises(ValidationError, match="rate_limit_trusted_proxies"):
        Settings(rate_limit_trusted_proxies="10.0.0.0/8, proxy.internal")


def test_given_a_redis_url_of_another_scheme_then_the_settings_do_not_load() -> None:
    with pytest.raises(ValidationError, match="redis_url must start with"):
        Settings(redis_url="http://127.0.0.1:6379")
