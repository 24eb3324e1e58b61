"""Shared fixtures. Tests that need makemore's names.txt read it from $MAKEMORE_DATA_DIR."""

import pytest

from engine import data

try:
    NAMES = data.load_builtin("names", download=False)
    NAMES_MISSING = ""
except data.DatasetError as e:
    NAMES = None
    NAMES_MISSING = f"{e} (set MAKEMORE_DATA_DIR to the folder with names.txt)"

needs_names = pytest.mark.skipif(NAMES is None, reason=NAMES_MISSING)


@pytest.fixture(scope="session")
def names():
    if NAMES is None:
        pytest.skip(NAMES_MISSING)
    return NAMES
