"""The JSON shapes of the employer API. Routes declare these, so the OpenAPI document is generated
from the same models that validate requests and shape responses."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic.alias_generators import to_camel

from werknemerloket.clock import get_clock, to_iso
from werknemerloket.domain.entities import AccessStatus, Employee, EmployeeProfile, Employer

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _deliverable_address(value: str) -> str:
    """A syntactically valid address, in the ASCII form SES sends to (IDN domains as xn--)."""
    try:
        valid = validate_email(value, check_deliverability=False)
    except EmailNotValidError as error:
        raise ValueError(f"is not a valid e-mail address: {error}") from None
    if valid.ascii_email is None:
        raise ValueError("must have an ASCII part before the @ (the mail service cannot deliver to others)")
    return valid.ascii_email


def _past_date(value: str) -> date:
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise ValueError("is not a real date") from None
    if parsed >= get_clock().now().date():
        raise ValueError("must lie in the past")
    if parsed.year < 1900:
        raise ValueError("must not lie before 1900")
    return parsed


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_no_control_characters)
]
Language = Literal["nl", "en"]
Timestamp = Annotated[str, Field(description="ISO 8601 UTC, whole seconds", examples=["2026-12-08T15:20:00Z"])]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class EmployerIn(ApiModel):
    name: Name = Field(description="Shown in the mails and pages the employees see.", examples=["Acme B.V."])


class EmployerOut(ApiModel):
    employer_id: str
    name: str

    @classmethod
    def of(cls, employer: Employer) -> EmployerOut:
        return cls(employer_id=employer.employer_id, name=employer.name)


class EmployeeIn(ApiModel):
    name: Name = Field(examples=["Jan de Vries"])
    email: Annotated[str, Field(max_length=254), AfterValidator(_deliverable_address)] | None = Field(
        default=None,
        description="Needed before access can be granted; a private address is advised. Absent or null: none.",
        examples=["jan@example.nl"],
    )
    date_of_birth: Annotated[
        str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["1990-05-17"]), AfterValidator(_past_date)
    ] = Field(description="YYYY-MM-DD, a real date in the past. Never returned by any endpoint.")
    language: Language = Field(default="nl", description="Language of the mails and pages the employee sees.")

    def profile(self) -> EmployeeProfile:
        dob = self.date_of_birth
        assert isinstance(dob, date)  # the validator turned the text into a date
        return EmployeeProfile(name=self.name, email=self.email, date_of_birth=dob, language=self.language)


class InvitationOut(ApiModel):
    status: Literal["pending", "locked", "expired", "revoked", "used"]
    sent_at: Timestamp
    expires_at: Timestamp
    send_count: int


class AccessOut(ApiModel):
    status: AccessStatus
    invitation: InvitationOut | None = Field(
        description="The latest invitation in whatever state; null when none was ever sent."
    )
    activated_at: Timestamp | None


class EmployeeOut(ApiModel):
    employer_id: str
    employee_id: str
    name: str
    email: str | None
    language: Language
    access: AccessOut

    @classmethod
    def of(cls, employee: Employee) -> EmployeeOut:
        """The employee as the employer sees it now: states are exact at the second."""
        now = get_clock().now()
        invitation = employee.invitation
        return cls(
            employer_id=employee.employer_id,
            employee_id=employee.employee_id,
            name=employee.profile.name,
            email=employee.profile.email,
            language=employee.profile.language,  # type: ignore[arg-type]
            access=AccessOut(
                status=employee.access_status_at(now),
                invitation=None
                if invitation is None
                else InvitationOut(
                    status=invitation.status_at(now).value,  # type: ignore[arg-type]
                    sent_at=to_iso(invitation.sent_at),
                    expires_at=to_iso(invitation.expires_at),
                    send_count=invitation.send_count,
                ),
                activated_at=to_iso(employee.activated_at) if employee.activated_at else None,
            ),
        )


class EmployeeList(ApiModel):
    items: list[EmployeeOut]
    next_token: str | None = Field(description="Pass as `nextToken` to get the next page; null on the last page.")
