"""Settings, read once from the environment into a frozen dataclass; logic never reads the env."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from geckoform_tokens.exceptions import ConfigurationError
from geckoform_tokens.tokens import validate_region

DEFAULT_AUTH_URL = "https://account-api.geckoengage.com"
DEFAULT_API_URL_TEMPLATE = "https://api-{region}.geckoform.com"


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(name: str, url: str) -> str:
    """Refuse anything but https, or plain http to a loopback address (the local emulator)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return url.rstrip("/")
    raise ConfigurationError(
        f"{name} must be an https:// URL (plain http:// is allowed only to a loopback address)."
    )


@dataclass(frozen=True)
class Settings:
    """Where GeckoAuth and the GeckoForm API are, and how patiently to call them."""

    auth_url: str = DEFAULT_AUTH_URL
    api_url_template: str = DEFAULT_API_URL_TEMPLATE
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    refresh_attempts: int = 4
    api_attempts: int = 3
    backoff_base: float = 0.5
    max_retry_after: float = 10.0

    def __post_init__(self) -> None:
        check_base_url("GECKO_AUTH_URL", self.auth_url)
        if "{region}" not in self.api_url_template:
            raise ConfigurationError("GECKO_API_URL_TEMPLATE must contain '{region}'.")
        check_base_url("GECKO_API_URL_TEMPLATE", self.api_url_template.format(region="eu"))
        if self.refresh_attempts < 1 or self.api_attempts < 1:
            raise ConfigurationError("Attempt counts must be at least 1.")

    @property
    def refresh_url(self) -> str:
        return self.auth_url.rstrip("/") + "/tokens/refresh"

    @property
    def timeouts(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    def api_url(self, region: str) -> str:
        """The GeckoForm API base URL for `region`, which must be a single DNS label."""
        return self.api_url_template.format(region=validate_region(region)).rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        try:
            return cls(
                auth_url=env.get("GECKO_AUTH_URL", DEFAULT_AUTH_URL),
                api_url_template=env.get("GECKO_API_URL_TEMPLATE", DEFAULT_API_URL_TEMPLATE),
                connect_timeout=float(env.get("GECKO_CONNECT_TIMEOUT", cls.connect_timeout)),
                read_timeout=float(env.get("GECKO_READ_TIMEOUT", cls.read_timeout)),
                refresh_attempts=int(env.get("GECKO_REFRESH_ATTEMPTS", cls.refresh_attempts)),
            )
        except ValueError as exc:
            raise ConfigurationError(
                "GECKO_CONNECT_TIMEOUT, GECKO_READ_TIMEOUT and GECKO_REFRESH_ATTEMPTS must be "
                "numbers."
            ) from exc
