"""The employee's whole way in, in headless Chromium without JavaScript: from the invitation mail in
the outbox to the portal, logging out and in again; and the notice page of every dead link."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.activation_helpers import BIRTH, PASSWORD, WRONG_BIRTH, Employer, path_of, post_form, token_of

pytestmark = pytest.mark.browser

CSP_MARKERS = ("Content Security Policy", "Content-Security-Policy")
_VERIFICATION = re.compile(r'<input type="hidden" name="verification" value="([A-Za-z0-9_-]{43})">')


@pytest.fixture
def console(page: Page) -> list[str]:
    """Messages the browser logs, e.g. a stylesheet the policy blocked."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(message.text))
    return messages


def main(page: Page) -> Any:
    return page.locator("main")


def credentials_over_http(stack: Any, link: str, username: str) -> None:
    """The right answer, then the credentials form with the verification secret that answer handed out."""
    answered = post_form(stack.http, "/activate", {"token": token_of(link), "dateOfBirth": BIRTH})
    found = _VERIFICATION.search(answered.body)
    assert found, answered.body
    fields = {"username": username, "password": PASSWORD, "passwordConfirm": PASSWORD}
    fields |= {"token": token_of(link), "verification": found.group(1)}
    assert post_form(stack.http, "/activate/credentials", fields).status == 303


def activate_over_http(stack: Any, employer: Employer, employee_id: str, username: str) -> None:
    employer.employee(employee_id, name="Other Employee")
    credentials_over_http(stack, employer.grant(employee_id), username)


def test_an_employee_activates_from_the_mail_and_logs_out_and_in_again(
    page: Page, stack: Any, screenshot: Any, console: list[str]
) -> None:
    employer = Employer(stack)
    taken = f"Jan-{employer.employer_id}"
    activate_over_http(stack, employer, "1000", taken)
    employer.employee("1001", name="Jan de Vries")
    employer.grant("1001")

    # The invitation mail, in the outbox, and its link.
    page.goto(f"{stack.url}/_local/outbox")
    mail = page.locator("article", has_text=employer.email("1001")).first
    expect(mail).to_be_visible()
    screenshot("01-outbox-invitation-mail")
    mail.locator("a[href*='/activate?token=']").first.click()

    # The date-of-birth question.
    expect(main(page)).to_have_attribute("data-page", "activate-dob")
    expect(page.locator("html")).to_have_attribute("lang", "nl")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, Jan de Vries")
    expect(page.locator(".brand__org")).to_have_text(employer.name)
    expect(page.get_by_text("Je kunt dit nog 5 keer proberen.")).to_be_visible()
    screenshot("02-activate-date-of-birth")

    # A wrong date: the field says so, and a try is gone.
    page.get_by_label("Geboortedatum").fill(WRONG_BIRTH)
    page.get_by_role("button", name="Doorgaan").click()
    expect(main(page)).to_have_attribute("data-page", "activate-dob")
    field = page.get_by_label("Geboortedatum")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        "Zoals die bij " + employer.name + " bekend is. Deze geboortedatum klopt niet."
    )
    expect(page.get_by_role("alert")).to_contain_text("Deze geboortedatum klopt niet.")
    expect(page.get_by_text("Je kunt dit nog 4 keer proberen.")).to_be_visible()
    screenshot("03-activate-wrong-date")

    # The right date: choose credentials. The form carries this browser's verification secret.
    page.get_by_label("Geboortedatum").fill(BIRTH)
    page.get_by_role("button", name="Doorgaan").click()
    expect(main(page)).to_have_attribute("data-page", "activate-credentials")
    secret = page.locator("input[type=hidden][name=verification]")
    expect(secret).to_have_value(re.compile(r"^[A-Za-z0-9_-]{43}$"))
    screenshot("04-activate-credentials")

    # A username that is taken (in another case).
    page.get_by_label("Gebruikersnaam").fill(taken.upper())
    page.get_by_label("Wachtwoord", exact=True).fill(PASSWORD)
    page.get_by_label("Herhaal het wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Account activeren").click()
    expect(main(page)).to_have_attribute("data-page", "activate-credentials")
    expect(page.get_by_label("Gebruikersnaam")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Deze gebruikersnaam is al in gebruik.")
    screenshot("05-activate-username-taken")

    # A weak password.
    username = f"jan.de.vries-{employer.employer_id}"
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord", exact=True).fill("Password1234")
    page.get_by_label("Herhaal het wachtwoord").fill("Password1234")
    page.get_by_role("button", name="Account activeren").click()
    expect(page.get_by_label("Wachtwoord", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("veel gebruikt")
    expect(page.get_by_label("Gebruikersnaam")).to_have_value(username)
    screenshot("06-activate-weak-password")

    # A password that ends in a space: refused here, before Cognito could refuse it after the activation.
    page.get_by_label("Wachtwoord", exact=True).fill(PASSWORD + " ")
    page.get_by_label("Herhaal het wachtwoord").fill(PASSWORD + " ")
    page.get_by_role("button", name="Account activeren").click()
    expect(page.get_by_label("Wachtwoord", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Het wachtwoord mag niet met een spatie beginnen of eindigen.")
    expect(page.get_by_label("Gebruikersnaam")).to_have_value(username)
    assert employer.access("1001")["status"] == "invited"

    # Success: logged in on the portal.
    page.get_by_label("Wachtwoord", exact=True).fill(PASSWORD)
    page.get_by_label("Herhaal het wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Account activeren").click()
    expect(page).to_have_url(f"{stack.url}/portal")
    expect(main(page)).to_have_attribute("data-page", "portal")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welkom, Jan de Vries")
    expect(page.get_by_text(employer.name).first).to_be_visible()
    [cookie] = [c for c in page.context.cookies() if c["name"] == "__Host-wnl_session"]
    assert (cookie["secure"], cookie["httpOnly"], cookie["sameSite"], cookie["path"]) == (True, True, "Lax", "/")
    screenshot("07-portal-after-activation")
    assert employer.access("1001")["status"] == "active"

    # Logging out everywhere.
    page.get_by_role("button", name="Uitloggen").click()
    expect(page).to_have_url(f"{stack.url}/login")
    expect(main(page)).to_have_attribute("data-page", "login")
    assert not [c for c in page.context.cookies() if c["name"] == "__Host-wnl_session"]
    page.goto(f"{stack.url}/portal")
    expect(main(page)).to_have_attribute("data-page", "login")
    screenshot("08-login")

    # Logging in again, after one typo.
    page.get_by_label("Gebruikersnaam").fill(username.upper())
    page.get_by_label("Wachtwoord").fill(PASSWORD + "!")
    page.get_by_role("button", name="Inloggen").click()
    expect(page.get_by_role("alert")).to_contain_text("De gebruikersnaam of het wachtwoord is onjuist.")
    screenshot("09-login-failed")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Inloggen").click()
    expect(main(page)).to_have_attribute("data-page", "portal")
    screenshot("10-portal-after-login")

    assert not [m for m in console if any(marker in m for marker in CSP_MARKERS)], console


def test_the_pages_are_styled_under_the_content_security_policy(page: Page, stack: Any, console: list[str]) -> None:
    page.goto(f"{stack.url}/login")

    expect(page.locator("main")).to_have_css("border-top-left-radius", "14.4px")
    expect(page.locator(".brand__mark")).to_have_css("background-color", "rgb(11, 79, 138)")
    assert not [m for m in console if any(marker in m for marker in CSP_MARKERS)], console


def test_the_login_page_speaks_english_on_request(page: Page, stack: Any, screenshot: Any) -> None:
    page.goto(f"{stack.url}/login")
    page.get_by_role("link", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in to the employee portal")
    page.get_by_label("Username").fill("nobody")
    page.get_by_label("Password").fill("not a password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("The username or password is not right.")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    screenshot("11-login-english")


def test_an_english_employee_gets_english_pages(page: Page, stack: Any, screenshot: Any) -> None:
    employer = Employer(stack, name="Harbour Logistics Ltd")
    employer.employee("2001", name="Jane Doe", language="en")
    link = employer.grant("2001")

    page.goto(stack.url + path_of(link))

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Jane Doe")
    expect(page.get_by_text("You have 5 tries left.")).to_be_visible()
    screenshot("12-activate-date-of-birth-english")


def test_every_dead_link_shows_its_notice_and_what_to_do_next(page: Page, stack: Any, screenshot: Any) -> None:
    employer = Employer(stack)
    links: dict[str, str] = {}
    employer.employee("3001")
    links["revoked"] = employer.grant("3001")
    employer.revoke("3001")
    employer.employee("3002")
    links["replaced"] = employer.grant("3002")
    employer.resend("3002")
    employer.employee("3003")
    links["used"] = employer.grant("3003")
    credentials_over_http(stack, links["used"], f"used-{employer.employer_id}")
    employer.employee("3004")
    links["locked"] = employer.grant("3004")
    for _ in range(5):
        post_form(stack.http, "/activate", {"token": token_of(links["locked"]), "dateOfBirth": WRONG_BIRTH})
    links["invalid"] = f"{stack.url}/activate?token=" + "x" * 43
    next_steps = {
        "revoked": "contactpersoon bij " + employer.name,
        "replaced": "meest recente e-mail van " + employer.name,
        "used": "Log in met de gebruikersnaam",
        "locked": "opnieuw te versturen",
        "invalid": "rechtstreeks vanuit de e-mail",
        "expired": "opnieuw toegang te geven",
    }

    for state, link in links.items():
        response = page.goto(stack.url + path_of(link))
        assert response is not None
        assert response.status == (404 if state == "invalid" else 410)
        expect(main(page)).to_have_attribute("data-page", "activate-notice")
        expect(main(page)).to_have_attribute("data-state", state)
        expect(main(page)).to_contain_text(next_steps[state])
        screenshot(f"notice-{state}")
    page.goto(stack.url + path_of(links["used"]))
    page.get_by_role("link", name="Naar inloggen").click()
    expect(main(page)).to_have_attribute("data-page", "login")

    # Expired last: it moves this stack's clock by 96 hours.
    employer.employee("3005")
    link = employer.grant("3005")
    stack.advance_clock(96 * 3600)
    response = page.goto(stack.url + path_of(link))
    assert response is not None
    assert response.status == 410
    expect(main(page)).to_have_attribute("data-state", "expired")
    expect(main(page)).to_contain_text(next_steps["expired"])
    screenshot("notice-expired")
