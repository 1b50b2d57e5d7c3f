"""The event sources that are not HTTP: EventBridge schedules and SQS queues, and running them on demand.

On AWS, EventBridge invokes the sweep asynchronously on its schedule, and Lambda's poller hands queue
messages to a worker in batches, deleting what succeeded. Here a timer thread per `rate(...)`
schedule and a poller thread per queue do the same, with the events AWS sends:

- schedules: EventBridge's "Scheduled Event" (or the event's Input), invoked as Lambda invokes
  asynchronously: retried MaximumRetryAttempts times (default 2; at once here, not minutes apart),
  then its EventInvokeConfig destination (an SQS queue of the template) receives Lambda's invocation
  record, on failure or on success;
- queues: batches of at most BatchSize (up to 10) records; a failed invocation leaves the whole batch
  on the queue, and with ReportBatchItemFailures only the reported items stay. The queue's own
  visibility timeout and redrive policy do the rest, in moto, as in SQS.

`POST /_local/run/{function}` runs one of them now, so that tests need not wait for a timer. A
`cron(...)` schedule is not timed locally (it is about wall-clock hours a session will not reach):
run it on demand. The pollers never long-poll: moto serves one request at a time
(local/emulator.py), and a waiting receive would hold up everyone else.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import re
import threading
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3

from local.functions import Function
from local.template import ACCOUNT_ID, REGION, STACK_NAME, PhysicalResource, Resolver, TemplateError
from werknemerloket.clock import Clock, to_iso

log = logging.getLogger("local.scheduler")

POLL_INTERVAL_SECONDS = 0.25
_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def rate_seconds(expression: str) -> int | None:
    """The period of a `rate(...)` expression in seconds; None for `cron(...)`."""
    if expression.startswith("cron("):
        return None
    match = _RATE.fullmatch(expression.strip())
    if match is None or int(match.group(1)) < 1:
        raise TemplateError(f"not a schedule expression: {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


@dataclass(frozen=True)
class Schedule:
    function: Function
    event_name: str
    expression: str
    period_seconds: int | None  # None: not timed locally
    input: str | None

    @property
    def rule_arn(self) -> str:
        return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{STACK_NAME}-{self.function.logical_id}{self.event_name}"


@dataclass(frozen=True)
class QueueSource:
    function: Function
    queue_url: str
    queue_arn: str
    batch_size: int
    reports_item_failures: bool


@dataclass(frozen=True)
class AsyncConfig:
    """The function's EventInvokeConfig: how often Lambda retries an asynchronous invocation, and where it reports."""

    maximum_retry_attempts: int
    on_success_url: str | None
    on_failure_url: str | None


class Scheduler:
    def __init__(
        self,
        functions: Mapping[str, Function],
        resolver: Resolver,
        physical: Mapping[str, PhysicalResource],
        clock: Clock,
    ) -> None:
        self._functions = functions
        self._clock = clock
        self._sqs = boto3.session.Session().client("sqs")
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.schedules: list[Schedule] = []
        self.queues: list[QueueSource] = []
        queue_urls = {r.attributes["Arn"]: r.ref for r in physical.values() if r.type == "AWS::SQS::Queue"}
        self._async = {lid: _async_config(f, resolver, queue_urls) for lid, f in functions.items()}
        for function in functions.values():
            for name, props in function.events_of_type("Schedule"):
                resolved = resolver.resolve(dict(props))
                if resolved.get("Enabled", True) and resolved.get("State", "ENABLED") == "ENABLED":
                    expression = str(resolved["Schedule"])
                    period = rate_seconds(expression)
                    self.schedules.append(Schedule(function, name, expression, period, resolved.get("Input")))
            for name, props in function.events_of_type("SQS"):
                resolved = resolver.resolve(dict(props))
                if not resolved.get("Enabled", True):
                    continue
                if resolved["Queue"] not in queue_urls:
                    raise TemplateError(
                        f"{function.logical_id}.{name}: Queue must be the Arn of a queue of the template"
                    )
                self.queues.append(
                    QueueSource(
                        function=function,
                        queue_url=queue_urls[resolved["Queue"]],
                        queue_arn=resolved["Queue"],
                        batch_size=min(int(resolved.get("BatchSize", 10)), 10),
                        reports_item_failures="ReportBatchItemFailures"
                        in (resolved.get("FunctionResponseTypes") or []),
                    )
                )

    def start(self) -> None:
        for schedule in self.schedules:
            if schedule.period_seconds is not None:
                timer = functools.partial(self._time, schedule, schedule.period_seconds)
                self._spawn(f"schedule-{schedule.function.logical_id}", timer)
        for source in self.queues:
            self._spawn(f"sqs-{source.function.logical_id}", functools.partial(self._poll, source))

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def candidates(self, name: str) -> list[Function]:
        """The functions a name means: a logical id, or a CodeUri directory (its queue or schedule one, if several)."""
        found = [f for f in self._functions.values() if name in (f.logical_id, f.code_dir.name)]
        if len(found) > 1:
            driven = {s.function.logical_id for s in self.schedules} | {q.function.logical_id for q in self.queues}
            found = [f for f in found if f.logical_id in driven] or found
        return found

    def run_now(self, function: Function) -> dict[str, Any]:
        """Run a function now: as its schedule would, else one batch of its queue, else with a bare Scheduled Event.

        Raises what the function raised (after the retries and the failure destination of a scheduled run).
        """
        schedule = next((s for s in self.schedules if s.function is function), None)
        source = next((q for q in self.queues if q.function is function), None)
        if schedule is None and source is not None:
            try:
                handled, result = self._deliver(source)
            except Exception:
                log.exception("%s failed on a batch; its messages return to the queue", function.logical_id)
                raise
            return {"messages": handled, "result": result}
        return {"result": self._invoke_async(function, self._scheduled_event(function, schedule))}

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _scheduled_event(self, function: Function, schedule: Schedule | None) -> Any:
        if schedule is not None and schedule.input is not None:
            return json.loads(schedule.input)
        rule_arn = schedule.rule_arn if schedule else f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{function.name}"
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": ACCOUNT_ID,
            "time": to_iso(self._clock.now()),
            "region": REGION,
            "resources": [rule_arn],
            "detail": {},
        }

    def _time(self, schedule: Schedule, period_seconds: int) -> None:
        while not self._stop.wait(period_seconds):
            try:
                self._invoke_async(schedule.function, self._scheduled_event(schedule.function, schedule))
            except Exception:  # already logged per attempt, and reported to the failure destination
                log.error("the scheduled run of %s failed", schedule.function.logical_id)

    def _invoke_async(self, function: Function, event: Any) -> Any:
        config = self._async[function.logical_id]
        attempts = 1 + config.maximum_retry_attempts
        attempt = 0
        while True:
            attempt += 1
            try:
                result = function.invoke(event)
            except Exception as error:
                log.exception("%s failed (attempt %d of %d)", function.logical_id, attempt, attempts)
                if attempt < attempts:
                    continue
                self._report(config.on_failure_url, function, event, attempt, error=error)
                raise
            self._report(config.on_success_url, function, event, attempt, result=result)
            return result

    def _report(
        self,
        queue_url: str | None,
        function: Function,
        event: Any,
        attempts: int,
        *,
        result: Any = None,
        error: Exception | None = None,
    ) -> None:
        """Send Lambda's asynchronous invocation record to a destination queue."""
        if queue_url is None:
            return
        response_context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if error is not None:
            response_context["functionError"] = "Unhandled"
            result = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
        record = {
            "version": "1.0",
            "timestamp": self._clock.now().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"{function.arn}:$LATEST",
                "condition": "RetriesExhausted" if error is not None else "Success",
                "approximateInvokeCount": attempts,
            },
            "requestPayload": event,
            "responseContext": response_context,
            "responsePayload": result,
        }
        self._sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record, default=str))

    def _poll(self, source: QueueSource) -> None:
        while not self._stop.is_set():
            try:
                handled, _ = self._deliver(source)
            except Exception:
                log.exception("%s failed on a batch; its messages return to the queue", source.function.logical_id)
                handled = 0
            if not handled:
                self._stop.wait(POLL_INTERVAL_SECONDS)

    def _deliver(self, source: QueueSource) -> tuple[int, Any]:
        """Hand one batch to the function and delete what it handled; (messages received, its answer).

        Raises what the function raised, leaving the batch on the queue.
        """
        messages = self._sqs.receive_message(
            QueueUrl=source.queue_url,
            MaxNumberOfMessages=source.batch_size,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        if not messages:
            return 0, None
        result = source.function.invoke({"Records": [_record(message, source.queue_arn) for message in messages]})
        failed: set[str] = set()
        if source.reports_item_failures and isinstance(result, Mapping):
            failed = {str(item.get("itemIdentifier")) for item in result.get("batchItemFailures") or []}
        done = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(messages)
            if message["MessageId"] not in failed
        ]
        if done:  # at most 10 (the batch size's ceiling), as delete_message_batch takes
            self._sqs.delete_message_batch(QueueUrl=source.queue_url, Entries=done)
        return len(messages), result


def _async_config(function: Function, resolver: Resolver, queue_urls: Mapping[str, str]) -> AsyncConfig:
    config = resolver.resolve(function.properties.get("EventInvokeConfig") or {})
    urls: dict[str, str | None] = {}
    for outcome in ("OnSuccess", "OnFailure"):
        destination = (config.get("DestinationConfig") or {}).get(outcome)
        if destination is not None and (
            destination.get("Type") != "SQS" or destination.get("Destination") not in queue_urls
        ):
            raise TemplateError(
                f"{function.logical_id}: only a queue of the template (Type SQS, Destination its Arn) is emulated "
                f"as the {outcome} destination"
            )
        urls[outcome] = queue_urls[destination["Destination"]] if destination is not None else None
    return AsyncConfig(int(config.get("MaximumRetryAttempts", 2)), urls["OnSuccess"], urls["OnFailure"])


def _record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One record of Lambda's SQS event."""
    attributes = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        binary = value.get("BinaryValue")
        attributes[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": [base64.b64encode(item).decode() for item in value.get("BinaryListValues", [])],
            "dataType": value["DataType"],
        }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": REGION,
    }
