"""An in-memory TemplateStore that counts its reads, for the mail-text tests."""

from __future__ import annotations

from datetime import datetime

from werknemerloket.mail.message import MailKind, MailTemplate


class FakeTemplateStore:
    def __init__(self) -> None:
        self.items: dict[tuple[str, MailKind, str], MailTemplate] = {}
        self.reads = 0

    def get(self, employer_id: str, kind: MailKind, language: str) -> MailTemplate | None:
        self.reads += 1
        return self.items.get((employer_id, kind, language))

    def put(self, employer_id: str, kind: MailKind, language: str, template: MailTemplate, now: datetime) -> None:
        self.items[(employer_id, kind, language)] = template

    def delete(self, employer_id: str, kind: MailKind, language: str) -> None:
        self.items.pop((employer_id, kind, language), None)
