"""The API's authorizers, run before a function the way API Gateway runs them.

The functions trust `requestContext.authorizer` because API Gateway filled it in after checking the
caller; a local stack that skipped the check would let every test pass against an unguarded API. So
a Cognito authorizer verifies the token's signature against the pool's JWKS (served by moto), its
expiry, issuer and use, and hands the claims over in REST's format: every value a string, the dates
in Java's `Date.toString()` form, `cognito:groups` comma-joined. A Lambda authorizer (TOKEN or
REQUEST) is invoked with API Gateway's event, and its policy decides.

Token expiry is checked against real time, not the shifted clock: moto, like Cognito, issues tokens
by the real clock, and `POST /_local/clock` moves only the time the functions see.
"""

from __future__ import annotations

import fnmatch
import logging
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

import jwt

from local.functions import Function
from local.responses import GatewayError

log = logging.getLogger("local.authorizers")

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Authorizer(Protocol):
    name: str

    def authorize(self, event: Mapping[str, Any], method_arn: str, scopes: Sequence[str]) -> dict[str, Any]:
        """What goes into `requestContext.authorizer`; raises GatewayError to refuse the request."""
        ...


def _unauthorized(message: str) -> GatewayError:
    return GatewayError(401, "UNAUTHENTICATED", message, response_type="UNAUTHORIZED")


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _java_date(epoch_seconds: float) -> str:
    moment = datetime.fromtimestamp(epoch_seconds, UTC)
    return f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment:%d %H:%M:%S} UTC {moment.year}"


def _claim_text(name: str, value: Any) -> str:
    if name in ("exp", "iat") and isinstance(value, int | float) and not isinstance(value, bool):
        return _java_date(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return str(value)


class CognitoAuthorizer:
    def __init__(
        self,
        name: str,
        pool_ids: Sequence[str],
        header: str,
        validation_expression: str | None,
        jwks_url: Callable[[str], str],
    ) -> None:
        self.name = name
        self._pool_ids = tuple(pool_ids)
        self._header = header
        self._validation = re.compile(validation_expression) if validation_expression else None
        self._jwks_url = jwks_url
        self._jwks: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def authorize(self, event: Mapping[str, Any], method_arn: str, scopes: Sequence[str]) -> dict[str, Any]:
        raw = _header(event, self._header)
        if not raw or (self._validation is not None and not self._validation.fullmatch(raw)):
            raise _unauthorized(f"A token is required in the {self._header} header.")
        token = raw[7:].strip() if raw[:7].lower() == "bearer " else raw.strip()
        try:
            issuer = str(jwt.decode(token, options={"verify_signature": False}).get("iss", ""))
            pool_id = next((pool for pool in self._pool_ids if issuer.endswith(f"/{pool}")), None)
            if pool_id is None:
                raise _unauthorized("The token was not issued by this API's user pool.")
            key = self._client(pool_id).get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                options={"require": ["exp", "iss", "token_use"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError as error:
            raise _unauthorized("The token has expired.") from error
        except jwt.PyJWTError as error:
            raise _unauthorized("The token is not valid.") from error
        if scopes:
            granted = set(str(claims.get("scope", "")).split())
            if claims["token_use"] != "access" or not granted & set(scopes):
                raise _unauthorized("The token does not carry a scope this route needs.")
        elif claims["token_use"] != "id":
            raise _unauthorized("An ID token is required.")
        return {"claims": {name: _claim_text(name, value) for name, value in claims.items()}}

    def _client(self, pool_id: str) -> jwt.PyJWKClient:
        with self._lock:
            if pool_id not in self._jwks:
                self._jwks[pool_id] = jwt.PyJWKClient(self._jwks_url(pool_id), cache_keys=True)
            return self._jwks[pool_id]


class LambdaAuthorizer:
    def __init__(self, name: str, function: Function, payload_type: str, identity: Mapping[str, Any]) -> None:
        if payload_type not in ("TOKEN", "REQUEST"):
            raise ValueError(f"authorizer {name}: FunctionPayloadType must be TOKEN or REQUEST")
        self.name = name
        self._function = function
        self._payload_type = payload_type
        self._identity = identity

    def authorize(self, event: Mapping[str, Any], method_arn: str, scopes: Sequence[str]) -> dict[str, Any]:
        authorizer_event = self._event(event, method_arn)
        started = time.monotonic()
        try:
            result = self._function.invoke(authorizer_event)
        except Exception as error:
            if str(error) == "Unauthorized":
                raise _unauthorized("The authorizer refused the request.") from error
            log.exception("authorizer %s (%s) failed", self.name, self._function.logical_id)
            raise GatewayError(
                500, "INTERNAL_ERROR", "The authorizer failed.", response_type="AUTHORIZER_FAILURE"
            ) from error
        principal_id, context = _policy_outcome(self.name, result, method_arn)
        return {**context, "principalId": principal_id, "integrationLatency": int((time.monotonic() - started) * 1000)}

    def _event(self, event: Mapping[str, Any], method_arn: str) -> dict[str, Any]:
        """API Gateway's authorizer event; it is not called at all when an identity source is missing."""
        if self._payload_type == "TOKEN":
            header = self._identity.get("Header", "Authorization")
            token = _header(event, header)
            expression = self._identity.get("ValidationExpression")
            if not token or (expression and not re.fullmatch(expression, token)):
                raise _unauthorized(f"A token is required in the {header} header.")
            return {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        sources: list[Any] = [_header(event, name) for name in self._identity.get("Headers", [])]
        sources += [
            (event.get("queryStringParameters") or {}).get(name) for name in self._identity.get("QueryStrings", [])
        ]
        sources += [(event.get("stageVariables") or {}).get(name) for name in self._identity.get("StageVariables", [])]
        for path in self._identity.get("Context", []):
            value: Any = event.get("requestContext")
            for part in str(path).split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            sources.append(value)
        if not all(sources):
            raise _unauthorized("The request lacks the identity the authorizer needs.")
        keys = (
            "resource",
            "path",
            "httpMethod",
            "headers",
            "multiValueHeaders",
            "queryStringParameters",
            "multiValueQueryStringParameters",
            "pathParameters",
            "stageVariables",
            "requestContext",
        )
        return {"type": "REQUEST", "methodArn": method_arn, **{key: event.get(key) for key in keys}}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_outcome(name: str, result: Any, method_arn: str) -> tuple[str, dict[str, Any]]:
    """The principal and context of an Allow; 403 on an explicit or implicit Deny, 500 on a malformed answer."""
    malformed = GatewayError(
        500, "INTERNAL_ERROR", "The authorizer gave a malformed answer.", response_type="AUTHORIZER_CONFIGURATION_ERROR"
    )
    if not isinstance(result, Mapping) or "principalId" not in result:
        log.error("authorizer %s answered without a principalId", name)
        raise malformed
    policy = result.get("policyDocument")
    if not isinstance(policy, Mapping):
        log.error("authorizer %s answered without a policyDocument", name)
        raise malformed
    allowed = False
    for statement in _as_list(policy.get("Statement") or []):
        actions = _as_list(statement.get("Action") or [])
        resources = _as_list(statement.get("Resource") or [])
        applies = any(fnmatch.fnmatchcase("execute-api:Invoke", str(action)) for action in actions) and any(
            fnmatch.fnmatchcase(method_arn, str(resource)) for resource in resources
        )
        if applies and statement.get("Effect") == "Deny":
            allowed = False
            break
        allowed = allowed or (applies and statement.get("Effect") == "Allow")
    if not allowed:
        raise GatewayError(
            403, "FORBIDDEN", "The authorizer denied access to this resource.", response_type="ACCESS_DENIED"
        )
    context: dict[str, Any] = {}
    for key, value in (result.get("context") or {}).items():
        if not isinstance(value, str | int | float | bool):
            log.error(
                "authorizer %s put a %s into its context; only strings, numbers and booleans pass", name, type(value)
            )
            raise malformed
        context[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return str(result["principalId"]), context
