"""The HTTP exchange between the local server and the gateway, and the answers the stack gives itself.

Every answer the local stack produces on its own (no route, no token, a function that crashed, the
`/_local/*` routes) uses the API's error shape and carries `X-Local-Gateway: 1`, so that a test can
tell such an answer from one a function gave.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

LOCAL_MARKER = ("X-Local-Gateway", "1")


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # path and query string, as sent
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str

    def header(self, name: str) -> str | None:
        """The last value of a header, whatever the case of its name."""
        values = [value for key, value in self.headers if key.lower() == name.lower()]
        return values[-1] if values else None


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def json_response(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    body = json.dumps(payload, default=str).encode()
    return HttpResponse(status, [("Content-Type", "application/json"), LOCAL_MARKER, *(headers or [])], body)


def error_response(status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
    return json_response(status, {"error": {"code": code, "message": message}}, headers)


class GatewayError(Exception):
    """An answer the gateway gives instead of the function's, e.g. 401 from an authorizer.

    `response_type` is API Gateway's name for the situation (UNAUTHORIZED, ACCESS_DENIED, ...), under
    which the template's GatewayResponses may customise the answer; None for the local stack's own.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: list[tuple[str, str]] | None = None,
        *,
        response_type: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []
        self.response_type = response_type

    def response(self) -> HttpResponse:
        return error_response(self.status, self.code, self.message, self.headers)
