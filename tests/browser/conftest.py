"""Browser tests: the employee pages in headless Chromium (Debian's /usr/bin/chromium, never a
downloaded one) against a local stack of their own.

The stack fixtures are the end-to-end tests' (imported, so this directory gets a stack of its own
and may move its clock freely). Screenshots of every page go to test-artifacts/screenshots/.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import http, stack, start_local_stack  # noqa: F401 - fixtures shared with e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "headless": True,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # No JavaScript at all: the pages must work without it. Dutch, as most employees' browsers are.
    return {
        **browser_context_args,
        "java_script_enabled": False,
        "locale": "nl-NL",
        "viewport": {"width": 1024, "height": 860},
    }


@pytest.fixture
def screenshot(page: Any) -> Callable[[str], Path]:
    """`screenshot(name)`: the whole page, into test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
