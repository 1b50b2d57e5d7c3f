"""Import every function of the template into this one process, and invoke it the way Lambda does.

Lambda gives each function a process of its own; here they share one. That is what lets the local
stack start in seconds and lets `POST /_local/clock` move time for every function at once. What the
sharing costs is made explicit instead of left to chance: the environment must be the same for every
function (the template declares it in Globals, so it is), each handler module is imported under a
name of its own, and a sibling module whose name occurs in more than one function directory is
imported afresh for each function (a handler that imports such a module lazily, at call time, would
get whichever copy came first: keep those imports at the top of the module).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.template import PhysicalResource, Resolver, Template, TemplateError

log = logging.getLogger("local.functions")

SUPPORTED_EVENT_TYPES = frozenset({"Api", "Schedule", "SQS"})


@dataclass
class LambdaContext:
    """The attributes of the Python runtime's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    deadline: float
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"
    identity: Any = None
    client_context: Any = None

    def __post_init__(self) -> None:
        self.log_group_name = f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Function:
    logical_id: str
    name: str
    arn: str
    code_dir: Path
    handler: Callable[[Any, Any], Any]
    memory_mb: int
    timeout_seconds: float
    properties: Mapping[str, Any] = field(default_factory=dict)  # as the template declares them, Globals applied

    def events_of_type(self, event_type: str) -> list[tuple[str, Mapping[str, Any]]]:
        """The (unresolved) events of one type: (event name, its Properties)."""
        events: Mapping[str, Mapping[str, Any]] = self.properties.get("Events") or {}
        return [(name, event.get("Properties") or {}) for name, event in events.items() if event["Type"] == event_type]

    def invoke(self, event: Any) -> Any:
        started = time.monotonic()
        context = LambdaContext(
            function_name=self.name,
            invoked_function_arn=self.arn,
            memory_limit_in_mb=self.memory_mb,
            aws_request_id=str(uuid.uuid4()),
            deadline=started + self.timeout_seconds,
        )
        result = self.handler(event, context)
        elapsed = time.monotonic() - started
        if elapsed > self.timeout_seconds:
            # Not an error here: every function shares this process and one emulator that serves a request at
            # a time, so a burst of invocations takes longer locally than each would on Lambda.
            log.warning(
                "%s ran %.1f s, longer than its Timeout of %g s; Lambda would have stopped it unless only "
                "the local stack's contention made it slow",
                self.logical_id,
                elapsed,
                self.timeout_seconds,
            )
        return result


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def function_ids(template: Template, resolver: Resolver) -> list[str]:
    return [lid for lid, _ in template.resources_of_type("AWS::Serverless::Function") if resolver.is_active(lid)]


def shared_environment(template: Template, resolver: Resolver) -> dict[str, str]:
    """The functions' environment variables (Globals plus their own), which must agree between functions."""
    environment: dict[str, str] = {}
    for logical_id in function_ids(template, resolver):
        declared = (template.properties(logical_id).get("Environment") or {}).get("Variables") or {}
        for name, value in resolver.resolve(declared).items():
            text = _env_text(value)
            if environment.get(name, text) != text:
                raise TemplateError(
                    f"{logical_id} sets {name} to {text!r} but another function sets {environment[name]!r}; "
                    "the functions share one process in the local stack"
                )
            environment[name] = text
    return environment


def _top_level_modules(directory: Path) -> set[str]:
    names = {path.stem for path in directory.glob("*.py")}
    return names | {path.name for path in directory.iterdir() if (path / "__init__.py").is_file()}


def _forget(module_names: set[str]) -> None:
    for name in list(sys.modules):
        if name.split(".", 1)[0] in module_names:
            del sys.modules[name]


def import_file(path: Path, module_name: str) -> ModuleType:
    """A Python file imported under `module_name` (every function has an `app.py`)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise TemplateError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # pydantic and dataclasses look their module up while it runs
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def load_functions(
    template: Template, resolver: Resolver, physical: Mapping[str, PhysicalResource]
) -> dict[str, Function]:
    """Import each function's handler (CodeUri + Handler), with its directory first on sys.path as in Lambda."""
    properties = {lid: template.properties(lid) for lid in function_ids(template, resolver)}
    code_dirs: dict[str, Path] = {}
    for logical_id, props in properties.items():
        code_uri, runtime = resolver.resolve(props.get("CodeUri")), str(resolver.resolve(props.get("Runtime", "")))
        if not isinstance(code_uri, str) or not runtime.startswith("python"):
            raise TemplateError(f"{logical_id}: only Python functions with a local CodeUri run in the local stack")
        code_dirs[logical_id] = (template.directory / code_uri).resolve()
        if not code_dirs[logical_id].is_dir():
            raise TemplateError(f"{logical_id}: CodeUri {code_dirs[logical_id]} is not a directory")
        for name, event in (props.get("Events") or {}).items():
            if event.get("Type") not in SUPPORTED_EVENT_TYPES:
                raise TemplateError(
                    f"{logical_id}.{name}: the local stack does not deliver {event.get('Type')} events; "
                    "teach local/gateway.py or local/scheduler.py to"
                )
    all_dirs = set(code_dirs.values())
    seen: dict[str, Path] = {}
    clashing: set[str] = set()
    for directory in all_dirs:
        for module_name in _top_level_modules(directory):
            if module_name in seen:
                clashing.add(module_name)
            seen[module_name] = directory

    modules: dict[Path, ModuleType] = {}
    functions: dict[str, Function] = {}
    for logical_id, props in properties.items():
        code_dir = code_dirs[logical_id]
        module_path, _, attribute = str(resolver.resolve(props["Handler"])).rpartition(".")
        file = code_dir / (module_path.replace(".", "/") + ".py")
        if not file.is_file():
            raise TemplateError(f"{logical_id}: handler module {file} does not exist")
        if file not in modules:
            if str(code_dir) in sys.path:
                sys.path.remove(str(code_dir))
            sys.path.insert(0, str(code_dir))
            _forget(clashing)
            unique_name = re.sub(r"\W", "_", os.path.relpath(file.with_suffix(""), template.directory))
            try:
                modules[file] = import_file(file, unique_name)
            except Exception as error:
                raise TemplateError(f"{logical_id}: importing {file} failed: {error!r}") from error
            finally:
                _forget(clashing)
        handler = getattr(modules[file], attribute, None)
        if not callable(handler):
            raise TemplateError(f"{logical_id}: {file} has no handler {attribute}")
        functions[logical_id] = Function(
            logical_id=logical_id,
            name=physical[logical_id].ref,
            arn=physical[logical_id].attributes["Arn"],
            code_dir=code_dir,
            handler=handler,
            memory_mb=int(resolver.resolve(props.get("MemorySize", 128))),
            timeout_seconds=float(resolver.resolve(props.get("Timeout", 3))),
            properties=props,
        )
    return functions
