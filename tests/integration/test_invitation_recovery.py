"""Invitations under moto when something goes wrong halfway: a refused mail after the old invitation
was ended, a resend to an address that was removed, two resends at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tests.events import LambdaContext, api_event, employer_claims, response_json
from tests.functions import load_function
from werknemerloket.clock import ShiftableClock, get_clock, set_clock
from werknemerloket.settings import get_settings

EMPLOYEE = "/employers/{employerId}/employees/{employeeId}"
JAN = {"name": "Jan de Vries", "email": "jan@example.nl", "dateOfBirth": "1990-05-17", "language": "nl"}
IDS = {"employerId": "acme", "employeeId": "1001"}


@pytest.fixture
def clock() -> Iterator[ShiftableClock]:
    previous, shiftable = get_clock(), ShiftableClock()
    set_clock(shiftable)
    yield shiftable
    set_clock(previous)


@pytest.fixture
def api(aws: None, clock: ShiftableClock) -> Any:
    app = load_function("grant_access")

    def call(method: str, resource: str, **kwargs: Any) -> tuple[int, Any]:
        params = IDS if "{employeeId}" in resource else {"employerId": "acme"}
        response = app.handler(
            api_event(method, resource, params, claims=employer_claims("acme"), **kwargs), LambdaContext()
        )
        return response["statusCode"], response_json(response)

    assert call("PUT", "/employers/{employerId}", body={"name": "Acme B.V."})[0] == 200
    assert call("PUT", EMPLOYEE, body=JAN)[0] == 200
    return call


def refuse_mail() -> None:
    boto3.client("ses", region_name="eu-west-1").delete_identity(Identity=get_settings().mail_sender)


def accept_mail() -> None:
    boto3.client("ses", region_name="eu-west-1").verify_email_identity(EmailAddress=get_settings().mail_sender)


def test_a_refused_regrant_after_expiry_leaves_the_employee_grantable(api, clock):
    assert api("POST", EMPLOYEE + "/access")[0] == 201
    clock.advance(96 * 3600 + 1)  # expired, not yet swept

    refuse_mail()
    refused = api("POST", EMPLOYEE + "/access")
    accept_mail()
    again = api("POST", EMPLOYEE + "/access")

    assert (refused[0], refused[1]["error"]["code"]) == (502, "MAIL_NOT_SENT")
    assert again[0] == 201, again
    assert again[1]["access"]["status"] == "invited"


def test_a_resend_to_a_removed_address_is_409_and_keeps_the_invitation(api):
    _, granted = api("POST", EMPLOYEE + "/access")
    assert api("PUT", EMPLOYEE, body=JAN | {"email": None})[0] == 200

    status, body = api("POST", EMPLOYEE + "/invitation/resend")

    assert (status, body["error"]["code"]) == (409, "EMAIL_MISSING")
    _, employee = api("GET", EMPLOYEE)
    assert employee["access"]["invitation"] == granted["access"]["invitation"]


def test_a_resend_that_lost_to_another_resend_says_the_invitation_changed(api, monkeypatch):
    api("POST", EMPLOYEE + "/access")
    from werknemerloket.data.invitations import DynamoInvitationRepository

    original = DynamoInvitationRepository.replace

    def resent_by_someone_else_first(self: Any, employee: Any, new: Any, token_hash: str, now: Any) -> None:
        monkeypatch.setattr(DynamoInvitationRepository, "replace", original)
        assert api("POST", EMPLOYEE + "/invitation/resend")[0] == 200  # the concurrent winner
        original(self, employee, new, token_hash, now)

    monkeypatch.setattr(DynamoInvitationRepository, "replace", resent_by_someone_else_first)
    status, body = api("POST", EMPLOYEE + "/invitation/resend")

    assert (status, body["error"]["code"]) == (409, "INVITATION_CHANGED")
    assert api("GET", EMPLOYEE)[1]["access"]["invitation"]["sendCount"] == 2
