"""The HTTP front door on 127.0.0.1:$PORT: API requests go to the gateway, `/_local/*` to the stack's own routes.

A thread per connection, as the functions run concurrently on AWS too (the tests fire 50 requests at
once). The server enforces a 1 MiB body limit before reading a body (API Gateway's own limit is
10 MB; the functions enforce their own smaller ones), and answers HEAD without a body.

The `/_local/*` routes exist in no deployed stage (API.md, "Local stack only"): health, employer
tokens, the outbox, the clock, running a scheduled or queue-driven function now, and a reset.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from local.gateway import MAX_BODY_BYTES
from local.responses import LOCAL_MARKER, GatewayError, HttpRequest, HttpResponse, error_response, json_response
from local.stack import LocalStack
from local.tokens import EMPLOYER_ID
from werknemerloket.clock import to_iso

log = logging.getLogger("local.server")

MAX_ADVANCE_SECONDS = 100 * 365 * 86400
DRAINED_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's own limit: a larger body is not even read
_URL = re.compile(r"https?://[^\s<>\"']+")


def _json_object(request: HttpRequest) -> dict[str, Any]:
    try:
        payload = json.loads(request.body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GatewayError(400, "BAD_REQUEST", "The body is not JSON in UTF-8.") from error
    if not isinstance(payload, dict):
        raise GatewayError(422, "VALIDATION_ERROR", "The body must be a JSON object.")
    return payload


def _prefers_html(accept: str | None) -> bool:
    quality: dict[str, float] = {}
    for item in (accept or "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        weights = [param[2:] for param in params if param.startswith("q=")]
        try:
            quality[media.lower()] = float(weights[0]) if weights else 1.0
        except ValueError:
            continue

    def weight(media: str) -> float:
        return quality.get(media, quality.get(media.split("/")[0] + "/*", quality.get("*/*", 0.0)))

    return weight("text/html") > weight("application/json")


def _outbox_html(messages: list[dict[str, Any]]) -> str:
    """A page a developer reads mail on; the mail's own HTML is shown in a sandbox without scripts."""
    items = []
    for message in reversed(messages):
        text = _URL.sub(
            lambda match: f'<a href="{match.group(0)}">{match.group(0)}</a>', html.escape(message["text"] or "")
        )
        rendered = (
            f'<iframe sandbox srcdoc="{html.escape(message["html"])}"></iframe>' if message["html"] is not None else ""
        )
        items.append(
            f"<article><h2>{html.escape(message['subject'])}</h2>"
            f"<p>To {html.escape(message['to'])}, sent {html.escape(message['sentAt'])}</p>"
            f"<pre>{text}</pre>{rendered}</article>"
        )
    body = "".join(items) or "<p>No mail has been sent yet.</p>"
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Outbox - local stack</title>"
        "<style>body{font-family:sans-serif;max-width:60rem;margin:auto}article{border-bottom:1px solid #ccc}"
        "pre{white-space:pre-wrap}iframe{width:100%;height:20rem;border:1px solid #eee}</style>"
        f"<h1>Outbox ({len(messages)}, newest first)</h1>{body}</html>"
    )


class LocalRoutes:
    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self._routes: dict[str, dict[str, Callable[[HttpRequest], HttpResponse]]] = {
            "/_local/health": {"GET": self._health},
            "/_local/employer-token": {"POST": self._employer_token},
            "/_local/outbox": {"GET": self._outbox},
            "/_local/outbox.json": {"GET": self._outbox_json},
            "/_local/clock": {"GET": self._clock, "POST": self._advance_clock},
            "/_local/reset": {"POST": self._reset},
        }

    def handle(self, request: HttpRequest) -> HttpResponse:
        path = urlsplit(request.target).path.rstrip("/")
        methods = self._routes.get(path)
        if methods is None and path.startswith("/_local/run/"):
            name = unquote(path.removeprefix("/_local/run/"))
            methods = {"POST": lambda _: self._run(name)}
        if methods is None:
            return error_response(404, "NOT_FOUND", f"No local route {path}.")
        method = request.method.upper()
        handler = methods.get(method) or (methods.get("GET") if method == "HEAD" else None)
        if handler is None:
            return error_response(
                405, "METHOD_NOT_ALLOWED", f"{path} does not serve {method}.", [("Allow", ", ".join(sorted(methods)))]
            )
        try:
            return handler(request)
        except GatewayError as error:
            return error.response()

    def _health(self, _: HttpRequest) -> HttpResponse:
        return json_response(200, {"status": "ok", "awsEndpointUrl": self._stack.emulator.url})

    def _employer_token(self, request: HttpRequest) -> HttpResponse:
        if self._stack.tokens is None:
            return error_response(404, "NOT_FOUND", "The template has no employer API behind a Cognito user pool.")
        employer_id = _json_object(request).get("employerId")
        if not isinstance(employer_id, str) or not EMPLOYER_ID.fullmatch(employer_id):
            raise GatewayError(422, "VALIDATION_ERROR", "employerId must be 1 to 64 of A-Z a-z 0-9 _ -.")
        return json_response(200, {"token": self._stack.tokens.issue(employer_id)})

    def _outbox(self, request: HttpRequest) -> HttpResponse:
        if not _prefers_html(request.header("Accept")):
            return self._outbox_json(request)
        page = _outbox_html(self._stack.outbox.messages()).encode()
        return HttpResponse(200, [("Content-Type", "text/html; charset=utf-8"), LOCAL_MARKER], page)

    def _outbox_json(self, _: HttpRequest) -> HttpResponse:
        return json_response(200, {"messages": self._stack.outbox.messages()})

    def _clock(self, _: HttpRequest) -> HttpResponse:
        clock = self._stack.clock
        return json_response(200, {"now": to_iso(clock.now()), "offsetSeconds": clock.offset_seconds})

    def _advance_clock(self, request: HttpRequest) -> HttpResponse:
        seconds = _json_object(request).get("advanceSeconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_ADVANCE_SECONDS:
            raise GatewayError(
                422, "VALIDATION_ERROR", f"advanceSeconds must be a number from 0 to {MAX_ADVANCE_SECONDS}."
            )
        self._stack.outbox.observe()  # mail sent so far was sent before the move
        self._stack.clock.advance(seconds)
        return self._clock(request)

    def _run(self, name: str) -> HttpResponse:
        candidates = self._stack.scheduler.candidates(name)
        if not candidates:
            return error_response(404, "NOT_FOUND", f"No function {name} (give a logical id or a CodeUri directory).")
        if len(candidates) > 1:
            names = ", ".join(function.logical_id for function in candidates)
            return error_response(409, "AMBIGUOUS", f"{name} could be {names}; give the logical id.")
        function = candidates[0]
        try:
            outcome = self._stack.scheduler.run_now(function)
        except Exception as error:  # the scheduler logged it with its traceback
            return error_response(502, "INTERNAL_ERROR", f"{function.logical_id} failed: {error!r}")
        return json_response(200, {"function": function.logical_id, **outcome})

    def _reset(self, _: HttpRequest) -> HttpResponse:
        self._stack.reset()
        return json_response(200, {"status": "reset"})


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default of 5 turns a burst of concurrent clients into refused connections

    def __init__(self, stack: LocalStack, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.stack = stack
        self.local_routes = LocalRoutes(stack)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalServer

    def do_GET(self) -> None:
        self._serve()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: `_serve` logs one line per request, with its duration."""

    def _serve(self) -> None:
        started = time.monotonic()
        try:
            response = self._respond()
        except Exception:
            log.exception("the local stack failed on %s %s", self.command, urlsplit(self.path).path)
            response = error_response(500, "INTERNAL_ERROR", "The local stack failed; see its log.")
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        elapsed_ms = (time.monotonic() - started) * 1000
        # The path only: a query string may carry an activation token, and no token reaches a log line.
        log.info("%s %s %d %.0f ms", self.command, urlsplit(self.path).path, response.status, elapsed_ms)

    def _respond(self) -> HttpResponse:
        path = urlsplit(self.path).path
        local = path == "/_local" or path.startswith("/_local/")
        try:
            body = self._body()
        except GatewayError as error:
            self.close_connection = True  # an unread body must not be taken for the next request
            return error.response() if local else self.server.stack.gateway.refuse(error)
        request = HttpRequest(self.command, self.path, list(self.headers.items()), body, self.client_address[0])
        if local:
            return self.server.local_routes.handle(request)
        return self.server.stack.gateway.handle(request)

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            raise GatewayError(411, "LENGTH_REQUIRED", "Send the body with a Content-Length.")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            raise GatewayError(400, "BAD_REQUEST", "The Content-Length header is not a number.")
        if length > MAX_BODY_BYTES:
            if length <= DRAINED_BODY_BYTES:  # read it, so that the client gets to read the answer
                self._discard(length)
            message = f"The body may hold at most {MAX_BODY_BYTES} bytes."
            raise GatewayError(413, "PAYLOAD_TOO_LARGE", message, response_type="REQUEST_TOO_LARGE")
        return self.rfile.read(length) if length else b""

    def _discard(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(65536, length))
            if not chunk:
                return
            length -= len(chunk)
