"""DESIGN.md's invariant "no token, password or date of birth ever reaches a log line" (nor an e-mail
address, a session cookie or the secret a right answer hands the browser), checked on the local
stack's whole output (the functions' Powertools logs, the gateway's and the scheduler's lines) after
a flow through every function the employee meets."""

from __future__ import annotations

import uuid
from datetime import date

from tests.activation_helpers import (
    Employer,
    complete,
    data_page,
    link_in,
    post_form,
    session_cookie,
    token_of,
    verify,
)

HOUR = 3600
# Dates and a password of this test only, so that finding one in the shared log means this flow leaked it.
BIRTH = "1987-11-23"
WRONG_BIRTH = "1987-11-24"
OTHER_BIRTH = "1979-02-08"


def leaked(log: str, secrets: dict[str, str]) -> dict[str, str]:
    """Each secret found in the log, with the first line that holds it (to say where it came from)."""
    lines = log.splitlines()
    return {
        name: next(line for line in lines if value in line)[:400] for name, value in secrets.items() if value in log
    }


def test_a_whole_flow_leaves_no_token_address_date_of_birth_or_password_in_the_log(stack, http):
    employer = Employer(stack, name="Kaasboerderij De Stille Log")
    password = f"oude kaas {uuid.uuid4().hex[:12]} ruikt sterk"
    username = f"greet-{employer.employer_id}"

    # Given an employee who is invited, answers wrongly, then rightly, chooses credentials, logs in and out
    employer.employee("3001", name="Greet Visser", date_of_birth=BIRTH)
    link = employer.grant("3001")
    wrong = post_form(http, "/activate", {"token": token_of(link), "dateOfBirth": WRONG_BIRTH})
    assert (wrong.status, data_page(wrong.body)) == (400, "activate-dob")
    verification = verify(http, link, BIRTH)
    activated = complete(http, link, verification, username, password)
    assert (activated.status, activated.headers["Location"]) == (303, "/portal")
    first_session = session_cookie(activated)
    login = post_form(http, "/login", {"username": username, "password": password})
    assert login.status == 303
    second_session = session_cookie(login)
    portal = http.get("/portal", headers={"Cookie": second_session})
    csrf = portal.body.split('name="csrfToken" value="', 1)[1].split('"', 1)[0]
    logout = post_form(http, "/logout", {"csrfToken": csrf}, headers={"Cookie": second_session})
    assert logout.status == 303
    # And another who is invited, sent a new link, and reminded by the sweep
    employer.employee("3002", name="Kees Visser", language="en", date_of_birth=OTHER_BIRTH)
    employer.grant("3002")
    employer.resend("3002")
    stack.advance_clock(73 * HOUR)  # past the reminder moment of the resent invitation
    assert stack.run("expire_invites")["result"]["reminded"] >= 1
    assert [len(employer.mails(e)) for e in ("3001", "3002")] == [1, 3]

    # When the stack's whole output is read
    log = stack.log()

    # Then none of what the flow handled in confidence is in it
    tokens = [token_of(link_in(mail)) for mail in employer.mails("3001") + employer.mails("3002")]
    assert len(set(tokens)) == 4  # invitation, invitation, resent invitation, reminder: each its own link
    secrets = {f"link token of mail {n}": token for n, token in enumerate(tokens)}
    for employee_id in ("3001", "3002"):
        secrets[f"e-mail address of {employee_id}"] = employer.email(employee_id)
    for name, value in (("date of birth", BIRTH), ("wrong answer", WRONG_BIRTH), ("other date", OTHER_BIRTH)):
        secrets[name] = value
        secrets[f"{name} as a date"] = repr(date.fromisoformat(value))
    secrets["password"] = password
    secrets["verification secret of the right answer"] = verification
    secrets["first session cookie"] = first_session.split("=", 1)[1]
    secrets["second session cookie"] = second_session.split("=", 1)[1]
    # (the flow's own lines are in it: the functions log the ids of what they handle)
    assert f'"employerId":"{employer.employer_id}"' in log
    assert leaked(log, secrets) == {}
