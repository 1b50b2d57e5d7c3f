"""Employers' own mail texts over HTTP against the local stack, read back from the mail actually sent."""

from __future__ import annotations

from typing import Any

import pytest

from tests.activation_helpers import Employer

DUTCH_TEXT = {
    "subject": "Welkom bij {{ employer_name }}, {{ employee_name }}",
    "text": "Hoi {{ employee_name }},\n\nWelkom!\n\n{{ activation_url }}\n\nGeldig tot {{ expires_at }}.",
}
NAME = 'Bakkerij "Één" <i>&</i> Zn'


def template_path(employer: Employer, kind: str = "invitation", language: str = "nl") -> str:
    return f"/employers/{employer.employer_id}/email-templates/{kind}/{language}"


def call(employer: Employer, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """A template route as `employer`'s admin: its status and body."""
    reply = employer.call(method, path, **({} if body is None else {"json": body}))
    return reply.status, reply.body


def only_mail(employer: Employer, employee_id: str) -> dict[str, Any]:
    """The one mail the employee received, its text with the line ends a reader sees (MIME sends CRLF)."""
    [mail] = employer.mails(employee_id)
    return mail | {"text": mail["text"].replace("\r\n", "\n")}


@pytest.fixture
def employer(stack: Any) -> Employer:
    return Employer(stack, name=NAME)


def test_a_dutch_custom_text_reaches_dutch_employees_and_english_ones_get_the_standard_text(employer):
    status, stored = call(employer, "PUT", template_path(employer, "invitation", "nl"), DUTCH_TEXT)
    assert status == 200
    assert stored == {"kind": "invitation", "language": "nl", "html": None, "custom": True, **DUTCH_TEXT}
    employer.employee("1001", name="<b>Jan</b>", language="nl")
    employer.employee("1002", name="Jane <Smith>", language="en")

    employer.grant("1001")
    employer.grant("1002")

    dutch, english = only_mail(employer, "1001"), only_mail(employer, "1002")
    assert dutch["subject"] == 'Welkom bij Bakkerij "Één" <i>&</i> Zn, <b>Jan</b>'
    assert dutch["text"].startswith("Hoi <b>Jan</b>,\n\nWelkom!\n\nhttp")
    assert "Hoi &lt;b&gt;Jan&lt;/b&gt;," in dutch["html"]
    assert "<b>Jan</b>" not in dutch["html"]
    assert "Bakkerij &#34;Één&#34; &lt;i&gt;&amp;&lt;/i&gt; Zn" in dutch["html"]
    assert "<i>&</i>" not in dutch["html"]
    assert english["subject"] == 'Bakkerij "Één" <i>&</i> Zn invites you to the Werknemerloket employee portal'
    assert english["text"].startswith("Dear Jane <Smith>,")
    assert "Dear Jane &lt;Smith&gt;," in english["html"]


def test_reading_storing_and_deleting_a_text(employer):
    path = template_path(employer, "reminder", "en")
    status, standard = call(employer, "GET", path)
    assert status == 200
    assert (standard["kind"], standard["language"], standard["custom"], standard["html"]) == (
        "reminder",
        "en",
        False,
        None,
    )
    assert "{{ activation_url }}" in standard["text"]

    own = {
        "subject": "Reminder from {{ employer_name }}",
        "text": "{{ activation_url }}",
        "html": "<p>{{ activation_url }}</p>",
    }
    assert call(employer, "PUT", path, own) == (200, {"kind": "reminder", "language": "en", "custom": True, **own})
    assert call(employer, "GET", path) == (200, {"kind": "reminder", "language": "en", "custom": True, **own})

    assert call(employer, "DELETE", path) == (200, standard)
    assert call(employer, "GET", path) == (200, standard)
    assert call(employer, "DELETE", path) == (200, standard)


def test_preview_renders_a_draft_with_sample_data_and_stores_nothing(employer):
    status, preview = call(employer, "POST", f"{template_path(employer)}/preview", DUTCH_TEXT)

    assert status == 200
    assert preview["subject"].startswith("Welkom bij ")
    assert "{{" not in preview["text"]
    assert "/activate?token=" in preview["text"]
    assert preview["html"].startswith("<!DOCTYPE html>")
    assert call(employer, "GET", template_path(employer))[1]["custom"] is False

    status, in_force = call(employer, "POST", f"{template_path(employer)}/preview")
    assert status == 200
    assert in_force["subject"].endswith("geeft je toegang tot het Werknemerloket")


@pytest.mark.parametrize(
    ("draft", "detail"),
    [
        ({"subject": "Hoi", "text": "Hoi\n\n{{ activation_url }\n"}, {"field": "body.text", "line": 3}),
        (
            {"subject": "Hoi {{ voornaam }}", "text": "{{ activation_url }}"},
            {"field": "body.subject", "variable": "voornaam"},
        ),
        ({"subject": "Hoi", "text": "Log in op de website."}, {"field": "body.text", "variable": "activation_url"}),
        (
            {"subject": "Hoi", "text": "{{ ''.__class__.__mro__ }} {{ activation_url }}"},
            {"field": "body.text", "line": 1},
        ),
    ],
)
def test_an_invalid_text_is_refused_saying_what_and_where(employer, draft, detail):
    for method, path in (("PUT", template_path(employer)), ("POST", f"{template_path(employer)}/preview")):
        status, body = call(employer, method, path, draft)

        assert (status, body["error"]["code"]) == (422, "TEMPLATE_INVALID")
        assert detail.items() <= body["error"]["details"][0].items()
    assert call(employer, "GET", template_path(employer))[1]["custom"] is False


def test_another_employers_texts_are_unreachable(stack, employer):
    assert call(employer, "PUT", template_path(employer), DUTCH_TEXT)[0] == 200
    other = Employer(stack, name="Globex")

    for method, suffix, body in (
        ("GET", "", None),
        ("PUT", "", DUTCH_TEXT),
        ("DELETE", "", None),
        ("POST", "/preview", None),
    ):
        status, answer = call(other, method, template_path(employer) + suffix, body)
        assert (status, answer["error"]["code"]) == (403, "FORBIDDEN")

    assert call(other, "GET", template_path(other))[1]["custom"] is False
    assert call(employer, "GET", template_path(employer))[1]["custom"] is True


def test_unknown_kinds_and_languages_are_not_found(employer):
    for path in (template_path(employer, "welcome", "nl"), template_path(employer, "invitation", "de")):
        status, body = call(employer, "GET", path)
        assert (status, body["error"]["code"]) == (404, "TEMPLATE_NOT_FOUND")
