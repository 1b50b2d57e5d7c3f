"""PynamoDB models of the tables declared in template.yaml (keys and indexes must match it)."""

from __future__ import annotations

from functools import cache

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.expressions.operand import Path
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection
from pynamodb.models import Model

from werknemerloket.settings import get_settings

_settings = get_settings()


class _Meta:
    region = _settings.region


@cache
def connection() -> Connection:
    """The connection transactions run on, one per process like the models' own: a new Connection
    builds a new botocore session and client (~0.1 s of CPU) on first use. The client is thread-safe."""
    return Connection(region=_settings.region)


class EmployerModel(Model):
    class Meta(_Meta):
        table_name = _settings.employers_table

    employer_id = UnicodeAttribute(hash_key=True, attr_name="employerId")
    name = UnicodeAttribute()
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt")


class InvitationSummaryAttribute(MapAttribute[str, object]):
    invitation_id = UnicodeAttribute(attr_name="invitationId")
    status = UnicodeAttribute()
    sent_at = UnicodeAttribute(attr_name="sentAt")
    expires_at = UnicodeAttribute(attr_name="expiresAt")
    send_count = NumberAttribute(attr_name="sendCount")


class EmployeeModel(Model):
    class Meta(_Meta):
        table_name = _settings.employees_table

    employer_id = UnicodeAttribute(hash_key=True, attr_name="employerId")
    employee_id = UnicodeAttribute(range_key=True, attr_name="employeeId")
    name = UnicodeAttribute()
    email = UnicodeAttribute(null=True)
    date_of_birth = UnicodeAttribute(attr_name="dateOfBirth")
    language = UnicodeAttribute()
    state = UnicodeAttribute()
    invitation = InvitationSummaryAttribute(null=True)
    activated_at = UnicodeAttribute(null=True, attr_name="activatedAt")
    username = UnicodeAttribute(null=True)
    user_sub = UnicodeAttribute(null=True, attr_name="userSub")
    signed_out_at = UnicodeAttribute(null=True, attr_name="signedOutAt")
    created_at = UnicodeAttribute(attr_name="createdAt")
    updated_at = UnicodeAttribute(attr_name="updatedAt")


# Paths into the employee's invitation summary for conditions and updates. (PynamoDB's type hints see
# instance values when a map's attribute is reached through the class; a Path keeps the typing honest.)
SUMMARY_ID = Path(EmployeeModel.invitation.invitation_id)
SUMMARY_STATUS = Path(EmployeeModel.invitation.status)
SUMMARY_EXPIRES_AT = Path(EmployeeModel.invitation.expires_at)


class DueIndex(GlobalSecondaryIndex["InvitationModel"]):
    """Sparse: only open invitations carry dueShard/dueAt. dueAt is when the sweep must look next
    (the reminder moment, then the expiry moment), as epoch seconds. It projects what the sweep
    needs to decide, so deciding costs no read of the base table."""

    class Meta:
        index_name = "DueIndex"
        projection = IncludeProjection(["employerId", "employeeId", "expiresAt", "status", "remindedAt"])

    due_shard = UnicodeAttribute(hash_key=True, attr_name="dueShard")
    due_at = NumberAttribute(range_key=True, attr_name="dueAt")


class InvitationModel(Model):
    class Meta(_Meta):
        table_name = _settings.invitations_table

    invitation_id = UnicodeAttribute(hash_key=True, attr_name="invitationId")
    employer_id = UnicodeAttribute(attr_name="employerId")
    employee_id = UnicodeAttribute(attr_name="employeeId")
    status = UnicodeAttribute()
    sent_at = UnicodeAttribute(attr_name="sentAt")
    expires_at = UnicodeAttribute(attr_name="expiresAt")
    send_count = NumberAttribute(attr_name="sendCount")
    attempts = NumberAttribute(default=0)
    verified_at = UnicodeAttribute(null=True, attr_name="verifiedAt")
    verification_hash = UnicodeAttribute(null=True, attr_name="verificationHash")
    reminded_at = UnicodeAttribute(null=True, attr_name="remindedAt")
    ended_at = UnicodeAttribute(null=True, attr_name="endedAt")
    due_shard = UnicodeAttribute(null=True, attr_name="dueShard")
    due_at = NumberAttribute(null=True, attr_name="dueAt")
    ttl = TTLAttribute(null=True)
    due_index = DueIndex()


class LinkModel(Model):
    class Meta(_Meta):
        table_name = _settings.links_table

    token_hash = UnicodeAttribute(hash_key=True, attr_name="tokenHash")
    invitation_id = UnicodeAttribute(attr_name="invitationId")
    ttl = TTLAttribute()


class UsernameModel(Model):
    class Meta(_Meta):
        table_name = _settings.usernames_table

    username = UnicodeAttribute(hash_key=True)
    employer_id = UnicodeAttribute(attr_name="employerId")
    employee_id = UnicodeAttribute(attr_name="employeeId")
    invitation_id = UnicodeAttribute(attr_name="invitationId")
    created_at = UnicodeAttribute(attr_name="createdAt")
    # Epoch seconds in Cognito's time: ID tokens issued before it predate a sign-out everywhere.
    tokens_not_before = NumberAttribute(null=True, attr_name="tokensNotBefore")


class SessionModel(Model):
    class Meta(_Meta):
        table_name = _settings.sessions_table

    session_hash = UnicodeAttribute(hash_key=True, attr_name="sessionHash")
    employer_id = UnicodeAttribute(attr_name="employerId")
    employee_id = UnicodeAttribute(attr_name="employeeId")
    csrf_token = UnicodeAttribute(attr_name="csrfToken")
    created_at = UnicodeAttribute(attr_name="createdAt")
    ttl = TTLAttribute()
    username = UnicodeAttribute(null=True)


class EmailTemplateModel(Model):
    class Meta(_Meta):
        table_name = _settings.email_templates_table

    employer_id = UnicodeAttribute(hash_key=True, attr_name="employerId")
    template_key = UnicodeAttribute(range_key=True, attr_name="templateKey")
    subject = UnicodeAttribute()
    text = UnicodeAttribute()
    html = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(attr_name="updatedAt")
