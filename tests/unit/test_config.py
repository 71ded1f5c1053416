"""Settings: read once, unsafe URLs refused."""

from __future__ import annotations

import pytest

from geckoform_tokens.config import Settings
from geckoform_tokens.exceptions import ConfigurationError, InvalidRegion


def test_defaults_are_the_real_hosts() -> None:
    settings = Settings.from_env({})
    assert settings.refresh_url == "https://account-api.geckoengage.com/tokens/refresh"
    assert settings.api_url("us-e") == "https://api-us-e.geckoform.com"
    assert settings.timeouts == (3.05, 10.0)


def test_reads_overrides_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "GECKO_AUTH_URL": "http://127.0.0.1:8000/",
            "GECKO_API_URL_TEMPLATE": "http://localhost:8000/api-{region}",
            "GECKO_CONNECT_TIMEOUT": "1",
            "GECKO_READ_TIMEOUT": "2.5",
            "GECKO_REFRESH_ATTEMPTS": "2",
        }
    )
    assert settings.refresh_url == "http://127.0.0.1:8000/tokens/refresh"
    assert settings.api_url("eu") == "http://localhost:8000/api-eu"
    assert settings.timeouts == (1.0, 2.5)
    assert settings.refresh_attempts == 2


@pytest.mark.parametrize(
    "env",
    [
        {"GECKO_AUTH_URL": "http://account-api.geckoengage.com"},
        {"GECKO_AUTH_URL": "http://10.0.0.1:8000"},
        {"GECKO_AUTH_URL": "ftp://127.0.0.1"},
        {"GECKO_AUTH_URL": "https://"},
        {"GECKO_API_URL_TEMPLATE": "https://api-eu.geckoform.com"},
        {"GECKO_API_URL_TEMPLATE": "http://api-{region}.geckoform.com"},
        {"GECKO_READ_TIMEOUT": "soon"},
        {"GECKO_REFRESH_ATTEMPTS": "0"},
    ],
)
def test_unsafe_or_broken_settings_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env(env)


def test_api_url_validates_the_region() -> None:
    with pytest.raises(InvalidRegion):
        Settings().api_url("evil.com/")
