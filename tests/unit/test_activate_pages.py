"""The employee pages' templates and texts, rendered without a stack: both languages complete, every
page marked for tests and monitoring, every value escaped."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from types import ModuleType

import pytest

from tests.functions import load_function
from werknemerloket.domain.activation import LinkView, NoticeState
from werknemerloket.domain.entities import (
    AccessStatus,
    Employee,
    EmployeeProfile,
    Employer,
    Invitation,
    InvitationStatus,
)
from werknemerloket.domain.passwords import CredentialIssue


@pytest.fixture(scope="module")
def app() -> ModuleType:
    return load_function("activate")


@pytest.fixture(scope="module")
def page_texts() -> ModuleType:
    return load_function("activate", "page_texts")


def view(language: str, employer_name: str = "Acme B.V.") -> LinkView:
    now = datetime(2026, 12, 4, tzinfo=UTC)
    profile = EmployeeProfile("Jan <b>de</b> Vries", "jan@example.nl", date(1990, 5, 17), language)
    invitation = Invitation("inv-1", "acme", "1001", InvitationStatus.PENDING, now, now, 1)
    employee = Employee("acme", "1001", profile, AccessStatus.INVITED, invitation.summary())
    return LinkView(invitation, employee, Employer("acme", employer_name))


def test_both_languages_have_every_text(page_texts):
    nl, en = page_texts.TEXTS["nl"], page_texts.TEXTS["en"]

    assert set(nl) == set(en)
    assert all(value.strip() for value in [*nl.values(), *en.values()])


@pytest.mark.parametrize("language", ["nl", "en"])
def test_every_credential_issue_has_a_sentence(page_texts, language):
    assert {f"issue_{issue}" for issue in CredentialIssue} <= set(page_texts.TEXTS[language])


def test_a_password_with_a_space_at_either_end_is_refused_in_both_languages(page_texts):
    assert page_texts.TEXTS["nl"]["issue_password_edge_space"] == (
        "Het wachtwoord mag niet met een spatie beginnen of eindigen."
    )
    assert page_texts.TEXTS["en"]["issue_password_edge_space"] == "The password must not begin or end with a space."


def test_the_credentials_form_hands_back_the_verification_secret_and_nothing_else_new(app):
    response = app._credentials_page(view("nl"), "T" * 43, "V" * 43, 200)

    hidden = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', response.body)
    assert hidden == [("token", "T" * 43), ("verification", "V" * 43)]
    assert re.findall(r'<input id="[^"]+" name="([^"]+)"', response.body) == ["username", "password", "passwordConfirm"]


def test_a_store_too_busy_even_after_retries_answers_the_busy_page_not_a_500(app, page_texts, monkeypatch):
    from tests.events import LambdaContext, api_event
    from werknemerloket.domain.ports import StoreBusyError

    class Busy:
        def answer(self, token: str, answer_text: str) -> None:
            raise StoreBusyError("TransactionConflict")

    monkeypatch.setattr(app.services, "activation", Busy)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    event = api_event("POST", "/activate", raw_body="token=" + "T" * 43 + "&dateOfBirth=1990-05-17", headers=form)

    response = app.handler(event, LambdaContext())

    assert response["statusCode"] == 503
    assert response["multiValueHeaders"]["Retry-After"] == ["2"]
    assert page_texts.TEXTS["nl"]["error_503"] in response["body"]


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_busy_page_says_to_try_again(app, page_texts, language):
    response = app.error_page(503, language)

    assert response.status_code == 503
    assert 'data-page="error"' in response.body
    assert page_texts.TEXTS[language]["error_503"] in response.body


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("state", [state.value for state in NoticeState])
def test_every_notice_renders_with_its_marker_and_a_next_step(app, page_texts, language, state):
    response = app.page(
        "activate_notice.html", 410, language, page="activate-notice", state=state, title="t", employer_name="Acme"
    )

    assert f'<main id="content" data-page="activate-notice" data-state="{state}"' in response.body
    assert f'<html lang="{language}">' in response.body
    assert page_texts.TEXTS[language][f"notice_{state}_next"].format(employer="Acme") in response.body


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_activation_pages_escape_what_they_show(app, language):
    link = view(language, employer_name='Bakkerij "Één" <i>&</i> Zn')

    dob = app._dob_page(link, "T" * 43, 400, error="fout", tries_left=1)
    credentials = app._credentials_page(
        link, "T" * 43, "V" * 43, 409, username='<script>"', errors={"username": "bezet"}
    )

    for response in (dob, credentials):
        assert "<i>" not in response.body
        assert "<b>de</b>" not in response.body
        assert "<script>" not in response.body
        assert "&lt;i&gt;&amp;&lt;/i&gt;" in response.body
        assert "style=" not in response.body
    assert 'value="&lt;script&gt;&#34;"' in credentials.body
    assert re.search(r'<input id="dateOfBirth" name="dateOfBirth" type="date" required aria-describedby=', dob.body)
    assert 'role="alert"' in dob.body


@pytest.mark.parametrize(
    ("header", "language"),
    [
        (None, "nl"),
        ("", "nl"),
        ("en-US,en;q=0.9", "en"),
        ("nl-NL,nl;q=0.9,en;q=0.8", "nl"),
        ("de-DE,en;q=0.5,nl;q=0.4", "en"),
        ("fr;q=1,en;q=0", "nl"),
        ("en;q=abc,nl;q=0.1", "nl"),
    ],
)
def test_the_browser_language_decides_where_the_employee_is_unknown(app, header, language):
    assert app._accept_language(header) == language


def test_the_session_cookie_is_host_only_secure_httponly_and_lax(app):
    from werknemerloket.domain.sessions import SessionGrant

    cookie = app.session_cookie(SessionGrant("V" * 43, None))  # type: ignore[arg-type]

    assert cookie == "__Host-wnl_session=" + "V" * 43 + "; Path=/; Secure; HttpOnly; SameSite=Lax"
    assert app.CLEARED_COOKIE.startswith("__Host-wnl_session=; Path=/; Max-Age=0; Secure; HttpOnly")
