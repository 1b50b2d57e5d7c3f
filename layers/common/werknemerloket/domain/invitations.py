"""Granting access: invitations, their mails, resending and revoking.

Every change is one transaction guarded by the state it was decided on; a lost race re-reads and
answers what the winner left (e.g. two concurrent grants: one 201, one 409). A mail that cannot be
sent takes its transaction back, so no employee looks invited without having been mailed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlencode

from werknemerloket.clock import Clock
from werknemerloket.domain.entities import (
    INVITATION_VALIDITY,
    OPEN_STATUSES,
    AccessStatus,
    Employee,
    Employer,
    Invitation,
    InvitationStatus,
    InvitationSummary,
)
from werknemerloket.domain.ports import InvitationRepository, Mailer, MailingRead, MailRenderer, StaleStateError
from werknemerloket.domain.tokens import new_token, token_hash
from werknemerloket.errors import ConflictError, employee_not_found
from werknemerloket.mail.message import MailContent, MailContext, MailKind
from werknemerloket.mail.texts import in_force
from werknemerloket.observability import MetricUnit, logger, metrics

ACTIVATION_PATH = "/activate"


def activation_url(public_base_url: str, token: str) -> str:
    """Built from configuration only, never from a request's Host header."""
    return f"{public_base_url}{ACTIVATION_PATH}?{urlencode({'token': token})}"


def _already(employee: Employee, now: datetime) -> ConflictError | None:
    status = employee.access_status_at(now)
    if status is AccessStatus.ACTIVE:
        return ConflictError("The employee has already activated access.", code="ALREADY_ACTIVE")
    if status is AccessStatus.INVITED:
        return ConflictError(
            "The employee has an open invitation; resend or revoke it instead.", code="ALREADY_INVITED"
        )
    return None


def _no_open_invitation() -> ConflictError:
    return ConflictError("The employee has no unused invitation to resend or revoke.", code="NO_OPEN_INVITATION")


def _changed() -> ConflictError:
    return ConflictError(
        "The invitation changed while this request was handled (another resend, revoke or grant); "
        "read the employee and try again if still needed.",
        code="INVITATION_CHANGED",
    )


def _open_invitation(employee: Employee, now: datetime) -> InvitationSummary:
    invitation = employee.invitation
    if (
        employee.state is not AccessStatus.INVITED
        or invitation is None
        or invitation.status_at(now) not in OPEN_STATUSES
    ):
        raise _no_open_invitation()
    return invitation


class InvitationService:
    def __init__(
        self,
        repository: InvitationRepository,
        texts: MailRenderer,
        mailer: Mailer,
        clock: Clock,
        public_base_url: str,
    ):
        self._repository = repository
        self._texts = texts
        self._mailer = mailer
        self._clock = clock
        self._public_base_url = public_base_url

    def _now(self) -> datetime:
        return self._clock.now().replace(microsecond=0)

    def _read(self, employer_id: str, employee_id: str) -> tuple[Employee, MailingRead]:
        """One read gives the employee, the employer and the texts an invitation mail may use."""
        read = self._repository.read(employer_id, employee_id, MailKind.INVITATION)
        if read.employee is None:
            raise employee_not_found(employer_id, employee_id)
        return read.employee, read

    @staticmethod
    def _mailable(employee: Employee, employer: Employer | None) -> tuple[str, Employer]:
        """The address and the employer's name a mail needs, or why it cannot be sent."""
        if employer is None:
            # Employees may be registered first, but the mail and the pages name the employer.
            raise ConflictError(
                "Give the employer its name (PUT /employers/{employerId}) before granting access: the mail and "
                "the pages show it.",
                code="EMPLOYER_PROFILE_MISSING",
            )
        if employee.profile.email is None:
            raise ConflictError("Register the employee's e-mail address before granting access.", code="EMAIL_MISSING")
        return employee.profile.email, employer

    def _new_invitation(self, employee: Employee, now: datetime, send_count: int) -> tuple[Invitation, str]:
        invitation = Invitation(
            invitation_id=uuid.uuid4().hex,
            employer_id=employee.employer_id,
            employee_id=employee.employee_id,
            status=InvitationStatus.PENDING,
            sent_at=now,
            expires_at=now + INVITATION_VALIDITY,
            send_count=send_count,
        )
        return invitation, new_token()

    def _invited(self, employee: Employee, invitation: Invitation) -> Employee:
        return replace(employee, state=AccessStatus.INVITED, invitation=invitation.summary())

    def _content(
        self,
        read: MailingRead,
        employee: Employee,
        employer: Employer,
        invitation: Invitation,
        token: str,
        resent: bool,
    ) -> MailContent:
        """Rendered before anything is written, so that a text that cannot be rendered changes nothing."""
        language = employee.profile.language
        return self._texts.render_in_force(
            in_force(MailKind.INVITATION, language, read.own_texts.get(language)),
            MailContext(
                employee_name=employee.profile.name,
                employer_name=employer.name,
                activation_url=activation_url(self._public_base_url, token),
                expires_at=invitation.expires_at,
                language=employee.profile.language,
                resent=resent,
            ),
        )

    def _send_or_take_back(
        self, to: str, content: MailContent, undo: Callable[[], None], invitation: Invitation
    ) -> None:
        """Send the mail; whatever stops it takes the written change back, so no one looks invited unmailed."""
        try:
            self._mailer.send(to, content)
        except Exception:
            try:
                undo()
            except StaleStateError:
                # Someone acted on the new invitation in the meantime (it cannot have been mailed, so
                # this is a concurrent resend or revoke); their state stands.
                logger.error("could not take back an unmailed invitation", extra=_ids(invitation))
            else:
                logger.warning("invitation mail not sent; change taken back", extra=_ids(invitation))
            raise

    def _lost_race(self, employer_id: str, employee_id: str, now: datetime) -> ConflictError:
        """A resend or revoke lost to another change: still invited means another resend won; anything
        else (activated, revoked, expired) leaves no open invitation."""
        current, _ = self._read(employer_id, employee_id)
        if current.access_status_at(now) is AccessStatus.INVITED:
            return _changed()
        return _no_open_invitation()

    def grant(self, employer_id: str, employee_id: str) -> Employee:
        now = self._now()
        employee, read = self._read(employer_id, employee_id)
        to, employer = self._mailable(employee, read.employer)
        if conflict := _already(employee, now):
            raise conflict
        invitation, token = self._new_invitation(employee, now, send_count=1)
        content = self._content(read, employee, employer, invitation, token, resent=False)
        try:
            self._repository.open(employee, invitation, token_hash(token), now)
        except StaleStateError:
            current, _ = self._read(employer_id, employee_id)
            raise _already(current, now) or _changed() from None
        self._send_or_take_back(
            to, content, lambda: self._repository.undo_open(employee, invitation, token_hash(token)), invitation
        )
        metrics.add_metric(name="InvitationsSent", unit=MetricUnit.Count, value=1)
        logger.info("invitation sent", extra=_ids(invitation))
        return self._invited(employee, invitation)

    def resend(self, employer_id: str, employee_id: str) -> Employee:
        now = self._now()
        employee, read = self._read(employer_id, employee_id)
        previous = _open_invitation(employee, now)
        to, employer = self._mailable(employee, read.employer)
        invitation, token = self._new_invitation(employee, now, send_count=previous.send_count + 1)
        content = self._content(read, employee, employer, invitation, token, resent=True)
        try:
            self._repository.replace(employee, invitation, token_hash(token), now)
        except StaleStateError:
            raise self._lost_race(employer_id, employee_id, now) from None
        self._send_or_take_back(
            to, content, lambda: self._repository.undo_replace(employee, invitation, token_hash(token)), invitation
        )
        metrics.add_metric(name="InvitationsResent", unit=MetricUnit.Count, value=1)
        logger.info("invitation resent", extra=_ids(invitation) | {"replaced": previous.invitation_id})
        return self._invited(employee, invitation)

    def revoke(self, employer_id: str, employee_id: str) -> Employee:
        now = self._now()
        employee, _ = self._read(employer_id, employee_id)
        invitation = _open_invitation(employee, now)
        try:
            self._repository.revoke(employee, now)
        except StaleStateError:
            raise self._lost_race(employer_id, employee_id, now) from None
        metrics.add_metric(name="InvitationsRevoked", unit=MetricUnit.Count, value=1)
        logger.info("invitation revoked", extra={"invitationId": invitation.invitation_id, **_who(employee)})
        return replace(
            employee,
            state=AccessStatus.NOT_ACTIVATED,
            invitation=replace(invitation, status=InvitationStatus.REVOKED),
        )


def _who(employee: Employee) -> dict[str, str]:
    return {"employerId": employee.employer_id, "employeeId": employee.employee_id}


def _ids(invitation: Invitation) -> dict[str, str]:
    return {
        "invitationId": invitation.invitation_id,
        "employerId": invitation.employer_id,
        "employeeId": invitation.employee_id,
    }
