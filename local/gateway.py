"""API Gateway (REST, Lambda proxy integration) in front of the functions, built from the template's Api events.

The handlers are written against API Gateway's proxy event and answer its proxy response, so the
gateway reproduces both in full rather than an approximation a handler could come to depend on:
the most specific resource wins (literal segment before `{param}` before `{proxy+}`), path and query
parameters arrive decoded, repeated headers and query keys in the multi-value maps, a body that is
binary (a BinaryMediaType of the API, or not UTF-8) base64-encoded, and the response's headers and
multi-value headers (several Set-Cookie) merge the way API Gateway merges them. A function that
raises, or answers something that is not a proxy response, is a 502, as on AWS. The gateway's own
answers (no route, no token, denied, too large) follow the API's GatewayResponses when the template
customises them, as API Gateway's do.

HEAD is the one deliberate difference: a resource without a HEAD method answers HEAD with its GET
route (no body), as a web server would. API Gateway itself only does so when the template declares
HEAD or ANY.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hashlib
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlsplit

from local.authorizers import Authorizer, CognitoAuthorizer, LambdaAuthorizer
from local.functions import Function
from local.responses import LOCAL_MARKER, GatewayError, HttpRequest, HttpResponse
from local.template import ACCOUNT_ID, REGION, Resolver, Template, TemplateError, references
from werknemerloket.clock import Clock

log = logging.getLogger("local.gateway")

MAX_BODY_BYTES = 1024 * 1024
IMPLICIT_API = "ServerlessRestApi"  # what SAM names the API of events without a RestApiId
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection"})
_CONTEXT_VARIABLE = re.compile(r"\$context\.([A-Za-z.]*[A-Za-z])")


@dataclass(frozen=True)
class ApiStage:
    logical_id: str
    api_id: str
    stage: str
    binary_media_types: tuple[str, ...]
    stage_variables: dict[str, str] | None
    gateway_responses: dict[str, dict[str, Any]]

    def is_binary(self, content_type: str | None) -> bool:
        media_type = (content_type or "").split(";", 1)[0].strip().lower()
        return bool(media_type) and any(fnmatch.fnmatchcase(media_type, pattern) for pattern in self.binary_media_types)


@dataclass(frozen=True)
class Route:
    function: Function
    method: str  # upper case, or ANY
    path: str  # the resource path, e.g. /employers/{employerId}
    api: ApiStage
    authorizer: Authorizer | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class ApiEvent:
    """An `Type: Api` event as the template declares it, before anything is resolved."""

    function_id: str
    event_name: str
    api_id: str
    properties: Mapping[str, Any]


def api_events(template: Template) -> Iterator[ApiEvent]:
    apis = {lid for lid, _ in template.resources_of_type("AWS::Serverless::Api")}
    for function_id, _ in template.resources_of_type("AWS::Serverless::Function"):
        for name, event in (template.properties(function_id).get("Events") or {}).items():
            if event.get("Type") != "Api":
                continue
            props = event.get("Properties") or {}
            api_ids = references(props.get("RestApiId"), apis) if "RestApiId" in props else {IMPLICIT_API}
            if len(api_ids) != 1:
                raise TemplateError(f"{function_id}.{name}: RestApiId must be a Ref to an AWS::Serverless::Api")
            yield ApiEvent(function_id, name, api_ids.pop(), props)


def api_properties(template: Template, api_id: str) -> dict[str, Any]:
    if api_id == IMPLICIT_API:
        return dict((template.body.get("Globals") or {}).get("Api") or {})
    return template.properties(api_id)


def authorizer_name(template: Template, event: ApiEvent) -> str | None:
    """The event's own authorizer, else its API's DefaultAuthorizer; None when the route is open."""
    auth = api_properties(template, event.api_id).get("Auth") or {}
    name = (event.properties.get("Auth") or {}).get("Authorizer", auth.get("DefaultAuthorizer"))
    if name is None or name == "NONE":
        return None
    if name == "AWS_IAM":
        raise TemplateError(f"{event.function_id}.{event.event_name}: AWS_IAM authorization is not emulated")
    if name not in (auth.get("Authorizers") or {}):
        raise TemplateError(f"{event.function_id}.{event.event_name}: unknown authorizer {name}")
    return str(name)


def employer_pool(template: Template) -> str | None:
    """The user pool of the employer API (the routes under /employers/), where employer tokens come from."""
    pools = {lid for lid, _ in template.resources_of_type("AWS::Cognito::UserPool")}
    found: set[str] = set()
    for event in api_events(template):
        name = authorizer_name(template, event)
        if name is not None and str(event.properties.get("Path", "")).startswith("/employers/"):
            spec = api_properties(template, event.api_id)["Auth"]["Authorizers"][name]
            found |= references(spec.get("UserPoolArn"), pools)
    if len(found) > 1:
        raise TemplateError(f"the employer API is guarded by several user pools ({', '.join(sorted(found))})")
    return found.pop() if found else None


def build_routes(
    template: Template,
    resolver: Resolver,
    functions: Mapping[str, Function],
    jwks_url: Callable[[str], str],
) -> list[Route]:
    stages: dict[str, ApiStage] = {}
    authorizers: dict[tuple[str, str], Authorizer] = {}
    routes: list[Route] = []
    taken: dict[tuple[str, str], str] = {}
    for event in api_events(template):
        if event.function_id not in functions:
            continue  # the function's Condition is false
        api_props = api_properties(template, event.api_id)
        if event.api_id not in stages:
            stages[event.api_id] = _stage(resolver, event.api_id, api_props)
        authorizer = None
        name = authorizer_name(template, event)
        if name is not None:
            if (event.api_id, name) not in authorizers:
                spec = resolver.resolve(api_props["Auth"]["Authorizers"][name])
                authorizers[event.api_id, name] = _authorizer(name, spec, functions, jwks_url)
            authorizer = authorizers[event.api_id, name]
        props = resolver.resolve(dict(event.properties))
        method = str(props["Method"]).upper()
        path = "/" + str(props["Path"]).strip("/")
        where = f"{event.function_id}.{event.event_name}"
        if (path, method) in taken:
            raise TemplateError(f"{where} and {taken[path, method]} both serve {method} {path}")
        taken[path, method] = where
        scopes = tuple((props.get("Auth") or {}).get("AuthorizationScopes") or ())
        routes.append(Route(functions[event.function_id], method, path, stages[event.api_id], authorizer, scopes))
    return routes


def _stage(resolver: Resolver, api_id: str, props: Mapping[str, Any]) -> ApiStage:
    stage_name = resolver.resolve(props.get("StageName", "Prod"))
    media_types = resolver.resolve(props.get("BinaryMediaTypes") or [])
    variables = resolver.resolve(props.get("Variables"))
    physical_id = api_id.lower()[:10] if api_id == IMPLICIT_API else resolver.ref(api_id)
    return ApiStage(
        logical_id=api_id,
        api_id=str(physical_id),
        stage=str(stage_name),
        binary_media_types=tuple(str(media).replace("~1", "/").lower() for media in media_types),
        stage_variables={key: str(value) for key, value in variables.items()} if variables else None,
        gateway_responses=resolver.resolve(props.get("GatewayResponses") or {}),
    )


def _authorizer(
    name: str, spec: Mapping[str, Any], functions: Mapping[str, Function], jwks_url: Callable[[str], str]
) -> Authorizer:
    identity = spec.get("Identity") or {}
    if "UserPoolArn" in spec:
        arns = spec["UserPoolArn"] if isinstance(spec["UserPoolArn"], list) else [spec["UserPoolArn"]]
        pool_ids = [str(arn).rsplit("/", 1)[-1] for arn in arns]
        header = identity.get("Header", "Authorization")
        return CognitoAuthorizer(name, pool_ids, header, identity.get("ValidationExpression"), jwks_url)
    if "FunctionArn" in spec:
        function = next((f for f in functions.values() if f.arn == spec["FunctionArn"]), None)
        if function is None:
            raise TemplateError(
                f"authorizer {name}: FunctionArn {spec['FunctionArn']} is not a function of the template"
            )
        return LambdaAuthorizer(name, function, str(spec.get("FunctionPayloadType", "TOKEN")), identity)
    raise TemplateError(
        f"authorizer {name}: only Cognito (UserPoolArn) and Lambda (FunctionArn) authorizers are emulated"
    )


def _segments(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.strip("/").split("/") if part)


def _match(segments: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    """The path parameters when the request path's (still encoded) parts fit the resource, else None."""
    params: dict[str, str] = {}
    for index, segment in enumerate(segments):
        if segment.startswith("{") and segment.endswith("+}"):
            rest = parts[index:]
            if not rest or "" in rest:
                return None
            params[segment[1:-2]] = unquote("/".join(rest))
            return params
        if index >= len(parts) or not parts[index]:
            return None
        if segment.startswith("{") and segment.endswith("}"):
            params[segment[1:-1]] = unquote(parts[index])
        elif segment != unquote(parts[index]):
            return None
    return params if len(parts) == len(segments) else None


def _specificity(segments: tuple[str, ...]) -> tuple[int, ...]:
    return tuple(2 if s.endswith("+}") else 1 if s.startswith("{") else 0 for s in segments)


def _text(body: bytes) -> str | None:
    """The body as text, or None when it is empty or not UTF-8 (then it travels base64-encoded)."""
    if not body:
        return None
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _request_time(moment: float) -> str:
    utc = time.gmtime(moment)
    return f"{utc.tm_mday:02d}/{_MONTHS[utc.tm_mon - 1]}/{utc.tm_year}:{time.strftime('%H:%M:%S', utc)} +0000"


class Gateway:
    def __init__(self, routes: list[Route], clock: Clock, port: int) -> None:
        self.routes = routes
        self._clock = clock
        self._port = port
        by_path: dict[str, dict[str, Route]] = {}
        for route in routes:
            by_path.setdefault(route.path, {})[route.method] = route
        # Most specific first, so that the first resource that matches is the one API Gateway picks.
        self._resources = sorted(
            ((_segments(path), path, methods) for path, methods in by_path.items()),
            key=lambda resource: _specificity(resource[0]),
        )
        apis = {route.api.logical_id: route.api for route in routes}
        # A request that matches no route belongs to no API; with a single API it can only have meant that one.
        self._sole_api = next(iter(apis.values())) if len(apis) == 1 else None

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        target = urlsplit(request.target)
        api = self._sole_api
        try:
            route, method, params = self._route(request.method.upper(), target.path)
            api = route.api
            response = self._call(route, request, method, target, params, request_id)
        except GatewayError as error:
            log.info("%s %s refused: %s", request.method, target.path, error.message)
            response = self._answer(error, api, request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def refuse(self, error: GatewayError) -> HttpResponse:
        """The gateway's answer to a request refused before it was routed (e.g. a body over the limit)."""
        request_id = str(uuid.uuid4())
        response = self._answer(error, self._sole_api, request_id)
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def _route(self, method: str, path: str) -> tuple[Route, str, dict[str, str]]:
        """The route, the method the function sees, and the path parameters."""
        parts = path.strip("/").split("/") if path.strip("/") else []
        matches = ((resource, methods, _match(segments, parts)) for segments, resource, methods in self._resources)
        found = next(((r, m, p) for r, m, p in matches if p is not None), None)
        if found is None:
            message = f"No route serves {path}."
            raise GatewayError(404, "NOT_FOUND", message, response_type="MISSING_AUTHENTICATION_TOKEN")
        resource, methods, params = found
        route = methods.get(method) or methods.get("ANY")
        if route is None and method == "HEAD" and "GET" in methods:
            return methods["GET"], "GET", params
        if route is None:
            # API Gateway answers a method a resource does not serve like a path it does not know:
            # MISSING_AUTHENTICATION_TOKEN, which the template's GatewayResponses may rewrite.
            message = f"{resource} does not serve {method}."
            raise GatewayError(404, "NOT_FOUND", message, response_type="MISSING_AUTHENTICATION_TOKEN")
        return route, method, params

    def _call(
        self,
        route: Route,
        request: HttpRequest,
        method: str,
        target: SplitResult,
        params: dict[str, str],
        request_id: str,
    ) -> HttpResponse:
        event = self._event(route, request, method, target, params, request_id)
        if route.authorizer is not None:
            method_arn = f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{route.api.api_id}/{route.api.stage}/{method}/"
            method_arn += target.path.lstrip("/")
            event["requestContext"]["authorizer"] = route.authorizer.authorize(event, method_arn, route.scopes)
        try:
            result = route.function.invoke(event)
        except Exception as error:
            log.exception("%s failed on %s %s", route.function.logical_id, request.method, target.path)
            raise GatewayError(502, "INTERNAL_ERROR", "The function failed; see the local stack's log.") from error
        return _proxy_response(route, result)

    def _answer(self, error: GatewayError, api: ApiStage | None, request_id: str) -> HttpResponse:
        """The template's GatewayResponse for the situation (or its DEFAULT_4XX/5XX), else the local answer."""
        responses = api.gateway_responses if api is not None and error.response_type else {}
        custom = responses.get(error.response_type or "") or responses.get(f"DEFAULT_{error.status // 100}XX")
        if custom is None:
            return error.response()
        templates: dict[str, str] = custom.get("ResponseTemplates") or {}
        content_type = "application/json" if "application/json" in templates else next(iter(templates), None)
        variables = {
            "error.message": error.message,
            "error.messageString": json.dumps(error.message),
            "error.responseType": error.response_type or "",
            "requestId": request_id,
        }
        if content_type is None:
            body, content_type = error.response().body, "application/json"
        else:
            body = _CONTEXT_VARIABLE.sub(
                lambda m: variables.get(m.group(1), m.group(0)), templates[content_type]
            ).encode()
        headers = [("Content-Type", content_type), LOCAL_MARKER, *error.headers]
        for name, value in ((custom.get("ResponseParameters") or {}).get("Headers") or {}).items():
            if len(value) >= 2 and value[0] == value[-1] == "'":  # only static values mean something here
                headers.append((name, value[1:-1]))
        return HttpResponse(int(custom.get("StatusCode", error.status)), headers, body)

    def _event(
        self,
        route: Route,
        request: HttpRequest,
        method: str,
        target: SplitResult,
        params: dict[str, str],
        request_id: str,
    ) -> dict[str, Any]:
        """API Gateway's Lambda proxy event (payload format 1.0)."""
        pairs = [(name, value) for name, value in request.headers if name.lower() != "x-forwarded-for"]
        forwarded_for = ", ".join(filter(None, [request.header("X-Forwarded-For"), request.source_ip]))
        pairs += [
            ("X-Forwarded-For", forwarded_for),
            ("X-Forwarded-Proto", "http"),
            ("X-Forwarded-Port", str(self._port)),
        ]
        headers: dict[str, str] = {}
        multi_headers: dict[str, list[str]] = {}
        for name, value in pairs:
            headers[name] = value
            multi_headers.setdefault(name, []).append(value)
        query: dict[str, str] = {}
        multi_query: dict[str, list[str]] = {}
        for name, value in parse_qsl(target.query, keep_blank_values=True):
            query[name] = value
            multi_query.setdefault(name, []).append(value)
        body = None if route.api.is_binary(request.header("Content-Type")) else _text(request.body)
        is_base64 = body is None and bool(request.body)
        if is_base64:
            body = base64.b64encode(request.body).decode()
        now = self._clock.now().timestamp()
        return {
            "resource": route.path,
            "path": target.path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": params or None,
            "stageVariables": route.api.stage_variables,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": route.api.api_id,
                "resourceId": hashlib.sha256(route.path.encode()).hexdigest()[:6],
                "resourcePath": route.path,
                "httpMethod": method,
                "path": f"/{route.api.stage}{target.path}",
                "stage": route.api.stage,
                "requestId": request_id,
                "extendedRequestId": request_id,
                "requestTime": _request_time(now),
                "requestTimeEpoch": int(now * 1000),
                "protocol": "HTTP/1.1",
                "domainName": request.header("Host") or f"127.0.0.1:{self._port}",
                "identity": {
                    "sourceIp": request.source_ip,
                    "userAgent": request.header("User-Agent"),
                    "accountId": None,
                    "apiKey": None,
                    "apiKeyId": None,
                    "caller": None,
                    "cognitoAuthenticationProvider": None,
                    "cognitoAuthenticationType": None,
                    "cognitoIdentityId": None,
                    "cognitoIdentityPoolId": None,
                    "principalOrgId": None,
                    "user": None,
                    "userArn": None,
                    "clientCert": None,
                },
            },
            "body": body,
            "isBase64Encoded": is_base64,
        }


def _proxy_response(route: Route, result: Any) -> HttpResponse:
    """The HTTP answer for a proxy response; anything that is not one is a 502, as API Gateway answers."""
    try:
        if not isinstance(result, Mapping):
            raise TypeError(f"a {type(result).__name__} instead of a dict")
        status = result.get("statusCode")
        status = int(status) if isinstance(status, str) and status.isdigit() else status
        if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
            raise TypeError(f"statusCode {status!r}")
        raw_body = result.get("body")
        if raw_body is not None and not isinstance(raw_body, str):
            raise TypeError(f"a body of type {type(raw_body).__name__}")
        body = (raw_body or "").encode()
        if raw_body and result.get("isBase64Encoded"):
            body = base64.b64decode(raw_body, validate=True)
    except (TypeError, ValueError, binascii.Error) as error:
        log.error("%s answered a malformed proxy response: %s", route.function.logical_id, error)
        raise GatewayError(502, "INTERNAL_ERROR", "The function gave a malformed answer.") from error
    merged: dict[str, tuple[str, list[str]]] = {}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        merged[name.lower()] = (name, [str(value) for value in (values if isinstance(values, list) else [values])])
    for name, value in (result.get("headers") or {}).items():
        merged.setdefault(name.lower(), (name, [str(value)]))
    headers = [(name, value) for key, (name, values) in merged.items() if key not in _HOP_BY_HOP for value in values]
    if "content-type" not in merged:
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, body)
