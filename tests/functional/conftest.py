"""The rotation handler driven as Secrets Manager drives it, over moto and the emulator."""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

import app
import observability
import rotation
from geckoform_tokens.config import Settings
from geckoform_tokens.gecko import GeckoClient
from geckoform_tokens.store import SecretStore
from tests.emulator import GeckoEmulator
from tests.support import secrets_manager as aws
from tests.support.doubles import CountingClient, LambdaContext
from tests.support.leaks import leaked

SECRET_NAME = "geckoform/api-tokens"


@dataclass
class Harness:
    sm: CountingClient
    emulator: GeckoEmulator
    sleeps: list[float]
    context: LambdaContext = field(default_factory=LambdaContext)
    outputs: list[str] = field(default_factory=list)  # return values and raised errors

    def invoke(self, event: dict[str, Any]) -> object:
        """Call the handler as Lambda does; keep what it returns or raises for the leak check."""
        try:
            result = app.lambda_handler(event, self.context)
        except Exception as exc:
            self.outputs.append("".join(traceback.format_exception(exc)))
            raise
        self.outputs.append(repr(result))
        return result

    def seed(self, tokens: dict[str, str] | str, name: str = SECRET_NAME) -> str:
        value = tokens if isinstance(tokens, str) else json.dumps(tokens)
        arn = str(self.sm.client.create_secret(Name=name, SecretString=value)["ARN"])
        aws.enable_rotation(arn)
        return arn

    def rotate(self, secret_id: str, token: str | None = None) -> str:
        return aws.rotate(self.invoke, secret_id, token)

    def current(self, secret_id: str) -> dict[str, Any]:
        return dict(aws.value_at(self.sm.client, secret_id, "AWSCURRENT"))


@pytest.fixture
def harness(
    sm: Any,
    gecko_http: GeckoEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Harness]:
    """The handler with its clients swapped for counted moto and the emulator; no sleeping.

    After the test, everything the function printed, logged, returned or raised (with its
    traceback) is searched for every token the emulator ever signed: none may appear.
    """
    sleeps: list[float] = []
    counting = CountingClient(sm)
    gecko = GeckoClient(Settings(), sleep=sleeps.append)
    deps: Callable[[], tuple[SecretStore, GeckoClient]] = lambda: (SecretStore(counting), gecko)  # type: ignore[arg-type]  # noqa: E731
    monkeypatch.setattr(app, "dependencies", deps)
    # Powertools' handler keeps the stdout it had when created; its records also propagate to
    # caplog, which formats them here as Lambda would see them: JSON with every extra key.
    caplog.handler.setFormatter(observability.logger.registered_formatter)
    rotation.forget()
    harness = Harness(counting, gecko_http, sleeps)
    yield harness
    rotation.forget()
    out, err = capfd.readouterr()
    logged = [caplog.handler.format(r) for r in caplog.get_records("call")]
    printed = "\n".join([out, err, *logged, *harness.outputs])
    assert printed.strip(), "nothing was captured: the leak check would be vacuous"
    assert not leaked(printed, gecko_http.minted), "a token appeared in the function's output"
