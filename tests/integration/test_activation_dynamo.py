"""The activation's and the sessions' DynamoDB repositories under moto: the verification secret in
the transaction's condition, missing records, transactions that conflicted (retried, not read as a
failed condition) and session items without Cognito tokens.

Invitations are written with the invitation repository's own item builders, so these read what a
grant writes. Conflicts are injected at PynamoDB's connection, as DynamoDB reports them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from pynamodb.connection import Connection
from pynamodb.exceptions import (
    CancellationReason,
    TransactGetError,
    TransactWriteError,
    UpdateError,
    VerboseClientError,
)

from tests.unit.fake_accounts import FakeIdentity
from werknemerloket.clock import FixedClock, to_iso
from werknemerloket.data import transactions
from werknemerloket.data.activation import DynamoActivationRepository, DynamoSessionRepository
from werknemerloket.data.models import EmployeeModel, InvitationModel, SessionModel, UsernameModel
from werknemerloket.domain.accounts import UsernameClaim
from werknemerloket.domain.activation import (
    VERIFICATION_WINDOW,
    ActivationService,
    DeadLinkError,
    NoticeState,
    VerificationNeededError,
)
from werknemerloket.domain.entities import AccessStatus, Employer, Invitation, InvitationStatus
from werknemerloket.domain.ports import StaleStateError, StoreBusyError, UsernameTakenError
from werknemerloket.domain.sessions import SessionService
from werknemerloket.domain.tokens import new_token, token_hash
from werknemerloket.settings import get_settings

from .conftest import NOW, write_invited

BIRTH = date(1990, 5, 17)
PASSWORD = "paarden eten graag hooi"


@dataclass
class World:
    clock: FixedClock
    repository: DynamoActivationRepository
    sessions: DynamoSessionRepository
    identity: FakeIdentity
    service: ActivationService
    sleeps: list[float]

    def invite(self, employee_id: str = "1001", with_employer: bool = True) -> tuple[Invitation, str]:
        return write_invited(employee_id, sent_at=NOW, with_employer=with_employer)

    def claim(self, invitation: Invitation, key: str = "jan") -> UsernameClaim:
        return UsernameClaim(key, invitation.employer_id, invitation.employee_id, invitation.invitation_id)


@pytest.fixture
def world(aws: None, monkeypatch: pytest.MonkeyPatch) -> World:
    settings = get_settings()
    clock = FixedClock(NOW)
    repository = DynamoActivationRepository(settings)
    sessions = DynamoSessionRepository(settings)
    identity = FakeIdentity(clock)
    service = ActivationService(repository, identity, SessionService(sessions, identity, clock), clock)
    sleeps: list[float] = []
    monkeypatch.setattr(transactions.time, "sleep", sleeps.append)
    return World(clock, repository, sessions, identity, service, sleeps)


def cancelled(operation: str, *codes: str | None) -> VerboseClientError:
    reasons = [CancellationReason(code=code) if code else None for code in codes]
    response = {"Error": {"Code": "TransactionCanceledException", "Message": f"cancelled: {codes}"}}
    return VerboseClientError(response, operation, cancellation_reasons=reasons)  # type: ignore[arg-type]


def fail_first(monkeypatch: pytest.MonkeyPatch, method: str, times: int, error: Any) -> list[int]:
    """Make Connection.<method> raise `error()` on its first `times` calls; answers the call count."""
    original = getattr(Connection, method)
    calls = [0]

    def flaky(self: Connection, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] <= times:
            raise error()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Connection, method, flaky)
    return calls


def conflicted_write(*codes: str | None) -> Any:
    return lambda: TransactWriteError("Failed to write transaction items", cancelled("TransactWriteItems", *codes))


# ---------------------------------------------------------------- the verification secret


def test_the_activation_transaction_needs_the_latest_right_answers_secret(world):
    invitation, _ = world.invite()
    older, newer = token_hash(new_token()), token_hash(new_token())
    world.repository.mark_verified(invitation.invitation_id, NOW, older)
    world.repository.mark_verified(invitation.invitation_id, NOW, newer)  # a fresh right answer replaces it

    stored = InvitationModel.get(invitation.invitation_id, consistent_read=True)
    assert (stored.verification_hash, stored.verified_at) == (newer, to_iso(NOW))
    with pytest.raises(StaleStateError) as raised:
        world.repository.complete(invitation, world.claim(invitation), "jan", NOW, NOW - VERIFICATION_WINDOW, older)
    assert not isinstance(raised.value, UsernameTakenError)
    assert UsernameModel.count() == 0

    world.repository.complete(invitation, world.claim(invitation), "jan", NOW, NOW - VERIFICATION_WINDOW, newer)

    assert InvitationModel.get(invitation.invitation_id).status == InvitationStatus.USED.value
    assert EmployeeModel.get("acme", "1001").state == AccessStatus.ACTIVE.value


def test_the_right_answer_through_the_service_stores_only_the_secrets_hash(world):
    invitation, token = world.invite()

    verified = world.service.answer(token, BIRTH.isoformat())

    raw = boto3.client("dynamodb", region_name="eu-west-1").get_item(
        TableName=get_settings().invitations_table, Key={"invitationId": {"S": invitation.invitation_id}}
    )["Item"]
    assert raw["verificationHash"] == {"S": token_hash(verified.secret)}
    assert verified.secret not in repr(raw)
    with pytest.raises(VerificationNeededError):
        world.service.complete(token, "", "jan", PASSWORD, PASSWORD)
    assert world.service.complete(token, verified.secret, "jan", PASSWORD, PASSWORD).session.session.username == "jan"


# ---------------------------------------------------------------- missing records


def test_a_missing_employee_reads_as_none_and_a_missing_employer_as_its_id(world):
    _, token = world.invite(with_employer=False)

    employee, employer = world.repository.employee_with_employer("acme", "1001")
    account = world.sessions.account("acme", "1001")

    assert employee is not None
    assert employee.employee_id == "1001"
    assert employer == Employer("acme", "acme")
    assert account is not None
    assert account.employer == Employer("acme", "acme")
    assert world.service.open(token).employer.name == "acme"

    EmployeeModel("acme", "1001").delete()

    assert world.repository.employee_with_employer("acme", "1001") == (None, None)
    assert world.sessions.account("acme", "1001") is None
    with pytest.raises(DeadLinkError) as raised:
        world.service.open(token)
    assert raised.value.state is NoticeState.INVALID


# ---------------------------------------------------------------- conflicts are not failed conditions


def test_a_transaction_conflict_is_retried_not_taken_for_a_taken_username(world, monkeypatch):
    # Another transaction touching the Usernames item made DynamoDB cancel ours twice: nothing failed.
    invitation, token = world.invite()
    secret = world.service.answer(token, BIRTH.isoformat()).secret
    calls = fail_first(monkeypatch, "transact_write_items", 2, conflicted_write("TransactionConflict", None, None))

    activated = world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)

    assert activated.session.session.username == "jan"
    assert calls[0] == 3
    assert len(world.sleeps) == 2
    assert all(0 < pause <= 0.2 for pause in world.sleeps)
    assert UsernameModel.get("jan").invitation_id == invitation.invitation_id


def test_a_conflict_on_the_invitation_does_not_send_a_verified_employee_back_to_the_question(world, monkeypatch):
    _, token = world.invite()
    secret = world.service.answer(token, BIRTH.isoformat()).secret
    fail_first(monkeypatch, "transact_write_items", 1, conflicted_write(None, "TransactionConflict", None))

    world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)

    assert EmployeeModel.get("acme", "1001").state == AccessStatus.ACTIVE.value


def test_conflicts_that_outlast_the_retries_are_store_busy_and_nothing_is_written(world, monkeypatch):
    invitation, token = world.invite()
    secret = world.service.answer(token, BIRTH.isoformat()).secret
    calls = fail_first(monkeypatch, "transact_write_items", 99, conflicted_write("TransactionConflict", None, None))

    with pytest.raises(StoreBusyError):
        world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)

    assert calls[0] == 1 + len(transactions.RETRY_DELAYS_SECONDS)
    assert len(world.sleeps) == len(transactions.RETRY_DELAYS_SECONDS)
    assert UsernameModel.count() == 0
    assert InvitationModel.get(invitation.invitation_id).status == InvitationStatus.PENDING.value
    assert world.identity.users == {}


def test_a_failed_condition_beside_a_conflict_is_still_a_failed_condition(world, monkeypatch):
    invitation, _ = world.invite()
    calls = fail_first(
        monkeypatch, "transact_write_items", 1, conflicted_write("ConditionalCheckFailed", "TransactionConflict", None)
    )

    with pytest.raises(UsernameTakenError):
        world.repository.complete(invitation, world.claim(invitation), "jan", NOW, NOW, token_hash(new_token()))

    assert calls[0] == 1
    assert world.sleeps == []


def test_a_wrong_answer_on_an_item_in_a_transaction_is_counted_once_after_a_retry(world, monkeypatch):
    invitation, _ = world.invite()
    response = {"Error": {"Code": "TransactionConflictException", "Message": "in a transaction"}}
    calls = fail_first(
        monkeypatch,
        "update_item",
        1,
        lambda: UpdateError("Failed to update item", VerboseClientError(response, "UpdateItem")),  # type: ignore[arg-type]
    )

    assert world.repository.count_wrong_answer(invitation.invitation_id, NOW) == 1

    assert calls[0] == 2
    assert InvitationModel.get(invitation.invitation_id, consistent_read=True).attempts == 1


def test_a_read_that_conflicted_is_retried(world, monkeypatch):
    world.invite()
    calls = fail_first(
        monkeypatch,
        "transact_get_items",
        1,
        lambda: TransactGetError("Failed to get", cancelled("TransactGetItems", "TransactionConflict", None)),
    )

    account = world.sessions.account("acme", "1001")

    assert account is not None
    assert account.employer.name == "Acme B.V."
    assert calls[0] == 2


# ---------------------------------------------------------------- sessions


def test_a_session_item_holds_no_cognito_token(world, monkeypatch):
    # Given a login whose answer carries a refresh token, as Cognito's does
    _, token = world.invite()
    secret = world.service.answer(token, BIRTH.isoformat()).secret
    world.service.complete(token, secret, "jan", PASSWORD, PASSWORD)
    monkeypatch.setattr(
        world.identity,
        "login",
        lambda username, password: SimpleNamespace(id_token="id", access_token="access", refresh_token="REFRESH"),
    )
    grant = SessionService(world.sessions, world.identity, world.clock).login("jan", PASSWORD)

    raw = boto3.client("dynamodb", region_name="eu-west-1").get_item(
        TableName=get_settings().sessions_table, Key={"sessionHash": {"S": grant.session.session_hash}}
    )["Item"]

    assert set(raw) == {"sessionHash", "employerId", "employeeId", "username", "csrfToken", "createdAt", "ttl"}
    assert "REFRESH" not in repr(raw)
    assert "refresh_token" not in SessionModel.get_attributes()
    assert world.sessions.get(grant.session.session_hash) == grant.session
