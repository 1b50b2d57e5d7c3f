"""The local stack itself: does it serve what the template declares, the way API Gateway and Lambda would?

Two stacks. `stack` runs the repository's template: every Api event must reach its function, the
Cognito authorizer must refuse what API Gateway refuses, and the local routes must work. `echo`
runs a small template of its own whose functions answer what they were given, so that the event
shapes, the Lambda authorizer, queues, schedules, destinations and the outbox can be checked exactly,
whatever the product's functions do today.
"""

from __future__ import annotations

import base64
import gzip
import json
import re
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from moto.cognitoidp import responses as cognito_responses

from local.gateway import ApiEvent, api_events, api_properties, authorizer_name
from local.template import Template

if TYPE_CHECKING:
    from tests.e2e.conftest import Http, HttpReply, LocalStackProcess

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Template.load(ROOT / "template.yaml")
EMPLOYER = "e2e-routes"
JAVA_DATE = re.compile(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}")


def _guard(event: ApiEvent) -> str | None:
    """How the route is guarded: "cognito", "lambda", or None when it is open."""
    name = authorizer_name(TEMPLATE, event)
    if name is None:
        return None
    spec = api_properties(TEMPLATE, event.api_id)["Auth"]["Authorizers"][name]
    return "cognito" if "UserPoolArn" in spec else "lambda"


def _sample_path(path: str) -> str:
    path = re.sub(r"\{[^}/]+\+\}", "sample/path", path)
    return re.sub(r"\{([^}/]+)\}", lambda match: EMPLOYER if match.group(1) == "employerId" else "sample", path)


API_EVENTS = list(api_events(TEMPLATE))
COGNITO_ROUTES = [event for event in API_EVENTS if _guard(event) == "cognito"]


def _method_and_path(event: ApiEvent) -> tuple[str, str]:
    return str(event.properties["Method"]).upper().replace("ANY", "GET"), _sample_path(str(event.properties["Path"]))


def _assert_gateway_error(reply: HttpReply, status: int, code: str) -> None:
    assert reply.status == status, reply
    assert reply.headers.get("X-Local-Gateway") == "1"
    assert reply.body["error"]["code"] == code
    assert isinstance(reply.body["error"]["message"], str)


# ---------------------------------------------------------------------------------------- the product's stack


def test_health_says_ok(http: Http) -> None:
    reply = http.get("/_local/health")

    assert reply.status == 200
    assert reply.body["status"] == "ok"


@pytest.mark.parametrize("event", API_EVENTS, ids=lambda event: f"{event.function_id}.{event.event_name}")
def test_every_api_event_of_the_template_reaches_its_function(stack: LocalStackProcess, event: ApiEvent) -> None:
    # Given the route's method and a path with sample parameters, and a token where the route needs one
    method, path = _method_and_path(event)
    token = stack.employer_token(EMPLOYER) if _guard(event) == "cognito" else None
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}

    # When it is called
    reply = stack.http.request(method, path, token=token, **body)

    # Then the function answered, not the gateway (which, behind a Lambda authorizer this test has no
    # credentials for, may refuse the caller, but must know the route)
    answered_by = f"{method} {path}: {reply.status} {reply.body!r}"
    if _guard(event) == "lambda":
        assert reply.status not in (404, 405) or reply.headers.get("X-Local-Gateway") is None, answered_by
    else:
        assert reply.headers.get("X-Local-Gateway") is None, answered_by


class TestCognitoAuthorizer:
    @pytest.fixture
    def route(self) -> tuple[str, str]:
        assert COGNITO_ROUTES, "the template's employer API has routes behind the Cognito authorizer"
        return _method_and_path(COGNITO_ROUTES[0])

    @pytest.fixture
    def issuer(self, stack: LocalStackProcess) -> str:
        claims = jwt.decode(stack.employer_token(EMPLOYER), options={"verify_signature": False})
        return str(claims["iss"])

    def _mint(self, issuer: str, key: Any, **changes: Any) -> str:
        now = datetime.now(UTC)
        claims = {
            "iss": issuer,
            "sub": str(uuid.uuid4()),
            "aud": "client",
            "token_use": "id",
            "iat": now,
            "exp": now + timedelta(hours=1),
            "cognito:username": f"admin-{EMPLOYER}",
            "cognito:groups": [f"employer-{EMPLOYER}"],
        } | changes
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})

    @pytest.fixture
    def moto_key(self) -> Any:
        """The private key moto signs every pool's tokens with, to forge tokens that differ in one claim only."""
        path = Path(cognito_responses.__file__).parent / "resources" / "jwks-private.json.gz"
        return jwt.PyJWK(json.loads(gzip.decompress(path.read_bytes()))).key

    def test_a_request_without_a_token_is_401(self, http: Http, route: tuple[str, str]) -> None:
        reply = http.request(*route)

        _assert_gateway_error(reply, 401, "UNAUTHENTICATED")

    def test_a_garbage_token_is_401(self, http: Http, route: tuple[str, str]) -> None:
        reply = http.request(*route, token="not-a-jwt")

        _assert_gateway_error(reply, 401, "UNAUTHENTICATED")

    def test_a_token_signed_by_a_foreign_key_is_401(self, http: Http, route: tuple[str, str], issuer: str) -> None:
        foreign_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

        reply = http.request(*route, token=self._mint(issuer, foreign_key))

        _assert_gateway_error(reply, 401, "UNAUTHENTICATED")

    def test_a_forged_token_that_is_otherwise_right_passes(
        self, http: Http, route: tuple[str, str], issuer: str, moto_key: Any
    ) -> None:
        """The forgeries below are refused for the one claim they change, not for how they are made."""
        reply = http.request(*route, token=self._mint(issuer, moto_key))

        assert reply.headers.get("X-Local-Gateway") is None, reply

    def test_an_expired_token_is_401(self, http: Http, route: tuple[str, str], issuer: str, moto_key: Any) -> None:
        expired = datetime.now(UTC) - timedelta(seconds=5)

        reply = http.request(*route, token=self._mint(issuer, moto_key, exp=expired))

        _assert_gateway_error(reply, 401, "UNAUTHENTICATED")

    def test_a_token_of_another_pool_is_401(
        self, http: Http, route: tuple[str, str], issuer: str, moto_key: Any
    ) -> None:
        other_pool = issuer.rsplit("/", 1)[0] + "/eu-west-1_another"

        reply = http.request(*route, token=self._mint(other_pool, moto_key))

        _assert_gateway_error(reply, 401, "UNAUTHENTICATED")

    def test_an_access_token_is_401(self, http: Http, route: tuple[str, str], issuer: str, moto_key: Any) -> None:
        reply = http.request(*route, token=self._mint(issuer, moto_key, token_use="access"))

        _assert_gateway_error(reply, 401, "UNAUTHENTICATED")


def test_an_unknown_path_is_404(http: Http) -> None:
    _assert_gateway_error(http.get("/no/such/route"), 404, "NOT_FOUND")


def test_an_unserved_method_is_answered_like_an_unknown_path(http: Http) -> None:
    path = API_EVENTS[0].properties["Path"]
    served = {str(event.properties["Method"]).upper() for event in API_EVENTS if event.properties["Path"] == path}
    unserved = next(method for method in ("PATCH", "OPTIONS", "DELETE", "PUT", "POST") if method not in served)

    reply = http.request(unserved, _sample_path(str(path)))

    _assert_gateway_error(reply, 404, "NOT_FOUND")


def test_the_clock_moves_forward_and_says_so(stack: LocalStackProcess) -> None:
    before = stack.clock()

    after = stack.advance_clock(3600)

    assert after["offsetSeconds"] == pytest.approx(before["offsetSeconds"] + 3600)
    moved = datetime.fromisoformat(after["now"]) - datetime.fromisoformat(before["now"])
    assert timedelta(seconds=3600) <= moved < timedelta(seconds=3660)
    assert stack.clock()["offsetSeconds"] == after["offsetSeconds"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"advanceSeconds": -1}, 422, "VALIDATION_ERROR"),
        ({"advanceSeconds": "60"}, 422, "VALIDATION_ERROR"),
        ({"advanceSeconds": True}, 422, "VALIDATION_ERROR"),
        ({}, 422, "VALIDATION_ERROR"),
        ([60], 422, "VALIDATION_ERROR"),
        ("{not json", 400, "BAD_REQUEST"),
    ],
)
def test_the_clock_refuses_what_is_not_a_forward_move(http: Http, body: Any, status: int, code: str) -> None:
    as_json = {"Content-Type": "application/json"}
    kwargs = {"data": body, "headers": as_json} if isinstance(body, str) else {"json": body}

    _assert_gateway_error(http.post("/_local/clock", **kwargs), status, code)


@pytest.mark.parametrize("employer_id", ["", "has space", "x" * 65, 42, None])
def test_an_employer_token_needs_a_valid_employer_id(http: Http, employer_id: Any) -> None:
    reply = http.post("/_local/employer-token", json={"employerId": employer_id})

    _assert_gateway_error(reply, 422, "VALIDATION_ERROR")


def test_an_employer_token_is_an_id_token_of_the_employers_group(stack: LocalStackProcess) -> None:
    claims = jwt.decode(stack.employer_token("e2e-token"), options={"verify_signature": False})

    assert claims["token_use"] == "id"
    assert claims["cognito:groups"] == ["employer-e2e-token"]
    assert stack.employer_token("e2e-token")  # asking again is fine


def test_the_outbox_answers_json_or_a_page(http: Http) -> None:
    assert isinstance(http.get("/_local/outbox.json").body["messages"], list)
    assert isinstance(http.get("/_local/outbox", headers={"Accept": "application/json"}).body["messages"], list)

    page = http.get("/_local/outbox", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.headers.get_content_type() == "text/html"
    assert "<h1>Outbox" in page.body


SCHEDULED = [
    (function_id, Path(str(resource["Properties"]["CodeUri"])).name)
    for function_id, resource in TEMPLATE.resources_of_type("AWS::Serverless::Function")
    if any(event["Type"] == "Schedule" for event in (resource["Properties"].get("Events") or {}).values())
]


@pytest.mark.parametrize(("function_id", "directory"), SCHEDULED)
def test_a_scheduled_function_runs_on_demand(stack: LocalStackProcess, function_id: str, directory: str) -> None:
    answer = stack.run(directory)

    assert answer["function"] == function_id
    assert "result" in answer


def test_running_an_unknown_function_is_404(http: Http) -> None:
    _assert_gateway_error(http.post("/_local/run/no_such_function"), 404, "NOT_FOUND")


# ---------------------------------------------------------------------------------------- a template of its own

ECHO_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
  MailSender: {Type: String}
  PublicBaseUrl: {Type: String}
Globals:
  Function:
    Runtime: python3.13
    Handler: app.handler
    Timeout: 10
    Environment:
      Variables:
        JOBS_QUEUE_URL: !Ref JobsQueue
        MAIL_SENDER: !Ref MailSender
        CALLS_LOG: %(calls_log)s
Resources:
  AdminPool:
    Type: AWS::Cognito::UserPool
    Properties:
      UserPoolName: !Sub "echo-${Stage}-admins"
      Policies: {PasswordPolicy: {MinimumLength: 12}}
  AdminPoolClient:
    Type: AWS::Cognito::UserPoolClient
    Properties: {UserPoolId: !Ref AdminPool, ExplicitAuthFlows: [ALLOW_USER_SRP_AUTH]}
  JobsDeadLetters: {Type: AWS::SQS::Queue}
  JobsQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
      RedrivePolicy: {deadLetterTargetArn: !GetAtt JobsDeadLetters.Arn, maxReceiveCount: 2}
  SulkFailures: {Type: AWS::SQS::Queue}
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      BinaryMediaTypes: [application~1pdf]
      GatewayResponses:
        ACCESS_DENIED:
          StatusCode: 403
          ResponseParameters: {Headers: {X-Denied: "'yes'"}}
          ResponseTemplates:
            application/json: '{"error": {"code": "FORBIDDEN", "message": $context.error.messageString}}'
      Auth:
        Authorizers:
          Admins: {UserPoolArn: !GetAtt AdminPool.Arn}
          Gate:
            FunctionArn: !GetAtt GateFunction.Arn
            FunctionPayloadType: REQUEST
            Identity: {Headers: [X-Gate]}
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: echo/
      Events:
        Employer: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/employers/{employerId}/echo", Method: ANY,
                                           Auth: {Authorizer: Admins}}}
        Item: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/items/{itemId}", Method: GET}}
        Special: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /items/special, Method: GET}}
        Files: {Type: Api, Properties: {RestApiId: !Ref Api, Path: "/files/{proxy+}", Method: GET}}
        Upload: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /upload, Method: POST}}
        Gated: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /gated, Method: GET, Auth: {Authorizer: Gate}}}
        Boom: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /boom, Method: GET}}
        Malformed: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /malformed, Method: GET}}
        Binary: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /binary, Method: GET}}
        Jobs: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /jobs, Method: POST}}
        Mail: {Type: Api, Properties: {RestApiId: !Ref Api, Path: /mail, Method: POST}}
  GateFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: gate/}
  WorkerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: worker/
      Events:
        Jobs:
          Type: SQS
          Properties: {Queue: !GetAtt JobsQueue.Arn, BatchSize: 5, FunctionResponseTypes: [ReportBatchItemFailures]}
  TickFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: tick/
      Events:
        Tick: {Type: Schedule, Properties: {Schedule: rate(1 day)}}
  SulkFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: sulk/
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig:
          OnFailure: {Type: SQS, Destination: !GetAtt SulkFailures.Arn}
      Events:
        Nightly: {Type: Schedule, Properties: {Schedule: "cron(0 3 * * ? *)"}}
"""

ECHO_FUNCTIONS = {
    "echo/helpers.py": 'WHO = "echo"\n',
    "echo/app.py": """
        import base64, json, os
        from email.message import EmailMessage

        import boto3
        import helpers

        def handler(event, context):
            resource = event["resource"]
            if resource == "/boom":
                raise RuntimeError("boom")
            if resource == "/malformed":
                return {"statusCode": "two hundred"}
            if resource == "/binary":
                body = base64.b64encode(bytes(range(256))).decode()
                return {"statusCode": 200, "headers": {"Content-Type": "application/octet-stream"}, "body": body,
                        "isBase64Encoded": True}
            if resource == "/jobs":
                for body in json.loads(event["body"]):
                    boto3.client("sqs").send_message(QueueUrl=os.environ["JOBS_QUEUE_URL"], MessageBody=body)
                return {"statusCode": 202, "body": "{}"}
            if resource == "/mail":
                order = json.loads(event["body"])
                message = EmailMessage()
                message["From"] = os.environ["MAIL_SENDER"]
                message["To"], message["Subject"] = order["to"], order["subject"]
                message.set_content(order["text"])
                message.add_alternative(order["html"], subtype="html")
                boto3.client("ses").send_raw_email(RawMessage={"Data": message.as_bytes()})
                return {"statusCode": 200, "body": "{}"}
            answer = {"event": event, "helper": helpers.WHO, "function": context.function_name,
                      "remainingMillis": context.get_remaining_time_in_millis()}
            return {"statusCode": 200, "headers": {"Content-Type": "application/json", "Set-Cookie": "ignored=1"},
                    "multiValueHeaders": {"Set-Cookie": ["a=1; Path=/", "b=2; Path=/"]}, "body": json.dumps(answer)}
    """,
    "gate/app.py": """
        def handler(event, context):
            gate = next((value for name, value in event["headers"].items() if name.lower() == "x-gate"), "")
            if gate not in ("open", "closed"):
                raise Exception("Unauthorized")
            statement = {"Action": "execute-api:Invoke", "Effect": "Allow" if gate == "open" else "Deny",
                         "Resource": event["methodArn"]}
            return {"principalId": "gatekeeper", "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
                    "context": {"tier": "gold", "vip": True, "level": 3}}
    """,
    "worker/app.py": """
        import os

        def handler(event, context):
            failures = []
            with open(os.environ["CALLS_LOG"], "a") as log:
                for record in event["Records"]:
                    log.write(f"worker {record['body']}\\n")
                    if record["body"].startswith("fail"):
                        failures.append({"itemIdentifier": record["messageId"]})
            return {"batchItemFailures": failures}
    """,
    "tick/helpers.py": 'WHO = "tick"\n',
    "tick/app.py": """
        import helpers
        from werknemerloket.clock import get_clock, to_iso

        def handler(event, context):
            return {"detailType": event["detail-type"], "time": event["time"], "now": to_iso(get_clock().now()),
                    "helper": helpers.WHO}
    """,
    "sulk/app.py": """
        import os

        def handler(event, context):
            with open(os.environ["CALLS_LOG"], "a") as log:
                log.write("sulk\\n")
            raise RuntimeError("not today")
    """,
}


@pytest.fixture(scope="module")
def echo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("echo-stack")
    for name, source in ECHO_FUNCTIONS.items():
        (directory / name).parent.mkdir(exist_ok=True)
        (directory / name).write_text(textwrap.dedent(source))
    (directory / "template.yaml").write_text(ECHO_TEMPLATE % {"calls_log": json.dumps(str(directory / "calls.log"))})
    return directory / "template.yaml"


@pytest.fixture(scope="module")
def echo(start_local_stack: Callable[[Path | None], LocalStackProcess], echo_template: Path) -> LocalStackProcess:
    return start_local_stack(echo_template)


@pytest.fixture(scope="module")
def aws(echo: LocalStackProcess) -> Callable[[str], Any]:
    """boto3 clients on the echo stack's AWS emulation, to look behind the functions."""
    endpoint = echo.http.get("/_local/health").body["awsEndpointUrl"]

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name="eu-west-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    return client


def _calls(echo_template: Path) -> list[str]:
    log = echo_template.parent / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def _eventually(fetch: Callable[[], list[str]], seconds: float = 15) -> list[str]:
    """The first non-empty answer of `fetch`, asked again until the time is up."""
    deadline = time.monotonic() + seconds
    while not (found := fetch()):
        assert time.monotonic() < deadline, f"nothing within {seconds} s"
        time.sleep(0.1)
    return found


def _queue_bodies(aws: Callable[[str], Any], queue_name: str) -> list[str]:
    sqs = aws("sqs")
    url = sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    return [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


def test_path_and_query_parameters_arrive_decoded_in_a_rest_proxy_event(echo: LocalStackProcess) -> None:
    reply = echo.http.get("/items/a%20b?x=1&x=2&y=", headers={"User-Agent": "e2e"})

    assert reply.status == 200
    event = reply.body["event"]
    assert event["resource"] == "/items/{itemId}"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"itemId": "a b"}
    assert event["queryStringParameters"] == {"x": "2", "y": ""}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": [""]}
    assert event["headers"]["User-Agent"] == "e2e"
    assert event["multiValueHeaders"]["User-Agent"] == ["e2e"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "local"
    assert context["resourcePath"] == "/items/{itemId}"
    assert context["path"] == "/local/items/a%20b"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["requestId"] == reply.headers["x-amzn-RequestId"]
    assert "authorizer" not in context
    assert reply.body["function"] == "werknemerloket-local-EchoFunction"
    assert 0 < reply.body["remainingMillis"] <= 10_000


def test_a_literal_segment_wins_over_a_parameter_and_a_greedy_one_takes_the_rest(echo: LocalStackProcess) -> None:
    assert echo.http.get("/items/special").body["event"]["resource"] == "/items/special"
    assert echo.http.get("/files/a/b/c.txt").body["event"]["pathParameters"] == {"proxy": "a/b/c.txt"}
    _assert_gateway_error(echo.http.get("/files"), 404, "NOT_FOUND")


def test_the_answer_keeps_every_set_cookie(echo: LocalStackProcess) -> None:
    reply = echo.http.get("/items/1")

    assert reply.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert reply.headers.get("X-Local-Gateway") is None


def test_head_is_answered_by_the_get_route_without_a_body(echo: LocalStackProcess) -> None:
    reply = echo.http.head("/items/1")

    assert reply.status == 200
    assert not reply.body
    assert int(reply.headers["Content-Length"]) > 0


def test_an_unserved_method_is_answered_like_an_unknown_path_without_gateway_responses(
    echo: LocalStackProcess,
) -> None:
    reply = echo.http.delete("/items/1")

    _assert_gateway_error(reply, 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("content_type", "sent", "text"),
    [
        ("application/json", b'{"name": "Jan"}', '{"name": "Jan"}'),
        ("application/pdf", b"%PDF-1.7\n", None),
        ("text/plain", "Gr\u00fc\u00df".encode("latin-1"), None),
    ],
)
def test_a_binary_body_arrives_base64_encoded_and_text_as_it_is(
    echo: LocalStackProcess, content_type: str, sent: bytes, text: str | None
) -> None:
    event = echo.http.post("/upload", data=sent, headers={"Content-Type": content_type}).body["event"]

    if text is None:
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == sent
    else:
        assert event["isBase64Encoded"] is False
        assert event["body"] == text


def test_a_base64_answer_is_sent_as_bytes(echo: LocalStackProcess) -> None:
    reply = echo.http.get("/binary")

    assert reply.status == 200
    assert reply.body == bytes(range(256))


def test_a_body_over_one_mebibyte_is_413(echo: LocalStackProcess) -> None:
    reply = echo.http.post("/upload", data=b"x" * (1024 * 1024 + 1), headers={"Content-Type": "text/plain"})

    _assert_gateway_error(reply, 413, "PAYLOAD_TOO_LARGE")


def test_a_function_that_raises_is_a_502_and_its_traceback_is_logged(echo: LocalStackProcess) -> None:
    _assert_gateway_error(echo.http.get("/boom"), 502, "INTERNAL_ERROR")

    assert "RuntimeError: boom" in echo.log()


def test_a_malformed_proxy_answer_is_a_502(echo: LocalStackProcess) -> None:
    _assert_gateway_error(echo.http.get("/malformed"), 502, "INTERNAL_ERROR")


def test_fifty_concurrent_requests_are_all_served(echo: LocalStackProcess) -> None:
    def post(number: int) -> int:
        return echo.http.post("/upload", json={"number": number}).status

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(post, range(50)))

    assert statuses == [200] * 50


def test_cognito_claims_arrive_the_way_api_gateway_rest_hands_them_over(echo: LocalStackProcess) -> None:
    token = echo.employer_token("acme")

    reply = echo.http.post("/employers/acme/echo", token=token, json={})

    assert reply.status == 200
    claims = reply.body["event"]["requestContext"]["authorizer"]["claims"]
    assert claims["cognito:groups"] == "employer-acme"
    assert claims["cognito:username"] == "admin-acme"
    assert claims["token_use"] == "id"
    assert JAVA_DATE.fullmatch(claims["exp"])
    assert JAVA_DATE.fullmatch(claims["iat"])
    assert all(isinstance(value, str) for value in claims.values())


def test_a_lambda_authorizer_allows_and_passes_its_context_on(echo: LocalStackProcess) -> None:
    reply = echo.http.get("/gated", headers={"X-Gate": "open"})

    assert reply.status == 200
    authorizer = reply.body["event"]["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "gatekeeper"
    assert (authorizer["tier"], authorizer["vip"], authorizer["level"]) == ("gold", "true", "3")


def test_a_lambda_authorizers_deny_is_403_in_the_apis_own_gateway_response(echo: LocalStackProcess) -> None:
    reply = echo.http.get("/gated", headers={"X-Gate": "closed"})

    _assert_gateway_error(reply, 403, "FORBIDDEN")
    assert reply.body["error"]["message"] == "The authorizer denied access to this resource."
    assert reply.headers["X-Denied"] == "yes"


@pytest.mark.parametrize("headers", [{"X-Gate": "who knows"}, {}])
def test_a_lambda_authorizers_refusal_or_a_missing_identity_is_401(
    echo: LocalStackProcess, headers: dict[str, str]
) -> None:
    _assert_gateway_error(echo.http.get("/gated", headers=headers), 401, "UNAUTHENTICATED")


def test_a_queue_worker_gets_batches_and_failed_items_come_back_until_redriven(
    echo: LocalStackProcess, echo_template: Path, aws: Callable[[str], Any]
) -> None:
    # Given a worker that fails items whose body starts with "fail", on a queue with maxReceiveCount 2
    # When the API queues one good and one bad job
    assert echo.http.post("/jobs", json=["ok-1", "fail-1"]).status == 202

    # Then the good one is handled once, the bad one twice, and then it is in the dead-letter queue
    dead_letters = _eventually(lambda: _queue_bodies(aws, "werknemerloket-local-JobsDeadLetters"))
    assert dead_letters == ["fail-1"]
    calls = _calls(echo_template)
    assert calls.count("worker ok-1") == 1
    assert calls.count("worker fail-1") == 2


def test_a_schedule_runs_on_demand_with_a_scheduled_event_at_the_shifted_time(echo: LocalStackProcess) -> None:
    echo.advance_clock(86400)
    now = datetime.fromisoformat(echo.clock()["now"])

    answer = echo.run("tick")

    assert answer["function"] == "TickFunction"
    result = answer["result"]
    assert result["detailType"] == "Scheduled Event"
    assert result["helper"] == "tick"  # its own helpers module, not the echo function's
    assert abs(datetime.fromisoformat(result["now"]) - now) < timedelta(seconds=30)
    assert result["time"] <= result["now"]


def test_a_queue_driven_function_runs_one_batch_on_demand(echo: LocalStackProcess) -> None:
    answer = echo.run("WorkerFunction")

    assert answer["function"] == "WorkerFunction"
    assert answer["messages"] >= 0


def test_a_failed_scheduled_run_is_retried_and_lands_in_its_failure_destination(
    echo: LocalStackProcess, echo_template: Path, aws: Callable[[str], Any]
) -> None:
    reply = echo.http.post("/_local/run/sulk")

    _assert_gateway_error(reply, 502, "INTERNAL_ERROR")
    assert "not today" in reply.body["error"]["message"]
    assert _calls(echo_template).count("sulk") == 2  # MaximumRetryAttempts: 1
    [record] = [json.loads(body) for body in _queue_bodies(aws, "werknemerloket-local-SulkFailures")]
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"]["detail-type"] == "Scheduled Event"
    assert record["responsePayload"]["errorType"] == "RuntimeError"


def test_the_outbox_shows_raw_mail_in_order_with_the_time_it_was_sent(echo: LocalStackProcess) -> None:
    first = {"to": "Jan <jan@example.nl>", "subject": "Welkom", "text": "Hallo Jan", "html": "<p>Hallo Jan</p>"}
    assert echo.http.post("/mail", json=first).status == 200
    sent = datetime.fromisoformat(echo.clock()["now"])
    echo.advance_clock(7 * 86400)
    assert echo.http.post("/mail", json=first | {"subject": "Herinnering"}).status == 200

    messages = echo.outbox()

    assert [m["subject"] for m in messages[-2:]] == ["Welkom", "Herinnering"]
    welcome, reminder = messages[-2:]
    assert (welcome["to"], welcome["text"].strip(), welcome["html"].strip()) == (
        "jan@example.nl",
        "Hallo Jan",
        "<p>Hallo Jan</p>",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", reminder["sentAt"])
    welcome_sent, reminder_sent = (datetime.fromisoformat(m["sentAt"]) for m in (welcome, reminder))
    assert abs(welcome_sent - sent) < timedelta(seconds=5)  # seen before the clock moved, though read after
    assert reminder_sent - welcome_sent >= timedelta(days=7)


def test_the_banner_tells_what_runs_where(echo: LocalStackProcess) -> None:
    banner = echo.log()

    assert f"local stack on {echo.url}" in banner
    assert "/_local/employer-token" in banner
    assert "Schedule: SulkFunction cron(0 3 * * ? *), on demand only here" in banner


def test_a_reset_empties_everything_and_keeps_the_ids(echo: LocalStackProcess, aws: Callable[[str], Any]) -> None:
    assert echo.http.post("/mail", json={"to": "a@example.nl", "subject": "s", "text": "t", "html": "h"}).status == 200
    pools_before = aws("cognito-idp").list_user_pools(MaxResults=10)["UserPools"]

    echo.reset()

    assert echo.outbox() == []
    assert aws("cognito-idp").list_user_pools(MaxResults=10)["UserPools"][0]["Id"] == pools_before[0]["Id"]
    assert echo.http.get("/employers/acme/echo", token=echo.employer_token("acme")).status == 200


def test_a_resource_the_stack_cannot_create_stops_it_with_a_reason(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text("Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n")

    result = subprocess.run(
        [sys.executable, "-m", "local", "--template", str(template), "--port", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": f"{ROOT / 'layers' / 'common'}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )

    assert result.returncode == 1
    assert "AWS::SNS::Topic" in result.stderr
    assert "local/resources.py" in result.stderr
