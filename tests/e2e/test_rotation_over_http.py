"""The built function, in a boto3-only interpreter, rotating over real HTTP on loopback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from geckoform_tokens.tokens import TokenSet
from tests.emulator import Fault
from tests.emulator.server import closed_port
from tests.support import secrets_manager as aws
from tests.support.local_stack import ROOT, FunctionProcess, LocalStack, Outcome

pytestmark = pytest.mark.e2e

# What the Lambda runtime's Python has besides the standard library: boto3 and its own needs.
RUNTIME_DISTRIBUTIONS = {"boto3", "botocore", "jmespath", "s3transfer", "python-dateutil", "six",
                         "urllib3", "pip", "setuptools"}  # fmt: skip


@pytest.fixture
def fn(stack: LocalStack) -> Iterator[FunctionProcess]:
    """A fresh execution environment (cold start) for each test."""
    process = stack.spawn()
    yield process
    process.close()


def seeded(stack: LocalStack) -> tuple[str, dict[str, str]]:
    tokens = stack.emulator.issue("eu")
    return stack.seed(f"e2e/{uuid.uuid4()}", tokens), tokens


def current(stack: LocalStack, arn: str) -> TokenSet:
    value = stack.client().get_secret_value(SecretId=arn, VersionStage="AWSCURRENT")
    return TokenSet.from_json(value["SecretString"])


def step(fn: FunctionProcess, name: str, arn: str, version: str) -> Outcome:
    return fn.invoke(aws.event(name, arn, version))


def test_runtime_holds_only_boto3(stack: LocalStack) -> None:
    assert stack.python is not None
    listed = subprocess.run(
        [str(stack.python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    installed = {entry["name"].lower() for entry in json.loads(listed)}
    assert "boto3" in installed
    assert installed <= RUNTIME_DISTRIBUTIONS


def test_built_function_rotates_against_moto(stack: LocalStack, fn: FunctionProcess) -> None:
    """Issue 3's check: the build output alone (plus boto3) imports and rotates a secret."""
    arn, tokens = seeded(stack)
    version = aws.begin_rotation(arn)
    calls: dict[str, list[str]] = {}
    for name in aws.STEPS:
        start = stack.sm_log.count()
        outcome = step(fn, name, arn, version)
        assert outcome.ok, outcome
        calls[name] = stack.sm_log.since(start, arn)
    aws.end_rotation(arn)

    new = current(stack, arn)
    assert aws.stages(arn)[version] == ["AWSCURRENT"]
    assert new.refresh.value in stack.emulator.live_refresh
    assert tokens["RefreshToken"] in stack.emulator.spent_refresh
    new.require_same_subject()  # raises unless the three tokens belong together
    assert calls["setSecret"] == []
    assert calls["finishSecret"] == ["DescribeSecret", "UpdateSecretVersionStage"]
    assert calls["createSecret"].count("PutSecretValue") == 1


def test_a_missing_dependency_fails_the_import(stack: LocalStack, tmp_path: Path) -> None:
    """The check above can fail: the same build without PyJWT does not import."""
    assert stack.build is not None
    broken = tmp_path / "build"
    shutil.copytree(stack.build.path, broken, ignore=shutil.ignore_patterns("jwt", "__pycache__"))
    assert stack.python is not None
    with pytest.raises(RuntimeError, match=r"ModuleNotFoundError.*requirements\.txt"):
        FunctionProcess(stack.python, broken, stack.function_environment(), stack.log_file)


def test_put_failure_is_recovered_from_memory(stack: LocalStack, fn: FunctionProcess) -> None:
    """GeckoAuth 503 once, then PutSecretValue fails: the retry stores the kept tokens."""
    arn, tokens = seeded(stack)
    version = aws.begin_rotation(arn)
    stack.emulator.refresh_faults.append(Fault.UNAVAILABLE)
    stack.sm_log.fail_once("PutSecretValue")
    refreshes = len(stack.emulator.refresh_log)

    failed = step(fn, "createSecret", arn, version)
    assert (failed.ok, failed.error) == (False, "RefreshResultNotStored")
    assert [s for _, s in stack.emulator.refresh_log[refreshes:]] == ["503", 200]
    assert current(stack, arn).refresh.value == tokens["RefreshToken"]  # nothing changed yet

    aws.rotate(lambda event: _ok(fn.invoke(event)), arn, version)

    assert len(stack.emulator.refresh_log) == refreshes + 2  # the retry did not refresh again
    assert current(stack, arn).refresh.value in stack.emulator.live_refresh


def test_a_new_execution_environment_cannot_recover_kept_tokens(stack: LocalStack) -> None:
    """The limit of keeping tokens in memory: a cold start has lost them, and says so."""
    arn, _ = seeded(stack)
    version = aws.begin_rotation(arn)
    stack.sm_log.fail_once("PutSecretValue")
    first = stack.spawn()
    assert step(first, "createSecret", arn, version).error == "RefreshResultNotStored"
    first.close()

    retried = step(stack.spawn(), "createSecret", arn, version)
    assert (retried.ok, retried.error) == (False, "RefreshTokenRejected")
    assert "Active Sessions" in retried.message


def test_answer_lost_after_spending_fails_loudly(stack: LocalStack, fn: FunctionProcess) -> None:
    """The server hangs up after GeckoAuth spent the token: never replayed, never silent."""
    arn, tokens = seeded(stack)
    version = aws.begin_rotation(arn)
    stack.emulator.refresh_faults.append(Fault.LOST)
    refreshes = len(stack.emulator.refresh_log)

    outcome = step(fn, "createSecret", arn, version)

    assert (outcome.ok, outcome.error) == (False, "RefreshOutcomeUnknown")
    assert "Active Sessions" in outcome.message
    assert len(stack.emulator.refresh_log) == refreshes + 1
    assert tokens["RefreshToken"] in stack.emulator.spent_refresh
    assert current(stack, arn).refresh.value == tokens["RefreshToken"]


def test_reset_connection_is_not_replayed_and_spends_nothing(
    stack: LocalStack, fn: FunctionProcess
) -> None:
    """A reset (the emulator's 'connection never made' over a socket) looks, to the client,
    like a lost answer: no replay in that invocation; the next attempt completes."""
    arn, tokens = seeded(stack)
    version = aws.begin_rotation(arn)
    stack.emulator.refresh_faults.append(Fault.CONNECT)

    assert step(fn, "createSecret", arn, version).error == "RefreshOutcomeUnknown"
    assert tokens["RefreshToken"] in stack.emulator.live_refresh

    aws.rotate(lambda event: _ok(fn.invoke(event)), arn, version)
    assert tokens["RefreshToken"] in stack.emulator.spent_refresh


def test_refused_connection_is_retried_then_reported(stack: LocalStack) -> None:
    """GeckoAuth at a closed port: every attempt refused, the token never sent."""
    arn, tokens = seeded(stack)
    version = aws.begin_rotation(arn)
    refused = stack.spawn(
        GECKO_AUTH_URL=f"http://127.0.0.1:{closed_port()}", GECKO_REFRESH_ATTEMPTS="2"
    )
    refreshes = len(stack.emulator.refresh_log)

    outcome = step(refused, "createSecret", arn, version)
    refused.close()

    assert (outcome.ok, outcome.error) == (False, "RefreshUnavailable")
    assert "after 2 attempt(s)" in outcome.message
    assert len(stack.emulator.refresh_log) == refreshes
    assert tokens["RefreshToken"] in stack.emulator.live_refresh


def test_nothing_the_function_printed_contains_a_token(
    stack: LocalStack, fn: FunctionProcess
) -> None:
    """Every log line and metric the function wrote in this session, this test's rotation and
    failures included (and those of the tests before it)."""
    arn, _ = seeded(stack)
    version = aws.begin_rotation(arn)
    stack.sm_log.fail_once("PutSecretValue")
    assert step(fn, "createSecret", arn, version).error == "RefreshResultNotStored"
    aws.rotate(lambda event: _ok(fn.invoke(event)), arn, version)
    output = stack.function_output()
    assert "refresh result not stored" in output
    issued = [value for tokens in stack.emulator.issued for value in tokens.values()]
    assert issued
    assert not [value for value in issued if value in output]


def test_make_demo_runs_and_prints_no_token() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Rotation 2" in result.stdout
    assert "RefreshResultNotStored" in result.stdout
    assert "eyJ" not in result.stdout + result.stderr  # no JWT (base64 of '{"') anywhere


def _ok(outcome: Outcome) -> Outcome:
    assert outcome.ok, outcome
    return outcome
