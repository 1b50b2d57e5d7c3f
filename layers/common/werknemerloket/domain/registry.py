"""The employer registry: employers and their employees as the payroll system knows them."""

from __future__ import annotations

from dataclasses import dataclass

from werknemerloket.clock import Clock
from werknemerloket.domain.entities import AccessStatus, Employee, EmployeeProfile, Employer
from werknemerloket.domain.ports import EmployeeRepository, EmployerRepository
from werknemerloket.errors import employee_not_found, employer_not_found


@dataclass(frozen=True)
class EmployeePage:
    items: list[Employee]
    after: str | None


class Registry:
    def __init__(self, employers: EmployerRepository, employees: EmployeeRepository, clock: Clock):
        self._employers = employers
        self._employees = employees
        self._clock = clock

    def put_employer(self, employer: Employer) -> Employer:
        return self._employers.put(employer, self._clock.now())

    def get_employer(self, employer_id: str) -> Employer:
        employer = self._employers.get(employer_id)
        if employer is None:
            raise employer_not_found(employer_id)
        return employer

    def put_employee(self, employer_id: str, employee_id: str, profile: EmployeeProfile) -> Employee:
        return self._employees.save_profile(employer_id, employee_id, profile, self._clock.now())

    def get_employee(self, employer_id: str, employee_id: str) -> Employee:
        employee = self._employees.get(employer_id, employee_id)
        if employee is None:
            raise employee_not_found(employer_id, employee_id)
        return employee

    def list_employees(
        self, employer_id: str, status: AccessStatus | None, limit: int, after: str | None
    ) -> EmployeePage:
        items, next_after = self._employees.page(employer_id, status, self._clock.now(), limit, after)
        return EmployeePage(items, next_after)
