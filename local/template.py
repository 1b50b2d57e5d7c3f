"""Load template.yaml and resolve its intrinsic functions, so that the local stack is driven by it.

Tables, pools, buckets, queues and routes are defined once, in the SAM template (DESIGN.md). The local
stack reads that very file instead of a copy, so whatever is added there appears locally without a
change here. The intrinsics a SAM template of this kind uses are resolved; any other one fails loudly
rather than leaving a half-resolved value behind that would break much later and far away.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "eu-west-1"
STACK_NAME = "werknemerloket-local"


class TemplateError(RuntimeError):
    """The template asks for something the local stack cannot emulate faithfully."""


class _CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that turns CloudFormation's short tags (`!Ref X`) into their long form."""


def _construct_short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_short_tag)


def merge_globals(global_value: Any, own_value: Any) -> Any:
    """SAM's rules for Globals: maps are merged, lists are concatenated (globals first), scalars overridden."""
    if isinstance(global_value, dict) and isinstance(own_value, dict):
        merged = dict(global_value)
        for key, value in own_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(own_value, list):
        return [*global_value, *own_value]
    return own_value


@dataclass(frozen=True)
class Template:
    path: Path
    body: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Template:
        with path.open(encoding="utf-8") as stream:
            body = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
        if not isinstance(body, dict) or not isinstance(body.get("Resources"), dict):
            raise TemplateError(f"{path} is not a CloudFormation template with Resources")
        return cls(path.resolve(), body)

    @property
    def directory(self) -> Path:
        return self.path.parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.body["Resources"]
        return resources

    def resources_of_type(self, resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
        return ((logical_id, r) for logical_id, r in self.resources.items() if r.get("Type") == resource_type)

    def properties(self, logical_id: str) -> dict[str, Any]:
        """The resource's properties with the template's Globals applied (for the SAM types they cover)."""
        resource = self.resources[logical_id]
        own = resource.get("Properties") or {}
        section = {"AWS::Serverless::Function": "Function", "AWS::Serverless::Api": "Api"}.get(resource["Type"])
        if section is None:
            return dict(own)
        merged: dict[str, Any] = merge_globals((self.body.get("Globals") or {}).get(section) or {}, own)
        return merged


@dataclass(frozen=True)
class PhysicalResource:
    """What CloudFormation would report for a created resource: its Ref value and its GetAtt attributes."""

    logical_id: str
    type: str
    ref: str
    attributes: dict[str, str] = field(default_factory=dict)


def parameter_values(template: Template, local_values: Mapping[str, str]) -> dict[str, Any]:
    """Every parameter's value: the local one where given, else its Default; none at all is an error."""
    values: dict[str, Any] = {}
    for name, spec in (template.body.get("Parameters") or {}).items():
        if name in local_values:
            raw: Any = local_values[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            raise TemplateError(f"parameter {name} has no Default and the local stack gives it no value")
        is_list = spec.get("Type") == "CommaDelimitedList" or str(spec.get("Type", "")).startswith("List<")
        if is_list:
            values[name] = raw if isinstance(raw, list) else [item.strip() for item in str(raw).split(",")]
        else:
            values[name] = str(raw)  # CloudFormation hands Number parameters to Ref as strings too
    return values


class _NoValue:
    """AWS::NoValue: the property it stands in for is left out."""


NO_VALUE = _NoValue()
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Resolver:
    """Resolves intrinsic functions against parameters, conditions and the resources created so far."""

    def __init__(self, template: Template, parameters: Mapping[str, Any], physical: Mapping[str, PhysicalResource]):
        self._template = template
        self._parameters = parameters
        self._physical = physical
        self._conditions: dict[str, bool] = {}

    def resolve(self, value: Any) -> Any:
        resolved = self._resolve(value)
        return None if resolved is NO_VALUE else resolved

    def is_active(self, logical_id: str) -> bool:
        """Whether a resource exists in this stage: it has no Condition or its Condition holds."""
        condition = self._template.resources[logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self._template.body.get("Conditions") or {}
            if name not in conditions:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = self._evaluate(conditions[name])
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self._parameters:
            return self._parameters[name]
        return self._created(name).ref

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self._created(logical_id)
        if attribute not in resource.attributes:
            raise TemplateError(f"{logical_id} ({resource.type}) has no attribute {attribute} in the local stack")
        return resource.attributes[attribute]

    def _created(self, logical_id: str) -> PhysicalResource:
        if logical_id not in self._physical:
            if logical_id in self._template.resources:
                raise TemplateError(f"{logical_id} is referenced before it exists (or its Condition is false)")
            raise TemplateError(f"reference to unknown parameter or resource {logical_id}")
        return self._physical[logical_id]

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self._resolve(v) for v in value) if item is not NO_VALUE]
        if isinstance(value, dict):
            if len(value) == 1:
                key, argument = next(iter(value.items()))
                if key == "Ref" or key.startswith("Fn::"):
                    return self._intrinsic(key, argument)
            return {k: item for k, v in value.items() if (item := self._resolve(v)) is not NO_VALUE}
        return value

    def _intrinsic(self, name: str, argument: Any) -> Any:
        match name:
            case "Ref":
                return self.ref(self._resolve(argument))
            case "Fn::GetAtt":
                logical_id, attribute = self._resolve(argument)
                return self.get_att(logical_id, attribute)
            case "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                return self._sub(text, {k: self._resolve(v) for k, v in variables.items()})
            case "Fn::Join":
                delimiter, items = self._resolve(argument)
                return delimiter.join(str(item) for item in items)
            case "Fn::Select":
                index, items = self._resolve(argument)
                return items[int(index)]
            case "Fn::Split":
                delimiter, text = self._resolve(argument)
                return text.split(delimiter)
            case "Fn::If":
                condition, when_true, when_false = argument
                return self._resolve(when_true if self.condition(condition) else when_false)
            case "Fn::FindInMap":
                map_name, top_key, second_key = self._resolve(argument)
                return self._template.body["Mappings"][map_name][top_key][second_key]
            case "Fn::Base64":
                return base64.b64encode(str(self._resolve(argument)).encode()).decode()
            case "Fn::ToJsonString":
                return json.dumps(self._resolve(argument), separators=(",", ":"))
            case "Fn::Length":
                return len(self._resolve(argument))
        raise TemplateError(f"the local stack does not resolve {name}")

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and name.split(".", 1)[0] in self._template.resources:
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def _evaluate(self, expression: Any) -> bool:
        (name, argument), *_ = expression.items()
        match name:
            case "Fn::Equals":
                left, right = (self._resolve(side) for side in argument)
                return str(left) == str(right)
            case "Fn::Not":
                return not self._evaluate(argument[0])
            case "Fn::And":
                return all(self._evaluate(item) for item in argument)
            case "Fn::Or":
                return any(self._evaluate(item) for item in argument)
            case "Condition":
                return self.condition(argument)
        raise TemplateError(f"the local stack does not evaluate {name} in a condition")


def references(value: Any, resource_ids: Collection[str]) -> set[str]:
    """The resources a (raw, unresolved) value refers to through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item, resource_ids)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif key == "Fn::GetAtt" and isinstance(argument, list) and isinstance(argument[0], str):
                found.add(argument[0])
            elif key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                found |= {name.split(".", 1)[0] for name in _SUB_VARIABLE.findall(text) if name not in variables}
                found |= references(variables, resource_ids)
            else:
                found |= references(argument, resource_ids)
    return found & set(resource_ids)


def creation_order(template: Template) -> list[str]:
    """The resources in an order that creates everything a resource refers to before the resource itself."""
    resources = template.resources
    dependencies: dict[str, set[str]] = {}
    for logical_id, resource in resources.items():
        depends_on = resource.get("DependsOn") or []
        depends_on = [depends_on] if isinstance(depends_on, str) else depends_on
        dependencies[logical_id] = references(resource.get("Properties") or {}, resources) | set(depends_on)
    order: list[str] = []
    placed: set[str] = set()
    while len(order) < len(resources):
        ready = [lid for lid in resources if lid not in placed and dependencies[lid] <= placed]
        if not ready:
            cycle = sorted(set(resources) - placed)
            raise TemplateError(f"circular references between {', '.join(cycle)}")
        order.extend(ready)
        placed.update(ready)
    return order
