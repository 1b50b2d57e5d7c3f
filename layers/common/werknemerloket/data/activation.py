"""The employee's half of an invitation, and portal sessions, on DynamoDB.

Every change is one conditional write or one transaction: counting a wrong answer is an atomic ADD
that refuses a sixth, and completing an activation claims the username, ends the invitation and
activates the employee together or not at all, conditioned on the latest right answer's secret hash.

Only a failed condition (`ConditionalCheckFailed`) means the state moved on. A transaction cancelled
because another one held the same item (`TransactionConflict`, or throttling) wrote nothing and is
tried again a few times with a short, jittered backoff, and then answered as `StoreBusyError`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from pynamodb.exceptions import TransactGetError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactGet, TransactWrite

from werknemerloket.clock import from_iso, to_iso
from werknemerloket.data.invitations import DynamoInvitationRepository
from werknemerloket.data.models import (
    EmployeeModel,
    EmployerModel,
    InvitationModel,
    LinkModel,
    SessionModel,
    UsernameModel,
    connection,
)
from werknemerloket.data.registry import employee_from_item
from werknemerloket.data.transactions import (
    CANCELLED,
    CONDITION_FAILED,
    ITEM_IN_TRANSACTION,
    PASSING_REASONS,
    Busy,
    ConditionFailed,
    reason_codes,
    transact,
    with_retries,
)
from werknemerloket.domain.accounts import Account, Session, UsernameClaim
from werknemerloket.domain.entities import (
    MAX_DOB_ATTEMPTS,
    AccessStatus,
    Employee,
    Employer,
    Invitation,
    InvitationStatus,
)
from werknemerloket.domain.ports import StaleStateError, UsernameTakenError
from werknemerloket.settings import Settings


def precise_iso(moment: datetime) -> str:
    """Microseconds kept: a session and a sign-out in the same second must still be ordered."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def invitation_from_item(item: InvitationModel) -> Invitation:
    return Invitation(
        invitation_id=item.invitation_id,
        employer_id=item.employer_id,
        employee_id=item.employee_id,
        status=InvitationStatus(item.status),
        sent_at=from_iso(item.sent_at),
        expires_at=from_iso(item.expires_at),
        send_count=int(item.send_count),
        attempts=int(item.attempts or 0),
        verified_at=from_iso(item.verified_at) if item.verified_at else None,
        reminded_at=from_iso(item.reminded_at) if item.reminded_at else None,
        verification_hash=item.verification_hash,
    )


def _claim_from_item(item: UsernameModel) -> UsernameClaim:
    not_before = item.tokens_not_before
    return UsernameClaim(
        key=item.username,
        employer_id=item.employer_id,
        employee_id=item.employee_id,
        invitation_id=item.invitation_id,
        tokens_not_before=datetime.fromtimestamp(int(not_before), UTC) if not_before is not None else None,
    )


def _username_claim(key: str) -> UsernameClaim | None:
    try:
        return _claim_from_item(UsernameModel.get(key, consistent_read=True))
    except UsernameModel.DoesNotExist:
        return None


def _summary_holds(invitation_id: str) -> Condition:
    """The employee's latest invitation is still this one."""
    return cast(Condition, EmployeeModel.invitation.invitation_id == invitation_id)


def _account(employer_id: str, employee_id: str) -> Account | None:
    """The employee and its employer in one consistent read: None without the employee; an employer
    without a profile (yet, or any more) is named by its id. (A TransactGet's future raises
    DoesNotExist for a missing item; it never answers None.)"""

    def attempt() -> tuple[Any, Any]:
        try:
            with TransactGet(connection=connection()) as get:
                employee_future = get.get(EmployeeModel, employer_id, employee_id)
                employer_future = get.get(EmployerModel, employer_id)
        except TransactGetError as error:
            codes = reason_codes(error)
            if error.cause_response_code == CANCELLED and PASSING_REASONS.intersection(c for c in codes if c):
                raise Busy(",".join(code or "None" for code in codes)) from error
            raise
        return employee_future, employer_future

    employee_future, employer_future = with_retries(attempt)
    try:
        employee: EmployeeModel = employee_future.get()
    except EmployeeModel.DoesNotExist:
        return None
    try:
        employer_item: EmployerModel = employer_future.get()
        employer = Employer(employer_item.employer_id, employer_item.name)
    except EmployerModel.DoesNotExist:
        employer = Employer(employer_id, employer_id)
    return Account(
        employee=employee_from_item(employee),
        employer=employer,
        signed_out_at=parse_iso(employee.signed_out_at) if employee.signed_out_at else None,
    )


class DynamoActivationRepository:
    def __init__(self, settings: Settings):
        self._invitations = DynamoInvitationRepository(settings)

    # ---------------------------------------------------------------- reading

    def invitation_by_link(self, token_hash: str) -> Invitation | None:
        try:
            link = LinkModel.get(token_hash, consistent_read=True)
            return invitation_from_item(InvitationModel.get(link.invitation_id, consistent_read=True))
        except (LinkModel.DoesNotExist, InvitationModel.DoesNotExist):
            return None

    def invitation(self, invitation_id: str) -> Invitation | None:
        try:
            return invitation_from_item(InvitationModel.get(invitation_id, consistent_read=True))
        except InvitationModel.DoesNotExist:
            return None

    def employee_with_employer(self, employer_id: str, employee_id: str) -> tuple[Employee | None, Employer | None]:
        account = _account(employer_id, employee_id)
        return (account.employee, account.employer) if account else (None, None)

    def username_claim(self, key: str) -> UsernameClaim | None:
        return _username_claim(key)

    # ---------------------------------------------------------------- conditions

    @staticmethod
    def _answerable(now: datetime, status: InvitationStatus = InvitationStatus.PENDING) -> Condition:
        """Open for an answer, with tries left: pending and unexpired; or, finishing an unfinished
        account (`status` USED), still used."""
        tries_left = (InvitationModel.attempts < MAX_DOB_ATTEMPTS) | InvitationModel.attempts.does_not_exist()
        if status is InvitationStatus.USED:
            return (InvitationModel.status == InvitationStatus.USED.value) & tries_left
        return (
            (InvitationModel.status == InvitationStatus.PENDING.value)
            & (InvitationModel.expires_at > to_iso(now))
            & tries_left
        )

    @staticmethod
    def _update(item: InvitationModel, actions: list[Any], condition: Condition) -> None:
        def attempt() -> None:
            try:
                item.update(actions=actions, condition=condition)
            except UpdateError as error:
                if error.cause_response_code == CONDITION_FAILED:
                    raise StaleStateError(str(error)) from error
                if error.cause_response_code == ITEM_IN_TRANSACTION:
                    raise Busy(ITEM_IN_TRANSACTION) from error
                raise

        with_retries(attempt)

    # ---------------------------------------------------------------- the date of birth

    def count_wrong_answer(
        self, invitation_id: str, now: datetime, status: InvitationStatus = InvitationStatus.PENDING
    ) -> int:
        item = InvitationModel(invitation_id)
        self._update(item, [InvitationModel.attempts.add(1)], self._answerable(now, status))
        return int(item.attempts)

    def lock(self, invitation: Invitation, now: datetime) -> None:
        def build(write: TransactWrite) -> None:
            # A locked invitation stays in the sweep's DueIndex: it still expires like a pending one.
            write.update(
                InvitationModel(invitation.invitation_id),
                actions=[InvitationModel.status.set(InvitationStatus.LOCKED.value)],
                condition=(InvitationModel.status == InvitationStatus.PENDING.value)
                & (InvitationModel.attempts >= MAX_DOB_ATTEMPTS),
            )
            write.update(
                EmployeeModel(invitation.employer_id, invitation.employee_id),
                actions=[
                    EmployeeModel.invitation.status.set(InvitationStatus.LOCKED.value),  # type: ignore[attr-defined]
                    EmployeeModel.updated_at.set(to_iso(now)),
                ],
                condition=_summary_holds(invitation.invitation_id),
            )

        transact(build)

    def mark_verified(
        self, invitation_id: str, now: datetime, secret_hash: str, status: InvitationStatus = InvitationStatus.PENDING
    ) -> None:
        """Only the hash of the verification secret is stored; a newer right answer overwrites it."""
        actions = [InvitationModel.verified_at.set(to_iso(now)), InvitationModel.verification_hash.set(secret_hash)]
        self._update(InvitationModel(invitation_id), actions, self._answerable(now, status))

    # ---------------------------------------------------------------- completion

    def complete(
        self,
        invitation: Invitation,
        claim: UsernameClaim,
        username: str,
        now: datetime,
        verified_since: datetime,
        secret_hash: str,
    ) -> None:
        def build(write: TransactWrite) -> None:
            write.save(
                UsernameModel(
                    claim.key,
                    employer_id=claim.employer_id,
                    employee_id=claim.employee_id,
                    invitation_id=claim.invitation_id,
                    created_at=to_iso(now),
                ),
                condition=UsernameModel.username.does_not_exist(),
            )
            write.update(
                InvitationModel(invitation.invitation_id),
                actions=self._invitations.end_actions(InvitationStatus.USED, now),
                # The latest right answer, recent enough, and given by this form's browser.
                condition=self._answerable(now)
                & (InvitationModel.verified_at >= to_iso(verified_since))
                & (InvitationModel.verification_hash == secret_hash),
            )
            write.update(
                EmployeeModel(invitation.employer_id, invitation.employee_id),
                actions=[
                    EmployeeModel.state.set(AccessStatus.ACTIVE.value),
                    EmployeeModel.activated_at.set(to_iso(now)),
                    EmployeeModel.username.set(username),
                    EmployeeModel.invitation.status.set(InvitationStatus.USED.value),  # type: ignore[attr-defined]
                    EmployeeModel.updated_at.set(to_iso(now)),
                ],
                condition=(EmployeeModel.state == AccessStatus.INVITED.value)
                & _summary_holds(invitation.invitation_id),
            )

        try:
            transact(build)
        except ConditionFailed as cancelled:
            if cancelled.failed == [0]:  # only the username's condition
                raise UsernameTakenError(claim.key) from cancelled
            raise


class DynamoSessionRepository:
    def __init__(self, settings: Settings):
        """The models carry their tables and region; `settings` keeps the repositories alike."""

    def create(self, session: Session) -> None:
        SessionModel(
            session.session_hash,
            employer_id=session.employer_id,
            employee_id=session.employee_id,
            username=session.username,
            csrf_token=session.csrf_token,
            created_at=precise_iso(session.created_at),
            ttl=session.expires_at,
        ).save(condition=SessionModel.session_hash.does_not_exist())

    def get(self, session_hash: str) -> Session | None:
        try:
            item = SessionModel.get(session_hash, consistent_read=True)
        except SessionModel.DoesNotExist:
            return None
        if item.username is None:
            return None
        return Session(
            session_hash=item.session_hash,
            employer_id=item.employer_id,
            employee_id=item.employee_id,
            username=item.username,
            csrf_token=item.csrf_token,
            created_at=parse_iso(item.created_at),
            expires_at=item.ttl,
        )

    def account(self, employer_id: str, employee_id: str) -> Account | None:
        return _account(employer_id, employee_id)

    def username_claim(self, key: str) -> UsernameClaim | None:
        return _username_claim(key)

    def sign_out(self, session: Session, signed_out_at: datetime, tokens_not_before: datetime) -> None:
        def build(write: TransactWrite) -> None:
            write.delete(SessionModel(session.session_hash))
            write.update(
                EmployeeModel(session.employer_id, session.employee_id),
                actions=[EmployeeModel.signed_out_at.set(precise_iso(signed_out_at))],
                condition=EmployeeModel.employer_id.exists(),
            )
            write.update(
                UsernameModel(session.username),
                actions=[UsernameModel.tokens_not_before.set(int(tokens_not_before.timestamp()))],
                condition=UsernameModel.username.exists(),
            )

        transact(build)
