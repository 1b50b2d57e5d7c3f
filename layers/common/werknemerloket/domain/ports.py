"""What the domain needs from the outside world. `data` implements these with PynamoDB, the tests
with in-memory fakes."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from werknemerloket.domain.entities import AccessStatus, Employee, EmployeeProfile, Employer


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
