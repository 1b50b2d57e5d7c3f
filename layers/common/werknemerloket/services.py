"""The composition root: domain services wired to their real repositories, gateways and clock.

Built per request (construction does no I/O), so a clock swapped in by the local stack or a test
is always the one in use.
"""

from __future__ import annotations

from werknemerloket.clock import get_clock
from werknemerloket.data.registry import DynamoEmployeeRepository, DynamoEmployerRepository
from werknemerloket.domain.registry import Registry


def registry() -> Registry:
    return Registry(DynamoEmployerRepository(), DynamoEmployeeRepository(), get_clock())
