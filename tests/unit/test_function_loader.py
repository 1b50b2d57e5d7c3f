"""The tests' loader of a function's code (tests/functions.py): one import per function, the modules
its handler really uses, and sys.path left as it was."""

from __future__ import annotations

import sys

import pytest

from tests.functions import FUNCTIONS, load_function


def test_a_function_is_imported_once_with_the_very_modules_its_handler_uses_and_sys_path_is_left_alone():
    before = list(sys.path)

    app = load_function("activate")

    assert load_function("activate") is app
    assert load_function("activate", "page_texts").texts is app.texts  # not a second copy of the module
    assert sys.path == before
    assert str(FUNCTIONS / "activate") not in sys.path


def test_an_unknown_function_or_module_is_named_in_the_error():
    with pytest.raises(LookupError, match="no function 'nope'"):
        load_function("nope")
    with pytest.raises(LookupError, match="has no module 'nope'"):
        load_function("activate", "nope")
