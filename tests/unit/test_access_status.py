"""Access status is derived from expiresAt at the second, whatever the sweep has done."""

from datetime import UTC, date, datetime, timedelta

from werknemerloket.domain.entities import (
    INVITATION_VALIDITY,
    AccessStatus,
    Employee,
    EmployeeProfile,
    InvitationStatus,
    InvitationSummary,
)

SENT = datetime(2026, 12, 4, 15, 20, 0, tzinfo=UTC)
PROFILE = EmployeeProfile("Jan de Vries", "jan@example.nl", date(1990, 5, 17), "nl")


def invited(status: InvitationStatus = InvitationStatus.PENDING) -> Employee:
    summary = InvitationSummary("inv1", status, SENT, SENT + INVITATION_VALIDITY, 1)
    return Employee("acme", "1001", PROFILE, AccessStatus.INVITED, summary)


def test_invitation_is_valid_for_exactly_96_hours():
    employee = invited()
    expires = SENT + timedelta(hours=96)

    assert employee.access_status_at(expires - timedelta(seconds=1)) is AccessStatus.INVITED
    assert employee.invitation.status_at(expires - timedelta(seconds=1)) is InvitationStatus.PENDING
    assert employee.access_status_at(expires) is AccessStatus.NOT_ACTIVATED
    assert employee.invitation.status_at(expires) is InvitationStatus.EXPIRED
    assert employee.access_status_at(expires + timedelta(seconds=1)) is AccessStatus.NOT_ACTIVATED


def test_a_locked_invitation_keeps_the_employee_invited_until_it_expires():
    employee = invited(InvitationStatus.LOCKED)

    assert employee.access_status_at(SENT + timedelta(hours=1)) is AccessStatus.INVITED
    assert employee.invitation.status_at(SENT + timedelta(hours=1)) is InvitationStatus.LOCKED
    assert employee.invitation.status_at(SENT + timedelta(hours=96)) is InvitationStatus.EXPIRED


def test_ended_invitations_keep_their_status_after_expiry():
    for status in (InvitationStatus.REVOKED, InvitationStatus.USED):
        summary = InvitationSummary("inv1", status, SENT, SENT + INVITATION_VALIDITY, 1)
        assert summary.status_at(SENT + timedelta(days=30)) is status


def test_active_employee_stays_active():
    employee = Employee("acme", "1001", PROFILE, AccessStatus.ACTIVE)
    assert employee.access_status_at(SENT + timedelta(days=365)) is AccessStatus.ACTIVE
