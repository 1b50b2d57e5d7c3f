"""Employer API: the employer registry, invitations and mail texts, behind the Cognito authorizer."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from werknemerloket import services
from werknemerloket.domain.entities import AccessStatus, Employer
from werknemerloket.errors import InvalidInputError
from werknemerloket.observability import logger, metrics, tracer
from werknemerloket.web.auth import authorize_employer
from werknemerloket.web.errors import error_response, error_responses, install_error_handlers
from werknemerloket.web.schemas import (
    ID_PATTERN,
    EmployeeIn,
    EmployeeList,
    EmployeeOut,
    EmployerIn,
    EmployerOut,
)

MAX_BODY_BYTES = 64 * 1024

app = APIGatewayRestResolver(enable_validation=True)
install_error_handlers(app)
app.enable_swagger(
    path="/swagger",
    title="Werknemerloket employer API",
    version="1.0.0",
    description=(
        "Employers register their employees and grant them access to the employee portal. "
        "Authenticate with `Authorization: Bearer <ID token>` of the employer-admin user pool; a token "
        "reaches the employers whose group (`employer-<employerId>`) its admin is in."
    ),
)

EmployerId = Annotated[str, Path(pattern=ID_PATTERN, description="The payroll system's employer id.")]
EmployeeId = Annotated[str, Path(pattern=ID_PATTERN, description="The payroll system's employee id.")]


def tenant_guard(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Seal tenants before any route runs: the caller must be an admin of the path's employer."""
    event = app.current_event
    employer_id = (event.path_parameters or {}).get("employerId")
    if employer_id is None:  # the OpenAPI document
        return next_middleware(app)
    authorize_employer(event.request_context.authorizer.claims, employer_id)
    body = event.body or ""
    if len(body) > MAX_BODY_BYTES:
        return error_response(413, "PAYLOAD_TOO_LARGE", f"The body may hold at most {MAX_BODY_BYTES} bytes.")
    return next_middleware(app)


app.use([tenant_guard])
_AUTH_ERRORS = (401, 403, 413, 422)


@app.put("/employers/<employerId>", summary="Create or update an employer's profile", responses=error_responses(400, *_AUTH_ERRORS))
def put_employer(employerId: EmployerId, body: EmployerIn) -> EmployerOut:  # noqa: N803
    employer = services.registry().put_employer(Employer(employerId, body.name))
    return EmployerOut.of(employer)


@app.get(
    "/employers/<employerId>",
    summary="An employer's profile",
    responses=error_responses(*_AUTH_ERRORS, 404, s404="`EMPLOYER_NOT_FOUND`."),
)
def get_employer(employerId: EmployerId) -> EmployerOut:  # noqa: N803
    return EmployerOut.of(services.registry().get_employer(employerId))


@app.put(
    "/employers/<employerId>/employees/<employeeId>",
    summary="Create or update an employee",
    description="Changes the profile only; the access state is kept. `dateOfBirth` is never returned.",
    responses=error_responses(400, *_AUTH_ERRORS),
)
def put_employee(employerId: EmployerId, employeeId: EmployeeId, body: EmployeeIn) -> EmployeeOut:  # noqa: N803
    employee = services.registry().put_employee(employerId, employeeId, body.profile())
    return EmployeeOut.of(employee)


@app.get(
    "/employers/<employerId>/employees/<employeeId>",
    summary="One employee with its access state",
    responses=error_responses(*_AUTH_ERRORS, 404, s404="`EMPLOYEE_NOT_FOUND`."),
)
def get_employee(employerId: EmployerId, employeeId: EmployeeId) -> EmployeeOut:  # noqa: N803
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
    employerId: EmployerId,  # noqa: N803
    accessStatus: Annotated[AccessStatus | None, Query(description="Only employees in this access status.")] = None,  # noqa: N803
    limit: Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")] = 50,
    nextToken: Annotated[str | None, Query(max_length=512, description="From the previous page.")] = None,  # noqa: N803
) -> EmployeeList:
    page = services.registry().list_employees(employerId, accessStatus, limit, _decode_token(nextToken))
    return EmployeeList(items=[EmployeeOut.of(e) for e in page.items], next_token=_encode_token(page.after))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
