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

    def verified(self, employee_id: str = "1001") -> tuple[str, str, str]:
        """An invitation answered rightly: its id, its link token and this browser's verification secret."""
        invitation_id, token = self.invite(employee_id)
        return invitation_id, token, self.service.answer(token, BIRTH.isoformat()).secret


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

    verified = world.service.answer(token, BIRTH.isoformat())

    stored = world.store.invitations[invitation_id]
    assert verified.view.invitation.verified_at == NOW.replace(microsecond=0)
    assert stored.verified_at == NOW.replace(microsecond=0)
    assert stored.status is InvitationStatus.PENDING
    # The browser gets a 256-bit secret; only its SHA-256 is stored.
    assert len(verified.secret) == 43
    assert stored.verification_hash == token_hash(verified.secret)
    assert verified.secret not in repr(world.store)
    assert verified.username == ""


def test_a_fresh_right_answer_replaces_the_secret_so_the_latest_browser_wins(world):
    _, token = world.invite()
    first = world.service.answer(token, BIRTH.isoformat()).secret

    second = world.service.answer(token, BIRTH.isoformat()).secret

    assert first != second
    with pytest.raises(VerificationNeededError):
        world.service.complete(token, first, "jan", PASSWORD, PASSWORD)
    world.service.complete(token, second, "jan", PASSWORD, PASSWORD)
    assert world.store.employees[("acme", "1001")].state is AccessStatus.ACTIVE


# ---------------------------------------------------------------- credentials


@pytest.mark.parametrize("secret", ["", "A" * 43, "not a secret", "é" * 43])
def test_credentials_need_a_right_answer_first(world, secret):
    _, token = world.invite()

    with pytest.raises(VerificationNeededError):
        world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)


@pytest.mark.parametrize("secret", ["", "A" * 43, "é" * 43])
def test_someone_with_only_the_link_cannot_ride_on_the_employees_right_answer(world, secret):
    # Given a holder of the link who keeps sending credentials (refusals cost no try) ...
    invitation_id, token = world.invite()
    with pytest.raises(VerificationNeededError):
        world.service.complete(token, secret, "mallory", PASSWORD, PASSWORD)

    # ... when the real employee answers the date of birth in their own browser
    world.service.answer(token, BIRTH.isoformat())

    # then the holder's next try is still refused: the answer opened the step for that browser only
    with pytest.raises(VerificationNeededError):
        world.service.complete(token, secret, "mallory", PASSWORD, PASSWORD)
    assert world.store.usernames == {}
    assert world.identity.users == {}
    assert world.store.invitations[invitation_id].status is InvitationStatus.PENDING


def test_the_transaction_itself_checks_the_secret(world):
    # A newer right answer lands between the domain's check and the transaction: the older form loses.
    invitation_id, token, secret = world.verified()
    original = world.store.complete

    def newer_answer_first(*args, **kwargs):
        world.service.answer(token, BIRTH.isoformat())
        return original(*args, **kwargs)

    world.store.complete = newer_answer_first

    with pytest.raises(VerificationNeededError):
        world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)

    assert world.store.usernames == {}
    assert world.store.invitations[invitation_id].status is InvitationStatus.PENDING


def test_a_verification_holds_for_30_minutes(world):
    _, token, secret = world.verified()
    world.clock.advance(30 * 60)

    with pytest.raises(VerificationNeededError):
        world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)


def test_completion_activates_claims_the_username_creates_the_account_and_logs_in(world):
    invitation_id, token, secret = world.verified()
    world.clock.advance(29 * 60)

    activated = world.service.complete(token, secret, " Jan.de-Vries@acme ", PASSWORD, PASSWORD)

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
        ("jan", " " + PASSWORD, " " + PASSWORD, {"password": CredentialIssue.PASSWORD_EDGE_SPACE}),
        ("jan", PASSWORD + " ", PASSWORD + " ", {"password": CredentialIssue.PASSWORD_EDGE_SPACE}),
        ("jan", "Password1234", "Password1234", {"password": CredentialIssue.PASSWORD_COMMON}),
        ("Jan.de.Vries", "jan.de.vries", "jan.de.vries", {"password": CredentialIssue.PASSWORD_IS_USERNAME}),
        ("jan", PASSWORD, PASSWORD + " ", {"passwordConfirm": CredentialIssue.PASSWORD_MISMATCH}),
        ("", "", "", {"username": CredentialIssue.REQUIRED, "password": CredentialIssue.REQUIRED}),
    ],
)
def test_credentials_that_break_a_rule_are_refused_and_nothing_is_written(
    world, username, password, confirmation, issues
):
    invitation_id, token, secret = world.verified()

    with pytest.raises(CredentialsRefusedError) as raised:
        world.service.complete(token, secret, username, password, confirmation)

    assert raised.value.issues == issues
    assert world.store.usernames == {}
    assert world.identity.users == {}
    assert world.store.invitations[invitation_id].status is InvitationStatus.PENDING


@pytest.mark.parametrize("password", ["twaalf tekns", "🔑" * 12, "x" * 128])
def test_length_counts_characters_from_12_to_128(world, password):
    _, token, secret = world.verified()

    world.service.complete(token, secret, "jan", password, password)

    assert world.identity.users["jan"].password == password


def test_a_username_is_taken_whatever_its_case(world):
    _, first, first_secret = world.verified("1001")
    world.service.complete(first, first_secret, "Jan", PASSWORD, PASSWORD)
    second_id, second, second_secret = world.verified("1002")

    with pytest.raises(UsernameUnavailableError) as raised:
        world.service.complete(second, second_secret, "jAN", PASSWORD, PASSWORD)

    assert raised.value.issues == {"username": CredentialIssue.USERNAME_TAKEN}
    assert world.store.invitations[second_id].status is InvitationStatus.PENDING
    assert world.store.employees[("acme", "1002")].state is AccessStatus.INVITED
    world.service.complete(second, second_secret, "jan2", PASSWORD, PASSWORD)  # another name still works
    assert set(world.identity.users) == {"jan", "jan2"}


def test_a_revoke_between_reading_and_completing_shows_the_revoked_notice(world):
    invitation_id, token, secret = world.verified()
    original = world.store.complete

    def revoke_first(*args, **kwargs):
        world.store.set_status(invitation_id, InvitationStatus.REVOKED)
        return original(*args, **kwargs)

    world.store.complete = revoke_first

    with pytest.raises(DeadLinkError) as raised:
        world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)

    assert raised.value.state is NoticeState.REVOKED
    assert world.store.usernames == {}
    assert world.identity.users == {}


@pytest.mark.parametrize("failing", ["create_user", "set_password", "login"])
def test_a_retry_after_a_cognito_fault_converges_on_one_account(world, failing):
    _, token, secret = world.verified()
    world.identity.failing.add(failing)

    with pytest.raises(AccountNotReadyError):
        world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)
    assert world.store.employees[("acme", "1001")].state is AccessStatus.ACTIVE  # committed first

    activated = world.service.complete(token, secret, "JAN", PASSWORD, PASSWORD)

    assert set(world.identity.users) == {"jan"}
    assert world.identity.users["jan"].password == PASSWORD
    assert activated.session.session.username == "jan"


def test_a_second_submit_after_success_logs_in_with_the_same_account(world):
    _, token, secret = world.verified()
    world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)

    again = world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)

    assert set(world.identity.users) == {"jan"}
    assert world.identity.users["jan"].logins == 2
    assert len(world.store.sessions) == 2
    assert again.session.session.employee_id == "1001"


def test_a_second_submit_with_another_password_does_not_take_over_the_account(world):
    _, token, secret = world.verified()
    world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)

    with pytest.raises(DeadLinkError) as raised:
        world.service.complete(token, secret, "jan", "een ander wachtwoord", "een ander wachtwoord")

    assert raised.value.state is NoticeState.USED
    assert world.identity.users["jan"].password == PASSWORD


def test_a_used_link_with_another_username_or_after_the_window_is_just_used(world):
    _, token, secret = world.verified()
    world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)

    with pytest.raises(DeadLinkError) as other_name:
        world.service.complete(token, secret, "piet", PASSWORD, PASSWORD)
    world.clock.advance(timedelta(minutes=31).total_seconds())
    with pytest.raises(DeadLinkError) as too_late:
        world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)

    assert other_name.value.state is too_late.value.state is NoticeState.USED
    assert set(world.identity.users) == {"jan"}


# ---------------------------------------------------------------- finishing a half-made account


def half_made(world: World, failing: str = "set_password") -> tuple[str, str]:
    """An activation that committed while Cognito failed, left alone until well past the window."""
    invitation_id, token, secret = world.verified()
    world.identity.failing.add(failing)
    with pytest.raises(AccountNotReadyError):
        world.service.complete(token, secret, "Jan", PASSWORD, PASSWORD)
    assert world.store.employees[("acme", "1001")].state is AccessStatus.ACTIVE
    world.clock.advance(timedelta(days=3).total_seconds())
    return invitation_id, token


@pytest.mark.parametrize("failing", ["create_user", "set_password"])
def test_a_half_made_account_is_finished_through_the_link_after_the_window(world, failing):
    invitation_id, token = half_made(world, failing)
    before = copy.deepcopy(world.store)

    # Opening the used link asks the date of birth again (and writes nothing) ...
    view = world.service.open(token)
    assert view.invitation.status is InvitationStatus.USED
    assert world.store == before
    # ... a right answer opens the credentials step, with the username chosen before ...
    verified = world.service.answer(token, BIRTH.isoformat())
    assert verified.username == "Jan"
    assert world.store.invitations[invitation_id].status is InvitationStatus.USED
    # ... and that username with a password finishes the account and logs in.
    activated = world.service.complete(token, verified.secret, "jan", PASSWORD, PASSWORD)

    assert world.identity.users["jan"].password == PASSWORD
    assert activated.session.session.username == "jan"
    assert world.store.employees[("acme", "1001")].state is AccessStatus.ACTIVE
    with pytest.raises(DeadLinkError) as raised:
        world.service.open(token)  # finished: the link is just used now
    assert raised.value.state is NoticeState.USED


def test_an_account_that_got_its_password_keeps_the_used_notice(world):
    # The password was set, only the login failed: the employee can log in, the link is used.
    invitation_id, token = half_made(world, "login")
    before = world.store.invitations[invitation_id]

    for attempt in (
        lambda: world.service.open(token),
        lambda: world.service.answer(token, BIRTH.isoformat()),
        lambda: world.service.complete(token, "", "jan", PASSWORD, PASSWORD),
    ):
        with pytest.raises(DeadLinkError) as raised:
            attempt()
        assert raised.value.state is NoticeState.USED
    assert world.store.invitations[invitation_id] == before  # no try counted, no secret minted


def test_finishing_needs_a_fresh_right_answer_from_this_browser(world):
    _, token = half_made(world)

    for secret in ("", "A" * 43):
        with pytest.raises(VerificationNeededError):
            world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)

    assert world.identity.users["jan"].password is None


def test_finishing_takes_only_the_username_chosen_before(world):
    _, token = half_made(world)
    secret = world.service.answer(token, BIRTH.isoformat()).secret

    with pytest.raises(CredentialsRefusedError) as raised:
        world.service.complete(token, secret, "piet", PASSWORD, PASSWORD)

    assert raised.value.issues == {"username": CredentialIssue.USERNAME_CHOSEN}
    assert raised.value.username == "Jan"
    assert "piet" not in world.identity.users
    assert world.identity.users["jan"].password is None


def test_wrong_answers_on_a_half_made_account_cost_tries_and_the_fifth_blocks_the_link(world):
    invitation_id, token = half_made(world)
    for left in (4, 3, 2, 1):
        with pytest.raises(AnswerError) as raised:
            world.service.answer(token, "1990-05-18")
        assert raised.value.tries_left == left

    with pytest.raises(DeadLinkError) as fifth:
        world.service.answer(token, "1990-05-18")
    with pytest.raises(DeadLinkError) as after:
        world.service.open(token)

    assert fifth.value.state is after.value.state is NoticeState.LOCKED
    # The activation stands: the invitation stays used, the employee active.
    assert world.store.invitations[invitation_id].status is InvitationStatus.USED
    assert world.store.employees[("acme", "1001")].state is AccessStatus.ACTIVE
