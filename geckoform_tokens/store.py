"""Secrets Manager reads and writes of token sets, by stage or version. The only AWS code here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from geckoform_tokens.exceptions import SecretNotFound, SecretStoreError
from geckoform_tokens.tokens import TokenSet

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

CURRENT = "AWSCURRENT"
PENDING = "AWSPENDING"
PREVIOUS = "AWSPREVIOUS"


@dataclass(frozen=True)
class SecretDescription:
    """What DescribeSecret says of a secret, as far as rotation cares."""

    arn: str
    name: str
    rotation_enabled: bool
    versions: Mapping[str, tuple[str, ...]]
    metadata: Mapping[str, Any] = field(repr=False, default_factory=dict)

    def version_with(self, stage: str) -> str | None:
        """The version id carrying `stage`, or None."""
        return next((vid for vid, stages in self.versions.items() if stage in stages), None)

    def stages_of(self, version_id: str) -> tuple[str, ...]:
        return self.versions.get(version_id, ())


@dataclass(frozen=True)
class VersionEntry:
    """One version as ListSecretVersionIds lists it (no value)."""

    version_id: str
    stages: tuple[str, ...]
    created: datetime | None


def _error(exc: Exception, action: str, secret_id: str) -> SecretStoreError:
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "Unknown")
        if code == "ResourceNotFoundException":
            return SecretNotFound(
                f"{action}: secret {secret_id} (or that version of it) not found."
            )
        return SecretStoreError(f"{action} on {secret_id} failed: {code}.")
    return SecretStoreError(f"{action} on {secret_id} failed: {type(exc).__name__}.")


class SecretStore:
    """Token sets in Secrets Manager. Pass the client in so tests can hand in their own."""

    def __init__(self, client: SecretsManagerClient) -> None:
        self.client = client

    def describe(self, secret_id: str) -> SecretDescription:
        try:
            meta = self.client.describe_secret(SecretId=secret_id)
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc, "DescribeSecret", secret_id) from exc
        return SecretDescription(
            arn=meta["ARN"],
            name=meta["Name"],
            rotation_enabled=bool(meta.get("RotationEnabled")),
            versions={
                vid: tuple(stages) for vid, stages in meta.get("VersionIdsToStages", {}).items()
            },
            metadata=meta,
        )

    def read(self, secret_id: str, stage: str | None, version_id: str | None = None) -> str:
        """The SecretString at `stage` (and `version_id`); SecretNotFound if it holds no value.

        `stage` may be None only with a `version_id`, to read a version that carries no label.
        """
        kwargs: dict[str, str] = {"SecretId": secret_id}
        if stage is not None:
            kwargs["VersionStage"] = stage
        if version_id is not None:
            kwargs["VersionId"] = version_id
        if len(kwargs) == 1:
            raise ValueError("read() needs a stage or a version id")
        try:
            answer = self.client.get_secret_value(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc, "GetSecretValue", secret_id) from exc
        if "SecretString" not in answer:
            raise SecretStoreError(f"Secret {secret_id} holds binary data, not token JSON.")
        return answer["SecretString"]

    def read_tokens(
        self, secret_id: str, stage: str | None, version_id: str | None = None
    ) -> TokenSet:
        source = f"{stage} value" if stage else f"value of version {version_id}"
        return TokenSet.from_json(self.read(secret_id, stage, version_id), source=source)

    def list_versions(self, secret_id: str) -> list[VersionEntry]:
        """Every version, unlabelled (deprecated) ones included, as ListSecretVersionIds says."""
        entries: list[VersionEntry] = []
        kwargs: dict[str, Any] = {"SecretId": secret_id, "IncludeDeprecated": True}
        try:
            while True:
                page = self.client.list_secret_version_ids(**kwargs)
                entries.extend(
                    VersionEntry(
                        version_id=item["VersionId"],
                        stages=tuple(item.get("VersionStages", ())),
                        created=item.get("CreatedDate"),
                    )
                    for item in page.get("Versions", [])
                )
                if not page.get("NextToken"):
                    return entries
                kwargs["NextToken"] = page["NextToken"]
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc, "ListSecretVersionIds", secret_id) from exc

    def create(self, secret_id: str, tokens: TokenSet) -> str:
        """Create the secret with `tokens` as its first (AWSCURRENT) version; return its id."""
        try:
            answer = self.client.create_secret(Name=secret_id, SecretString=tokens.to_json())
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc, "CreateSecret", secret_id) from exc
        return answer["VersionId"]

    def rotate(self, secret_id: str) -> str | None:
        """Start a rotation with the configured function; return the new version id."""
        try:
            return self.client.rotate_secret(SecretId=secret_id).get("VersionId")
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc, "RotateSecret", secret_id) from exc

    def put(
        self,
        secret_id: str,
        tokens: TokenSet,
        stage: str,
        version_id: str | None = None,
        rotation_token: str | None = None,
    ) -> str:
        """Store `tokens` as a new version labelled `stage`; return its version id."""
        kwargs: dict[str, Any] = {
            "SecretId": secret_id,
            "SecretString": tokens.to_json(),
            "VersionStages": [stage],
        }
        if version_id is not None:
            kwargs["ClientRequestToken"] = version_id
        if rotation_token is not None:
            kwargs["RotationToken"] = rotation_token
        try:
            return self.client.put_secret_value(**kwargs)["VersionId"]
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc, "PutSecretValue", secret_id) from exc

    def move_stage(
        self, secret_id: str, stage: str, to_version: str | None, from_version: str | None
    ) -> None:
        """Move `stage` from `from_version` to `to_version` (either may be None)."""
        kwargs: dict[str, str] = {"SecretId": secret_id, "VersionStage": stage}
        if to_version is not None:
            kwargs["MoveToVersionId"] = to_version
        if from_version is not None:
            kwargs["RemoveFromVersionId"] = from_version
        try:
            self.client.update_secret_version_stage(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _error(exc, "UpdateSecretVersionStage", secret_id) from exc
