"""What the domain needs from the outside world. `data` implements these with PynamoDB, the tests
with in-memory fakes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from werknemerloket.domain.accounts import Account, IdentityTokens, IdTokenClaims, Session, UsernameClaim
from werknemerloket.domain.entities import (
    AccessStatus,
    Employee,
    EmployeeProfile,
    Employer,
    Invitation,
    InvitationStatus,
)
from werknemerloket.mail.message import MailContent, MailContext, MailKind, MailTemplate, TemplateInForce


class EmployerRepository(Protocol):
    def put(self, employer: Employer, now: datetime) -> Employer: ...

    def get(self, employer_id: str) -> Employer | None: ...


class EmployeeRepository(Protocol):
    def save_profile(self, employer_id: str, employee_id: str, profile: EmployeeProfile, now: datetime) -> Employee:
        """Create the employee or update its profile, leaving its access state as it is."""
        ...

    def get(self, employer_id: str, employee_id: str) -> Employee | None: ...

    def page(
        self, employer_id: str, status: AccessStatus | None, now: datetime, limit: int, after: str | None
    ) -> tuple[list[Employee], str | None]:
        """Up to `limit` employees whose access status at `now` is `status` (any when None), in id
        order after the employee id `after`; and the id to continue after, or None at the end."""
        ...


class StaleStateError(Exception):
    """The records changed between reading and the conditional write; nothing was written."""


@dataclass(frozen=True)
class MailingRead:
    """What deciding on and writing an invitation mail needs, read together."""

    employee: Employee | None
    employer: Employer | None
    own_texts: dict[str, MailTemplate]  # the employer's own texts of the mail's kind, by language


class InvitationRepository(Protocol):
    """Every method is one DynamoDB transaction whose conditions guard the state it was read in."""

    def read(self, employer_id: str, employee_id: str, kind: MailKind) -> MailingRead:
        """The employee, the employer and the employer's own texts of `kind`, in one consistent read."""
        ...

    def open(self, employee: Employee, invitation: Invitation, token_hash: str, now: datetime) -> None:
        """Store a new invitation and its link; the employee becomes invited. An earlier invitation
        that is open but past its expiry is ended as expired."""
        ...

    def replace(self, employee: Employee, new: Invitation, token_hash: str, now: datetime) -> None:
        """End the employee's open invitation as replaced and store `new` in its place."""
        ...

    def revoke(self, employee: Employee, now: datetime) -> None: ...

    def undo_open(self, before: Employee, invitation: Invitation, token_hash: str) -> None:
        """Take back `open` when the mail could not be sent."""
        ...

    def undo_replace(self, before: Employee, new: Invitation, token_hash: str) -> None:
        """Take back `replace` when the mail could not be sent: the earlier invitation is open again."""
        ...


class Mailer(Protocol):
    def send(self, to: str, content: MailContent) -> None:
        """Send one mail to one address, or raise `MailNotSentError`."""
        ...


class TemplateStore(Protocol):
    """Employers' own mail texts, one per employer, kind and language."""

    def get(self, employer_id: str, kind: MailKind, language: str) -> MailTemplate | None: ...

    def put(self, employer_id: str, kind: MailKind, language: str, template: MailTemplate, now: datetime) -> None: ...

    def delete(self, employer_id: str, kind: MailKind, language: str) -> None:
        """Idempotent: deleting a text that is not there changes nothing."""
        ...


class MailRenderer(Protocol):
    def render(self, kind: MailKind, employer_id: str, context: MailContext) -> MailContent:
        """The mail text in force (the employer's custom one, else the standard) filled in."""
        ...

    def render_in_force(self, text: TemplateInForce, context: MailContext) -> MailContent:
        """A text in force read before, filled in."""
        ...


# ---------------------------------------------------------------- activation and sessions (issue 4)


class UsernameTakenError(StaleStateError):
    """The username is claimed already (by another employee, or by this invitation before)."""


class StoreBusyError(Exception):
    """Concurrent transactions kept the store from applying a change, also after a few retries;
    nothing was written, and the same request may succeed a moment later."""


class ActivationRepository(Protocol):
    """The employee's half of an invitation. Each change is one conditional write or transaction."""

    def invitation_by_link(self, token_hash: str) -> Invitation | None:
        """The invitation a link opens (consistent read), whatever its state."""
        ...

    def invitation(self, invitation_id: str) -> Invitation | None:
        """One invitation again (consistent read), e.g. after a conditional write on it failed."""
        ...

    def employee_with_employer(self, employer_id: str, employee_id: str) -> tuple[Employee | None, Employer | None]: ...

    def count_wrong_answer(
        self, invitation_id: str, now: datetime, status: InvitationStatus = InvitationStatus.PENDING
    ) -> int:
        """Add one attempt atomically while the invitation is open for an answer and under the limit:
        pending and unexpired, or (`status` USED, an unfinished account) used. The attempts counted
        so far; StaleStateError when it was not open for an answer."""
        ...

    def lock(self, invitation: Invitation, now: datetime) -> None:
        """The invitation, with its attempts used up, and its employee's summary become locked."""
        ...

    def mark_verified(
        self, invitation_id: str, now: datetime, secret_hash: str, status: InvitationStatus = InvitationStatus.PENDING
    ) -> None:
        """Record a right answer and the hash of the secret its browser holds (replacing any earlier
        one), while the invitation is open for an answer as in `count_wrong_answer`; StaleStateError
        otherwise."""
        ...

    def complete(
        self,
        invitation: Invitation,
        claim: UsernameClaim,
        username: str,
        now: datetime,
        verified_since: datetime,
        secret_hash: str,
    ) -> None:
        """Claim the username, end the invitation as used and make the employee active, together.
        UsernameTakenError when only the username was taken; StaleStateError when the invitation or
        the employee moved on (or its latest right answer is not `secret_hash`'s, since `verified_since`)."""
        ...

    def username_claim(self, key: str) -> UsernameClaim | None: ...


class SessionRepository(Protocol):
    def create(self, session: Session) -> None: ...

    def get(self, session_hash: str) -> Session | None:
        """Consistent read: a session is used right after it was created."""
        ...

    def account(self, employer_id: str, employee_id: str) -> Account | None:
        """The employee and its employer in one consistent read."""
        ...

    def username_claim(self, key: str) -> UsernameClaim | None: ...

    def sign_out(self, session: Session, signed_out_at: datetime, tokens_not_before: datetime) -> None:
        """End `session` and mark every earlier session and ID token of its employee as signed out."""
        ...


class AccountExistsError(Exception):
    """The identity provider has an account under this username already."""


class LoginRefusedError(Exception):
    """Wrong username or password; deliberately silent about which."""


class TokenRejectedError(Exception):
    """An ID token that is not a valid, unexpired employee ID token of this pool and client."""


class IdentityProvider(Protocol):
    """The employee user pool. Usernames handed in are already case-folded."""

    def create_user(self, username: str) -> None:
        """An account without a usable password (nothing is mailed); AccountExistsError if taken."""
        ...

    def has_password(self, username: str) -> bool | None:
        """None without an account, False while it has no password of its owner yet, else True."""
        ...

    def set_password(self, username: str, password: str) -> None: ...

    def login(self, username: str, password: str) -> IdentityTokens:
        """LoginRefusedError for a wrong password and for an unknown username alike."""
        ...

    def sign_out_everywhere(self, username: str) -> datetime:
        """Revoke the user's refresh tokens; answers the moment of revocation in the provider's own
        time (which stamps the tokens' `iat`), not the functions' clock."""
        ...

    def verify_id_token(self, token: str) -> IdTokenClaims:
        """Signature, expiry, issuer, audience and token use; TokenRejectedError otherwise."""
        ...
