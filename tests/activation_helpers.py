"""What the end-to-end and browser tests of the employee pages share: an employer that invites
employees through the real API, the link out of the mail it sent, and reading the pages' markers."""

from __future__ import annotations

import json
import re
import urllib.request
import uuid
from typing import Any
from urllib.parse import urlencode, urlsplit

BIRTH = "1990-05-17"
WRONG_BIRTH = "1990-05-18"
PASSWORD = "paarden eten graag hooi"
_LINK = re.compile(r"https?://[^\s\"'<>]+/activate\?token=[A-Za-z0-9_-]{43}")
_PAGE = re.compile(r'<main[^>]*\sdata-page="([^"]+)"')
_STATE = re.compile(r'<main[^>]*\sdata-state="([^"]+)"')
_VERIFICATION = re.compile(r'<input type="hidden" name="verification" value="([A-Za-z0-9_-]{43})">')


class Employer:
    """One employer of its own (ids are unique per test) driven through the employer API."""

    def __init__(self, stack: Any, name: str = "Bakkerij De Gouden Korst B.V.", employer_id: str | None = None):
        self.stack = stack
        self.http = stack.http
        self.employer_id = employer_id or f"wnl-{uuid.uuid4().hex[:10]}"
        self.name = name
        self.token = stack.employer_token(self.employer_id)
        self._ok(self.http.put(f"/employers/{self.employer_id}", json={"name": name}, token=self.token), 200)

    @staticmethod
    def _ok(reply: Any, status: int) -> Any:
        assert reply.status == status, f"{reply.status}: {reply.body!r}"
        return reply.body

    def path(self, employee_id: str, rest: str = "") -> str:
        """The employee's path in the employer API, e.g. `path("1001", "/access")`."""
        return f"/employers/{self.employer_id}/employees/{employee_id}{rest}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request as this employer's admin, answered whatever its status (an `HttpReply`);
        `json=`, `data=` and `headers=` as `Http.request` takes them."""
        return self.http.request(method, path, token=self.token, **kwargs)

    def email(self, employee_id: str) -> str:
        return f"{employee_id}.{self.employer_id}@example.nl".lower()

    def employee(
        self, employee_id: str, name: str = "Jan de Vries", language: str = "nl", date_of_birth: str = BIRTH
    ) -> str:
        body = {"name": name, "email": self.email(employee_id), "dateOfBirth": date_of_birth, "language": language}
        self._ok(self.call("PUT", self.path(employee_id), json=body), 200)
        return employee_id

    def grant(self, employee_id: str) -> str:
        """Grant access and answer the activation link from the mail the employee received."""
        self._ok(self.call("POST", self.path(employee_id, "/access")), 201)
        return self.latest_link(employee_id)

    def resend(self, employee_id: str) -> str:
        self._ok(self.call("POST", self.path(employee_id, "/invitation/resend")), 200)
        return self.latest_link(employee_id)

    def revoke(self, employee_id: str) -> None:
        self._ok(self.call("DELETE", self.path(employee_id, "/invitation")), 200)

    def get(self, employee_id: str) -> dict[str, Any]:
        """The whole employee resource, as `GET .../employees/{employeeId}` answers it."""
        employee: dict[str, Any] = self._ok(self.call("GET", self.path(employee_id)), 200)
        return employee

    def access(self, employee_id: str) -> dict[str, Any]:
        access: dict[str, Any] = self.get(employee_id)["access"]
        return access

    def mails(self, employee_id: str) -> list[dict[str, Any]]:
        """The mail the stack sent to this employee's address so far, oldest first."""
        return [m for m in self.stack.outbox() if m["to"] == self.email(employee_id)]

    def latest_link(self, employee_id: str) -> str:
        mails = self.mails(employee_id)
        assert mails, f"no mail to {self.email(employee_id)}"
        return link_in(mails[-1])


def link_in(mail: dict[str, Any]) -> str:
    found = _LINK.findall(mail["text"] or "") or _LINK.findall(mail["html"] or "")
    assert found, f"no activation link in {mail['subject']!r}"
    return str(found[0]).replace("&amp;", "&")


def path_of(url: str) -> str:
    """The path and query of a link, to request it from the stack's own base URL."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def token_of(url: str) -> str:
    return url.rsplit("token=", 1)[1]


def data_page(html: str) -> str | None:
    found = _PAGE.search(html)
    return found.group(1) if found else None


def data_state(html: str) -> str | None:
    found = _STATE.search(html)
    return found.group(1) if found else None


def post_form(http: Any, path: str, fields: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
    return http.post(path, data=urlencode(fields), headers=sent)


def verify(http: Any, link: str, date_of_birth: str = BIRTH) -> str:
    """Answer the link's date-of-birth question rightly; the verification secret the credentials form
    then carries (a hidden field: the credentials step is open only to the browser that answered)."""
    reply = post_form(http, "/activate", {"token": token_of(link), "dateOfBirth": date_of_birth})
    assert (reply.status, data_page(reply.body)) == (200, "activate-credentials"), reply.body
    secret = verification_in(reply.body)
    assert secret, "the credentials form carries no verification secret"
    return secret


def verification_in(html: str) -> str | None:
    """The verification secret a credentials form carries, if any."""
    found = _VERIFICATION.search(html)
    return found.group(1) if found else None


def complete(http: Any, link: str, verification: str, username: str, password: str = PASSWORD) -> Any:
    """Send the credentials form of the link's invitation as the browser holding `verification` (what
    `verify` answered); its reply, whatever it is."""
    fields = {
        "token": token_of(link),
        "verification": verification,
        "username": username,
        "password": password,
        "passwordConfirm": password,
    }
    return post_form(http, "/activate/credentials", fields)


def activate(http: Any, link: str, username: str, password: str = PASSWORD, date_of_birth: str = BIRTH) -> Any:
    """The employee's whole activation through the pages (POST /activate, POST /activate/credentials);
    the final reply, a 303 to /portal that sets the session cookie."""
    reply = complete(http, link, verify(http, link, date_of_birth), username, password)
    assert (reply.status, reply.headers.get("Location")) == (303, "/portal"), reply.body
    return reply


def session_cookie(reply: Any) -> str:
    """`name=value` of the session cookie a reply set."""
    [cookie] = [c for c in reply.headers.get_all("Set-Cookie") or [] if c.startswith("__Host-wnl_session=")]
    return str(cookie.split(";", 1)[0])


def aws_endpoint(stack: Any) -> str:
    with urllib.request.urlopen(f"{stack.url}/_local/health", timeout=5) as response:
        return str(json.load(response)["awsEndpointUrl"])
