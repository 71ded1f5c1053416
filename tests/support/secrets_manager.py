"""Secrets Manager's side of a rotation, played over moto as AWS plays it.

moto differs from AWS where it matters here, so this module makes it behave like AWS:
- RotateSecret puts AWSPENDING on a new version that holds no value, and keeps AWSCURRENT where
  it is (moto without a Lambda ARN promotes at once instead);
- a PutSecretValue that would give an existing version a different value is refused with
  ResourceExistsException (moto overwrites an AWSPENDING version);
- after finishSecret, Secrets Manager removes AWSPENDING from the promoted version.
It reaches into moto's in-process backend, which a ThreadedMotoServer in the same process shares.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.secretsmanager import models as sm_models
from moto.secretsmanager.exceptions import ResourceExistsException

REGION = "us-east-1"
EVENTS = Path(__file__).resolve().parents[2] / "events"
STEPS = ("createSecret", "setSecret", "testSecret", "finishSecret")
Invoke = Callable[[dict[str, Any]], object]


def backend(region: str = REGION) -> Any:
    return sm_models.secretsmanager_backends[DEFAULT_ACCOUNT_ID][region]


def fake_secret(secret_id: str, region: str = REGION) -> Any:
    be = backend(region)
    for name, secret in be.secrets.items():
        if secret_id in (name, secret.arn):
            return secret
    raise KeyError(secret_id)


@contextmanager
def aws_strict_put() -> Iterator[None]:
    """Refuse, as AWS does, a PutSecretValue that changes an existing version's value."""
    original = sm_models.SecretsManagerBackend.put_secret_value

    def put_secret_value(
        self: Any, secret_id: str, secret_string: str, *args: Any, **kw: Any
    ) -> Any:
        token = kw.get("client_request_token") or (args[1] if len(args) > 1 else None)
        if token and self._is_valid_identifier(secret_id):
            existing = self.secrets[secret_id].versions.get(token)
            if (
                existing is not None
                and existing.get("secret_string", secret_string) != secret_string
            ):
                raise ResourceExistsException(
                    "You can't modify an existing version, you can only create a new version."
                )
        return original(self, secret_id, secret_string, *args, **kw)

    sm_models.SecretsManagerBackend.put_secret_value = put_secret_value  # type: ignore[method-assign]
    try:
        yield
    finally:
        sm_models.SecretsManagerBackend.put_secret_value = original  # type: ignore[method-assign]


def enable_rotation(secret_id: str, lambda_arn: str = "", days: int = 1) -> None:
    """Mark rotation configured (RotationEnabled) without moto promoting a version."""
    secret = fake_secret(secret_id)
    secret.rotation_requested = True
    secret.rotation_enabled = True
    secret.rotation_lambda_arn = lambda_arn or (
        f"arn:aws:lambda:{REGION}:{DEFAULT_ACCOUNT_ID}:function:geckoform-rotation"
    )
    secret.auto_rotate_after_days = days


def begin_rotation(secret_id: str) -> str:
    """What RotateSecret does before invoking the function: AWSPENDING on an empty new version.

    Like AWS, an incomplete earlier rotation (AWSPENDING on a version that is not AWSCURRENT)
    is resumed with the same version id rather than started afresh.
    """
    secret = fake_secret(secret_id)
    for vid, version in secret.versions.items():
        if (
            "AWSPENDING" in version["version_stages"]
            and "AWSCURRENT" not in version["version_stages"]
        ):
            return str(vid)
    token = str(uuid.uuid4())
    for version in secret.versions.values():
        if "AWSPENDING" in version["version_stages"]:
            version["version_stages"].remove("AWSPENDING")
    secret.versions[token] = {
        "createdate": int(time.time()),
        "version_id": token,
        "version_stages": ["AWSPENDING"],
    }
    return token


def end_rotation(secret_id: str) -> None:
    """What Secrets Manager does after a successful finishSecret: drop AWSPENDING."""
    secret = fake_secret(secret_id)
    for version in secret.versions.values():
        if "AWSCURRENT" in version["version_stages"] and "AWSPENDING" in version["version_stages"]:
            version["version_stages"].remove("AWSPENDING")


def event(step: str, secret_id: str, token: str, **extra: Any) -> dict[str, Any]:
    """The sample event of `step` from events/, for this secret and version."""
    sample = json.loads((EVENTS / f"{step}.json").read_text())
    return {**sample, "SecretId": secret_id, "ClientRequestToken": token, **extra}


def rotate(invoke: Invoke, secret_id: str, token: str | None = None) -> str:
    """Drive one whole rotation the way Secrets Manager does; return the new version id."""
    token = token or begin_rotation(secret_id)
    for step in STEPS:
        invoke(event(step, secret_id, token))
    end_rotation(secret_id)
    return token


def stages(secret_id: str) -> dict[str, list[str]]:
    """Version id -> stage labels, straight from the backend."""
    return {vid: list(v["version_stages"]) for vid, v in fake_secret(secret_id).versions.items()}


def value_at(client: Any, secret_id: str, stage: str) -> Mapping[str, Any]:
    """The JSON at `stage`, read with an explicit VersionStage as AWS requires."""
    return dict(
        json.loads(client.get_secret_value(SecretId=secret_id, VersionStage=stage)["SecretString"])
    )
