"""The rotation function driven as Secrets Manager drives it: moto, the emulator, no network."""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Any

import pytest

import rotation
from geckoform_tokens import exceptions as errors
from geckoform_tokens.tokens import TokenSet
from tests.emulator import Fault
from tests.functional.conftest import SECRET_NAME, Harness
from tests.support import secrets_manager as aws
from tests.support.leaks import leaked

ROTATION_TOKEN = "9f8e7d6c-5b4a-4392-8180-7f6e5d4c3b2a"


def refreshes(harness: Harness) -> int:
    return len(harness.emulator.refresh_log)


def run_steps(harness: Harness, secret_id: str, token: str, *steps: str) -> None:
    for step in steps:
        harness.invoke(aws.event(step, secret_id, token))


# -- happy paths ------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["eu", "us-e"])
def test_full_rotation_stores_three_new_tokens_and_promotes_them(
    harness: Harness, region: str
) -> None:
    # GIVEN a secret seeded with tokens from Active Sessions
    seeded = harness.emulator.issue(region)
    arn = harness.seed(seeded)
    old_version = aws.fake_secret(arn).default_version_id

    # WHEN Secrets Manager rotates it
    token = harness.rotate(arn)

    # THEN the new version is AWSCURRENT, holds the tokens GeckoAuth issued, and the old is PREVIOUS
    current = harness.current(arn)
    assert {
        k: current[k] for k in ("AccessToken", "IdToken", "RefreshToken")
    } == harness.emulator.issued[-1]
    assert current["Region"] == region
    assert aws.stages(arn)[token] == ["AWSCURRENT"]
    assert aws.stages(arn)[old_version] == ["AWSPREVIOUS"]
    # exactly one refresh, one GeckoForm call, at the token's region, and the spent token is dead
    assert harness.emulator.refresh_log == [(harness.emulator.refresh_log[0][0], 200)]
    assert harness.emulator.api_log == [(region, 200)]
    assert seeded["RefreshToken"] not in harness.emulator.live_refresh
    assert current["RefreshToken"] in harness.emulator.live_refresh


def test_full_rotation_makes_at_most_eight_secrets_manager_calls(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    harness.sm.calls.clear()
    harness.rotate(arn)
    assert len(harness.sm.calls) <= 8, harness.sm.calls
    assert harness.sm.calls.count("put_secret_value") == 1


def test_secret_id_by_name(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    harness.rotate(SECRET_NAME)
    assert harness.current(arn)["RefreshToken"] == harness.emulator.issued[-1]["RefreshToken"]


def test_rotation_token_is_passed_to_put_secret_value(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    harness.invoke(
        aws.event("createSecret", arn, token, RotationToken=ROTATION_TOKEN, Extra="ignored")
    )
    put = harness.sm.params[harness.sm.calls.index("put_secret_value")]
    assert put["RotationToken"] == ROTATION_TOKEN
    assert put["ClientRequestToken"] == token
    assert put["VersionStages"] == ["AWSPENDING"]


def test_two_rotations_in_a_row_chain_the_refresh_tokens(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    harness.rotate(arn)
    first = harness.current(arn)["RefreshToken"]
    harness.rotate(arn)
    second = harness.current(arn)["RefreshToken"]
    assert first != second
    assert harness.emulator.live_refresh == {second}
    assert [status for _, status in harness.emulator.refresh_log] == [200, 200]


def test_every_step_invoked_twice_refreshes_once(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    for step in aws.STEPS:
        run_steps(harness, arn, token, step, step)
    assert refreshes(harness) == 1
    assert "AWSCURRENT" in aws.stages(arn)[token]
    assert harness.current(arn)["RefreshToken"] in harness.emulator.live_refresh


def test_finish_secret_twice_is_a_no_op(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    token = harness.rotate(arn)
    before = aws.stages(arn)
    harness.sm.calls.clear()
    run_steps(harness, arn, token, "finishSecret")
    assert aws.stages(arn) == before
    assert "update_secret_version_stage" not in harness.sm.calls


def test_set_secret_touches_nothing(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    harness.sm.calls.clear()
    run_steps(harness, arn, token, "setSecret")
    assert harness.sm.calls == []
    assert refreshes(harness) == 0


# -- GeckoAuth faults -------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [Fault.UNAVAILABLE, Fault.THROTTLED, Fault.CONNECT])
def test_one_retry_safe_fault_is_retried_and_the_rotation_completes(
    harness: Harness, fault: Fault
) -> None:
    arn = harness.seed(harness.emulator.issue())
    harness.emulator.refresh_faults.append(fault)
    harness.rotate(arn)
    assert [status for _, status in harness.emulator.refresh_log] == [fault.value, 200]
    assert len(harness.sleeps) == 1
    if fault is Fault.THROTTLED:
        assert harness.sleeps == [1.0]  # the emulator's Retry-After
    assert harness.current(arn)["RefreshToken"] in harness.emulator.live_refresh


def test_persistent_throttling_gives_up_without_spending_the_token(harness: Harness) -> None:
    seeded = harness.emulator.issue()
    arn = harness.seed(seeded)
    harness.emulator.refresh_faults.extend([Fault.THROTTLED] * 10)
    token = aws.begin_rotation(arn)
    with pytest.raises(errors.RefreshUnavailable, match="not spent"):
        run_steps(harness, arn, token, "createSecret")
    assert refreshes(harness) == 4  # GECKO_REFRESH_ATTEMPTS
    assert seeded["RefreshToken"] in harness.emulator.live_refresh


def test_little_time_left_refuses_to_start_a_refresh(harness: Harness) -> None:
    seeded = harness.emulator.issue()
    arn = harness.seed(seeded)
    harness.context.remaining_ms = 5_000
    token = aws.begin_rotation(arn)
    with pytest.raises(errors.RefreshUnavailable, match="timeout"):
        run_steps(harness, arn, token, "createSecret")
    assert refreshes(harness) == 0


def test_revoked_refresh_token_fails_loudly_with_the_way_out(harness: Harness) -> None:
    seeded = harness.emulator.issue()
    arn = harness.seed(seeded)
    harness.emulator.revoke(seeded["RefreshToken"])
    token = aws.begin_rotation(arn)
    with pytest.raises(errors.RefreshTokenRejected, match="Active Sessions"):
        run_steps(harness, arn, token, "createSecret")
    assert refreshes(harness) == 1
    assert harness.current(arn)["RefreshToken"] == seeded["RefreshToken"]


@pytest.mark.parametrize("fault", [Fault.LOST, Fault.HTML, Fault.INCOMPLETE, Fault.SERVER_ERROR])
def test_answer_lost_or_unusable_after_spending_is_not_replayed(
    harness: Harness, fault: Fault
) -> None:
    # GIVEN GeckoAuth spends the refresh token but the function never gets usable tokens back
    seeded = harness.emulator.issue()
    arn = harness.seed(seeded)
    harness.emulator.refresh_faults.append(fault)
    token = aws.begin_rotation(arn)
    # WHEN createSecret runs THEN it fails loudly, says how to recover, and does not retry
    with pytest.raises(errors.RefreshOutcomeUnknown, match="Active Sessions"):
        run_steps(harness, arn, token, "createSecret")
    assert refreshes(harness) == 1
    assert harness.sleeps == []
    # AWSCURRENT is untouched and nothing half-made was stored as AWSPENDING
    assert harness.current(arn)["RefreshToken"] == seeded["RefreshToken"]
    with pytest.raises(harness.sm.client.exceptions.ResourceNotFoundException):
        harness.sm.client.get_secret_value(SecretId=arn, VersionId=token, VersionStage="AWSPENDING")
    # and Secrets Manager's retry meets a clear rejection, not a silent success
    with pytest.raises(errors.RefreshTokenRejected):
        run_steps(harness, arn, token, "createSecret")


# -- Secrets Manager faults -------------------------------------------------------------------


def test_store_failure_after_refresh_keeps_the_result_and_the_retry_stores_it(
    harness: Harness,
) -> None:
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    harness.sm.fail["put_secret_value"] = 1
    with pytest.raises(errors.RefreshResultNotStored, match="memory"):
        run_steps(harness, arn, token, "createSecret")
    assert len(rotation.kept_results) == 1

    run_steps(harness, arn, token, "createSecret")  # Secrets Manager's retry
    assert refreshes(harness) == 1
    assert len(rotation.kept_results) == 0
    run_steps(harness, arn, token, "setSecret", "testSecret", "finishSecret")
    assert harness.current(arn)["RefreshToken"] == harness.emulator.issued[-1]["RefreshToken"]
    assert harness.current(arn)["RefreshToken"] in harness.emulator.live_refresh


def test_kept_result_is_used_by_a_new_version_of_the_same_secret(harness: Harness) -> None:
    # GIVEN the store failed after a refresh, and the next attempt comes with another version id
    arn = harness.seed(harness.emulator.issue())
    first = aws.begin_rotation(arn)
    harness.sm.fail["put_secret_value"] = 1
    with pytest.raises(errors.RefreshResultNotStored):
        run_steps(harness, arn, first, "createSecret")
    aws.fake_secret(arn).versions.pop(first)
    second = aws.begin_rotation(arn)
    # WHEN it runs THEN the kept tokens are stored: AWSCURRENT's refresh token is already spent
    harness.rotate(arn, second)
    assert refreshes(harness) == 1
    assert harness.current(arn)["RefreshToken"] in harness.emulator.live_refresh


# -- GeckoForm rejecting the new token --------------------------------------------------------


def test_rejected_new_token_then_retried_rotation_finishes_without_a_second_refresh(
    harness: Harness,
) -> None:
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    harness.emulator.api_faults.append(Fault.REJECT)
    run_steps(harness, arn, token, "createSecret", "setSecret")
    with pytest.raises(errors.AccessTokenRejected):
        run_steps(harness, arn, token, "testSecret")
    assert aws.stages(arn)[token] == ["AWSPENDING"]  # not promoted

    # Secrets Manager retries the same rotation later
    assert aws.begin_rotation(arn) == token
    harness.rotate(arn, token)
    assert refreshes(harness) == 1
    assert aws.stages(arn)[token] == ["AWSCURRENT"]


def test_api_5xx_is_retried_briefly(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    harness.emulator.api_faults.extend([Fault.UNAVAILABLE, Fault.CONNECT])
    harness.rotate(arn)
    assert [status for _, status in harness.emulator.api_log] == ["503", "connect", 200]


def test_api_down_fails_test_secret(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    harness.emulator.api_faults.extend([Fault.UNAVAILABLE] * 3)
    run_steps(harness, arn, token, "createSecret")
    with pytest.raises(errors.ApiUnavailable):
        run_steps(harness, arn, token, "testSecret")


# -- hostile region claims --------------------------------------------------------------------

HOSTILE_REGIONS: list[Any] = [
    "",
    None,
    42,
    "eu.evil.com",
    "evil.com/",
    "eu/x",
    "x@evil.com",
    "eu#",
    "EU",
    "-eu",
    "eu-",
    "eu:443",
    "eu ",
    "a" * 64,
    "eu\n",
]


@pytest.mark.parametrize("region", HOSTILE_REGIONS)
def test_hostile_region_claim_is_refused_before_any_request(harness: Harness, region: Any) -> None:
    # GIVEN GeckoAuth (or a tampered store) hands back an access token with a hostile region
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    run_steps(harness, arn, token, "createSecret")
    pending = json.loads(
        harness.sm.client.get_secret_value(
            SecretId=arn, VersionId=token, VersionStage="AWSPENDING"
        )["SecretString"]
    )
    claims = {"sub": "api-user-1", "typ": "access", "exp": 4102444800, "region": region}
    if region is None:
        del claims["region"]
    pending["AccessToken"] = harness.emulator.mint(claims)
    aws.fake_secret(arn).versions[token]["secret_string"] = json.dumps(pending)
    # WHEN testSecret runs THEN the token is sent nowhere
    with pytest.raises(errors.InvalidRegion):
        run_steps(harness, arn, token, "testSecret")
    assert harness.emulator.api_log == []


# -- malformed AWSCURRENT ---------------------------------------------------------------------


def _broken_values(harness: Harness) -> dict[str, str]:
    good = harness.emulator.issue()
    expired_refresh = harness.emulator.mint(
        {"sub": "api-user-1", "typ": "refresh", "exp": 1_000_000}
    )
    return {
        "not JSON": "this is not json",
        "a JSON list": json.dumps([good]),
        "missing key": json.dumps({k: v for k, v in good.items() if k != "IdToken"}),
        "not a JWT": json.dumps({**good, "AccessToken": "not-a-jwt"}),
        "undecodable JWT": json.dumps({**good, "IdToken": "abc.def.ghi"}),
        "no exp": json.dumps({**good, "IdToken": harness.emulator.mint({"sub": "x"})}),
        "expired refresh token": json.dumps({**good, "RefreshToken": expired_refresh}),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not JSON",
        "a JSON list",
        "missing key",
        "not a JWT",
        "undecodable JWT",
        "no exp",
        "expired refresh token",
    ],
)
def test_malformed_current_fails_create_secret_without_a_refresh(
    harness: Harness, case: str
) -> None:
    arn = harness.seed(_broken_values(harness)[case])
    token = aws.begin_rotation(arn)
    with pytest.raises(errors.InvalidTokenSet, match="Active Sessions"):
        run_steps(harness, arn, token, "createSecret")
    assert refreshes(harness) == 0
    assert "put_secret_value" not in harness.sm.calls


# -- the stage guard --------------------------------------------------------------------------


def test_rotation_disabled_is_refused(harness: Harness) -> None:
    arn = str(
        harness.sm.client.create_secret(
            Name="not-rotated", SecretString=json.dumps(harness.emulator.issue())
        )["ARN"]
    )
    token = aws.begin_rotation(arn)
    with pytest.raises(errors.RotationStateError, match="not enabled"):
        run_steps(harness, arn, token, "createSecret")
    assert refreshes(harness) == 0


def test_unknown_version_is_refused(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    with pytest.raises(errors.RotationStateError, match="does not exist"):
        run_steps(harness, arn, "00000000-1111-2222-3333-444444444444", "createSecret")
    assert refreshes(harness) == 0


def test_version_not_pending_is_refused(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    harness.rotate(arn)
    old = next(v for v, s in aws.stages(arn).items() if "AWSPREVIOUS" in s)
    with pytest.raises(errors.RotationStateError, match="not AWSPENDING"):
        run_steps(harness, arn, old, "createSecret")


@pytest.mark.parametrize(
    "event",
    [
        {"Step": "deleteSecret", "SecretId": "s", "ClientRequestToken": "t"},
        {"SecretId": "s", "ClientRequestToken": "t"},
        {"Step": "createSecret", "ClientRequestToken": "t"},
        {"Step": "createSecret", "SecretId": "s"},
    ],
)
def test_unknown_step_or_bad_event_raises(
    harness: Harness, event: dict[str, Any], capfd: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(errors.RotationStateError):
        harness.invoke(event)
    assert harness.sm.calls == []
    emf = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    assert [record.get("RotationStepFailed") for record in emf] == [[1.0]]
    assert emf[0]["Step"] in ("createSecret", "invalid")


# -- testSecret alone (RotateImmediately=false) -----------------------------------------------


def test_test_secret_alone_on_an_empty_pending_version_tests_current_without_refreshing(
    harness: Harness,
) -> None:
    arn = harness.seed(harness.emulator.issue("us-e"))
    token = aws.begin_rotation(arn)
    run_steps(harness, arn, token, "testSecret")
    assert refreshes(harness) == 0
    assert harness.emulator.api_log == [("us-e", 200)]


@pytest.mark.parametrize("value", ['{"seeded": false}', "generated-password"])
def test_test_secret_alone_passes_while_the_secret_is_not_seeded(
    harness: Harness, value: str
) -> None:
    arn = harness.seed(value)
    token = aws.begin_rotation(arn)
    run_steps(harness, arn, token, "testSecret")
    assert refreshes(harness) == 0
    assert harness.emulator.api_log == []


def test_test_secret_alone_fails_when_current_access_token_is_rejected(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    harness.emulator.api_faults.append(Fault.REJECT)
    with pytest.raises(errors.AccessTokenRejected):
        run_steps(harness, arn, token, "testSecret")


def test_pending_value_that_is_not_a_token_set_fails_test_secret(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    aws.fake_secret(arn).versions[token]["secret_string"] = "{}"
    with pytest.raises(errors.InvalidTokenSet):
        run_steps(harness, arn, token, "testSecret")
    # and createSecret leaves an existing value alone rather than refreshing over it
    run_steps(harness, arn, token, "createSecret")
    assert refreshes(harness) == 0


def test_stored_pending_value_round_trips_through_the_token_model(harness: Harness) -> None:
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    run_steps(harness, arn, token, "createSecret")
    raw = harness.sm.client.get_secret_value(
        SecretId=arn, VersionId=token, VersionStage="AWSPENDING"
    )
    tokens = TokenSet.from_json(raw["SecretString"])
    assert tokens.refresh.value == harness.emulator.issued[-1]["RefreshToken"]


# -- finishSecret promotes only token sets ----------------------------------------------------


def test_finish_secret_refuses_an_empty_pending_version(harness: Harness) -> None:
    # GIVEN createSecret failed before storing anything, and a finishSecret arrives anyway
    seeded = harness.emulator.issue()
    arn = harness.seed(seeded)
    token = aws.begin_rotation(arn)
    # WHEN finishSecret runs THEN AWSCURRENT stays on the seeded tokens
    with pytest.raises(errors.RotationStateError, match="holds no tokens"):
        run_steps(harness, arn, token, "finishSecret")
    assert harness.current(arn)["RefreshToken"] == seeded["RefreshToken"]


def test_finish_secret_in_a_new_environment_reads_the_version_before_promoting(
    harness: Harness,
) -> None:
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    run_steps(harness, arn, token, "createSecret", "setSecret", "testSecret")
    rotation.forget()  # Lambda gives finishSecret a fresh execution environment
    harness.sm.calls.clear()
    run_steps(harness, arn, token, "finishSecret")
    assert harness.sm.calls == [
        "describe_secret",
        "get_secret_value",
        "update_secret_version_stage",
    ]
    assert "AWSCURRENT" in aws.stages(arn)[token]


def test_pending_tokens_whose_access_token_expired_untested_are_promoted(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a rotation stalled in testSecret (GeckoForm down) until the new access token expired
    arn = harness.seed(harness.emulator.issue())
    token = aws.begin_rotation(arn)
    run_steps(harness, arn, token, "createSecret", "setSecret")
    pending_refresh = harness.emulator.issued[-1]["RefreshToken"]
    later = time.time() + 86400 + 60
    monkeypatch.setattr(rotation, "Rotation", partial(rotation.Rotation, clock=lambda: later))
    harness.emulator.clock = lambda: later
    # WHEN Secrets Manager retries THEN the only live refresh token becomes AWSCURRENT, untested
    harness.rotate(arn, token)
    assert harness.current(arn)["RefreshToken"] == pending_refresh
    assert harness.emulator.api_log == []
    # and the next rotation refreshes with it
    harness.rotate(arn)
    assert harness.current(arn)["RefreshToken"] in harness.emulator.live_refresh


# -- nothing printed carries a token ----------------------------------------------------------


def test_a_full_rotation_logs_fingerprints_and_never_a_token(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    # (The harness also searches every test's output for tokens; this one shows what is logged.)
    arn = harness.seed(harness.emulator.issue())
    harness.rotate(arn)
    out = caplog.text
    new = TokenSet.from_mapping(harness.emulator.issued[-1])
    assert new.refresh.fingerprint in out
    assert '"message":"stored pending version"' in out
    assert not leaked(out, harness.emulator.minted)
    assert "eyJ" not in out
