"""Domain errors. They say what went wrong in the product's terms; `web.errors` maps them to HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "ERROR"

    def __init__(self, message: str, *, code: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class NotFoundError(DomainError):
    code = "NOT_FOUND"


class ConflictError(DomainError):
    code = "CONFLICT"


class InvalidInputError(DomainError):
    code = "VALIDATION_ERROR"


class UnauthenticatedError(DomainError):
    code = "UNAUTHENTICATED"


class ForbiddenError(DomainError):
    code = "FORBIDDEN"


class MailNotSentError(DomainError):
    """The mail service refused or failed to take a mail; nothing that depended on it was kept."""

    code = "MAIL_NOT_SENT"


def employer_not_found(employer_id: str) -> NotFoundError:
    return NotFoundError(f"Employer {employer_id} does not exist.", code="EMPLOYER_NOT_FOUND")


def employee_not_found(employer_id: str, employee_id: str) -> NotFoundError:
    return NotFoundError(f"Employee {employee_id} of employer {employer_id} does not exist.", code="EMPLOYEE_NOT_FOUND")
