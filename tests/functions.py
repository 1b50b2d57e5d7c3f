"""A function's code imported the way Lambda imports it, for the tests that call handlers in-process.

Lambda puts the function's CodeUri directory first on sys.path, so `app.py` imports its siblings by
their bare names (`from page_texts import ...`). Every function has an `app.py`, so each is kept
under a name of its own (`function_<name>_app`). Each function is imported once per test process,
as a warm Lambda keeps it (importing again would build a second resolver and second copies of its
classes), and sys.path is as it was before afterwards.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from local.functions import import_file

FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"

_loaded: dict[str, dict[str, ModuleType]] = {}


def load_function(name: str, module: str = "app") -> ModuleType:
    """`functions/<name>/<module>.py`, e.g. `load_function("grant_access")` for the employer API's handler
    module or `load_function("activate", "page_texts")` for the very module the activation pages use."""
    if name not in _loaded:
        _loaded[name] = _import_function(name)
    modules = _loaded[name]
    if module not in modules:
        raise LookupError(f"functions/{name} has no module {module!r}; it has {sorted(modules)}")
    return modules[module]


def _import_function(name: str) -> dict[str, ModuleType]:
    directory = FUNCTIONS / name
    if not (directory / "app.py").is_file():
        raise LookupError(f"no function {name!r}: {directory / 'app.py'} does not exist")
    siblings = sorted(path.stem for path in directory.glob("*.py") if path.stem != "app")
    for stem in siblings:  # another function's module of the same bare name must not stand in for ours
        sys.modules.pop(stem, None)
    entry = str(directory)
    sys.path.insert(0, entry)
    try:
        modules = {"app": import_file(directory / "app.py", f"function_{name}_app")}
        for stem in siblings:  # what app imported already is the same module object here
            modules[stem] = importlib.import_module(stem)
    finally:
        sys.path.remove(entry)  # the first occurrence: the one inserted above
    return modules
