"""No command, on any path, prints a token, one of its three segments, or its signature."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.cli.conftest import DAY, Cli, Secrets
from tests.emulator import GeckoEmulator
from tests.support import secrets_manager as aws


def test_no_token_reaches_stdout_or_stderr(
    cli: Cli,
    secrets: Secrets,
    name: str,
    tmp_path: Path,
    fake_rotation_function: Callable[..., None],
) -> None:
    now = int(time.time())
    emulator = GeckoEmulator(clock=lambda: now)
    old = GeckoEmulator(clock=lambda: now - 7200).issue()
    good = emulator.issue()
    newer = GeckoEmulator(clock=lambda: now + 60).issue()  # a rotation under way
    bad: dict[str, object] = {
        "access-expired": {
            **good,
            "AccessToken": emulator.mint({"sub": "api-user-1", "exp": now - 9}),
        },
        "refresh-expired": {**good, "RefreshToken": emulator.mint({"sub": "api-user-1", "exp": 1})},
        "bad-region": {
            **good,
            "AccessToken": emulator.mint(
                {"sub": "api-user-1", "exp": now + DAY, "region": "x/../y"}
            ),
        },
        "other-subject": {
            **good,
            "IdToken": emulator.mint({"sub": "someone-else", "exp": now + DAY}),
        },
        "no-exp": {**good, "RefreshToken": emulator.mint({"sub": "api-user-1"})},
    }
    not_a_jwt = "opaque-session-cookie-" + "s3cr3t" * 8
    bad["not-a-jwt"] = {**good, "AccessToken": not_a_jwt}
    bad["not-an-object"] = [good["AccessToken"], good["RefreshToken"]]
    truncated = json.dumps(good)[:-20]  # not JSON, but full of tokens
    token = good["AccessToken"]
    lines = "\n".join(good[k] for k in ("AccessToken", "IdToken", "RefreshToken")) + "\n"

    # seed: prompt on piped stdin, a file, stdin; then every way it refuses
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(old))
    assert cli("seed", name, "--create", "--from-json", str(path), "--yes").code == 0
    assert cli("seed", name, "--yes", stdin=lines).code == 0
    assert cli("seed", name, "--from-json", "-", "--yes", stdin=json.dumps(good)).code == 0
    for value in bad.values():
        assert cli("seed", name, "--from-json", "-", "--yes", stdin=json.dumps(value)).code == 1
    assert cli("seed", name, "--from-json", "-", "--yes", stdin=truncated).code == 1
    assert cli("seed", name, "--from-json", "-", stdin=json.dumps(newer)).code == 1  # no --yes
    assert cli("seed", name, "--yes", stdin=good["AccessToken"] + "\n").code == 1  # one line only
    assert cli("seed", token, "--from-json", "-", "--yes", stdin=json.dumps(newer)).code == 1
    assert cli("seed", name, "--from-json", f"/nonexistent/{token}").code == 1
    assert cli("seed", name, f"--{token}").code == 2  # argparse's error path
    assert cli(token, name).code == 2
    assert cli("status", token).code == 1
    assert cli("status", name, "--region", token).code == 1

    # a rotation under way: status, the in-progress refusals, recover forced
    secrets.pending(name, newer)
    assert cli("status", name).code == 3
    assert cli("status", name, "--json").code == 3
    assert cli("seed", name, "--from-json", "-", "--yes", stdin=json.dumps(old)).code == 1
    assert cli("recover", name, "--yes").code == 1
    assert cli("recover", name, "--force").code == 1  # not confirmed
    assert cli("recover", name, "--yes", "--force").code == 0

    # rotate: refused while not configured, then followed to the end, then timing out
    assert cli("rotate", name).code == 1
    aws.enable_rotation(name)
    fake_rotation_function(finishes=True, delay=0.2)
    assert cli("rotate", name, "--interval", "0.1", "--wait", "10").code == 0
    fake_rotation_function(finishes=False)
    assert cli("rotate", name, "--interval", "0.1", "--wait", "0.3").code == 3
    assert cli("status", name).code == 3

    printed = "\n".join(cli.outputs)
    versions = aws.fake_secret(name).versions.values()
    stored = [json.loads(v["secret_string"]) for v in versions if "secret_string" in v]
    every_token = {not_a_jwt, *emulator.minted, *old.values(), *newer.values()}
    every_token |= {t for value in stored for k, t in value.items() if k.endswith("Token")}
    assert len(every_token) > 15
    for value in every_token:
        assert value not in printed
        for segment in value.split("."):
            assert len(segment) < 8 or segment not in printed, segment
    assert "Traceback" not in printed
