"""The employee's half over HTTP against the local stack: prefetching, the attempt limit under
concurrency, the username race, session cookies, sign-out everywhere and the headers of every page."""

from __future__ import annotations

import re
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.activation_helpers import (
    BIRTH,
    PASSWORD,
    WRONG_BIRTH,
    Employer,
    activate,
    complete,
    data_page,
    data_state,
    path_of,
    post_form,
    session_cookie,
    token_of,
    verify,
)

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_TRIES = re.compile(r"nog (\d+) keer|You have (\d+) tr")


def tries_left(html: str) -> int:
    found = _TRIES.search(html)
    assert found, "the page does not say how many tries are left"
    return int(found.group(1) or found.group(2))


@pytest.fixture
def employer(stack: Any) -> Employer:
    return Employer(stack)


def attempts_of(aws: dict[str, Any], link: str, stack: Any) -> int:
    import hashlib

    tables = aws["dynamodb"].list_tables()["TableNames"]
    links = next(t for t in tables if "links" in t.lower())
    key = {"tokenHash": {"S": hashlib.sha256(token_of(link).encode()).hexdigest()}}
    invitation_id = aws["dynamodb"].get_item(TableName=links, Key=key, ConsistentRead=True)["Item"]["invitationId"]
    item = aws["dynamodb"].get_item(
        TableName=aws["invitations"], Key={"invitationId": invitation_id}, ConsistentRead=True
    )
    return int(item["Item"]["attempts"]["N"])


def id_token(aws: dict[str, Any], username: str, password: str = PASSWORD) -> str:
    """An employee ID token as a client of the employee pool would hold it."""
    answer = aws["cognito"].admin_initiate_auth(
        UserPoolId=aws["pool"],
        ClientId=aws["client"],
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": password},
    )
    return str(answer["AuthenticationResult"]["IdToken"])


def activated(http: Any, employer: Employer, employee_id: str, username: str) -> str:
    """An employee who went through the whole activation; answers the session cookie."""
    employer.employee(employee_id)
    return session_cookie(activate(http, employer.grant(employee_id), username))


# ---------------------------------------------------------------- the link


def test_opening_the_link_with_get_or_head_any_number_of_times_consumes_nothing(http, employer):
    employer.employee("1001")
    link = employer.grant("1001")

    replies = [http.get(path_of(link)) for _ in range(10)] + [http.head(path_of(link)) for _ in range(10)]

    assert {reply.status for reply in replies} == {200}
    assert {data_page(reply.body) for reply in replies[:10]} == {"activate-dob"}
    assert all(not reply.body for reply in replies[10:])  # HEAD: headers only
    assert tries_left(replies[0].body) == 5
    assert employer.access("1001")["invitation"]["status"] == "pending"
    wrong = post_form(http, "/activate", {"token": token_of(link), "dateOfBirth": WRONG_BIRTH})
    assert (wrong.status, tries_left(wrong.body)) == (400, 4)  # the 20 opens cost no try
    verify(http, link)  # and the link still does its work


def test_the_pages_speak_the_employees_language_and_name_the_employer(http, employer):
    employer.employee("1002", name="Jane Doe", language="en")
    link = employer.grant("1002")

    reply = http.get(path_of(link))

    assert '<html lang="en">' in reply.body
    assert "Welcome, Jane Doe" in reply.body
    assert employer.name in reply.body
    assert 'name="dateOfBirth"' in reply.body
    assert '<label for="dateOfBirth">' in reply.body


def test_every_page_sends_a_strict_policy_and_no_referrer(http, employer):
    employer.employee("1003")
    link = employer.grant("1003")
    pages = {
        "link": http.get(path_of(link)),
        "wrong answer": post_form(http, "/activate", {"token": token_of(link), "dateOfBirth": WRONG_BIRTH}),
        "notice": http.get("/activate?token=" + "A" * 43),
        "login": http.get("/login"),
        "portal without a session": http.get("/portal"),
        "me without a session": http.get("/me"),
    }

    for name, reply in pages.items():
        assert reply.headers["Content-Security-Policy"] == CSP, name
        assert reply.headers["Referrer-Policy"] == "no-referrer", name
        assert reply.headers["X-Content-Type-Options"] == "nosniff", name
        assert reply.headers["Cache-Control"] == "no-store", name
    assert "<script" not in pages["link"].body
    assert "style=" not in pages["link"].body
    stylesheet = http.get("/static/style.css")
    assert stylesheet.status == 200
    assert stylesheet.headers["Content-Type"].startswith("text/css")


@pytest.mark.parametrize("query", ["", "?token=", "?token=short", "?token=" + "A" * 43, "?token=" + "%C3%A9" * 43])
def test_an_unknown_or_malformed_link_is_the_invalid_notice(http, query):
    reply = http.get("/activate" + query)

    assert (reply.status, data_page(reply.body), data_state(reply.body)) == (404, "activate-notice", "invalid")


def test_revoked_replaced_and_used_links_show_their_notice_with_410(http, employer):
    employer.employee("1101")
    revoked = employer.grant("1101")
    employer.revoke("1101")
    employer.employee("1102")
    replaced = employer.grant("1102")
    fresh = employer.resend("1102")
    employer.employee("1103")
    used = employer.grant("1103")
    assert complete(http, used, verify(http, used), f"used-{employer.employer_id}").status == 303

    for link, state in ((revoked, "revoked"), (replaced, "replaced"), (used, "used")):
        for reply in (
            http.get(path_of(link)),
            post_form(http, "/activate", {"token": token_of(link), "dateOfBirth": BIRTH}),
        ):
            assert (reply.status, data_page(reply.body), data_state(reply.body)) == (410, "activate-notice", state)
    assert http.get(path_of(fresh)).status == 200


# ---------------------------------------------------------------- the date of birth


def test_a_malformed_date_is_not_an_answer(http, employer, aws, stack):
    employer.employee("1201")
    link = employer.grant("1201")

    for text in ("17-05-1990", "1990-02-30", "", "1990-05-17T00:00"):
        reply = post_form(http, "/activate", {"token": token_of(link), "dateOfBirth": text})
        assert (reply.status, data_page(reply.body), tries_left(reply.body)) == (400, "activate-dob", 5)
        assert 'aria-invalid="true"' in reply.body
        assert 'aria-describedby="dateOfBirth-hint dateOfBirth-error"' in reply.body

    assert attempts_of(aws, link, stack) == 0


def test_fifty_concurrent_wrong_answers_count_five_then_lock_and_a_resend_starts_afresh(http, employer, aws, stack):
    employer.employee("1301")
    link = employer.grant("1301")
    fields = {"token": token_of(link), "dateOfBirth": WRONG_BIRTH}

    with ThreadPoolExecutor(max_workers=50) as pool:
        replies = list(pool.map(lambda _: post_form(http, "/activate", fields), range(50)))

    statuses = Counter(reply.status for reply in replies)
    assert statuses == {400: 4, 410: 46}, statuses
    assert sorted(tries_left(r.body) for r in replies if r.status == 400) == [1, 2, 3, 4]
    assert {data_state(r.body) for r in replies if r.status == 410} == {"locked"}
    assert attempts_of(aws, link, stack) == 5
    assert employer.access("1301")["invitation"]["status"] == "locked"
    assert employer.access("1301")["status"] == "invited"
    right = post_form(http, "/activate", {"token": token_of(link), "dateOfBirth": BIRTH})
    assert (right.status, data_state(right.body)) == (410, "locked")

    fresh = employer.resend("1301")

    assert fresh != link
    assert data_state(http.get(path_of(link)).body) == "replaced"
    opened = http.get(path_of(fresh))
    assert (opened.status, tries_left(opened.body)) == (200, 5)
    verify(http, fresh)


# ---------------------------------------------------------------- credentials


def test_credentials_come_only_after_a_right_answer(http, employer):
    employer.employee("1401")
    link = employer.grant("1401")

    reply = complete(http, link, "", f"early-{employer.employer_id}")

    assert (reply.status, data_page(reply.body)) == (403, "activate-dob")
    assert employer.access("1401")["status"] == "invited"


@pytest.mark.parametrize(
    ("username", "password", "field"),
    [
        ("jan de vries", PASSWORD, "username"),
        ("jan", "kort wachtw", "password"),
        ("jan-{e}", "Password1234", "password"),
        ("Lange.Jan-{e}", "lange.jan-{e}", "password"),
    ],
)
def test_refused_credentials_show_the_form_with_the_error_on_its_field(http, employer, username, password, field):
    employer.employee("1402")
    link = employer.grant("1402")
    verification = verify(http, link)
    username, password = username.format(e=employer.employer_id), password.format(e=employer.employer_id)

    reply = complete(http, link, verification, username, password)

    assert (reply.status, data_page(reply.body)) == (400, "activate-credentials")
    assert f'id="{field}-error"' in reply.body
    assert f'aria-describedby="{field}-hint {field}-error"' in reply.body
    assert password not in reply.body  # a password is never sent back
    assert employer.access("1402")["status"] == "invited"


def test_a_username_race_between_two_invitations_has_exactly_one_winner(http, employer, aws):
    name = f"Marie-{employer.employer_id}"
    links, verifications = [], []
    for employee_id in ("1501", "1502"):
        employer.employee(employee_id, name="Marie Jansen")
        links.append(employer.grant(employee_id))
        verifications.append(verify(http, links[-1]))

    with ThreadPoolExecutor(max_workers=2) as pool:
        replies = list(
            pool.map(
                lambda n: complete(http, links[n], verifications[n], (name, name.lower())[n]),
                range(2),
            )
        )

    assert sorted(reply.status for reply in replies) == [303, 409]
    loser = next(i for i, reply in enumerate(replies) if reply.status == 409)
    assert data_page(replies[loser].body) == "activate-credentials"
    assert 'id="username-error"' in replies[loser].body
    winner_id, loser_id = ("1501", "1502") if loser == 1 else ("1502", "1501")
    assert employer.access(winner_id)["status"] == "active"
    assert employer.access(loser_id)["status"] == "invited"
    users = aws["cognito"].list_users(UserPoolId=aws["pool"], Filter=f'username = "{name.lower()}"')["Users"]
    assert len(users) == 1
    assert complete(http, links[loser], verifications[loser], f"{name}-2").status == 303  # the loser picks another


def test_a_repeated_completion_of_one_invitation_makes_one_account(http, employer, aws):
    employer.employee("1601")
    link = employer.grant("1601")
    verification = verify(http, link)
    username = f"piet-{employer.employer_id}"

    with ThreadPoolExecutor(max_workers=8) as pool:
        replies = list(pool.map(lambda _: complete(http, link, verification, username), range(8)))

    assert {reply.status for reply in replies} == {303}
    users = aws["cognito"].list_users(UserPoolId=aws["pool"], Filter=f'username = "{username}"')["Users"]
    assert len(users) == 1
    assert employer.access("1601")["status"] == "active"
    assert complete(http, link, verification, username).status == 303  # a later retry just logs in


# ---------------------------------------------------------------- sessions


def test_the_session_cookie_is_host_only_secure_httponly_and_samesite(http, employer):
    employer.employee("1701")
    link = employer.grant("1701")
    verification = verify(http, link)

    reply = complete(http, link, verification, f"kees-{employer.employer_id}")

    assert reply.status == 303
    assert reply.headers["Location"].endswith("/portal")
    [cookie] = reply.headers.get_all("Set-Cookie")
    name_value, *attributes = [part.strip() for part in cookie.split(";")]
    name, value = name_value.split("=", 1)
    assert name.startswith("__Host-")
    assert len(value) >= 43
    assert {a.lower() for a in attributes} >= {"path=/", "secure", "httponly"}
    assert any(a.lower() in ("samesite=lax", "samesite=strict") for a in attributes)
    assert not any(a.lower().startswith("domain") for a in attributes)
    portal = http.get("/portal", headers={"Cookie": name_value})
    assert (portal.status, data_page(portal.body)) == (200, "portal")
    assert "Jan de Vries" in portal.body
    assert employer.name in portal.body


def test_me_answers_the_profile_by_session_cookie_or_id_token(http, employer, aws):
    username = f"Anna-{employer.employer_id}"
    cookie = activated(http, employer, "1801", username)

    by_cookie = http.get("/me", headers={"Cookie": cookie})
    by_token = http.get("/me", token=id_token(aws, username.lower()))

    expected = {
        "employerId": employer.employer_id,
        "employeeId": "1801",
        "name": "Jan de Vries",
        "employerName": employer.name,
        "language": "nl",
        "username": username,
        "email": employer.email("1801"),
    }
    assert (by_cookie.status, by_cookie.body) == (200, expected)
    assert (by_token.status, by_token.body) == (200, expected)
    for reply in (
        http.get("/me"),
        http.get("/me", token="not.a.token"),
        http.get("/me", headers={"Cookie": "__Host-wnl_session=" + "A" * 43}),
    ):
        assert (reply.status, reply.body["error"]["code"]) == (401, "UNAUTHENTICATED")


def test_the_portal_opens_for_the_employees_id_token_without_a_cookie(http, employer, aws):
    username = f"Bram-{employer.employer_id}"
    activated(http, employer, "1802", username)

    reply = http.get("/portal", token=id_token(aws, username.lower()))

    assert (reply.status, data_page(reply.body)) == (200, "portal")
    assert "Jan de Vries" in reply.body
    assert employer.name in reply.body
    assert reply.headers["Content-Security-Policy"] == CSP
    assert "Set-Cookie" not in reply.headers  # a token is no session: nothing to remember
    for refused in (http.get("/portal", token="not.a.token"), http.get("/portal")):
        assert (refused.status, refused.headers["Location"]) == (303, "/login")


def test_login_failures_say_nothing_about_whether_the_username_exists(http, employer):
    username = f"henk-{employer.employer_id}"
    activated(http, employer, "1901", username)

    wrong_password = post_form(http, "/login", {"username": username, "password": "not the password"})
    unknown_user = post_form(http, "/login", {"username": username + "x", "password": "not the password"})

    assert wrong_password.status == unknown_user.status == 401
    strip = lambda body: re.sub(r'value="[^"]*"', "", body)  # noqa: E731 - the typed username is echoed
    assert strip(wrong_password.body) == strip(unknown_user.body)
    ok = post_form(http, "/login", {"username": username.upper(), "password": PASSWORD})
    assert ok.status == 303
    assert ok.headers["Location"].endswith("/portal")


def test_logout_signs_out_every_session_and_id_token_and_login_works_again(http, employer, aws):
    username = f"sara-{employer.employer_id}"
    first = activated(http, employer, "2001", username)
    second = session_cookie(post_form(http, "/login", {"username": username, "password": PASSWORD}))
    token = id_token(aws, username)
    portal = http.get("/portal", headers={"Cookie": first})
    csrf = re.search(r'name="csrfToken" value="([^"]+)"', portal.body).group(1)

    forged = post_form(http, "/logout", {"csrfToken": "forged"}, headers={"Cookie": first})
    cross_site = post_form(
        http, "/logout", {"csrfToken": csrf}, headers={"Cookie": first, "Origin": "https://evil.example"}
    )
    assert forged.status == cross_site.status == 403
    assert http.get("/portal", headers={"Cookie": first}).status == 200

    reply = post_form(http, "/logout", {"csrfToken": csrf}, headers={"Cookie": first})

    assert reply.status == 303
    assert reply.headers["Location"].endswith("/login")
    assert "Max-Age=0" in reply.headers["Set-Cookie"]
    for cookie in (first, second):
        assert http.get("/portal", headers={"Cookie": cookie}).status == 303
        me = http.get("/me", headers={"Cookie": cookie})
        assert (me.status, me.body["error"]["code"]) == (401, "UNAUTHENTICATED")
    me = http.get("/me", token=token)
    assert (me.status, me.body["error"]["code"]) == (401, "UNAUTHENTICATED")
    again = post_form(http, "/login", {"username": username, "password": PASSWORD})
    assert http.get("/portal", headers={"Cookie": session_cookie(again)}).status == 200


# ---------------------------------------------------------------- what clients send


def test_bodies_that_are_not_forms_are_400_or_413_never_500(http, employer):
    employer.employee("2101")
    link = employer.grant("2101")
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    not_utf8 = http.post("/activate", data=b"token=" + token_of(link).encode() + b"&dateOfBirth=\xff\xfe", headers=form)
    escaped = http.post("/activate", data="token=%FF%FE&dateOfBirth=1990-05-17", headers=form)
    too_many = http.post("/login", data="&".join(f"f{i}=x" for i in range(100)), headers=form)
    too_big = http.post("/login", data="username=" + "x" * 20_000, headers=form)

    assert (not_utf8.status, escaped.status, too_many.status, too_big.status) == (400, 400, 400, 413)
    assert data_page(not_utf8.body) == "error"


def test_the_expired_link_shows_its_notice_before_any_sweep(http, employer, stack):
    # Moves the session's clock by 96 hours; every other test here makes its own invitations.
    employer.employee("2201")
    link = employer.grant("2201")

    stack.advance_clock(96 * 3600)
    reply = http.get(path_of(link))

    assert (reply.status, data_page(reply.body), data_state(reply.body)) == (410, "activate-notice", "expired")
    assert employer.access("2201")["status"] == "not_activated"
