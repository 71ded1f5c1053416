"""What state a token secret is in, what to do about it, and how to recover a stuck rotation.

The CLI's judgement lives here, apart from its terminal code: it reads every version's value
(through SecretStore), keeps only non-secret facts in its results, and decides.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Final

from geckoform_tokens.exceptions import (
    ACTIVE_SESSIONS_HINT,
    InvalidTokenSet,
    RotationStateError,
    SecretNotFound,
    TokenExpired,
)
from geckoform_tokens.store import CURRENT, PENDING, SecretDescription, SecretStore
from geckoform_tokens.tokens import TokenSet, iso

EXPIRY_WARNING_DAYS: Final = 7
# Pending tokens issued longer ago than this, by a rotation that has not finished, are stuck:
# a healthy rotation runs testSecret and finishSecret within seconds of createSecret.
STUCK_AFTER_SECONDS: Final = 600
# Unlabelled (deprecated) versions worth reading: the newest few. One may hold the only live
# refresh token, e.g. after `seed --force` took AWSPENDING off it.
UNLABELLED_TO_READ: Final = 5


class Verdict(Enum):
    """The secret's health, with the CLI's exit code for it."""

    HEALTHY = ("healthy", 0)
    ROTATION_IN_PROGRESS = ("rotation_in_progress", 3)
    REFRESH_EXPIRING = ("refresh_expiring", 4)
    STUCK = ("stuck", 5)
    CHAIN_BROKEN = ("chain_broken", 6)

    def __init__(self, code: str, exit_code: int) -> None:
        self.code = code
        self.exit_code = exit_code


@dataclass(frozen=True)
class Health:
    verdict: Verdict
    summary: str
    action: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.code,
            "summary": self.summary,
            "action": self.action,
            "exit_code": self.verdict.exit_code,
        }


def freshness(tokens: TokenSet) -> tuple[int, int]:
    """How recent a set is: its refresh token's exp, then iat. Greater is fresher."""
    iat = tokens.refresh.claims.get("iat")
    return (tokens.refresh.exp, iat if isinstance(iat, int) else 0)


@dataclass(frozen=True)
class VersionState:
    """One version: its labels and, when its value is a token set, the set (never printed)."""

    version_id: str
    stages: tuple[str, ...]
    created: datetime | None
    tokens: TokenSet | None
    problem: str | None = None  # why `tokens` is None

    @property
    def freshness(self) -> tuple[int, int]:
        return freshness(self.tokens) if self.tokens is not None else (0, 0)

    def usable(self, now: float) -> bool:
        """Holds a token set whose refresh token has not expired."""
        return self.tokens is not None and not self.tokens.refresh.expired(now)

    def issued_seconds_ago(self, now: float) -> float | None:
        if self.tokens is None:
            return None
        iat = self.tokens.refresh.claims.get("iat")
        return now - iat if isinstance(iat, int) else None

    def describe(self, now: float) -> dict[str, Any]:
        """Non-secret facts only."""
        facts: dict[str, Any] = {
            "version_id": self.version_id,
            "stages": list(self.stages),
            "created": iso(self.created.timestamp()) if self.created else None,
        }
        if self.tokens is None:
            facts["tokens"] = None
            facts["problem"] = self.problem
        else:
            facts["tokens"] = {
                **self.tokens.describe(now),
                "id_fp": self.tokens.id.fingerprint,
                "refresh_issued_at": iso(freshness(self.tokens)[1]),
            }
        return facts


@dataclass(frozen=True)
class SecretState:
    description: SecretDescription
    versions: tuple[VersionState, ...]
    now: float

    @property
    def current(self) -> VersionState | None:
        return next((v for v in self.versions if CURRENT in v.stages), None)

    @property
    def pending(self) -> VersionState | None:
        """The AWSPENDING version, when it is not also AWSCURRENT (a rotation has not ended)."""
        return next(
            (v for v in self.versions if PENDING in v.stages and CURRENT not in v.stages), None
        )

    def freshest(self) -> VersionState | None:
        """The usable version with the freshest refresh token; AWSCURRENT wins a tie."""
        usable = [v for v in self.versions if v.usable(self.now)]
        if not usable:
            return None
        return max(usable, key=lambda v: (v.freshness, CURRENT in v.stages))

    def newer_than_current(self, version: VersionState) -> bool:
        current = self.current
        if not version.usable(self.now):
            return False
        if current is None or not current.usable(self.now):
            return True
        return version.freshness > current.freshness

    def rotation(self) -> dict[str, Any]:
        meta: Mapping[str, Any] = self.description.metadata
        rules = meta.get("RotationRules") or {}
        return {
            "enabled": self.description.rotation_enabled,
            "lambda_arn": meta.get("RotationLambdaARN") or None,
            "automatically_after_days": rules.get("AutomaticallyAfterDays"),
            "schedule_expression": rules.get("ScheduleExpression"),
            "window": rules.get("Duration"),
            "last_rotated": _when(meta.get("LastRotatedDate")),
            "next_rotation": _when(meta.get("NextRotationDate")),
        }

    def health(self) -> Health:
        pending, current = self.pending, self.current
        if pending is not None:
            return self._pending_health(pending)
        if current is None or current.tokens is None:
            why = current.problem if current and current.problem else "is missing"
            return Health(Verdict.CHAIN_BROKEN, f"AWSCURRENT {why}.", ACTIVE_SESSIONS_HINT)
        refresh = current.tokens.refresh
        if refresh.expired(self.now):
            return Health(
                Verdict.CHAIN_BROKEN,
                f"AWSCURRENT's refresh token expired at {iso(refresh.exp)}; the chain is broken.",
                ACTIVE_SESSIONS_HINT,
            )
        days = refresh.seconds_left(self.now) / 86400
        if days < EXPIRY_WARNING_DAYS:
            return Health(
                Verdict.REFRESH_EXPIRING,
                f"AWSCURRENT's refresh token expires in {days:.1f} days ({iso(refresh.exp)}).",
                "Rotate now (geckoform-tokens rotate SECRET_ID) and check that rotation is "
                "enabled and scheduled more often than every "
                f"{EXPIRY_WARNING_DAYS} days; if rotations fail, {ACTIVE_SESSIONS_HINT}",
            )
        return Health(
            Verdict.HEALTHY,
            f"AWSCURRENT's refresh token is valid for {days:.1f} more days.",
            "Nothing to do.",
        )

    def _pending_health(self, pending: VersionState) -> Health:
        vid = pending.version_id
        if pending.tokens is None and pending.problem == NO_VALUE:
            return Health(
                Verdict.ROTATION_IN_PROGRESS,
                f"A rotation has started: version {vid} is AWSPENDING and holds no tokens yet.",
                "Wait a minute and look again. If it stays so, the rotation function fails "
                "before storing new tokens: read its logs; `geckoform-tokens rotate SECRET_ID` "
                "retries the same version.",
            )
        if self.newer_than_current(pending):
            ago = pending.issued_seconds_ago(self.now)
            if ago is not None and ago < STUCK_AFTER_SECONDS:
                return Health(
                    Verdict.ROTATION_IN_PROGRESS,
                    f"A rotation is finishing: version {vid} (AWSPENDING) holds new tokens "
                    "issued moments ago; testSecret and finishSecret have yet to promote them.",
                    "Wait a minute and look again.",
                )
            return Health(
                Verdict.STUCK,
                f"The rotation is stuck: version {vid} (AWSPENDING) holds newer tokens than "
                "AWSCURRENT, whose refresh token GeckoAuth has most likely spent; testSecret or "
                "finishSecret keeps failing.",
                "Read the rotation function's logs, then run `geckoform-tokens recover "
                "SECRET_ID` to make the newer tokens AWSCURRENT.",
            )
        what = pending.problem or "holds no usable tokens newer than AWSCURRENT's"
        return Health(
            Verdict.STUCK,
            f"A stale AWSPENDING label sits on version {vid}, which {what}; the next rotation "
            "would resume it and could promote those tokens over AWSCURRENT.",
            "Run `geckoform-tokens recover SECRET_ID` to clear the stale AWSPENDING label.",
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "secret": {"name": self.description.name, "arn": self.description.arn},
            "checked_at": iso(self.now),
            "versions": [v.describe(self.now) for v in self.versions],
            "rotation": self.rotation(),
            "health": self.health().to_dict(),
        }


NO_VALUE: Final = "holds no value"
PLACEHOLDER: Final = {"seeded": False}
NOT_SEEDED: Final = 'holds the placeholder {"seeded": false}: the secret has not been seeded yet'


def _when(value: object) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return None if value is None else str(value)


def load_state(store: SecretStore, secret_id: str, now: float | None = None) -> SecretState:
    """Describe the secret and read its labelled versions and the newest unlabelled ones."""
    description = store.describe(secret_id)
    listed = {entry.version_id: entry for entry in store.list_versions(secret_id)}
    labelled = {vid: stages for vid, stages in description.versions.items() if stages}
    unlabelled = sorted(
        (e for e in listed.values() if not e.stages and e.version_id not in labelled),
        key=lambda e: e.created.timestamp() if e.created else 0.0,
        reverse=True,
    )[:UNLABELLED_TO_READ]
    versions = [
        _read_version(store, description.arn, vid, stages, listed.get(vid))
        for vid, stages in labelled.items()
    ]
    versions += [_read_version(store, description.arn, e.version_id, (), e) for e in unlabelled]
    order = {CURRENT: 0, PENDING: 1, "AWSPREVIOUS": 2}
    versions.sort(key=lambda v: min((order.get(s, 3) for s in v.stages), default=4))
    return SecretState(description, tuple(versions), time.time() if now is None else now)


def _read_version(
    store: SecretStore, arn: str, vid: str, stages: tuple[str, ...], entry: Any
) -> VersionState:
    created = entry.created if entry is not None else None
    # AWS wants VersionId and VersionStage together to pin a labelled version exactly.
    stage = stages[0] if stages else None
    try:
        raw = store.read(arn, stage, vid)
    except SecretNotFound:
        return VersionState(vid, stages, created, None, NO_VALUE)
    try:
        tokens = TokenSet.from_json(raw, source=f"{stage or 'version'} value")
    except InvalidTokenSet as exc:
        if _is_placeholder(raw):
            return VersionState(vid, stages, created, None, NOT_SEEDED)
        reason = str(exc).rstrip(".")
        return VersionState(vid, stages, created, None, f"is not a GeckoForm token set ({reason})")
    return VersionState(vid, stages, created, tokens)


def _is_placeholder(raw: str) -> bool:
    """The value template.yaml creates the secret with, before anyone seeds it."""
    try:
        return bool(json.loads(raw) == PLACEHOLDER)
    except ValueError:
        return False


# -- seed --------------------------------------------------------------------------------------
def check_seedable(tokens: TokenSet, now: float | None = None) -> None:
    """Raise InvalidTokenSet unless `tokens` are fit to become AWSCURRENT."""
    now = time.time() if now is None else now
    if tokens.access.expired(now):
        raise TokenExpired(
            f"The access token expired at {iso(tokens.access.exp)}. " + ACTIVE_SESSIONS_HINT
        )
    tokens.require_refreshable(now)
    tokens.region  # noqa: B018  (validates the region claim)
    tokens.require_same_subject()


# -- recover -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RecoveryPlan:
    """What `recover` will do: promote a version, clear a stale AWSPENDING, or both, or none."""

    promote: VersionState | None
    clear_pending: VersionState | None
    current: VersionState | None

    @property
    def nothing_to_do(self) -> bool:
        return self.promote is None and self.clear_pending is None

    def explain(self) -> list[str]:
        lines = []
        if self.promote is not None:
            was = self.current.version_id if self.current else "none"
            lines.append(
                f"Make version {self.promote.version_id} AWSCURRENT: it holds the freshest valid "
                f"refresh token (AWSCURRENT was {was}; it becomes AWSPREVIOUS)."
            )
        if self.clear_pending is not None:
            lines.append(
                f"Remove the AWSPENDING label from version {self.clear_pending.version_id} "
                "(its value is kept), so the next rotation starts afresh from AWSCURRENT."
            )
        return lines or ["Nothing to do: AWSCURRENT holds the freshest valid tokens."]


def plan_recovery(state: SecretState) -> RecoveryPlan:
    """Make the freshest usable set AWSCURRENT and drop a stale AWSPENDING. Never deletes."""
    best, current, pending = state.freshest(), state.current, state.pending
    if best is None:
        raise RotationStateError(
            "No version of the secret holds a token set with an unexpired refresh token, so "
            "there is nothing to recover. " + ACTIVE_SESSIONS_HINT
        )
    promote = None if best is current else best
    # AWSPENDING goes when it sits on a version that is not AWSCURRENT once recovered: either the
    # version being promoted (Secrets Manager drops it after finishSecret too) or one holding
    # nothing newer than the freshest set, which is `best` by construction.
    return RecoveryPlan(promote=promote, clear_pending=pending, current=current)


def apply_recovery(
    store: SecretStore, state: SecretState, plan: RecoveryPlan, report: Callable[[str], None]
) -> None:
    arn = state.description.arn
    if plan.promote is not None:
        old = plan.current.version_id if plan.current else None
        store.move_stage(arn, CURRENT, to_version=plan.promote.version_id, from_version=old)
        report(f"Version {plan.promote.version_id} is now AWSCURRENT.")
    if plan.clear_pending is not None:
        store.move_stage(arn, PENDING, to_version=None, from_version=plan.clear_pending.version_id)
        report(f"Removed AWSPENDING from version {plan.clear_pending.version_id}.")


# -- rotate ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RotationOutcome:
    finished: bool
    version_id: str | None


def follow_rotation(
    store: SecretStore,
    secret_id: str,
    version_id: str | None,
    timeout: float,
    interval: float,
    report: Callable[[str], None],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RotationOutcome:
    """Watch the version stages until `version_id` is AWSCURRENT or `timeout` seconds pass.

    Reports each change once: the new version pending, its tokens stored (createSecret done),
    and its promotion (finishSecret done).
    """
    deadline = clock() + timeout
    seen: set[str] = set()

    def once(key: str, text: str) -> None:
        if key not in seen:
            seen.add(key)
            report(text)

    while True:
        description = store.describe(secret_id)
        vid = version_id or description.version_with(PENDING)
        if vid is not None:
            stages = description.stages_of(vid)
            if CURRENT in stages:
                once("done", f"Version {vid} is AWSCURRENT: the rotation has finished.")
                return RotationOutcome(True, vid)
            if PENDING in stages:
                once("pending", f"Version {vid} is AWSPENDING: waiting for createSecret.")
                if "stored" not in seen and _holds_value(store, description.arn, vid):
                    once("stored", f"Version {vid} holds new tokens: createSecret has run.")
            elif vid not in description.versions or not stages:
                once("gone", f"Version {vid} lost its AWSPENDING label: the rotation was ended.")
                return RotationOutcome(False, vid)
        if clock() >= deadline:
            return RotationOutcome(False, vid)
        sleep(interval)


def _holds_value(store: SecretStore, arn: str, vid: str) -> bool:
    try:
        store.read(arn, PENDING, vid)
    except SecretNotFound:
        return False
    return True
