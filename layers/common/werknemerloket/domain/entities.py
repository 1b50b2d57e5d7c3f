"""The product's records as plain values, and the rules that derive what they mean at a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

INVITATION_VALIDITY = timedelta(hours=96)
MAX_DOB_ATTEMPTS = 5


class AccessStatus(StrEnum):
    NOT_ACTIVATED = "not_activated"
    INVITED = "invited"
    ACTIVE = "active"


class InvitationStatus(StrEnum):
    PENDING = "pending"
    LOCKED = "locked"
    USED = "used"
    REVOKED = "revoked"
    REPLACED = "replaced"
    EXPIRED = "expired"


OPEN_STATUSES = frozenset({InvitationStatus.PENDING, InvitationStatus.LOCKED})


def effective_invitation_status(status: InvitationStatus, expires_at: datetime, now: datetime) -> InvitationStatus:
    """An open invitation is expired from its `expiresAt` on, whether or not the sweep has run."""
    if status in OPEN_STATUSES and now >= expires_at:
        return InvitationStatus.EXPIRED
    return status


@dataclass(frozen=True)
class Employer:
    employer_id: str
    name: str


@dataclass(frozen=True)
class EmployeeProfile:
    """What the employer registers; never the access state, which only the access flows change."""

    name: str
    email: str | None
    date_of_birth: date
    language: str


@dataclass(frozen=True)
class InvitationSummary:
    """The latest invitation as kept on the employee, so reading an employee is one read."""

    invitation_id: str
    status: InvitationStatus
    sent_at: datetime
    expires_at: datetime
    send_count: int

    def status_at(self, now: datetime) -> InvitationStatus:
        return effective_invitation_status(self.status, self.expires_at, now)


@dataclass(frozen=True)
class Employee:
    employer_id: str
    employee_id: str
    profile: EmployeeProfile
    state: AccessStatus
    invitation: InvitationSummary | None = None
    activated_at: datetime | None = None
    username: str | None = None

    def access_status_at(self, now: datetime) -> AccessStatus:
        if self.state is AccessStatus.INVITED and (
            self.invitation is None or self.invitation.status_at(now) not in OPEN_STATUSES
        ):
            return AccessStatus.NOT_ACTIVATED
        return self.state


@dataclass(frozen=True)
class Invitation:
    """One invitation: one e-mailed offer to activate, valid for 96 hours from its sending."""

    invitation_id: str
    employer_id: str
    employee_id: str
    status: InvitationStatus
    sent_at: datetime
    expires_at: datetime
    send_count: int
    attempts: int = 0
    verified_at: datetime | None = None
    reminded_at: datetime | None = None
    # SHA-256 of the secret handed to the browser that gave the latest right answer (see activation).
    verification_hash: str | None = None

    def status_at(self, now: datetime) -> InvitationStatus:
        return effective_invitation_status(self.status, self.expires_at, now)

    def summary(self) -> InvitationSummary:
        return InvitationSummary(self.invitation_id, self.status, self.sent_at, self.expires_at, self.send_count)
