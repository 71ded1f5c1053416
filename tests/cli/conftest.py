"""The CLI run as a user runs it: `python -m geckoform_tokens` in a subprocess, against moto's
server over real HTTP. Secret states are set up through tests/support/secrets_manager, which
acts on the moto backend the server shares with this process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.emulator import GeckoEmulator
from tests.support import secrets_manager as aws

ROOT = Path(__file__).parents[2]
DAY = 86400


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


@dataclass
class Cli:
    """Runs the CLI and keeps every output it printed, for the leak check."""

    env: dict[str, str]
    outputs: list[str] = field(default_factory=list)

    def __call__(self, *args: str, stdin: str | None = None, timeout: float = 30) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "geckoform_tokens", *args],
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=ROOT,
            timeout=timeout,
            check=False,
        )
        self.outputs += [proc.stdout, proc.stderr]
        return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli_env(moto_server: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "GECKO_", "PYTHON"))}
    env.update(
        AWS_ENDPOINT_URL=moto_server,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=aws.REGION,
        AWS_CONFIG_FILE=str(tmp_path / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "no-aws-credentials"),
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.fixture
def cli(cli_env: dict[str, str]) -> Cli:
    return Cli(cli_env)


@pytest.fixture
def client(moto_server: str) -> Any:
    """A boto3 client on the same moto server, for setting up and checking secrets."""
    return boto3.client("secretsmanager", region_name=aws.REGION, endpoint_url=moto_server)


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    """A secret name no other test uses (the moto server lives for the whole session)."""
    return f"cli/{request.node.originalname}-{uuid.uuid4().hex[:8]}"


def issued(days_ago: float = 0, region: str = "eu", **kwargs: Any) -> dict[str, str]:
    """A token set as GeckoAuth issued it `days_ago` days ago (30-day refresh, 1-day access)."""
    then = time.time() - days_ago * DAY
    return GeckoEmulator(clock=lambda: then, **kwargs).issue(region)


@dataclass
class Secrets:
    """Sets up token secrets in the states the CLI must recognise."""

    client: Any

    def create(self, name: str, tokens: dict[str, str] | str, rotation: bool = True) -> str:
        value = tokens if isinstance(tokens, str) else json.dumps(tokens)
        self.client.create_secret(Name=name, SecretString=value)
        if rotation:
            aws.enable_rotation(name)
        return self.current_version(name)

    def pending(self, name: str, tokens: dict[str, str] | None) -> str:
        """Start a rotation as Secrets Manager does; createSecret stored `tokens` if given."""
        version = aws.begin_rotation(name)
        if tokens is not None:
            self.client.put_secret_value(
                SecretId=name,
                ClientRequestToken=version,
                SecretString=json.dumps(tokens),
                VersionStages=["AWSPENDING"],
            )
        return version

    def stages(self, name: str) -> dict[str, list[str]]:
        return aws.stages(name)

    def current_version(self, name: str) -> str:
        return next(v for v, s in self.stages(name).items() if "AWSCURRENT" in s)

    def value(self, name: str, stage: str = "AWSCURRENT") -> dict[str, Any]:
        return dict(aws.value_at(self.client, name, stage))


@pytest.fixture
def secrets(client: Any) -> Secrets:
    return Secrets(client)


@pytest.fixture
def fake_rotation_function(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[bool, float], None]]:
    """Make moto's RotateSecret behave as AWS with a rotation function attached.

    AWS labels a new empty version AWSPENDING and invokes the function, which (here, on a
    thread, `delay` seconds apart) stores new tokens there and promotes them; or, with
    `finishes=False`, never gets anywhere. moto without a function promotes an empty version.
    """
    from moto.secretsmanager import models as sm_models

    threads = []

    def install(finishes: bool = True, delay: float = 0.3) -> None:
        def rotate_secret(self: Any, secret_id: str, **_: Any) -> str:
            version = aws.begin_rotation(secret_id)
            secret = aws.fake_secret(secret_id)
            if finishes:
                thread = threading.Thread(target=steps, args=(secret_id, version), daemon=True)
                thread.start()
                threads.append(thread)
            return json.dumps({"ARN": secret.arn, "Name": secret.name, "VersionId": version})

        def steps(secret_id: str, version: str) -> None:
            time.sleep(delay)  # createSecret: new tokens into the pending version
            secret = aws.fake_secret(secret_id)
            secret.versions[version]["secret_string"] = json.dumps(GeckoEmulator().issue("eu"))
            time.sleep(delay)  # testSecret, then finishSecret
            current = next(v for v, s in aws.stages(secret_id).items() if "AWSCURRENT" in s)
            aws.backend().update_secret_version_stage(secret.name, "AWSCURRENT", current, version)
            aws.end_rotation(secret_id)

        monkeypatch.setattr(sm_models.SecretsManagerBackend, "rotate_secret", rotate_secret)

    yield install
    for thread in threads:
        thread.join(timeout=5)
