"""The expiry sweep, run by an EventBridge schedule: persists expiries and sends the reminders.

Safe to run twice or at once (every change is a conditional write), so failed or overlapping runs
need no clean-up: the next run simply does what is left.
"""

from __future__ import annotations

import time
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from werknemerloket import services
from werknemerloket.observability import MetricUnit, logger, metrics, tracer

# Stop taking new invitations when less than this is left of the function's timeout; the rest is
# due again at the next run.
RESERVE_MILLIS = 10_000


class SweepIncompleteError(RuntimeError):
    """Some invitations could not be handled; raised after the others were, so the run counts as
    failed (its failure destination and alarm) and the next run tries them again."""


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.monotonic()
    result = services.sweep().run(should_stop=lambda: context.get_remaining_time_in_millis() < RESERVE_MILLIS)
    duration_ms = round((time.monotonic() - started) * 1000)
    metrics.add_metric(name="InvitationsExpired", unit=MetricUnit.Count, value=result.expired)
    metrics.add_metric(name="RemindersSent", unit=MetricUnit.Count, value=result.reminded)
    metrics.add_metric(name="SweepFailures", unit=MetricUnit.Count, value=result.failed)
    metrics.add_metric(name="SweepItemsRead", unit=MetricUnit.Count, value=result.items_read)
    metrics.add_metric(name="SweepDurationMs", unit=MetricUnit.Milliseconds, value=duration_ms)
    counts = result.counts() | {"durationMs": duration_ms}
    logger.info("sweep run", extra=counts)
    if result.errors:
        raise SweepIncompleteError(f"{len(result.errors)} invitations failed: {', '.join(result.errors[:10])}")
    return counts
