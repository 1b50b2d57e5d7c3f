"""Repositories of employers and employees on DynamoDB."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pynamodb.expressions.condition import Condition

from werknemerloket.clock import from_iso, to_iso
from werknemerloket.data.models import SUMMARY_EXPIRES_AT, EmployeeModel, EmployerModel, InvitationSummaryAttribute
from werknemerloket.domain.entities import (
    AccessStatus,
    Employee,
    EmployeeProfile,
    Employer,
    InvitationStatus,
    InvitationSummary,
)

# PynamoDB's DynamoDB page size for filtered listings: big enough that a selective filter needs few
# round trips, small enough that an unfiltered page reads little more than it returns.
_QUERY_PAGE_SIZE = 200


class DynamoEmployerRepository:
    def put(self, employer: Employer, now: datetime) -> Employer:
        item = EmployerModel(employer.employer_id)
        item.update(
            actions=[
                EmployerModel.name.set(employer.name),
                EmployerModel.created_at.set(EmployerModel.created_at | to_iso(now)),
                EmployerModel.updated_at.set(to_iso(now)),
            ]
        )
        return employer

    def get(self, employer_id: str) -> Employer | None:
        try:
            item = EmployerModel.get(employer_id, consistent_read=True)
        except EmployerModel.DoesNotExist:
            return None
        return Employer(item.employer_id, item.name)


def employee_from_item(item: EmployeeModel) -> Employee:
    invitation = None
    if item.invitation is not None:
        summary: InvitationSummaryAttribute = item.invitation
        invitation = InvitationSummary(
            invitation_id=summary.invitation_id,
            status=InvitationStatus(summary.status),
            sent_at=from_iso(summary.sent_at),
            expires_at=from_iso(summary.expires_at),
            send_count=int(summary.send_count),
        )
    return Employee(
        employer_id=item.employer_id,
        employee_id=item.employee_id,
        profile=EmployeeProfile(
            name=item.name,
            email=item.email,
            date_of_birth=date.fromisoformat(item.date_of_birth),
            language=item.language,
        ),
        state=AccessStatus(item.state),
        invitation=invitation,
        activated_at=from_iso(item.activated_at) if item.activated_at else None,
        username=item.username,
    )


def status_condition(status: AccessStatus, now: datetime) -> Condition:
    """The DynamoDB filter equivalent of `Employee.access_status_at(now) == status`."""
    expired = to_iso(now) >= SUMMARY_EXPIRES_AT
    if status is AccessStatus.ACTIVE:
        return EmployeeModel.state == AccessStatus.ACTIVE.value
    if status is AccessStatus.INVITED:
        return (EmployeeModel.state == AccessStatus.INVITED.value) & ~expired
    return (EmployeeModel.state == AccessStatus.NOT_ACTIVATED.value) | (
        (EmployeeModel.state == AccessStatus.INVITED.value) & expired
    )


class DynamoEmployeeRepository:
    def save_profile(self, employer_id: str, employee_id: str, profile: EmployeeProfile, now: datetime) -> Employee:
        item = EmployeeModel(employer_id, employee_id)
        item.update(
            actions=[
                EmployeeModel.name.set(profile.name),
                EmployeeModel.email.set(profile.email) if profile.email else EmployeeModel.email.remove(),
                EmployeeModel.date_of_birth.set(profile.date_of_birth.isoformat()),
                EmployeeModel.language.set(profile.language),
                EmployeeModel.state.set(EmployeeModel.state | AccessStatus.NOT_ACTIVATED.value),
                EmployeeModel.created_at.set(EmployeeModel.created_at | to_iso(now)),
                EmployeeModel.updated_at.set(to_iso(now)),
            ]
        )
        return employee_from_item(item)

    def get(self, employer_id: str, employee_id: str) -> Employee | None:
        try:
            return employee_from_item(EmployeeModel.get(employer_id, employee_id, consistent_read=True))
        except EmployeeModel.DoesNotExist:
            return None

    def page(
        self, employer_id: str, status: AccessStatus | None, now: datetime, limit: int, after: str | None
    ) -> tuple[list[Employee], str | None]:
        start: dict[str, Any] | None = None
        if after is not None:
            start = {"employerId": {"S": employer_id}, "employeeId": {"S": after}}
        results = EmployeeModel.query(
            employer_id,
            filter_condition=status_condition(status, now) if status else None,
            limit=limit,
            page_size=limit if status is None else max(limit, _QUERY_PAGE_SIZE),
            last_evaluated_key=start,
        )
        items = [employee_from_item(item) for item in results]
        last = results.last_evaluated_key
        return items, (last["employeeId"]["S"] if last else None)
