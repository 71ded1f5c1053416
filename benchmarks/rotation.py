"""Rotation figures: Secrets Manager calls per rotation; the handler's cold-start import cost."""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]
PAIRS = 21
BASELINE = "import boto3\nboto3.client('secretsmanager')"
HANDLER = "import app\napp.dependencies()"
TIMED = """
import time
start = time.perf_counter()
{code}
print(time.perf_counter() - start)
"""


def _time_once(code: str) -> float:
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": str(ROOT / "rotation_fn"),
        "PYTHONDONTWRITEBYTECODE": "",
    }
    out = subprocess.run(
        [sys.executable, "-c", TIMED.format(code=code)],
        env=env,
        cwd=ROOT / "rotation_fn",
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def cold_start() -> dict[str, float]:
    """Median over paired fresh interpreters of (handler import + client) / (boto3 + client)."""
    _time_once(HANDLER)  # warm the bytecode caches once, as a deployed package has them
    ratios, base, handler = [], [], []
    for _ in range(PAIRS):
        b, h = _time_once(BASELINE), _time_once(HANDLER)
        base.append(b)
        handler.append(h)
        ratios.append(h / b)
    return {
        "boto3_ms": statistics.median(base) * 1000,
        "handler_ms": statistics.median(handler) * 1000,
        "ratio": statistics.median(ratios),
    }


def calls_per_rotation() -> dict[str, Any]:
    """One rotation, then every step replayed, against moto and the emulator (no sockets)."""
    import boto3
    import responses
    from moto import mock_aws

    import app
    import rotation
    from geckoform_tokens.config import Settings
    from geckoform_tokens.gecko import GeckoClient
    from geckoform_tokens.store import SecretStore
    from observability import logger
    from tests.emulator import GeckoEmulator
    from tests.support import secrets_manager as aws
    from tests.support.doubles import CountingClient, LambdaContext
    from tests.support.responses_adapter import install

    logger.setLevel("WARNING")  # the figures, not the function's logs
    emulator = GeckoEmulator()
    with (
        mock_aws(),
        aws.aws_strict_put(),
        responses.RequestsMock() as rsps,
        mock.patch.dict(os.environ, {"AWS_DEFAULT_REGION": aws.REGION}),
    ):
        install(rsps, emulator)
        counting = CountingClient(boto3.client("secretsmanager", region_name=aws.REGION))
        gecko = GeckoClient(Settings(), sleep=lambda _: None)
        deps = (SecretStore(counting), gecko)  # type: ignore[arg-type]
        with (
            mock.patch.object(app, "dependencies", return_value=deps),
            redirect_stdout(io.StringIO()),
        ):
            arn = counting.client.create_secret(
                Name="bench", SecretString=json.dumps(emulator.issue())
            )["ARN"]
            aws.enable_rotation(arn)
            context = LambdaContext()
            counting.calls.clear()
            token = aws.rotate(lambda e: app.lambda_handler(e, context), arn)
            sm_calls = len(counting.calls)
            refreshes, api_calls = len(emulator.refresh_log), len(emulator.api_log)
            for step in aws.STEPS:  # Secrets Manager replaying every step
                app.lambda_handler(aws.event(step, arn, token), context)
        rotation.forget()
    return {
        "secrets_manager_calls": sm_calls,
        "refresh_calls": refreshes,
        "geckoform_calls": api_calls,
        "refresh_calls_after_replay": len(emulator.refresh_log),
    }


def main() -> None:
    sys.path[:0] = [str(ROOT), str(ROOT / "rotation_fn")]
    calls = calls_per_rotation()
    print("Rotation (moto + emulator, one full rotation, then every step replayed)")
    print(
        f"  Secrets Manager calls per rotation: {calls['secrets_manager_calls']}"
        "  (goal <= 8; AWS's template makes 10)"
    )
    print(f"  GeckoAuth refresh calls:            {calls['refresh_calls']}  (goal 1)")
    print(f"  GeckoForm API calls:                {calls['geckoform_calls']}  (goal 1)")
    print(f"  refresh calls, all steps replayed:  {calls['refresh_calls_after_replay']}  (goal 1)")
    cold = cold_start()
    print(f"Cold start (median of {PAIRS} paired fresh interpreters, {sys.version.split()[0]})")
    print(f"  import boto3 + client:              {cold['boto3_ms']:.0f} ms")
    print(f"  import handler + client:            {cold['handler_ms']:.0f} ms")
    print(f"  ratio:                              {cold['ratio']:.2f}x  (goal <= 1.25x)")
