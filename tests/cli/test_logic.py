"""In-process tests of what the CLI decides: redaction, rotation following, recovery plans."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass

import pytest

from geckoform_tokens.exceptions import RotationStateError, SecretNotFound
from geckoform_tokens.health import (
    NO_VALUE,
    SecretState,
    Verdict,
    VersionState,
    follow_rotation,
    plan_recovery,
)
from geckoform_tokens.output import REDACTED, Output
from geckoform_tokens.store import SecretDescription
from geckoform_tokens.tokens import TokenSet
from tests.cli.conftest import issued

# -- Output ------------------------------------------------------------------------------------


def test_output_redacts_registered_tokens_and_their_segments() -> None:
    out, err = io.StringIO(), io.StringIO()
    output = Output(out, err)
    token = issued()["RefreshToken"]
    header, claims, signature = token.split(".")
    output.protect(token)

    output.say(f"whole {token} | claims {claims} | sig {signature}")
    output.note(f"header {header}")

    for part in (token, claims, signature, header):
        assert part not in out.getvalue() + err.getvalue()
    assert out.getvalue().count(REDACTED) == 3
    assert REDACTED in err.getvalue()


@pytest.mark.parametrize(
    "text",
    [
        "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",  # unsigned JWT, never registered
        "a" * 20 + "." + "b" * 20 + "." + "c" * 20,  # three long base64url segments
    ],
)
def test_output_redacts_jwt_shapes(text: str) -> None:
    out = io.StringIO()
    Output(out, io.StringIO()).say(f"secret id {text} not found")
    assert out.getvalue() == f"secret id {REDACTED} not found\n"


@pytest.mark.parametrize(
    "text",
    [
        "https://api-eu.geckoform.com",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:geckoform/api-tokens-AbCdEf",
        "expires 2026-12-04T16:00:00Z (in 3.2d), fingerprint 0123456789ab",
        "geckoform-tokens 0.1.0",
    ],
)
def test_output_leaves_ordinary_text_alone(text: str) -> None:
    out = io.StringIO()
    Output(out, io.StringIO()).say(text)
    assert out.getvalue() == text + "\n"


# -- follow_rotation ---------------------------------------------------------------------------


@dataclass
class FakeStore:
    """Plays back a sequence of version-stage snapshots, one per DescribeSecret."""

    snapshots: list[dict[str, tuple[str, ...]]]
    stored_at: int | None = None  # the pending version holds a value from this describe on
    describes: int = 0

    def describe(self, secret_id: str) -> SecretDescription:
        versions = self.snapshots[min(self.describes, len(self.snapshots) - 1)]
        self.describes += 1
        return SecretDescription("arn:x", secret_id, True, versions)

    def read(self, secret_id: str, stage: str | None, version_id: str | None = None) -> str:
        if self.stored_at is not None and self.describes >= self.stored_at:
            return "{}"
        raise SecretNotFound("no value")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_follow_reports_each_step_once_until_promoted() -> None:
    store = FakeStore(
        [
            {"old": ("AWSCURRENT",), "new": ("AWSPENDING",)},
            {"old": ("AWSCURRENT",), "new": ("AWSPENDING",)},
            {"old": ("AWSCURRENT",), "new": ("AWSPENDING",)},
            {"old": ("AWSCURRENT",), "new": ("AWSPENDING",)},
            {"old": ("AWSPREVIOUS",), "new": ("AWSCURRENT",)},
        ],
        stored_at=3,
    )
    clock, lines = Clock(), list[str]()

    outcome = follow_rotation(
        store,  # type: ignore[arg-type]
        "s",
        "new",
        timeout=60,
        interval=1,
        report=lines.append,
        clock=clock,
        sleep=clock.sleep,
    )

    assert outcome.finished
    assert lines == [
        "Version new is AWSPENDING: waiting for createSecret.",
        "Version new holds new tokens: createSecret has run.",
        "Version new is AWSCURRENT: the rotation has finished.",
    ]
    assert clock.now == 4


def test_follow_gives_up_at_the_timeout() -> None:
    store = FakeStore([{"old": ("AWSCURRENT",), "new": ("AWSPENDING",)}])
    clock, lines = Clock(), list[str]()

    outcome = follow_rotation(
        store,  # type: ignore[arg-type]
        "s",
        None,
        timeout=5,
        interval=2,
        report=lines.append,
        clock=clock,
        sleep=clock.sleep,
    )

    assert not outcome.finished
    assert outcome.version_id == "new"
    assert clock.now == 6  # polls at 0, 2, 4, 6
    assert lines == ["Version new is AWSPENDING: waiting for createSecret."]


def test_follow_notices_a_rotation_that_was_ended() -> None:
    store = FakeStore(
        [{"old": ("AWSCURRENT",), "new": ("AWSPENDING",)}, {"old": ("AWSCURRENT",), "new": ()}]
    )
    clock, lines = Clock(), list[str]()

    outcome = follow_rotation(
        store,  # type: ignore[arg-type]
        "s",
        "new",
        timeout=60,
        interval=1,
        report=lines.append,
        clock=clock,
        sleep=clock.sleep,
    )

    assert not outcome.finished
    assert "lost its AWSPENDING label" in lines[-1]


# -- recovery plans ----------------------------------------------------------------------------


def version(vid: str, stages: tuple[str, ...], days_ago: float | None) -> VersionState:
    if days_ago is None:
        return VersionState(vid, stages, None, None, NO_VALUE)
    return VersionState(vid, stages, None, TokenSet.from_mapping(issued(days_ago=days_ago)))


def state(*versions: VersionState) -> SecretState:
    description = SecretDescription("arn:x", "s", True, {v.version_id: v.stages for v in versions})
    return SecretState(description, versions, time.time())


def test_plan_promotes_the_freshest_even_when_unlabelled() -> None:
    # GIVEN `seed --force` took AWSPENDING off the version holding the freshest tokens
    s = state(
        version("cur", ("AWSCURRENT",), 40),  # refresh expired
        version("prev", ("AWSPREVIOUS",), 35),
        version("orphan", (), 1),
    )
    plan = plan_recovery(s)
    assert plan.promote is not None
    assert plan.promote.version_id == "orphan"
    assert plan.clear_pending is None


def test_plan_never_promotes_older_tokens_over_current() -> None:
    s = state(version("cur", ("AWSCURRENT",), 1), version("pend", ("AWSPENDING",), 3))
    plan = plan_recovery(s)
    assert plan.promote is None
    assert plan.clear_pending is not None
    assert plan.clear_pending.version_id == "pend"
    assert s.health().verdict is Verdict.STUCK


def test_plan_without_any_live_refresh_token_refuses() -> None:
    s = state(version("cur", ("AWSCURRENT",), 31), version("pend", ("AWSPENDING",), None))
    with pytest.raises(RotationStateError, match="nothing to recover"):
        plan_recovery(s)


def test_output_redacts_an_unregistered_token_sharing_a_registered_header() -> None:
    # GIVEN one token registered; every HS256 token shares its header segment
    registered, other = issued()["AccessToken"], issued(region="us-e")["AccessToken"]
    out = io.StringIO()
    output = Output(out, io.StringIO())
    output.protect(registered)

    output.say(f"secret {other} not found")

    assert out.getvalue() == f"secret {REDACTED} not found\n"
