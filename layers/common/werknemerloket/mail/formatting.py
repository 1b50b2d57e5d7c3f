"""Moments as a Dutch or English reader of a mail expects them, in Amsterdam time.

Day and month names are written out here rather than taken from the C locale, which Lambda does not
have for Dutch.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

_DAYS = {
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "nl": (
        "januari", "februari", "maart", "april", "mei", "juni",
        "juli", "augustus", "september", "oktober", "november", "december",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
}  # fmt: skip


def format_moment(moment: datetime, language: str) -> str:
    """'dinsdag 8 december 2026 om 16:20' or 'Tuesday 8 December 2026 at 16:20 (Amsterdam time)'."""
    if moment.tzinfo is None:
        raise ValueError("the moment must be timezone-aware")
    if language not in _DAYS:
        raise ValueError(f"no date format for language {language!r}")
    local = moment.astimezone(AMSTERDAM)
    day = _DAYS[language][local.weekday()]
    date = f"{day} {local.day} {_MONTHS[language][local.month - 1]} {local.year}"
    if language == "nl":
        return f"{date} om {local:%H:%M}"
    return f"{date} at {local:%H:%M} (Amsterdam time)"
