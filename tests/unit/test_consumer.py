"""GeckoFormTokens without AWS: lazy import, arguments, what it shows before any read."""

from __future__ import annotations

import subprocess
import sys

import pytest

from geckoform_tokens import GeckoFormTokens
from geckoform_tokens.config import Settings


def test_importing_the_package_does_not_load_the_consumer() -> None:
    # The rotation function imports geckoform_tokens; its cold start must not pay for this.
    script = (
        "import sys, geckoform_tokens\n"
        "assert 'geckoform_tokens.consumer' not in sys.modules, 'consumer loaded eagerly'\n"
        "assert 'boto3' not in sys.modules, 'boto3 loaded eagerly'\n"
        "from geckoform_tokens import GeckoFormTokens\n"
        "assert GeckoFormTokens.__module__ == 'geckoform_tokens.consumer'\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "kwargs",
    [{"secret_id": ""}, {"max_age": -1.0}, {"expiry_margin": -0.5}],
)
def test_refuses_meaningless_arguments(kwargs: dict[str, object]) -> None:
    arguments: dict[str, object] = {"secret_id": "geckoform/api-tokens", **kwargs}
    with pytest.raises(ValueError, match=r"secret_id|seconds"):
        GeckoFormTokens(**arguments, settings=Settings())  # type: ignore[arg-type]


def test_creating_it_touches_nothing() -> None:
    # GIVEN a client that fails on any use
    class Untouchable:
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"client.{name} used")

    tokens = GeckoFormTokens(
        "geckoform/api-tokens",
        client=Untouchable(),  # type: ignore[arg-type]
        settings=Settings(),
    )
    # THEN nothing is read until a token is asked for, and repr says so
    assert repr(tokens) == "<GeckoFormTokens secret=geckoform/api-tokens not read yet>"
    tokens.session()
