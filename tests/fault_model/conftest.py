"""Print what the fault model exercised at the end of the run."""

from __future__ import annotations

import pytest

from tests.fault_model.test_fault_model import TALLY


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not TALLY:
        return
    terminalreporter.section("fault model")
    actions = sum(n for name, n in TALLY.items() if name.startswith("action: "))
    terminalreporter.write_line(
        f"{actions} actions, {TALLY['faults injected']} faults injected, "
        f"{TALLY['invocations']} handler invocations"
    )
    for name, count in sorted(TALLY.items()):
        terminalreporter.write_line(f"  {count:6d}  {name}")
