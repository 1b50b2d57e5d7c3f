"""Assembles the local stack in the order AWS would: resources, then functions, then the events that call them.

The order matters. The functions read their settings from the environment when they are imported,
so the resources must exist and the environment must be set first; the shiftable clock must be in
place before any function module asks for it; the gateway and the schedules need the functions.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from local.emulator import Emulator
from local.functions import load_functions, shared_environment
from local.gateway import Gateway, build_routes, employer_pool
from local.outbox import Outbox
from local.resources import Provisioner
from local.scheduler import Scheduler
from local.template import (
    REGION,
    PhysicalResource,
    Resolver,
    Template,
    TemplateError,
    parameter_values,
    references,
)
from local.tokens import EmployerTokens
from werknemerloket.clock import ShiftableClock, set_clock

LOCAL_SENDER = "noreply@werknemerloket.local"

# Fake credentials for moto, the pool and client ids derived from their definitions (stable across a
# reset and a restart), and no X-Ray daemon to send traces to.
_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
    "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY": "HASH",
    "POWERTOOLS_TRACE_DISABLED": "true",
}
# Anything that could point a client at a real account instead of the emulator.
_REAL_AWS = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")


def local_parameters(port: int) -> dict[str, str]:
    """The template parameters that have no usable Default locally."""
    return {"Stage": "local", "MailSender": LOCAL_SENDER, "PublicBaseUrl": f"http://127.0.0.1:{port}"}


def _isolate_from_aws(endpoint_url: str) -> None:
    for name in list(os.environ):
        if name in _REAL_AWS or name.startswith("AWS_ENDPOINT_URL_"):
            del os.environ[name]
    os.environ.update(_ENVIRONMENT)
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url


def _login_client(template: Template, pool_id: str, physical: dict[str, PhysicalResource]) -> str:
    for logical_id, resource in template.resources_of_type("AWS::Cognito::UserPoolClient"):
        if references((resource.get("Properties") or {}).get("UserPoolId"), {pool_id}) and logical_id in physical:
            return physical[logical_id].ref
    raise TemplateError(f"{pool_id} has no UserPoolClient to log employer admins in with")


@dataclass
class LocalStack:
    emulator: Emulator
    clock: ShiftableClock
    parameters: dict[str, str]
    physical: dict[str, PhysicalResource]
    provisioner: Provisioner
    gateway: Gateway
    scheduler: Scheduler
    outbox: Outbox
    tokens: EmployerTokens | None
    _reset_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def start(cls, template_path: Path, port: int) -> LocalStack:
        template = Template.load(template_path)
        parameters = parameter_values(template, local_parameters(port))
        emulator = Emulator()
        emulator.start()
        _isolate_from_aws(emulator.url)
        physical: dict[str, PhysicalResource] = {}
        resolver = Resolver(template, parameters, physical)
        admin_pool = employer_pool(template)
        provisioner = Provisioner(template, resolver, physical, admin_auth_pool=admin_pool)
        _provision(provisioner, parameters)
        os.environ.update(shared_environment(template, resolver))
        clock = ShiftableClock()
        set_clock(clock)
        functions = load_functions(template, resolver, physical)
        routes = build_routes(
            template, resolver, functions, lambda pool: f"{emulator.url}/{pool}/.well-known/jwks.json"
        )
        scheduler = Scheduler(functions, resolver, physical, clock)
        tokens = None
        if admin_pool is not None:
            tokens = EmployerTokens(physical[admin_pool].ref, _login_client(template, admin_pool, physical))
        stack = cls(
            emulator=emulator,
            clock=clock,
            parameters=parameters,
            physical=physical,
            provisioner=provisioner,
            gateway=Gateway(routes, clock, port),
            scheduler=scheduler,
            outbox=Outbox(emulator, clock),
            tokens=tokens,
        )
        scheduler.start()
        return stack

    def reset(self) -> None:
        """Empty every table, pool, bucket and queue: moto forgets everything, the template's resources return.

        The functions keep the names and ids they were configured with, so these must come back the same.
        """
        with self._reset_lock:
            before = {logical_id: resource.ref for logical_id, resource in self.physical.items()}
            self.emulator.reset()
            _provision(self.provisioner, self.parameters)
            self.outbox.forget()
            after = {logical_id: resource.ref for logical_id, resource in self.physical.items()}
            if before != after:
                raise TemplateError("the recreated resources have other names or ids; restart the local stack")

    def close(self) -> None:
        self.scheduler.stop()
        self.emulator.stop()


def _provision(provisioner: Provisioner, parameters: dict[str, str]) -> None:
    provisioner.create_all()
    if "MailSender" in parameters:
        provisioner.verify_sender(parameters["MailSender"])
