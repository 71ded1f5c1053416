"""The function's one Logger and one Metrics, created once and imported wherever needed.

Every metric of an invocation carries the dimensions `service` and `Step`, so the step outcome
(RotationStepSucceeded / RotationStepFailed) and the token gauges are all per step.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "geckoform-token-rotation"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "GeckoFormTokens"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


def record_step_outcome(succeeded: bool) -> None:
    count("RotationStepSucceeded" if succeeded else "RotationStepFailed")
