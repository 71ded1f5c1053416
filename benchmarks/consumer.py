"""Consumer figures: GetSecretValue calls, cached cost beside Powertools, rotation pick-up time.

Everything runs in this process against moto (mock_aws) and `responses`: no socket is opened.
"""

from __future__ import annotations

import json
import logging
import re
import statistics
import sys
import time
import timeit
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
NAME = "geckoform/bench-consumer"
CALLS = 10_000
REPEATS = 15  # timeit repeats of CALLS calls each, interleaved between the two contenders
MAX_AGES = (300.0, 60.0)
STEP = 1.0  # seconds the simulated clock advances between calls


@dataclass
class Clock:
    now: float = field(default_factory=time.time)

    def __call__(self) -> float:
        return self.now


def counted(client: Any) -> list[str]:
    """The GetSecretValue calls made through `client`, recorded as they are made."""
    calls: list[str] = []

    def record(**_: Any) -> None:
        calls.append("GetSecretValue")

    client.meta.events.register("before-call.secrets-manager.GetSecretValue", record)
    return calls


@contextmanager
def aws() -> Iterator[Callable[[], Any]]:
    """moto in-process, with fake credentials; yields a factory of Secrets Manager clients."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        session = boto3.Session(
            region_name=REGION,
            aws_access_key_id="bench",
            aws_secret_access_key="bench",  # noqa: S106 - fake, for moto
        )
        yield lambda: session.client("secretsmanager")


def per_call_us(timer: timeit.Timer) -> float:
    return timer.timeit(CALLS) / CALLS * 1e6


def cached_cost(make_client: Callable[[], Any]) -> dict[str, Any]:
    """10,000 calls each: GeckoFormTokens.access_token and Powertools get_secret(json)."""
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    from geckoform_tokens import GeckoFormTokens
    from geckoform_tokens.config import Settings

    ours_client, powertools_client = make_client(), make_client()
    ours_calls, powertools_calls = counted(ours_client), counted(powertools_client)
    DEFAULT_PROVIDERS["secrets"] = parameters.SecretsProvider(boto3_client=powertools_client)
    tokens = GeckoFormTokens(NAME, client=ours_client, settings=Settings())

    # the counted run: 10,000 calls in one process, the token fresh throughout
    for _ in range(CALLS):
        tokens.access_token  # noqa: B018
        parameters.get_secret(NAME, transform="json")

    ours = timeit.Timer("tokens.access_token", globals={"tokens": tokens})
    theirs = timeit.Timer(
        "get_secret(name, transform='json')",
        globals={"get_secret": parameters.get_secret, "name": NAME},
    )
    ours_us, theirs_us = [], []
    for _ in range(REPEATS):
        ours_us.append(per_call_us(ours))
        theirs_us.append(per_call_us(theirs))
    return {
        "ours_calls": len(ours_calls),
        "powertools_calls": len(powertools_calls),
        "ours_us": statistics.median(ours_us),
        "ours_best_us": min(ours_us),
        "powertools_us": statistics.median(theirs_us),
        "powertools_best_us": min(theirs_us),
        "ratio": statistics.median(ours_us) / statistics.median(theirs_us),
    }


def pickup_after_rotation(make_client: Callable[[], Any], emulator: Any) -> list[dict[str, Any]]:
    """Seconds until a new AWSCURRENT is served, the rotation landing just after a read (the
    worst case), on a simulated clock advanced STEP seconds per call."""
    from geckoform_tokens import GeckoFormTokens
    from geckoform_tokens.config import Settings
    from geckoform_tokens.tokens import fingerprint

    results = []
    for max_age in MAX_AGES:
        client, clock = make_client(), Clock()
        calls = counted(client)
        tokens = GeckoFormTokens(
            NAME, client=client, settings=Settings(), clock=clock, max_age=max_age
        )
        tokens.access_token  # noqa: B018 - the read the rotation lands right after
        new = emulator.issue("eu")
        client.put_secret_value(
            SecretId=NAME, SecretString=json.dumps(new), VersionStages=["AWSCURRENT"]
        )
        start, wanted, served = clock.now, fingerprint(new["AccessToken"]), 0
        while fingerprint(tokens.access_token) != wanted:
            clock.now += STEP
            served += 1
        results.append(
            {
                "max_age": max_age,
                "seconds": clock.now - start,
                "old_served": served,
                "reads": len(calls),
            }
        )
    return results


def pickup_on_401(make_client: Callable[[], Any], emulator: Any) -> dict[str, Any]:
    """With the session, the first request refused after a rotation picks up the new token."""
    import responses

    from geckoform_tokens import GeckoFormTokens
    from geckoform_tokens.config import Settings

    client = make_client()
    calls = counted(client)
    tokens = GeckoFormTokens(NAME, client=client, settings=Settings())
    session = tokens.session()
    accepted = {tokens.access_token}
    sent: list[str] = []

    def forms(request: Any) -> tuple[int, dict[str, str], str]:
        sent.append(request.headers["Authorization"])
        ok = request.headers["Authorization"].removeprefix("Bearer ") in accepted
        return (200, {}, '{"data": []}') if ok else (401, {}, "{}")

    with responses.RequestsMock() as rsps:
        rsps.add_callback(responses.GET, re.compile(r"https://api-eu\.geckoform\.com/.*"), forms)
        session.get("/forms")
        new = emulator.issue("eu")
        client.put_secret_value(
            SecretId=NAME, SecretString=json.dumps(new), VersionStages=["AWSCURRENT"]
        )
        accepted = {new["AccessToken"]}  # GeckoForm stops accepting the old token
        status = session.get("/forms").status_code
    return {"status": status, "requests": len(sent) - 1, "reads": len(calls) - 1}


def main() -> None:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.emulator import GeckoEmulator

    logging.getLogger("geckoform_tokens").setLevel(logging.ERROR)
    emulator = GeckoEmulator()
    with aws() as make_client:
        make_client().create_secret(Name=NAME, SecretString=json.dumps(emulator.issue("eu")))
        cost = cached_cost(make_client)
        pickups = pickup_after_rotation(make_client, emulator)
        on_401 = pickup_on_401(make_client, emulator)

    print(f"Consumer (GeckoFormTokens, moto in-process, {CALLS:,} calls, Python {sys.version[:6]})")
    print(f"  GetSecretValue calls, access_token:   {cost['ours_calls']}  (goal 1)")
    print(f"  GetSecretValue calls, Powertools:     {cost['powertools_calls']}")
    print(f"  cached call, median of {REPEATS} x {CALLS:,}:")
    print(
        f"    GeckoFormTokens.access_token:       {cost['ours_us']:.2f} us"
        f"  (best {cost['ours_best_us']:.2f})"
    )
    print(
        f"    Powertools get_secret(json):        {cost['powertools_us']:.2f} us"
        f"  (best {cost['powertools_best_us']:.2f})"
    )
    print(f"    ratio:                              {cost['ratio']:.2f}x  (goal <= 1.00x)")
    print(f"  new AWSCURRENT served after (simulated clock, {STEP:g} s steps, worst case):")
    for pickup in pickups:
        print(
            f"    max_age={pickup['max_age']:>4.0f} s:                     "
            f"{pickup['seconds']:.0f} s  (bound {pickup['max_age']:.0f} s; "
            f"{pickup['reads']} reads in all)"
        )
    print(
        "    session, old token refused (401):   next request"
        f"  (HTTP {on_401['status']}, {on_401['requests']} requests, {on_401['reads']} read)"
    )


if __name__ == "__main__":
    main()
