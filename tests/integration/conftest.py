"""Handlers and repositories under moto's in-process AWS, with the tables created from template.yaml."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

from local.offline import create_tables
from werknemerloket.mail import gateway
from werknemerloket.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]


def load_function(name: str) -> ModuleType:
    """Import functions/<name>/app.py as its own module, as Lambda would with CodeUri on the path."""
    module_name = f"function_{name}_app"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, ROOT / "functions" / name / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "functions" / name))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "functions" / name))
    sys.modules[module_name] = module
    return module


@pytest.fixture
def aws() -> Iterator[None]:
    """A fresh emulated account per test: every table of the template, and a verified mail sender."""
    with mock_aws():
        gateway._ses.cache_clear()
        create_tables(boto3.client("dynamodb", region_name="eu-west-1"))
        boto3.client("ses", region_name="eu-west-1").verify_email_identity(EmailAddress=get_settings().mail_sender)
        yield
        gateway._ses.cache_clear()
