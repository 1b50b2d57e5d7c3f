"""Who is calling: employer admins are in a Cognito group `employer-<employerId>` per employer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werknemerloket.errors import ForbiddenError, UnauthenticatedError

EMPLOYER_GROUP_PREFIX = "employer-"


def employer_group(employer_id: str) -> str:
    return f"{EMPLOYER_GROUP_PREFIX}{employer_id}"


def _groups(raw: Any) -> list[str]:
    """API Gateway hands `cognito:groups` over as a list, a comma-joined string, or "[a b]"."""
    if isinstance(raw, list):
        return [str(group) for group in raw]
    if not isinstance(raw, str) or not raw:
        return []
    text = raw.strip()
    if text.startswith("["):
        try:
            parsed = json.loads(text)
            return [str(group) for group in parsed] if isinstance(parsed, list) else []
        except json.JSONDecodeError:
            text = text.strip("[]").replace(" ", ",")
    return [group.strip() for group in text.split(",") if group.strip()]


def authorize_employer(claims: Mapping[str, Any] | None, employer_id: str) -> None:
    """401 without an authenticated employer admin, 403 when the admin is not in this employer's group."""
    if not claims or not claims.get("sub"):
        raise UnauthenticatedError("A valid employer-admin token is required.")
    if employer_group(employer_id) not in _groups(claims.get("cognito:groups")):
        raise ForbiddenError("This token gives no access to this employer.")
