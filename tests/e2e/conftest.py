"""One local stack for the end-to-end tests: moto's server, the emulator's server, the build."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.local_stack import LocalStack


@pytest.fixture(scope="package")
def stack() -> Iterator[LocalStack]:
    """Servers on free loopback ports; the function built (sam build) and its boto3-only
    runtime made on first use, cached under .demo/ for the next run. Package-scoped: its
    patches of moto (AWS-strict puts, the call log) end with the e2e tests."""
    with LocalStack() as local:
        local.prepare_function()
        yield local


@pytest.fixture(autouse=True)
def _no_leftover_faults(stack: LocalStack) -> Iterator[None]:
    """Faults armed by one test never reach the next."""
    yield
    stack.emulator.refresh_faults.clear()
    stack.emulator.api_faults.clear()
    stack.sm_log.fail_next.clear()
