"""Secrets Manager's four rotation steps for a GeckoForm token set.

GeckoAuth refresh tokens work once, so createSecret's refresh is the point of no return: its
result is stored, or kept in this execution environment's memory until a retry stores it, and a
replayed step never refreshes twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from geckoform_tokens.exceptions import (
    ACTIVE_SESSIONS_HINT,
    GeckoTokensError,
    InvalidTokenSet,
    RefreshResultNotStored,
    RotationStateError,
    SecretNotFound,
    SecretStoreError,
    TokenExpired,
)
from geckoform_tokens.gecko import GeckoClient, TimeLeft
from geckoform_tokens.store import CURRENT, PENDING, SecretDescription, SecretStore
from geckoform_tokens.tokens import TokenSet
from observability import count, logger, metrics, record_step_outcome

Step = Literal["createSecret", "setSecret", "testSecret", "finishSecret"]
STEPS: Final[tuple[str, ...]] = get_args(Step)


@dataclass(frozen=True)
class RotationEvent:
    """The part of Secrets Manager's rotation event that matters; other keys are ignored."""

    step: Step
    secret_id: str
    token: str
    rotation_token: str | None = None

    @classmethod
    def parse(cls, event: Mapping[str, Any]) -> RotationEvent:
        step = event.get("Step")
        if step not in STEPS:
            raise RotationStateError(
                f"Unknown rotation step {step!r}; expected one of {', '.join(STEPS)}."
            )
        secret_id, token = event.get("SecretId"), event.get("ClientRequestToken")
        if (
            not isinstance(secret_id, str)
            or not secret_id
            or not isinstance(token, str)
            or not token
        ):
            raise RotationStateError(
                "The rotation event needs SecretId and ClientRequestToken strings."
            )
        rotation_token = event.get("RotationToken")
        return cls(
            step, secret_id, token, rotation_token if isinstance(rotation_token, str) else None
        )


@dataclass(frozen=True)
class Kept:
    tokens: TokenSet
    spent_refresh_fp: str


class KeptResults:
    """Refresh results that could not be stored, keyed by secret ARN and version id.

    They live as long as the execution environment: the next attempt of createSecret stores
    them instead of refreshing again with a refresh token GeckoAuth has already spent.
    """

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str], Kept] = {}

    def keep(self, arn: str, version: str, tokens: TokenSet, spent_refresh_fp: str) -> None:
        self._kept[(arn, version)] = Kept(tokens, spent_refresh_fp)

    def find(self, arn: str, version: str, current: TokenSet | None = None) -> Kept | None:
        """The result kept for this version, or one that spent `current`'s refresh token."""
        if (kept := self._kept.get((arn, version))) is not None or current is None:
            return kept
        fp = current.refresh.fingerprint
        return next(
            (k for (a, _), k in self._kept.items() if a == arn and k.spent_refresh_fp == fp), None
        )

    def discard(self, arn: str, tokens: TokenSet) -> None:
        for key in [
            key for key, kept in self._kept.items() if key[0] == arn and kept.tokens == tokens
        ]:
            del self._kept[key]

    def __len__(self) -> int:
        return len(self._kept)

    def clear(self) -> None:
        self._kept.clear()


kept_results = KeptResults()
# Versions this execution environment's testSecret found holding a token set: finishSecret
# promotes those without reading them again, and reads any other version first.
tested_versions: set[tuple[str, str]] = set()


def forget() -> None:
    """Drop what this execution environment remembers, as a new one would start."""
    kept_results.clear()
    tested_versions.clear()


@dataclass(frozen=True)
class Rotation:
    """What the steps act with: passed in so tests hand in their own."""

    store: SecretStore
    gecko: GeckoClient
    time_left: TimeLeft | None = None
    clock: Callable[[], float] = time.time


def create_secret(rotation: Rotation, secret: SecretDescription, event: RotationEvent) -> None:
    """Refresh the tokens once and store the answer as the AWSPENDING version."""
    store, arn, version = rotation.store, secret.arn, event.token
    try:
        store.read(arn, PENDING, version)
    except SecretNotFound:
        pass
    else:
        logger.info("pending version already holds a value; not refreshing again")
        return

    kept = kept_results.find(arn, version)
    if kept is None:
        current = _read_current(store, arn, rotation.clock())
        kept = kept_results.find(arn, version, current)
    if kept is not None:
        new, spent_fp = kept.tokens, kept.spent_refresh_fp
        logger.info("storing a refresh result kept from an earlier attempt", refresh_fp=spent_fp)
    else:
        new = rotation.gecko.refresh(current, rotation.time_left)
        spent_fp = current.refresh.fingerprint
        facts = new.describe(rotation.clock())
        logger.info("refreshed tokens", spent_refresh_fp=spent_fp, **facts)
        count("AccessTokenHoursLeft", facts["access_hours_left"])
        count("RefreshTokenDaysLeft", facts["refresh_days_left"])

    try:
        store.put(arn, new, PENDING, version_id=version, rotation_token=event.rotation_token)
    except SecretStoreError as exc:
        kept_results.keep(arn, version, new, spent_fp)
        logger.error(
            "refresh result not stored; kept in memory for the next attempt",
            refresh_fp=new.refresh.fingerprint,
            kept_results=len(kept_results),
            reason=str(exc),
        )
        count("RefreshResultsKept")
        raise RefreshResultNotStored(
            "New tokens were issued but could not be stored as AWSPENDING; they are kept in this "
            "execution environment's memory and the next attempt of createSecret stores them."
        ) from exc
    kept_results.discard(arn, new)
    logger.info("stored pending version", refresh_fp=new.refresh.fingerprint)


def _read_current(store: SecretStore, arn: str, now: float) -> TokenSet:
    try:
        current = store.read_tokens(arn, CURRENT)
        current.require_refreshable(now)
    except TokenExpired:
        raise
    except InvalidTokenSet as exc:
        raise InvalidTokenSet(f"{exc} {ACTIVE_SESSIONS_HINT}") from exc
    return current


def set_secret(rotation: Rotation, event: RotationEvent) -> None:
    """Nothing to do: GeckoAuth activated the new tokens when it issued them in createSecret.

    There is no downstream database or service to hand new credentials to: the GeckoForm API
    accepts the new access token as soon as GeckoAuth has issued it. This step touches no
    version, so it makes no Secrets Manager call either.
    """


def test_secret(rotation: Rotation, secret: SecretDescription, event: RotationEvent) -> None:
    """Call the GeckoForm API of the token's region with the pending access token."""
    try:
        pending = rotation.store.read_tokens(secret.arn, PENDING, event.token)
    except SecretNotFound:
        # Secrets Manager tests the configuration (RotateImmediately=false) on an AWSPENDING
        # version that holds no value: never refresh here; check AWSCURRENT's access token instead.
        _test_current(rotation, secret.arn)
        return
    now = rotation.clock()
    if pending.access.expired(now):
        # The rotation stalled (say, a day-long GeckoForm outage) until the new access token
        # expired untested. Its refresh token is the only live one, and AWSCURRENT's access
        # token is older still: failing forever would strand it. Promote it instead; the next
        # rotation refreshes with it.
        pending.require_refreshable(now)
        logger.warning(
            "pending access token expired before it could be tested; promoting its refresh token",
            refresh_fp=pending.refresh.fingerprint,
        )
    else:
        rotation.gecko.check_access(pending)
        logger.info("GeckoForm accepted the pending access token", region=pending.region)
    tested_versions.add((secret.arn, event.token))


def _test_current(rotation: Rotation, arn: str) -> None:
    try:
        current = rotation.store.read_tokens(arn, CURRENT)
    except InvalidTokenSet as exc:
        logger.warning("AWSCURRENT holds no GeckoForm tokens yet; seed the secret", reason=str(exc))
        return
    if current.access.expired(rotation.clock()):
        logger.warning("AWSCURRENT's access token has expired; the next rotation refreshes it")
        return
    rotation.gecko.check_access(current)
    logger.info("GeckoForm accepted the current access token", region=current.region)


def finish_secret(rotation: Rotation, secret: SecretDescription, event: RotationEvent) -> None:
    """Move AWSCURRENT to the new version; Secrets Manager then labels the old one AWSPREVIOUS.

    Only a version known to hold a token set is promoted: one this environment's testSecret
    passed, else it is read first (an empty or broken AWSPENDING version raises).
    """
    key = (secret.arn, event.token)
    if key not in tested_versions:
        try:
            rotation.store.read_tokens(secret.arn, PENDING, event.token)
        except SecretNotFound:
            raise RotationStateError(
                f"Version {event.token} of secret {secret.arn} holds no tokens, so it is not "
                "promoted. Secrets Manager retries the rotation from createSecret."
            ) from None
    old = secret.version_with(CURRENT)
    rotation.store.move_stage(secret.arn, CURRENT, to_version=event.token, from_version=old)
    tested_versions.discard(key)
    logger.info("promoted pending version to AWSCURRENT", previous_version_id=old)


VersionStep = Callable[[Rotation, SecretDescription, RotationEvent], None]
VERSION_STEPS: Final[dict[str, VersionStep]] = {
    "createSecret": create_secret,
    "testSecret": test_secret,
    "finishSecret": finish_secret,
}


def check_version(secret: SecretDescription, version: str) -> bool:
    """The stage guard: False when `version` is already AWSCURRENT, True when it is AWSPENDING."""
    if not secret.rotation_enabled:
        raise RotationStateError(f"Rotation is not enabled for secret {secret.arn}.")
    stages = secret.versions.get(version)
    if stages is None:
        raise RotationStateError(
            f"Version {version} of secret {secret.arn} does not exist or has no stage."
        )
    if CURRENT in stages:
        logger.info("version is already AWSCURRENT; nothing to do")
        return False
    if PENDING not in stages:
        raise RotationStateError(f"Version {version} of secret {secret.arn} is not AWSPENDING.")
    return True


def _run_step(rotation: Rotation, raw_event: Mapping[str, Any]) -> None:
    event = RotationEvent.parse(raw_event)
    logger.append_keys(secret_id=event.secret_id, version_id=event.token)
    if event.step == "setSecret":
        set_secret(rotation, event)
        return
    secret = rotation.store.describe(event.secret_id)
    logger.append_keys(secret_arn=secret.arn)
    if check_version(secret, event.token):
        VERSION_STEPS[event.step](rotation, secret, event)


def rotate(rotation: Rotation, raw_event: Mapping[str, Any]) -> None:
    """Run the event's step, log and count its outcome, and let any failure propagate."""
    step = raw_event.get("Step")
    step = step if step in STEPS else "invalid"  # a metric dimension: never an arbitrary value
    logger.append_keys(step=step)
    metrics.add_dimension(name="Step", value=step)
    try:
        _run_step(rotation, raw_event)
    except Exception as exc:
        record_step_outcome(succeeded=False)
        # Domain errors carry messages written to be safe to log; others are named only.
        reason = str(exc) if isinstance(exc, GeckoTokensError) else None
        logger.error("rotation step failed", error=type(exc).__name__, reason=reason)
        raise
    record_step_outcome(succeeded=True)
