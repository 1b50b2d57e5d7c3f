r"""The rules for a username and a password an employee chooses (NIST SP 800-63B 3.1.1.2, ASVS 6.2).

Usernames are unique without regard to case: `username_key` is the one form that is stored as the
Usernames key and used as the Cognito username, so Jan and jan are the same account.

A password may not begin or end with whitespace: Cognito refuses such a password (its pattern is
`^[\S]+.*[\S]+$`) only when it is set, after the activation committed, so it is refused here first.
Nothing is ever stripped: a password is used exactly as typed.
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from pathlib import Path

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9._@-]{3,64}")
PASSWORD_MIN = 12
PASSWORD_MAX = 128
_COMMON_PASSWORDS = Path(__file__).with_name("common-passwords.txt")


class CredentialIssue(StrEnum):
    """Why a chosen username or password is refused; the pages turn these into sentences."""

    REQUIRED = "required"
    USERNAME_FORMAT = "username_format"
    USERNAME_TAKEN = "username_taken"
    USERNAME_CHOSEN = "username_chosen"  # finishing an account: only the username claimed before
    PASSWORD_TOO_SHORT = "password_too_short"
    PASSWORD_TOO_LONG = "password_too_long"
    PASSWORD_EDGE_SPACE = "password_edge_space"
    PASSWORD_COMMON = "password_common"
    PASSWORD_IS_USERNAME = "password_is_username"
    PASSWORD_MISMATCH = "password_mismatch"


def username_key(username: str) -> str:
    """The case-folded form under which a username is unique (and the Cognito username)."""
    return username.casefold()


@cache
def common_passwords() -> frozenset[str]:
    """Lowercased entries of the shipped list; read once per process, when first needed."""
    lines = _COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def username_issues(username: str) -> list[CredentialIssue]:
    if not username:
        return [CredentialIssue.REQUIRED]
    if not USERNAME_PATTERN.fullmatch(username):
        return [CredentialIssue.USERNAME_FORMAT]
    return []


def password_issues(password: str, confirmation: str, username: str) -> list[CredentialIssue]:
    """Length counts characters, nothing is truncated or stripped, no composition rules."""
    if not password:
        return [CredentialIssue.REQUIRED]
    if len(password) < PASSWORD_MIN:
        return [CredentialIssue.PASSWORD_TOO_SHORT]
    if len(password) > PASSWORD_MAX:
        return [CredentialIssue.PASSWORD_TOO_LONG]
    if password != password.strip():
        return [CredentialIssue.PASSWORD_EDGE_SPACE]
    if username and password.casefold() == username.casefold():
        return [CredentialIssue.PASSWORD_IS_USERNAME]
    if password.casefold() in common_passwords():
        return [CredentialIssue.PASSWORD_COMMON]
    if password != confirmation:
        return [CredentialIssue.PASSWORD_MISMATCH]
    return []


def credential_issues(username: str, password: str, confirmation: str) -> dict[str, CredentialIssue]:
    """The first issue per form field: `username`, `password`, `passwordConfirm`."""
    issues: dict[str, CredentialIssue] = {}
    if found := username_issues(username):
        issues["username"] = found[0]
    if found := password_issues(password, confirmation, username):
        field = "passwordConfirm" if found[0] is CredentialIssue.PASSWORD_MISMATCH else "password"
        issues[field] = found[0]
    return issues
