"""The employer API's handler under moto: auth, tenant isolation, validation, pagination, invitations."""

from __future__ import annotations

import base64
import email
import json
from email import policy
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from tests.events import LambdaContext, api_event, employer_claims, response_json
from tests.functions import load_function
from werknemerloket.data.models import EmployeeModel

EMPLOYER = "/employers/{employerId}"
EMPLOYEE = "/employers/{employerId}/employees/{employeeId}"
EMPLOYEES = "/employers/{employerId}/employees"
ACCESS = EMPLOYEE + "/access"
RESEND = EMPLOYEE + "/invitation/resend"
INVITATION = EMPLOYEE + "/invitation"
HOUR = 3600
JAN = {"name": "Jan de Vries", "email": "jan@example.nl", "dateOfBirth": "1990-05-17", "language": "nl"}


@pytest.fixture
def api(aws):
    app = load_function("grant_access")

    def call(
        method: str,
        resource: str,
        employee_id: str | None = None,
        *,
        employer: str = "acme",
        claims: Any = "default",
        **kwargs: Any,
    ) -> tuple[int, Any]:
        params = {"employerId": employer} | ({"employeeId": employee_id} if employee_id else {})
        event = api_event(
            method, resource, params, claims=employer_claims("acme") if claims == "default" else claims, **kwargs
        )
        response = app.handler(event, LambdaContext())
        return response["statusCode"], response_json(response)

    return call


def sent_mail() -> list[email.message.EmailMessage]:
    return [
        email.message_from_string(m.raw_data, policy=policy.default)
        for m in ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    ]


def error_of(answer: tuple[int, Any]) -> tuple[int, str]:
    """An error answer's status with its code, so that neither is asserted without the other."""
    status, body = answer
    return status, body["error"]["code"]


def register(api, employee_id: str = "1001", **changes: Any) -> dict[str, Any]:
    """An employee of an employer with a name (grants need it for the mail)."""
    assert api("PUT", EMPLOYER, body={"name": "Acme B.V."})[0] == 200
    status, body = api("PUT", EMPLOYEE, employee_id, body=JAN | changes)
    assert status == 200, body
    return body


# ---------------------------------------------------------------- auth and tenants


def test_without_authorizer_claims_the_answer_is_401(api):
    status, body = api("GET", EMPLOYER, claims=None)
    assert (status, body["error"]["code"]) == (401, "UNAUTHENTICATED")


def test_another_employers_ids_are_forbidden_and_nothing_is_written(api):
    status, body = api("PUT", EMPLOYEE, "1001", employer="globex", body=JAN)
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")

    status, body = api("GET", EMPLOYEE, "1001", employer="globex", claims=employer_claims("globex"))
    assert (status, body["error"]["code"]) == (404, "EMPLOYEE_NOT_FOUND")


def test_an_admin_of_several_employers_reaches_each_of_them(api):
    claims = employer_claims("acme", "globex")
    for employer in ("acme", "globex"):
        status, _ = api("PUT", EMPLOYER, employer=employer, claims=claims, body={"name": employer.title()})
        assert status == 200


@pytest.mark.parametrize("groups", ['["employer-acme", "employer-x"]', "[employer-x employer-acme]", "employer-acme"])
def test_group_claims_are_understood_in_every_form_api_gateway_uses(api, groups):
    status, _ = api("PUT", EMPLOYER, claims={"sub": "s", "cognito:groups": groups}, body={"name": "Acme"})
    assert status == 200


def test_a_group_whose_name_only_starts_like_the_employer_is_no_access(api):
    status, body = api("GET", EMPLOYER, claims={"sub": "s", "cognito:groups": "employer-acme2"})
    assert (status, body["error"]["code"]) == (403, "FORBIDDEN")


# ---------------------------------------------------------------- registry


def test_employer_profile_round_trip(api):
    status, body = api("GET", EMPLOYER)
    assert (status, body["error"]["code"]) == (404, "EMPLOYER_NOT_FOUND")
    assert api("PUT", EMPLOYER, body={"name": " Acme B.V. "}) == (200, {"employerId": "acme", "name": "Acme B.V."})
    assert api("GET", EMPLOYER) == (200, {"employerId": "acme", "name": "Acme B.V."})


def test_employee_resource_is_exactly_the_contract_and_never_shows_the_date_of_birth(api):
    body = register(api)

    assert body == {
        "employerId": "acme",
        "employeeId": "1001",
        "name": "Jan de Vries",
        "email": "jan@example.nl",
        "language": "nl",
        "access": {"status": "not_activated", "invitation": None, "activatedAt": None},
    }
    assert api("GET", EMPLOYEE, "1001") == (200, body)
    assert "1990-05-17" not in json.dumps(api("GET", EMPLOYEES)[1])


def test_unknown_employee_is_404_with_its_code(api):
    status, body = api("GET", EMPLOYEE, "404")
    assert (status, body["error"]["code"]) == (404, "EMPLOYEE_NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (JAN | {"email": "jan@"}, "body.email"),
        (JAN | {"dateOfBirth": "1990-02-30"}, "body.dateOfBirth"),
        (JAN | {"dateOfBirth": "2999-01-01"}, "body.dateOfBirth"),
        (JAN | {"dateOfBirth": "17-05-1990"}, "body.dateOfBirth"),
        (JAN | {"dateOfBirth": 19900517}, "body.dateOfBirth"),
        ({k: v for k, v in JAN.items() if k != "dateOfBirth"}, "body.dateOfBirth"),
        (JAN | {"language": "de"}, "body.language"),
        (JAN | {"name": ""}, "body.name"),
        (JAN | {"name": "Jan\x00"}, "body.name"),
        (JAN | {"nickname": "Jantje"}, "body.nickname"),
        (JAN | {"date_of_birth": "1990-05-17"}, "body.date_of_birth"),
    ],
)
def test_invalid_employee_is_422_naming_the_field_and_nothing_is_written(api, body, field):
    status, answer = api("PUT", EMPLOYEE, "1001", body=body)

    assert (status, answer["error"]["code"]) == (422, "VALIDATION_ERROR")
    assert field in [detail["field"] for detail in answer["error"]["details"]]
    status, answer = api("GET", EMPLOYEE, "1001")
    assert (status, answer["error"]["code"]) == (404, "EMPLOYEE_NOT_FOUND")


@pytest.mark.parametrize("bad_id", ["a" * 65, "bad!", "with space", "ü"])
def test_ids_outside_the_allowed_alphabet_are_422(api, bad_id):
    status, answer = api("PUT", EMPLOYEE, bad_id, body=JAN)
    assert (status, answer["error"]["code"]) == (422, "VALIDATION_ERROR")


def test_malformed_json_is_400(api):
    status, answer = api("PUT", EMPLOYEE, "1001", raw_body='{"name": "Jan"')
    assert (status, answer["error"]["code"]) == (400, "BAD_REQUEST")


def test_a_body_that_is_not_utf8_is_400(aws):
    app = load_function("grant_access")
    event = api_event("PUT", EMPLOYEE, {"employerId": "acme", "employeeId": "1001"}, claims=employer_claims("acme"))
    event["body"] = base64.b64encode(b'{"name": "J\xe9r\xf4me"}').decode()
    event["isBase64Encoded"] = True

    response = app.handler(event, LambdaContext())

    assert (response["statusCode"], response_json(response)["error"]["code"]) == (400, "BAD_REQUEST")


def test_an_oversized_body_is_413(api):
    status, answer = api("PUT", EMPLOYEE, "1001", body=JAN | {"name": "J" * 70_000})
    assert (status, answer["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


def test_listing_pages_through_every_employee_once(api):
    for n in range(7):
        register(api, f"e{n}")

    seen, token, pages = [], None, 0
    while True:
        status, page = api("GET", EMPLOYEES, query={"limit": "3"} | ({"nextToken": token} if token else {}))
        assert status == 200
        seen += [item["employeeId"] for item in page["items"]]
        pages += 1
        token = page["nextToken"]
        if token is None:
            break

    assert seen == [f"e{n}" for n in range(7)]
    assert pages == 3


def test_listing_filters_by_access_status_and_fills_its_pages(api):
    for n in range(6):
        register(api, f"e{n}")
    for n in (1, 3, 5):
        assert api("POST", ACCESS, f"e{n}")[0] == 201

    _, invited = api("GET", EMPLOYEES, query={"accessStatus": "invited", "limit": "2"})
    _, rest = api("GET", EMPLOYEES, query={"accessStatus": "invited", "limit": "2", "nextToken": invited["nextToken"]})
    _, others = api("GET", EMPLOYEES, query={"accessStatus": "not_activated"})

    assert [i["employeeId"] for i in invited["items"]] == ["e1", "e3"]
    assert [i["employeeId"] for i in rest["items"]] == ["e5"]
    assert [i["employeeId"] for i in others["items"]] == ["e0", "e2", "e4"]


def test_listing_by_status_counts_an_invitation_past_its_expiry_as_not_activated_before_any_sweep(api, clock):
    for n in range(3):
        register(api, f"e{n}")
    assert api("POST", ACCESS, "e1")[0] == 201  # expires at NOW + 96 h
    clock.advance(HOUR)
    assert api("POST", ACCESS, "e2")[0] == 201  # expires an hour later

    def listed(status: str) -> list[str]:
        answer, page = api("GET", EMPLOYEES, query={"accessStatus": status})
        assert answer == 200, page
        return [item["employeeId"] for item in page["items"]]

    clock.advance(95 * HOUR - 1)  # a second before e1's expiresAt
    assert (listed("invited"), listed("not_activated")) == (["e1", "e2"], ["e0"])

    clock.advance(2)  # a second after it

    assert (listed("invited"), listed("not_activated")) == (["e2"], ["e0", "e1"])
    _, e1 = api("GET", EMPLOYEE, "e1")
    assert (e1["access"]["status"], e1["access"]["invitation"]["status"]) == ("not_activated", "expired")
    assert EmployeeModel.get("acme", "e1").state == "invited"  # no sweep ran: the table still says invited
    assert api("POST", ACCESS, "e1")[0] == 201  # and it can be granted again


@pytest.mark.parametrize(
    "query", [{"limit": "0"}, {"limit": "101"}, {"limit": "x"}, {"accessStatus": "gone"}, {"nextToken": "%%%"}]
)
def test_bad_list_parameters_are_422(api, query):
    status, answer = api("GET", EMPLOYEES, query=query)
    assert (status, answer["error"]["code"]) == (422, "VALIDATION_ERROR")


# ---------------------------------------------------------------- invitations


def test_grant_answers_201_with_the_invitation_and_sends_one_mail(api):
    api("PUT", EMPLOYER, body={"name": "Acme B.V."})
    register(api)

    status, body = api("POST", ACCESS, "1001")

    assert status == 201
    assert body["access"]["status"] == "invited"
    invitation = body["access"]["invitation"]
    assert invitation["status"] == "pending"
    assert invitation["sendCount"] == 1
    [mail] = sent_mail()
    assert mail["To"] == "jan@example.nl"
    assert "Acme B.V." in mail.get_body(("plain",)).get_content()
    assert "https://werknemer.example.test/activate?token=" in mail.get_body(("plain",)).get_content()


def test_a_grant_before_the_employer_has_a_name_is_409(api):
    assert api("PUT", EMPLOYEE, "1001", body=JAN)[0] == 200

    status, body = api("POST", ACCESS, "1001")

    assert (status, body["error"]["code"]) == (409, "EMPLOYER_PROFILE_MISSING")
    assert sent_mail() == []


def test_a_body_not_sent_as_json_is_415(api):
    text = api("PUT", EMPLOYER, raw_body='{"name": "Acme"}', headers={"Content-Type": "text/plain"})
    form = api("PUT", EMPLOYER, raw_body="name=Acme", headers={"Content-Type": "application/x-www-form-urlencoded"})

    assert error_of(text) == error_of(form) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert error_of(api("GET", EMPLOYER)) == (404, "EMPLOYER_NOT_FOUND")


def test_json_with_a_charset_is_json(api):
    status, _ = api("PUT", EMPLOYER, body={"name": "Acme"}, headers={"Content-Type": "application/json; charset=utf-8"})
    assert status == 200


def test_grant_errors(api):
    register(api, "nomail", email=None)
    register(api)

    assert error_of(api("POST", ACCESS, "ghost")) == (404, "EMPLOYEE_NOT_FOUND")
    assert error_of(api("POST", ACCESS, "nomail")) == (409, "EMAIL_MISSING")
    assert api("POST", ACCESS, "1001")[0] == 201
    assert error_of(api("POST", ACCESS, "1001")) == (409, "ALREADY_INVITED")
    # In-process shortcut: the state an activation leaves (tests/e2e/test_employer_api.py gets there for real).
    EmployeeModel("acme", "1001").update(actions=[EmployeeModel.state.set("active")])
    assert error_of(api("POST", ACCESS, "1001")) == (409, "ALREADY_ACTIVE")
    assert len(sent_mail()) == 1


def test_resend_sends_a_new_link_and_counts_the_sending(api):
    register(api)
    api("POST", ACCESS, "1001")

    status, body = api("POST", RESEND, "1001")

    assert status == 200
    assert body["access"]["invitation"]["sendCount"] == 2
    first, second = (m.get_body(("plain",)).get_content() for m in sent_mail())
    link = "https://werknemer.example.test/activate?token="
    assert first.split(link)[1][:43] != second.split(link)[1][:43]


def test_revoke_then_resend_and_revoke_have_nothing_open(api):
    register(api)
    api("POST", ACCESS, "1001")

    status, body = api("DELETE", INVITATION, "1001")

    assert status == 200
    assert body["access"] == body["access"] | {"status": "not_activated"}
    assert body["access"]["invitation"]["status"] == "revoked"
    assert error_of(api("POST", RESEND, "1001")) == (409, "NO_OPEN_INVITATION")
    assert error_of(api("DELETE", INVITATION, "1001")) == (409, "NO_OPEN_INVITATION")
    assert api("POST", ACCESS, "1001")[0] == 201


def test_a_refused_mail_is_502_and_leaves_the_employee_not_invited(api):
    register(api)
    boto3.client("ses", region_name="eu-west-1").delete_identity(Identity="noreply@werknemerloket.test")

    status, body = api("POST", ACCESS, "1001")

    assert (status, body["error"]["code"]) == (502, "MAIL_NOT_SENT")
    _, employee = api("GET", EMPLOYEE, "1001")
    assert employee["access"] == {"status": "not_activated", "invitation": None, "activatedAt": None}


@pytest.mark.parametrize("header", ["Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY"])
def test_a_retried_grant_with_an_idempotency_key_answers_the_first_result_and_mails_once(api, header):
    register(api)

    first = api("POST", ACCESS, "1001", headers={header: "grant-1001-a"})
    retry = api("POST", ACCESS, "1001", headers={"Idempotency-Key": "grant-1001-a"})

    assert first[0] == retry[0] == 201
    assert first[1] == retry[1]
    assert len(sent_mail()) == 1
    assert error_of(api("POST", ACCESS, "1001", headers={header: "grant-1001-b"})) == (409, "ALREADY_INVITED")


def test_an_idempotency_key_of_another_shape_is_422(api):
    register(api)
    status, body = api("POST", ACCESS, "1001", headers={"Idempotency-Key": "x" * 129})
    assert (status, body["error"]["code"]) == (422, "VALIDATION_ERROR")


def test_the_tenant_check_uses_the_employer_id_the_route_receives(aws):
    """Even if pathParameters and the path disagree (API Gateway keeps them equal), the id checked is
    the one the route acts on."""
    app = load_function("grant_access")
    event = api_event("GET", EMPLOYER, {"employerId": "acme"}, claims=employer_claims("acme"))
    event["path"] = "/employers/globex"
    without_parameters = api_event("GET", EMPLOYER, {"employerId": "globex"}, claims=employer_claims("acme"))
    without_parameters["pathParameters"] = None

    for forged in (event, without_parameters):
        response = app.handler(forged, LambdaContext())
        assert (response["statusCode"], response_json(response)["error"]["code"]) == (403, "FORBIDDEN")


def test_an_internationalised_domain_is_stored_in_the_ascii_form_mail_is_sent_to(api):
    assert register(api, email="jan@exämple.nl")["email"] == "jan@xn--exmple-cua.nl"
    status, body = api("PUT", EMPLOYEE, "1002", body=JAN | {"email": "jän@example.nl"})
    assert (status, body["error"]["details"][0]["field"]) == (422, "body.email")


def test_a_body_marked_base64_that_is_not_is_400(aws):
    app = load_function("grant_access")
    event = api_event("PUT", EMPLOYER, {"employerId": "acme"}, claims=employer_claims("acme"))
    event["body"], event["isBase64Encoded"] = "not base64!", True

    response = app.handler(event, LambdaContext())

    assert (response["statusCode"], response_json(response)["error"]["code"]) == (400, "BAD_REQUEST")
