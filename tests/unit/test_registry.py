from datetime import UTC, date, datetime

import pytest

from werknemerloket.clock import FixedClock
from werknemerloket.domain.entities import AccessStatus, EmployeeProfile, Employer
from werknemerloket.domain.registry import Registry
from werknemerloket.errors import NotFoundError

from .fakes import FakeEmployees, FakeEmployers


@pytest.fixture
def registry() -> Registry:
    return Registry(FakeEmployers(), FakeEmployees(), FixedClock(datetime(2026, 12, 4, tzinfo=UTC)))


def profile(name: str = "Jan de Vries", email: str | None = "jan@example.nl") -> EmployeeProfile:
    return EmployeeProfile(name, email, date(1990, 5, 17), "nl")


def test_unknown_employer_and_employee_are_not_found_with_their_own_codes(registry):
    with pytest.raises(NotFoundError) as employer:
        registry.get_employer("acme")
    with pytest.raises(NotFoundError) as employee:
        registry.get_employee("acme", "1001")

    assert employer.value.code == "EMPLOYER_NOT_FOUND"
    assert employee.value.code == "EMPLOYEE_NOT_FOUND"


def test_put_employer_then_read_it_back(registry):
    registry.put_employer(Employer("acme", "Acme B.V."))
    assert registry.get_employer("acme") == Employer("acme", "Acme B.V.")


def test_updating_a_profile_keeps_the_access_state(registry):
    registry.put_employee("acme", "1001", profile())
    updated = registry.put_employee("acme", "1001", profile(name="Jan Jansen", email=None))

    assert updated.profile.name == "Jan Jansen"
    assert updated.profile.email is None
    assert updated.state is AccessStatus.NOT_ACTIVATED


def test_listing_pages_through_employees_in_id_order(registry):
    for employee_id in ["3", "1", "2", "5", "4"]:
        registry.put_employee("acme", employee_id, profile())
    registry.put_employee("other", "9", profile())

    first = registry.list_employees("acme", None, 2, None)
    second = registry.list_employees("acme", None, 2, first.after)
    last = registry.list_employees("acme", None, 2, second.after)

    assert [e.employee_id for e in first.items + second.items + last.items] == ["1", "2", "3", "4", "5"]
    assert last.after is None
