"""The example consumer function (consumer_fn/app.py) over moto and the emulator."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests

from geckoform_tokens.exceptions import ConfigurationError
from tests.emulator import Fault, GeckoEmulator
from tests.support.leaks import leaked

APP = Path(__file__).parents[2] / "consumer_fn" / "app.py"
MODULE = "consumer_app"  # `app` is the rotation function, already on sys.path


def load_app() -> ModuleType:
    """Import consumer_fn/app.py afresh, as a cold start does."""
    spec = importlib.util.spec_from_file_location(MODULE, APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[MODULE] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[MODULE]
        raise
    return module


@pytest.fixture
def secret_name(sm: Any, gecko_http: GeckoEmulator) -> str:
    name = f"geckoform/consumer-fn-{uuid.uuid4().hex[:8]}"
    sm.create_secret(Name=name, SecretString=json.dumps(gecko_http.issue("eu")))
    return name


@pytest.fixture
def cold_start(
    secret_name: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[], ModuleType]]:
    monkeypatch.setenv("GECKOFORM_SECRET_ID", secret_name)
    yield load_app
    sys.modules.pop(MODULE, None)


def test_lists_the_first_page_of_forms(
    cold_start: Callable[[], ModuleType], gecko_http: GeckoEmulator
) -> None:
    app = cold_start()
    result = app.lambda_handler({}, None)
    assert result == {"region": "eu", "count": 1, "forms": [{"id": 1, "name": "Open day"}]}
    assert gecko_http.api_log == [("eu", 200)]
    assert gecko_http.refresh_log == []  # a consumer never spends the refresh token
    assert not leaked(json.dumps(result), gecko_http.minted)


def test_reuses_the_tokens_across_invocations_of_one_environment(
    cold_start: Callable[[], ModuleType], sm: Any, secret_name: str, gecko_http: GeckoEmulator
) -> None:
    # GIVEN one execution environment that has served an invocation
    app = cold_start()
    app.lambda_handler({}, None)
    first = app.TOKENS.access_token
    # WHEN the secret is replaced by something unreadable
    sm.put_secret_value(
        SecretId=secret_name, SecretString="{not json", VersionStages=["AWSCURRENT"]
    )
    # THEN later invocations still work from the cached read (no read per invocation)
    for _ in range(5):
        assert app.lambda_handler({"per_page": 5}, None)["count"] == 1
    assert app.TOKENS.access_token == first
    assert len(gecko_http.api_log) == 6


def test_a_refused_token_fails_the_invocation_without_showing_it(
    cold_start: Callable[[], ModuleType], gecko_http: GeckoEmulator
) -> None:
    app = cold_start()
    gecko_http.api_faults.append(Fault.REJECT)
    with pytest.raises(requests.HTTPError, match="401") as caught:
        app.lambda_handler({}, None)
    assert not leaked(str(caught.value), gecko_http.minted)
    assert len(gecko_http.api_log) == 1  # the secret still held the same token: no resend


@pytest.mark.parametrize("per_page", [0, 101, "15", 1.5, True])
def test_refuses_a_bad_per_page(cold_start: Callable[[], ModuleType], per_page: object) -> None:
    app = cold_start()
    with pytest.raises(ValueError, match="per_page"):
        app.lambda_handler({"per_page": per_page}, None)


def test_needs_the_secret_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GECKOFORM_SECRET_ID", raising=False)
    with pytest.raises(ConfigurationError, match="GECKOFORM_SECRET_ID"):
        load_app()
