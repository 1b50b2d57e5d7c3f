"""The employer API over HTTP against the local stack, as an employer's payroll system meets it:
the README's walkthrough, tenant isolation, invitations with their mails, and the 96-hour validity."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest

from tests.activation_helpers import (
    BIRTH,
    PASSWORD,
    Employer,
    aws_endpoint,
    data_page,
    data_state,
    path_of,
    post_form,
    token_of,
)

HOUR = 3600


@pytest.fixture
def employer(stack: Any) -> Employer:
    return Employer(stack, name="Acme B.V.")


def get_employee(employer: Employer, employee_id: str) -> dict[str, Any]:
    reply = employer.http.get(f"/employers/{employer.employer_id}/employees/{employee_id}", token=employer.token)
    assert reply.status == 200, reply.body
    return reply.body  # type: ignore[no-any-return]


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


def test_swagger_serves_the_openapi_document_of_every_employer_route(http):
    page = http.get("/swagger")
    document = http.get("/swagger?format=json").body

    assert page.status == 200
    assert "swagger" in page.body.lower()
    paths = document["paths"]
    assert "/employers/{employerId}/employees/{employeeId}/access" in paths
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
    assert get_employee(employer, "1001")["access"]["invitation"]["sendCount"] == 2
    mails = [m for m in stack.outbox() if m["to"] == employer.email("1001")]
    assert len(mails) == 2


def test_revoke_kills_the_link_and_the_employee_can_be_granted_again(http, employer):
    employer.employee("1001")
    link = employer.grant("1001")

    employer.revoke("1001")

    dead = http.get(path_of(link))
    assert (dead.status, data_state(dead.body)) == (410, "revoked")
    assert get_employee(employer, "1001")["access"]["status"] == "not_activated"
    assert data_page(http.get(path_of(employer.grant("1001"))).body) == "activate-dob"


def test_the_link_lives_96_hours_to_the_second(stack, http, employer):
    employer.employee("1001")
    link = employer.grant("1001")

    stack.advance_clock(96 * HOUR - 60)
    alive = http.get(path_of(link))
    employee_alive = get_employee(employer, "1001")
    stack.advance_clock(61)
    dead = http.get(path_of(link))
    employee_dead = get_employee(employer, "1001")

    assert (alive.status, data_page(alive.body)) == (200, "activate-dob")
    assert employee_alive["access"]["status"] == "invited"
    assert (dead.status, data_state(dead.body)) == (410, "expired")
    assert employee_dead["access"]["status"] == "not_activated"
    assert employee_dead["access"]["invitation"]["status"] == "expired"
    regranted = employer.http.post(f"/employers/{employer.employer_id}/employees/1001/access", token=employer.token)
    assert regranted.status == 201
    assert regranted.body["access"]["invitation"]["sendCount"] == 1


def test_two_concurrent_grants_give_one_201_and_one_409(stack, employer):
    employer.employee("1001")
    path = f"/employers/{employer.employer_id}/employees/1001/access"
    replies: list[Any] = []
    start = threading.Barrier(2)

    def grant() -> None:
        start.wait()
        replies.append(employer.http.post(path, token=employer.token))

    threads = [threading.Thread(target=grant) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(reply.status for reply in replies) == [201, 409]
    assert [m for m in stack.outbox() if m["to"] == employer.email("1001")].__len__() == 1


def test_a_retried_grant_with_the_same_idempotency_key_mails_once(stack, employer):
    employer.employee("1001")
    path = f"/employers/{employer.employer_id}/employees/1001/access"

    first = employer.http.post(path, token=employer.token, headers={"Idempotency-Key": "grant-1"})
    retry = employer.http.post(path, token=employer.token, headers={"idempotency-key": "grant-1"})

    assert (first.status, retry.status) == (201, 201)
    assert first.body == retry.body
    assert len([m for m in stack.outbox() if m["to"] == employer.email("1001")]) == 1


def test_a_mail_ses_refuses_is_502_and_leaves_the_employee_not_invited(stack, employer):
    employer.employee("1001")
    ses = boto3.client("ses", endpoint_url=aws_endpoint(stack), region_name="eu-west-1")
    sender = "noreply@werknemerloket.local"
    ses.delete_identity(Identity=sender)
    try:
        reply = employer.http.post(f"/employers/{employer.employer_id}/employees/1001/access", token=employer.token)
    finally:
        ses.verify_email_identity(EmailAddress=sender)

    assert (reply.status, reply.body["error"]["code"]) == (502, "MAIL_NOT_SENT")
    assert get_employee(employer, "1001")["access"] == {
        "status": "not_activated",
        "invitation": None,
        "activatedAt": None,
    }
    assert employer.grant("1001")


def test_a_resend_racing_an_activation_leaves_one_clean_winner(http, employer):
    employer.employee("1001")
    link = employer.grant("1001")
    token = token_of(link)
    assert data_page(post_form(http, "/activate", {"token": token, "dateOfBirth": BIRTH}).body) == (
        "activate-credentials"
    )
    replies: dict[str, Any] = {}
    start = threading.Barrier(2)

    def activate() -> None:
        start.wait()
        fields = {
            "token": token,
            "username": f"jan-{employer.employer_id}",
            "password": PASSWORD,
            "passwordConfirm": PASSWORD,
        }
        replies["activate"] = post_form(http, "/activate/credentials", fields)

    def resend() -> None:
        start.wait()
        replies["resend"] = employer.http.post(
            f"/employers/{employer.employer_id}/employees/1001/invitation/resend", token=employer.token
        )

    threads = [threading.Thread(target=activate), threading.Thread(target=resend)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    access = get_employee(employer, "1001")["access"]
    if replies["activate"].status == 303:
        assert replies["resend"].status == 409
        assert access["status"] == "active"
        assert access["invitation"]["status"] == "used"
    else:
        assert replies["resend"].status == 200
        assert data_state(replies["activate"].body) == "replaced"
        assert access["status"] == "invited"
        assert access["invitation"]["sendCount"] == 2
