"""One validated settings object, read from the environment the template declares."""

from __future__ import annotations

import os
from functools import cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class SettingsError(RuntimeError):
    """The function's environment is incomplete or wrong: a deployment mistake, not a client's."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    stage: str = "dev"
    region: str = "eu-west-1"
    employers_table: str
    employees_table: str
    invitations_table: str
    links_table: str
    usernames_table: str
    sessions_table: str
    email_templates_table: str
    idempotency_table: str
    documents_bucket: str
    employer_admin_pool_id: str
    employee_pool_id: str
    employee_pool_client_id: str
    mail_sender: str
    public_base_url: str
    invitation_retention_days: Annotated[int, Field(ge=1, le=365)] = 30
    reminder_hours_before_expiry: Annotated[int, Field(ge=0, le=95)] = 24
    # The sweep's index is spread over this many partitions; see docs/sweep-capacity.md.
    due_shards: Annotated[int, Field(ge=1, le=1000)] = 16

    @field_validator("public_base_url")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, str] = {name: env[name.upper()] for name in cls.model_fields if name.upper() in env}
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
        if region:
            values["region"] = region
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            raise SettingsError(f"invalid environment: {error}") from error


@cache
def get_settings() -> Settings:
    return Settings.from_env()
