"""End-to-end tests: the product over HTTP, against the local stack started the way `make run` starts it.

Fixtures:

- `stack` (session): the local stack on the repository's template.yaml, as a `LocalStackProcess`:
  `.url`, `.http` (an `Http` client on that URL), `.employer_token(employer_id) -> str` (an ID token
  of the employer-admin pool, in the group `employer-<employerId>`), `.outbox() -> list[dict]` (mail
  sent so far, oldest first: to, subject, html, text, sentAt), `.clock() -> dict` and
  `.advance_clock(seconds) -> dict` (`{"now", "offsetSeconds"}`), `.run(function) -> dict` (runs a
  scheduled or queue-driven function now, by CodeUri directory or logical id: `{"function", "result"}`),
  `.reset()` (empties every table, pool, bucket and queue), `.log() -> str` (its output so far).
  The stack is shared by the whole session: use employer ids of your own, and move the clock only in
  tests that can live with it having moved before.
- `http`: `Http(stack.url)`. `http.get(path, token=..., headers=...)`, `.post/.put/.delete/.head(path,
  json=... or data=...)` answer `HttpReply(status, headers, body)` and never raise on 4xx or 5xx; the
  body is parsed JSON for JSON answers, text for text, bytes otherwise; redirects are not followed.
- `start_local_stack` (session): a factory, `start_local_stack(template: Path | None)`, for a stack of
  one's own (e.g. on a small template); every stack it started is stopped at the end of the session.
"""

from __future__ import annotations

import json as jsonlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from email.message import Message
from pathlib import Path
from typing import Any, NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60


class HttpReply(NamedTuple):
    status: int
    headers: Message
    body: Any  # parsed JSON, text, or bytes, by the answer's Content-Type


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_UNSET: Any = object()


class Http:
    """A tiny JSON-minded HTTP client on one base URL that hands back every answer, errors included."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirects)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = _UNSET,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
    ) -> HttpReply:
        sent = dict(headers or {})
        if json is not _UNSET:
            data = jsonlib.dumps(json)
            sent.setdefault("Content-Type", "application/json")
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        body = data.encode() if isinstance(data, str) else data
        request = urllib.request.Request(self.base_url + path, data=body, headers=sent, method=method)
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                return _reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            with error:
                return _reply(error.code, error.headers, error.read())

    def get(self, path: str, **kwargs: Any) -> HttpReply:
        return self.request("GET", path, **kwargs)

    def head(self, path: str, **kwargs: Any) -> HttpReply:
        return self.request("HEAD", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HttpReply:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> HttpReply:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> HttpReply:
        return self.request("DELETE", path, **kwargs)


def _reply(status: int, headers: Message, raw: bytes) -> HttpReply:
    content_type = (headers.get("Content-Type") or "").lower()
    body: Any = raw
    if "json" in content_type and raw:
        body = jsonlib.loads(raw)
    elif content_type.startswith("text/") or "json" in content_type:
        body = raw.decode("utf-8", errors="replace")
    return HttpReply(status, headers, body)


class LocalStackProcess:
    """A running `python -m local` and the helpers of API.md's "Local stack only" routes."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
        self.process = process
        self.url = url
        self.http = Http(url)
        self._log_path = log_path

    def log(self) -> str:
        return self._log_path.read_text(encoding="utf-8", errors="replace")

    def _ok(self, reply: HttpReply, what: str) -> Any:
        assert reply.status == 200, f"{what}: {reply.status} {reply.body!r}"
        return reply.body

    def employer_token(self, employer_id: str) -> str:
        reply = self.http.post("/_local/employer-token", json={"employerId": employer_id})
        return str(self._ok(reply, f"employer token for {employer_id}")["token"])

    def outbox(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self._ok(self.http.get("/_local/outbox.json"), "outbox")["messages"]
        return messages

    def clock(self) -> dict[str, Any]:
        answer: dict[str, Any] = self._ok(self.http.get("/_local/clock"), "clock")
        return answer

    def advance_clock(self, seconds: float) -> dict[str, Any]:
        reply = self.http.post("/_local/clock", json={"advanceSeconds": seconds})
        answer: dict[str, Any] = self._ok(reply, f"advancing the clock {seconds} s")
        return answer

    def run(self, function: str) -> dict[str, Any]:
        answer: dict[str, Any] = self._ok(self.http.post(f"/_local/run/{function}"), f"running {function}")
        return answer

    def reset(self) -> None:
        self._ok(self.http.post("/_local/reset"), "reset")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_local/health", timeout=2) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def start_stack(template: Path | None, log_dir: Path) -> LocalStackProcess:
    """Start `python -m local` on a free port and wait until it is healthy; fail with its output if it is not."""
    port = _free_port()
    env = {**os.environ, "PORT": str(port), "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)])}
    command = [sys.executable, "-m", "local", *(["--template", str(template)] if template else [])]
    log_path = log_dir / f"local-stack-{port}.log"
    with log_path.open("wb") as log_file:  # a file, not a pipe: nobody reads a pipe until it blocks the stack
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    stack = LocalStackProcess(process, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + STARTUP_SECONDS
    while not _healthy(stack.url):
        if process.poll() is not None:
            pytest.fail(f"the local stack exited with {process.returncode}:\n{stack.log()}")
        if time.monotonic() > deadline:
            stack.stop()
            pytest.fail(f"the local stack was not healthy within {STARTUP_SECONDS} s:\n{stack.log()}")
        time.sleep(0.2)
    return stack


@pytest.fixture(scope="session")
def start_local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Path | None], LocalStackProcess]]:
    started: list[LocalStackProcess] = []

    def start(template: Path | None = None) -> LocalStackProcess:
        stack = start_stack(template, tmp_path_factory.mktemp("local-stack"))
        started.append(stack)
        return stack

    yield start
    for stack in started:
        stack.stop()


@pytest.fixture(scope="session")
def stack(start_local_stack: Callable[[Path | None], LocalStackProcess]) -> LocalStackProcess:
    return start_local_stack(None)


@pytest.fixture
def http(stack: LocalStackProcess) -> Http:
    return stack.http


@pytest.fixture
def aws(stack: LocalStackProcess) -> dict[str, Any]:
    """Clients of the stack's AWS emulation, the employee pool and client, and the tables by short name
    (`aws["invitations"]`), for tests that look at what a request left behind."""
    import boto3

    from tests.activation_helpers import aws_endpoint

    endpoint = aws_endpoint(stack)
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
    cognito = boto3.client("cognito-idp", endpoint_url=endpoint)
    pool = next(p["Id"] for p in cognito.list_user_pools(MaxResults=60)["UserPools"] if "employees" in p["Name"])
    client = cognito.list_user_pool_clients(UserPoolId=pool, MaxResults=60)["UserPoolClients"][0]["ClientId"]
    tables = dynamodb.list_tables()["TableNames"]
    short = ("employers", "employees", "invitations", "links", "usernames", "sessions")
    return {
        "dynamodb": dynamodb,
        "cognito": cognito,
        "pool": pool,
        "client": client,
        **{name: next(t for t in tables if t.lower().endswith(f"{name}table")) for name in short},
    }
