"""The embedded AWS emulation: moto's server, in this process, on a free loopback port.

It is moto's own `ThreadedMotoServer`, assembled from the same parts, with one change: requests are
served one at a time. moto's backends are not thread-safe, so two concurrent conditional writes can
both "win" (measured: 7 of 50 concurrent `attempts < 5` updates succeeded). DynamoDB guarantees that
exactly one wins, and the product's invariants rest on that guarantee, so the local stack must keep
it too. The price is that nothing may block inside moto: the queue pollers here never long-poll.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _OneAtATime:
    """WSGI middleware that runs the wrapped application under a lock, body included."""

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            chunks = self._app(environ, start_response)
            try:
                return [b"".join(chunks)]
            finally:
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()


class Emulator:
    def __init__(self) -> None:
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = _OneAtATime(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator has not been started")
        return f"http://127.0.0.1:{self._server.server_port}"

    def reset(self) -> None:
        """Forget every resource and item, as moto's reset API does."""
        request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")  # noqa: S310 - our http URL
        urllib.request.urlopen(request, timeout=30).close()  # noqa: S310

    def model_data(self) -> dict[str, Any]:
        """moto's dump of its models (`/moto-api/data.json`), e.g. the mail SES took."""
        with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=60) as response:  # noqa: S310
            data: dict[str, Any] = json.load(response)
        return data

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join()
