"""geckoform-tokens status: the table, the rotation settings, each verdict and its exit code."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from geckoform_tokens.tokens import fingerprint
from tests.cli.conftest import Cli, Secrets, issued

Setup = Callable[[Secrets, str], None]


def healthy(s: Secrets, name: str) -> None:
    s.create(name, issued())


def started(s: Secrets, name: str) -> None:
    s.create(name, issued(days_ago=1))
    s.pending(name, None)


def finishing(s: Secrets, name: str) -> None:
    s.create(name, issued(days_ago=1))
    s.pending(name, issued())  # createSecret stored new tokens just now


def expiring(s: Secrets, name: str) -> None:
    s.create(name, issued(days_ago=25))


def stuck(s: Secrets, name: str) -> None:
    s.create(name, issued(days_ago=2))
    s.pending(name, issued(days_ago=1))  # newer tokens, stored a day ago, never promoted


def stale_pending(s: Secrets, name: str) -> None:
    s.create(name, issued(days_ago=1))
    s.pending(name, issued(days_ago=2))  # older tokens: finishing would go backwards


def refresh_expired(s: Secrets, name: str) -> None:
    s.create(name, issued(days_ago=31))


def not_tokens(s: Secrets, name: str) -> None:
    s.create(name, "hunter2")


def not_seeded(s: Secrets, name: str) -> None:
    s.create(name, '{"seeded": false}')  # what template.yaml creates


@pytest.mark.parametrize(
    ("setup", "verdict", "code", "advice"),
    [
        pytest.param(healthy, "healthy", 0, "Nothing to do", id="healthy"),
        pytest.param(started, "rotation_in_progress", 3, "Wait a minute", id="started"),
        pytest.param(finishing, "rotation_in_progress", 3, "Wait a minute", id="finishing"),
        pytest.param(expiring, "refresh_expiring", 4, "Rotate now", id="expiring"),
        pytest.param(stuck, "stuck", 5, "geckoform-tokens recover", id="stuck"),
        pytest.param(stale_pending, "stuck", 5, "clear the stale AWSPENDING", id="stale"),
        pytest.param(refresh_expired, "chain_broken", 6, "Active Sessions", id="expired"),
        pytest.param(not_tokens, "chain_broken", 6, "Active Sessions", id="not-tokens"),
        pytest.param(not_seeded, "chain_broken", 6, "not been seeded yet", id="not-seeded"),
    ],
)
def test_verdicts(
    cli: Cli, secrets: Secrets, name: str, setup: Setup, verdict: str, code: int, advice: str
) -> None:
    setup(secrets, name)

    result = cli("status", name, "--json")

    assert result.code == code, result.err
    report = json.loads(result.out)
    assert report["health"]["verdict"] == verdict
    assert report["health"]["exit_code"] == code
    assert advice in f"{report['health']['summary']} {report['health']['action']}"
    assert {v["version_id"] for v in report["versions"]} == set(secrets.stages(name))


def test_table_and_rotation_configuration(cli: Cli, secrets: Secrets, name: str) -> None:
    # GIVEN a stuck rotation: current, newer tokens pending, and rotation every day
    current_tokens, pending_tokens = issued(days_ago=2, region="us-e"), issued(days_ago=1)
    current = secrets.create(name, current_tokens)
    pending = secrets.pending(name, pending_tokens)

    result = cli("status", name)

    assert result.code == 5
    lines = result.out.splitlines()
    row = next(line for line in lines if line.startswith(current))
    assert "AWSCURRENT" in row
    assert "us-e" in row
    assert fingerprint(current_tokens["RefreshToken"]) in row
    assert "(in 28.0d)" in row  # refresh time left
    pending_row = next(line for line in lines if line.startswith(pending))
    assert "AWSPENDING" in pending_row
    assert fingerprint(pending_tokens["RefreshToken"]) in pending_row
    assert "Rotation: enabled" in result.out
    assert "every 1 days" in result.out
    assert "Verdict: stuck:" in result.out
    assert "To do: Read the rotation function's logs" in result.out


def test_unknown_secret(cli: Cli, name: str) -> None:
    result = cli("status", name)

    assert result.code == 1
    assert f"secret {name}" in result.err
    assert "not found" in result.err
