"""Sequences the fault model found, replayed step by step on the same machine.

Both were flaws in the rotation steps, fixed since: these tests keep them fixed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from geckoform_tokens.exceptions import AccessTokenRejected, RefreshUnavailable
from tests.emulator.gecko import DAY
from tests.fault_model.test_fault_model import TALLY, FaultModel


@pytest.fixture
def model() -> Iterator[FaultModel]:
    """The fault model's machine, outside hypothesis; the run's summary is left as it was."""
    saved = TALLY.copy()
    machine = FaultModel()
    machine.seed()
    yield machine
    machine.teardown()
    TALLY.clear()
    TALLY.update(saved)


def test_finish_secret_after_a_failed_create_secret(model: FaultModel) -> None:
    model.run_next_step("GeckoAuth 503", 5)  # createSecret: GeckoAuth unavailable, nothing spent
    assert isinstance(model.last_error, RefreshUnavailable)
    assert model.version is not None
    model.invoke("finishSecret", model.version)  # e.g. `sam local invoke -e finishSecret.json`

    model.current_is_a_complete_token_set()


def test_rotation_completes_after_a_day_long_api_outage(model: FaultModel) -> None:
    model.run_next_step(None, 1)  # createSecret: refreshed, stored as AWSPENDING
    model.run_next_step(None, 1)  # setSecret
    model.run_next_step("GeckoForm 503", 5)  # testSecret: the API is down ...
    model.time_passes(DAY + 1)  # ... for a day
    model.retry_rotation()

    for _ in range(3):  # the API is back: Secrets Manager retries the rotation
        model.run_steps_smoothly(4)
        if model.version is None:
            break
        assert isinstance(model.last_error, AccessTokenRejected)
        model.retry_rotation()

    assert model.version is None, "the rotation never completes"
