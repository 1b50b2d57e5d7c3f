"""Employers' own mail texts: used for the right employees, validated when saved, sandboxed always."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from werknemerloket.clock import FixedClock
from werknemerloket.errors import InvalidInputError
from werknemerloket.mail import custom
from werknemerloket.mail.message import MailContext, MailKind, MailTemplate
from werknemerloket.mail.texts import MailTexts, standard, template_variables

from .fake_templates import FakeTemplateStore

NOW = datetime(2026, 12, 4, 15, 20, tzinfo=UTC)
LINK = "https://werknemer.example.test/activate?token=abc"
SAMPLE_LINK = "https://werknemer.example.test/activate?token=voorbeeld"
DUTCH = MailTemplate(
    subject="Welkom bij {{ employer_name }}, {{ employee_name }}",
    text="Hoi {{ employee_name }},\n\nKlik hier:\n\n{{ activation_url }}\n\nGeldig tot {{ expires_at }}.",
)
INV = MailKind.INVITATION


def context(language: str = "nl", **changes: object) -> MailContext:
    values: dict[str, object] = {
        "employee_name": "Jan de Vries",
        "employer_name": "Acme B.V.",
        "activation_url": LINK,
        "expires_at": NOW + timedelta(hours=96),
        "language": language,
    }
    return MailContext(**(values | changes))  # type: ignore[arg-type]


@pytest.fixture
def store() -> FakeTemplateStore:
    return FakeTemplateStore()


@pytest.fixture
def texts(store: FakeTemplateStore) -> MailTexts:
    return MailTexts(store, clock=FixedClock(NOW), sample_activation_url=SAMPLE_LINK)


def refusal(texts: MailTexts, template: MailTemplate) -> InvalidInputError:
    with pytest.raises(InvalidInputError) as error:
        texts.save("acme", INV, "nl", template)
    assert error.value.code == "TEMPLATE_INVALID"
    assert error.value.details
    return error.value


# ---------------------------------------------------------------- the text in force


def test_a_dutch_custom_text_is_used_for_dutch_employees_and_the_standard_for_english_ones(texts):
    texts.save("acme", INV, "nl", DUTCH)

    dutch = texts.render(INV, "acme", context("nl"))
    english = texts.render(INV, "acme", context("en"))

    assert dutch.subject == "Welkom bij Acme B.V., Jan de Vries"
    assert dutch.text.startswith("Hoi Jan de Vries,\n\nKlik hier:\n\n" + LINK)
    assert "Geldig tot dinsdag 8 december 2026 om 16:20." in dutch.text
    assert english.subject == "Acme B.V. invites you to the Werknemerloket employee portal"
    assert english.text.startswith("Dear Jan de Vries,")


def test_reading_tells_whether_the_text_in_force_is_custom_and_deleting_goes_back_to_the_standard(texts):
    assert texts.get_in_force("acme", INV, "nl").custom is False

    saved = texts.save("acme", INV, "nl", DUTCH)
    in_force = texts.get_in_force("acme", INV, "nl")
    after_delete = texts.delete("acme", INV, "nl")

    assert saved == in_force
    assert (in_force.custom, in_force.template) == (True, DUTCH)
    assert after_delete.custom is False
    assert after_delete.template == standard(INV, "nl")
    assert texts.get_in_force("acme", INV, "nl") == after_delete
    assert texts.delete("acme", INV, "nl") == after_delete  # nothing left to delete: same answer


def test_an_employers_texts_are_unreachable_for_another_employer(texts):
    texts.save("acme", INV, "nl", DUTCH)

    assert texts.get_in_force("globex", INV, "nl").custom is False
    assert texts.render(INV, "globex", context("nl")).subject.endswith("geeft je toegang tot het Werknemerloket")
    texts.delete("globex", INV, "nl")
    assert texts.get_in_force("acme", INV, "nl").custom is True


def test_kinds_are_separate_texts(texts):
    texts.save("acme", INV, "nl", DUTCH)

    assert texts.get_in_force("acme", MailKind.REMINDER, "nl").custom is False


def test_browser_line_ends_and_blank_html_are_normalized_when_saved(texts, store):
    texts.save("acme", INV, "nl", MailTemplate(" Hoi ", "Hoi\r\n\r\n{{ activation_url }}\r\n", html="  \n"))

    assert store.items[("acme", INV, "nl")] == MailTemplate("Hoi", "Hoi\n\n{{ activation_url }}\n", html=None)


def test_a_resent_mail_in_a_custom_text_still_says_it_replaces_the_earlier_one(texts):
    texts.save("acme", INV, "nl", DUTCH)

    mail = texts.render(INV, "acme", context("nl", resent=True))

    assert mail.text.startswith("Deze e-mail vervangt de uitnodiging die je eerder kreeg;")
    assert "Hoi Jan de Vries" in mail.text


# ---------------------------------------------------------------- preview


def test_preview_renders_a_draft_with_sample_data_without_storing_it(texts, store):
    preview = texts.preview("acme", INV, "nl", DUTCH)

    assert store.items == {}
    assert preview.subject == "Welkom bij Voorbeeld B.V., Jan de Vries"
    assert SAMPLE_LINK in preview.text
    assert "Geldig tot dinsdag 8 december 2026 om 16:20." in preview.text  # now + 96 hours
    assert texts.get_in_force("acme", INV, "nl").custom is False


def test_preview_without_a_draft_shows_the_text_in_force(texts):
    assert texts.preview("acme", INV, "en").subject == "Example Ltd invites you to the Werknemerloket employee portal"
    texts.save("acme", INV, "en", MailTemplate("Hi {{ employee_name }}", "{{ activation_url }}"))
    assert texts.preview("acme", INV, "en").subject == "Hi Jane Smith"


def test_preview_of_an_invalid_draft_is_refused_like_saving_it(texts):
    with pytest.raises(InvalidInputError) as error:
        texts.preview("acme", INV, "nl", MailTemplate("Hoi", "{{ employee_name.__class__ }} {{ activation_url }}"))
    assert error.value.code == "TEMPLATE_INVALID"


# ---------------------------------------------------------------- validation: what is wrong, and where


def test_a_syntax_error_names_its_field_and_line(texts):
    error = refusal(texts, MailTemplate("Hoi", "Beste {{ employee_name }},\n\n{{ activation_url }\n"))

    [detail] = error.details
    assert detail["field"] == "body.text"
    assert detail["line"] == 3
    assert detail["issue"].startswith("syntax error:")
    assert "text, line 3: syntax error" in error.message


def test_an_unknown_variable_is_named_with_its_line(texts):
    error = refusal(texts, MailTemplate("Hoi {{ voornaam }}", "Hoi\n\n{{ activation_url }}\n{{ resent }}"))

    assert [(d["field"], d["line"], d["variable"]) for d in error.details] == [
        ("body.subject", 1, "voornaam"),
        ("body.text", 4, "resent"),
    ]
    assert "unknown variable 'voornaam'" in error.details[0]["issue"]
    assert "employee_name, employer_name, activation_url, expires_at, valid_days" in error.details[0]["issue"]


def test_a_text_without_the_activation_link_is_refused(texts):
    error = refusal(texts, MailTemplate("Hoi", "Hoi {{ employee_name }}, log in via de website."))

    assert error.details == [
        {
            "field": "body.text",
            "issue": "must contain {{ activation_url }}, the link with which the employee activates access",
            "variable": "activation_url",
        }
    ]


@pytest.mark.parametrize(
    "text",
    [
        "{% if false %}{{ activation_url }}{% endif %}",
        "{{ activation_url|upper }}",
        "{{ employee_name if valid_days > 9 else activation_url|lower }}",
    ],
)
def test_an_activation_link_that_would_not_reach_the_employee_as_it_is_is_refused(texts, text):
    error = refusal(texts, MailTemplate("Hoi", text))

    assert error.details[0]["variable"] == "activation_url"
    assert "as it is" in error.details[0]["issue"]


@pytest.mark.parametrize(
    ("text", "issue"),
    [
        ("{{ ''.__class__ }}", "attribute and item access"),
        ("{{ ''.__class__.__mro__ }}", "attribute and item access"),
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "calling functions"),
        ("{{ employee_name.upper() }}", "calling functions"),
        ("{{ employee_name.__len__ }}", "attribute and item access"),
        ("{{ employee_name['__class__'] }}", "attribute and item access"),
        ("{{ employee_name|attr('__class__') }}", "the filter 'attr' is not allowed"),
        ("{{ employee_name|safe }}", "the filter 'safe' is not allowed"),
        ("{{ employee_name|format(1) }}", "the filter 'format' is not allowed"),
        ("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", "loops"),
        ("{% for c in employee_name %}{{ c }}{% endfor %}", "loops"),
        ("{{ 9 ** 9 ** 9 }}", "arithmetic"),
        ("{{ 'x' * 1000000000 }}", "arithmetic"),
        ("{{ lipsum(10000) }}", "calling functions"),
        ("{{ cycler }}", "unknown variable 'cycler'"),
        ("{{ self }}", "unknown variable 'self'"),
        ("{% include 'layout.html' %}", "other templates"),
        ("{% extends 'layout.html' %}", "other templates"),
        ("{% import 'layout.html' as x %}", "other templates"),
        ("{% macro m() %}x{% endmacro %}", "macros"),
        ("{% set name = employee_name %}", "setting variables"),
        ("{% autoescape false %}{{ employee_name }}{% endautoescape %}", "{% autoescape %}"),
        ("{% filter upper %}x{% endfilter %}", "{% filter %}"),
        ("{{ [employee_name] }}", "lists, tuples and dictionaries"),
        ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "nested too deeply"),
    ],
)
def test_anything_beyond_printing_the_variables_is_refused_when_saved(texts, store, text, issue):
    started = time.monotonic()
    error = refusal(texts, MailTemplate("Hoi", f"Hoi\n{text}\n{{{{ activation_url }}}}"))

    assert time.monotonic() - started < 2  # refused before anything is compiled or evaluated
    assert issue in error.details[0]["issue"]
    assert error.details[0]["field"] == "body.text"
    assert error.details[0].get("line") in (2, None)
    assert store.items == {}


def test_plain_conditions_and_harmless_filters_are_allowed(texts):
    template = MailTemplate(
        subject="{{ employer_name|upper }}: {{ 'welkom' if valid_days == 4 else 'hallo' }}",
        text="{% if employee_name == 'Jan' %}Dag Jan{% elif employee_name is defined %}Hoi"
        "{% else %}Hallo{% endif %} {{ employee_name|title ~ '!' }}\n\n{{ activation_url }}",
    )
    texts.save("acme", INV, "nl", template)

    assert texts.render(INV, "acme", context("nl")).subject == "ACME B.V.: welkom"


@pytest.mark.parametrize(
    ("template", "field", "issue"),
    [
        (MailTemplate("Regel 1\nRegel 2", "{{ activation_url }}"), "body.subject", "one line"),
        (MailTemplate("   ", "{{ activation_url }}"), "body.subject", "must not be empty"),
        (MailTemplate("x" * 201, "{{ activation_url }}"), "body.subject", "at most 200 characters"),
        (MailTemplate("Hoi", "  \n "), "body.text", "must not be empty"),
        (MailTemplate("Hoi", "{{ activation_url }}" + "x" * 20_000), "body.text", "at most 20000 characters"),
        (MailTemplate("Hoi", "{{ activation_url }}", "<p>" + "x" * 40_000 + "</p>"), "body.html", "at most 40000"),
    ],
)
def test_sizes_and_shape_are_bounded(texts, template, field, issue):
    error = refusal(texts, template)

    assert error.details[0]["field"] == field
    assert issue in error.details[0]["issue"]


def test_every_problem_of_every_part_is_reported_at_once(texts):
    error = refusal(
        texts,
        MailTemplate("{{ foo }}", "Hoi {{ bar }}\n{{ activation_url }}", html="<p>{{ employee_name|safe }}</p>"),
    )

    assert [(d["field"], d.get("variable")) for d in error.details] == [
        ("body.subject", "foo"),
        ("body.text", "bar"),
        ("body.html", None),
    ]
    assert "(2 more in details)" in error.message


def test_a_value_the_text_cannot_handle_is_found_by_the_test_render(texts):
    error = refusal(texts, MailTemplate("Hoi", "{% if valid_days > 'vier' %}x{% endif %}{{ activation_url }}"))

    assert error.details[0]["issue"].startswith("cannot be rendered:")


@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("kind", list(MailKind))
def test_the_standard_texts_obey_the_rules_so_employers_can_start_from_them(texts, kind, language):
    texts.save("acme", kind, language, standard(kind, language))

    assert texts.get_in_force("acme", kind, language).template == standard(kind, language)


# ---------------------------------------------------------------- HTML


def test_html_made_from_the_text_has_paragraphs_line_breaks_links_and_the_activation_button(texts):
    texts.save(
        "acme",
        INV,
        "nl",
        MailTemplate(
            "Hoi",
            "Beste {{ employee_name }},\nwelkom bij {{ employer_name }}.\n\n{{ activation_url }}\n\n\n"
            "Hulp nodig? Zie https://acme.example/hulp?a=1&b=2.\n",
        ),
    )

    html = texts.render(INV, "acme", context("nl", employee_name="<b>Jan</b>", employer_name="A&B")).html

    assert '<p style="margin:0 0 16px;">Beste &lt;b&gt;Jan&lt;/b&gt;,<br>welkom bij A&amp;B.</p>' in html
    assert f'<a href="{LINK}" style="display:inline-block;' in html  # the button
    assert (
        'Hulp nodig? Zie <a href="https://acme.example/hulp?a=1&amp;b=2" style="color:#1d4ed8;">'
        "https://acme.example/hulp?a=1&amp;b=2</a>.</p>"
    ) in html
    assert "font-family:Arial,Helvetica,sans-serif;" in html  # the standard layout's styling


def test_custom_html_escapes_every_value_and_sits_in_the_standard_layout(texts):
    texts.save(
        "acme",
        INV,
        "nl",
        MailTemplate(
            "Hoi",
            "{{ activation_url }}",
            html='<h1>Hoi {{ employee_name }}</h1><p><a href="{{ activation_url }}">Activeren</a></p>',
        ),
    )

    mail = texts.render(INV, "acme", context("nl", employee_name="<b>Jan</b>", employer_name='"><script>x</script>'))

    assert "<h1>Hoi &lt;b&gt;Jan&lt;/b&gt;</h1>" in mail.html
    assert f'<a href="{LINK}" rel="noopener noreferrer">Activeren</a>' in mail.html
    assert "<script>" not in mail.html
    assert mail.html.startswith("<!DOCTYPE html>")
    assert "&#34;&gt;&lt;script&gt;x&lt;/script&gt; &middot; Werknemerloket" in mail.html


def test_custom_html_must_carry_the_activation_link_too(texts):
    error = refusal(texts, MailTemplate("Hoi", "{{ activation_url }}", html="<p>Hoi {{ employee_name }}</p>"))

    assert error.details[0]["field"] == "body.html"
    assert error.details[0]["variable"] == "activation_url"


# ---------------------------------------------------------------- the sandbox at sending time


def test_a_stored_text_that_breaks_the_rules_is_never_executed_and_the_standard_text_is_sent(texts, store):
    store.items[("acme", INV, "nl")] = MailTemplate(
        "{{ ''.__class__.__mro__ }}", "{{ ''.__class__.__mro__[1].__subclasses__() }} {{ activation_url }}"
    )

    mail = texts.render(INV, "acme", context("nl"))

    assert mail.subject == "Acme B.V. geeft je toegang tot het Werknemerloket"
    assert "class" not in mail.text + mail.subject


def test_the_render_environments_are_immutable_sandboxes_with_nothing_to_call():
    for env, autoescape in ((custom._PLAIN, False), (custom._HTML, True)):
        assert isinstance(env, ImmutableSandboxedEnvironment)
        assert env.autoescape is autoescape
        assert env.globals == {}
        assert "safe" not in env.filters
        assert "attr" not in env.filters
        # even a template that never went through the checks cannot reach Python's internals
        with pytest.raises(SecurityError):
            env.from_string("{{ ''.__class__.__mro__ }}").render()


def test_compiling_checks_the_rules_again():
    with pytest.raises(InvalidInputError) as error:
        custom.compile_part("text", "{{ employee_name.__class__ }}", html=False)
    assert error.value.code == "TEMPLATE_INVALID"


def test_sample_values_used_by_validation_are_the_public_variables_only(texts):
    assert sorted(template_variables(context())) == sorted(custom.TEMPLATE_VARIABLES)


def test_the_employers_own_html_is_cleaned_of_scripts_handlers_and_javascript_links():
    from werknemerloket.mail.message import MailContext, MailKind, MailTemplate
    from werknemerloket.mail.texts import compose

    template = MailTemplate(
        subject="Welkom",
        text="Activeer: {{ activation_url }}",
        html=(
            '<p onclick="steal()">Hoi {{ employee_name }}<script>steal()</script></p>'
            '<a href="javascript:steal()">klik</a><a href="{{ activation_url }}">Activeren</a>'
            '<img src="x" onerror="steal()"><iframe src="https://evil.example"></iframe>'
        ),
    )
    context = MailContext(
        employee_name="Jan",
        employer_name="Acme",
        activation_url="https://werknemer.example.test/activate?token=abc",
        expires_at=datetime(2026, 12, 8, 15, 20, tzinfo=UTC),
        language="nl",
    )

    html = compose(MailKind.INVITATION, template, context).html

    assert "steal()" not in html
    assert "<img" not in html
    assert "<script" not in html
    assert "<iframe" not in html
    assert "javascript:" not in html
    assert 'href="https://werknemer.example.test/activate?token=abc"' in html
    assert "Hoi Jan" in html


def test_a_link_shown_only_for_the_sample_values_is_refused(texts):
    error = refusal(
        texts,
        MailTemplate(
            "Hoi",
            "{% if employee_name == 'Jan de Vries' %}{{ activation_url }}{% endif %}",
        ),
    )

    assert error.details[0]["field"] == "body.text"
    assert error.details[0]["variable"] == "activation_url"
