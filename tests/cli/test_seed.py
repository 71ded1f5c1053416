"""geckoform-tokens seed: from a file, stdin, a piped prompt and a real terminal; every refusal."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from geckoform_tokens.tokens import fingerprint
from tests.cli.conftest import DAY, ROOT, Cli, Secrets, issued
from tests.emulator import GeckoEmulator


def test_seed_from_file_creates_the_secret(
    cli: Cli, secrets: Secrets, name: str, tmp_path: Path
) -> None:
    # GIVEN tokens copied from Active Sessions into a file, and no secret yet
    tokens = issued(region="us-e")
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(tokens))

    # WHEN seeding with --create
    result = cli("seed", name, "--from-json", str(path), "--create", "--yes")

    # THEN the secret exists with those tokens as AWSCURRENT, and the summary shows facts only
    assert result.code == 0, result.err
    stored = secrets.value(name)
    assert {k: stored[k] for k in tokens} == tokens
    assert stored["Region"] == "us-e"
    assert "region:          us-e" in result.out
    assert fingerprint(tokens["RefreshToken"]) in result.out
    assert f"Created secret {name}" in result.out


def test_seed_from_stdin_replaces_current(cli: Cli, secrets: Secrets, name: str) -> None:
    # GIVEN a secret whose tokens are two days old
    old_version = secrets.create(name, issued(days_ago=2))
    tokens = issued()

    # WHEN seeding new tokens as JSON on stdin
    result = cli("seed", name, "--from-json", "-", "--yes", stdin=json.dumps(tokens))

    # THEN they are a new AWSCURRENT version and the old one is AWSPREVIOUS
    assert result.code == 0, result.err
    assert secrets.value(name)["RefreshToken"] == tokens["RefreshToken"]
    assert secrets.stages(name)[old_version] == ["AWSPREVIOUS"]
    assert f"replaces:        version {old_version}" in result.out


def test_seed_from_piped_prompt(cli: Cli, secrets: Secrets, name: str) -> None:
    # GIVEN the three tokens, one a line, on stdin that is not a terminal
    tokens = issued()
    lines = "".join(f"{tokens[k]}\n" for k in ("AccessToken", "IdToken", "RefreshToken"))

    # WHEN seeding without --from-json
    result = cli("seed", name, "--create", "--yes", stdin=lines)

    # THEN they are read in that order and stored
    assert result.code == 0, result.err
    assert {k: secrets.value(name)[k] for k in tokens} == tokens


def _read_until(fd: int, marker: bytes, seen: bytearray, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} in {bytes(seen)!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the child closed the terminal
                chunk = b""
            assert chunk, f"terminal closed before {marker!r}: {bytes(seen)!r}"
            seen += chunk


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_seed_from_terminal_prompt_does_not_echo(
    cli_env: dict[str, str], secrets: Secrets, name: str
) -> None:
    # GIVEN the CLI on a pseudo-terminal (a new session, so the terminal is its stdin)
    tokens = issued()
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "geckoform_tokens", "seed", name, "--create"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=cli_env,
        cwd=ROOT,
        start_new_session=True,
    )
    os.close(slave)
    seen = bytearray()
    try:
        # WHEN the user pastes each token at its prompt and confirms
        for label, key in (
            (b"Access token:", "AccessToken"),
            (b"ID token:", "IdToken"),
            (b"Refresh token:", "RefreshToken"),
        ):
            _read_until(master, label, seen)
            os.write(master, tokens[key].encode() + b"\n")
        _read_until(master, b"[y/N]", seen)
        os.write(master, b"y\n")
        _read_until(master, b"AWSCURRENT", seen)
        assert proc.wait(timeout=15) == 0
    finally:
        proc.kill()
        os.close(master)

    # THEN the tokens are stored, and the terminal never showed them
    assert {k: secrets.value(name)[k] for k in tokens} == tokens
    for value in tokens.values():
        assert value.encode() not in seen
        assert value.split(".")[2].encode() not in seen
    assert fingerprint(tokens["AccessToken"]).encode() in seen


def _mint(**claims: object) -> str:
    base = {"sub": "api-user-1", "exp": int(time.time()) + DAY, "iat": int(time.time())}
    return GeckoEmulator().mint({**base, **claims})


GOOD = issued()
INVALID = [
    pytest.param("{not json", "is not JSON", id="not-json"),
    pytest.param(json.dumps(["a", "b"]), "is not a JSON object", id="not-an-object"),
    pytest.param(json.dumps({**GOOD, "IdToken": ""}), "lacks IdToken", id="missing-key"),
    pytest.param(
        json.dumps({**GOOD, "AccessToken": "abc.def"}), "AccessToken is not a JWT", id="not-jwt"
    ),
    pytest.param(
        json.dumps({**GOOD, "AccessToken": _mint(region="eu", exp=int(time.time()) - 60)}),
        "access token expired",
        id="access-expired",
    ),
    pytest.param(
        json.dumps({**GOOD, "RefreshToken": _mint(exp=int(time.time()) - 60)}),
        "refresh token expired",
        id="refresh-expired",
    ),
    pytest.param(
        json.dumps({**GOOD, "AccessToken": _mint(region="eu.evil.example")}),
        "region claim is not a single DNS label",
        id="bad-region",
    ),
    pytest.param(
        json.dumps({**GOOD, "IdToken": _mint(sub="someone-else")}),
        "do not belong together",
        id="other-subject",
    ),
]


@pytest.mark.parametrize(("value", "message"), INVALID)
def test_invalid_input_is_refused_and_nothing_stored(
    cli: Cli, secrets: Secrets, name: str, value: str, message: str
) -> None:
    # GIVEN a seeded secret
    before = secrets.create(name, issued(days_ago=1))

    # WHEN seeding something that is not a valid token set
    result = cli("seed", name, "--from-json", "-", "--yes", stdin=value)

    # THEN it fails with a clear message and the secret is untouched
    assert result.code == 1
    assert message in result.err
    assert result.err.startswith("error: ")
    assert list(secrets.stages(name)) == [before]


def test_missing_secret_needs_create(cli: Cli, secrets: Secrets, name: str) -> None:
    result = cli("seed", name, "--from-json", "-", "--yes", stdin=json.dumps(issued()))

    assert result.code == 1
    assert "does not exist. Pass --create" in result.err
    with pytest.raises(KeyError):
        secrets.stages(name)


def test_without_terminal_or_yes_nothing_is_stored(cli: Cli, secrets: Secrets, name: str) -> None:
    before = secrets.create(name, issued(days_ago=1))

    result = cli("seed", name, "--from-json", "-", stdin=json.dumps(issued()))

    assert result.code == 1
    assert "Re-run with --yes" in result.err
    assert list(secrets.stages(name)) == [before]


def test_rotation_in_progress_refuses_unless_forced(cli: Cli, secrets: Secrets, name: str) -> None:
    # GIVEN a rotation whose createSecret stored newer tokens in AWSPENDING
    current = secrets.create(name, issued(days_ago=2))
    pending = secrets.pending(name, issued(days_ago=1))
    tokens = json.dumps(issued())

    # WHEN seeding without --force, THEN it refuses and changes nothing
    refused = cli("seed", name, "--from-json", "-", "--yes", stdin=tokens)
    assert refused.code == 1
    assert f"A rotation is in progress: version {pending} is AWSPENDING" in refused.err
    assert secrets.stages(name) == {current: ["AWSCURRENT"], pending: ["AWSPENDING"]}

    # WHEN seeding with --force
    forced = cli("seed", name, "--from-json", "-", "--yes", "--force", stdin=tokens)

    # THEN the new tokens are AWSCURRENT and AWSPENDING is gone, its version (and value) kept
    assert forced.code == 0, forced.err
    stages = secrets.stages(name)
    assert stages[current] == ["AWSPREVIOUS"]
    assert stages[pending] == []
    assert not any("AWSPENDING" in s for s in stages.values())
    assert secrets.value(name)["RefreshToken"] == json.loads(tokens)["RefreshToken"]
    assert f"Removed the stale AWSPENDING label from version {pending}" in forced.out
