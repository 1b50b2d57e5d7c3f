"""`python -m local` (what `make run` runs): start the local stack and tell the developer how to use it.

Options: `--port` (default: the PORT environment variable, else 3000) and `--template` (default: the
repository's template.yaml; the end-to-end tests point it at small templates of their own).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
from pathlib import Path
from types import FrameType

from local.server import LocalServer
from local.stack import LocalStack

log = logging.getLogger("local")

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port, a number from 1 to 65535")
    return int(text)


def usage(stack: LocalStack, url: str) -> str:
    """What the developer can do now, as commands to copy."""
    json_post = "curl -s -X POST -H 'Content-Type: application/json'"
    lines = [f"Werknemerloket local stack on {url}  (AWS emulation: {stack.emulator.url})", ""]
    if any(route.path == "/swagger" for route in stack.gateway.routes):
        lines.append(f"  API documentation  {url}/swagger")
    if stack.tokens is not None:
        read_token = shlex.quote('import json, sys; print(json.load(sys.stdin)["token"])')
        body = shlex.quote('{"employerId": "acme"}')
        lines += [
            f"  Employer token     TOKEN=$({json_post} -d {body} {url}/_local/employer-token"
            f" | python3 -c {read_token})",
            f'  Call the API       curl -s -H "Authorization: Bearer $TOKEN" {url}/employers/acme',
        ]
    lines += [
        f"  Mail sent          {url}/_local/outbox",
        f"  Move time          {json_post} -d '{{\"advanceSeconds\": 86400}}' {url}/_local/clock",
    ]
    driven = [s.function for s in stack.scheduler.schedules] + [q.function for q in stack.scheduler.queues]
    if driven:
        lines.append(f"  Run a function     curl -s -X POST {url}/_local/run/{driven[0].code_dir.name}")
    lines += [f"  Start afresh       curl -s -X POST {url}/_local/reset", "", "Routes:"]
    width = max((len(route.path) for route in stack.gateway.routes), default=0)
    for route in stack.gateway.routes:
        guard = route.authorizer.name if route.authorizer else "open"
        lines.append(f"  {route.method:7} {route.path:{width}}  {route.function.logical_id} ({guard})")
    for schedule in stack.scheduler.schedules:
        timing = f"every {schedule.period_seconds} s" if schedule.period_seconds else "on demand only"
        lines.append(f"Schedule: {schedule.function.logical_id} {schedule.expression}, {timing} here")
    for queue in stack.scheduler.queues:
        lines.append(f"Queue: {queue.function.logical_id} reads {queue.queue_url}")
    return "\n".join(lines)


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=_port, default=os.environ.get("PORT") or "3000")  # a str default is parsed too
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    args = parser.parse_args(argv)
    # The stack's own log (a line per request, refusals, tracebacks) on stderr; libraries only when they warn.
    logging.basicConfig(
        level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log.setLevel(logging.INFO)
    # Lambda-sized HTTP pools shared by concurrent invocations overflow here, harmlessly; say nothing about it.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    try:
        stack = LocalStack.start(args.template, args.port)
        server = LocalServer(stack, "127.0.0.1", args.port)
    except Exception:
        log.exception("the local stack cannot start")
        return 1
    signal.signal(signal.SIGTERM, _stop)
    print(usage(stack, server.url), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
