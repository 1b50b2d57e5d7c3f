"""The mail texts in force: an employer's own text for a kind and language, else the standard one.

Both are rendered the same way, so they look alike: subject and text in the sandbox (see `custom`),
the HTML part in the shared layout (`templates/layout.html`), from the employer's HTML when given,
else made from the text: paragraphs, line breaks, links, and the activation link as a button.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import nh3
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from werknemerloket.clock import Clock, get_clock
from werknemerloket.domain.entities import INVITATION_VALIDITY
from werknemerloket.domain.ports import TemplateStore
from werknemerloket.mail import custom
from werknemerloket.mail.formatting import format_moment
from werknemerloket.mail.message import (
    LANGUAGES,
    MailContent,
    MailContext,
    MailKind,
    MailTemplate,
    TemplateInForce,
)
from werknemerloket.observability import logger

TEMPLATES = Path(__file__).parent / "templates"
VALID_DAYS = INVITATION_VALIDITY // timedelta(days=1)
SAMPLE_ACTIVATION_URL = "https://werknemerloket.example/activate?token=voorbeeld"
_SAMPLE_NAMES = {
    "nl": ("Jan de Vries", "Voorbeeld B.V."),
    "en": ("Jane Smith", "Example Ltd"),
}

# The layout and the notices are our own templates: a plain environment, autoescaping HTML.
_OWN = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"], default_for_string=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
_URL = re.compile(r"https?://[^\s<>\"']+")
_URL_TAIL = ".,;:!?)'\""
_BLANK_LINES = re.compile(r"\n[ \t]*\n+")


@cache
def standard(kind: MailKind, language: str) -> MailTemplate:
    """The standard text as its source, read once per process."""

    def read(name: str) -> str:
        return (TEMPLATES / name).read_text(encoding="utf-8")

    return MailTemplate(
        subject=read(f"{kind}.{language}.subject.txt").strip(),
        text=read(f"{kind}.{language}.txt"),
    )


def template_variables(context: MailContext) -> dict[str, Any]:
    return {
        "employee_name": context.employee_name,
        "employer_name": context.employer_name,
        "activation_url": context.activation_url,
        "expires_at": format_moment(context.expires_at, context.language),
        "valid_days": VALID_DAYS,
    }


@dataclass(frozen=True)
class _Piece:
    text: str
    href: str | None = None


@dataclass(frozen=True)
class _Block:
    """A paragraph of lines of text and links, or the activation link alone, shown as a button."""

    lines: tuple[tuple[_Piece, ...], ...] = ()
    button: str | None = None


def _pieces(line: str) -> tuple[_Piece, ...]:
    pieces: list[_Piece] = []
    at = 0
    for match in _URL.finditer(line):
        url = match.group().rstrip(_URL_TAIL)
        if match.start() > at:
            pieces.append(_Piece(line[at : match.start()]))
        pieces.append(_Piece(url, href=url))
        at = match.start() + len(url)
    if at < len(line):
        pieces.append(_Piece(line[at:]))
    return tuple(pieces)


def text_blocks(text: str, activation_url: str) -> list[_Block]:
    """The rendered plain text as blocks for the layout; the layout escapes every piece."""
    blocks = []
    for paragraph in _BLANK_LINES.split(text.strip()):
        if paragraph.strip() == activation_url:
            blocks.append(_Block(button=activation_url))
        elif paragraph.strip():
            blocks.append(_Block(lines=tuple(_pieces(line) for line in paragraph.strip().split("\n"))))
    return blocks


def _one_line(subject: str) -> str:
    return " ".join(subject.split())


_HTML_TAGS = nh3.ALLOWED_TAGS - {"img", "map", "area"}


def compose(kind: MailKind, template: MailTemplate, context: MailContext) -> MailContent:
    """Render `template` for `context`; raises `TEMPLATE_INVALID` if the source breaks the rules."""
    values = template_variables(context)
    subject = _one_line(custom.compile_part("subject", template.subject, html=False).render(values))
    text = custom.compile_part("text", template.text, html=False).render(values).strip()
    notice = None
    if context.resent:
        notice = _OWN.get_template(f"notice.{context.language}.txt").render(kind=kind.value).strip()
    content = None
    if template.html is not None:
        # Safe: the sandbox autoescaped every value this HTML prints, and the employer's own markup is
        # cleaned of scripts, styles, event handlers, forms and javascript: links (Ammonia, via nh3),
        # and of images: a mail client fetches them unasked, which would hand the link to their host.
        rendered = custom.compile_part("html", template.html, html=True).render(values)
        content = Markup(nh3.clean(rendered, tags=_HTML_TAGS))  # noqa: S704
    html = _OWN.get_template("layout.html").render(
        language=context.language,
        subject=subject,
        employer_name=context.employer_name,
        notice=notice,
        content=content,
        blocks=[] if content is not None else text_blocks(text, context.activation_url),
    )
    if notice:
        text = f"{notice}\n\n{text}"
    return MailContent(subject=subject, text=f"{text}\n", html=html)


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"no mail texts in language {language!r}")


def in_force(kind: MailKind, language: str, own: MailTemplate | None) -> TemplateInForce:
    """The employer's own text when there is one, else the standard text."""
    if own is None:
        return TemplateInForce(kind, language, standard(kind, language), custom=False)
    return TemplateInForce(kind, language, own, custom=True)


class MailTexts:
    """Reads, stores and renders the mail texts of employers.

    `render` is what sending uses (at most one read); the rest serves the employer API."""

    def __init__(
        self,
        store: TemplateStore,
        *,
        clock: Clock | None = None,
        sample_activation_url: str = SAMPLE_ACTIVATION_URL,
    ):
        self._store = store
        self._clock = clock or get_clock()
        self._sample_activation_url = sample_activation_url

    def get_in_force(self, employer_id: str, kind: MailKind, language: str) -> TemplateInForce:
        _check_language(language)
        return in_force(kind, language, self._store.get(employer_id, kind, language))

    def render(self, kind: MailKind, employer_id: str, context: MailContext) -> MailContent:
        return self.render_in_force(self.get_in_force(employer_id, kind, context.language), context)

    def render_in_force(self, text: TemplateInForce, context: MailContext) -> MailContent:
        """Render a text read before (e.g. once for a batch of mails to the same employer)."""
        if text.custom:
            try:
                return compose(text.kind, text.template, context)
            except Exception:
                # A stored text passed validation when saved; if it fails now (stricter rules since,
                # or a value it cannot handle), the employee still gets a correct mail.
                logger.exception("custom mail text failed; the standard text was used", extra={"kind": text.kind})
        return compose(text.kind, standard(text.kind, text.language), context)

    def save(self, employer_id: str, kind: MailKind, language: str, template: MailTemplate) -> TemplateInForce:
        """Validate and store an employer's own text; `TEMPLATE_INVALID` says what is wrong and where."""
        _check_language(language)
        template = custom.validate(template, template_variables(self._sample(language)))
        self._store.put(employer_id, kind, language, template, self._clock.now())
        return TemplateInForce(kind, language, template, custom=True)

    def delete(self, employer_id: str, kind: MailKind, language: str) -> TemplateInForce:
        """Back to the standard text, which is answered."""
        _check_language(language)
        self._store.delete(employer_id, kind, language)
        return TemplateInForce(kind, language, standard(kind, language), custom=False)

    def preview(
        self, employer_id: str, kind: MailKind, language: str, draft: MailTemplate | None = None
    ) -> MailContent:
        """The draft, or else the text in force, rendered with sample data; nothing is stored."""
        _check_language(language)
        context = self._sample(language)
        if draft is None:
            return self.render(kind, employer_id, context)
        return compose(kind, custom.validate(draft, template_variables(context)), context)

    def _sample(self, language: str) -> MailContext:
        employee_name, employer_name = _SAMPLE_NAMES[language]
        return MailContext(
            employee_name=employee_name,
            employer_name=employer_name,
            activation_url=self._sample_activation_url,
            expires_at=self._clock.now() + INVITATION_VALIDITY,
            language=language,
        )
