"""Handlers and repositories under moto's in-process AWS, with the tables created from template.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from moto import mock_aws

from local.offline import create_tables
from werknemerloket.clock import FixedClock, get_clock, set_clock
from werknemerloket.mail import gateway
from werknemerloket.settings import get_settings

NOW = datetime(2026, 12, 4, 15, 20, 7, tzinfo=UTC)


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
