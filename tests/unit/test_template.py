"""template.yaml, the one description of the deployed product: valid, translatable, and safe."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint

from local.template import Template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(TEMPLATE)


def sam_cli() -> Path:
    """The SAM CLI lives in its own virtualenv (it pins its own boto3); `make test` says where."""
    path = Path(os.environ.get("SAM_CLI", ROOT / ".venv-sam" / "bin" / "sam"))
    assert path.exists(), "the SAM CLI is missing: run the tests with `make test`, which installs it"
    return path


def test_cfn_lint_finds_no_error_or_warning():
    matches = lint(TEMPLATE.read_text(), config=ManualArgs(regions=["eu-west-1"]))
    findings = [str(m) for m in matches if m.rule.id.startswith(("E", "W"))]
    assert findings == []


def test_sam_validate_lint_passes():
    result = subprocess.run(
        [sam_cli(), "validate", "--lint", "--region", "eu-west-1", "--template-file", TEMPLATE],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"SAM_CLI_TELEMETRY": "0"},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_translates_the_template_as_sam_deploy_would():
    """`sam validate` does not run the whole SAM transform (it accepted an `Authorizer: NONE` that
    `sam deploy` refuses without a DefaultAuthorizer); the transform itself is the real check."""
    script = """
import json, sys
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse
body = yaml_parse(open(sys.argv[1]).read())
for resource in body["Resources"].values():
    for key in ("CodeUri", "ContentUri"):
        if key in resource.get("Properties", {}):
            resource["Properties"][key] = "s3://artifacts/code.zip"
class NoManagedPolicies:
    def load(self):
        return {}
parameters = {"MailSender": "noreply@example.nl", "PublicBaseUrl": "https://werknemer.example.nl"}
print(json.dumps(sorted(transform(body, parameters, NoManagedPolicies())["Resources"])))
"""
    result = subprocess.run(
        [sam_cli().parent / "python", "-c", script, TEMPLATE],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ | {"AWS_DEFAULT_REGION": "eu-west-1"},
    )
    assert result.returncode == 0, result.stderr
    resources = json.loads(result.stdout)
    assert {"GrantAccessFunction", "ActivateFunction", "ExpireInvitesFunction"} <= set(resources)


def test_every_table_is_on_demand_recoverable_encrypted_and_has_ttl(template):
    tables = list(template.resources_of_type("AWS::DynamoDB::Table"))
    assert len(tables) >= 8
    for logical_id, table in tables:
        props = table["Properties"]
        assert props["BillingMode"] == "PAY_PER_REQUEST", logical_id
        assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, logical_id
        assert props["SSESpecification"] == {"SSEEnabled": True}, logical_id
        assert props["TimeToLiveSpecification"]["Enabled"] is True, logical_id


def test_the_documents_bucket_is_private_and_encrypted(template):
    props = template.properties("DocumentsBucket")
    assert all(props["PublicAccessBlockConfiguration"].values())
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_functions_run_python_313_on_arm64_with_the_common_layer(template):
    function_globals = template.body["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Layers"] == [{"Ref": "CommonLayer"}]
    assert template.body["Resources"]["CommonLayer"]["Metadata"]["BuildMethod"] == "python3.13"


def _statements(policies: list[Any]) -> list[dict[str, Any]]:
    return [s for policy in policies if isinstance(policy, dict) for s in policy.get("Statement", [])]


def test_no_function_may_do_everything(template):
    for logical_id, function in template.resources_of_type("AWS::Serverless::Function"):
        for statement in _statements(function["Properties"].get("Policies", [])):
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(action == "*" or action.endswith(":*") for action in actions), (logical_id, actions)


def test_employer_routes_need_the_cognito_authorizer_and_employee_pages_opt_out(template):
    api_auth = template.properties("Api")["Auth"]
    assert api_auth["DefaultAuthorizer"] == "EmployerAdminAuthorizer"
    for logical_id, function in template.resources_of_type("AWS::Serverless::Function"):
        for name, event in function["Properties"].get("Events", {}).items():
            if event["Type"] != "Api":
                continue
            authorizer = event["Properties"].get("Auth", {}).get("Authorizer", api_auth["DefaultAuthorizer"])
            path = event["Properties"]["Path"]
            expected = "EmployerAdminAuthorizer" if path.startswith("/employers/") else "NONE"
            assert authorizer == expected, (logical_id, name, path)
