"""The SES gateway under moto: one multipart/alternative mail with proper headers, or MailNotSentError."""

import email
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from werknemerloket.clock import FixedClock, get_clock, set_clock
from werknemerloket.errors import MailNotSentError
from werknemerloket.mail import gateway
from werknemerloket.mail.gateway import SesMailer
from werknemerloket.mail.message import MailContent

SENDER = "Werknemerloket <noreply@werknemerloket.test>"
TO = "zoe@example.nl"
CONTENT = MailContent(
    subject="Zoë, je toegang tot het Werknemerloket van Bakkerij Één",
    text="Beste Zoë,\n\nActiveer je account:\n\nhttps://werknemer.example.test/activate?token=abc\n",
    html='<!DOCTYPE html><html lang="nl"><body><p>Beste Zoë,</p>' + "<p>lang</p>" * 200 + "</body></html>",
)
SENT_AT = datetime(2026, 12, 4, 15, 20, 7, tzinfo=UTC)


@pytest.fixture
def ses():
    with mock_aws():
        gateway._ses.cache_clear()
        previous = get_clock()
        set_clock(FixedClock(SENT_AT))
        try:
            yield boto3.client("ses", region_name="eu-west-1")
        finally:
            set_clock(previous)
            gateway._ses.cache_clear()


def sent_messages() -> list:
    return ses_backends[DEFAULT_ACCOUNT_ID]["eu-west-1"].sent_messages


def test_one_mail_with_a_plain_text_and_an_html_part_and_proper_headers(ses):
    ses.verify_email_identity(EmailAddress="noreply@werknemerloket.test")

    SesMailer(SENDER).send(TO, CONTENT)

    [sent] = sent_messages()
    assert sent.source == SENDER
    assert TO in sent.destinations
    mail = email.message_from_string(sent.raw_data, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail["From"] == SENDER
    assert mail["To"] == TO
    assert mail["Subject"] == CONTENT.subject  # decoded from its RFC 2047 encoding
    assert "=?utf-8?" in sent.raw_data  # the non-ASCII subject travels encoded
    assert mail["Date"].datetime == SENT_AT  # the injected clock
    assert mail["Message-ID"].endswith("@werknemerloket.test>")
    assert mail["MIME-Version"] == "1.0"
    assert mail.get_content_type() == "multipart/alternative"
    plain, html = mail.iter_parts()
    assert (plain.get_content_type(), plain.get_content_charset()) == ("text/plain", "utf-8")
    assert (html.get_content_type(), html.get_content_charset()) == ("text/html", "utf-8")
    assert plain["Content-Transfer-Encoding"] == html["Content-Transfer-Encoding"] == "quoted-printable"
    assert sent.raw_data.isascii()
    assert max(len(line) for line in sent.raw_data.splitlines()) <= 78
    assert plain.get_content().replace("\r\n", "\n") == CONTENT.text
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == CONTENT.html


def test_every_mail_has_its_own_message_id(ses):
    ses.verify_email_identity(EmailAddress="noreply@werknemerloket.test")
    mailer = SesMailer(SENDER)

    mailer.send(TO, CONTENT)
    mailer.send(TO, CONTENT)

    ids = {email.message_from_string(m.raw_data)["Message-ID"] for m in sent_messages()}
    assert len(ids) == 2


def test_a_sender_ses_refuses_gives_mail_not_sent_naming_no_address(ses):
    with pytest.raises(MailNotSentError) as error:
        SesMailer(SENDER).send(TO, CONTENT)

    assert error.value.code == "MAIL_NOT_SENT"
    assert "MessageRejected" in error.value.message
    assert "@" not in error.value.message
    assert error.value.__cause__ is None  # SES's own message, which names addresses, is not chained
    assert sent_messages() == []


def test_an_unreachable_mail_service_gives_mail_not_sent(ses, monkeypatch):
    class Unreachable:
        def send_raw_email(self, **_: object) -> None:
            raise EndpointConnectionError(endpoint_url="https://email.eu-west-1.amazonaws.com")

    monkeypatch.setattr(gateway, "_ses", lambda: Unreachable())

    with pytest.raises(MailNotSentError, match="could not be reached"):
        SesMailer(SENDER).send(TO, CONTENT)


def test_the_client_is_made_once_per_process(ses):
    assert gateway._ses() is gateway._ses()
