"""In-memory stand-ins for the repositories and gateways, with the same guarded-write semantics."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from werknemerloket.domain.entities import (
    OPEN_STATUSES,
    AccessStatus,
    Employee,
    EmployeeProfile,
    Employer,
    Invitation,
    InvitationStatus,
)
from werknemerloket.domain.ports import MailingRead, StaleStateError
from werknemerloket.errors import MailNotSentError
from werknemerloket.mail.message import MailContent, MailContext, MailKind, MailTemplate, TemplateInForce
from werknemerloket.mail.texts import in_force


class FakeEmployers:
    def __init__(self) -> None:
        self.items: dict[str, Employer] = {}

    def put(self, employer: Employer, now: datetime) -> Employer:
        self.items[employer.employer_id] = employer
        return employer

    def get(self, employer_id: str) -> Employer | None:
        return self.items.get(employer_id)


class FakeEmployees:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Employee] = {}

    def save_profile(self, employer_id: str, employee_id: str, profile: EmployeeProfile, now: datetime) -> Employee:
        current = self.items.get((employer_id, employee_id))
        employee = (
            replace(current, profile=profile)
            if current
            else Employee(employer_id, employee_id, profile, AccessStatus.NOT_ACTIVATED)
        )
        self.items[(employer_id, employee_id)] = employee
        return employee

    def get(self, employer_id: str, employee_id: str) -> Employee | None:
        return self.items.get((employer_id, employee_id))

    def page(
        self, employer_id: str, status: AccessStatus | None, now: datetime, limit: int, after: str | None
    ) -> tuple[list[Employee], str | None]:
        ids = sorted(e for (r, e) in self.items if r == employer_id and (after is None or e > after))
        matching = [
            self.items[(employer_id, e)]
            for e in ids
            if status is None or self.items[(employer_id, e)].access_status_at(now) is status
        ]
        page = matching[:limit]
        return page, (page[-1].employee_id if len(matching) > limit else None)


@dataclass
class FakeInvitations:
    """Keeps employees, invitations and links together, checking the same conditions DynamoDB would."""

    employees: FakeEmployees
    employers: FakeEmployers
    invitations: dict[str, Invitation] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    own_texts: dict[tuple[str, MailKind, str], MailTemplate] = field(default_factory=dict)

    def employee_with_employer(self, employer_id: str, employee_id: str) -> tuple[Employee | None, Employer | None]:
        return self.employees.get(employer_id, employee_id), self.employers.get(employer_id)

    def read(self, employer_id: str, employee_id: str, kind: MailKind) -> MailingRead:
        employee = self.employees.get(employer_id, employee_id)
        if employee is None:
            return MailingRead(None, None, {})
        texts = {language: t for (e, k, language), t in self.own_texts.items() if (e, k) == (employer_id, kind)}
        return MailingRead(employee, self.employers.get(employer_id), texts)

    def _check_unchanged(self, employee: Employee) -> None:
        current = self.employees.get(employee.employer_id, employee.employee_id)
        if current is None or current.state != employee.state or current.invitation != employee.invitation:
            raise StaleStateError("employee changed")

    def _set(self, employee: Employee, **changes: object) -> None:
        self.employees.items[(employee.employer_id, employee.employee_id)] = replace(employee, **changes)  # type: ignore[arg-type]

    def open(self, employee: Employee, invitation: Invitation, token_hash: str, now: datetime) -> None:
        self._check_unchanged(employee)
        previous = employee.invitation
        if previous is not None and previous.status in OPEN_STATUSES:
            self.invitations[previous.invitation_id] = replace(
                self.invitations[previous.invitation_id], status=InvitationStatus.EXPIRED
            )
        self.invitations[invitation.invitation_id] = invitation
        self.links[token_hash] = invitation.invitation_id
        self._set(employee, state=AccessStatus.INVITED, invitation=invitation.summary())

    def replace(self, employee: Employee, new: Invitation, token_hash: str, now: datetime) -> None:
        self._check_unchanged(employee)
        assert employee.invitation is not None
        old = self.invitations[employee.invitation.invitation_id]
        if old.status_at(now) not in OPEN_STATUSES:
            raise StaleStateError("not open")
        self.invitations[old.invitation_id] = replace(old, status=InvitationStatus.REPLACED)
        self.invitations[new.invitation_id] = new
        self.links[token_hash] = new.invitation_id
        self._set(employee, invitation=new.summary())

    def revoke(self, employee: Employee, now: datetime) -> None:
        self._check_unchanged(employee)
        assert employee.invitation is not None
        old = self.invitations[employee.invitation.invitation_id]
        if old.status_at(now) not in OPEN_STATUSES:
            raise StaleStateError("not open")
        self.invitations[old.invitation_id] = replace(old, status=InvitationStatus.REVOKED)
        self._set(
            employee,
            state=AccessStatus.NOT_ACTIVATED,
            invitation=replace(employee.invitation, status=InvitationStatus.REVOKED),
        )

    def undo_open(self, before: Employee, invitation: Invitation, token_hash: str) -> None:
        del self.links[token_hash]
        del self.invitations[invitation.invitation_id]
        self.employees.items[(before.employer_id, before.employee_id)] = before

    def undo_replace(self, before: Employee, new: Invitation, token_hash: str) -> None:
        assert before.invitation is not None
        del self.links[token_hash]
        del self.invitations[new.invitation_id]
        old = self.invitations[before.invitation.invitation_id]
        self.invitations[old.invitation_id] = replace(old, status=before.invitation.status)
        self.employees.items[(before.employer_id, before.employee_id)] = before


@dataclass
class SentMail:
    to: str
    content: MailContent


@dataclass
class FakeMailer:
    sent: list[SentMail] = field(default_factory=list)
    refuse: bool = False

    def send(self, to: str, content: MailContent) -> None:
        if self.refuse:
            raise MailNotSentError("The mail service refused the mail.")
        self.sent.append(SentMail(to, content))


@dataclass
class RecordingTexts:
    """Renders a mail that shows exactly which context it was given."""

    contexts: list[tuple[MailKind, MailContext]] = field(default_factory=list)
    texts_in_force: list[TemplateInForce] = field(default_factory=list)

    def render(self, kind: MailKind, employer_id: str, context: MailContext) -> MailContent:
        return self.render_in_force(in_force(kind, context.language, None), context)

    def render_in_force(self, text: TemplateInForce, context: MailContext) -> MailContent:
        self.contexts.append((text.kind, context))
        self.texts_in_force.append(text)
        return MailContent(
            subject=f"{text.kind.value} for {context.employee_name}",
            text=context.activation_url,
            html=f"<a href='{context.activation_url}'>link</a>",
        )
