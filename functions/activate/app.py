"""Employee pages: activation through the e-mailed link, login, logout, the portal and /me.

Server-rendered HTML in Dutch (default) or English, usable without JavaScript. Every route is open at
API Gateway (`Auth: NONE` in template.yaml): the session cookie, or an employee ID token for /me and
the portal, is verified here through `domain.sessions`. This module is the one place where the
domain's outcomes become pages and status codes (HTML, so not `web.errors`' JSON mapping).

The credentials form carries one hidden field beyond API.md's `token`, `username`, `password` and
`passwordConfirm`: `verification`, the secret that the right date-of-birth answer handed to this
browser (only its SHA-256 is stored). `POST /activate/credentials` needs it: a right answer given in
another browser does not open the step for one that only holds the link, and the latest right answer
replaces the secret of every earlier form.

A used link whose account could not be finished (Cognito failed after the activation committed)
opens the date-of-birth question again, for as long as the account has no password; a right answer,
the username chosen before and a password finish it and log in.

Status codes beyond API.md's: a wrong or malformed date of birth 400 (the question again; only a
wrong one costs a try), the fifth wrong one 410 (the locked notice); credentials without a right
answer from this browser in the last 30 minutes 403 (the question again), refused credentials 400, a
taken username 409, an account that could not be finished 503 (the form again, to send once more);
a login with a wrong password or an unknown username 401 with one and the same page, a login form
with an empty field 400; a cross-site POST or a logout without its CSRF token 403; a body that is not
a form (not UTF-8, too many fields) 400, one over 16 KiB 413; a change the database could not apply
because of concurrent writes, also after retries, 503 (an error page that says to try again). Pages
that are not the ones API.md names carry `data-page="error"`.
"""

from __future__ import annotations

import binascii
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jinja2
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from page_texts import DEFAULT_LANGUAGE, LANGUAGES, texts
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from werknemerloket import services
from werknemerloket.domain.activation import (
    AccountNotReadyError,
    Activated,
    AnswerError,
    CredentialsRefusedError,
    DeadLinkError,
    LinkView,
    NoticeState,
    UsernameUnavailableError,
    VerificationNeededError,
    Verified,
)
from werknemerloket.domain.passwords import CredentialIssue
from werknemerloket.domain.ports import StoreBusyError
from werknemerloket.domain.sessions import Authenticated, LoginFailedError, SessionGrant
from werknemerloket.errors import ForbiddenError, UnauthenticatedError
from werknemerloket.observability import logger, metrics, tracer
from werknemerloket.settings import get_settings
from werknemerloket.web.errors import error_response

HERE = Path(__file__).parent
MAX_FORM_BYTES = 16 * 1024
SESSION_COOKIE = "__Host-wnl_session"
HTML = "text/html; charset=utf-8"

# Pages carry a link token and personal data: nothing inline, nothing framed, nothing cached, no Referer.
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000",
}
_PUBLIC = urlsplit(get_settings().public_base_url)
# Links and redirects are built from configuration (PUBLIC_BASE_URL), never from the Host header;
# its path is the stage prefix when the pages are served from an execute-api URL.
BASE_PATH = _PUBLIC.path.rstrip("/")
ORIGIN = f"{_PUBLIC.scheme}://{_PUBLIC.netloc}"

app = APIGatewayRestResolver()


class BadFormError(Exception):
    """A body that is not a readable form: not UTF-8, too many fields, or fields far too long."""


# ---------------------------------------------------------------- request helpers


def _header(name: str) -> str | None:
    headers = app.current_event.headers or {}
    for key, value in headers.items():
        if key.lower() == name:
            return str(value)
    return None


def _cookie(name: str) -> str | None:
    values: list[str] = []
    for key, items in (app.current_event.multi_value_headers or {}).items():
        if key.lower() == "cookie":
            values.extend(items or [])
    if not values and (single := _header("cookie")):
        values.append(single)
    for header in values:
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name and value:
                return value
    return None


def _bearer() -> str | None:
    authorization = _header("authorization") or ""
    scheme, _, token = authorization.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _form() -> dict[str, str]:
    try:
        body = app.current_event.decoded_body or ""
        fields = parse_qs(body, keep_blank_values=True, errors="strict", max_num_fields=16)
        form = {key: values[0] for key, values in fields.items()}
        for value in form.values():
            value.encode("utf-8")  # lone surrogates are not text either
    except (ValueError, binascii.Error) as error:  # UnicodeError is a ValueError
        raise BadFormError(type(error).__name__) from None
    return form


class _Form(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, str_max_length=4096)

    @classmethod
    def read(cls) -> Any:
        try:
            return cls.model_validate(_form())
        except ValidationError:
            raise BadFormError("fields out of bounds") from None


class AnswerForm(_Form):
    token: str = Field(default="", max_length=128)
    date_of_birth: str = Field(default="", alias="dateOfBirth", max_length=64)


class CredentialsForm(_Form):
    token: str = Field(default="", max_length=128)
    verification: str = Field(default="", max_length=128)
    username: str = Field(default="", max_length=256)
    # Longer than the 128 allowed, so that a too-long password gets a sentence, not a bad request.
    password: str = Field(default="", max_length=1024)
    password_confirm: str = Field(default="", alias="passwordConfirm", max_length=1024)


class LoginForm(_Form):
    username: str = Field(default="", max_length=256)
    password: str = Field(default="", max_length=1024)
    lang: str = Field(default="", max_length=8)


class LogoutForm(_Form):
    csrf_token: str = Field(default="", alias="csrfToken", max_length=128)


def _accept_language(header: str | None) -> str:
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for item in (header or "").split(","):
        tag, *params = item.strip().split(";")
        q = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def request_language(chosen: str | None = None) -> str:
    """An explicit choice (form or ?lang=), else the browser's preference, else Dutch."""
    query = app.current_event.query_string_parameters or {}
    for candidate in (chosen, query.get("lang")):
        if candidate in LANGUAGES:
            return str(candidate)
    return _accept_language(_header("accept-language"))


# ---------------------------------------------------------------- responses


@cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(
    template: str,
    status: int,
    language: str,
    *,
    headers: dict[str, str | list[str]] | None = None,
    **context: Any,
) -> Response[str]:
    defaults: dict[str, Any] = {"state": None, "employer_name": None, "errors": {}}
    body = (
        _templates().get_template(template).render(defaults | context, lang=language, t=texts(language), base=BASE_PATH)
    )
    return Response(status, HTML, body, headers=SECURITY_HEADERS | (headers or {}))


def redirect(path: str, *, cookie: str | None = None) -> Response[str]:
    headers: dict[str, str | list[str]] = {"Location": f"{BASE_PATH}{path}"}
    if cookie is not None:
        headers["Set-Cookie"] = cookie
    return Response(303, HTML, "", headers=SECURITY_HEADERS | headers)


def session_cookie(grant: SessionGrant) -> str:
    """`__Host-`: Secure, Path=/ and no Domain, so no other host or path can set or read it."""
    return f"{SESSION_COOKIE}={grant.cookie_value}; Path=/; Secure; HttpOnly; SameSite=Lax"


CLEARED_COOKIE = f"{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Lax"


def error_page(status: int, language: str | None = None) -> Response[str]:
    language = language or request_language()
    return page("error.html", status, language, page="error", title=texts(language)["error_title"], error_status=status)


def _issue_text(language: str, issue: CredentialIssue | str) -> str:
    return texts(language)[f"issue_{issue}"]


# ---------------------------------------------------------------- guards


def form_guard(app: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Before any POST: no cross-site form posts, no oversized bodies.

    Forms are sent from pages with `Referrer-Policy: no-referrer`, for which browsers send
    `Origin: null` on same-origin POSTs; so `null` passes, another origin does not, and a browser's
    `Sec-Fetch-Site` must say same-origin. Session POSTs carry a CSRF token on top (logout).
    """
    event = app.current_event
    if event.http_method == "POST":
        origin = _header("origin")
        site = _header("sec-fetch-site")
        if (origin not in (None, "null") and origin != ORIGIN) or (site not in (None, "same-origin", "none")):
            logger.warning("cross-site form post refused", extra={"secFetchSite": site})
            return error_page(403)
        if len(event.body or "") > MAX_FORM_BYTES:
            return error_page(413)
    return next_middleware(app)


app.use([form_guard])


# ---------------------------------------------------------------- activation


def _dob_page(
    view: LinkView,
    token: str,
    status: int,
    *,
    error: str = "",
    message: str = "",
    date_value: str = "",
    tries_left: int | None = None,
) -> Response[str]:
    return page(
        "activate_dob.html",
        status,
        view.language,
        page="activate-dob",
        title=texts(view.language)["dob_title"],
        employer_name=view.employer.name,
        employee_name=view.employee.profile.name,
        token=token,
        errors={"dateOfBirth": error} if error else {},
        message=message,
        date_value=date_value,
        tries_left=view.tries_left if tries_left is None else tries_left,
    )


def _credentials_page(
    view: LinkView,
    token: str,
    verification: str,
    status: int,
    *,
    username: str = "",
    errors: dict[str, str] | None = None,
) -> Response[str]:
    return page(
        "activate_credentials.html",
        status,
        view.language,
        page="activate-credentials",
        title=texts(view.language)["cred_title"],
        employer_name=view.employer.name,
        token=token,
        verification=verification,
        username=username,
        errors=errors or {},
    )


@app.route("/activate", method=["GET", "HEAD"])
def open_link() -> Response[str]:
    token = (app.current_event.query_string_parameters or {}).get("token")
    view = services.activation().open(token)
    assert token is not None
    return _dob_page(view, token, 200)


@app.post("/activate")
def answer() -> Response[str]:
    form: AnswerForm = AnswerForm.read()
    try:
        verified: Verified = services.activation().answer(form.token, form.date_of_birth)
    except AnswerError as refused:
        t = texts(refused.view.language)
        text = {"wrong": t["dob_wrong"], "format": t["dob_format"], "required": t["required"]}[refused.issue]
        value = form.date_of_birth if refused.issue == "format" else ""
        return _dob_page(refused.view, form.token, 400, error=text, date_value=value, tries_left=refused.tries_left)
    return _credentials_page(verified.view, form.token, verified.secret, 200, username=verified.username)


@app.post("/activate/credentials")
def choose_credentials() -> Response[str]:
    form: CredentialsForm = CredentialsForm.read()
    try:
        activated: Activated = services.activation().complete(
            form.token, form.verification, form.username, form.password, form.password_confirm
        )
    except VerificationNeededError as needed:
        return _dob_page(needed.view, form.token, 403, message=texts(needed.view.language)["dob_again"])
    except (CredentialsRefusedError, UsernameUnavailableError) as refused:
        status = 409 if isinstance(refused, UsernameUnavailableError) else 400
        language = refused.view.language
        errors = {field: _issue_text(language, issue) for field, issue in refused.issues.items()}
        chosen = refused.username if isinstance(refused, CredentialsRefusedError) else None
        shown = chosen or form.username.strip()
        return _credentials_page(refused.view, form.token, form.verification, status, username=shown, errors=errors)
    except AccountNotReadyError as not_ready:
        language = not_ready.view.language
        errors = {"": texts(language)["account_not_ready"]}
        username = form.username.strip()
        return _credentials_page(not_ready.view, form.token, form.verification, 503, username=username, errors=errors)
    return redirect("/portal", cookie=session_cookie(activated.session))


@app.exception_handler(DeadLinkError)
def _dead_link(dead: DeadLinkError) -> Response[str]:
    view = dead.view
    language = view.language if view else request_language()
    return page(
        "activate_notice.html",
        404 if dead.state is NoticeState.INVALID else 410,
        language,
        page="activate-notice",
        state=dead.state.value,
        title=texts(language)[f"notice_{dead.state.value}_title"],
        employer_name=view.employer.name if view else None,
    )


# ---------------------------------------------------------------- login, logout, portal, /me


def _login_page(
    language: str, status: int, *, username: str = "", errors: dict[str, str] | None = None
) -> Response[str]:
    return page(
        "login.html",
        status,
        language,
        page="login",
        title=texts(language)["login_title"],
        username=username,
        errors=errors or {},
    )


@app.route("/login", method=["GET", "HEAD"])
def login_page() -> Response[str]:
    return _login_page(request_language(), 200)


@app.post("/login")
def login() -> Response[str]:
    form: LoginForm = LoginForm.read()
    language = request_language(form.lang)
    t = texts(language)
    missing = {name: t["required"] for name in ("username", "password") if not getattr(form, name).strip()}
    if missing:
        return _login_page(language, 400, username=form.username.strip(), errors=missing)
    try:
        grant = services.sessions().login(form.username, form.password)
    except LoginFailedError:
        # One sentence and one status whether the username exists or not.
        return _login_page(language, 401, username=form.username.strip(), errors={"password": t["login_failed"]})
    return redirect("/portal", cookie=session_cookie(grant))


@app.post("/logout")
def logout() -> Response[str]:
    form: LogoutForm = LogoutForm.read()
    services.sessions().logout(_cookie(SESSION_COOKIE), form.csrf_token)
    return redirect("/login", cookie=CLEARED_COOKIE)


def _authenticated() -> Authenticated:
    return services.sessions().authenticate(_cookie(SESSION_COOKIE), _bearer())


@app.route("/portal", method=["GET", "HEAD"])
def portal() -> Response[str]:
    try:
        who = _authenticated()
    except UnauthenticatedError:
        return redirect("/login")
    employee = who.account.employee
    language = employee.profile.language
    return page(
        "portal.html",
        200,
        language,
        page="portal",
        title=texts(language)["portal_title"],
        employer_name=who.account.employer.name,
        employee_name=employee.profile.name,
        username=employee.username,
        csrf_token=who.session.csrf_token if who.session else None,
    )


@app.get("/me")
def me() -> Response[str]:
    try:
        who = _authenticated()
    except UnauthenticatedError as error:
        response = error_response(401, error.code, error.message)
        response.headers.update(SECURITY_HEADERS | {"WWW-Authenticate": "Bearer"})
        return response
    employee = who.account.employee
    profile = {
        "employerId": employee.employer_id,
        "employeeId": employee.employee_id,
        "name": employee.profile.name,
        "employerName": who.account.employer.name,
        "language": employee.profile.language,
        "username": employee.username,
        "email": employee.profile.email,
    }
    return Response(200, content_types.APPLICATION_JSON, json.dumps(profile, ensure_ascii=False), SECURITY_HEADERS)


@app.route("/static/style.css", method=["GET", "HEAD"])
def stylesheet() -> Response[str]:
    headers = SECURITY_HEADERS | {"Cache-Control": "public, max-age=3600"}
    return Response(200, "text/css; charset=utf-8", _stylesheet(), headers)


@cache
def _stylesheet() -> str:
    return (HERE / "static" / "style.css").read_text(encoding="utf-8")


# ---------------------------------------------------------------- everything else


@app.exception_handler(BadFormError)
def _bad_form(_: BadFormError) -> Response[str]:
    return error_page(400)


@app.exception_handler(StoreBusyError)
def _busy(_: StoreBusyError) -> Response[str]:
    response = error_page(503)
    response.headers["Retry-After"] = "2"
    return response


@app.exception_handler(ForbiddenError)
def _forbidden(error: ForbiddenError) -> Response[str]:
    logger.warning("session form refused", extra={"code": error.code})
    return error_page(403)


@app.not_found
def _not_found(_: Exception) -> Response[str]:
    return error_page(404)


@app.exception_handler(Exception)
def _unexpected(_: Exception) -> Response[str]:
    logger.exception("unhandled error")
    try:
        return error_page(500)
    except Exception:  # the page itself failed: still answer, plainly
        logger.exception("error page failed")
        return Response(500, "text/plain; charset=utf-8", "Er ging iets mis. / Something went wrong.", SECURITY_HEADERS)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)  # pages hold CSRF tokens and personal data
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = app.resolve(event, context)
    if event.get("httpMethod") == "HEAD":
        response["body"] = ""
        response["isBase64Encoded"] = False
    return response
