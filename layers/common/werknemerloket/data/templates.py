"""Employers' own mail texts on DynamoDB: one item per employer, kind and language."""

from __future__ import annotations

from datetime import datetime

from werknemerloket.clock import to_iso
from werknemerloket.data.models import EmailTemplateModel
from werknemerloket.mail.message import MailKind, MailTemplate


def template_key(kind: MailKind, language: str) -> str:
    return f"{kind.value}#{language}"


def template_from_item(item: EmailTemplateModel) -> MailTemplate:
    return MailTemplate(subject=item.subject, text=item.text, html=item.html)


class DynamoTemplateStore:
    def get(self, employer_id: str, kind: MailKind, language: str) -> MailTemplate | None:
        try:
            return template_from_item(
                EmailTemplateModel.get(employer_id, template_key(kind, language), consistent_read=True)
            )
        except EmailTemplateModel.DoesNotExist:
            return None

    def put(self, employer_id: str, kind: MailKind, language: str, template: MailTemplate, now: datetime) -> None:
        EmailTemplateModel(
            employer_id,
            template_key(kind, language),
            subject=template.subject,
            text=template.text,
            html=template.html,
            updated_at=to_iso(now),
        ).save()

    def delete(self, employer_id: str, kind: MailKind, language: str) -> None:
        EmailTemplateModel(employer_id, template_key(kind, language)).delete()
