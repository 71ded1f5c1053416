"""`make demo`: the whole rotation on this machine, no AWS account, no GeckoForm credentials.

Starts moto's Secrets Manager and the GeckoAuth/GeckoForm emulator on free loopback ports,
builds the function, seeds a secret, and rotates it twice by invoking the built handler in a
separate interpreter that holds only boto3, stepping through the rotation as Secrets Manager
does. The second rotation meets faults and recovers. Prints no token; exits 1 on any failure.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from geckoform_tokens.tokens import TokenSet
from tests.emulator import Fault, GeckoEmulator
from tests.support import secrets_manager as aws
from tests.support.local_stack import FunctionProcess, LocalStack

ATTEMPTS = 3  # how many times this "Secrets Manager" retries a failed rotation


class Report:
    """Everything printed goes through here, so it can be checked for tokens at the end."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, line: str = "") -> None:
        self.lines.append(line)
        print(line, flush=True)

    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class Step:
    name: str
    ok: bool
    ms: float
    sm_calls: list[str]
    auth: list[str]
    api: list[str]
    error: str = ""


def grouped(calls: list[str]) -> str:
    counts = Counter(calls)
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counts.items()) or "-"


def rotate(stack: LocalStack, fn: FunctionProcess, arn: str) -> tuple[str, list[Step]]:
    """Drive one rotation as Secrets Manager does: the four steps, and on a failure the whole
    rotation again from createSecret with the same version, up to ATTEMPTS times."""
    version, steps = aws.begin_rotation(arn), []
    gecko: GeckoEmulator = stack.emulator
    for _ in range(ATTEMPTS):
        for name in aws.STEPS:
            sm_from, auth_from, api_from = (
                stack.sm_log.count(),
                len(gecko.refresh_log),
                len(gecko.api_log),
            )
            outcome = fn.invoke(aws.event(name, arn, version))
            steps.append(
                Step(
                    name,
                    outcome.ok,
                    outcome.ms,
                    stack.sm_log.since(sm_from),
                    [str(status) for _, status in gecko.refresh_log[auth_from:]],
                    [str(status) for _, status in gecko.api_log[api_from:]],
                    f"{outcome.error}: {outcome.message}" if not outcome.ok else "",
                )
            )
            if not outcome.ok:
                break
        else:
            aws.end_rotation(arn)
            return version, steps
    raise RuntimeError(f"the rotation did not complete in {ATTEMPTS} attempts")


def show_steps(say: Report, steps: list[Step]) -> None:
    header = f"  {'step':<13} {'result':<7} {'time':>8}  {'GeckoAuth':<10} {'GeckoForm':<10}"
    say(header + " Secrets Manager")
    for step in steps:
        say(
            f"  {step.name:<13} {'ok' if step.ok else 'FAILED':<7} {step.ms:>6.0f}ms  "
            f"{' '.join(step.auth) or '-':<10} {' '.join(step.api) or '-':<10} "
            f"{grouped(step.sm_calls)}"
        )
        if step.error:
            say(f"  {'':<13} -> {step.error}")
    say(
        f"  {len(steps)} invocations, {sum(s.ms for s in steps):.0f} ms in the handler, "
        f"{sum(len(s.sm_calls) for s in steps)} Secrets Manager calls, "
        f"{sum(len(s.auth) for s in steps)} GeckoAuth and {sum(len(s.api) for s in steps)} "
        "GeckoForm requests"
    )


def show_versions(say: Report, stack: LocalStack, arn: str, now: float) -> None:
    say(f"  {'version':<9} {'stages':<12} {'access token (fingerprint, expiry)':<38} refresh token")
    secret = aws.fake_secret(arn)
    for vid, version in sorted(secret.versions.items(), key=lambda kv: kv[1]["createdate"]):
        stages = ",".join(version["version_stages"]) or "-"
        if "secret_string" not in version:
            say(f"  {vid[:8]:<9} {stages:<12} (no value yet)")
            continue
        tokens = TokenSet.from_json(version["secret_string"])
        facts = tokens.describe(now)
        state = "live" if tokens.refresh.value in stack.emulator.live_refresh else "spent"
        say(
            f"  {vid[:8]:<9} {stages:<12} {facts['access_fp']} {facts['access_expires_at']:<20}"
            f"    {facts['refresh_fp']} {facts['refresh_expires_at']} "
            f"({facts['refresh_days_left']} d, {state})"
        )


def check_rotated(stack: LocalStack, arn: str, version: str, before: TokenSet) -> list[str]:
    """What must hold after a rotation: the new set current, live; the old refresh spent."""
    problems = []
    labels = aws.stages(arn)
    if "AWSCURRENT" not in labels.get(version, []):
        problems.append("the new version is not AWSCURRENT")
    current = TokenSet.from_json(stack.client().get_secret_value(
        SecretId=arn, VersionStage="AWSCURRENT")["SecretString"])  # fmt: skip
    if current.refresh.value not in stack.emulator.live_refresh:
        problems.append("GeckoAuth does not accept the refresh token in AWSCURRENT")
    if before.refresh.value in stack.emulator.live_refresh:
        problems.append("the old refresh token was not spent")
    if stack.emulator.live_refresh != {current.refresh.value}:
        problems.append("GeckoAuth accepts a refresh token that AWSCURRENT does not hold")
    if any(version != vid and "AWSPENDING" in st for vid, st in labels.items()):
        problems.append("a stray AWSPENDING label is left")
    return problems


def timed(say: Report, what: str, action: Callable[[], object]) -> None:
    started = time.perf_counter()
    action()
    say(f"  {what} ({time.perf_counter() - started:.1f} s)")


def demo(say: Report, stack: LocalStack) -> list[str]:
    say("GeckoForm token rotation, locally: no AWS account, no GeckoForm credentials")
    say()
    say(f"  Secrets Manager   moto server        {stack.moto_url}")
    say(f"  GeckoAuth         emulator           {stack.gecko.auth_url}/tokens/refresh")
    say(f"  GeckoForm API     emulator           {stack.gecko.api_url_template}/forms")
    say("  building the function and a Python that holds only boto3 (cached in .demo/) ...")
    timed(say, "built", stack.prepare_function)
    assert stack.build is not None
    assert stack.python is not None
    cached = " (cached)" if stack.build.cached else ""
    say(f"  function          {stack.build.method}{cached}")
    say(f"                    {stack.build.path.relative_to(stack.work.parent)}")
    say(f"  runtime           {stack.python.parent.parent.relative_to(stack.work.parent)}")
    fn: FunctionProcess | None = None

    def cold_start() -> None:
        nonlocal fn
        fn = stack.spawn()

    timed(say, "cold start: the built handler imported in that separate Python", cold_start)
    assert fn is not None
    say()

    name = f"geckoform/demo-{uuid.uuid4().hex[:6]}"
    tokens = stack.emulator.issue("eu")
    arn = stack.seed(name, tokens)
    say(f"Seeded {name} with a token set from the emulator's Active Sessions page:")
    show_versions(say, stack, arn, time.time())
    problems: list[str] = []

    say()
    say("Rotation 1: nothing goes wrong")
    before = TokenSet.from_mapping(tokens)
    version, steps = rotate(stack, fn, arn)
    show_steps(say, steps)
    show_versions(say, stack, arn, time.time())
    problems += check_rotated(stack, arn, version, before)

    say()
    say("Rotation 2: GeckoAuth answers 503 once, then Secrets Manager fails to store the answer")
    stack.emulator.refresh_faults.append(Fault.UNAVAILABLE)
    stack.sm_log.fail_once("PutSecretValue")
    before = TokenSet.from_json(aws.fake_secret(arn).versions[version]["secret_string"])
    version, steps = rotate(stack, fn, arn)
    show_steps(say, steps)
    show_versions(say, stack, arn, time.time())
    problems += check_rotated(stack, arn, version, before)
    issued = sum(step.auth.count("200") for step in steps)
    say(
        "  The 503 was retried within the invocation (the token was not spent). The new tokens "
        "that could not be stored stayed in the warm handler's memory, and the retried "
        f"createSecret stored them: GeckoAuth issued {issued} token set(s) in this rotation."
    )
    if issued != 1:
        problems.append("the retried createSecret refreshed again instead of storing kept tokens")
    return problems


def main() -> int:
    say = Report()
    with LocalStack() as stack:
        try:
            problems = demo(say, stack)
        except Exception as exc:
            problems = [f"{type(exc).__name__}: {exc}"]
        printed = say.text() + stack.function_output()
        issued = [value for tokens in stack.emulator.issued for value in tokens.values()]
        if any(value in printed for value in issued):
            problems.append("a token appeared in the output or in the function's logs")
    say()
    if problems:
        for problem in problems:
            say(f"FAILED: {problem}")
        return 1
    say(
        "OK: both rotations completed; the only live refresh token is in AWSCURRENT; no token "
        "was printed or logged."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
