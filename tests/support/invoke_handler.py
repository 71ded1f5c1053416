"""Run the built rotation function as Lambda would: one process, one warm execution environment.

Started by tests/support/local_stack.py in a fresh interpreter holding only boto3, with the
build output on PYTHONPATH. Reads one JSON object per line on stdin, {"event": {...}}, calls
app.lambda_handler with it, and writes one JSON line per event to stdout:
{"ok": true, "ms": 12.3} or {"ok": false, "error": "RefreshResultNotStored", "message": "...",
"ms": 45.6}. The function's own output (Powertools logs, EMF metrics) goes to stderr.

It imports nothing from this repository but the built function, on purpose: a dependency
missing from rotation_fn/requirements.txt fails the import here, as it would in Lambda.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any

TIMEOUT_MS = 60_000

protocol = sys.stdout
sys.stdout = sys.stderr  # before the import: Powertools binds its log stream then


class Context:
    """Enough of Lambda's context object for Powertools and the handler."""

    function_name = "geckoform-rotation"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:geckoform-rotation"
    log_group_name = "/aws/lambda/geckoform-rotation"
    log_stream_name = "local"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + TIMEOUT_MS / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def answer(result: dict[str, Any]) -> None:
    protocol.write(json.dumps(result) + "\n")
    protocol.flush()


def main() -> int:
    try:
        import app
    except Exception as exc:  # the import failing is the finding: report it, then stop
        answer({"ok": False, "error": type(exc).__name__, "message": str(exc), "ms": 0.0})
        return 1
    answer({"ok": True, "ready": True, "ms": 0.0})
    for line in sys.stdin:
        if not line.strip():
            continue
        event = json.loads(line)["event"]
        started = time.perf_counter()
        try:
            app.lambda_handler(event, Context())
        except Exception as exc:
            # The project's own errors carry messages written to be safe to show; others are
            # named only, as the handler itself logs them.
            safe = type(exc).__module__.startswith("geckoform_tokens")
            answer(
                {
                    "ok": False,
                    "error": type(exc).__name__,
                    "message": str(exc) if safe else "",
                    "ms": (time.perf_counter() - started) * 1000,
                }
            )
        else:
            answer({"ok": True, "ms": (time.perf_counter() - started) * 1000})
    return 0


if __name__ == "__main__":
    sys.exit(main())
