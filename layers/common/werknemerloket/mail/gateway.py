"""The SES gateway: one multipart/alternative mail per call, sent with `SendRawEmail`."""

from __future__ import annotations

from datetime import UTC
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from werknemerloket.clock import get_clock
from werknemerloket.errors import MailNotSentError
from werknemerloket.mail.message import MailContent
from werknemerloket.observability import logger


@cache
def _ses() -> Any:
    """One client per process, made on first use so that importing costs no client set-up."""
    return boto3.client(
        "ses",
        config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=5),
    )


class SesMailer:
    def __init__(self, sender: str):
        self._sender = sender
        self._domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"

    def message(self, to: str, content: MailContent) -> EmailMessage:
        """The MIME mail: a plain-text part, then the HTML part, both UTF-8 and quoted-printable, so
        the raw mail is 7-bit with short lines whatever an employer's HTML looks like."""
        mail = EmailMessage(policy=SMTP)
        mail["From"] = self._sender
        mail["To"] = to
        mail["Subject"] = content.subject
        mail["Date"] = format_datetime(get_clock().now().astimezone(UTC), usegmt=True)
        mail["Message-ID"] = make_msgid(domain=self._domain)
        mail.set_content(content.text, subtype="plain", charset="utf-8", cte="quoted-printable")
        mail.add_alternative(content.html, subtype="html", charset="utf-8", cte="quoted-printable")
        return mail

    def send(self, to: str, content: MailContent) -> None:
        raw = self.message(to, content).as_bytes()
        try:
            _ses().send_raw_email(Source=self._sender, Destinations=[to], RawMessage={"Data": raw})
        except ClientError as error:
            # SES messages can name addresses; only the error code is passed on or logged.
            code = error.response.get("Error", {}).get("Code", "Unknown")
            logger.warning("SES did not take the mail", extra={"sesError": code})
            raise MailNotSentError(f"The mail service refused the mail ({code}).") from None
        except BotoCoreError as error:
            logger.warning("SES could not be reached", extra={"sesError": type(error).__name__})
            raise MailNotSentError("The mail service could not be reached.") from None
