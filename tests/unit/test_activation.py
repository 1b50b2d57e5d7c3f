"""The employee's half of an invitation, against in-memory fakes with DynamoDB's guarded-write semantics."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from werknemerloket.clock import FixedClock
from werknemerloket.domain.activation import (
    AccountNotReadyError,
    ActivationService,
    AnswerError,
    CredentialsRefusedError,
    DeadLinkError,
    NoticeState,
    UsernameUnavailableError,
    VerificationNeededError,
    parse_answer,
)
from werknemerloket.domain.entities import (
    INVITATION_VALIDITY,
    AccessStatus,
    Employee,
    EmployeeProfile,
    Employer,
    InvitationStatus,
)
from werknemerloket.domain.passwords import CredentialIssue
from werknemerloket.domain.sessions import SessionService
from werknemerloket.domain.tokens import new_token, token_hash

from .fake_accounts import FakeAccountStore, FakeIdentity

NOW = datetime(2026, 12, 4, 15, 20, 7, 123456, tzinfo=UTC)
BIRTH = date(1990, 5, 17)
PASSWORD = "paarden eten graag hooi"


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(NOW)
        self.store = FakeAccountStore()
        self.identity = FakeIdentity(self.clock)
        self.sessions = SessionService(self.store, self.identity, self.clock)
        self.service = ActivationService(self.store, self.identity, self.sessions, self.clock)
        self.store.employers["acme"] = Employer("acme", "Acme B.V.")

    def employee(self, employee_id: str = "1001", language: str = "nl") -> Employee:
        profile = EmployeeProfile("Jan de Vries", "jan@example.nl", BIRTH, language)
        return Employee("acme", employee_id, profile, AccessStatus.NOT_ACTIVATED)

    def invite(self, employee_id: str = "1001") -> tuple[str, str]:
        invitation, token = self.store.invite(self.employee(employee_id), self.clock.now().replace(microsecond=0))
        return invitation.invitation_id, token

    def verified(self, employee_id: str = "1001") -> tuple[str, str]:
        invitation_id, token = self.invite(employee_id)
        self.service.answer(token, BIRTH.isoformat())
        return invitation_id, token


@pytest.fixture
def world() -> World:
    return World()


# ---------------------------------------------------------------- opening the link


def test_opening_a_link_any_number_of_times_changes_nothing(world):
    invitation_id, token = world.invite()
    before = copy.deepcopy(world.store)

    views = [world.service.open(token) for _ in range(25)]

    assert world.store == before
    assert world.store.writes == 0
    assert views[-1].invitation.invitation_id == invitation_id
    assert views[-1].employer.name == "Acme B.V."
    assert views[-1].tries_left == 5


@pytest.mark.parametrize("token", [None, "", "short", "x" * 43 + "!", "é" * 43])
def test_a_malformed_link_is_invalid(world, token):
    with pytest.raises(DeadLinkError) as raised:
        world.service.open(token)

    assert raised.value.state is NoticeState.INVALID
    assert raised.value.view is None


def test_an_unknown_link_is_invalid(world):
    world.invite()

    with pytest.raises(DeadLinkError) as raised:
        world.service.open(new_token())

    assert raised.value.state is NoticeState.INVALID


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (InvitationStatus.REVOKED, NoticeState.REVOKED),
        (InvitationStatus.REPLACED, NoticeState.REPLACED),
        (InvitationStatus.USED, NoticeState.USED),
        (InvitationStatus.LOCKED, NoticeState.LOCKED),
        (InvitationStatus.EXPIRED, NoticeState.EXPIRED),
    ],
)
def test_a_dead_link_names_its_state_and_keeps_the_employer_for_the_page(world, status, state):
    invitation_id, token = world.invite()
    world.store.set_status(invitation_id, status)

    with pytest.raises(DeadLinkError) as raised:
        world.service.open(token)

    assert raised.value.state is state
    assert raised.value.view is not None
    assert raised.value.view.employer.name == "Acme B.V."


def test_a_link_expires_at_exactly_its_expiry_before_any_sweep(world):
    _, token = world.invite()
    world.clock.advance(INVITATION_VALIDITY.total_seconds() - 1)
    world.service.open(token)  # one second before: still open

    world.clock.advance(1)

    with pytest.raises(DeadLinkError) as raised:
        world.service.open(token)
    assert raised.value.state is NoticeState.EXPIRED


def test_a_locked_invitation_past_its_expiry_reads_expired(world):
    invitation_id, token = world.invite()
    world.store.set_status(invitation_id, InvitationStatus.LOCKED)
    world.clock.advance(INVITATION_VALIDITY.total_seconds())

    with pytest.raises(DeadLinkError) as raised:
        world.service.open(token)

    assert raised.value.state is NoticeState.EXPIRED


# ---------------------------------------------------------------- the date of birth


def test_a_wrong_date_costs_one_try_and_says_how_many_are_left(world):
    invitation_id, token = world.invite()

    with pytest.raises(AnswerError) as raised:
        world.service.answer(token, "1990-05-18")

    assert raised.value.issue == "wrong"
    assert raised.value.tries_left == 4
    assert world.store.invitations[invitation_id].attempts == 1


def test_the_fifth_wrong_date_locks_the_invitation_and_the_employer_sees_locked(world):
    invitation_id, token = world.invite()
    for left in (4, 3, 2, 1):
        with pytest.raises(AnswerError) as raised:
            world.service.answer(token, "1990-05-18")
        assert raised.value.tries_left == left

    with pytest.raises(DeadLinkError) as raised_dead:
        world.service.answer(token, "1990-05-18")

    assert raised_dead.value.state is NoticeState.LOCKED
    assert world.store.invitations[invitation_id].status is InvitationStatus.LOCKED
    employee = world.store.employees[("acme", "1001")]
    assert employee.invitation.status is InvitationStatus.LOCKED
    assert employee.access_status_at(world.clock.now()) is AccessStatus.INVITED


def test_after_the_lock_even_the_right_date_is_refused(world):
    invitation_id, token = world.invite()
    for _ in range(5):
        with pytest.raises((AnswerError, DeadLinkError)):
            world.service.answer(token, "2000-01-01")

    with pytest.raises(DeadLinkError) as raised:
        world.service.answer(token, BIRTH.isoformat())

    assert raised.value.state is NoticeState.LOCKED
    assert world.store.invitations[invitation_id].attempts == 5
    assert world.store.invitations[invitation_id].verified_at is None


def test_attempts_used_up_without_the_lock_write_read_as_locked_and_are_repaired(world):
    # A crash between the fifth count and the lock transaction leaves pending with 5 attempts.
    invitation_id, token = world.invite()
    world.store.invitations[invitation_id] = replace(world.store.invitations[invitation_id], attempts=5)

    with pytest.raises(DeadLinkError) as opened:
        world.service.open(token)
    assert opened.value.state is NoticeState.LOCKED
    assert world.store.invitations[invitation_id].status is InvitationStatus.PENDING  # GET writes nothing

    with pytest.raises(DeadLinkError) as answered:
        world.service.answer(token, BIRTH.isoformat())
    assert answered.value.state is NoticeState.LOCKED
    assert world.store.invitations[invitation_id].status is InvitationStatus.LOCKED


@pytest.mark.parametrize(
    ("text", "issue"),
    [("17-05-1990", "format"), ("1990-02-30", "format"), ("1990-5-17", "format"), ("", "required"), ("  ", "required")],
)
def test_a_malformed_date_is_not_an_answer_and_costs_nothing(world, text, issue):
    invitation_id, token = world.invite()

    with pytest.raises(AnswerError) as raised:
        world.service.answer(token, text)

    assert raised.value.issue == issue
    assert raised.value.tries_left == 5
    assert world.store.invitations[invitation_id].attempts == 0


def test_parse_answer_takes_only_real_iso_dates():
    assert parse_answer(" 1990-05-17 ") == BIRTH
    assert parse_answer("19900517") is None
    assert parse_answer("\uff11\uff19\uff19\uff10-05-17") is None  # fullwidth digits are not YYYY


def test_the_right_date_records_the_verification_and_opens_the_credentials_step(world):
    invitation_id, token = world.invite()

    view = world.service.answer(token, BIRTH.isoformat())

    assert view.invitation.verified_at == NOW.replace(microsecond=0)
    assert world.store.invitations[invitation_id].verified_at == NOW.replace(microsecond=0)
    assert world.store.invitations[invitation_id].status is InvitationStatus.PENDING


# ---------------------------------------------------------------- credentials


def test_credentials_need_a_right_answer_first(world):
    _, token = world.invite()

    with pytest.raises(VerificationNeededError):
        world.service.complete(token, "jan", PASSWORD, PASSWORD)


def test_a_verification_holds_for_30_minutes(world):
    _, token = world.verified()
    world.clock.advance(30 * 60)

    with pytest.raises(VerificationNeededError):
        world.service.complete(token, "jan", PASSWORD, PASSWORD)


def test_completion_activates_claims_the_username_creates_the_account_and_logs_in(world):
    invitation_id, token = world.verified()
    world.clock.advance(29 * 60)

    activated = world.service.complete(token, " Jan.de-Vries@acme ", PASSWORD, PASSWORD)

    employee = world.store.employees[("acme", "1001")]
    assert employee.state is AccessStatus.ACTIVE
    assert employee.username == "Jan.de-Vries@acme"
    assert employee.invitation.status is InvitationStatus.USED
    assert world.store.invitations[invitation_id].status is InvitationStatus.USED
    claim = world.store.usernames["jan.de-vries@acme"]
    assert (claim.employer_id, claim.employee_id, claim.invitation_id) == ("acme", "1001", invitation_id)
    assert world.identity.users["jan.de-vries@acme"].password == PASSWORD
    session = activated.session.session
    assert world.store.sessions == {session.session_hash: session}
    assert session.session_hash == token_hash(activated.session.cookie_value)
    assert session.refresh_token is not None
    with pytest.raises(DeadLinkError) as raised:
        world.service.open(token)
    assert raised.value.state is NoticeState.USED


@pytest.mark.parametrize(
    ("username", "password", "confirmation", "issues"),
    [
        ("ja", PASSWORD, PASSWORD, {"username": CredentialIssue.USERNAME_FORMAT}),
        ("jan de vries", PASSWORD, PASSWORD, {"username": CredentialIssue.USERNAME_FORMAT}),
        ("x" * 65, PASSWORD, PASSWORD, {"username": CredentialIssue.USERNAME_FORMAT}),
        ("jan", "elf tekens!", "elf tekens!", {"password": CredentialIssue.PASSWORD_TOO_SHORT}),
        ("jan", "x" * 129, "x" * 129, {"password": CredentialIssue.PASSWORD_TOO_LONG}),
        ("jan", "Password1234", "Password1234", {"password": CredentialIssue.PASSWORD_COMMON}),
        ("Jan.de.Vries", "jan.de.vries", "jan.de.vries", {"password": CredentialIssue.PASSWORD_IS_USERNAME}),
        ("jan", PASSWORD, PASSWORD + " ", {"passwordConfirm": CredentialIssue.PASSWORD_MISMATCH}),
        ("", "", "", {"username": CredentialIssue.REQUIRED, "password": CredentialIssue.REQUIRED}),
    ],
)
def test_credentials_that_break_a_rule_are_refused_and_nothing_is_written(
    world, username, password, confirmation, issues
):
    invitation_id, token = world.verified()

    with pytest.raises(CredentialsRefusedError) as raised:
        world.service.complete(token, username, password, confirmation)

    assert raised.value.issues == issues
    assert world.store.usernames == {}
    assert world.identity.users == {}
    assert world.store.invitations[invitation_id].status is InvitationStatus.PENDING


@pytest.mark.parametrize("password", ["twaalf tekns", "🔑" * 12, "x" * 128])
def test_length_counts_characters_from_12_to_128(world, password):
    _, token = world.verified()

    world.service.complete(token, "jan", password, password)

    assert world.identity.users["jan"].password == password


def test_a_username_is_taken_whatever_its_case(world):
    _, first = world.verified("1001")
    world.service.complete(first, "Jan", PASSWORD, PASSWORD)
    second_id, second = world.verified("1002")

    with pytest.raises(UsernameUnavailableError) as raised:
        world.service.complete(second, "jAN", PASSWORD, PASSWORD)

    assert raised.value.issues == {"username": CredentialIssue.USERNAME_TAKEN}
    assert world.store.invitations[second_id].status is InvitationStatus.PENDING
    assert world.store.employees[("acme", "1002")].state is AccessStatus.INVITED
    world.service.complete(second, "jan2", PASSWORD, PASSWORD)  # another name still works
    assert set(world.identity.users) == {"jan", "jan2"}


def test_a_revoke_between_reading_and_completing_shows_the_revoked_notice(world):
    invitation_id, token = world.verified()
    original = world.store.complete

    def revoke_first(*args, **kwargs):
        world.store.set_status(invitation_id, InvitationStatus.REVOKED)
        return original(*args, **kwargs)

    world.store.complete = revoke_first

    with pytest.raises(DeadLinkError) as raised:
        world.service.complete(token, "jan", PASSWORD, PASSWORD)

    assert raised.value.state is NoticeState.REVOKED
    assert world.store.usernames == {}
    assert world.identity.users == {}


@pytest.mark.parametrize("failing", ["create_user", "set_password", "login"])
def test_a_retry_after_a_cognito_fault_converges_on_one_account(world, failing):
    _, token = world.verified()
    world.identity.failing.add(failing)

    with pytest.raises(AccountNotReadyError):
        world.service.complete(token, "jan", PASSWORD, PASSWORD)
    assert world.store.employees[("acme", "1001")].state is AccessStatus.ACTIVE  # committed first

    activated = world.service.complete(token, "JAN", PASSWORD, PASSWORD)

    assert set(world.identity.users) == {"jan"}
    assert world.identity.users["jan"].password == PASSWORD
    assert activated.session.session.username == "jan"


def test_a_second_submit_after_success_logs_in_with_the_same_account(world):
    _, token = world.verified()
    world.service.complete(token, "jan", PASSWORD, PASSWORD)

    again = world.service.complete(token, "jan", PASSWORD, PASSWORD)

    assert set(world.identity.users) == {"jan"}
    assert world.identity.users["jan"].logins == 2
    assert len(world.store.sessions) == 2
    assert again.session.session.employee_id == "1001"


def test_a_second_submit_with_another_password_does_not_take_over_the_account(world):
    _, token = world.verified()
    world.service.complete(token, "jan", PASSWORD, PASSWORD)

    with pytest.raises(DeadLinkError) as raised:
        world.service.complete(token, "jan", "een ander wachtwoord", "een ander wachtwoord")

    assert raised.value.state is NoticeState.USED
    assert world.identity.users["jan"].password == PASSWORD


def test_a_used_link_with_another_username_or_after_the_window_is_just_used(world):
    _, token = world.verified()
    world.service.complete(token, "jan", PASSWORD, PASSWORD)

    with pytest.raises(DeadLinkError) as other_name:
        world.service.complete(token, "piet", PASSWORD, PASSWORD)
    world.clock.advance(timedelta(minutes=31).total_seconds())
    with pytest.raises(DeadLinkError) as too_late:
        world.service.complete(token, "jan", PASSWORD, PASSWORD)

    assert other_name.value.state is too_late.value.state is NoticeState.USED
    assert set(world.identity.users) == {"jan"}
