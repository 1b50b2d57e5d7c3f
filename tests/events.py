"""Builders of the events API Gateway and EventBridge hand to the functions, so tests never copy JSON."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    aws_request_id: str = "request-1"

    def get_remaining_time_in_millis(self) -> int:
        return 15_000


def employer_claims(*employer_ids: str, sub: str = "admin-sub") -> dict[str, str]:
    """Claims as the REST API's Cognito authorizer passes them: every value a string."""
    return {"sub": sub, "cognito:groups": ",".join(f"employer-{e}" for e in employer_ids), "token_use": "id"}


def api_event(
    method: str,
    resource: str,
    path_parameters: dict[str, str] | None = None,
    *,
    body: Any = None,
    raw_body: str | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    claims: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A REST (v1) proxy event for `resource` (e.g. `/employers/{employerId}`) with its parameters filled in."""
    params = path_parameters or {}
    path = resource
    for name, value in params.items():
        path = path.replace("{" + name + "}", value)
    all_headers = {"Content-Type": "application/json", "Host": "api.example.test"} | (headers or {})
    if raw_body is None and body is not None:
        raw_body = json.dumps(body)
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": all_headers,
        "multiValueHeaders": {name: [value] for name, value in all_headers.items()},
        "queryStringParameters": query or None,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "stage": "test",
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/test{path}",
            "identity": {"sourceIp": "192.0.2.10", "userAgent": "pytest"},
            "authorizer": {"claims": claims} if claims else None,
        },
        "body": raw_body,
        "isBase64Encoded": False,
    }


def response_json(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])
