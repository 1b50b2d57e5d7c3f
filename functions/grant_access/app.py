"""Employer API: the employer registry, invitations and mail texts, behind the Cognito authorizer."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from templates_api import router as email_templates

from werknemerloket import services
from werknemerloket.domain.entities import AccessStatus, Employee, Employer
from werknemerloket.errors import InvalidInputError
from werknemerloket.observability import logger, metrics, tracer
from werknemerloket.settings import get_settings
from werknemerloket.web.auth import authorize_employer
from werknemerloket.web.errors import error_responses, install_error_handlers, unreadable_body
from werknemerloket.web.schemas import (
    ID_PATTERN,
    EmployeeIn,
    EmployeeList,
    EmployeeOut,
    EmployerIn,
    EmployerOut,
)

MAX_BODY_BYTES = 64 * 1024
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,128}")
IDEMPOTENCY_HEADER = Header(
    alias="Idempotency-Key",
    description="Optional. A retry with the same key within 24 hours answers the first result again and mails nothing.",
)

idempotency_store = DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table)
idempotency_config = IdempotencyConfig(expires_after_seconds=24 * 3600)

app = APIGatewayRestResolver(enable_validation=True)
install_error_handlers(app)
# The API's public address (the same custom domain as the employee pages), not the stage path.
SERVERS = [Server(url=get_settings().public_base_url)]
app.configure_openapi(
    title="Werknemerloket employer API",
    version="1.0.0",
    description=(
        "Employers register their employees and grant them access to the employee portal. "
        "Authenticate with `Authorization: Bearer <ID token>` of the employer-admin user pool; a token "
        "reaches the employers whose group (`employer-<employerId>`) its admin is in."
    ),
    servers=SERVERS,
    security_schemes={"employerAdmin": HTTPBearer(bearerFormat="JWT", description="Employer-admin ID token")},
    security=[{"employerAdmin": []}],
)
app.enable_swagger(path="/swagger", servers=SERVERS)  # else Swagger UI would use the stage path

EmployerId = Annotated[str, Path(pattern=ID_PATTERN, description="The payroll system's employer id.")]
EmployeeId = Annotated[str, Path(pattern=ID_PATTERN, description="The payroll system's employee id.")]


def tenant_guard(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Seal tenants before any route runs: the caller must be an admin of the employer the route itself
    receives (the id the resolver parsed from the path, not a copy of it elsewhere in the event)."""
    employer_id = app.context.get("_route_args", {}).get("employerId")
    if employer_id is None and app.current_event.path.rstrip("/") == "/swagger":
        return next_middleware(app)
    authorize_employer(app.current_event.request_context.authorizer.claims, employer_id or "")
    return next_middleware(app)


app.use([tenant_guard])
app.include_router(email_templates)
# Every route: no token, another employer's id, an invalid parameter. Routes with a body add 400 and 413.
_AUTH_ERRORS = (401, 403, 422)
_BODY_ERRORS = (400, 413, 415)


@app.put(
    "/employers/<employerId>",
    summary="Create or update an employer's profile",
    responses=error_responses(*_AUTH_ERRORS, *_BODY_ERRORS),
)
def put_employer(employerId: EmployerId, body: EmployerIn) -> EmployerOut:
    employer = services.registry().put_employer(Employer(employerId, body.name))
    return EmployerOut.of(employer)


@app.get(
    "/employers/<employerId>",
    summary="An employer's profile",
    responses=error_responses(*_AUTH_ERRORS, 404, s404="`EMPLOYER_NOT_FOUND`."),
)
def get_employer(employerId: EmployerId) -> EmployerOut:
    return EmployerOut.of(services.registry().get_employer(employerId))


@app.put(
    "/employers/<employerId>/employees/<employeeId>",
    summary="Create or update an employee",
    description="Changes the profile only; the access state is kept. `dateOfBirth` is never returned.",
    responses=error_responses(*_AUTH_ERRORS, *_BODY_ERRORS),
)
def put_employee(employerId: EmployerId, employeeId: EmployeeId, body: EmployeeIn) -> EmployeeOut:
    employee = services.registry().put_employee(employerId, employeeId, body.profile())
    return EmployeeOut.of(employee)


@app.get(
    "/employers/<employerId>/employees/<employeeId>",
    summary="One employee with its access state",
    responses=error_responses(*_AUTH_ERRORS, 404, s404="`EMPLOYEE_NOT_FOUND`."),
)
def get_employee(employerId: EmployerId, employeeId: EmployeeId) -> EmployeeOut:
    return EmployeeOut.of(services.registry().get_employee(employerId, employeeId))


_TOKEN = re.compile(ID_PATTERN)


def _encode_token(employee_id: str | None) -> str | None:
    return base64.urlsafe_b64encode(employee_id.encode()).decode().rstrip("=") if employee_id else None


def _decode_token(token: str | None) -> str | None:
    if token is None:
        return None
    try:
        employee_id = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        employee_id = ""
    if not _TOKEN.fullmatch(employee_id):
        raise InvalidInputError(
            "The request is not valid.",
            code="VALIDATION_ERROR",
            details=[{"field": "query.nextToken", "issue": "is not a token this API gave out"}],
        )
    return employee_id


@app.get(
    "/employers/<employerId>/employees",
    summary="The employer's employees, filtered by access status, in pages",
    description="Employees in id order. A page holds `limit` items unless it is the last one.",
    responses=error_responses(*_AUTH_ERRORS),
)
def list_employees(
    employerId: EmployerId,
    accessStatus: Annotated[AccessStatus | None, Query(description="Only employees in this access status.")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")] = 50,
    nextToken: Annotated[str | None, Query(max_length=512, description="From the previous page.")] = None,
) -> EmployeeList:
    page = services.registry().list_employees(employerId, accessStatus, limit, _decode_token(nextToken))
    return EmployeeList(items=[EmployeeOut.of(e) for e in page.items], next_token=_encode_token(page.after))


def _idempotency_key() -> str | None:
    """The `Idempotency-Key` header, whatever the case of its name."""
    for name, value in (app.current_event.headers or {}).items():
        if name.lower() == "idempotency-key":
            if not IDEMPOTENCY_KEY.fullmatch(value):
                raise InvalidInputError(
                    "The request is not valid.",
                    details=[
                        {"field": "header.Idempotency-Key", "issue": "must be 1 to 128 printable ASCII characters"}
                    ],
                )
            return value
    return None


@idempotent_function(
    data_keyword_argument="request",
    persistence_store=idempotency_store,
    config=idempotency_config,
)
def _change_once(request: dict[str, str], change: Callable[[], Employee]) -> dict[str, Any]:
    return EmployeeOut.of(change()).model_dump(mode="json", by_alias=True)


def _change(operation: str, employer_id: str, employee_id: str, change: Callable[[], Employee]) -> dict[str, Any]:
    """Run an access change; with an Idempotency-Key a retry answers the first result and mails nothing."""
    key = _idempotency_key()
    if key is None:
        return EmployeeOut.of(change()).model_dump(mode="json", by_alias=True)
    request = {"key": key, "operation": operation, "employerId": employer_id, "employeeId": employee_id}
    return _change_once(request=request, change=change)


_CONFLICTS = (
    "`EMAIL_MISSING`, `EMPLOYER_PROFILE_MISSING`, `ALREADY_INVITED`, `ALREADY_ACTIVE` or `NO_OPEN_INVITATION`; "
    "`REQUEST_IN_PROGRESS` while the "
    "first request with the same Idempotency-Key is still being handled."
)


def _invitation_responses(success: tuple[int, str], *errors: int) -> dict[int, Any]:
    return error_responses(
        *_AUTH_ERRORS, 404, 409, *errors, success=success, s404="`EMPLOYEE_NOT_FOUND`.", s409=_CONFLICTS
    )


@app.post(
    "/employers/<employerId>/employees/<employeeId>/access",
    status_code=201,
    summary="Grant access individually: create an invitation and mail it",
    description="The invitation is valid for exactly 96 hours. Send an `Idempotency-Key` header to retry safely.",
    responses=_invitation_responses((201, "The employee, now invited."), 502),
)
def grant_access(
    employerId: EmployerId,
    employeeId: EmployeeId,
    idempotency_key: Annotated[str | None, IDEMPOTENCY_HEADER] = None,
) -> Response[EmployeeOut]:
    body = _change("grant", employerId, employeeId, lambda: services.invitations().grant(employerId, employeeId))
    return Response(201, content_types.APPLICATION_JSON, body=EmployeeOut.model_validate(body))


@app.post(
    "/employers/<employerId>/employees/<employeeId>/invitation/resend",
    summary="Resend an unused invitation: a new link, the old one dies, validity starts again",
    responses=_invitation_responses((200, "The employee with the new invitation."), 502),
)
def resend_invitation(
    employerId: EmployerId,
    employeeId: EmployeeId,
    idempotency_key: Annotated[str | None, IDEMPOTENCY_HEADER] = None,
) -> EmployeeOut:
    body = _change("resend", employerId, employeeId, lambda: services.invitations().resend(employerId, employeeId))
    return EmployeeOut.model_validate(body)


@app.delete(
    "/employers/<employerId>/employees/<employeeId>/invitation",
    summary="Revoke an unused invitation; its link then shows a notice",
    responses=_invitation_responses((200, "The employee, no longer invited.")),
)
def revoke_invitation(employerId: EmployerId, employeeId: EmployeeId) -> EmployeeOut:
    return EmployeeOut.of(services.invitations().revoke(employerId, employeeId))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)  # answers hold e-mail addresses
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency_config.register_lambda_context(context)
    return unreadable_body(event, MAX_BODY_BYTES) or app.resolve(event, context)
