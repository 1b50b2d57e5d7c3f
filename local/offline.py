"""Running the functions' code outside AWS and outside the local stack, for tests and benchmarks: a
complete fake environment, and the template's tables under the names that environment gives them.

The environment names every table, pool and bucket the template's Globals pass to the functions, so
the settings validate; the tables are created from template.yaml, so tests cannot drift from it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from local.resources import create_table
from local.template import Template

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


def fake_environment(prefix: str) -> dict[str, str]:
    """Fake credentials and a resource name per setting, each starting with `prefix`."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_REGION": "eu-west-1",
        "STAGE": prefix,
        "EMPLOYERS_TABLE": f"{prefix}-employers",
        "EMPLOYEES_TABLE": f"{prefix}-employees",
        "INVITATIONS_TABLE": f"{prefix}-invitations",
        "LINKS_TABLE": f"{prefix}-links",
        "USERNAMES_TABLE": f"{prefix}-usernames",
        "SESSIONS_TABLE": f"{prefix}-sessions",
        "EMAIL_TEMPLATES_TABLE": f"{prefix}-email-templates",
        "IDEMPOTENCY_TABLE": f"{prefix}-idempotency",
        "DOCUMENTS_BUCKET": f"{prefix}-documents",
        "EMPLOYER_ADMIN_POOL_ID": "eu-west-1_admins",
        "EMPLOYEE_POOL_ID": "eu-west-1_employees",
        "EMPLOYEE_POOL_CLIENT_ID": "employeeclient",
        "MAIL_SENDER": "noreply@werknemerloket.test",
        "PUBLIC_BASE_URL": "https://werknemer.example.test",
        "POWERTOOLS_SERVICE_NAME": "werknemerloket",
        "POWERTOOLS_METRICS_NAMESPACE": "Werknemerloket",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }


def use_fake_environment(prefix: str) -> None:
    """Set the fake environment; values already set win, so a caller can override any of them."""
    for name, value in fake_environment(prefix).items():
        os.environ.setdefault(name, value)


def create_tables(dynamodb: Any, template_path: Path = TEMPLATE) -> list[str]:
    """Create the template's tables under the names the environment gives them: the Globals map each
    table's variable (EMPLOYEES_TABLE...) to `!Ref` of the table."""
    template = Template.load(template_path)
    variables = template.body["Globals"]["Function"]["Environment"]["Variables"]
    names = {
        value["Ref"]: os.environ[variable]
        for variable, value in variables.items()
        if isinstance(value, dict) and "Ref" in value and variable in os.environ
    }
    created = []
    for logical_id, resource in template.resources_of_type("AWS::DynamoDB::Table"):
        if logical_id in names:
            create_table(dynamodb, names[logical_id], resource["Properties"])
            created.append(names[logical_id])
    return created
