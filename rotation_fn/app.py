"""Lambda entry point: Secrets Manager calls lambda_handler once per rotation step."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

import rotation
from geckoform_tokens.config import Settings
from geckoform_tokens.gecko import GeckoClient
from geckoform_tokens.store import SecretStore
from observability import logger, metrics

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

SETTINGS = Settings.from_env()


@cache
def dependencies() -> tuple[SecretStore, GeckoClient]:
    """One Secrets Manager client and one HTTP session per execution environment.

    The client retries throttling and transient errors itself (standard mode): a failed
    PutSecretValue after a refresh is costly, so it gets more attempts than the default 3.
    """
    client = boto3.client(
        "secretsmanager", config=Config(retries={"mode": "standard", "max_attempts": 6})
    )
    return SecretStore(client), GeckoClient(SETTINGS)


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False, clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    store, gecko = dependencies()
    seconds_left = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    rotation.rotate(rotation.Rotation(store, gecko, seconds_left), event)
