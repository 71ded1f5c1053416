"""Stand-ins for what Lambda and boto3 hand the function: its context, a counting client."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LambdaContext:
    """Enough of Lambda's context object for Powertools and the handler."""

    function_name: str = "geckoform-rotation"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:geckoform-rotation"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class CountingClient:
    """Wraps a boto3 Secrets Manager client and counts the API calls made through it."""

    client: Any
    calls: list[str] = field(default_factory=list)
    params: list[dict[str, Any]] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)  # operation -> how many calls to fail

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            self.params.append(kwargs)
            if self.fail.get(name, 0) > 0:
                self.fail[name] -= 1
                raise self.client.exceptions.InternalServiceError(
                    {"Error": {"Code": "InternalServiceError", "Message": "injected"}}, name
                )
            return method(*args, **kwargs)

        return call
