"""Employers' own mail texts over HTTP against the local stack, read back from the mail actually sent."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

DUTCH_TEXT = {
    "subject": "Welkom bij {{ employer_name }}, {{ employee_name }}",
    "text": "Hoi {{ employee_name }},\n\nWelkom!\n\n{{ activation_url }}\n\nGeldig tot {{ expires_at }}.",
}


class Api:
    """Calls the employer API as one employer's admin."""

    def __init__(self, stack: Any, employer_id: str) -> None:
        self.stack = stack
        self.employer_id = employer_id
        self.token = stack.employer_token(employer_id)

    def call(self, method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
        payload = {} if body is None else {"json": body}
        reply = self.stack.http.request(method, path, token=token or self.token, **payload)
        return reply.status, reply.body

    def template_path(self, kind: str = "invitation", language: str = "nl", employer_id: str | None = None) -> str:
        return f"/employers/{employer_id or self.employer_id}/email-templates/{kind}/{language}"

    def employee(self, employee_id: str, name: str, language: str) -> str:
        email = f"{employee_id}.{self.employer_id}@example.nl".lower()
        status, _ = self.call(
            "PUT",
            f"/employers/{self.employer_id}/employees/{employee_id}",
            {"name": name, "email": email, "dateOfBirth": "1990-05-17", "language": language},
        )
        assert status == 200
        return email

    def grant(self, employee_id: str) -> None:
        status, body = self.call("POST", f"/employers/{self.employer_id}/employees/{employee_id}/access")
        assert status == 201, body


def mail_to(stack: Any, address: str) -> dict[str, Any]:
    """The one mail sent to `address`, its text with the line ends a reader sees (MIME sends CRLF)."""
    [mail] = [m for m in stack.outbox() if m["to"] == address]
    return mail | {"text": mail["text"].replace("\r\n", "\n")}


@pytest.fixture
def api(stack: Any) -> Api:
    employer_id = f"tpl-{uuid.uuid4().hex[:12]}"
    api = Api(stack, employer_id)
    status, _ = api.call("PUT", f"/employers/{employer_id}", {"name": 'Bakkerij "Één" <i>&</i> Zn'})
    assert status == 200
    return api


def test_a_dutch_custom_text_reaches_dutch_employees_and_english_ones_get_the_standard_text(stack, api):
    status, stored = api.call("PUT", api.template_path("invitation", "nl"), DUTCH_TEXT)
    assert status == 200
    assert stored == {"kind": "invitation", "language": "nl", "html": None, "custom": True, **DUTCH_TEXT}
    jan = api.employee("1001", "<b>Jan</b>", "nl")
    jane = api.employee("1002", "Jane <Smith>", "en")

    api.grant("1001")
    api.grant("1002")

    dutch, english = mail_to(stack, jan), mail_to(stack, jane)
    assert dutch["subject"] == 'Welkom bij Bakkerij "Één" <i>&</i> Zn, <b>Jan</b>'
    assert dutch["text"].startswith("Hoi <b>Jan</b>,\n\nWelkom!\n\nhttp")
    assert "Hoi &lt;b&gt;Jan&lt;/b&gt;," in dutch["html"]
    assert "<b>Jan</b>" not in dutch["html"]
    assert "Bakkerij &#34;Één&#34; &lt;i&gt;&amp;&lt;/i&gt; Zn" in dutch["html"]
    assert "<i>&</i>" not in dutch["html"]
    assert english["subject"] == 'Bakkerij "Één" <i>&</i> Zn invites you to the Werknemerloket employee portal'
    assert english["text"].startswith("Dear Jane <Smith>,")
    assert "Dear Jane &lt;Smith&gt;," in english["html"]


def test_reading_storing_and_deleting_a_text(api):
    status, standard = api.call("GET", api.template_path("reminder", "en"))
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
    assert api.call("PUT", api.template_path("reminder", "en"), own)[0] == 200
    assert api.call("GET", api.template_path("reminder", "en")) == (
        200,
        {"kind": "reminder", "language": "en", "custom": True, **own},
    )

    assert api.call("DELETE", api.template_path("reminder", "en")) == (200, standard)
    assert api.call("GET", api.template_path("reminder", "en")) == (200, standard)
    assert api.call("DELETE", api.template_path("reminder", "en")) == (200, standard)


def test_preview_renders_a_draft_with_sample_data_and_stores_nothing(api):
    status, preview = api.call("POST", f"{api.template_path()}/preview", DUTCH_TEXT)

    assert status == 200
    assert preview["subject"].startswith("Welkom bij ")
    assert "{{" not in preview["text"]
    assert "/activate?token=" in preview["text"]
    assert preview["html"].startswith("<!DOCTYPE html>")
    assert api.call("GET", api.template_path())[1]["custom"] is False

    status, in_force = api.call("POST", f"{api.template_path()}/preview")
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
def test_an_invalid_text_is_refused_saying_what_and_where(api, draft, detail):
    for method, path in (("PUT", api.template_path()), ("POST", f"{api.template_path()}/preview")):
        status, body = api.call(method, path, draft)

        assert status == 422
        assert body["error"]["code"] == "TEMPLATE_INVALID"
        assert detail.items() <= body["error"]["details"][0].items()
    assert api.call("GET", api.template_path())[1]["custom"] is False


def test_another_employers_texts_are_unreachable(stack, api):
    assert api.call("PUT", api.template_path(), DUTCH_TEXT)[0] == 200
    other = Api(stack, f"tpl-{uuid.uuid4().hex[:12]}")

    for method, suffix, body in (
        ("GET", "", None),
        ("PUT", "", DUTCH_TEXT),
        ("DELETE", "", None),
        ("POST", "/preview", None),
    ):
        status, answer = other.call(method, other.template_path(employer_id=api.employer_id) + suffix, body)
        assert (status, answer["error"]["code"]) == (403, "FORBIDDEN")

    assert other.call("GET", other.template_path())[1]["custom"] is False
    assert api.call("GET", api.template_path())[1]["custom"] is True


def test_unknown_kinds_and_languages_are_not_found(api):
    for path in (api.template_path("welcome", "nl"), api.template_path("invitation", "de")):
        status, body = api.call("GET", path)
        assert (status, body["error"]["code"]) == (404, "TEMPLATE_NOT_FOUND")
