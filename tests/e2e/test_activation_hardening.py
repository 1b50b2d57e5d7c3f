"""The activation flow's defences over HTTP against the local stack: a right answer opens the
credentials step only for the browser that gave it, missing records answer notices (never a 500), a
password Cognito would refuse is refused before anything is written, a half-made account can still be
finished through its link after the 30 minutes, and sessions keep no Cognito token.

The credentials posts here are written out field by field, the hidden `verification` field included,
so that each test says exactly what a browser (or someone holding only the link) sends."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest

from tests.activation_helpers import (
    BIRTH,
    PASSWORD,
    Employer,
    complete,
    data_page,
    data_state,
    path_of,
    post_form,
    session_cookie,
    token_of,
    verification_in,
    verify,
)

_USERNAME_VALUE = re.compile(r'<input id="username" name="username" type="text" required value="([^"]*)"')


@pytest.fixture
def employer(stack: Any) -> Employer:
    return Employer(stack)


def invitation_item(aws: dict[str, Any], link: str) -> dict[str, Any]:
    key = {"tokenHash": {"S": hashlib.sha256(token_of(link).encode()).hexdigest()}}
    link_item = aws["dynamodb"].get_item(TableName=aws["links"], Key=key, ConsistentRead=True)["Item"]
    item: dict[str, Any] = aws["dynamodb"].get_item(
        TableName=aws["invitations"], Key={"invitationId": link_item["invitationId"]}, ConsistentRead=True
    )["Item"]
    return item


def cognito_users(aws: dict[str, Any], username: str) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = aws["cognito"].list_users(
        UserPoolId=aws["pool"], Filter=f'username = "{username.lower()}"'
    )["Users"]
    return users


# ---------------------------------------------------------------- the right answer belongs to its browser


def test_a_right_answer_opens_the_credentials_step_only_for_the_browser_that_gave_it(http, employer, aws):
    # Given someone holding the link but not the date of birth, who keeps sending credentials
    employer.employee("1001")
    link = employer.grant("1001")
    intruder = f"mallory-{employer.employer_id}"
    assert complete(http, link, "", intruder).status == 403

    # When the real employee answers rightly in their own browser
    secret = verify(http, link)

    # Then only the hash of the secret handed to that browser is stored
    item = invitation_item(aws, link)
    assert item["verificationHash"]["S"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(item)
    # And the intruder's credentials are still refused, with or without a guessed secret
    forged = secret[:-1] + ("B" if secret[-1] == "A" else "A")
    for guess in ("", "A" * 43, forged, "é" * 43):
        reply = complete(http, link, guess, intruder)
        assert (reply.status, data_page(reply.body)) == (403, "activate-dob"), guess
    assert employer.access("1001")["status"] == "invited"
    assert cognito_users(aws, intruder) == []

    # And a newer right answer (another browser or tab) replaces the secret: the latest browser wins
    newer = verify(http, link)
    assert complete(http, link, secret, f"jan-{employer.employer_id}").status == 403
    done = complete(http, link, newer, f"jan-{employer.employer_id}")
    assert (done.status, done.headers["Location"]) == (303, "/portal")
    assert employer.access("1001")["status"] == "active"


def test_a_form_refused_for_its_fields_keeps_its_secret(http, employer):
    employer.employee("1002")
    link = employer.grant("1002")
    secret = verify(http, link)

    refused = complete(http, link, secret, "jan de vries")

    assert (refused.status, data_page(refused.body)) == (400, "activate-credentials")
    assert verification_in(refused.body) == secret
    assert complete(http, link, secret, f"jan-{employer.employer_id}").status == 303


# ---------------------------------------------------------------- missing records


def test_missing_employer_or_employee_records_answer_pages_never_a_500(http, employer, aws):
    # Given an invited employee and an activated one, logged in
    employer.employee("2001")
    link = employer.grant("2001")
    employer.employee("2002")
    activated_link = employer.grant("2002")
    secret = verify(http, activated_link)
    cookie = session_cookie(complete(http, activated_link, secret, f"kim-{employer.employer_id}"))

    # When the employer's record is gone: the pages name the employer by its id
    aws["dynamodb"].delete_item(TableName=aws["employers"], Key={"employerId": {"S": employer.employer_id}})
    opened = http.get(path_of(link))
    portal = http.get("/portal", headers={"Cookie": cookie})
    me = http.get("/me", headers={"Cookie": cookie})

    assert (opened.status, data_page(opened.body)) == (200, "activate-dob")
    assert employer.employer_id in opened.body
    assert (portal.status, data_page(portal.body)) == (200, "portal")
    assert (me.status, me.body["employerName"]) == (200, employer.employer_id)

    # When the employees' records are gone too: the link is invalid, the session is refused
    for employee_id in ("2001", "2002"):
        key = {"employerId": {"S": employer.employer_id}, "employeeId": {"S": employee_id}}
        aws["dynamodb"].delete_item(TableName=aws["employees"], Key=key)
    for reply in (
        http.get(path_of(link)),
        post_form(http, "/activate", {"token": token_of(link), "dateOfBirth": BIRTH}),
        complete(http, link, "", f"nobody-{employer.employer_id}"),
    ):
        assert (reply.status, data_page(reply.body), data_state(reply.body)) == (404, "activate-notice", "invalid")
    portal = http.get("/portal", headers={"Cookie": cookie})
    assert (portal.status, portal.headers["Location"]) == (303, "/login")
    assert http.get("/me", headers={"Cookie": cookie}).status == 401


# ---------------------------------------------------------------- passwords Cognito would refuse


@pytest.mark.parametrize(
    ("language", "password", "sentence"),
    [
        ("nl", " " + PASSWORD, "Het wachtwoord mag niet met een spatie beginnen of eindigen."),
        ("en", PASSWORD + " ", "The password must not begin or end with a space."),
    ],
)
def test_a_password_with_a_space_at_either_end_is_refused_before_anything_is_written(
    http, employer, aws, language, password, sentence
):
    employee_id = f"30{len(password)}{language}"
    employer.employee(employee_id, language=language)
    link = employer.grant(employee_id)
    secret = verify(http, link)
    username = f"spatie-{language}-{employer.employer_id}"

    reply = complete(http, link, secret, username, password)

    assert (reply.status, data_page(reply.body)) == (400, "activate-credentials")
    assert 'id="password-error"' in reply.body
    assert sentence in reply.body
    assert employer.access(employee_id)["status"] == "invited"
    assert cognito_users(aws, username) == []
    assert complete(http, link, secret, username, password.strip()).status == 303


# ---------------------------------------------------------------- a half-made account


@pytest.mark.parametrize("left", ["an account without a password", "no account at all"])
def test_a_half_made_account_is_finished_through_its_link_after_the_window(http, employer, aws, stack, left):
    # Given an activation that committed but whose Cognito account was never finished (as when
    # Cognito throttled right after the transaction), left alone past the 30 minutes
    employee_id = "4001" if left == "no account at all" else "4002"
    employer.employee(employee_id)
    link = employer.grant(employee_id)
    username = f"Noor-{employee_id}-{employer.employer_id}"
    secret = verify(http, link)
    assert complete(http, link, secret, username).status == 303
    aws["cognito"].admin_delete_user(UserPoolId=aws["pool"], Username=username.lower())
    if left == "an account without a password":
        aws["cognito"].admin_create_user(UserPoolId=aws["pool"], Username=username.lower(), MessageAction="SUPPRESS")
    stack.advance_clock(31 * 60)
    assert employer.access(employee_id)["status"] == "active"

    # When the employee opens the link again: the date-of-birth question, not the used notice
    opened = http.get(path_of(link))
    assert (opened.status, data_page(opened.body)) == (200, "activate-dob"), data_state(opened.body)

    # And answers rightly: the credentials form, with the username chosen before
    page = post_form(http, "/activate", {"token": token_of(link), "dateOfBirth": BIRTH})
    assert _USERNAME_VALUE.search(page.body).group(1) == username  # type: ignore[union-attr]
    fresh = verify(http, link)
    other = complete(http, link, fresh, f"other-{employer.employer_id}")
    assert (other.status, data_page(other.body)) == (400, "activate-credentials")
    assert 'id="username-error"' in other.body
    done = complete(http, link, fresh, username)

    # Then the account is finished and the employee logged in, now and with the password later
    assert (done.status, done.headers["Location"]) == (303, "/portal"), done.body
    assert http.get("/portal", headers={"Cookie": session_cookie(done)}).status == 200
    [user] = cognito_users(aws, username)
    assert user["UserStatus"] == "CONFIRMED"
    assert post_form(http, "/login", {"username": username, "password": PASSWORD}).status == 303
    # And from now on the link is just used
    again = http.get(path_of(link))
    assert (again.status, data_state(again.body)) == (410, "used")


def test_a_finished_account_keeps_the_used_notice_after_the_window(http, employer, stack):
    employer.employee("4101")
    link = employer.grant("4101")
    secret = verify(http, link)
    assert complete(http, link, secret, f"finished-{employer.employer_id}").status == 303
    stack.advance_clock(31 * 60)

    for reply in (
        http.get(path_of(link)),
        post_form(http, "/activate", {"token": token_of(link), "dateOfBirth": BIRTH}),
        complete(http, link, secret, f"finished-{employer.employer_id}"),
    ):
        assert (reply.status, data_state(reply.body)) == (410, "used")


# ---------------------------------------------------------------- sessions


def test_a_session_item_keeps_no_cognito_token(http, employer, aws):
    employer.employee("5001")
    link = employer.grant("5001")
    secret = verify(http, link)
    assert complete(http, link, secret, f"sessie-{employer.employer_id}").status == 303
    assert post_form(http, "/login", {"username": f"sessie-{employer.employer_id}", "password": PASSWORD}).status == 303

    items = aws["dynamodb"].scan(
        TableName=aws["sessions"],
        FilterExpression="employerId = :e",
        ExpressionAttributeValues={":e": {"S": employer.employer_id}},
    )["Items"]

    assert len(items) == 2
    for item in items:
        assert set(item) == {"sessionHash", "employerId", "employeeId", "username", "csrfToken", "createdAt", "ttl"}
