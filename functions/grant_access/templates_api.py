"""Employer API, mail texts: read the text in force, store an own text, go back to the standard,
preview. Included in `app` (whose tenant guard runs before these routes too)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import Field

from werknemerloket import services
from werknemerloket.errors import NotFoundError
from werknemerloket.mail.custom import MAX_HTML, MAX_SUBJECT, MAX_TEXT, TEMPLATE_VARIABLES
from werknemerloket.mail.message import LANGUAGES, MailContent, MailKind, MailTemplate, TemplateInForce
from werknemerloket.web.errors import error_responses
from werknemerloket.web.schemas import ID_PATTERN, ApiModel

router = APIGatewayRouter()

_PATH = "/employers/<employerId>/email-templates/<kind>/<language>"
_KINDS = [kind.value for kind in MailKind]
_VARIABLES = ", ".join(f"`{name}`" for name in TEMPLATE_VARIABLES)
_RULES = (
    f"Subject, text and HTML are jinja2 templates over the variables {_VARIABLES}; the text (and the HTML, "
    "when given) must contain `{{ activation_url }}`. `{% if %}` and the filters `upper`, `lower`, `title`, "
    "`capitalize`, `trim`, `default` and `escape` may be used; loops, attribute access, calls and other "
    "templates may not. Every value printed in the HTML is escaped, and the HTML is cleaned of scripts, styles, "
    "event handlers, forms and javascript: links. Without HTML, the HTML part is made from "
    "the text in the standard layout: paragraphs, links, and the activation link as a button. A text that "
    "breaks a rule is refused with `422 TEMPLATE_INVALID`, whose `details` say which field, line and "
    "variable."
)

EmployerId = Annotated[str, Path(pattern=ID_PATTERN, description="The payroll system's employer id.")]
Kind = Annotated[str, Path(description="Which mail.", json_schema_extra={"enum": _KINDS})]
Language = Annotated[str, Path(description="The employees' language.", json_schema_extra={"enum": list(LANGUAGES)})]
_NOT_FOUND = "`TEMPLATE_NOT_FOUND`: no such kind or language."


def _responses(ok: str, *errors: int, **descriptions: str) -> dict[int, Any]:
    return error_responses(*errors, success=(200, ok), **descriptions)


_TEMPLATE_INVALID = "`TEMPLATE_INVALID` (the text breaks a rule; see `details`) or `VALIDATION_ERROR`."


class EmailTemplateIn(ApiModel):
    subject: str = Field(
        description=f"One line, at most {MAX_SUBJECT} characters.",
        examples=["Welkom bij het Werknemerloket van {{ employer_name }}"],
    )
    text: str = Field(
        description=f"The plain-text mail, at most {MAX_TEXT} characters.",
        examples=["Beste {{ employee_name }},\n\nActiveer je account:\n\n{{ activation_url }}"],
    )
    html: str | None = Field(
        default=None,
        description=f"Optional HTML for the body of the mail, at most {MAX_HTML} characters; it is placed in the "
        "standard layout. Null or absent: made from the text.",
    )

    def template(self) -> MailTemplate:
        return MailTemplate(subject=self.subject, text=self.text, html=self.html)


class EmailTemplateOut(ApiModel):
    kind: Literal["invitation", "reminder"]
    language: Literal["nl", "en"]
    subject: str
    text: str
    html: str | None = Field(description="Null when the HTML part is made from the text.")
    custom: bool = Field(description="True for the employer's own text, false for the standard text.")

    @classmethod
    def of(cls, text: TemplateInForce) -> EmailTemplateOut:
        return cls.model_validate(
            {
                "kind": text.kind.value,
                "language": text.language,
                "subject": text.template.subject,
                "text": text.template.text,
                "html": text.template.html,
                "custom": text.custom,
            }
        )


class MailPreviewOut(ApiModel):
    subject: str
    text: str
    html: str = Field(description="A complete HTML document; show it in a sandboxed frame.")

    @classmethod
    def of(cls, content: MailContent) -> MailPreviewOut:
        return cls(subject=content.subject, text=content.text, html=content.html)


def _text_of(kind: str, language: str) -> tuple[MailKind, str]:
    if kind not in _KINDS or language not in LANGUAGES:
        raise NotFoundError(
            f"There is no mail text {kind}/{language}: kinds are {' and '.join(_KINDS)}, "
            f"languages {' and '.join(LANGUAGES)}.",
            code="TEMPLATE_NOT_FOUND",
        )
    return MailKind(kind), language


@router.get(
    _PATH,
    summary="The mail text in force: the employer's own or the standard one",
    description="`custom` tells which. The standard text is a good start for an own text. " + _RULES,
    responses=_responses("The text in force.", 401, 403, 404, s404=_NOT_FOUND),
)
def get_email_template(employerId: EmployerId, kind: Kind, language: Language) -> EmailTemplateOut:
    return EmailTemplateOut.of(services.mail_texts().get_in_force(employerId, *_text_of(kind, language)))


@router.put(
    _PATH,
    summary="Store the employer's own mail text",
    description="Mails sent from now on use it. " + _RULES,
    responses=_responses(
        "The stored text.", 400, 401, 403, 404, 413, 415, 422, s404=_NOT_FOUND, s422=_TEMPLATE_INVALID
    ),
)
def put_email_template(
    employerId: EmployerId,
    kind: Kind,
    language: Language,
    body: EmailTemplateIn,
) -> EmailTemplateOut:
    text = services.mail_texts().save(employerId, *_text_of(kind, language), body.template())
    return EmailTemplateOut.of(text)


@router.delete(
    _PATH,
    summary="Go back to the standard mail text",
    description="Answers the standard text, now in force. Deleting when no own text is stored changes nothing.",
    responses=_responses("The standard text, now in force.", 401, 403, 404, s404=_NOT_FOUND),
)
def delete_email_template(employerId: EmployerId, kind: Kind, language: Language) -> EmailTemplateOut:
    return EmailTemplateOut.of(services.mail_texts().delete(employerId, *_text_of(kind, language)))


@router.post(
    f"{_PATH}/preview",
    summary="Preview the text in force, or a draft, with sample data",
    description="Without a body (or with `null`), the text in force is shown; with a draft in the body, the "
    "draft, checked like a stored text. Nothing is stored. " + _RULES,
    responses=_responses(
        "The rendered mail.", 400, 401, 403, 404, 413, 415, 422, s404=_NOT_FOUND, s422=_TEMPLATE_INVALID
    ),
)
def preview_email_template(
    employerId: EmployerId,
    kind: Kind,
    language: Language,
    body: Annotated[EmailTemplateIn | None, Body(description="A draft; absent for the text in force.")] = None,
) -> MailPreviewOut:
    draft = body.template() if body is not None else None
    return MailPreviewOut.of(services.mail_texts().preview(employerId, *_text_of(kind, language), draft))
