"""Handlers and repositories under moto's in-process AWS, with the tables created from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import boto3
import pytest
from moto import mock_aws

from local.offline import create_tables
from werknemerloket.clock import FixedClock, get_clock, set_clock
from werknemerloket.data.invitations import DynamoInvitationRepository
from werknemerloket.data.registry import DynamoEmployeeRepository, DynamoEmployerRepository
from werknemerloket.domain.entities import (
    INVITATION_VALIDITY,
    MAX_DOB_ATTEMPTS,
    EmployeeProfile,
    Employer,
    Invitation,
    InvitationStatus,
)
from werknemerloket.domain.tokens import new_token, token_hash
from werknemerloket.mail import gateway
from werknemerloket.settings import get_settings

NOW = datetime(2026, 12, 4, 15, 20, 7, tzinfo=UTC)
BIRTH = date(1990, 5, 17)


def write_invited(
    employee_id: str,
    *,
    sent_at: datetime = NOW,
    language: str = "nl",
    status: InvitationStatus = InvitationStatus.PENDING,
    with_employer: bool = True,
) -> tuple[Invitation, str]:
    """What a grant leaves, written by the grant's own repositories (no hand-made items): the employer,
    the employee, then the invitation, its link and the invited employee in the grant's transaction.
    Answers the invitation and its link token."""
    if with_employer:
        DynamoEmployerRepository().put(Employer("acme", "Acme B.V."), sent_at)
    profile = EmployeeProfile("Jan de Vries", f"{employee_id}@example.nl", BIRTH, language)
    employee = DynamoEmployeeRepository().save_profile("acme", employee_id, profile, sent_at)
    invitation = Invitation(
        invitation_id=f"inv-{employee_id}",
        employer_id="acme",
        employee_id=employee_id,
        status=status,
        sent_at=sent_at,
        expires_at=sent_at + INVITATION_VALIDITY,
        send_count=1,
        attempts=MAX_DOB_ATTEMPTS if status is InvitationStatus.LOCKED else 0,
    )
    token = new_token()
    DynamoInvitationRepository(get_settings()).open(employee, invitation, token_hash(token), sent_at)
    return invitation, token


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh emulated account per test: every table of the template, and a verified mail sender."""
    with mock_aws():
        gateway._ses.cache_clear()
        create_tables(boto3.client("dynamodb", region_name="eu-west-1"))
        boto3.client("ses", region_name="eu-west-1").verify_email_identity(EmailAddress=get_settings().mail_sender)
        yield
        gateway._ses.cache_clear()


@pytest.fixture
def clock() -> Iterator[FixedClock]:
    """The clock the handlers and `services` ask (`werknemerloket.clock`), standing still at NOW until moved."""
    previous = get_clock()
    fixed = FixedClock(NOW)
    set_clock(fixed)
    try:
        yield fixed
    finally:
        set_clock(previous)
