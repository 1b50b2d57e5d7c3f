"""Logging in, recognising the employee by session cookie or ID token, and signing out everywhere."""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import UTC, date, datetime

import pytest

from werknemerloket.clock import FixedClock
from werknemerloket.domain.accounts import UsernameClaim
from werknemerloket.domain.entities import AccessStatus, Employee, EmployeeProfile, Employer
from werknemerloket.domain.sessions import SESSION_LIFETIME, LoginFailedError, SessionService
from werknemerloket.domain.tokens import token_hash
from werknemerloket.errors import ForbiddenError, UnauthenticatedError

from .fake_accounts import FakeAccountStore, FakeIdentity

NOW = datetime(2026, 12, 4, 15, 20, 7, 123456, tzinfo=UTC)
PASSWORD = "paarden eten graag hooi"


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(NOW)
        self.store = FakeAccountStore()
        self.identity = FakeIdentity(self.clock)
        self.service = SessionService(self.store, self.identity, self.clock)
        self.store.employers["acme"] = Employer("acme", "Acme B.V.")
        profile = EmployeeProfile("Jan de Vries", "jan@example.nl", date(1990, 5, 17), "nl")
        self.store.employees[("acme", "1001")] = Employee(
            "acme", "1001", profile, AccessStatus.ACTIVE, username="Jan", activated_at=NOW
        )
        self.store.usernames["jan"] = UsernameClaim("jan", "acme", "1001", "inv-1")
        self.identity.create_user("jan")
        self.identity.set_password("jan", PASSWORD)


@pytest.fixture
def world() -> World:
    return World()


def test_login_folds_case_and_starts_a_session_stored_only_by_its_hash(world):
    grant = world.service.login(" JAN ", PASSWORD)

    [(stored_hash, session)] = world.store.sessions.items()
    assert stored_hash == token_hash(grant.cookie_value)
    assert grant.cookie_value not in repr(world.store)
    assert (session.employer_id, session.employee_id, session.username) == ("acme", "1001", "jan")
    assert session.expires_at == NOW + SESSION_LIFETIME


def test_a_session_keeps_no_cognito_token(world):
    world.service.login("jan", PASSWORD)

    [session] = world.store.sessions.values()
    assert {f.name for f in fields(session)} == {
        "session_hash",
        "employer_id",
        "employee_id",
        "username",
        "csrf_token",
        "created_at",
        "expires_at",
    }
    assert "id.jan" not in repr(world.store)
    assert "access.jan" not in repr(world.store)


@pytest.mark.parametrize(
    ("username", "password"),
    [("jan", "wrong password!"), ("piet", PASSWORD), ("piet", "wrong password!"), ("j n", PASSWORD), ("jan", "")],
)
def test_every_login_failure_is_the_same_failure(world, username, password):
    with pytest.raises(LoginFailedError) as raised:
        world.service.login(username, password)

    assert (raised.value.code, raised.value.message) == ("LOGIN_FAILED", "The username or password is not right.")
    assert world.store.sessions == {}


def test_the_session_cookie_authenticates_until_the_session_ends(world):
    grant = world.service.login("jan", PASSWORD)

    who = world.service.authenticate(grant.cookie_value)
    assert who.account.employee.employee_id == "1001"
    assert who.account.employer.name == "Acme B.V."
    assert who.session == grant.session

    world.clock.advance(SESSION_LIFETIME.total_seconds())
    with pytest.raises(UnauthenticatedError):
        world.service.authenticate(grant.cookie_value)


@pytest.mark.parametrize("cookie", [None, "", "not-a-session", "A" * 43])
def test_no_or_an_unknown_cookie_does_not_authenticate(world, cookie):
    with pytest.raises(UnauthenticatedError):
        world.service.authenticate(cookie)


def test_an_id_token_authenticates_without_a_cookie(world):
    tokens = world.identity.login("jan", PASSWORD)

    who = world.service.authenticate(None, tokens.id_token)

    assert who.account.employee.employee_id == "1001"
    assert who.session is None
    with pytest.raises(UnauthenticatedError):
        world.service.authenticate(None, "forged.token")


def test_an_employee_who_is_not_active_is_not_authenticated(world):
    grant = world.service.login("jan", PASSWORD)
    employee = world.store.employees[("acme", "1001")]
    world.store.employees[("acme", "1001")] = replace(employee, state=AccessStatus.NOT_ACTIVATED)

    with pytest.raises(UnauthenticatedError):
        world.service.authenticate(grant.cookie_value)


def test_logout_needs_the_sessions_own_csrf_token(world):
    grant = world.service.login("jan", PASSWORD)

    with pytest.raises(ForbiddenError):
        world.service.logout(grant.cookie_value, "not-the-token")
    with pytest.raises(ForbiddenError):
        world.service.logout(grant.cookie_value, "ünïcode")

    assert world.service.authenticate(grant.cookie_value).session == grant.session
    assert world.identity.signed_out == []


def test_logout_signs_out_every_session_and_token_issued_before(world):
    laptop = world.service.login("jan", PASSWORD)
    phone = world.service.login("jan", PASSWORD)
    token = world.identity.login("jan", PASSWORD).id_token
    world.clock.advance(1.5)

    assert world.service.logout(laptop.cookie_value, laptop.session.csrf_token) is True

    assert world.identity.signed_out == ["jan"]
    for cookie in (laptop.cookie_value, phone.cookie_value):
        with pytest.raises(UnauthenticatedError):
            world.service.authenticate(cookie)
    with pytest.raises(UnauthenticatedError):
        world.service.authenticate(None, token)

    world.clock.advance(1)  # ID tokens carry whole seconds: a new one is from the next second on
    again = world.service.login("jan", PASSWORD)
    assert world.service.authenticate(again.cookie_value).session == again.session
    assert world.service.authenticate(None, world.identity.login("jan", PASSWORD).id_token).session is None


def test_logout_without_a_live_session_only_clears_the_cookie(world):
    assert world.service.logout(None, "") is False
    assert world.service.logout("A" * 43, "") is False
    assert world.identity.signed_out == []
