"""The plain values of a mail: what kind it is, what goes into it and what comes out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

LANGUAGES = ("nl", "en")


class MailKind(StrEnum):
    INVITATION = "invitation"
    REMINDER = "reminder"


@dataclass(frozen=True)
class MailContent:
    """A rendered mail: one subject line, a plain-text part and an HTML part."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class MailContext:
    """What a mail text may say about one employee's invitation."""

    employee_name: str
    employer_name: str
    activation_url: str
    expires_at: datetime  # aware, UTC
    language: str  # "nl" or "en"
    resent: bool = False  # the mail replaces an earlier one whose link no longer works


@dataclass(frozen=True)
class MailTemplate:
    """The source of a mail text: jinja2 templates over the variables of `custom.TEMPLATE_VARIABLES`.
    Without `html`, the HTML part is made from the text."""

    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class TemplateInForce:
    """The text an employer's mails of one kind and language use now."""

    kind: MailKind
    language: str
    template: MailTemplate
    custom: bool
