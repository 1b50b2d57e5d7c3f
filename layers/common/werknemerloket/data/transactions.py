"""Transactions on DynamoDB as the domain needs them: a failed condition is a `StaleStateError`
(nothing was written, the records changed); a cancellation for a passing reason (another transaction
held an item, throttling) is tried again a few times before it becomes a `StoreBusyError`."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from pynamodb.exceptions import TransactGetError, TransactWriteError
from pynamodb.transactions import TransactWrite

from werknemerloket.data.models import connection
from werknemerloket.domain.ports import StaleStateError, StoreBusyError
from werknemerloket.observability import logger

CONDITION_FAILED = "ConditionalCheckFailedException"
CANCELLED = "TransactionCanceledException"
# Cancellation reasons of a transaction: only the first says a condition failed; the others say that
# nothing was written for a passing reason, so the same transaction may succeed when tried again.
CONDITION_FAILED_REASON = "ConditionalCheckFailed"
PASSING_REASONS = frozenset({"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"})
# A single-item write on an item that a transaction is changing at that moment.
ITEM_IN_TRANSACTION = "TransactionConflictException"
# Pauses before the second, third and fourth try (each jittered down to half).
RETRY_DELAYS_SECONDS = (0.05, 0.1, 0.2)


class ConditionFailed(StaleStateError):
    def __init__(self, message: str, failed: list[int]):
        super().__init__(message)
        self.failed = failed  # positions of the writes whose conditions failed


class Busy(Exception):
    """Another transaction held an item (or the table throttled): nothing was written or read."""


def with_retries[T](operation: Callable[[], T]) -> T:
    """`operation`, tried again after `Busy` with a short jittered backoff; StoreBusyError at last."""
    delays = iter(RETRY_DELAYS_SECONDS)
    while True:
        try:
            return operation()
        except Busy as busy:
            delay = next(delays, None)
            if delay is None:
                logger.warning("store busy: gave up after retries", extra={"reason": str(busy)})
                raise StoreBusyError(str(busy)) from busy
            time.sleep(random.uniform(delay / 2, delay))


def reason_codes(error: TransactWriteError | TransactGetError) -> list[str | None]:
    return [reason.code if reason is not None else None for reason in error.cancellation_reasons]


def transact(build: Callable[[TransactWrite], None]) -> None:
    """The writes `build` adds, as one transaction; ConditionFailed (a StaleStateError) when a condition
    failed, StoreBusyError when other transactions kept it from committing, also on retries."""

    def attempt() -> None:
        try:
            with TransactWrite(connection=connection()) as write:
                build(write)
        except TransactWriteError as error:
            if error.cause_response_code != CANCELLED:
                raise
            codes = reason_codes(error)
            failed = [index for index, code in enumerate(codes) if code == CONDITION_FAILED_REASON]
            if failed:
                raise ConditionFailed(str(error), failed) from error
            if PASSING_REASONS.intersection(code for code in codes if code):
                raise Busy(",".join(code or "None" for code in codes)) from error
            raise

    with_retries(attempt)
