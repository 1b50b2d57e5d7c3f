"""The mail the functions sent, as `/_local/outbox` shows it: read back from moto's SES.

moto keeps every raw message SES accepted, in order, but not when it was sent. The outbox stamps a
message with the (shifted) clock the first time it sees it, and looks before every clock move, so a
mail sent before `POST /_local/clock` never appears to have been sent after it.
"""

from __future__ import annotations

import email
import email.policy
import threading
from email.message import EmailMessage
from typing import Any, cast

from local.emulator import Emulator
from werknemerloket.clock import Clock, to_iso


def _part(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    return None if part is None else str(part.get_content())


def _parse(raw: dict[str, Any]) -> dict[str, Any]:
    # The `default` policy makes the parser build EmailMessage objects.
    message = cast(EmailMessage, email.message_from_string(raw["raw_data"], policy=email.policy.default))
    to_header = message["To"]
    recipients = [address.addr_spec for address in to_header.addresses] if to_header else raw["destinations"]
    return {
        "to": ", ".join(recipients),
        "subject": str(message["Subject"] or ""),
        "html": _part(message, "html"),
        "text": _part(message, "plain"),
    }


class Outbox:
    def __init__(self, emulator: Emulator, clock: Clock) -> None:
        self._emulator = emulator
        self._clock = clock
        self._sent_at: dict[str, str] = {}
        self._lock = threading.Lock()

    def messages(self) -> list[dict[str, Any]]:
        """Every mail sent so far, oldest first: {"to", "subject", "html", "text", "sentAt"}."""
        return [{**_parse(raw), "sentAt": sent_at} for raw, sent_at in self._stamped()]

    def observe(self) -> None:
        """Stamp what was sent so far with the current time; called before the clock moves."""
        self._stamped()

    def _stamped(self) -> list[tuple[dict[str, Any], str]]:
        raw_messages = self._emulator.model_data().get("ses", {}).get("RawMessage", [])
        now = to_iso(self._clock.now())
        with self._lock:
            return [(raw, self._sent_at.setdefault(raw["id"], now)) for raw in raw_messages]

    def forget(self) -> None:
        with self._lock:
            self._sent_at.clear()
