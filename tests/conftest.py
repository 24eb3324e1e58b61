"""Shared fixtures. Tests that need makemore's names.txt read it from $MAKEMORE_DATA_DIR."""

import atexit
import os
import shutil
import tempfile

import pytest

from engine import data

# Every test run gets an empty run cache of its own (the app and the CLI share one on disk).
os.environ["MAKEMORE_RUN_CACHE_DIR"] = tempfile.mkdtemp(prefix="makemore-runs-")
atexit.register(shutil.rmtree, os.environ["MAKEMORE_RUN_CACHE_DIR"], True)
# Co-batching is off by default (README): the tests run with it on, so that every page's
# training also goes through the grouping path; the tests of the default set MAKEMORE_GROUP=1.
os.environ.setdefault("MAKEMORE_GROUP", "32")

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
