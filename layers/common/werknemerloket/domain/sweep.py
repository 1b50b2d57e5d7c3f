"""The expiry sweep: persists what reading already shows, and reminds once before expiry.

It reads a sparse index of open invitations by the moment they are due (the reminder moment, then
the expiry), so a run reads about one item per invitation it acts on, however large the tables are.
Every change is one conditional transaction on the base table: an activation at the same moment
always wins, a stale index entry changes nothing, and two runs, one after the other or at once,
leave the same state and send no reminder twice (a reminder is claimed before it is mailed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from werknemerloket.clock import Clock
from werknemerloket.domain.entities import (
    OPEN_STATUSES,
    AccessStatus,
    Employee,
    Employer,
    InvitationStatus,
)
from werknemerloket.domain.invitations import activation_url
from werknemerloket.domain.ports import Mailer, StaleStateError
from werknemerloket.domain.tokens import new_token, token_hash
from werknemerloket.errors import MailNotSentError
from werknemerloket.mail.message import MailContext, MailKind
from werknemerloket.mail.texts import MailTexts
from werknemerloket.observability import logger

# A reminder is only worth sending while at least this share of the reminder lead is left; after an
# outage the sweep does not remind minutes before expiry, it lets the invitation run out.
LATEST_REMINDER_SHARE = 0.5


@dataclass(frozen=True)
class DueInvitation:
    """One entry of the due index: all the sweep needs to decide, read without the base table.

    The index is eventually consistent, so an entry may be stale; every write it leads to is
    conditioned on the base item, which makes a stale entry change nothing."""

    invitation_id: str
    employer_id: str
    employee_id: str
    status: InvitationStatus
    expires_at: datetime
    due_at: datetime
    reminded_at: datetime | None = None


@dataclass(frozen=True)
class DuePage:
    """Entries whose due moment has come, and the items DynamoDB read to find them (ScannedCount)."""

    entries: list[DueInvitation]
    items_read: int


class SweepStore(Protocol):
    """The sweep's persistence. Every write raises `StaleStateError` when its condition fails and
    then has written nothing."""

    def due(self, now: datetime) -> Iterator[DuePage]:
        """Open invitations due at `now` (dueAt <= now), page by page, over every index shard."""
        ...

    def employee_with_employer(self, employer_id: str, employee_id: str) -> tuple[Employee | None, Employer | None]: ...

    def expire(self, entry: DueInvitation, now: datetime) -> None:
        """End the invitation as expired, if it is still open and past its expiry, and return its
        employee to not activated in the same transaction."""
        ...

    def claim_reminder(self, entry: DueInvitation, token_hash: str, now: datetime) -> None:
        """Store a second link to the invitation and mark it reminded, if it is still pending, not
        locked, not reminded and not expired; it is next due at its expiry."""
        ...

    def release_reminder(self, entry: DueInvitation, token_hash: str, now: datetime) -> None:
        """Take back `claim_reminder` (the mail was not sent): the next run tries again."""
        ...

    def defer_to_expiry(self, entry: DueInvitation) -> None:
        """No reminder for this invitation: it is next due at its expiry, if still open."""
        ...

    def drop_from_index(self, entry: DueInvitation) -> None:
        """An ended invitation that still carries index keys leaves the index."""
        ...


@dataclass
class SweepResult:
    expired: int = 0
    reminded: int = 0
    # No reminder due after all (locked, reminders off, too late, no address): moved to its expiry.
    deferred: int = 0
    # Someone else got there first (an activation, a resend, a revoke, a concurrent run) or the
    # index entry was stale: nothing written.
    skipped: int = 0
    # Reminder mails not sent (taken back, tried again next run) and unexpected per-item errors.
    failed: int = 0
    items_read: int = 0
    # False when the run stopped early to stay within its time limit; the next run continues.
    complete: bool = True
    errors: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {
            "expired": self.expired,
            "reminded": self.reminded,
            "deferred": self.deferred,
            "skipped": self.skipped,
            "failed": self.failed,
            "itemsRead": self.items_read,
            "complete": self.complete,
        }


class SweepService:
    def __init__(
        self,
        store: SweepStore,
        texts: MailTexts,
        mailer: Mailer,
        clock: Clock,
        public_base_url: str,
        reminder_lead: timedelta,
    ):
        """`reminder_lead` is how long before expiry the reminder is due; zero turns reminders off."""
        self._store = store
        self._texts = texts
        self._mailer = mailer
        self._clock = clock
        self._public_base_url = public_base_url
        self._reminder_lead = reminder_lead

    @property
    def reminders_enabled(self) -> bool:
        return self._reminder_lead > timedelta()

    def run(self, should_stop: Callable[[], bool] | None = None) -> SweepResult:
        """One pass over everything due now. `should_stop` is asked between items (e.g. when the
        function's time runs out); what is left is due again in the next run."""
        now = self._clock.now().replace(microsecond=0)
        result = SweepResult()
        for page in self._store.due(now):
            result.items_read += page.items_read
            for entry in page.entries:
                if should_stop is not None and should_stop():
                    result.complete = False
                    return result
                try:
                    self._handle(entry, now, result)
                except Exception as error:  # one bad item must not stop the sweep for all others
                    logger.exception("sweep could not handle an invitation", extra=_ids(entry))
                    result.failed += 1
                    result.errors.append(f"{entry.invitation_id}: {type(error).__name__}")
        return result

    def _handle(self, entry: DueInvitation, now: datetime, result: SweepResult) -> None:
        if entry.status not in OPEN_STATUSES:
            self._quietly(lambda: self._store.drop_from_index(entry), result, counted=False)
            result.skipped += 1
        elif now >= entry.expires_at:
            if self._quietly(lambda: self._store.expire(entry, now), result):
                result.expired += 1
                logger.debug("invitation expired", extra=_ids(entry))
        elif self._reminder_due(entry, now):
            self._remind(entry, now, result)
        elif self._quietly(lambda: self._store.defer_to_expiry(entry), result):
            result.deferred += 1

    @staticmethod
    def _quietly(write: Callable[[], None], result: SweepResult, counted: bool = True) -> bool:
        """Run a conditional write; a failed condition means someone else won, which is fine."""
        try:
            write()
        except StaleStateError:
            if counted:
                result.skipped += 1
            return False
        return True

    def _reminder_due(self, entry: DueInvitation, now: datetime) -> bool:
        return (
            self.reminders_enabled
            and entry.status is InvitationStatus.PENDING
            and entry.reminded_at is None
            and entry.expires_at - now >= self._reminder_lead * LATEST_REMINDER_SHARE
        )

    def _remind(self, entry: DueInvitation, now: datetime, result: SweepResult) -> None:
        employee, employer = self._store.employee_with_employer(entry.employer_id, entry.employee_id)
        if (
            employee is None
            or employee.profile.email is None
            or employee.state is not AccessStatus.INVITED
            or employee.invitation is None
            or employee.invitation.invitation_id != entry.invitation_id
        ):
            # Nobody to remind (address removed since, or the employee moved on): wait for expiry.
            if self._quietly(lambda: self._store.defer_to_expiry(entry), result):
                result.deferred += 1
            return
        # The first link's token is stored only as a hash, so the reminder carries a second link to
        # the same invitation (same expiry, same attempts); the first one keeps working.
        token = new_token()
        content = self._texts.render(
            MailKind.REMINDER,
            entry.employer_id,
            MailContext(
                employee_name=employee.profile.name,
                employer_name=(employer or Employer(entry.employer_id, entry.employer_id)).name,
                activation_url=activation_url(self._public_base_url, token),
                expires_at=entry.expires_at,
                language=employee.profile.language,
            ),
        )
        hashed = token_hash(token)
        # Claimed before it is mailed: a concurrent run loses the claim and sends nothing.
        if not self._quietly(lambda: self._store.claim_reminder(entry, hashed, now), result):
            return
        try:
            self._mailer.send(employee.profile.email, content)
        except MailNotSentError:
            try:
                self._store.release_reminder(entry, hashed, now)
            except StaleStateError:
                logger.warning("reminder not sent; invitation ended meanwhile", extra=_ids(entry))
            else:
                logger.warning("reminder not sent; will try again next run", extra=_ids(entry))
            result.failed += 1
            return
        result.reminded += 1
        logger.info("reminder sent", extra=_ids(entry))


def _ids(entry: DueInvitation) -> dict[str, str]:
    return {"invitationId": entry.invitation_id, "employerId": entry.employer_id, "employeeId": entry.employee_id}
