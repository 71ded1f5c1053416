"""HTTP to GeckoAuth (the one-shot refresh) and to the GeckoForm API, with timeouts and retries.

The refresh call is the point of no return: once GeckoAuth has processed it, the old refresh
token is spent. So it is retried only when the request certainly was not processed (the
connection was never made, 429, 503); any other failure raises RefreshOutcomeUnknown at once.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from email.utils import parsedate_to_datetime

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from geckoform_tokens.config import Settings
from geckoform_tokens.exceptions import (
    ACTIVE_SESSIONS_HINT,
    AccessTokenRejected,
    ApiUnavailable,
    InvalidTokenSet,
    RefreshOutcomeUnknown,
    RefreshTokenRejected,
    RefreshUnavailable,
)
from geckoform_tokens.tokens import Jwt, TokenSet

# Seconds kept free after the refresh answer arrives, to store it before the Lambda times out.
STORE_RESERVE_SECONDS = 5.0
RETRY_SAFE_STATUSES = frozenset({429, 503})

TimeLeft = Callable[[], float]


def bearer(token: Jwt) -> dict[str, str]:
    """Request headers carrying `token`: the only place a token value goes into a request."""
    return {"Authorization": f"Bearer {token.value}", "Accept": "application/json"}


def never_sent(exc: requests.RequestException) -> bool:
    """True when the request provably never reached the server (no connection was made)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        reason = (
            getattr(exc.args[0], "reason", None) if isinstance(exc.args[0], MaxRetryError) else None
        )
        return isinstance(reason, NewConnectionError)
    return False


def retry_after_seconds(response: requests.Response) -> float | None:
    """The Retry-After header as seconds (delta or HTTP date), or None when absent or unreadable."""
    header = response.headers.get("Retry-After")
    if not header:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(header).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


class GeckoClient:
    """Calls GeckoAuth and the GeckoForm API. One instance per execution environment."""

    def __init__(
        self,
        settings: Settings,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.session = session or requests.Session()
        self.sleep = sleep
        self.refresh_calls = 0
        self.api_calls = 0

    def _backoff(self, attempt: int) -> float:
        base: float = self.settings.backoff_base * 2 ** (attempt - 1)
        return base + random.uniform(0, base / 2)  # noqa: S311 - jitter, not cryptography

    def refresh(self, tokens: TokenSet, time_left: TimeLeft | None = None) -> TokenSet:
        """Spend `tokens.refresh` for a new token set, or raise a GeckoTokensError saying why."""
        settings = self.settings
        request_budget = settings.connect_timeout + settings.read_timeout + STORE_RESERVE_SECONDS
        for attempt in range(1, settings.refresh_attempts + 1):
            if time_left is not None and time_left() < request_budget:
                raise RefreshUnavailable(
                    "Too little time is left in this invocation to refresh and store safely; the "
                    "refresh token was not used. Raise the function's timeout."
                )
            self.refresh_calls += 1
            try:
                response = self.session.get(
                    settings.refresh_url,
                    headers=bearer(tokens.refresh),
                    timeout=settings.timeouts,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                if not never_sent(exc):
                    raise RefreshOutcomeUnknown(
                        f"The refresh request failed after it was sent ({type(exc).__name__}); "
                        "GeckoAuth may have spent the refresh token. It is not replayed now. If "
                        f"the next attempt is refused, {ACTIVE_SESSIONS_HINT}"
                    ) from exc
                wait = self._backoff(attempt)
                why = f"could not connect ({type(exc).__name__})"
            else:
                if response.status_code == 200:
                    return self._parse_refresh_answer(response)
                if response.status_code in (401, 403):
                    raise RefreshTokenRejected(
                        f"GeckoAuth refused the refresh token (HTTP {response.status_code}): it is "
                        f"revoked, expired or already used. {ACTIVE_SESSIONS_HINT}"
                    )
                if response.status_code not in RETRY_SAFE_STATUSES:
                    raise RefreshOutcomeUnknown(
                        f"GeckoAuth answered the refresh with HTTP {response.status_code}; it may "
                        "have spent the refresh token. It is not replayed now. If the next attempt "
                        f"is refused, {ACTIVE_SESSIONS_HINT}"
                    )
                retry_after = retry_after_seconds(response)
                wait = self._backoff(attempt) if retry_after is None else retry_after
                why = f"HTTP {response.status_code}"
            if attempt == settings.refresh_attempts or wait > settings.max_retry_after:
                break
            if time_left is not None and time_left() - wait < request_budget:
                break
            self.sleep(wait)
        raise RefreshUnavailable(
            f"GeckoAuth was unavailable ({why}) after {attempt} attempt(s); the refresh token was "
            "not spent. Secrets Manager will retry the rotation."
        )

    @staticmethod
    def _parse_refresh_answer(response: requests.Response) -> TokenSet:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
        try:
            return TokenSet.from_mapping(body, source="refresh answer")
        except InvalidTokenSet as exc:
            raise RefreshOutcomeUnknown(
                f"GeckoAuth answered the refresh with HTTP 200 but not with a token set ({exc}). "
                f"The refresh token is probably spent. {ACTIVE_SESSIONS_HINT}"
            ) from None

    def check_access(self, tokens: TokenSet) -> None:
        """Ask the region's GeckoForm API for one form; raise unless it accepts the access token."""
        url = self.settings.api_url(tokens.region) + "/forms"
        problem = ""
        for attempt in range(1, self.settings.api_attempts + 1):
            if attempt > 1:
                self.sleep(self._backoff(attempt - 1))
            self.api_calls += 1
            try:
                response = self.session.get(
                    url,
                    params={"per_page": 1},
                    headers=bearer(tokens.access),
                    timeout=self.settings.timeouts,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                problem = type(exc).__name__
                continue
            if 200 <= response.status_code < 300:
                return
            if response.status_code in (401, 403):
                raise AccessTokenRejected(
                    f"The GeckoForm API ({tokens.region}) refused the access token "
                    f"(HTTP {response.status_code})."
                )
            problem = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                break
        raise ApiUnavailable(
            f"The GeckoForm API ({tokens.region}) did not accept the test call: {problem}."
        )
