"""The fault model: random sequences of rotations, replayed steps and faults, and after every
action the four promises the rotation makes about the only valid refresh token.

The handler runs in-process (app.lambda_handler, as Lambda calls it) against moto refusing
overwrites as AWS does, with the emulator behind `responses` and one clock shared by the
emulator and the function, so time can move. The invariants, checked after every action:

1. every refresh token GeckoAuth still accepts is stored in the version labelled AWSCURRENT or
   AWSPENDING. The documented exceptions, each of which must have failed loudly: GeckoAuth
   lost its answer after spending the token (RefreshOutcomeUnknown), or Secrets Manager refused
   to store the answer (RefreshResultNotStored: the tokens are then kept in the execution
   environment's memory, and lost only if that environment is);
2. AWSCURRENT always holds a complete, parseable token set;
3. no refresh is attempted with a refresh token the secret has already superseded;
4. nothing printed or logged contains a token.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections import Counter
from functools import partial
from typing import Any

import boto3
import jwt
import pytest
import responses
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from moto import mock_aws

import app
import rotation
from geckoform_tokens.config import Settings
from geckoform_tokens.exceptions import (
    AccessTokenRejected,
    GeckoTokensError,
    RefreshOutcomeUnknown,
    RefreshResultNotStored,
)
from geckoform_tokens.gecko import GeckoClient
from geckoform_tokens.store import CURRENT, PENDING, SecretStore
from geckoform_tokens.tokens import TokenSet, fingerprint
from observability import logger
from tests.emulator import Fault, GeckoEmulator
from tests.emulator.gecko import DAY
from tests.support import secrets_manager as aws
from tests.support.doubles import CountingClient, LambdaContext
from tests.support.responses_adapter import install

AUTH_FAULTS = (Fault.THROTTLED, Fault.UNAVAILABLE, Fault.CONNECT, Fault.LOST)
API_FAULTS = (Fault.REJECT, Fault.UNAVAILABLE)
# A fault for the next `times` requests it applies to (mostly none), at most MAX_QUEUED waiting.
MAX_QUEUED = 5
FAULTS = st.sampled_from(
    [
        None,
        None,
        None,
        *(f"GeckoAuth {fault.value}" for fault in AUTH_FAULTS),
        *(f"GeckoForm {fault.value}" for fault in API_FAULTS),
        "PutSecretValue fails",
    ]
)
TIME_STEPS = (60, 3600, 6 * 3600, DAY + 1, 10 * DAY, 31 * DAY)

# What the whole run exercised, printed in the terminal summary (see conftest.py).
TALLY: Counter[str] = Counter()


class FaultModel(RuleBasedStateMachine):
    """One secret, one GeckoAuth, one Secrets Manager, and whatever can go wrong between them."""

    capture: pytest.CaptureFixture[str] | None = None  # set by the test: print()ed output
    caplog: pytest.LogCaptureFixture | None = None

    def __init__(self) -> None:
        super().__init__()
        self.now = float(int(time.time()))
        self.emulator = GeckoEmulator(clock=self.clock)
        self._aws = mock_aws()
        self._aws.start()
        self._strict = aws.aws_strict_put()
        self._strict.__enter__()
        self._http = responses.RequestsMock(assert_all_requests_are_fired=False)
        self._http.start()
        install(self._http, self.emulator)
        self.sm = CountingClient(boto3.client("secretsmanager", region_name=aws.REGION))
        self._patch = pytest.MonkeyPatch()
        self._patch.setattr(app, "dependencies", self._dependencies)
        self._patch.setattr(rotation, "Rotation", partial(rotation.Rotation, clock=self.clock))
        self.log = io.StringIO()
        self._log_stream = logger.registered_handler.setStream(self.log)  # type: ignore[attr-defined]
        self.new_environment_state()
        rotation.forget()
        self.secret = ""
        self.version: str | None = None  # the rotation in progress (AWSPENDING), if any
        self.next_step = 0
        self.delivered: dict[str, int] = {}  # version -> how many of its steps were delivered
        self.finished: list[str] = []  # versions whose rotation completed, oldest first
        self.lost: set[str] = set()  # refresh tokens issued in an answer GeckoAuth lost
        self.forgotten: set[str] = set()  # kept in memory, then lost with the environment
        self.seen: list[str] = []  # refresh tokens in the order the secret first held them
        self.last_error: BaseException | None = None

    # -- the world -------------------------------------------------------------------------
    def clock(self) -> float:
        return self.now

    def new_environment_state(self) -> None:
        self.gecko = GeckoClient(Settings(), sleep=lambda _: None)

    def _dependencies(self) -> tuple[SecretStore, GeckoClient]:
        return SecretStore(self.sm), self.gecko  # type: ignore[arg-type]

    def teardown(self) -> None:
        rotation.forget()
        logger.registered_handler.setStream(self._log_stream)  # type: ignore[attr-defined]
        self._patch.undo()
        self._http.stop()
        self._http.reset()
        self._strict.__exit__(None, None, None)
        self._aws.stop()

    def versions(self) -> dict[str, dict[str, Any]]:
        return dict(aws.fake_secret(self.secret).versions)

    def stored_at(self, *labels: str) -> list[TokenSet]:
        """The token sets of the versions carrying any of `labels` (read from the backend)."""
        return [
            TokenSet.from_json(v["secret_string"])
            for v in self.versions().values()
            if "secret_string" in v and set(labels) & set(v["version_stages"])
        ]

    def kept(self) -> set[str]:
        """Refresh tokens the execution environment keeps in memory after a failed store."""
        return {k.tokens.refresh.value for k in rotation.kept_results._kept.values()}

    def pending_access_expired(self, version: str) -> bool:
        value = self.versions().get(version, {}).get("secret_string")
        return value is not None and TokenSet.from_json(value).access.expired(self.now)

    def accepted(self) -> set[str]:
        """Refresh tokens GeckoAuth would still accept: live and not expired."""
        return {
            t
            for t in self.emulator.live_refresh
            if jwt.decode(t, options={"verify_signature": False})["exp"] >= self.now
        }

    def inject(self, fault: str | None, times: int) -> None:
        """Arm a fault (see FAULTS): it waits for the next request it applies to."""
        if fault is None:
            return
        where, _, what = fault.partition(" ")
        if where == "PutSecretValue":
            if self.sm.fail.get("put_secret_value", 0) == 0:
                TALLY["faults injected"] += 1
                TALLY[f"fault injected: {fault}"] += 1
                self.sm.fail["put_secret_value"] = min(times, 2)
            return
        kind = Fault(what)
        queue = self.emulator.refresh_faults if where == "GeckoAuth" else self.emulator.api_faults
        if len(queue) < MAX_QUEUED:
            TALLY["faults injected"] += 1
            TALLY[f"fault injected: {fault}"] += 1
            queue.extend([kind] * (1 if kind is Fault.LOST else times))

    def invoke(self, step: str, version: str, fault: str | None = None, times: int = 1) -> None:
        """One Lambda invocation, as Secrets Manager makes it, after arming `fault`.

        A failure is recorded (it must be one of the project's loud, safe errors), not raised.
        """
        self.inject(fault, times)
        TALLY["invocations"] += 1
        superseded = {fingerprint(t) for t in self.seen[:-1]}
        log_from, lost_before = len(self.emulator.refresh_log), self.emulator.lost_answers
        api_from = len(self.emulator.api_log)
        put_failures = self.sm.fail.get("put_secret_value", 0)
        self.last_error = None
        try:
            app.lambda_handler(aws.event(step, self.secret, version), LambdaContext())
        except GeckoTokensError as exc:
            self.last_error = exc
            TALLY[f"failed loudly: {type(exc).__name__}"] += 1
            if isinstance(exc, AccessTokenRejected) and self.pending_access_expired(version):
                TALLY["testSecret refused: pending access token expired (stuck rotation)"] += 1
        else:
            TALLY[f"succeeded: {step}"] += 1
        TALLY["PutSecretValue failed"] += put_failures - self.sm.fail.get("put_secret_value", 0)
        # Invariant 3: never a refresh with a refresh token the secret had already replaced.
        for fp, outcome in self.emulator.refresh_log[log_from:]:
            TALLY[f"GeckoAuth answered: {outcome}"] += 1
            assert fp not in superseded, f"{step} refreshed with a superseded token ({fp})"
        for _, outcome in self.emulator.api_log[api_from:]:
            TALLY[f"GeckoForm answered: {outcome}"] += 1
        if self.emulator.lost_answers > lost_before:
            assert isinstance(self.last_error, RefreshOutcomeUnknown), (
                "GeckoAuth lost its answer after spending the token, yet the step did not fail "
                "with RefreshOutcomeUnknown"
            )
            self.lost.add(self.emulator.issued[-1]["RefreshToken"])
        if isinstance(self.last_error, RefreshResultNotStored):
            assert self.kept(), "the step said it kept the new tokens in memory, but did not"

    # -- actions ---------------------------------------------------------------------------
    @initialize()
    def seed(self) -> None:
        tokens = self.emulator.issue("eu")
        name = f"fault-model/{uuid.uuid4()}"
        self.secret = self.sm.client.create_secret(Name=name, SecretString=json.dumps(tokens))[
            "ARN"
        ]
        aws.enable_rotation(self.secret)
        self.seen.append(tokens["RefreshToken"])

    @rule(fault=FAULTS, times=st.integers(1, 5))
    def run_next_step(self, fault: str | None, times: int) -> None:
        """Secrets Manager invokes the next step of the rotation (starting one if none is on)."""
        TALLY["action: next step"] += 1
        if self.version is None:
            self.version, self.next_step = aws.begin_rotation(self.secret), 0
            TALLY["rotations started"] += 1
        self.delivered[self.version] = max(self.delivered.get(self.version, 0), self.next_step + 1)
        self.invoke(aws.STEPS[self.next_step], self.version, fault, times)
        if self.last_error is not None:
            return
        self.next_step += 1
        if self.next_step == len(aws.STEPS):
            aws.end_rotation(self.secret)
            self.finished.append(self.version)
            self.version = None
            TALLY["rotations completed"] += 1

    @rule(steps=st.integers(1, 4))
    def run_steps_smoothly(self, steps: int) -> None:
        """A stretch without faults: the next few steps."""
        for _ in range(steps):
            self.run_next_step(None, 1)
            if self.last_error is not None:
                return

    @precondition(lambda self: self.version is not None)
    @rule()
    def retry_rotation(self) -> None:
        """Secrets Manager retries a failed rotation: createSecret again, same version."""
        TALLY["action: retry rotation from createSecret"] += 1
        self.next_step = 0

    @precondition(lambda self: self.version is not None or self.finished)
    @rule(
        step=st.integers(0, 3),
        which=st.integers(0, 3),
        fault=FAULTS,
        times=st.integers(1, 5),
    )
    def replay_step(self, step: int, which: int, fault: str | None, times: int) -> None:
        """A step delivered again, for the rotation in progress or a finished one. Only a step
        Secrets Manager already delivered for that version can be delivered again."""
        TALLY["action: replay a step"] += 1
        candidates = [*([self.version] if self.version else []), *reversed(self.finished)]
        version = candidates[which % len(candidates)]
        self.invoke(aws.STEPS[step % self.delivered[version]], version, fault, times)

    @rule(seconds=st.sampled_from(TIME_STEPS))
    def time_passes(self, seconds: int) -> None:
        TALLY["action: time passes"] += 1
        self.now += seconds

    @rule()
    def new_execution_environment(self) -> None:
        """Lambda starts a fresh environment: whatever was kept in memory is gone."""
        TALLY["action: new execution environment"] += 1
        stored = {s.refresh.value for s in self.stored_at(CURRENT, PENDING)}
        for kept in list(rotation.kept_results._kept.values()):
            if kept.tokens.refresh.value not in stored:
                self.forgotten.add(kept.tokens.refresh.value)
                TALLY["kept result lost with its environment"] += 1
        rotation.forget()
        self.new_environment_state()

    def chain_broken(self) -> bool:
        """No refresh token in the secret, or kept in memory to be stored, works any more."""
        held = {s.refresh.value for s in self.stored_at(CURRENT, PENDING)} | self.kept()
        return not held & self.accepted()

    @precondition(lambda self: self.chain_broken())
    @rule()
    def operator_reseeds(self) -> None:
        """Once no refresh token works, the operator copies a fresh set from Active Sessions:
        the rotation in progress is cancelled and the new set becomes AWSCURRENT."""
        TALLY["action: operator reseeds a broken chain"] += 1
        client, labels = self.sm.client, aws.stages(self.secret)
        for vid, stages in labels.items():
            if PENDING in stages and CURRENT not in stages:
                client.update_secret_version_stage(
                    SecretId=self.secret, VersionStage=PENDING, RemoveFromVersionId=vid
                )
        # PutSecretValue's default (AWSCURRENT) leaves moto with two AWSCURRENT versions after
        # a rotation moved the label, so label the new version, then move AWSCURRENT as AWS does.
        new = client.put_secret_value(
            SecretId=self.secret,
            SecretString=json.dumps(self.emulator.issue("eu")),
            VersionStages=["OPERATOR"],
        )["VersionId"]
        old = next(vid for vid, stages in labels.items() if CURRENT in stages)
        client.update_secret_version_stage(
            SecretId=self.secret, VersionStage=CURRENT, MoveToVersionId=new, RemoveFromVersionId=old
        )
        self.version = None

    # -- invariants ------------------------------------------------------------------------
    @invariant()
    def refresh_token_never_lost_silently(self) -> None:
        if not self.secret:
            return
        stored = {s.refresh.value for s in self.stored_at(CURRENT, PENDING)}
        for s in self.stored_at(CURRENT, PENDING, "AWSPREVIOUS"):
            if s.refresh.value not in self.seen:
                self.seen.append(s.refresh.value)
        unaccounted = self.accepted() - stored - self.kept() - self.lost - self.forgotten
        assert not unaccounted, (
            f"GeckoAuth accepts refresh token(s) {sorted(map(fingerprint, unaccounted))} "
            "that the secret does not hold and no step failed loudly about"
        )

    @invariant()
    def current_is_a_complete_token_set(self) -> None:
        if not self.secret:
            return
        labelled = [v for v in self.versions().values() if CURRENT in v["version_stages"]]
        assert len(labelled) == 1, "AWSCURRENT is on no version, or on more than one"
        assert "secret_string" in labelled[0], "AWSCURRENT is on a version holding no value"
        current = TokenSet.from_json(labelled[0]["secret_string"], source="AWSCURRENT value")
        current.require_same_subject()
        assert current.region == "eu"

    @invariant()
    def no_token_printed(self) -> None:
        printed = self.log.getvalue()
        self.log.seek(0)
        self.log.truncate()
        if self.capture is not None:
            out, err = self.capture.readouterr()
            printed += out + err
        if self.caplog is not None:
            printed += self.caplog.text
            self.caplog.clear()
        for tokens in self.emulator.issued:
            for name, value in tokens.items():
                assert value not in printed, f"a {name} was printed or logged"


FaultModel.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=35,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_fault_model(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    FaultModel.capture, FaultModel.caplog = capsys, caplog
    try:
        run_state_machine_as_test(FaultModel, settings=FaultModel.TestCase.settings)
    finally:
        FaultModel.capture = FaultModel.caplog = None
    # The run must have exercised what it claims to: rotations and every kind of fault.
    exercised = [
        "rotations completed",
        "PutSecretValue failed",
        *(f"GeckoAuth answered: {fault.value}" for fault in AUTH_FAULTS),
        *(f"GeckoForm answered: {fault.value}" for fault in API_FAULTS),
    ]
    assert [name for name in exercised if TALLY[name] == 0] == []
