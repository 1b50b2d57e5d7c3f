"""The standard invitation and reminder mails, in Dutch and English, as the employee receives them."""

from datetime import UTC, datetime, timedelta

import pytest

from werknemerloket.clock import FixedClock
from werknemerloket.mail.formatting import format_moment
from werknemerloket.mail.message import MailContext, MailKind
from werknemerloket.mail.texts import MailTexts

from .fake_templates import FakeTemplateStore

EXPIRES = datetime(2026, 12, 8, 15, 20, tzinfo=UTC)  # 16:20 in Amsterdam (winter time)
LINK = "https://werknemer.example.test/activate?token=abcDEF123_-"


def context(language: str = "nl", **changes: object) -> MailContext:
    values: dict[str, object] = {
        "employee_name": "Jan de Vries",
        "employer_name": "Acme B.V.",
        "activation_url": LINK,
        "expires_at": EXPIRES,
        "language": language,
    }
    return MailContext(**(values | changes))  # type: ignore[arg-type]


@pytest.fixture
def store() -> FakeTemplateStore:
    return FakeTemplateStore()


@pytest.fixture
def texts(store: FakeTemplateStore) -> MailTexts:
    return MailTexts(store, clock=FixedClock(EXPIRES - timedelta(hours=96)))


# ---------------------------------------------------------------- moments


@pytest.mark.parametrize(
    ("moment", "language", "expected"),
    [
        (EXPIRES, "nl", "dinsdag 8 december 2026 om 16:20"),
        (EXPIRES, "en", "Tuesday 8 December 2026 at 16:20 (Amsterdam time)"),
        (datetime(2026, 7, 1, 10, 5, tzinfo=UTC), "nl", "woensdag 1 juli 2026 om 12:05"),  # summer time
        (datetime(2027, 3, 28, 0, 59, tzinfo=UTC), "nl", "zondag 28 maart 2027 om 01:59"),  # just before DST
        (datetime(2027, 3, 28, 1, 0, tzinfo=UTC), "en", "Sunday 28 March 2027 at 03:00 (Amsterdam time)"),
        (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "nl", "vrijdag 1 januari 2027 om 00:30"),  # next day there
    ],
)
def test_moments_are_written_as_a_reader_of_the_language_expects_in_amsterdam_time(moment, language, expected):
    assert format_moment(moment, language) == expected


def test_a_moment_without_a_time_zone_is_refused_rather_than_guessed():
    with pytest.raises(ValueError, match="aware"):
        format_moment(datetime(2026, 12, 8, 15, 20), "nl")


# ---------------------------------------------------------------- the invitation


def test_dutch_invitation_names_employer_and_employee_and_says_until_when_the_link_works(texts):
    mail = texts.render(MailKind.INVITATION, "acme", context("nl"))

    assert mail.subject == "Acme B.V. geeft je toegang tot het Werknemerloket"
    assert mail.text.startswith("Beste Jan de Vries,\n\n")
    assert f"\n\n{LINK}\n\n" in mail.text
    assert "De link is 4 dagen geldig, tot dinsdag 8 december 2026 om 16:20." in mail.text
    assert "eerder" not in mail.text  # not a resent mail
    assert '<html lang="nl">' in mail.html
    assert "Beste Jan de Vries," in mail.html
    assert "tot dinsdag 8 december 2026 om 16:20" in mail.html
    assert f'href="{LINK}"' in mail.html
    assert ">Account activeren</a>" in mail.html


def test_english_invitation_reads_as_english_with_amsterdam_time(texts):
    mail = texts.render(MailKind.INVITATION, "acme", context("en"))

    assert mail.subject == "Acme B.V. invites you to the Werknemerloket employee portal"
    assert mail.text.startswith("Dear Jan de Vries,\n\n")
    assert LINK in mail.text
    assert "valid for 4 days, until Tuesday 8 December 2026 at 16:20 (Amsterdam time)." in mail.text
    assert '<html lang="en">' in mail.html
    assert ">Activate your account</a>" in mail.html
    assert "Beste" not in mail.text + mail.html


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("kind", list(MailKind))
def test_every_standard_mail_is_complete_and_well_formed(texts, kind, language):
    mail = texts.render(kind, "acme", context(language))

    assert "\n" not in mail.subject
    assert mail.subject.strip() == mail.subject
    assert "{{" not in mail.subject + mail.text + mail.html
    assert mail.text.endswith("\n")
    assert not mail.text.endswith("\n\n")
    assert LINK in mail.text
    assert mail.html.startswith("<!DOCTYPE html>")
    assert mail.html.rstrip().endswith("</html>")
    assert f"<title>{mail.subject}</title>" in mail.html


def test_html_escapes_an_employee_name_and_employer_name_that_the_text_part_shows_as_written(texts):
    mail = texts.render(
        MailKind.INVITATION,
        "acme",
        context("nl", employee_name="<b>Jan</b>", employer_name='Smit & Zn "<script>alert(1)</script>"'),
    )

    assert "<b>Jan</b>" not in mail.html
    assert "Beste &lt;b&gt;Jan&lt;/b&gt;," in mail.html
    assert "<script>" not in mail.html
    assert "Smit &amp; Zn &#34;&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in mail.html
    # plain text and the subject are not HTML: the names read exactly as they were registered
    assert mail.text.startswith("Beste <b>Jan</b>,")
    assert mail.subject.startswith('Smit & Zn "<script>alert(1)</script>" geeft')


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        (
            "nl",
            "Deze e-mail vervangt de uitnodiging die je eerder kreeg; de link in die eerdere e-mail werkt niet meer.",
        ),
        ("en", "This e-mail replaces the invitation you received earlier; the link in that e-mail no longer works."),
    ],
)
def test_a_resent_invitation_says_first_that_it_replaces_the_earlier_one(texts, language, sentence):
    mail = texts.render(MailKind.INVITATION, "acme", context(language, resent=True))

    assert mail.text.startswith(f"{sentence}\n\n")
    assert sentence in mail.html
    assert mail.html.index(sentence) < mail.html.index(LINK)


# ---------------------------------------------------------------- the reminder


def test_dutch_reminder_says_until_when_the_invitation_is_valid_with_the_fresh_link(texts):
    fresh = "https://werknemer.example.test/activate?token=fresh"
    mail = texts.render(MailKind.REMINDER, "acme", context("nl", activation_url=fresh))

    assert mail.subject == "Herinnering: activeer je toegang tot het Werknemerloket van Acme B.V."
    assert "Je uitnodiging is nog geldig tot dinsdag 8 december 2026 om 16:20." in mail.text
    assert f"\n\n{fresh}\n\n" in mail.text
    assert f'href="{fresh}"' in mail.html
    assert LINK not in mail.text + mail.html


def test_english_reminder_says_until_when_the_invitation_is_valid(texts):
    mail = texts.render(MailKind.REMINDER, "acme", context("en"))

    assert mail.subject == "Reminder: activate your access to the Acme B.V. Werknemerloket"
    assert "Your invitation is valid until Tuesday 8 December 2026 at 16:20 (Amsterdam time)." in mail.text


def test_a_reminder_with_a_link_that_replaces_the_earlier_one_says_so(texts):
    mail = texts.render(MailKind.REMINDER, "acme", context("nl", resent=True))

    assert mail.text.startswith(
        "De link in deze herinnering vervangt die uit je eerdere e-mail; die link werkt niet meer."
    )


# ---------------------------------------------------------------- reading


def test_rendering_reads_the_store_once_and_uses_the_standard_text_when_the_employer_has_none(texts, store):
    mail = texts.render(MailKind.INVITATION, "acme", context("nl"))

    assert store.reads == 1
    assert mail.subject == "Acme B.V. geeft je toegang tot het Werknemerloket"


def test_unknown_language_is_a_programming_error_not_a_silent_fallback(texts):
    with pytest.raises(ValueError, match="language"):
        texts.render(MailKind.INVITATION, "acme", context("de"))
