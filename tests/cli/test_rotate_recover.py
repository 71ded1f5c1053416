"""geckoform-tokens rotate (following the stages) and recover (stuck and stale rotations)."""

from __future__ import annotations

from collections.abc import Callable

from tests.cli.conftest import Cli, Secrets, issued


def test_rotate_follows_until_promoted(
    cli: Cli, secrets: Secrets, name: str, fake_rotation_function: Callable[..., None]
) -> None:
    # GIVEN a seeded secret whose rotation function stores and promotes new tokens
    old = secrets.create(name, issued(days_ago=1))
    fake_rotation_function(finishes=True, delay=0.4)

    # WHEN rotating
    result = cli("rotate", name, "--interval", "0.1", "--wait", "20")

    # THEN each step is reported, in order, and the new version is AWSCURRENT and healthy
    assert result.code == 0, result.err
    new = secrets.current_version(name)
    assert new != old
    assert secrets.stages(name) == {old: ["AWSPREVIOUS"], new: ["AWSCURRENT"]}
    progress = [
        f"Version {new} is AWSPENDING: waiting for createSecret.",
        f"Version {new} holds new tokens: createSecret has run.",
        f"Version {new} is AWSCURRENT: the rotation has finished.",
    ]
    positions = [result.err.index(line) for line in progress]
    assert positions == sorted(positions)
    assert "Verdict: healthy" in result.out


def test_rotate_that_does_not_finish_times_out(
    cli: Cli, secrets: Secrets, name: str, fake_rotation_function: Callable[..., None]
) -> None:
    secrets.create(name, issued(days_ago=1))
    fake_rotation_function(finishes=False)

    result = cli("rotate", name, "--interval", "0.1", "--wait", "0.5")

    assert result.code == 3
    assert "did not finish within 0.5s" in result.err
    assert "Verdict: rotation_in_progress" in result.out


def test_recover_promotes_newer_pending_tokens(cli: Cli, secrets: Secrets, name: str) -> None:
    # GIVEN a rotation stuck after createSecret stored newer tokens
    current = secrets.create(name, issued(days_ago=2))
    newer = issued(days_ago=1)
    pending = secrets.pending(name, newer)

    # WHEN recovering
    result = cli("recover", name, "--yes")

    # THEN the newer tokens are AWSCURRENT, AWSPENDING is gone and nothing was deleted
    assert result.code == 0, result.err
    assert secrets.stages(name) == {current: ["AWSPREVIOUS"], pending: ["AWSCURRENT"]}
    assert secrets.value(name)["RefreshToken"] == newer["RefreshToken"]
    assert f"Version {pending} is now AWSCURRENT." in result.out
    assert "Now: healthy" in result.out


def test_recover_clears_stale_pending_and_keeps_current(
    cli: Cli, secrets: Secrets, name: str
) -> None:
    # GIVEN AWSPENDING on older tokens than AWSCURRENT (e.g. after a manual seed)
    fresh = issued(days_ago=1)
    current = secrets.create(name, fresh)
    pending = secrets.pending(name, issued(days_ago=3))

    result = cli("recover", name, "--yes")

    assert result.code == 0, result.err
    assert secrets.stages(name) == {current: ["AWSCURRENT"], pending: []}
    assert secrets.value(name)["RefreshToken"] == fresh["RefreshToken"]
    assert "Nothing" not in result.out
    assert f"Removed AWSPENDING from version {pending}." in result.out


def test_recover_refuses_while_rotation_runs_and_without_confirmation(
    cli: Cli, secrets: Secrets, name: str
) -> None:
    current = secrets.create(name, issued(days_ago=2))
    pending = secrets.pending(name, issued())  # stored moments ago: still finishing
    before = secrets.stages(name)

    running = cli("recover", name, "--yes")
    unconfirmed = cli("recover", name, "--force")

    assert running.code == 1
    assert "would race the rotation function" in running.err
    assert unconfirmed.code == 1
    assert "Re-run with --yes" in unconfirmed.err
    assert secrets.stages(name) == before == {current: ["AWSCURRENT"], pending: ["AWSPENDING"]}


def test_recover_with_nothing_valid_changes_nothing(cli: Cli, secrets: Secrets, name: str) -> None:
    secrets.create(name, issued(days_ago=40))
    before = secrets.stages(name)

    result = cli("recover", name, "--yes")

    assert result.code == 1
    assert "nothing to recover" in result.err
    assert "Active Sessions" in result.err
    assert secrets.stages(name) == before


def test_recover_healthy_secret_is_a_no_op(cli: Cli, secrets: Secrets, name: str) -> None:
    secrets.create(name, issued())
    before = secrets.stages(name)

    result = cli("recover", name)  # no --yes needed: nothing to confirm

    assert result.code == 0, result.err
    assert "Nothing to do" in result.out
    assert secrets.stages(name) == before
