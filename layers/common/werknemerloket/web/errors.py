"""The one place where errors become HTTP answers in the API's error shape:
`{"error": {"code": "UPPER_SNAKE", "message": "...", "details": [...]}}`."""

from __future__ import annotations

import binascii
import json
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from pydantic import BaseModel, Field

from werknemerloket.domain.ports import StoreBusyError
from werknemerloket.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidInputError,
    MailNotSentError,
    NotFoundError,
    UnauthenticatedError,
)
from werknemerloket.observability import logger

_STATUS: list[tuple[type[DomainError], HTTPStatus]] = [
    (NotFoundError, HTTPStatus.NOT_FOUND),
    (ConflictError, HTTPStatus.CONFLICT),
    (InvalidInputError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (UnauthenticatedError, HTTPStatus.UNAUTHORIZED),
    (ForbiddenError, HTTPStatus.FORBIDDEN),
    (MailNotSentError, HTTPStatus.BAD_GATEWAY),
]


class ErrorDetail(BaseModel):
    field: str | None = Field(default=None, description="Where the problem is, e.g. `body.dateOfBirth`.")
    issue: str = Field(description="What is wrong there.")
    line: int | None = Field(default=None, description="For a mail text (`TEMPLATE_INVALID`): the line, from 1.")
    variable: str | None = Field(default=None, description="For a mail text: the template variable concerned.")


class ErrorInfo(BaseModel):
    code: str = Field(examples=["VALIDATION_ERROR"])
    message: str
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    error: ErrorInfo


_DESCRIPTIONS = {
    400: "Malformed JSON or a body that is not UTF-8 (`BAD_REQUEST`).",
    401: "No valid token (`UNAUTHENTICATED`).",
    403: "The token does not give access to this employer (`FORBIDDEN`).",
    404: "Not found.",
    409: "Conflicts with the current state.",
    413: "Body too large (`PAYLOAD_TOO_LARGE`).",
    415: "The body is not sent as JSON (`UNSUPPORTED_MEDIA_TYPE`).",
    422: "Request validation failed (`VALIDATION_ERROR`).",
    502: "The mail service did not take the mail (`MAIL_NOT_SENT`); nothing was changed.",
}


def error_responses(*statuses: int, success: tuple[int, str] = (200, "OK"), **descriptions: str) -> dict[int, Any]:
    """OpenAPI `responses` of a route: its success answer (Powertools documents only the statuses listed
    once any are) and its error answers; `descriptions` overrides an error's text by `s404=...`."""
    ok_status, ok_description = success
    responses: dict[int, Any] = {ok_status: {"description": ok_description}}
    for status in statuses:
        responses[status] = {
            "description": descriptions.get(f"s{status}", _DESCRIPTIONS[status]),
            "content": {content_types.APPLICATION_JSON: {"model": ErrorResponse}},
        }
    return responses


def error_response(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> Response[str]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=json.dumps({"error": error}, ensure_ascii=False),
    )


_SEND_JSON = "Send the body as JSON, with Content-Type: application/json."


def _raw_error(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": json.dumps({"error": {"code": code, "message": message}}),
        "isBase64Encoded": False,
    }


def unreadable_body(event: dict[str, Any], limit: int) -> dict[str, Any] | None:
    """413 for a body over `limit` bytes, 415 for a body declared as anything but JSON: answered
    before the resolver parses the body (it validates before any middleware runs)."""
    body = event.get("body") or ""
    if not body:
        return None
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode())
    if size > limit:
        return _raw_error(413, "PAYLOAD_TOO_LARGE", f"The body may hold at most {limit} bytes.")
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", content_types.APPLICATION_JSON).split(";")[0].strip().lower()
    if media_type != content_types.APPLICATION_JSON:
        return _raw_error(415, "UNSUPPORTED_MEDIA_TYPE", _SEND_JSON)
    return None


def status_of(error: DomainError) -> HTTPStatus:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return HTTPStatus.BAD_REQUEST


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def validation_details(error: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for item in error.errors():
        issue = str(item.get("msg", item.get("type"))).removeprefix("Value error, ")
        details.append({"field": _field(item.get("loc", ())), "issue": issue})
    return details


def install_error_handlers(app: APIGatewayRestResolver) -> None:
    """Every error a client can cause becomes a 4xx in the API's shape; only our own faults are 5xx."""

    @app.exception_handler(DomainError)
    def _domain(error: DomainError) -> Response[str]:
        return error_response(status_of(error), error.code, error.message, error.details)

    @app.exception_handler(RequestValidationError)
    def _validation(error: RequestValidationError) -> Response[str]:
        if any(item.get("type") == "json_invalid" for item in error.errors()):
            return error_response(400, "BAD_REQUEST", "The body is not valid JSON.")
        return error_response(422, "VALIDATION_ERROR", "The request is not valid.", validation_details(error))

    @app.exception_handler(RequestUnsupportedContentType)
    def _media_type(_: Exception) -> Response[str]:
        return error_response(
            415, "UNSUPPORTED_MEDIA_TYPE", "Send the body as JSON, with Content-Type: application/json."
        )

    @app.exception_handler(StoreBusyError)
    def _busy(_: Exception) -> Response[str]:
        response = error_response(503, "SERVICE_BUSY", "Other changes kept this one from being made; try again.")
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(IdempotencyAlreadyInProgressError)
    def _in_progress(_: Exception) -> Response[str]:
        return error_response(
            409, "REQUEST_IN_PROGRESS", "A request with this Idempotency-Key is still being handled; retry shortly."
        )

    @app.exception_handler([UnicodeDecodeError, json.JSONDecodeError, binascii.Error])
    def _undecodable(_: Exception) -> Response[str]:
        return error_response(400, "BAD_REQUEST", "The body is not valid UTF-8 JSON.")

    @app.not_found
    def _not_found(_: Exception) -> Response[str]:
        return error_response(404, "NOT_FOUND", "No such resource.")

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(500, "INTERNAL_ERROR", "Something went wrong on our side; please try again.")
