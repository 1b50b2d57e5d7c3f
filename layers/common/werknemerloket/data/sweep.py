"""The sweep's reads of the due index and its conditional writes on the base tables.

Every write that sets `dueAt` is conditioned on the invitation still being open, so no write of the
sweep can put an ended invitation back into the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from werknemerloket.clock import from_iso, to_iso
from werknemerloket.data.invitations import DynamoInvitationRepository
from werknemerloket.data.models import (
    SUMMARY_ID,
    SUMMARY_STATUS,
    DueIndex,
    EmployeeModel,
    InvitationModel,
    LinkModel,
)
from werknemerloket.data.transactions import transact
from werknemerloket.domain.entities import (
    MAX_DOB_ATTEMPTS,
    OPEN_STATUSES,
    AccessStatus,
    Employee,
    Employer,
    InvitationStatus,
)
from werknemerloket.domain.ports import StaleStateError
from werknemerloket.domain.sweep import DueInvitation, DuePage
from werknemerloket.settings import Settings

_OPEN = [status.value for status in OPEN_STATUSES]


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def due_entry(item: dict[str, Any]) -> DueInvitation:
    """An index item (DynamoDB JSON, INCLUDE projection) as the domain's value."""
    reminded = item.get("remindedAt", {}).get("S")
    return DueInvitation(
        invitation_id=item["invitationId"]["S"],
        employer_id=item["employerId"]["S"],
        employee_id=item["employeeId"]["S"],
        status=InvitationStatus(item["status"]["S"]),
        expires_at=from_iso(item["expiresAt"]["S"]),
        due_at=datetime.fromtimestamp(int(item["dueAt"]["N"]), UTC),
        reminded_at=from_iso(reminded) if reminded else None,
    )


class DynamoSweepStore:
    def __init__(self, settings: Settings):
        self._shards = settings.due_shards
        self._retention = timedelta(days=settings.invitation_retention_days)
        self._invitations = DynamoInvitationRepository(settings)
        # One connection (and so one botocore client) for all the run's transactions.

    # ------------------------------------------------------------------ reading

    def due(self, now: datetime) -> Iterator[DuePage]:
        """One query per shard, `dueShard = s AND dueAt <= now`: it reads only what is due, never the
        invitations due later, nor ended ones (they left the sparse index), nor the employees."""
        for shard in range(self._shards):
            results = InvitationModel.due_index.query(str(shard), DueIndex.due_at <= _epoch(now))
            # Raw pages, for their ScannedCount: what the query cost to read, the sweep's read metric.
            for page in results.page_iter:
                yield DuePage([due_entry(item) for item in page.get("Items", [])], int(page["ScannedCount"]))

    def employee_with_employer(self, employer_id: str, employee_id: str) -> tuple[Employee | None, Employer | None]:
        return self._invitations.employee_with_employer(employer_id, employee_id)

    # ------------------------------------------------------------------ writing

    @staticmethod
    def _expirable(now: datetime) -> Condition:
        """The exact opposite of the activation's `still open`: an activation before `expiresAt` wins,
        the sweep after it."""
        return InvitationModel.status.is_in(*_OPEN) & (InvitationModel.expires_at <= to_iso(now))

    def _end_as_expired(self, write: TransactWrite, entry: DueInvitation, now: datetime) -> None:
        write.update(
            InvitationModel(entry.invitation_id),
            actions=self._invitations.end_actions(InvitationStatus.EXPIRED, now),
            condition=self._expirable(now),
        )

    def expire(self, entry: DueInvitation, now: datetime) -> None:
        try:

            def build(write: TransactWrite) -> None:
                self._end_as_expired(write, entry, now)
                write.update(
                    EmployeeModel(entry.employer_id, entry.employee_id),
                    actions=[
                        EmployeeModel.state.set(AccessStatus.NOT_ACTIVATED.value),
                        SUMMARY_STATUS.set(InvitationStatus.EXPIRED.value),
                        EmployeeModel.updated_at.set(to_iso(now)),
                    ],
                    # The employee is invited with this invitation as its latest one.
                    condition=(EmployeeModel.state == AccessStatus.INVITED.value) & (SUMMARY_ID == entry.invitation_id),
                )

            transact(build)
        except StaleStateError:
            self._expire_orphan(entry, now)

    def _expire_orphan(self, entry: DueInvitation, now: datetime) -> None:
        """An open invitation its employee does not hold (no such employee any more, or one that
        moved on) would stay in the index and be read on every run; it expires on its own. The two
        employee conditions are each other's opposite, so of `expire` and this at most one writes."""

        def build(write: TransactWrite) -> None:
            self._end_as_expired(write, entry, now)
            write.condition_check(
                EmployeeModel,
                entry.employer_id,
                entry.employee_id,
                condition=(
                    EmployeeModel.state.does_not_exist()
                    | (EmployeeModel.state != AccessStatus.INVITED.value)
                    | EmployeeModel.invitation.does_not_exist()
                    | (SUMMARY_ID != entry.invitation_id)
                ),
            )

        transact(build)

    def _link(self, token_hash: str, entry: DueInvitation) -> LinkModel:
        """The same lifetime as the invitation's first link."""
        return LinkModel(token_hash, invitation_id=entry.invitation_id, ttl=entry.expires_at + self._retention)

    def claim_reminder(self, entry: DueInvitation, token_hash: str, now: datetime) -> None:
        def build(write: TransactWrite) -> None:
            write.save(self._link(token_hash, entry), condition=LinkModel.token_hash.does_not_exist())
            write.update(
                InvitationModel(entry.invitation_id),
                actions=[
                    InvitationModel.reminded_at.set(to_iso(now)),
                    InvitationModel.due_at.set(_epoch(entry.expires_at)),
                ],
                condition=(
                    (InvitationModel.status == InvitationStatus.PENDING.value)
                    & ((InvitationModel.attempts < MAX_DOB_ATTEMPTS) | InvitationModel.attempts.does_not_exist())
                    & InvitationModel.reminded_at.does_not_exist()
                    & (InvitationModel.expires_at > to_iso(now))
                ),
            )

        transact(build)

    def release_reminder(self, entry: DueInvitation, token_hash: str, now: datetime) -> None:
        try:

            def build(write: TransactWrite) -> None:
                write.delete(LinkModel(token_hash))
                write.update(
                    InvitationModel(entry.invitation_id),
                    actions=[InvitationModel.reminded_at.remove(), InvitationModel.due_at.set(_epoch(entry.due_at))],
                    condition=InvitationModel.status.is_in(*_OPEN) & (InvitationModel.reminded_at == to_iso(now)),
                )

            transact(build)
        except StaleStateError:
            # The invitation ended meanwhile; the unmailed link still goes, it must open nothing.
            LinkModel(token_hash).delete()
            raise

    @staticmethod
    def _update(invitation_id: str, actions: list[Action], condition: Condition) -> None:
        try:
            InvitationModel(invitation_id).update(actions=actions, condition=condition)
        except UpdateError as error:
            if error.cause_response_code == "ConditionalCheckFailedException":
                raise StaleStateError(str(error)) from error
            raise

    def defer_to_expiry(self, entry: DueInvitation) -> None:
        self._update(
            entry.invitation_id,
            [InvitationModel.due_at.set(_epoch(entry.expires_at))],
            InvitationModel.status.is_in(*_OPEN) & InvitationModel.due_at.exists(),
        )

    def drop_from_index(self, entry: DueInvitation) -> None:
        self._update(
            entry.invitation_id,
            [InvitationModel.due_shard.remove(), InvitationModel.due_at.remove()],
            ~InvitationModel.status.is_in(*_OPEN) & InvitationModel.due_at.exists(),
        )
