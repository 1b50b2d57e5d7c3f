"""The sweep's DynamoDB store and handler under moto: the items and conditions as they really are.

Tables are created from template.yaml. Invitations are written with the invitation repository's own
item builders (`invitation_item`, `link_item`), so the sweep reads exactly what a grant writes, and
activations go through the activation service on its DynamoDB repositories (only Cognito is a fake),
so the sweep meets exactly what an activation writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from scripts.bench_sweep import populate, run_sweep
from tests.events import LambdaContext
from tests.functions import load_function
from werknemerloket.clock import FixedClock, to_iso
from werknemerloket.data.activation import DynamoActivationRepository, DynamoSessionRepository
from werknemerloket.data.invitations import DynamoInvitationRepository, due_shard
from werknemerloket.data.models import EmployeeModel, InvitationModel, LinkModel
from werknemerloket.data.sweep import DynamoSweepStore
from werknemerloket.data.templates import DynamoTemplateStore
from werknemerloket.domain.activation import ActivationService
from werknemerloket.domain.entities import INVITATION_VALIDITY, InvitationStatus
from werknemerloket.domain.ports import StaleStateError
from werknemerloket.domain.sessions import SessionService
from werknemerloket.domain.sweep import DueInvitation, SweepService
from werknemerloket.domain.tokens import token_hash
from werknemerloket.mail.message import MailContext, MailKind, MailTemplate
from werknemerloket.mail.texts import MailTexts, compose, standard
from werknemerloket.settings import get_settings

from ..activation_helpers import BIRTH, PASSWORD
from ..unit.fake_accounts import FakeIdentity
from ..unit.fakes import FakeMailer
from .conftest import NOW, write_invited

SENT_AT = NOW
HOUR = 3600


@dataclass
class World:
    clock: FixedClock
    mailer: FakeMailer
    repository: DynamoInvitationRepository
    store: DynamoSweepStore
    tokens: dict[str, str] = field(default_factory=dict)  # each invitation's first link, as its mail had it

    def texts(self) -> MailTexts:
        """The mail texts as the sweep reads them: employers' own texts in the real template table."""
        return MailTexts(DynamoTemplateStore(), clock=self.clock)

    def service(self, store: Any = None) -> SweepService:
        settings = get_settings()
        return SweepService(
            store or self.store,
            self.texts(),
            self.mailer,
            self.clock,
            settings.public_base_url,
            timedelta(hours=settings.reminder_hours_before_expiry),
        )

    def run(self) -> Any:
        return self.service().run()

    def invite(self, employee_id: str = "1001", language: str = "nl", status: str = "pending") -> str:
        invitation, token = write_invited(
            employee_id, sent_at=SENT_AT, language=language, status=InvitationStatus(status)
        )
        self.tokens[invitation.invitation_id] = token
        return invitation.invitation_id

    def activate(self, invitation_id: str, username: str = "jan") -> None:
        """The employee activates now through the invitation's link: the right answer, then the
        credentials (one transaction: username claimed, invitation used and out of the index,
        employee active)."""
        settings = get_settings()
        identity = FakeIdentity(self.clock)
        sessions = SessionService(DynamoSessionRepository(settings), identity, self.clock)
        activation = ActivationService(DynamoActivationRepository(settings), identity, sessions, self.clock)
        token = self.tokens[invitation_id]
        verified = activation.answer(token, BIRTH)
        activation.complete(token, verified.secret, username, PASSWORD, PASSWORD)

    def links_to(self, invitation_id: str) -> list[LinkModel]:
        return [link for link in LinkModel.scan() if link.invitation_id == invitation_id]


@pytest.fixture
def world(aws: None) -> World:
    settings = get_settings()
    return World(FixedClock(SENT_AT), FakeMailer(), DynamoInvitationRepository(settings), DynamoSweepStore(settings))


def token_in(text: str) -> str:
    [url] = re.findall(r"https://\S+/activate\?token=\S+", text)
    return parse_qs(urlsplit(url).query)["token"][0]


def test_reminder_stores_a_second_link_to_the_same_invitation_and_is_sent_once(world):
    invitation_id = world.invite(language="en")
    world.clock.advance(72 * HOUR - 60)
    assert (world.run().reminded, len(world.mailer.sent)) == (0, 0)

    world.clock.advance(120)
    result = world.run()

    assert (result.reminded, result.items_read) == (1, 1)
    [mail] = world.mailer.sent
    assert mail.to == "1001@example.nl"
    token = token_in(mail.content.text)
    links = world.links_to(invitation_id)
    assert len(links) == 2
    fresh = LinkModel.get(token_hash(token))
    assert fresh.invitation_id == invitation_id
    assert fresh.ttl == SENT_AT + INVITATION_VALIDITY + timedelta(days=get_settings().invitation_retention_days)
    invitation = InvitationModel.get(invitation_id)
    assert (invitation.status, invitation.attempts, invitation.expires_at) == (
        "pending",
        0,
        to_iso(SENT_AT + INVITATION_VALIDITY),
    )
    assert invitation.reminded_at == to_iso(world.clock.now())
    assert invitation.due_at == int((SENT_AT + INVITATION_VALIDITY).timestamp())
    for table in (InvitationModel, LinkModel, EmployeeModel):
        assert all(token not in json.dumps(item.to_simple_dict()) for item in table.scan())

    again = world.run()
    assert (again.reminded, again.items_read) == (0, 0)
    assert len(world.mailer.sent) == 1


def test_the_reminder_is_the_employers_own_text_in_its_language_and_the_standard_one_in_the_others(world):
    own = MailTemplate(
        subject="Nog even, {{ employee_name }}: je uitnodiging van {{ employer_name }} verloopt",
        text="Hoi {{ employee_name }},\n\nJe link werkt nog tot {{ expires_at }}:\n\n{{ activation_url }}\n",
    )
    world.texts().save("acme", MailKind.REMINDER, "nl", own)
    world.invite("1001", language="nl")
    world.invite("1002", language="en")
    world.clock.advance(72 * HOUR + 60)

    result = world.run()

    assert result.reminded == 2
    mails = {mail.to: mail.content for mail in world.mailer.sent}
    assert set(mails) == {"1001@example.nl", "1002@example.nl"}
    dutch, english = mails["1001@example.nl"], mails["1002@example.nl"]
    assert dutch == compose(MailKind.REMINDER, own, _reminder_context(dutch.text, "nl"))
    assert dutch.subject == "Nog even, Jan de Vries: je uitnodiging van Acme B.V. verloopt"
    assert english == compose(
        MailKind.REMINDER, standard(MailKind.REMINDER, "en"), _reminder_context(english.text, "en")
    )
    assert "Nog even" not in english.subject + english.text


def _reminder_context(text: str, language: str) -> MailContext:
    """What the sweep's reminder to World's employee says, with the link the mail carries."""
    [url] = re.findall(r"https://\S+/activate\?token=\S+", text)
    return MailContext("Jan de Vries", "Acme B.V.", url, SENT_AT + INVITATION_VALIDITY, language)


def test_expiry_ends_the_invitation_and_returns_the_employee_and_a_second_run_changes_nothing(world):
    invitation_id = world.invite()
    world.clock.advance(96 * HOUR)

    result = world.run()

    assert (result.expired, result.reminded, result.items_read) == (1, 0, 1)
    invitation = InvitationModel.get(invitation_id)
    assert invitation.status == "expired"
    assert (invitation.due_shard, invitation.due_at) == (None, None)
    assert invitation.ended_at == to_iso(world.clock.now())
    employee = EmployeeModel.get("acme", "1001")
    assert (employee.state, employee.invitation.status) == ("not_activated", "expired")
    before = [i.to_simple_dict() for m in (InvitationModel, EmployeeModel, LinkModel) for i in m.scan()]

    again = world.run()

    assert (again.expired, again.items_read) == (0, 0)
    assert [i.to_simple_dict() for m in (InvitationModel, EmployeeModel, LinkModel) for i in m.scan()] == before
    assert world.mailer.sent == []


def _entry(invitation_id: str, due_at: datetime, status: str = "pending") -> DueInvitation:
    return DueInvitation(invitation_id, "acme", "1001", InvitationStatus(status), SENT_AT + INVITATION_VALIDITY, due_at)


def test_an_activation_in_the_last_second_wins_over_a_stale_index_entry(world):
    invitation_id = world.invite()
    world.clock.advance(96 * HOUR - 1)
    world.activate(invitation_id)
    world.clock.advance(1)
    stale = _entry(invitation_id, SENT_AT + INVITATION_VALIDITY)  # as the index showed it a moment ago

    with pytest.raises(StaleStateError):
        world.store.expire(stale, world.clock.now())

    assert InvitationModel.get(invitation_id).status == "used"
    employee = EmployeeModel.get("acme", "1001")
    assert (employee.state, employee.invitation.status) == ("active", "used")
    assert world.run().items_read == 0  # the used invitation left the index


def test_the_sweep_cannot_expire_before_expiresAt(world):
    invitation_id = world.invite()
    world.clock.advance(96 * HOUR - 1)

    with pytest.raises(StaleStateError):
        world.store.expire(_entry(invitation_id, SENT_AT), world.clock.now())

    assert InvitationModel.get(invitation_id).status == "pending"


def test_an_invitation_its_employee_does_not_hold_expires_alone(world):
    invitation_id = world.invite()
    EmployeeModel("acme", "1001").update(actions=[EmployeeModel.invitation.invitation_id.set("inv-other")])  # type: ignore[attr-defined]
    world.clock.advance(96 * HOUR)

    assert world.run().expired == 1

    assert InvitationModel.get(invitation_id).status == "expired"
    employee = EmployeeModel.get("acme", "1001")
    assert (employee.state, employee.invitation.invitation_id) == ("invited", "inv-other")
    assert world.run().items_read == 0


def test_two_runs_at_once_expire_and_remind_once(world):
    world.invite("1001")
    expiring = world.invite("1002")
    InvitationModel(expiring).update(
        actions=[
            InvitationModel.expires_at.set(to_iso(SENT_AT + timedelta(hours=72))),
            InvitationModel.due_at.set(int((SENT_AT + timedelta(hours=48)).timestamp())),
        ]
    )
    world.clock.advance(72 * HOUR)
    # Run A reads the index; run B does all the work; then A acts on what it read.
    pages = list(world.store.due(world.clock.now()))
    assert sum(len(p.entries) for p in pages) == 2

    b = world.run()
    a = world.service(_Replay(world.store, pages)).run()

    assert (b.reminded, b.expired) == (1, 1)
    assert (a.reminded, a.expired, a.skipped) == (0, 0, 2)
    assert len(world.mailer.sent) == 1
    assert len(world.links_to("inv-1001")) == 2


class _Replay:
    def __init__(self, store: DynamoSweepStore, pages: list[Any]) -> None:
        self._store, self._pages = store, pages

    def due(self, now: datetime) -> Iterator[Any]:
        return iter(self._pages)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def test_a_mail_that_is_not_sent_takes_the_claim_back(world):
    invitation_id = world.invite()
    world.clock.advance(72 * HOUR)
    world.mailer.refuse = True

    result = world.run()

    assert (result.reminded, result.failed) == (0, 1)
    assert len(world.links_to(invitation_id)) == 1
    invitation = InvitationModel.get(invitation_id)
    assert invitation.reminded_at is None
    assert invitation.due_at == int((SENT_AT + timedelta(hours=72)).timestamp())
    world.mailer.refuse = False
    assert world.run().reminded == 1


def test_a_locked_invitation_is_not_reminded_and_not_read_again_before_its_expiry(world):
    invitation_id = world.invite(status="locked")
    world.clock.advance(72 * HOUR)

    result = world.run()

    assert (result.reminded, result.deferred) == (0, 1)
    assert len(world.links_to(invitation_id)) == 1
    assert world.run().items_read == 0
    world.clock.advance(24 * HOUR)
    assert world.run().expired == 1


def test_index_keys_spread_over_the_configured_shards():
    shards = {due_shard(f"inv-{n}", get_settings().due_shards) for n in range(2000)}
    assert shards == {str(s) for s in range(get_settings().due_shards)}


def test_20000_employees_of_whom_10_are_due_cost_about_one_item_read_per_expired_invitation(aws):
    population = populate(20_000, 10, now=SENT_AT)

    result = run_sweep(now=SENT_AT)

    assert result.expired == 10
    assert result.items_read / result.expired == pytest.approx(1.0, abs=0.1)
    assert {i.invitation_id for i in InvitationModel.scan(InvitationModel.status == "expired")} == set(population.due)
    again = run_sweep(now=SENT_AT)
    assert (again.expired, again.items_read) == (0, 0)


# ---------------------------------------------------------------- the handler


def test_the_handler_sends_the_reminder_by_ses_and_answers_its_counts(world, clock, capsys):
    world.invite("1001", language="en")
    world.invite("1002")
    InvitationModel("inv-1002").update(actions=[InvitationModel.due_at.set(int(SENT_AT.timestamp()))])
    clock.advance(72 * HOUR)
    InvitationModel("inv-1002").update(actions=[InvitationModel.expires_at.set(to_iso(clock.now()))])

    answer = load_function("expire_invites").handler({"detail-type": "Scheduled Event"}, LambdaContext())

    assert answer | {"durationMs": 0} == {
        "expired": 1,
        "reminded": 1,
        "deferred": 0,
        "skipped": 0,
        "failed": 0,
        "itemsRead": 2,
        "complete": True,
        "durationMs": 0,
    }
    [sent] = ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages
    assert "1001@example.nl" in sent.destinations
    assert "/activate?token=" in sent.raw_data
    output = capsys.readouterr().out
    for metric in ("InvitationsExpired", "RemindersSent", "SweepDurationMs"):
        assert f'"{metric}"' in output
