"""In-memory stand-ins for the activation and session stores and the Cognito gateway.

They check the same conditions the DynamoDB writes carry and apply a transaction's writes only when
every condition holds, so the domain's race handling is exercised, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from werknemerloket.clock import FixedClock
from werknemerloket.domain.accounts import Account, IdentityTokens, IdTokenClaims, Session, UsernameClaim
from werknemerloket.domain.entities import (
    INVITATION_VALIDITY,
    MAX_DOB_ATTEMPTS,
    AccessStatus,
    Employee,
    Employer,
    Invitation,
    InvitationStatus,
)
from werknemerloket.domain.ports import (
    AccountExistsError,
    LoginRefusedError,
    StaleStateError,
    TokenRejectedError,
    UsernameTakenError,
)
from werknemerloket.domain.tokens import new_token, token_hash


@dataclass
class FakeAccountStore:
    """Employees, employers, invitations, links, usernames and sessions, as the tables hold them."""

    employees: dict[tuple[str, str], Employee] = field(default_factory=dict)
    employers: dict[str, Employer] = field(default_factory=dict)
    invitations: dict[str, Invitation] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    usernames: dict[str, UsernameClaim] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    signed_out: dict[tuple[str, str], datetime] = field(default_factory=dict)
    writes: int = 0

    # ------------------------------------------------------------ set-up helpers for tests

    def invite(self, employee: Employee, now: datetime, token: str | None = None) -> tuple[Invitation, str]:
        token = token or new_token()
        invitation = Invitation(
            invitation_id=f"inv-{len(self.invitations) + 1}",
            employer_id=employee.employer_id,
            employee_id=employee.employee_id,
            status=InvitationStatus.PENDING,
            sent_at=now,
            expires_at=now + INVITATION_VALIDITY,
            send_count=1,
        )
        self.invitations[invitation.invitation_id] = invitation
        self.links[token_hash(token)] = invitation.invitation_id
        self.employees[(employee.employer_id, employee.employee_id)] = replace(
            employee, state=AccessStatus.INVITED, invitation=invitation.summary()
        )
        return invitation, token

    def set_status(self, invitation_id: str, status: InvitationStatus) -> None:
        invitation = replace(self.invitations[invitation_id], status=status)
        self.invitations[invitation_id] = invitation
        key = (invitation.employer_id, invitation.employee_id)
        summary = self.employees[key].invitation
        assert summary is not None
        self.employees[key] = replace(self.employees[key], invitation=replace(summary, status=status))

    # ------------------------------------------------------------ ActivationRepository

    def invitation_by_link(self, token_hash: str) -> Invitation | None:
        invitation_id = self.links.get(token_hash)
        return self.invitations.get(invitation_id) if invitation_id else None

    def invitation(self, invitation_id: str) -> Invitation | None:
        return self.invitations.get(invitation_id)

    def employee_with_employer(self, employer_id: str, employee_id: str) -> tuple[Employee | None, Employer | None]:
        return self.employees.get((employer_id, employee_id)), self.employers.get(employer_id)

    def _answerable(
        self, invitation_id: str, now: datetime, status: InvitationStatus = InvitationStatus.PENDING
    ) -> Invitation:
        invitation = self.invitations.get(invitation_id)
        if (
            invitation is None
            or invitation.status is not status
            or (status is InvitationStatus.PENDING and not invitation.expires_at > now.replace(microsecond=0))
            or invitation.attempts >= MAX_DOB_ATTEMPTS
        ):
            raise StaleStateError("not answerable")
        return invitation

    def count_wrong_answer(
        self, invitation_id: str, now: datetime, status: InvitationStatus = InvitationStatus.PENDING
    ) -> int:
        invitation = self._answerable(invitation_id, now, status)
        self.invitations[invitation_id] = replace(invitation, attempts=invitation.attempts + 1)
        self.writes += 1
        return invitation.attempts + 1

    def lock(self, invitation: Invitation, now: datetime) -> None:
        current = self.invitations[invitation.invitation_id]
        employee = self.employees.get((invitation.employer_id, invitation.employee_id))
        if current.status is not InvitationStatus.PENDING or current.attempts < MAX_DOB_ATTEMPTS:
            raise StaleStateError("not lockable")
        if (
            employee is None
            or employee.invitation is None
            or employee.invitation.invitation_id != current.invitation_id
        ):
            raise StaleStateError("employee moved on")
        self.set_status(invitation.invitation_id, InvitationStatus.LOCKED)
        self.writes += 1

    def mark_verified(
        self, invitation_id: str, now: datetime, secret_hash: str, status: InvitationStatus = InvitationStatus.PENDING
    ) -> None:
        invitation = self._answerable(invitation_id, now, status)
        self.invitations[invitation_id] = replace(
            invitation, verified_at=now.replace(microsecond=0), verification_hash=secret_hash
        )
        self.writes += 1

    def complete(
        self,
        invitation: Invitation,
        claim: UsernameClaim,
        username: str,
        now: datetime,
        verified_since: datetime,
        secret_hash: str,
    ) -> None:
        username_free = claim.key not in self.usernames
        try:
            current = self._answerable(invitation.invitation_id, now)
            invitation_ok = (
                current.verified_at is not None
                and current.verified_at >= verified_since
                and current.verification_hash == secret_hash
            )
        except StaleStateError:
            invitation_ok = False
        employee = self.employees.get((invitation.employer_id, invitation.employee_id))
        employee_ok = (
            employee is not None
            and employee.state is AccessStatus.INVITED
            and employee.invitation is not None
            and employee.invitation.invitation_id == invitation.invitation_id
        )
        if not (invitation_ok and employee_ok):
            raise StaleStateError("invitation or employee moved on")
        if not username_free:
            raise UsernameTakenError(claim.key)
        assert employee is not None
        self.usernames[claim.key] = claim
        self.set_status(invitation.invitation_id, InvitationStatus.USED)
        key = (invitation.employer_id, invitation.employee_id)
        self.employees[key] = replace(
            self.employees[key], state=AccessStatus.ACTIVE, activated_at=now, username=username
        )
        self.writes += 1

    def username_claim(self, key: str) -> UsernameClaim | None:
        return self.usernames.get(key)

    # ------------------------------------------------------------ SessionRepository

    def create(self, session: Session) -> None:
        assert session.session_hash not in self.sessions
        self.sessions[session.session_hash] = session

    def get(self, session_hash: str) -> Session | None:
        return self.sessions.get(session_hash)

    def account(self, employer_id: str, employee_id: str) -> Account | None:
        employee = self.employees.get((employer_id, employee_id))
        if employee is None:
            return None
        employer = self.employers.get(employer_id) or Employer(employer_id, employer_id)
        return Account(employee, employer, self.signed_out.get((employer_id, employee_id)))

    def sign_out(self, session: Session, signed_out_at: datetime, tokens_not_before: datetime) -> None:
        self.sessions.pop(session.session_hash, None)
        self.signed_out[(session.employer_id, session.employee_id)] = signed_out_at
        claim = self.usernames[session.username]
        self.usernames[session.username] = replace(claim, tokens_not_before=tokens_not_before)


@dataclass
class FakeUser:
    password: str | None = None
    logins: int = 0


class FakeIdentity:
    """The employee pool: accounts, their passwords, and ID tokens issued on the pool's own clock."""

    def __init__(self, clock: FixedClock):
        self.clock = clock
        self.users: dict[str, FakeUser] = {}
        self.tokens: dict[str, IdTokenClaims] = {}
        self.signed_out: list[str] = []
        self.failing: set[str] = set()  # method names that raise once, like a network fault

    def _maybe_fail(self, method: str) -> None:
        if method in self.failing:
            self.failing.discard(method)
            raise RuntimeError(f"{method} failed")

    def create_user(self, username: str) -> None:
        self._maybe_fail("create_user")
        if username in self.users:
            raise AccountExistsError(username)
        self.users[username] = FakeUser()

    def has_password(self, username: str) -> bool | None:
        user = self.users.get(username)
        return None if user is None else user.password is not None

    def set_password(self, username: str, password: str) -> None:
        self._maybe_fail("set_password")
        self.users[username].password = password

    def login(self, username: str, password: str) -> IdentityTokens:
        self._maybe_fail("login")
        user = self.users.get(username)
        if user is None or user.password is None or user.password != password:
            raise LoginRefusedError()
        user.logins += 1
        id_token = f"id.{username}.{len(self.tokens)}"
        self.tokens[id_token] = IdTokenClaims(username, self.clock.now().replace(microsecond=0))
        return IdentityTokens(id_token, f"access.{username}")

    def sign_out_everywhere(self, username: str) -> datetime:
        self.signed_out.append(username)
        return self.clock.now()

    def verify_id_token(self, token: str) -> IdTokenClaims:
        claims = self.tokens.get(token)
        if claims is None or self.clock.now() >= claims.issued_at + timedelta(hours=1):
            raise TokenRejectedError("unknown or expired")
        return claims
