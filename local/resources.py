"""Create every resource of the template in the emulator, chosen by its resource type.

The template is the one definition of the tables (keys, indexes, TTL), pools, buckets and queues;
creating them from it means the local stack cannot drift from what `sam deploy` builds. Each type has
one creator. A property that changes behaviour is applied; one that only matters in a real account
(encryption, backups, tags) is ignored on purpose; any other property, and any type that is neither
created nor known to be irrelevant locally, stops the stack with a message naming this file, so that
a new kind of resource is emulated deliberately instead of silently missing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3

from local.template import ACCOUNT_ID, REGION, STACK_NAME, PhysicalResource, Resolver, Template, TemplateError
from local.template import creation_order as template_creation_order

# Types the local stack does not create: permissions, the layer and the API (run in-process instead).
_NOT_EMULATED_PREFIXES = ("AWS::IAM::",)
_NOT_EMULATED = frozenset(
    {
        "AWS::Serverless::Api",
        "AWS::Serverless::LayerVersion",
        "AWS::Lambda::LayerVersion",
        "AWS::Lambda::Permission",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
        "AWS::Logs::LogGroup",
        "AWS::CloudWatch::Alarm",
    }
)

_TABLE_APPLIED = frozenset(
    {
        "TableName",
        "KeySchema",
        "AttributeDefinitions",
        "BillingMode",
        "ProvisionedThroughput",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
        "StreamSpecification",
        "TimeToLiveSpecification",
    }
)
_TABLE_IGNORED = frozenset(
    {
        "PointInTimeRecoverySpecification",
        "SSESpecification",
        "ContributorInsightsSpecification",
        "TableClass",
        "DeletionProtectionEnabled",
        "ResourcePolicy",
        "WarmThroughput",
        "OnDemandThroughput",
        "Tags",
    }
)
_INDEX_IGNORED = ("ContributorInsightsSpecification", "WarmThroughput", "OnDemandThroughput")

_BUCKET_APPLIED = frozenset(
    {
        "BucketName",
        "VersioningConfiguration",
        "BucketEncryption",
        "PublicAccessBlockConfiguration",
        "OwnershipControls",
        "CorsConfiguration",
    }
)
_BUCKET_IGNORED = frozenset(
    {
        "LifecycleConfiguration",
        "LoggingConfiguration",
        "MetricsConfigurations",
        "IntelligentTieringConfigurations",
        "Tags",
    }
)

_QUEUE_IGNORED = frozenset({"QueueName", "Tags"})

# What Cognito allows a client that declares no ExplicitAuthFlows.
_DEFAULT_AUTH_FLOWS = ("ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_CUSTOM_AUTH")


def _check_properties(logical_id: str, resource_type: str, props: dict[str, Any], known: frozenset[str]) -> None:
    unknown = sorted(set(props) - known)
    if unknown:
        raise TemplateError(
            f"{logical_id} ({resource_type}): the local stack does not emulate {', '.join(unknown)}; "
            "teach local/resources.py what it means locally"
        )


def _physical_name(logical_id: str) -> str:
    """A stable name, like CloudFormation's generated `<stack>-<LogicalId>-<suffix>` without the suffix."""
    return f"{STACK_NAME}-{logical_id}"


def create_table(dynamodb: Any, name: str, props: dict[str, Any]) -> dict[str, Any]:
    """Create one AWS::DynamoDB::Table under `name` exactly as declared: keys, indexes, streams, TTL."""
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if "ProvisionedThroughput" in props:
        request["ProvisionedThroughput"] = props["ProvisionedThroughput"]
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if key in props:
            request[key] = [{k: v for k, v in index.items() if k not in _INDEX_IGNORED} for index in props[key]]
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    table: dict[str, Any] = dynamodb.create_table(**request)["TableDescription"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]}
        )
    return table


class Provisioner:
    """Creates the template's resources in the emulator and records what each Ref and GetAtt yields."""

    def __init__(
        self,
        template: Template,
        resolver: Resolver,
        physical: dict[str, PhysicalResource],
        *,
        admin_auth_pool: str | None,
    ) -> None:
        self._template = template
        self._resolver = resolver
        self._physical = physical
        self._admin_auth_pool = admin_auth_pool
        session = boto3.session.Session()
        self._dynamodb = session.client("dynamodb")
        self._cognito = session.client("cognito-idp")
        self._s3 = session.client("s3")
        self._sqs = session.client("sqs")
        self._ses = session.client("ses")
        self._creators: dict[str, Callable[[str, dict[str, Any]], PhysicalResource]] = {
            "AWS::DynamoDB::Table": self._table,
            "AWS::Cognito::UserPool": self._user_pool,
            "AWS::Cognito::UserPoolClient": self._user_pool_client,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SQS::Queue": self._queue,
        }

    def create_all(self) -> None:
        self._physical.clear()
        for logical_id in template_creation_order(self._template):
            if self._resolver.is_active(logical_id):
                self._physical[logical_id] = self._create(logical_id)

    def verify_sender(self, address: str) -> None:
        """SES only sends from verified identities; in a real account the MailSender is verified once."""
        self._ses.verify_email_identity(EmailAddress=address)

    def _create(self, logical_id: str) -> PhysicalResource:
        resource_type: str = self._template.resources[logical_id]["Type"]
        if resource_type == "AWS::Serverless::Function":
            return self._function(logical_id)
        if resource_type in _NOT_EMULATED or resource_type.startswith(_NOT_EMULATED_PREFIXES):
            return self._not_emulated(logical_id, resource_type)
        creator = self._creators.get(resource_type)
        if creator is None:
            raise TemplateError(
                f"{logical_id}: the local stack cannot create a {resource_type}; add a creator to local/resources.py"
            )
        props = self._resolver.resolve(self._template.resources[logical_id].get("Properties") or {})
        return creator(logical_id, props)

    def _function(self, logical_id: str) -> PhysicalResource:
        """Functions run in this process (local/functions.py); only their name and ARN are needed."""
        name = self._resolver.resolve(self._template.properties(logical_id).get("FunctionName")) or _physical_name(
            logical_id
        )
        arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
        return PhysicalResource(logical_id, "AWS::Serverless::Function", name, {"Arn": arn})

    def _not_emulated(self, logical_id: str, resource_type: str) -> PhysicalResource:
        """Nothing to create, but a Ref or GetAtt to it must still resolve to something plausible."""
        if resource_type == "AWS::Serverless::Api":
            return PhysicalResource(logical_id, resource_type, logical_id.lower()[:10], {"RootResourceId": "root"})
        if resource_type.endswith("::LayerVersion"):
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{logical_id}:1"
            return PhysicalResource(logical_id, resource_type, arn, {"Arn": arn})
        service, kind = resource_type.split("::")[1:3]
        arn = f"arn:aws:{service.lower()}:{REGION}:{ACCOUNT_ID}:{kind.lower()}/{logical_id}"
        return PhysicalResource(logical_id, resource_type, logical_id, {"Arn": arn})

    def _table(self, logical_id: str, props: dict[str, Any]) -> PhysicalResource:
        _check_properties(logical_id, "AWS::DynamoDB::Table", props, _TABLE_APPLIED | _TABLE_IGNORED)
        name = props.get("TableName") or _physical_name(logical_id)
        table = create_table(self._dynamodb, name, props)
        attributes = {"Arn": table["TableArn"]}
        if "LatestStreamArn" in table:
            attributes["StreamArn"] = table["LatestStreamArn"]
        return PhysicalResource(logical_id, "AWS::DynamoDB::Table", name, attributes)

    def _user_pool(self, logical_id: str, props: dict[str, Any]) -> PhysicalResource:
        """CloudFormation's properties are CreateUserPool's parameters, but for the pool's name."""
        if "LambdaConfig" in props:
            raise TemplateError(f"{logical_id}: Cognito triggers (LambdaConfig) are not emulated by the local stack")
        request = {("PoolName" if key == "UserPoolName" else key): value for key, value in props.items()}
        request.setdefault("PoolName", _physical_name(logical_id))
        enabled_mfas = request.pop("EnabledMfas", [])  # CloudFormation's; the API sets it separately
        pool = self._cognito.create_user_pool(**request)["UserPool"]
        if "SOFTWARE_TOKEN_MFA" in enabled_mfas:
            self._cognito.set_user_pool_mfa_config(
                UserPoolId=pool["Id"],
                SoftwareTokenMfaConfiguration={"Enabled": True},
                MfaConfiguration=request.get("MfaConfiguration", "OFF"),
            )
        provider = f"cognito-idp.{REGION}.amazonaws.com/{pool['Id']}"
        attributes = {
            "Arn": pool["Arn"],
            "ProviderName": provider,
            "ProviderURL": f"https://{provider}",
            "UserPoolId": pool["Id"],
        }
        return PhysicalResource(logical_id, "AWS::Cognito::UserPool", pool["Id"], attributes)

    def _user_pool_client(self, logical_id: str, props: dict[str, Any]) -> PhysicalResource:
        """As declared; a client of the pool `/_local/employer-token` logs in to may also log in as admin."""
        request = dict(props)
        request.setdefault("ClientName", logical_id)
        admin_pool = self._physical.get(self._admin_auth_pool or "")
        if admin_pool is not None and request["UserPoolId"] == admin_pool.ref:
            flows = request.get("ExplicitAuthFlows") or _DEFAULT_AUTH_FLOWS
            request["ExplicitAuthFlows"] = sorted({*flows, "ALLOW_ADMIN_USER_PASSWORD_AUTH"})
        client = self._cognito.create_user_pool_client(**request)["UserPoolClient"]
        attributes = {"Name": client["ClientName"]}
        if "ClientSecret" in client:
            attributes["ClientSecret"] = client["ClientSecret"]
        return PhysicalResource(logical_id, "AWS::Cognito::UserPoolClient", client["ClientId"], attributes)

    def _bucket(self, logical_id: str, props: dict[str, Any]) -> PhysicalResource:
        _check_properties(logical_id, "AWS::S3::Bucket", props, _BUCKET_APPLIED | _BUCKET_IGNORED)
        name = props.get("BucketName") or _physical_name(logical_id).lower()
        self._s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        if "VersioningConfiguration" in props:
            self._s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
        if "BucketEncryption" in props:
            rules = [
                {
                    "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                    "BucketKeyEnabled": rule.get("BucketKeyEnabled", False),
                }
                for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            self._s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
        if "PublicAccessBlockConfiguration" in props:
            self._s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        if "OwnershipControls" in props:
            self._s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=props["OwnershipControls"])
        if "CorsConfiguration" in props:
            rules = [
                {("MaxAgeSeconds" if key == "MaxAge" else key): value for key, value in rule.items()}
                for rule in props["CorsConfiguration"]["CorsRules"]
            ]
            self._s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
        attributes = {
            "Arn": f"arn:aws:s3:::{name}",
            "DomainName": f"{name}.s3.amazonaws.com",
            "RegionalDomainName": f"{name}.s3.{REGION}.amazonaws.com",
        }
        return PhysicalResource(logical_id, "AWS::S3::Bucket", name, attributes)

    def _queue(self, logical_id: str, props: dict[str, Any]) -> PhysicalResource:
        """Every other property of AWS::SQS::Queue is a queue attribute of the same name."""
        fifo = bool(props.get("FifoQueue"))
        name = props.get("QueueName") or _physical_name(logical_id) + (".fifo" if fifo else "")
        attributes = {key: _queue_attribute(value) for key, value in props.items() if key not in _QUEUE_IGNORED}
        url = self._sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return PhysicalResource(logical_id, "AWS::SQS::Queue", url, {"Arn": arn, "QueueName": name, "QueueUrl": url})


def _queue_attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)
