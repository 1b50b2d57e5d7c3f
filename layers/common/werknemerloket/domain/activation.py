"""The employee's half of an invitation: open the link, answer the date of birth, choose credentials.

Opening a link only reads. Only a right answer moves an invitation forward; every wrong one is
counted by one atomic update that refuses a sixth, and the request that counts the fifth locks the
invitation.

A right answer is tied to the browser that gave it: it mints a verification secret (256 bits),
stores only its SHA-256 beside `verifiedAt` on the invitation and hands the secret to that browser's
credentials form. The credentials step, and the condition of the activation transaction, need that
secret back within 30 minutes: holding the link without knowing the date of birth is not enough to
ride on the real employee's answer. A newer right answer replaces the secret (the latest browser
wins) and so invalidates older forms.

Completion is one transaction (username claim, invitation used, employee active); only after it
commits is the Cognito account created, so an account never exists without an active employee, and a
retry with the same username converges on one account. Should the account stay unfinished (Cognito
failed after the commit), the used link keeps opening the date-of-birth question for as long as the
claimed username's account has no password: a right answer (tries still count), the same username
and a password finish it, however late.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from werknemerloket.clock import Clock
from werknemerloket.domain.accounts import UsernameClaim
from werknemerloket.domain.entities import (
    MAX_DOB_ATTEMPTS,
    Employee,
    Employer,
    Invitation,
    InvitationStatus,
    effective_invitation_status,
)
from werknemerloket.domain.passwords import CredentialIssue, credential_issues, username_key
from werknemerloket.domain.ports import (
    AccountExistsError,
    ActivationRepository,
    IdentityProvider,
    LoginRefusedError,
    StaleStateError,
    UsernameTakenError,
)
from werknemerloket.domain.sessions import SessionGrant, SessionService
from werknemerloket.domain.tokens import new_token, same_hash, token_hash, well_formed
from werknemerloket.errors import ConflictError, DomainError, ForbiddenError, InvalidInputError
from werknemerloket.observability import MetricUnit, logger, metrics

VERIFICATION_WINDOW = timedelta(minutes=30)
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


class NoticeState(StrEnum):
    """Why a link no longer opens the activation; each has its own notice page."""

    REVOKED = "revoked"
    EXPIRED = "expired"
    REPLACED = "replaced"
    USED = "used"
    LOCKED = "locked"
    INVALID = "invalid"


@dataclass(frozen=True)
class LinkView:
    """A link's invitation with the employee and employer its pages speak to."""

    invitation: Invitation
    employee: Employee
    employer: Employer

    @property
    def language(self) -> str:
        return self.employee.profile.language

    @property
    def tries_left(self) -> int:
        return max(0, MAX_DOB_ATTEMPTS - self.invitation.attempts)


def link_status(invitation: Invitation, now: datetime) -> InvitationStatus:
    """Pending with its attempts used up is locked (the lock write may not have happened yet, e.g. a
    crash between the count and the lock); an open invitation past its expiry is expired."""
    status = invitation.status
    if status is InvitationStatus.PENDING and invitation.attempts >= MAX_DOB_ATTEMPTS:
        status = InvitationStatus.LOCKED
    return effective_invitation_status(status, invitation.expires_at, now)


# ---------------------------------------------------------------- outcomes the pages show


class DeadLinkError(DomainError):
    """The link opens nothing any more; `view` is None for an unknown or malformed link."""

    code = "LINK_DEAD"

    def __init__(self, state: NoticeState, view: LinkView | None = None):
        super().__init__(f"The link is {state.value}.")
        self.state = state
        self.view = view


class AnswerError(InvalidInputError):
    """A wrong date of birth (`tries_left` counts down) or no date at all (`tries_left` unchanged)."""

    def __init__(self, view: LinkView, issue: str, tries_left: int):
        super().__init__("The date of birth is not accepted.", code="DATE_OF_BIRTH_REFUSED")
        self.view = view
        self.issue = issue
        self.tries_left = tries_left


class VerificationNeededError(ForbiddenError):
    """Credentials come only within 30 minutes of a right answer on the same invitation, from the
    browser that gave it (its verification secret)."""

    def __init__(self, view: LinkView):
        super().__init__("Answer the date-of-birth question first.", code="VERIFICATION_NEEDED")
        self.view = view


class CredentialsRefusedError(InvalidInputError):
    """`username`, when set, is what the form should show instead of what was sent (the username
    claimed before, when an unfinished account is finished)."""

    def __init__(self, view: LinkView, issues: dict[str, CredentialIssue], username: str | None = None):
        super().__init__("The username or password is not accepted.", code="CREDENTIALS_REFUSED")
        self.view = view
        self.issues = issues
        self.username = username


class UsernameUnavailableError(ConflictError):
    def __init__(self, view: LinkView):
        super().__init__("The username is taken.", code="USERNAME_TAKEN")
        self.view = view
        self.issues = {"username": CredentialIssue.USERNAME_TAKEN}


class AccountNotReadyError(DomainError):
    """The activation committed but the account could not be finished now; sending the same form
    again finishes it (the retry path)."""

    code = "ACCOUNT_NOT_READY"

    def __init__(self, view: LinkView):
        super().__init__("The account could not be completed; please send the form again.")
        self.view = view


@dataclass(frozen=True)
class Verified:
    """A right answer: the credentials step is open for 30 minutes to the browser holding `secret`
    (never stored or logged; only its SHA-256 is). `username` is the one claimed before when an
    unfinished account is being finished, else empty."""

    view: LinkView
    secret: str
    username: str = ""


@dataclass(frozen=True)
class Activated:
    view: LinkView
    session: SessionGrant


def parse_answer(text: str) -> date | None:
    """A date of birth as YYYY-MM-DD; anything else (also an impossible date) is not an answer."""
    text = text.strip()
    if not _DATE_SHAPE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


class ActivationService:
    def __init__(
        self,
        repository: ActivationRepository,
        identity: IdentityProvider,
        sessions: SessionService,
        clock: Clock,
    ):
        self._repository = repository
        self._identity = identity
        self._sessions = sessions
        self._clock = clock

    def _now(self) -> datetime:
        return self._clock.now().replace(microsecond=0)

    # ---------------------------------------------------------------- reading

    def _read(self, token: str | None) -> LinkView:
        if token is None or not well_formed(token):
            raise DeadLinkError(NoticeState.INVALID)
        invitation = self._repository.invitation_by_link(token_hash(token))
        if invitation is None:
            raise DeadLinkError(NoticeState.INVALID)
        employee, employer = self._repository.employee_with_employer(invitation.employer_id, invitation.employee_id)
        if employee is None:
            raise DeadLinkError(NoticeState.INVALID)
        return LinkView(invitation, employee, employer or Employer(invitation.employer_id, invitation.employer_id))

    @staticmethod
    def _dead(view: LinkView, status: InvitationStatus) -> DeadLinkError:
        return DeadLinkError(NoticeState(status.value), view)

    def open(self, token: str | None) -> LinkView:
        """What GET and HEAD show. Reads only: mail scanners may open a link any number of times."""
        view = self._read(token)
        self._answerable(view, self._now())
        return view

    # ---------------------------------------------------------------- the link's state

    def _own_claim(self, view: LinkView) -> UsernameClaim | None:
        """The username this (used) invitation claimed; its employee carries it."""
        username = view.employee.username
        claim = self._repository.username_claim(username_key(username)) if username else None
        if claim is None or claim.invitation_id != view.invitation.invitation_id:
            return None
        return claim

    def _unfinished(self, claim: UsernameClaim) -> bool:
        """The claimed username's account has no password of its owner yet (or none at all): the
        activation committed but Cognito failed before it was finished."""
        return not self._identity.has_password(claim.key)

    def _resumable(self, view: LinkView) -> UsernameClaim:
        """The claim of a used invitation whose account is unfinished and which has tries left;
        DeadLinkError (used, or locked) otherwise."""
        claim = self._own_claim(view)
        if claim is None or not self._unfinished(claim):
            raise self._dead(view, InvitationStatus.USED)
        if view.invitation.attempts >= MAX_DOB_ATTEMPTS:
            raise DeadLinkError(NoticeState.LOCKED, view)  # written nowhere: the invitation stays used
        return claim

    def _answerable(self, view: LinkView, now: datetime) -> UsernameClaim | None:
        """Whether the link opens the date-of-birth question: pending, or used with its account
        unfinished (then the claim to finish is answered). DeadLinkError otherwise."""
        status = link_status(view.invitation, now)
        if status is InvitationStatus.USED:
            return self._resumable(view)
        if status is not InvitationStatus.PENDING:
            raise self._dead(view, status)
        return None

    def _lock(self, invitation: Invitation, now: datetime) -> None:
        try:
            self._repository.lock(invitation, now)
        except StaleStateError:
            return  # locked already, or ended otherwise: either way the link is dead
        metrics.add_metric(name="InvitationsLocked", unit=MetricUnit.Count, value=1)
        logger.info("invitation locked after too many wrong answers", extra=_ids(invitation))

    def _after_lost_race(self, view: LinkView, now: datetime) -> DeadLinkError:
        """A conditional write on the invitation failed: it moved on meanwhile; say where it is now.

        One read of the invitation only: under a burst of answers (50 at once) the losers must cost
        little. A pending invitation with its tries used up reads as locked; the request that counted
        the last try is locking it (or, had it crashed, the next answer repairs the lock). A used one
        being finished had its tries used up."""
        current = self._repository.invitation(view.invitation.invitation_id) or view.invitation
        status = link_status(current, now)
        view = LinkView(current, view.employee, view.employer)
        if status is InvitationStatus.PENDING:
            # Nothing observable changed (e.g. a write that raced its own expiry second).
            return DeadLinkError(NoticeState.EXPIRED, view)
        if status is InvitationStatus.USED and current.attempts >= MAX_DOB_ATTEMPTS:
            return DeadLinkError(NoticeState.LOCKED, view)
        return self._dead(view, status)

    # ---------------------------------------------------------------- the date of birth

    def answer(self, token: str | None, answer_text: str) -> Verified:
        """A right answer opens the credentials step for 30 minutes to this browser alone; a wrong
        one costs a try."""
        now = self._now()
        view = self._read(token)
        invitation = view.invitation
        if link_status(invitation, now) is InvitationStatus.LOCKED and invitation.status is InvitationStatus.PENDING:
            self._lock(invitation, now)
        claim = self._answerable(view, now)
        # A used invitation (its account unfinished) must still be used when the answer is written.
        expected = InvitationStatus.USED if claim else InvitationStatus.PENDING
        answer = parse_answer(answer_text)
        if answer is None:
            raise AnswerError(view, "format" if answer_text.strip() else "required", view.tries_left)
        if answer == view.employee.profile.date_of_birth:
            secret = new_token()
            secret_hash = token_hash(secret)
            try:
                self._repository.mark_verified(invitation.invitation_id, now, secret_hash, expected)
            except StaleStateError:
                raise self._after_lost_race(view, now) from None
            logger.info("date of birth verified", extra=_ids(invitation) | {"accountUnfinished": str(bool(claim))})
            verified = replace(invitation, verified_at=now, verification_hash=secret_hash)
            username = (view.employee.username or "") if claim else ""
            return Verified(LinkView(verified, view.employee, view.employer), secret, username)
        try:
            attempts = self._repository.count_wrong_answer(invitation.invitation_id, now, expected)
        except StaleStateError:
            raise self._after_lost_race(view, now) from None
        metrics.add_metric(name="DateOfBirthWrong", unit=MetricUnit.Count, value=1)
        logger.info("wrong date of birth", extra=_ids(invitation) | {"attempts": attempts})
        if attempts >= MAX_DOB_ATTEMPTS:
            if claim is None:  # a used invitation stays used: its link just stops opening the question
                self._lock(invitation, now)
            raise DeadLinkError(NoticeState.LOCKED, view)
        raise AnswerError(view, "wrong", MAX_DOB_ATTEMPTS - attempts)

    # ---------------------------------------------------------------- credentials

    @staticmethod
    def _verified(invitation: Invitation, secret: str, now: datetime) -> bool:
        """A right answer in the last 30 minutes, given by the browser that holds `secret` (compared
        in constant time with the stored hash of the latest right answer's secret)."""
        return (
            invitation.verified_at is not None
            and now - invitation.verified_at < VERIFICATION_WINDOW
            and invitation.verification_hash is not None
            and well_formed(secret)
            and same_hash(secret, invitation.verification_hash)
        )

    def complete(
        self, token: str | None, verification: str, username: str, password: str, confirmation: str
    ) -> Activated:
        """`verification` is the secret the right answer handed to this browser's form."""
        now = self._now()
        view = self._read(token)
        assert token is not None
        username = username.strip()
        status = link_status(view.invitation, now)
        if status is InvitationStatus.USED:
            return self._finish(view, verification, username, password, confirmation, now)
        if status is not InvitationStatus.PENDING:
            raise self._dead(view, status)
        if not self._verified(view.invitation, verification, now):
            raise VerificationNeededError(view)
        if issues := credential_issues(username, password, confirmation):
            raise CredentialsRefusedError(view, issues)
        invitation = view.invitation
        key = username_key(username)
        claim = UsernameClaim(key, invitation.employer_id, invitation.employee_id, invitation.invitation_id)
        try:
            self._repository.complete(
                invitation, claim, username, now, now - VERIFICATION_WINDOW, token_hash(verification)
            )
        except UsernameTakenError:
            raise UsernameUnavailableError(view) from None
        except StaleStateError:
            # A concurrent completion of this invitation (a double click) may have won: then finish
            # as its retry would; otherwise the invitation ended, its verification ran out, or a newer
            # right answer (another browser) replaced this form's secret.
            current = self._read(token)
            current_status = link_status(current.invitation, now)
            if current_status is InvitationStatus.USED:
                return self._finish(current, verification, username, password, confirmation, now)
            if current_status is InvitationStatus.PENDING:
                raise VerificationNeededError(current) from None
            raise self._dead(current, current_status) from None
        metrics.add_metric(name="ActivationsCompleted", unit=MetricUnit.Count, value=1)
        logger.info("activation completed", extra=_ids(invitation))
        activated = LinkView(replace(invitation, status=InvitationStatus.USED), view.employee, view.employer)
        self._account(activated, key, password)
        return Activated(activated, self._sessions.start(claim))

    def _finish(
        self, view: LinkView, verification: str, username: str, password: str, confirmation: str, now: datetime
    ) -> Activated:
        """Credentials on a used invitation: a retry of a completion that committed (a double click,
        or a form sent again after a Cognito fault), or finishing an unfinished account after a fresh
        right answer. Either way verified by this browser, with the username this invitation claimed.
        Finishes the account if it has no password yet, and logs in."""
        claim = self._own_claim(view)
        if claim is None:
            raise self._dead(view, InvitationStatus.USED)
        if not self._verified(view.invitation, verification, now):
            self._resumable(view)  # the used (or locked) notice, unless the account is unfinished
            raise VerificationNeededError(view)
        if username_key(username) != claim.key:
            if not self._unfinished(claim):
                raise self._dead(view, InvitationStatus.USED)
            chosen = {"username": CredentialIssue.USERNAME_CHOSEN}
            raise CredentialsRefusedError(view, chosen, username=view.employee.username)
        if issues := credential_issues(username, password, confirmation):
            raise CredentialsRefusedError(view, issues)
        self._account(view, claim.key, password)
        logger.info("activation finished on retry", extra=_ids(view.invitation))
        return Activated(view, self._sessions.start(claim))

    def _account(self, view: LinkView, key: str, password: str) -> None:
        """Create the Cognito account (or finish a half-made one) and log in with it."""
        try:
            try:
                self._identity.create_user(key)
            except AccountExistsError:
                if self._identity.has_password(key):
                    # Made complete by an earlier or concurrent attempt: only its password logs in.
                    try:
                        self._identity.login(key, password)
                        return
                    except LoginRefusedError:
                        raise DeadLinkError(NoticeState.USED, view) from None
            self._identity.set_password(key, password)
            self._identity.login(key, password)
        except DomainError:
            raise
        except Exception:
            logger.exception("account not completed after activation", extra=_ids(view.invitation))
            raise AccountNotReadyError(view) from None


def _ids(invitation: Invitation) -> dict[str, str]:
    return {
        "invitationId": invitation.invitation_id,
        "employerId": invitation.employer_id,
        "employeeId": invitation.employee_id,
    }
