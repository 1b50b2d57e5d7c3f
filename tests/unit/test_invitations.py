"""Granting, resending and revoking, against in-memory fakes with DynamoDB's guarded-write semantics."""

from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from werknemerloket.clock import FixedClock
from werknemerloket.domain.entities import AccessStatus, EmployeeProfile, Employer, InvitationStatus
from werknemerloket.domain.invitations import InvitationService
from werknemerloket.domain.tokens import token_hash
from werknemerloket.errors import ConflictError, MailNotSentError, NotFoundError
from werknemerloket.mail.message import MailKind, MailTemplate

from .fakes import FakeEmployees, FakeEmployers, FakeInvitations, FakeMailer, RecordingTexts

NOW = datetime(2026, 12, 4, 15, 20, 7, 123456, tzinfo=UTC)
BASE_URL = "https://werknemer.example.test"


class World:
    def __init__(self) -> None:
        self.clock = FixedClock(NOW)
        self.employers = FakeEmployers()
        self.employees = FakeEmployees()
        self.store = FakeInvitations(self.employees, self.employers)
        self.mailer = FakeMailer()
        self.texts = RecordingTexts()
        self.service = InvitationService(self.store, self.texts, self.mailer, self.clock, BASE_URL)  # type: ignore[arg-type]
        self.employers.put(Employer("acme", "Acme B.V."), NOW)

    def register(self, employee_id: str = "1001", email: str | None = "jan@example.nl") -> None:
        self.employees.save_profile(
            "acme", employee_id, EmployeeProfile("Jan de Vries", email, date(1990, 5, 17), "nl"), NOW
        )

    def token_of(self, mail_index: int) -> str:
        url = self.mailer.sent[mail_index].content.text
        return parse_qs(urlsplit(url).query)["token"][0]


@pytest.fixture
def world() -> World:
    w = World()
    w.register()
    return w


def test_grant_mails_a_link_whose_token_is_stored_only_as_its_hash(world):
    employee = world.service.grant("acme", "1001")

    assert employee.access_status_at(NOW) is AccessStatus.INVITED
    [mail] = world.mailer.sent
    assert mail.to == "jan@example.nl"
    url = mail.content.text
    assert url.startswith(f"{BASE_URL}/activate?token=")
    token = world.token_of(0)
    assert len(token) == 43  # 256 bits, URL-safe base64
    assert world.store.links == {token_hash(token): employee.invitation.invitation_id}
    assert token not in repr(world.store.invitations)


def test_grant_validity_is_96_hours_from_the_whole_second_of_sending(world):
    employee = world.service.grant("acme", "1001")

    assert employee.invitation.sent_at == NOW.replace(microsecond=0)
    assert employee.invitation.expires_at == NOW.replace(microsecond=0) + timedelta(hours=96)
    kind, context = world.texts.contexts[0]
    assert (kind, world.texts.texts_in_force[0].custom, context.employer_name, context.resent) == (
        MailKind.INVITATION,
        False,
        "Acme B.V.",
        False,
    )
    assert context.expires_at == employee.invitation.expires_at


def test_grant_needs_an_email_address(world):
    world.register("1002", email=None)
    with pytest.raises(ConflictError) as error:
        world.service.grant("acme", "1002")
    assert error.value.code == "EMAIL_MISSING"
    assert world.mailer.sent == []


def test_grant_needs_the_employers_name_for_the_mail(world):
    world.employers.items.clear()
    with pytest.raises(ConflictError) as error:
        world.service.grant("acme", "1001")
    assert error.value.code == "EMPLOYER_PROFILE_MISSING"
    assert world.mailer.sent == []


def test_grant_of_an_unknown_employee_is_not_found(world):
    with pytest.raises(NotFoundError):
        world.service.grant("acme", "nobody")


def test_second_grant_is_refused_while_invited_and_allowed_after_expiry(world):
    world.service.grant("acme", "1001")
    with pytest.raises(ConflictError) as error:
        world.service.grant("acme", "1001")
    assert error.value.code == "ALREADY_INVITED"

    world.clock.advance(96 * 3600)
    again = world.service.grant("acme", "1001")

    assert again.invitation.send_count == 1
    assert len(world.mailer.sent) == 2
    first_id = world.texts.contexts[0][1].activation_url
    assert first_id != world.texts.contexts[1][1].activation_url


def test_refused_mail_leaves_no_invitation_behind(world):
    world.mailer.refuse = True
    with pytest.raises(MailNotSentError):
        world.service.grant("acme", "1001")

    employee = world.employees.get("acme", "1001")
    assert employee.access_status_at(NOW) is AccessStatus.NOT_ACTIVATED
    assert employee.invitation is None
    assert world.store.links == {}
    assert world.store.invitations == {}


def test_resend_replaces_the_link_and_restarts_validity(world):
    first = world.service.grant("acme", "1001")
    world.clock.advance(3600)

    resent = world.service.resend("acme", "1001")

    assert resent.invitation.send_count == 2
    assert resent.invitation.expires_at == first.invitation.expires_at + timedelta(hours=1)
    assert world.store.invitations[first.invitation.invitation_id].status is InvitationStatus.REPLACED
    assert world.token_of(0) != world.token_of(1)
    assert world.texts.contexts[1][1].resent is True


def test_refused_resend_mail_keeps_the_first_invitation_open(world):
    first = world.service.grant("acme", "1001")
    world.mailer.refuse = True

    with pytest.raises(MailNotSentError):
        world.service.resend("acme", "1001")

    employee = world.employees.get("acme", "1001")
    assert employee.invitation == first.invitation
    assert world.store.invitations[first.invitation.invitation_id].status is InvitationStatus.PENDING
    assert list(world.store.links.values()) == [first.invitation.invitation_id]


def test_revoke_ends_the_invitation_and_the_employee_can_be_granted_again(world):
    world.service.grant("acme", "1001")

    revoked = world.service.revoke("acme", "1001")

    assert revoked.access_status_at(NOW) is AccessStatus.NOT_ACTIVATED
    assert revoked.invitation.status_at(NOW) is InvitationStatus.REVOKED
    assert world.service.grant("acme", "1001").access_status_at(NOW) is AccessStatus.INVITED


@pytest.mark.parametrize("action", ["resend", "revoke"])
def test_resend_and_revoke_need_an_open_invitation(world, action):
    with pytest.raises(ConflictError) as never_invited:
        getattr(world.service, action)("acme", "1001")
    world.service.grant("acme", "1001")
    world.clock.advance(96 * 3600)
    with pytest.raises(ConflictError) as expired:
        getattr(world.service, action)("acme", "1001")

    assert never_invited.value.code == expired.value.code == "NO_OPEN_INVITATION"


def test_a_grant_that_loses_a_race_answers_already_invited(world):
    stale = world.store.read("acme", "1001", MailKind.INVITATION)  # what the loser read
    world.service.grant("acme", "1001")  # the concurrent winner writes first
    reads = iter([stale])
    current = world.store.read
    world.store.read = lambda *args: next(reads, None) or current(*args)  # type: ignore[method-assign]

    with pytest.raises(ConflictError) as error:
        world.service.grant("acme", "1001")

    assert error.value.code == "ALREADY_INVITED"
    assert len(world.mailer.sent) == 1
    assert len(world.store.invitations) == 1


def test_the_employers_own_text_in_the_employees_language_is_used(world):
    own = MailTemplate("Welkom", "Klik {{ activation_url }}")
    world.store.own_texts[("acme", MailKind.INVITATION, "nl")] = own

    world.service.grant("acme", "1001")

    [text] = world.texts.texts_in_force
    assert (text.custom, text.template, text.language) == (True, own, "nl")
