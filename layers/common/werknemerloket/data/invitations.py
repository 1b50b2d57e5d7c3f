"""Invitation transactions on DynamoDB: the employee item, the invitation item and its link item
change together or not at all."""

from __future__ import annotations

import hashlib
from contextlib import suppress
from dataclasses import replace
from datetime import datetime, timedelta

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactGet, TransactWrite

from werknemerloket.clock import to_iso
from werknemerloket.data.models import (
    SUMMARY_ID,
    EmailTemplateModel,
    EmployeeModel,
    EmployerModel,
    InvitationModel,
    InvitationSummaryAttribute,
    LinkModel,
    connection,
)
from werknemerloket.data.registry import employee_from_item
from werknemerloket.data.templates import template_from_item, template_key
from werknemerloket.data.transactions import transact
from werknemerloket.domain.entities import (
    OPEN_STATUSES,
    AccessStatus,
    Employee,
    Employer,
    Invitation,
    InvitationStatus,
    InvitationSummary,
)
from werknemerloket.domain.ports import MailingRead
from werknemerloket.mail.message import LANGUAGES, MailKind
from werknemerloket.settings import Settings

_OPEN = [status.value for status in OPEN_STATUSES]


def summary_value(summary: InvitationSummary | Invitation) -> InvitationSummaryAttribute:
    return InvitationSummaryAttribute(
        invitation_id=summary.invitation_id,
        status=summary.status.value,
        sent_at=to_iso(summary.sent_at),
        expires_at=to_iso(summary.expires_at),
        send_count=summary.send_count,
    )


def due_shard(invitation_id: str, shards: int) -> str:
    """Spreads the sweep index over `shards` partitions (see README, capacity of the sweep index)."""
    return str(int(hashlib.sha256(invitation_id.encode()).hexdigest()[:8], 16) % shards)


class DynamoInvitationRepository:
    def __init__(self, settings: Settings):
        self._retention = timedelta(days=settings.invitation_retention_days)
        self._reminder_lead = timedelta(hours=settings.reminder_hours_before_expiry)
        self._shards = settings.due_shards

    # ------------------------------------------------------------------ reading

    def employee_with_employer(self, employer_id: str, employee_id: str) -> tuple[Employee | None, Employer | None]:
        read = self._read(employer_id, employee_id, kind=None)
        return read.employee, read.employer

    def read(self, employer_id: str, employee_id: str, kind: MailKind) -> MailingRead:
        return self._read(employer_id, employee_id, kind)

    def _read(self, employer_id: str, employee_id: str, kind: MailKind | None) -> MailingRead:
        """One TransactGetItems: the employee, the employer and, for a mail, its own texts in every
        language (the employee's language is known only after the read)."""
        with TransactGet(connection=connection()) as get:
            employee_future = get.get(EmployeeModel, employer_id, employee_id)
            employer_future = get.get(EmployerModel, employer_id)
            text_futures = {}
            if kind is not None:
                text_futures = {
                    language: get.get(EmailTemplateModel, employer_id, template_key(kind, language))
                    for language in LANGUAGES
                }
        try:
            employee = employee_from_item(employee_future.get())
        except EmployeeModel.DoesNotExist:
            return MailingRead(None, None, {})
        try:
            employer_item = employer_future.get()
            employer: Employer | None = Employer(employer_item.employer_id, employer_item.name)
        except EmployerModel.DoesNotExist:
            employer = None
        own_texts = {}
        for language, future in text_futures.items():
            with suppress(EmailTemplateModel.DoesNotExist):
                own_texts[language] = template_from_item(future.get())
        return MailingRead(employee, employer, own_texts)

    # ------------------------------------------------------------------ items and conditions

    def _first_due_at(self, invitation: Invitation) -> datetime:
        """The sweep looks at an open invitation first at its reminder moment, then at its expiry."""
        if self._reminder_lead and invitation.expires_at - self._reminder_lead > invitation.sent_at:
            return invitation.expires_at - self._reminder_lead
        return invitation.expires_at

    def invitation_item(self, invitation: Invitation) -> InvitationModel:
        return InvitationModel(
            invitation.invitation_id,
            employer_id=invitation.employer_id,
            employee_id=invitation.employee_id,
            status=invitation.status.value,
            sent_at=to_iso(invitation.sent_at),
            expires_at=to_iso(invitation.expires_at),
            send_count=invitation.send_count,
            attempts=invitation.attempts,
            due_shard=due_shard(invitation.invitation_id, self._shards),
            due_at=int(self._first_due_at(invitation).timestamp()),
            ttl=invitation.expires_at + self._retention,
        )

    def link_item(self, token_hash: str, invitation: Invitation) -> LinkModel:
        return LinkModel(
            token_hash, invitation_id=invitation.invitation_id, ttl=invitation.expires_at + self._retention
        )

    def end_actions(self, status: InvitationStatus, now: datetime) -> list[Action]:
        """An ended invitation leaves the sweep index and is purged a retention period later."""
        return [
            InvitationModel.status.set(status.value),
            InvitationModel.ended_at.set(to_iso(now)),
            InvitationModel.ttl.set(now + self._retention),
            InvitationModel.due_shard.remove(),
            InvitationModel.due_at.remove(),
        ]

    @staticmethod
    def employee_unchanged(employee: Employee) -> Condition:
        """The employee still has the access state and latest invitation it was read with."""
        condition = EmployeeModel.state == employee.state.value
        if employee.invitation is None:
            return condition & EmployeeModel.invitation.does_not_exist()
        return condition & (employee.invitation.invitation_id == SUMMARY_ID)

    @staticmethod
    def still_open(now: datetime) -> Condition:
        return InvitationModel.status.is_in(*_OPEN) & (InvitationModel.expires_at > to_iso(now))

    # ------------------------------------------------------------------ transitions

    def open(self, employee: Employee, invitation: Invitation, token_hash: str, now: datetime) -> None:
        def build(write: TransactWrite) -> None:
            write.save(self.link_item(token_hash, invitation), condition=LinkModel.token_hash.does_not_exist())
            write.save(self.invitation_item(invitation), condition=InvitationModel.invitation_id.does_not_exist())
            write.update(
                EmployeeModel(employee.employer_id, employee.employee_id),
                actions=[
                    EmployeeModel.state.set(AccessStatus.INVITED.value),
                    EmployeeModel.invitation.set(summary_value(invitation)),
                    EmployeeModel.updated_at.set(to_iso(now)),
                ],
                condition=self.employee_unchanged(employee),
            )
            previous = employee.invitation
            if previous is not None and previous.status in OPEN_STATUSES:
                # Open in the store but past its expiry (the sweep has not got to it yet): end it now.
                # `expired` is accepted too: a grant taken back after a refused mail leaves it so.
                write.update(
                    InvitationModel(previous.invitation_id),
                    actions=self.end_actions(InvitationStatus.EXPIRED, now),
                    condition=InvitationModel.status.is_in(*_OPEN, InvitationStatus.EXPIRED.value)
                    & (InvitationModel.expires_at <= to_iso(now)),
                )

        transact(build)

    def replace(self, employee: Employee, new: Invitation, token_hash: str, now: datetime) -> None:
        old = employee.invitation
        assert old is not None

        def build(write: TransactWrite) -> None:
            write.update(
                InvitationModel(old.invitation_id),
                actions=self.end_actions(InvitationStatus.REPLACED, now),
                condition=self.still_open(now),
            )
            write.save(self.link_item(token_hash, new), condition=LinkModel.token_hash.does_not_exist())
            write.save(self.invitation_item(new), condition=InvitationModel.invitation_id.does_not_exist())
            write.update(
                EmployeeModel(employee.employer_id, employee.employee_id),
                actions=[EmployeeModel.invitation.set(summary_value(new)), EmployeeModel.updated_at.set(to_iso(now))],
                condition=self.employee_unchanged(employee),
            )

        transact(build)

    def revoke(self, employee: Employee, now: datetime) -> None:
        invitation = employee.invitation
        assert invitation is not None
        revoked = summary_value(replace(invitation, status=InvitationStatus.REVOKED))

        def build(write: TransactWrite) -> None:
            write.update(
                InvitationModel(invitation.invitation_id),
                actions=self.end_actions(InvitationStatus.REVOKED, now),
                condition=self.still_open(now),
            )
            write.update(
                EmployeeModel(employee.employer_id, employee.employee_id),
                actions=[
                    EmployeeModel.state.set(AccessStatus.NOT_ACTIVATED.value),
                    EmployeeModel.invitation.set(revoked),
                    EmployeeModel.updated_at.set(to_iso(now)),
                ],
                condition=self.employee_unchanged(employee),
            )

        transact(build)

    def _restore_employee(self, write: TransactWrite, before: Employee, new: Invitation) -> None:
        actions: list[Action] = [EmployeeModel.state.set(before.state.value)]
        if before.invitation is None:
            actions.append(EmployeeModel.invitation.remove())
        else:
            actions.append(EmployeeModel.invitation.set(summary_value(before.invitation)))
        write.update(
            EmployeeModel(before.employer_id, before.employee_id),
            actions=actions,
            condition=SUMMARY_ID == new.invitation_id,
        )

    def undo_open(self, before: Employee, invitation: Invitation, token_hash: str) -> None:
        def build(write: TransactWrite) -> None:
            write.delete(LinkModel(token_hash))
            write.delete(InvitationModel(invitation.invitation_id))
            self._restore_employee(write, before, invitation)

        transact(build)

    def undo_replace(self, before: Employee, new: Invitation, token_hash: str) -> None:
        old = before.invitation
        assert old is not None

        def build(write: TransactWrite) -> None:
            write.delete(LinkModel(token_hash))
            write.delete(InvitationModel(new.invitation_id))
            reopened = Invitation(
                old.invitation_id,
                before.employer_id,
                before.employee_id,
                old.status,
                old.sent_at,
                old.expires_at,
                old.send_count,
            )
            item = self.invitation_item(reopened)
            write.update(
                InvitationModel(old.invitation_id),
                actions=[
                    InvitationModel.status.set(old.status.value),
                    InvitationModel.ended_at.remove(),
                    InvitationModel.ttl.set(item.ttl),
                    InvitationModel.due_shard.set(item.due_shard),
                    InvitationModel.due_at.set(item.due_at),
                ],
                condition=InvitationModel.status == InvitationStatus.REPLACED.value,
            )
            self._restore_employee(write, before, new)

        transact(build)
