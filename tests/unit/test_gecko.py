"""GeckoAuth/GeckoForm HTTP: what is retried, what is not, and what each failure says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError

from geckoform_tokens import exceptions as errors
from geckoform_tokens.config import Settings
from geckoform_tokens.gecko import GeckoClient, never_sent
from geckoform_tokens.tokens import TokenSet
from tests.emulator import GeckoEmulator

REFRESH_URL = "https://account-api.geckoengage.com/tokens/refresh"
FORMS_URL = "https://api-eu.geckoform.com/forms"


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sleeps: list[float]) -> GeckoClient:
    return GeckoClient(Settings(), sleep=sleeps.append)


@pytest.fixture
def tokens(emulator: GeckoEmulator) -> TokenSet:
    return TokenSet.from_mapping(emulator.issue("eu"))


@pytest.fixture
def answer(emulator: GeckoEmulator) -> dict[str, object]:
    return {**emulator.issue("eu"), "ExpiresIn": 1617638510, "TokenType": None}


def test_refresh_sends_the_refresh_token_with_timeouts_and_parses_the_answer(
    rsps: responses.RequestsMock, client: GeckoClient, tokens: TokenSet, answer: dict[str, object]
) -> None:
    rsps.get(REFRESH_URL, json=answer)
    new = client.refresh(tokens)
    assert new.refresh.value == answer["RefreshToken"]
    request = rsps.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {tokens.refresh.value}"
    assert request.headers["Accept"] == "application/json"
    assert request.req_kwargs["timeout"] == (3.05, 10.0)  # type: ignore[attr-defined]


@pytest.mark.parametrize("as_date", [False, True])
def test_429_honours_retry_after_in_seconds_or_as_a_date(
    rsps: responses.RequestsMock,
    client: GeckoClient,
    sleeps: list[float],
    tokens: TokenSet,
    answer: dict[str, object],
    as_date: bool,
) -> None:
    in_3s = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    rsps.get(REFRESH_URL, status=429, headers={"Retry-After": in_3s if as_date else "2"})
    rsps.get(REFRESH_URL, json=answer)
    client.refresh(tokens)
    assert len(sleeps) == 1
    assert 1.0 <= sleeps[0] <= 3.0


def test_retry_after_longer_than_allowed_gives_up_without_waiting(
    rsps: responses.RequestsMock, client: GeckoClient, sleeps: list[float], tokens: TokenSet
) -> None:
    rsps.get(REFRESH_URL, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(errors.RefreshUnavailable, match="HTTP 429"):
        client.refresh(tokens)
    assert sleeps == []


def test_503s_back_off_exponentially_up_to_the_attempt_limit(
    rsps: responses.RequestsMock, client: GeckoClient, sleeps: list[float], tokens: TokenSet
) -> None:
    rsps.get(REFRESH_URL, status=503)
    with pytest.raises(errors.RefreshUnavailable, match="after 4 attempt"):
        client.refresh(tokens)
    assert len(rsps.calls) == 4
    assert len(sleeps) == 3
    assert sleeps[0] < sleeps[1] < sleeps[2]


def test_no_retry_when_the_lambda_would_run_out_of_time(
    rsps: responses.RequestsMock, client: GeckoClient, sleeps: list[float], tokens: TokenSet
) -> None:
    rsps.get(REFRESH_URL, status=503)
    remaining = iter([30.0, 18.5])  # enough for one attempt, not for a wait and another
    with pytest.raises(errors.RefreshUnavailable):
        client.refresh(tokens, time_left=lambda: next(remaining))
    assert len(rsps.calls) == 1
    assert sleeps == []


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (requests.ReadTimeout("read timed out"), errors.RefreshOutcomeUnknown),
        (
            requests.ConnectionError(ProtocolError("Connection aborted.")),
            errors.RefreshOutcomeUnknown,
        ),
        (requests.exceptions.ChunkedEncodingError("broken"), errors.RefreshOutcomeUnknown),
    ],
)
def test_failures_after_sending_are_not_replayed(
    rsps: responses.RequestsMock,
    client: GeckoClient,
    tokens: TokenSet,
    exc: Exception,
    expected: type[Exception],
) -> None:
    rsps.get(REFRESH_URL, body=exc)
    with pytest.raises(expected, match="not replayed"):
        client.refresh(tokens)
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("status", [500, 502, 504, 400, 404, 302])
def test_other_statuses_may_have_spent_the_token_and_are_not_replayed(
    rsps: responses.RequestsMock, client: GeckoClient, tokens: TokenSet, status: int
) -> None:
    rsps.get(REFRESH_URL, status=status, headers={"Location": "https://elsewhere.example/"})
    with pytest.raises(errors.RefreshOutcomeUnknown, match=f"HTTP {status}"):
        client.refresh(tokens)
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_refresh_token(
    rsps: responses.RequestsMock, client: GeckoClient, tokens: TokenSet, status: int
) -> None:
    rsps.get(REFRESH_URL, status=status)
    with pytest.raises(errors.RefreshTokenRejected, match="Active Sessions"):
        client.refresh(tokens)


def test_connection_never_made_is_safe_to_retry() -> None:
    refused = MaxRetryError(None, "/tokens/refresh", NewConnectionError(None, "refused"))  # type: ignore[arg-type]
    aborted = MaxRetryError(None, "/tokens/refresh", ProtocolError("aborted"))  # type: ignore[arg-type]
    assert never_sent(requests.ConnectTimeout())
    assert never_sent(requests.ConnectionError(refused))
    assert not never_sent(requests.ConnectionError(aborted))
    assert not never_sent(requests.ConnectionError("no detail"))
    assert not never_sent(requests.ReadTimeout())


@pytest.mark.parametrize(
    "body",
    ["<html>oops</html>", '{"AccessToken": "a.b.c"}', "[]", '{"AccessToken": null}'],
)
def test_a_200_that_is_not_a_token_set_means_the_token_is_probably_spent(
    rsps: responses.RequestsMock, client: GeckoClient, tokens: TokenSet, body: str
) -> None:
    rsps.get(REFRESH_URL, body=body)
    with pytest.raises(errors.RefreshOutcomeUnknown, match="probably spent"):
        client.refresh(tokens)


def test_check_access_sends_the_access_token_to_its_region(
    rsps: responses.RequestsMock, client: GeckoClient, tokens: TokenSet
) -> None:
    rsps.get(FORMS_URL, json={"data": []})
    client.check_access(tokens)
    request = rsps.calls[0].request
    assert request.url == f"{FORMS_URL}?per_page=1"
    assert request.headers["Authorization"] == f"Bearer {tokens.access.value}"


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([401], errors.AccessTokenRejected),
        ([403], errors.AccessTokenRejected),
        ([404], errors.ApiUnavailable),
        ([500, 502, 503], errors.ApiUnavailable),
    ],
)
def test_check_access_failures(
    rsps: responses.RequestsMock,
    client: GeckoClient,
    tokens: TokenSet,
    statuses: list[int],
    expected: type[Exception],
) -> None:
    for status in statuses:
        rsps.get(FORMS_URL, status=status)
    with pytest.raises(expected):
        client.check_access(tokens)
    assert len(rsps.calls) == len(statuses)
