"""The function's one Logger and one Metrics, created once and imported wherever needed."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "geckoform-token-rotation"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "GeckoFormTokens"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)


def record_step_outcome(step: str, succeeded: bool) -> None:
    """One EMF record: RotationStepSucceeded or RotationStepFailed, with a Step dimension."""
    name = "RotationStepSucceeded" if succeeded else "RotationStepFailed"
    with single_metric(
        name=name,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name="Step", value=step)
