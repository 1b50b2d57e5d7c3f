"""The employee's account as values: the claimed username, portal sessions and identity tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from werknemerloket.domain.entities import Employee, Employer


@dataclass(frozen=True)
class UsernameClaim:
    """A case-folded username taken by one employee, through one invitation.

    `tokens_not_before` is in the identity provider's time (see `IdentityProvider.sign_out_everywhere`):
    ID tokens issued before it were issued before the employee signed out everywhere.
    """

    key: str
    employer_id: str
    employee_id: str
    invitation_id: str
    tokens_not_before: datetime | None = None


@dataclass(frozen=True)
class IdentityTokens:
    """What a login answers. No refresh token: nothing uses one, so none is kept anywhere."""

    id_token: str
    access_token: str


@dataclass(frozen=True)
class IdTokenClaims:
    """What the portal needs from a verified employee ID token."""

    username: str
    issued_at: datetime


@dataclass(frozen=True)
class Session:
    """A portal session; stored under the SHA-256 of its cookie value, never the value itself.

    It starts only after a successful Cognito login, lives 12 hours (as long as the pool's refresh
    tokens) and ends with every other session on a sign-out everywhere. It keeps no Cognito token.
    """

    session_hash: str
    employer_id: str
    employee_id: str
    username: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class Account:
    """An employee as the portal sees it: with its employer and its last sign-out everywhere."""

    employee: Employee
    employer: Employer
    signed_out_at: datetime | None = None
