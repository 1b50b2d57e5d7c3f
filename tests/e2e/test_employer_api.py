"""The employer API over HTTP against the local stack, as an employer's payroll system meets it:
the README's walkthrough, tenant isolation, invitations with their mails, and the 96-hour validity."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.stack import LOCAL_SENDER
from local.template import Template
from tests.activation_helpers import (
    Employer,
    activate,
    aws_endpoint,
    complete,
    data_page,
    data_state,
    path_of,
    token_of,
    verify,
)
from werknemerloket.clock import from_iso

HOUR = 3600
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def employer(stack: Any) -> Employer:
    return Employer(stack, name="Acme B.V.")


def refusal(reply: Any) -> tuple[int, str]:
    """An error reply's status with its code, so that neither is asserted without the other."""
    return reply.status, reply.body["error"]["code"]


def test_the_readme_walkthrough(stack, http):
    token = http.post("/_local/employer-token", json={"employerId": "walkthrough"}).body["token"]

    assert http.put("/employers/walkthrough", json={"name": "Acme B.V."}, token=token).status == 200
    jan = {"name": "Jan de Vries", "email": "jan@example.nl", "dateOfBirth": "1990-05-17", "language": "nl"}
    created = http.put("/employers/walkthrough/employees/1001", json=jan, token=token)
    listed = http.get("/employers/walkthrough/employees?limit=20", token=token)

    assert created.status == 200
    assert created.body["access"]["status"] == "not_activated"
    assert "dateOfBirth" not in created.body
    assert listed.status == 200
    assert [item["employeeId"] for item in listed.body["items"]] == ["1001"]
    assert listed.body["nextToken"] is None


def test_without_a_token_401_and_with_another_employers_token_403(stack, http, employer):
    other = stack.employer_token("someone-else")
    path = f"/employers/{employer.employer_id}/employees"

    unauthenticated = http.get(path)
    forbidden = http.get(path, token=other)

    assert (unauthenticated.status, unauthenticated.body["error"]["code"]) == (401, "UNAUTHENTICATED")
    assert (forbidden.status, forbidden.body["error"]["code"]) == (403, "FORBIDDEN")


def test_swagger_serves_the_openapi_document_of_every_employer_route(stack, http):
    page = http.get("/swagger")
    document = http.get("/swagger?format=json").body

    assert page.status == 200
    assert "swagger" in page.body.lower()
    # Swagger UI and the document both point at the API's own address, not at the stage path.
    assert document["servers"] == [{"url": stack.url}]
    assert f'"url": "{stack.url}"' in page.body or f'"url":"{stack.url}"' in page.body
    template = Template.load(ROOT / "template.yaml")
    events = template.properties("GrantAccessFunction")["Events"].values()
    routes = {(e["Properties"]["Method"].lower(), e["Properties"]["Path"]) for e in events if e["Type"] == "Api"}
    documented = {(method, path) for path, operations in document["paths"].items() for method in operations}
    assert documented == routes - {("get", "/swagger")}
    paths = document["paths"]
    grant = paths["/employers/{employerId}/employees/{employeeId}/access"]["post"]
    assert {"201", "401", "403", "404", "409", "422", "502"} <= set(grant["responses"])
    assert document["components"]["schemas"]["ErrorResponse"]


def test_grant_mails_a_working_link_and_resend_kills_the_first(stack, http, employer):
    employer.employee("1001")

    first = employer.grant("1001")
    assert data_page(http.get(path_of(first)).body) == "activate-dob"
    second = employer.resend("1001")

    assert token_of(first) != token_of(second)
    dead = http.get(path_of(first))
    assert (dead.status, data_page(dead.body), data_state(dead.body)) == (410, "activate-notice", "replaced")
    assert data_page(http.get(path_of(second)).body) == "activate-dob"
    assert employer.access("1001")["invitation"]["sendCount"] == 2
    assert len(employer.mails("1001")) == 2


def test_revoke_kills_the_link_and_the_employee_can_be_granted_again(http, employer):
    employer.employee("1001")
    link = employer.grant("1001")

    employer.revoke("1001")

    dead = http.get(path_of(link))
    assert (dead.status, data_state(dead.body)) == (410, "revoked")
    assert employer.access("1001")["status"] == "not_activated"
    assert data_page(http.get(path_of(employer.grant("1001"))).body) == "activate-dob"


def test_the_link_lives_96_hours_to_the_second(stack, http, employer):
    employer.employee("1001")
    link = employer.grant("1001")

    stack.advance_clock(96 * HOUR - 60)
    alive = http.get(path_of(link))
    employee_alive = employer.get("1001")
    stack.advance_clock(61)
    dead = http.get(path_of(link))
    employee_dead = employer.get("1001")

    assert (alive.status, data_page(alive.body)) == (200, "activate-dob")
    assert employee_alive["access"]["status"] == "invited"
    assert (dead.status, data_state(dead.body)) == (410, "expired")
    assert employee_dead["access"]["status"] == "not_activated"
    assert employee_dead["access"]["invitation"]["status"] == "expired"
    regranted = employer.call("POST", employer.path("1001", "/access"))
    assert regranted.status == 201
    assert regranted.body["access"]["invitation"]["sendCount"] == 1


def test_two_concurrent_grants_give_one_201_and_one_409(employer):
    employer.employee("1001")
    replies: list[Any] = []
    start = threading.Barrier(2)

    def grant() -> None:
        start.wait()
        replies.append(employer.call("POST", employer.path("1001", "/access")))

    threads = [threading.Thread(target=grant) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(reply.status for reply in replies) == [201, 409]
    [loser] = [reply for reply in replies if reply.status == 409]
    assert refusal(loser) == (409, "ALREADY_INVITED")
    assert len(employer.mails("1001")) == 1


def test_a_retried_grant_with_the_same_idempotency_key_mails_once(employer):
    employer.employee("1001")
    path = employer.path("1001", "/access")

    first = employer.call("POST", path, headers={"Idempotency-Key": "grant-1"})
    retry = employer.call("POST", path, headers={"idempotency-key": "grant-1"})

    assert (first.status, retry.status) == (201, 201)
    assert first.body == retry.body
    assert len(employer.mails("1001")) == 1


def test_a_retried_resend_with_the_same_idempotency_key_mails_once_and_answers_the_same(http, employer):
    employer.employee("1001")
    first_link = employer.grant("1001")
    path = employer.path("1001", "/invitation/resend")

    first = employer.call("POST", path, headers={"Idempotency-Key": "resend-1"})
    retry = employer.call("POST", path, headers={"Idempotency-Key": "resend-1"})

    assert (first.status, retry.status) == (200, 200)
    assert first.body == retry.body
    assert first.body["access"]["invitation"]["sendCount"] == 2
    assert len(employer.mails("1001")) == 2  # the invitation and one resend mail, not two
    assert employer.access("1001")["invitation"] == first.body["access"]["invitation"]
    assert data_state(http.get(path_of(first_link)).body) == "replaced"
    assert data_page(http.get(path_of(employer.latest_link("1001"))).body) == "activate-dob"
    another = employer.call("POST", path, headers={"Idempotency-Key": "resend-2"})
    assert (another.status, another.body["access"]["invitation"]["sendCount"]) == (200, 3)
    assert len(employer.mails("1001")) == 3


def test_grant_resend_and_revoke_refusals_carry_their_status_and_code(employer):
    employer.employee("1001")
    no_mail = {"name": "Piet Zonder Mail", "email": None, "dateOfBirth": "1985-01-31", "language": "nl"}
    assert employer.call("PUT", employer.path("1002"), json=no_mail).status == 200

    for method, rest in (("POST", "/access"), ("POST", "/invitation/resend"), ("DELETE", "/invitation")):
        assert refusal(employer.call(method, employer.path("ghost", rest))) == (404, "EMPLOYEE_NOT_FOUND")
    assert refusal(employer.call("POST", employer.path("1002", "/access"))) == (409, "EMAIL_MISSING")
    assert refusal(employer.call("POST", employer.path("1001", "/invitation/resend"))) == (409, "NO_OPEN_INVITATION")
    assert refusal(employer.call("DELETE", employer.path("1001", "/invitation"))) == (409, "NO_OPEN_INVITATION")
    employer.grant("1001")
    assert refusal(employer.call("POST", employer.path("1001", "/access"))) == (409, "ALREADY_INVITED")

    assert len(employer.mails("1001")) == 1
    assert employer.mails("1002") == []
    assert employer.access("1002") == {"status": "not_activated", "invitation": None, "activatedAt": None}


def test_an_employee_activated_through_the_pages_has_nothing_to_grant_resend_or_revoke(http, employer):
    # Given an employee who activated through the real pages
    employer.employee("1001")
    link = employer.grant("1001")
    invited = employer.access("1001")["invitation"]
    activate(http, link, f"jan-{employer.employer_id}")

    # When the employer grants, resends or revokes
    grant = employer.call("POST", employer.path("1001", "/access"))
    resend = employer.call("POST", employer.path("1001", "/invitation/resend"))
    revoke = employer.call("DELETE", employer.path("1001", "/invitation"))

    # Then each is refused with its own code, nothing is mailed, and the employee reads active
    assert refusal(grant) == (409, "ALREADY_ACTIVE")
    assert refusal(resend) == (409, "NO_OPEN_INVITATION")
    assert refusal(revoke) == (409, "NO_OPEN_INVITATION")
    assert len(employer.mails("1001")) == 1
    access = employer.get("1001")["access"]
    assert access["status"] == "active"
    assert access["invitation"] == invited | {"status": "used"}
    activated_at = from_iso(access["activatedAt"])
    assert from_iso(invited["sentAt"]) <= activated_at < from_iso(invited["expiresAt"])
    assert data_state(http.get(path_of(link)).body) == "used"


def test_a_mail_ses_refuses_is_502_and_leaves_the_employee_not_invited(stack, employer):
    employer.employee("1001")
    ses = boto3.client("ses", endpoint_url=aws_endpoint(stack), region_name="eu-west-1")
    ses.delete_identity(Identity=LOCAL_SENDER)
    try:
        reply = employer.call("POST", employer.path("1001", "/access"))
    finally:
        ses.verify_email_identity(EmailAddress=LOCAL_SENDER)

    assert refusal(reply) == (502, "MAIL_NOT_SENT")
    assert employer.get("1001")["access"] == {
        "status": "not_activated",
        "invitation": None,
        "activatedAt": None,
    }
    assert employer.grant("1001")


def test_a_resend_racing_an_activation_leaves_one_clean_winner(http, employer):
    employer.employee("1001")
    link = employer.grant("1001")
    verification = verify(http, link)
    replies: dict[str, Any] = {}
    start = threading.Barrier(2)

    def activation() -> None:
        start.wait()
        replies["activate"] = complete(http, link, verification, f"jan-{employer.employer_id}")

    def resend() -> None:
        start.wait()
        replies["resend"] = employer.call("POST", employer.path("1001", "/invitation/resend"))

    threads = [threading.Thread(target=activation), threading.Thread(target=resend)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    access = employer.access("1001")
    if replies["activate"].status == 303:
        # Whether the resend read the invitation open and lost its write, or read it used already.
        assert refusal(replies["resend"]) == (409, "NO_OPEN_INVITATION")
        assert access["status"] == "active"
        assert access["invitation"]["status"] == "used"
        assert len(employer.mails("1001")) == 1
    else:
        assert replies["resend"].status == 200
        assert (replies["activate"].status, data_state(replies["activate"].body)) == (410, "replaced")
        assert access["status"] == "invited"
        assert access["invitation"]["sendCount"] == 2
        assert len(employer.mails("1001")) == 2
