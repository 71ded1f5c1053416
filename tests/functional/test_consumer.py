"""GeckoFormTokens over moto and `responses`: caching, expiry, 401 retry, threads, bad secrets."""

from __future__ import annotations

import copy
import gc
import json
import logging
import pickle
import re
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import responses
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from geckoform_tokens import GeckoFormTokens
from geckoform_tokens import exceptions as errors
from geckoform_tokens.config import Settings
from geckoform_tokens.store import SecretStore
from geckoform_tokens.tokens import fingerprint
from tests.emulator import GeckoEmulator
from tests.support.leaks import leaked

DAY = 86400
API = "https://api-eu.geckoform.com"


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: float = field(default_factory=time.time)  # real time: PyJWT refuses a future iat

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Secret:
    """One secret in moto, and every GetSecretValue made on the client (its parameters)."""

    client: Any
    name: str
    tokens: dict[str, str]
    reads: list[dict[str, Any]] = field(default_factory=list)

    def rotate_to(self, tokens: dict[str, str] | str) -> None:
        """A new AWSCURRENT version, as finishSecret leaves it."""
        value = tokens if isinstance(tokens, str) else json.dumps(tokens)
        self.client.put_secret_value(
            SecretId=self.name, SecretString=value, VersionStages=["AWSCURRENT"]
        )
        if isinstance(tokens, dict):
            self.tokens = tokens


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def emulator(clock: Clock) -> GeckoEmulator:
    """The emulator on the test's clock, so token lifetimes are relative to it."""
    return GeckoEmulator(clock=clock)


def create_secret(sm: Any, value: dict[str, str] | str | bytes) -> Secret:
    name = f"geckoform/consumer-{uuid.uuid4().hex[:8]}"
    if isinstance(value, bytes):
        sm.create_secret(Name=name, SecretBinary=value)
    else:
        sm.create_secret(
            Name=name, SecretString=value if isinstance(value, str) else json.dumps(value)
        )
    secret = Secret(sm, name, value if isinstance(value, dict) else {})

    def record(params: dict[str, Any], **_: Any) -> None:
        secret.reads.append(dict(params))

    sm.meta.events.register("provide-client-params.secrets-manager.GetSecretValue", record)
    return secret


@pytest.fixture
def secret(sm: Any, emulator: GeckoEmulator) -> Secret:
    """A secret seeded with a live token set (access token valid for a day)."""
    return create_secret(sm, emulator.issue("eu"))


@pytest.fixture
def make(secret: Secret, clock: Clock) -> Callable[..., GeckoFormTokens]:
    def factory(**kwargs: Any) -> GeckoFormTokens:
        return GeckoFormTokens(
            secret.name, client=secret.client, settings=Settings(), clock=clock, **kwargs
        )

    return factory


@dataclass
class Api:
    """GeckoForm's /forms behind `responses`: accepts the access tokens in `accepted`."""

    accepted: set[str] = field(default_factory=set)
    seen: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)

    def callback(self, request: Any) -> tuple[int, dict[str, str], str]:
        headers = dict(request.headers)
        self.seen.append((request.url, headers, request.req_kwargs.get("timeout")))
        auth = headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ")
        if token not in self.accepted:
            return 401, {}, json.dumps({"message": "Unauthenticated."})
        return 200, {}, json.dumps({"data": [{"id": 1, "name": "Open day"}]})

    def tokens_sent(self) -> list[str]:
        return [h.get("Authorization", "").removeprefix("Bearer ") for _, h, _ in self.seen]


@pytest.fixture
def api(secret: Secret) -> Iterator[Api]:
    fake = Api(accepted={secret.tokens["AccessToken"]})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        for method in (responses.GET, responses.POST):
            rsps.add_callback(method, re.compile(f"{API}/.*"), fake.callback)
        yield fake


def refresh_tokens(emulator: GeckoEmulator) -> list[str]:
    return [issued["RefreshToken"] for issued in emulator.issued]


def reachable_strings(root: object) -> Iterator[str]:
    """Every str/bytes reachable from `root`, not crossing into AWS clients (moto holds the
    secret itself), modules, classes or functions."""
    stop = (
        type,
        types.ModuleType,
        types.FunctionType,
        types.BuiltinFunctionType,
        BaseClient,
        SecretStore,
    )
    seen: set[int] = set()
    stack: list[object] = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, stop):
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            yield obj
        elif isinstance(obj, bytes | bytearray):
            yield bytes(obj).decode("latin-1")
        else:
            stack.extend(gc.get_referents(obj))


# -- caching ----------------------------------------------------------------------------------


def test_reads_awscurrent_once_across_many_calls(
    make: Callable[..., GeckoFormTokens], secret: Secret
) -> None:
    # GIVEN a consumer created at module scope
    tokens = make()
    assert secret.reads == []  # nothing is read before the first use
    # WHEN it is used as many invocations would
    for _ in range(500):
        assert tokens.access_token == secret.tokens["AccessToken"]
        assert tokens.id_token == secret.tokens["IdToken"]
        assert tokens.region == "eu"
        assert tokens.api_url == API
    # THEN the secret was read once, at AWSCURRENT explicitly
    assert secret.reads == [{"SecretId": secret.name, "VersionStage": "AWSCURRENT"}]


def test_a_rotation_is_served_after_max_age_not_before(
    make: Callable[..., GeckoFormTokens],
    secret: Secret,
    clock: Clock,
    emulator: GeckoEmulator,
) -> None:
    tokens = make(max_age=120)
    old = tokens.access_token
    # WHEN the rotation promotes a new version underneath
    new = emulator.issue("eu")
    secret.rotate_to(new)
    # THEN the cached token is served until max_age has passed ...
    clock.advance(119.9)
    assert tokens.access_token == old
    assert len(secret.reads) == 1
    # ... and the new one from then on, after one more read
    clock.advance(0.1)
    assert tokens.access_token == new["AccessToken"]
    assert tokens.id_token == new["IdToken"]
    assert len(secret.reads) == 2
    clock.advance(60)
    assert tokens.access_token == new["AccessToken"]
    assert len(secret.reads) == 2


def test_rereads_when_the_access_token_comes_within_the_margin(
    sm: Any, emulator: GeckoEmulator, clock: Clock
) -> None:
    # GIVEN an access token expiring in 1000 s, and a max_age that would not trigger a read
    secret = create_secret(sm, emulator.issue("eu", exp=int(clock.now) + 1000))
    tokens = GeckoFormTokens(
        secret.name,
        client=sm,
        settings=Settings(),
        clock=clock,
        max_age=10 * DAY,
        expiry_margin=60,
    )
    first = tokens.access_token
    secret.rotate_to(emulator.issue("eu"))
    # WHEN time reaches the margin THEN the secret is read again and the new token served
    clock.advance(939)
    assert tokens.access_token == first
    assert len(secret.reads) == 1
    clock.advance(2)
    assert tokens.access_token == secret.tokens["AccessToken"]
    assert len(secret.reads) == 2


def test_a_late_rotation_serves_the_unexpired_token_then_refuses_the_expired_one(
    sm: Any, emulator: GeckoEmulator, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN an access token 30 s from expiry and no rotation in sight
    secret = create_secret(sm, emulator.issue("eu", exp=int(clock.now) + 30))
    tokens = GeckoFormTokens(
        secret.name, client=sm, settings=Settings(), clock=clock, expiry_margin=60
    )
    # WHEN it is read THEN it is still served (it works for 30 s), with a warning
    with caplog.at_level(logging.WARNING, logger="geckoform_tokens.consumer"):
        assert tokens.access_token == secret.tokens["AccessToken"]
    assert "rotation is late" in caplog.text
    assert not leaked(caplog.text, emulator.minted)
    # AND the secret is looked at again every few seconds, not on every call
    for _ in range(100):
        tokens.access_token  # noqa: B018
    assert len(secret.reads) == 1
    clock.advance(5)
    tokens.access_token  # noqa: B018
    assert len(secret.reads) == 2
    # WHEN it has expired THEN TokenExpired, pointing at the rotation, with no token in it
    clock.advance(26)
    with pytest.raises(errors.TokenExpired, match="rotation seems stuck") as caught:
        tokens.access_token  # noqa: B018
    assert "geckoform-tokens status" in str(caught.value)
    assert not leaked(str(caught.value), emulator.minted)
    assert len(secret.reads) == 3


def test_an_expired_access_token_in_the_secret_is_never_handed_out(
    sm: Any, emulator: GeckoEmulator, clock: Clock
) -> None:
    secret = create_secret(sm, emulator.issue("eu", exp=int(clock.now) - 1))
    tokens = GeckoFormTokens(secret.name, client=sm, settings=Settings(), clock=clock)
    with pytest.raises(errors.TokenExpired, match="rotation seems stuck") as caught:
        tokens.access_token  # noqa: B018
    assert secret.name in str(caught.value)
    assert not leaked(str(caught.value), emulator.minted)
    # a fixed secret is picked up on the next call: failures are not cached
    secret.rotate_to(emulator.issue("eu"))
    assert tokens.access_token == secret.tokens["AccessToken"]


def failing_reads(secret: Secret, code: str = "ThrottlingException") -> Callable[[], None]:
    """Make every GetSecretValue fail with `code` until the returned function is called."""
    failing = threading.Event()
    failing.set()

    def fail(**_: Any) -> None:
        if failing.is_set():
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, "GetSecretValue")

    secret.client.meta.events.register("before-call.secrets-manager.GetSecretValue", fail)
    return failing.clear


def test_a_failed_reread_keeps_serving_a_good_cached_token(
    sm: Any, emulator: GeckoEmulator, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a token read once, good for 1000 s, and Secrets Manager failing after that
    secret = create_secret(sm, emulator.issue("eu", exp=int(clock.now) + 1000))
    tokens = GeckoFormTokens(
        secret.name, client=sm, settings=Settings(), clock=clock, max_age=300, expiry_margin=60
    )
    cached = tokens.access_token
    recover = failing_reads(secret)
    # WHEN max_age passes THEN the cached token is still served, with a warning
    clock.advance(300)
    with caplog.at_level(logging.WARNING, logger="geckoform_tokens.consumer"):
        assert tokens.access_token == cached
    [warning] = caplog.records
    assert "serving the cached access token" in warning.getMessage()
    assert "ThrottlingException" in warning.__dict__["error"]
    # AND the secret is tried again every few seconds, not on every call
    for _ in range(50):
        assert tokens.access_token == cached
    assert len(secret.reads) == 2
    clock.advance(5)
    assert tokens.access_token == cached
    assert len(secret.reads) == 3
    # WHEN Secrets Manager recovers THEN reading resumes
    recover()
    secret.rotate_to(emulator.issue("eu"))
    clock.advance(5)
    assert tokens.access_token == secret.tokens["AccessToken"]


def test_a_failed_read_raises_once_the_cached_token_is_inside_the_margin(
    sm: Any, emulator: GeckoEmulator, clock: Clock
) -> None:
    secret = create_secret(sm, emulator.issue("eu", exp=int(clock.now) + 1000))
    tokens = GeckoFormTokens(
        secret.name, client=sm, settings=Settings(), clock=clock, expiry_margin=60
    )
    tokens.access_token  # noqa: B018
    failing_reads(secret, "AccessDeniedException")
    clock.advance(941)
    with pytest.raises(errors.SecretStoreError, match="AccessDeniedException"):
        tokens.access_token  # noqa: B018


def test_a_failed_first_read_raises(sm: Any, secret: Secret, clock: Clock) -> None:
    failing_reads(secret)
    tokens = GeckoFormTokens(secret.name, client=sm, settings=Settings(), clock=clock)
    with pytest.raises(errors.SecretStoreError, match="ThrottlingException"):
        tokens.access_token  # noqa: B018


# -- concurrency ------------------------------------------------------------------------------


def run_threads(count: int, work: Callable[[], None]) -> None:
    barrier = threading.Barrier(count)
    failures: list[BaseException] = []

    def run() -> None:
        barrier.wait()
        try:
            work()
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures, failures


def slow_reads(secret: Secret, seconds: float = 0.05) -> None:
    """Make each GetSecretValue take a while, so that threads pile up behind the first."""
    event = threading.Event()

    def wait(**_: Any) -> None:  # a value returned here would replace the call's parameters
        event.wait(seconds)

    secret.client.meta.events.register("before-call.secrets-manager.GetSecretValue", wait)


def test_threads_share_one_read(make: Callable[..., GeckoFormTokens], secret: Secret) -> None:
    tokens = make()
    slow_reads(secret)
    served: set[str] = set()

    def work() -> None:
        for _ in range(200):
            served.add(tokens.access_token)

    run_threads(16, work)
    assert len(secret.reads) == 1
    assert served == {secret.tokens["AccessToken"]}


def test_threads_share_one_reread_when_the_cache_goes_stale(
    make: Callable[..., GeckoFormTokens], secret: Secret, clock: Clock, emulator: GeckoEmulator
) -> None:
    tokens = make(max_age=60)
    tokens.access_token  # noqa: B018
    secret.rotate_to(emulator.issue("eu"))
    clock.advance(61)
    slow_reads(secret)
    served: list[str] = []
    run_threads(16, lambda: served.append(tokens.access_token))
    assert len(secret.reads) == 2
    assert set(served) == {secret.tokens["AccessToken"]}


# -- the session ------------------------------------------------------------------------------


def test_session_sends_the_bearer_token_to_the_region_api_with_defaults(
    make: Callable[..., GeckoFormTokens], secret: Secret, api: Api
) -> None:
    settings = Settings(connect_timeout=1.5, read_timeout=7.0)
    tokens = GeckoFormTokens(secret.name, client=secret.client, settings=settings)
    session = tokens.session()
    assert isinstance(session, requests.Session)

    response = session.get("/forms", params={"per_page": 15})

    assert response.status_code == 200
    assert response.json()["data"][0]["name"] == "Open day"
    url, headers, timeout = api.seen[0]
    assert url == f"{API}/forms?per_page=15"
    assert headers["Authorization"] == f"Bearer {secret.tokens['AccessToken']}"
    assert headers["Accept"] == "application/json"
    assert timeout == (1.5, 7.0)
    # the token is set per request, never kept on the session
    assert "Authorization" not in session.headers


def test_session_keeps_caller_headers_and_timeout_but_not_caller_authorization(
    make: Callable[..., GeckoFormTokens], api: Api, secret: Secret
) -> None:
    session = make().session()
    session.get(
        "forms/12",
        headers={"accept": "text/csv", "authorization": "Bearer someone-else", "X-Trace": "t1"},
        timeout=2,
    )
    url, headers, timeout = api.seen[0]
    assert url == f"{API}/forms/12"
    lowered = {k.lower(): v for k, v in headers.items()}
    assert lowered["accept"] == "text/csv"
    assert lowered["x-trace"] == "t1"
    assert lowered["authorization"] == f"Bearer {secret.tokens['AccessToken']}"
    assert timeout == 2


def test_session_follows_absolute_links_on_the_api_only(
    make: Callable[..., GeckoFormTokens], api: Api
) -> None:
    session = make().session()
    assert session.get(f"{API}/forms?page=2").status_code == 200
    for elsewhere in (
        "https://evil.example/forms",
        "http://api-eu.geckoform.com/forms",
        "https://api-eu.geckoform.com.evil.example/forms",
    ):
        with pytest.raises(ValueError, match="only requests"):
            session.get(elsewhere)
    assert len(api.seen) == 1


def test_on_401_the_secret_is_read_again_and_the_request_retried_once(
    make: Callable[..., GeckoFormTokens], secret: Secret, api: Api, emulator: GeckoEmulator
) -> None:
    # GIVEN a consumer that has used token set A
    tokens = make()
    session = tokens.session()
    old = secret.tokens["AccessToken"]
    assert session.get("/forms").status_code == 200
    # WHEN the secret rotates to B and the API stops accepting A
    secret.rotate_to(emulator.issue("eu"))
    api.accepted = {secret.tokens["AccessToken"]}
    response = session.post("/forms", json={"name": "Open day"})
    # THEN the POST was refused with A, the secret read again, and the POST sent again with B
    assert response.status_code == 200
    assert api.tokens_sent() == [old, old, secret.tokens["AccessToken"]]
    assert len(secret.reads) == 2
    # AND B is served from the cache afterwards
    assert session.get("/forms").status_code == 200
    assert tokens.access_token == secret.tokens["AccessToken"]
    assert len(secret.reads) == 2


def test_a_401_with_no_newer_token_is_returned_after_one_read(
    make: Callable[..., GeckoFormTokens], secret: Secret, api: Api
) -> None:
    session = make().session()
    api.accepted = set()  # the API refuses the one token the secret holds
    response = session.get("/forms")
    assert response.status_code == 401
    assert len(api.seen) == 1  # the same token would be refused again: not resent
    assert len(secret.reads) == 2


def test_a_401_is_retried_only_once(
    make: Callable[..., GeckoFormTokens], secret: Secret, api: Api, emulator: GeckoEmulator
) -> None:
    session = make().session()
    session.get("/forms")
    secret.rotate_to(emulator.issue("eu"))
    api.accepted = set()
    assert session.get("/forms").status_code == 401
    assert len(api.seen) == 3  # first call, the refused one, its single retry
    assert len(secret.reads) == 2


def test_a_streamed_body_is_not_resent(
    make: Callable[..., GeckoFormTokens], secret: Secret, api: Api, emulator: GeckoEmulator
) -> None:
    session = make().session()
    session.get("/forms")
    secret.rotate_to(emulator.issue("eu"))
    api.accepted = {secret.tokens["AccessToken"]}
    response = session.post("/forms", data=iter([b"chunk"]))
    assert response.status_code == 401
    assert len(api.seen) == 2
    assert len(secret.reads) == 1


def test_concurrent_401s_share_one_reread(
    make: Callable[..., GeckoFormTokens], secret: Secret, api: Api, emulator: GeckoEmulator
) -> None:
    session = make().session()
    session.get("/forms")
    secret.rotate_to(emulator.issue("eu"))
    api.accepted = {secret.tokens["AccessToken"]}
    slow_reads(secret)
    statuses: list[int] = []
    run_threads(8, lambda: statuses.append(session.get("/forms").status_code))
    assert statuses == [200] * 8
    assert len(secret.reads) == 2


def test_session_against_the_emulator_lists_forms_and_never_refreshes(
    make: Callable[..., GeckoFormTokens], gecko_http: GeckoEmulator
) -> None:
    session = make().session()
    for _ in range(3):
        assert session.get("/forms", params={"per_page": 15}).json()["data"]
    assert gecko_http.api_log == [("eu", 200)] * 3
    assert gecko_http.refresh_log == []


# -- the refresh token stays out of sight -----------------------------------------------------


def test_the_refresh_token_is_not_kept_shown_or_sent(
    make: Callable[..., GeckoFormTokens], secret: Secret, api: Api, emulator: GeckoEmulator
) -> None:
    tokens = make()
    session = tokens.session()
    session.get("/forms")
    secrets = refresh_tokens(emulator)
    # repr and str: fingerprints and expiry only
    for text in (repr(tokens), str(tokens)):
        assert fingerprint(secret.tokens["AccessToken"]) in text
        assert secret.name in text
        assert not leaked(text, emulator.minted)
    # attributes, dict views, dir()
    assert not leaked(repr(vars(tokens)), secrets)
    assert not leaked(repr(tokens.__dict__), secrets)
    assert not leaked(repr([getattr(tokens, name, None) for name in dir(tokens)]), secrets)
    assert not any("refresh" in name.lower() for name in dir(tokens))
    # nothing reachable from the object or its session holds the refresh token; the walk does
    # reach the access token, so it would find the refresh token if it were there
    for root in (tokens, session):
        strings = list(reachable_strings(root))
        assert any(secret.tokens["AccessToken"] in s for s in strings)
        assert not any(leaked(s, secrets) for s in strings)
    # no headers of the session, and no request sent, carry it
    assert not leaked(repr(session.headers), secrets)
    assert not leaked(repr(api.seen), secrets)
    # it cannot be pickled or copied (that would spread live tokens)
    for attempt in (pickle.dumps, copy.copy, copy.deepcopy):
        for obj in (tokens, session):
            with pytest.raises(TypeError, match="not pickled or copied"):
                attempt(obj)


# -- bad secrets ------------------------------------------------------------------------------


def access_with(emulator: GeckoEmulator, clock: Clock, **claims: Any) -> str:
    base: dict[str, Any] = {"sub": "api-user-1", "typ": "access", "exp": int(clock.now) + DAY}
    base.update(claims)
    return emulator.mint({k: v for k, v in base.items() if v is not None})


BadValue = Callable[[GeckoEmulator, Clock], "str | dict[str, str]"]


def hostile_region(region: object) -> BadValue:
    def build(emulator: GeckoEmulator, clock: Clock) -> dict[str, str]:
        return {**emulator.issue("eu"), "AccessToken": access_with(emulator, clock, region=region)}

    return build


def without(key: str) -> BadValue:
    def build(emulator: GeckoEmulator, clock: Clock) -> dict[str, str]:
        value = dict(emulator.issue("eu"))
        del value[key]
        return value

    return build


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        pytest.param(lambda e, c: "{not json", errors.InvalidTokenSet, "not JSON", id="not-json"),
        pytest.param(
            lambda e, c: json.dumps([e.issue("eu")]),
            errors.InvalidTokenSet,
            "not a JSON object",
            id="json-list",
        ),
        pytest.param(
            without("RefreshToken"), errors.InvalidTokenSet, "lacks RefreshToken", id="no-refresh"
        ),
        pytest.param(
            without("AccessToken"), errors.InvalidTokenSet, "lacks AccessToken", id="no-access"
        ),
        pytest.param(
            lambda e, c: {**e.issue("eu"), "IdToken": "not-a-jwt"},
            errors.InvalidTokenSet,
            "IdToken is not a JWT",
            id="id-not-jwt",
        ),
        pytest.param(
            lambda e, c: {**e.issue("eu"), "AccessToken": access_with(e, c, exp=None)},
            errors.InvalidTokenSet,
            "no integer exp",
            id="access-no-exp",
        ),
        pytest.param(
            hostile_region("eu.evil.example"), errors.InvalidRegion, "DNS label", id="dotted"
        ),
        pytest.param(
            hostile_region("evil.example/x"), errors.InvalidRegion, "DNS label", id="slashed"
        ),
        pytest.param(
            hostile_region("eu@evil.example"), errors.InvalidRegion, "DNS label", id="at-sign"
        ),
        pytest.param(hostile_region("eu:8443"), errors.InvalidRegion, "DNS label", id="port"),
        pytest.param(hostile_region("EU"), errors.InvalidRegion, "DNS label", id="upper"),
        pytest.param(hostile_region(""), errors.InvalidRegion, "DNS label", id="empty"),
        pytest.param(hostile_region(7), errors.InvalidRegion, "DNS label", id="number"),
        pytest.param(hostile_region(None), errors.InvalidRegion, "DNS label", id="missing"),
    ],
)
def test_a_bad_secret_value_gives_a_clear_error_with_no_token(
    sm: Any,
    emulator: GeckoEmulator,
    clock: Clock,
    build: BadValue,
    error: type[Exception],
    match: str,
) -> None:
    secret = create_secret(sm, build(emulator, clock))
    tokens = GeckoFormTokens(secret.name, client=sm, settings=Settings(), clock=clock)
    with pytest.raises(error, match=match) as caught:
        tokens.access_token  # noqa: B018
    exc = caught.value
    assert type(exc) is error
    assert secret.name in str(exc)
    assert "geckoform-tokens status" in str(exc)
    assert not leaked(str(exc), emulator.minted)
    # no chained exception (json's error keeps the whole document) ...
    assert exc.__cause__ is None
    assert exc.__context__ is None
    # ... and no frame of the library in the traceback keeps the secret alive
    tb = exc.__traceback__
    while tb is not None:
        if "geckoform_tokens" in tb.tb_frame.f_code.co_filename:
            for value in reachable_strings(dict(tb.tb_frame.f_locals)):
                assert not leaked(value, refresh_tokens(emulator))
        tb = tb.tb_next
    # nor is a region that failed the check used to build a URL
    with pytest.raises(error):
        tokens.session().get("/forms")


def test_a_missing_secret_says_so(sm: Any, clock: Clock) -> None:
    tokens = GeckoFormTokens("geckoform/nowhere", client=sm, settings=Settings(), clock=clock)
    with pytest.raises(errors.SecretNotFound, match="geckoform/nowhere"):
        tokens.access_token  # noqa: B018


def test_a_binary_secret_says_so(sm: Any, clock: Clock) -> None:
    secret = create_secret(sm, b"\x00\x01")
    tokens = GeckoFormTokens(secret.name, client=sm, settings=Settings(), clock=clock)
    with pytest.raises(errors.SecretStoreError, match="binary"):
        tokens.region  # noqa: B018
