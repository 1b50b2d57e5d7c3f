"""Portal sessions: logging in, recognising the employee on each request, signing out everywhere.

A session is a 256-bit cookie value whose SHA-256 keys a server-side item; it is created only after a
successful Cognito login and keeps none of that login's tokens (nothing would read them, and a stored
refresh token would be one more secret to lose). Signing out everywhere revokes the Cognito tokens and
stamps the employee, so every session and ID token issued before is refused.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from werknemerloket.clock import Clock
from werknemerloket.domain.accounts import Account, Session, UsernameClaim
from werknemerloket.domain.entities import AccessStatus
from werknemerloket.domain.passwords import PASSWORD_MAX, USERNAME_PATTERN, username_key
from werknemerloket.domain.ports import IdentityProvider, LoginRefusedError, SessionRepository, TokenRejectedError
from werknemerloket.domain.tokens import new_token, token_hash, well_formed
from werknemerloket.errors import ForbiddenError, UnauthenticatedError
from werknemerloket.observability import MetricUnit, logger, metrics

# As long as the employee pool's refresh tokens live (RefreshTokenValidity in template.yaml).
SESSION_LIFETIME = timedelta(hours=12)


class LoginFailedError(UnauthenticatedError):
    """One answer for an unknown username and a wrong password alike (no user enumeration)."""

    def __init__(self) -> None:
        super().__init__("The username or password is not right.", code="LOGIN_FAILED")


@dataclass(frozen=True)
class SessionGrant:
    """A new session and the cookie value that opens it; the value is never stored or logged."""

    cookie_value: str
    session: Session


@dataclass(frozen=True)
class Authenticated:
    account: Account
    session: Session | None  # None when an ID token authenticated the request


def _unauthenticated() -> UnauthenticatedError:
    return UnauthenticatedError("Log in to continue.")


class SessionService:
    def __init__(self, repository: SessionRepository, identity: IdentityProvider, clock: Clock):
        self._repository = repository
        self._identity = identity
        self._clock = clock

    def start(self, claim: UsernameClaim) -> SessionGrant:
        """A new session for the claim's employee; call only after its password logged in."""
        now = self._clock.now()
        cookie_value = new_token()
        session = Session(
            session_hash=token_hash(cookie_value),
            employer_id=claim.employer_id,
            employee_id=claim.employee_id,
            username=claim.key,
            csrf_token=new_token(),
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
        self._repository.create(session)
        return SessionGrant(cookie_value, session)

    def login(self, username: str, password: str) -> SessionGrant:
        username = username.strip()
        if not USERNAME_PATTERN.fullmatch(username) or not password or len(password) > PASSWORD_MAX:
            # The rules are public, so refusing early tells nothing about who has an account.
            raise LoginFailedError()
        key = username_key(username)
        try:
            self._identity.login(key, password)
        except LoginRefusedError:
            metrics.add_metric(name="LoginsFailed", unit=MetricUnit.Count, value=1)
            raise LoginFailedError() from None
        claim = self._repository.username_claim(key)
        if claim is None:
            logger.error("an account without a username claim logged in")
            raise LoginFailedError()
        metrics.add_metric(name="LoginsSucceeded", unit=MetricUnit.Count, value=1)
        grant = self.start(claim)
        logger.info("employee logged in", extra={"employerId": claim.employer_id, "employeeId": claim.employee_id})
        return grant

    def authenticate(self, cookie_value: str | None, bearer: str | None = None) -> Authenticated:
        """The session cookie, else an employee ID token; UnauthenticatedError when neither holds."""
        if cookie_value and well_formed(cookie_value):
            session = self._session(cookie_value)
            if session is not None:
                account = self._active(session.employer_id, session.employee_id)
                if account is not None and (
                    account.signed_out_at is None or session.created_at >= account.signed_out_at
                ):
                    return Authenticated(account, session)
        if bearer:
            return Authenticated(self._from_id_token(bearer), None)
        raise _unauthenticated()

    def _session(self, cookie_value: str) -> Session | None:
        session = self._repository.get(token_hash(cookie_value))
        if session is None or self._clock.now() >= session.expires_at:
            return None
        return session

    def _active(self, employer_id: str, employee_id: str) -> Account | None:
        account = self._repository.account(employer_id, employee_id)
        if account is None or account.employee.state is not AccessStatus.ACTIVE:
            return None
        return account

    def _from_id_token(self, token: str) -> Account:
        try:
            claims = self._identity.verify_id_token(token)
        except TokenRejectedError:
            raise _unauthenticated() from None
        claim = self._repository.username_claim(claims.username)
        if claim is None or (claim.tokens_not_before is not None and claims.issued_at < claim.tokens_not_before):
            raise _unauthenticated()
        account = self._active(claim.employer_id, claim.employee_id)
        if account is None or account.employee.username is None or username_key(account.employee.username) != claim.key:
            raise _unauthenticated()
        return account

    def logout(self, cookie_value: str | None, csrf_token: str) -> bool:
        """Sign the employee out everywhere. False when there was no live session to end; a session
        POST without its own CSRF token is refused."""
        session = self._session(cookie_value) if cookie_value and well_formed(cookie_value) else None
        if session is None:
            return False
        if not hmac.compare_digest(csrf_token.encode(), session.csrf_token.encode()):
            raise ForbiddenError("The form is not from this session.", code="CSRF_MISMATCH")
        revoked_at = self._identity.sign_out_everywhere(session.username)
        # ID tokens carry whole seconds: one stamped in the second of the revocation may predate it.
        tokens_not_before = revoked_at.replace(microsecond=0) + timedelta(seconds=1)
        self._repository.sign_out(session, self._clock.now(), tokens_not_before)
        metrics.add_metric(name="Logouts", unit=MetricUnit.Count, value=1)
        logger.info(
            "employee signed out everywhere",
            extra={"employerId": session.employer_id, "employeeId": session.employee_id},
        )
        return True


def signed_out_before(moment: datetime, signed_out_at: datetime | None) -> bool:
    return signed_out_at is not None and moment < signed_out_at
