"""The expiry sweep against the local stack: the clock moves, the schedule's function runs on demand.

The stack and its clock are shared by the session, so these tests look only at their own employer's
employees and mail, and move the clock relative to their own invitations.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import boto3
import pytest

from tests.activation_helpers import (
    Employer,
    aws_endpoint,
    complete,
    data_page,
    data_state,
    link_in,
    path_of,
    token_of,
    verify,
)
from werknemerloket.clock import from_iso, to_iso
from werknemerloket.mail.formatting import format_moment

MINUTE = 60
HOUR = 3600
LAST_SECONDS = 10  # how long before its expiry the invitation is raced: ample for one activation


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
    assert len(employer.mails("2001")) == 1

    # When it runs a minute after, then one reminder with a fresh link to the same invitation
    stack.advance_clock(2 * MINUTE)
    result = sweep(stack)
    assert result["reminded"] >= 1
    _invitation, reminder = employer.mails("2001")
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
    assert len(employer.mails("2001")) == 2

    # When the 96 hours are over, then the employee reads not activated before any sweep ...
    advance_to(stack, datetime.fromtimestamp(expires_at.timestamp() + 1, expires_at.tzinfo))
    access = employer.access("2001")
    assert (access["status"], access["invitation"]["status"]) == ("not_activated", "expired")
    employee_item, invitation_item = stored(stack, employer, "2001")
    assert (employee_item["state"]["S"], invitation_item["status"]["S"]) == ("invited", "pending")
    dead = http.get(path_of(first_link))
    assert (dead.status, data_state(dead.body)) == (410, "expired")

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
    assert len(employer.mails("2001")) == 2


def race_credentials_against_the_sweep(
    stack: Any, http: Any, link: str, verification: str, username: str
) -> tuple[Any, dict[str, Any]]:
    """The credentials POST and a sweep run, released at the same moment from two threads: the
    activation's reply and the sweep's counts."""
    outcome: dict[str, Any] = {}
    start = threading.Barrier(2)

    def activation() -> None:
        start.wait()
        outcome["activation"] = complete(http, link, verification, username)

    def sweep_run() -> None:
        start.wait()
        outcome["sweep"] = sweep(stack)

    threads = [threading.Thread(target=activation), threading.Thread(target=sweep_run)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome["activation"], outcome["sweep"]


def test_an_activation_racing_the_sweep_in_the_invitations_last_seconds_wins(stack, http, employer):
    # Given an invitation in its last seconds, never reminded (no sweep ran since it was due, so this
    # run has a conditional write of its own to make on it), and answered rightly
    employer.employee("2002", name="Piet Bakker")
    link = employer.grant("2002")
    expires_at = from_iso(employer.access("2002")["invitation"]["expiresAt"])
    advance_to(stack, datetime.fromtimestamp(expires_at.timestamp() - LAST_SECONDS, expires_at.tzinfo))
    verification = verify(http, link)

    # When the credentials and a sweep run are sent at the same moment
    done, swept = race_credentials_against_the_sweep(stack, http, link, verification, f"piet-{employer.employer_id}")

    # Then the activation wins whatever the interleaving: the sweep neither expires nor reminds it
    assert (done.status, done.headers.get("Location")) == (303, "/portal"), done.body
    assert swept["failed"] == 0
    assert now_of(stack) < expires_at, f"the race took over {LAST_SECONDS} s: it proves nothing"
    access = employer.access("2002")
    assert (access["status"], access["invitation"]["status"]) == ("active", "used")
    employee_item, invitation_item = stored(stack, employer, "2002")
    assert (employee_item["state"]["S"], invitation_item["status"]["S"]) == ("active", "used")
    assert "dueAt" not in invitation_item  # out of the index, also if the sweep's deferral was written first
    assert len(employer.mails("2002")) == 1

    # And a sweep after the expiry moment leaves the activation standing
    stack.advance_clock(LAST_SECONDS + MINUTE)
    sweep(stack)
    assert stored(stack, employer, "2002") == (employee_item, invitation_item)
    assert employer.access("2002") == access


def test_credentials_racing_the_sweep_just_after_expiry_lose_and_the_invitation_expires(stack, http, employer):
    # Given an invitation answered rightly in its last seconds, and the clock now just past its expiry
    employer.employee("2003", name="Sanne de Boer")
    link = employer.grant("2003")
    expires_at = from_iso(employer.access("2003")["invitation"]["expiresAt"])
    advance_to(stack, datetime.fromtimestamp(expires_at.timestamp() - LAST_SECONDS, expires_at.tzinfo))
    verification = verify(http, link)
    advance_to(stack, datetime.fromtimestamp(expires_at.timestamp() + 1, expires_at.tzinfo))

    # When the credentials and a sweep run are sent at the same moment
    done, swept = race_credentials_against_the_sweep(stack, http, link, verification, f"sanne-{employer.employer_id}")

    # Then the activation loses whatever the interleaving, and the invitation ends expired, once
    assert (done.status, data_state(done.body)) == (410, "expired")
    assert "Set-Cookie" not in done.headers
    assert swept["failed"] == 0
    access = employer.access("2003")
    assert (access["status"], access["invitation"]["status"], access["activatedAt"]) == (
        "not_activated",
        "expired",
        None,
    )
    employee_item, invitation_item = stored(stack, employer, "2003")
    assert (employee_item["state"]["S"], invitation_item["status"]["S"]) == ("not_activated", "expired")
    assert "dueAt" not in invitation_item
