"""The expiry sweep's decisions, against an in-memory store with DynamoDB's guarded-write semantics."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from werknemerloket.clock import FixedClock
from werknemerloket.domain.entities import (
    OPEN_STATUSES,
    AccessStatus,
    EmployeeProfile,
    Employer,
    Invitation,
    InvitationStatus,
)
from werknemerloket.domain.invitations import InvitationService
from werknemerloket.domain.ports import StaleStateError
from werknemerloket.domain.sweep import DueInvitation, DuePage, SweepService
from werknemerloket.domain.tokens import token_hash
from werknemerloket.mail.message import MailKind

from .fakes import FakeEmployees, FakeEmployers, FakeInvitations, FakeMailer, RecordingTexts

NOW = datetime(2026, 12, 4, 15, 20, 7, tzinfo=UTC)
BASE_URL = "https://werknemer.example.test"
LEAD = timedelta(hours=24)
HOUR = 3600


@dataclass
class FakeSweepStore:
    """The sweep's view of `FakeInvitations`: a due index over its open invitations (first due at the
    reminder moment, as the data layer writes them) and the sweep's conditional writes."""

    data: FakeInvitations
    lead: timedelta
    due_at: dict[str, datetime] = field(default_factory=dict)  # what the sweep moved
    stale: list[DueInvitation] = field(default_factory=list)  # entries the index has not caught up on
    fail_on: set[str] = field(default_factory=set)  # invitation ids whose writes break unexpectedly

    def _due_at(self, invitation: Invitation) -> datetime:
        if invitation.invitation_id in self.due_at:
            return self.due_at[invitation.invitation_id]
        return invitation.expires_at - self.lead if self.lead else invitation.expires_at

    def entries(self, now: datetime) -> list[DueInvitation]:
        """The index: only open invitations carry index keys, as `end_actions` removes them."""
        found = [
            DueInvitation(
                i.invitation_id,
                i.employer_id,
                i.employee_id,
                i.status,
                i.expires_at,
                self._due_at(i),
                i.reminded_at,
            )
            for i in self.data.invitations.values()
            if i.status in OPEN_STATUSES and self._due_at(i) <= now
        ]
        return sorted(found, key=lambda e: e.due_at) + self.stale

    def due(self, now: datetime) -> Iterator[DuePage]:
        entries = self.entries(now)
        yield DuePage(entries, len(entries))

    def employee_with_employer(self, employer_id: str, employee_id: str):  # type: ignore[no-untyped-def]
        return self.data.employee_with_employer(employer_id, employee_id)

    def _invitation(self, entry: DueInvitation) -> Invitation:
        if entry.invitation_id in self.fail_on:
            raise RuntimeError("throttled")
        return self.data.invitations[entry.invitation_id]

    def expire(self, entry: DueInvitation, now: datetime) -> None:
        invitation = self._invitation(entry)
        if invitation.status not in OPEN_STATUSES or invitation.expires_at > now:
            raise StaleStateError("not expirable")
        self.data.invitations[entry.invitation_id] = replace(invitation, status=InvitationStatus.EXPIRED)
        employee = self.data.employees.get(entry.employer_id, entry.employee_id)
        summary = employee.invitation if employee else None
        # Else an orphan (its employee moved on): the invitation expires alone.
        if (
            employee
            and employee.state is AccessStatus.INVITED
            and summary
            and summary.invitation_id == entry.invitation_id
        ):
            self.data.employees.items[(entry.employer_id, entry.employee_id)] = replace(
                employee,
                state=AccessStatus.NOT_ACTIVATED,
                invitation=replace(summary, status=InvitationStatus.EXPIRED),
            )

    def claim_reminder(self, entry: DueInvitation, token_hash: str, now: datetime) -> None:
        invitation = self._invitation(entry)
        if (
            invitation.status is not InvitationStatus.PENDING
            or invitation.attempts >= 5
            or invitation.reminded_at is not None
            or invitation.expires_at <= now
            or token_hash in self.data.links
        ):
            raise StaleStateError("not remindable")
        self.data.links[token_hash] = entry.invitation_id
        self.data.invitations[entry.invitation_id] = replace(invitation, reminded_at=now)
        self.due_at[entry.invitation_id] = invitation.expires_at

    def release_reminder(self, entry: DueInvitation, token_hash: str, now: datetime) -> None:
        invitation = self._invitation(entry)
        del self.data.links[token_hash]
        if invitation.status not in OPEN_STATUSES or invitation.reminded_at != now:
            raise StaleStateError("ended")
        self.data.invitations[entry.invitation_id] = replace(invitation, reminded_at=None)
        self.due_at[entry.invitation_id] = entry.due_at

    def defer_to_expiry(self, entry: DueInvitation) -> None:
        invitation = self._invitation(entry)
        if invitation.status not in OPEN_STATUSES:
            raise StaleStateError("ended")
        self.due_at[entry.invitation_id] = invitation.expires_at

    def drop_from_index(self, entry: DueInvitation) -> None:
        self.stale.remove(entry)


class World:
    def __init__(self, lead: timedelta = LEAD) -> None:
        self.clock = FixedClock(NOW)
        self.employers = FakeEmployers()
        self.employees = FakeEmployees()
        self.data = FakeInvitations(self.employees, self.employers)
        self.store = FakeSweepStore(self.data, lead)
        self.mailer = FakeMailer()
        self.texts = RecordingTexts()
        self.invitations = InvitationService(self.data, self.texts, self.mailer, self.clock, BASE_URL)  # type: ignore[arg-type]
        self.sweep = SweepService(self.store, self.texts, self.mailer, self.clock, BASE_URL, lead)  # type: ignore[arg-type]
        self.employers.put(Employer("acme", "Acme B.V."), NOW)

    def grant(self, employee_id: str = "1001", language: str = "nl", email: str | None = "jan@example.nl") -> str:
        profile = EmployeeProfile("Jan de Vries", email or "x@example.nl", date(1990, 5, 17), language)
        self.employees.save_profile("acme", employee_id, profile, NOW)
        employee = self.invitations.grant("acme", employee_id)
        if email is None:  # the address removed after the grant
            self.employees.save_profile("acme", employee_id, replace(profile, email=None), NOW)
        assert employee.invitation is not None
        return employee.invitation.invitation_id

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def invitation(self, invitation_id: str) -> Invitation:
        return self.data.invitations[invitation_id]

    def employee(self, employee_id: str = "1001"):  # type: ignore[no-untyped-def]
        return self.employees.get("acme", employee_id)

    def reminders(self) -> list[tuple[MailKind, str, object]]:
        return [c for c in self.texts.contexts if c[0] is MailKind.REMINDER]

    def token_of(self, mail_index: int) -> str:
        return parse_qs(urlsplit(self.mailer.sent[mail_index].content.text).query)["token"][0]


@pytest.fixture
def world() -> World:
    return World()


def test_nothing_due_reads_nothing(world):
    world.grant()

    result = world.sweep.run()

    assert (result.expired, result.reminded, result.items_read) == (0, 0, 0)


def test_reminder_is_sent_once_at_its_moment_with_a_fresh_link_to_the_same_invitation(world):
    invitation_id = world.grant(language="en")
    world.advance(72 * HOUR - 60)
    assert world.sweep.run().reminded == 0

    world.advance(120)
    result = world.sweep.run()

    assert (result.reminded, result.items_read) == (1, 1)
    [(kind, context)] = world.reminders()
    assert (kind, context.language, context.employer_name) == (MailKind.REMINDER, "en", "Acme B.V.")
    assert context.employer_name == "Acme B.V."
    assert context.expires_at == world.invitation(invitation_id).expires_at == NOW + timedelta(hours=96)
    assert world.mailer.sent[1].to == "jan@example.nl"
    first, fresh = world.token_of(0), world.token_of(1)
    assert fresh != first
    # Both links lead to the same invitation; only hashes are stored.
    assert world.data.links == {token_hash(first): invitation_id, token_hash(fresh): invitation_id}
    assert fresh not in repr(world.data.invitations)
    invitation = world.invitation(invitation_id)
    assert (invitation.status, invitation.attempts, invitation.reminded_at) == (
        InvitationStatus.PENDING,
        0,
        NOW + timedelta(hours=72, seconds=60),
    )

    again = world.sweep.run()
    assert (again.reminded, again.items_read) == (0, 0)
    assert len(world.mailer.sent) == 2


def test_expiry_is_persisted_and_a_second_run_changes_nothing(world):
    invitation_id = world.grant()
    world.advance(96 * HOUR)

    result = world.sweep.run()

    assert (result.expired, result.reminded, result.items_read) == (1, 0, 1)
    assert world.invitation(invitation_id).status is InvitationStatus.EXPIRED
    employee = world.employee()
    assert employee.state is AccessStatus.NOT_ACTIVATED
    assert employee.invitation.status is InvitationStatus.EXPIRED
    before = (dict(world.data.invitations), dict(world.employees.items), list(world.mailer.sent))
    again = world.sweep.run()
    assert (again.expired, again.items_read) == (0, 0)
    assert (dict(world.data.invitations), dict(world.employees.items), list(world.mailer.sent)) == before


def test_expiry_is_not_before_the_last_second(world):
    invitation_id = world.grant()
    world.advance(96 * HOUR - 1)

    assert world.sweep.run().expired == 0
    assert world.invitation(invitation_id).status is InvitationStatus.PENDING


def test_late_sweep_expires_without_reminding(world):
    world.grant()
    world.advance(100 * HOUR)

    result = world.sweep.run()

    assert (result.expired, result.reminded) == (1, 0)
    assert world.reminders() == []


def test_no_reminder_minutes_before_expiry_after_an_outage(world):
    invitation_id = world.grant()
    world.advance(95 * HOUR)

    result = world.sweep.run()

    assert (result.reminded, result.deferred) == (0, 1)
    assert world.store.due_at[invitation_id] == world.invitation(invitation_id).expires_at
    world.advance(HOUR)
    assert world.sweep.run().expired == 1


def test_locked_invitation_gets_no_reminder_and_still_expires(world):
    invitation_id = world.grant()
    world.data.invitations[invitation_id] = replace(
        world.invitation(invitation_id), status=InvitationStatus.LOCKED, attempts=5
    )
    world.advance(72 * HOUR)

    result = world.sweep.run()

    assert (result.reminded, result.deferred) == (0, 1)
    assert world.reminders() == []
    assert world.sweep.run().items_read == 0  # not read again before its expiry
    world.advance(24 * HOUR)
    assert world.sweep.run().expired == 1
    assert world.invitation(invitation_id).status is InvitationStatus.EXPIRED


def test_no_reminder_for_revoked_or_replaced_invitations(world):
    revoked = world.grant("1001")
    replaced = world.grant("1002")
    world.invitations.revoke("acme", "1001")
    world.advance(HOUR)
    world.invitations.resend("acme", "1002")
    world.advance(72 * HOUR - HOUR)

    result = world.sweep.run()

    assert (result.reminded, result.items_read) == (0, 0)
    assert world.invitation(revoked).status is InvitationStatus.REVOKED
    assert world.invitation(replaced).status is InvitationStatus.REPLACED
    world.advance(HOUR)  # the resent one's reminder moment
    assert world.sweep.run().reminded == 1


def test_mail_failure_takes_the_claim_back_and_the_next_run_reminds(world):
    invitation_id = world.grant()
    links_before = dict(world.data.links)
    world.advance(72 * HOUR)
    world.mailer.refuse = True

    result = world.sweep.run()

    assert (result.reminded, result.failed) == (0, 1)
    assert world.data.links == links_before
    assert world.invitation(invitation_id).reminded_at is None
    assert world.store.due_at[invitation_id] == world.invitation(invitation_id).expires_at - LEAD
    world.mailer.refuse = False
    world.advance(15 * 60)
    assert world.sweep.run().reminded == 1
    assert len(world.data.links) == 2


def test_reminders_turned_off_send_nothing_and_still_expire():
    world = World(lead=timedelta())
    invitation_id = world.grant()
    world.advance(72 * HOUR)
    assert world.sweep.run().items_read == 0  # first due at its expiry
    world.advance(24 * HOUR)

    result = world.sweep.run()

    assert (result.expired, result.reminded) == (1, 0)
    assert world.reminders() == []
    assert world.invitation(invitation_id).status is InvitationStatus.EXPIRED


def test_reminders_turned_off_after_invitations_were_indexed_for_a_reminder(world):
    invitation_id = world.grant()
    world.advance(72 * HOUR)
    off = SweepService(world.store, world.texts, world.mailer, world.clock, BASE_URL, timedelta())

    result = off.run()

    assert (result.reminded, result.deferred) == (0, 1)
    assert world.store.due_at[invitation_id] == world.invitation(invitation_id).expires_at


def test_employee_without_an_address_any_more_is_not_reminded(world):
    world.grant(email=None)
    world.advance(72 * HOUR)

    result = world.sweep.run()

    assert (result.reminded, result.deferred) == (0, 1)


def test_activation_before_expiry_wins_over_a_stale_index_entry(world):
    invitation_id = world.grant()
    world.advance(96 * HOUR - 1)
    [stale] = world.store.entries(world.clock.now())
    # The activation completes in the last second; the index has not caught up yet.
    world.data.invitations[invitation_id] = replace(world.invitation(invitation_id), status=InvitationStatus.USED)
    employee = world.employee()
    world.employees.items[("acme", "1001")] = replace(employee, state=AccessStatus.ACTIVE)
    world.store.stale.append(replace(stale, status=InvitationStatus.PENDING))
    world.advance(1)

    result = world.sweep.run()

    assert (result.expired, result.skipped) == (0, 1)
    assert world.invitation(invitation_id).status is InvitationStatus.USED
    assert world.employee().state is AccessStatus.ACTIVE


def test_an_ended_invitation_left_in_the_index_is_dropped_from_it(world):
    invitation_id = world.grant()
    world.data.invitations[invitation_id] = replace(world.invitation(invitation_id), status=InvitationStatus.USED)
    entry = DueInvitation(invitation_id, "acme", "1001", InvitationStatus.USED, NOW + timedelta(hours=96), NOW)
    world.store.stale.append(entry)

    result = world.sweep.run()

    assert (result.skipped, result.expired) == (1, 0)
    assert world.store.stale == []


def test_two_runs_at_once_remind_and_expire_once(world):
    world.grant("1001")
    expiring = world.grant("1002")
    world.data.invitations[expiring] = replace(world.invitation(expiring), expires_at=NOW + timedelta(hours=1))
    world.advance(72 * HOUR)
    # Run A reads the index, then run B does everything, then A acts on what it read.
    snapshot = world.store.entries(world.clock.now())

    b = world.sweep.run()
    a = SweepService(_Snapshot(world.store, snapshot), world.texts, world.mailer, world.clock, BASE_URL, LEAD).run()  # type: ignore[arg-type]

    assert (b.reminded, b.expired) == (1, 1)
    assert (a.reminded, a.expired, a.skipped) == (0, 0, 2)
    assert [m.content.subject for m in world.mailer.sent].count("reminder for Jan de Vries") == 1


class _Snapshot:
    def __init__(self, store: FakeSweepStore, entries: list[DueInvitation]) -> None:
        self._store = store
        self._entries = entries

    def due(self, now: datetime) -> Iterator[DuePage]:
        yield DuePage(self._entries, len(self._entries))

    def __getattr__(self, name: str) -> object:
        return getattr(self._store, name)


def test_one_broken_item_does_not_stop_the_others(world):
    broken = world.grant("1001")
    world.grant("1002")
    world.store.fail_on.add(broken)
    world.advance(96 * HOUR)

    result = world.sweep.run()

    assert (result.expired, result.failed) == (1, 1)
    assert result.errors == [f"{broken}: RuntimeError"]


def test_a_run_stops_when_asked_and_the_next_one_continues(world):
    world.grant("1001")
    world.grant("1002")
    world.advance(96 * HOUR)
    calls = iter([False, True])

    first = world.sweep.run(should_stop=lambda: next(calls))
    second = world.sweep.run()

    assert (first.expired, first.complete) == (1, False)
    assert (second.expired, second.complete) == (1, True)


def test_counts_use_the_api_spelling(world):
    assert world.sweep.run().counts() == {
        "expired": 0,
        "reminded": 0,
        "deferred": 0,
        "skipped": 0,
        "failed": 0,
        "itemsRead": 0,
        "complete": True,
    }
