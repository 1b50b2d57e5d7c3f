"""The expiry sweep against the local stack: the clock moves, the schedule's function runs on demand.

The stack and its clock are shared by the session, so these tests look only at their own employer's
employees and mail, and move the clock relative to their own invitations.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
import pytest

from tests.activation_helpers import (
    BIRTH,
    PASSWORD,
    Employer,
    aws_endpoint,
    data_page,
    link_in,
    path_of,
    post_form,
    token_of,
)
from werknemerloket.clock import from_iso, to_iso
from werknemerloket.mail.formatting import format_moment

MINUTE = 60
HOUR = 3600


@pytest.fixture
def employer(stack: Any) -> Employer:
    return Employer(stack, name="Bakkerij Het Zuurdesem")


def now_of(stack: Any) -> datetime:
    return from_iso(stack.clock()["now"][:19] + "Z")


def advance_to(stack: Any, moment: datetime) -> None:
    """Move the shared clock to `moment` (it only moves forward)."""
    seconds = (moment - now_of(stack)).total_seconds()
    assert seconds >= 0, "the clock is already past the moment this test needs"
    stack.advance_clock(seconds)


def sweep(stack: Any) -> dict[str, Any]:
    result: dict[str, Any] = stack.run("expire_invites")["result"]
    return result


def mails_to(stack: Any, employer: Employer, employee_id: str) -> list[dict[str, Any]]:
    return [m for m in stack.outbox() if m["to"] == employer.email(employee_id)]


def opens(http: Any, link: str) -> bool:
    reply = http.get(path_of(link))
    return reply.status == 200 and data_page(reply.body) == "activate-dob"


def stored(stack: Any, employer: Employer, employee_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The employee and invitation items as the tables hold them (not as reading derives them)."""
    dynamodb = boto3.client("dynamodb", endpoint_url=aws_endpoint(stack), region_name="eu-west-1")
    tables = dynamodb.list_tables()["TableNames"]
    employees = next(t for t in tables if "employees" in t.lower())
    invitations = next(t for t in tables if "invitations" in t.lower())
    key = {"employerId": {"S": employer.employer_id}, "employeeId": {"S": employee_id}}
    employee = dynamodb.get_item(TableName=employees, Key=key, ConsistentRead=True)["Item"]
    invitation_id = employee["invitation"]["M"]["invitationId"]
    invitation = dynamodb.get_item(TableName=invitations, Key={"invitationId": invitation_id}, ConsistentRead=True)
    return employee, invitation["Item"]


def test_reminder_once_at_its_moment_then_expiry_persisted_by_the_sweep(stack, http, employer):
    # Given an invitation
    employer.employee("2001", name="Anna Jansen", language="en")
    first_link = employer.grant("2001")
    expires_at = from_iso(employer.access("2001")["invitation"]["expiresAt"])
    reminder_moment = expires_at.timestamp() - 24 * HOUR

    # When the sweep runs a minute before the reminder moment, then it sends nothing
    advance_to(stack, datetime.fromtimestamp(reminder_moment - MINUTE, expires_at.tzinfo))
    sweep(stack)
    assert len(mails_to(stack, employer, "2001")) == 1

    # When it runs a minute after, then one reminder with a fresh link to the same invitation
    stack.advance_clock(2 * MINUTE)
    result = sweep(stack)
    assert result["reminded"] >= 1
    _invitation, reminder = mails_to(stack, employer, "2001")
    # (stripped: a subject this long is folded onto a continuation line, which the outbox keeps)
    assert reminder["subject"].strip() == "Reminder: activate your access to the Bakkerij Het Zuurdesem Werknemerloket"
    assert f"valid until {format_moment(expires_at, 'en')}" in reminder["text"]
    fresh_link = link_in(reminder)
    assert token_of(fresh_link) != token_of(first_link)
    assert opens(http, fresh_link)
    assert opens(http, first_link)
    access = employer.access("2001")
    assert (access["status"], access["invitation"]["expiresAt"], access["invitation"]["sendCount"]) == (
        "invited",
        to_iso(expires_at),
        1,
    )

    # When it runs again, then no second reminder
    sweep(stack)
    assert len(mails_to(stack, employer, "2001")) == 2

    # When the 96 hours are over, then the employee reads not activated before any sweep ...
    advance_to(stack, datetime.fromtimestamp(expires_at.timestamp() + 1, expires_at.tzinfo))
    access = employer.access("2001")
    assert (access["status"], access["invitation"]["status"]) == ("not_activated", "expired")
    employee_item, invitation_item = stored(stack, employer, "2001")
    assert (employee_item["state"]["S"], invitation_item["status"]["S"]) == ("invited", "pending")
    assert http.get(path_of(first_link)).status == 410

    # ... and the sweep persists it
    result = sweep(stack)
    assert result["expired"] >= 1
    employee_item, invitation_item = stored(stack, employer, "2001")
    assert (employee_item["state"]["S"], invitation_item["status"]["S"]) == ("not_activated", "expired")
    assert "dueAt" not in invitation_item
    assert employer.access("2001")["invitation"]["status"] == "expired"

    # When it runs a second time, then nothing changes
    again = sweep(stack)
    assert (again["expired"], again["reminded"]) == (0, 0)
    assert stored(stack, employer, "2001") == (employee_item, invitation_item)
    assert len(mails_to(stack, employer, "2001")) == 2


def test_an_activation_just_before_expiry_wins_over_the_sweep(stack, http, employer):
    # Given an invitation a minute before its expiry
    employer.employee("2002", name="Piet Bakker")
    link = employer.grant("2002")
    expires_at = from_iso(employer.access("2002")["invitation"]["expiresAt"])
    advance_to(stack, datetime.fromtimestamp(expires_at.timestamp() - MINUTE, expires_at.tzinfo))

    # When the employee activates in that minute
    token = token_of(link)
    answer = post_form(http, "/activate", {"token": token, "dateOfBirth": BIRTH})
    assert data_page(answer.body) == "activate-credentials", answer.body
    username = f"piet-{employer.employer_id}"
    credentials = {"token": token, "username": username, "password": PASSWORD, "passwordConfirm": PASSWORD}
    done = post_form(http, "/activate/credentials", credentials)
    assert (done.status, done.headers.get("Location")) == (303, "/portal")

    # And the sweep runs after the expiry moment
    stack.advance_clock(2 * MINUTE)
    sweep(stack)

    # Then the activation stands
    access = employer.access("2002")
    assert (access["status"], access["invitation"]["status"]) == ("active", "used")
    employee_item, invitation_item = stored(stack, employer, "2002")
    assert (employee_item["state"]["S"], invitation_item["status"]["S"]) == ("active", "used")
