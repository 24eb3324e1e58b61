"""Shared fixtures. Tests that need makemore's names.txt read it from $MAKEMORE_DATA_DIR."""

import atexit
import os
import shutil
import tempfile
import time

import pytest

from engine import data

# Every test run gets an empty run cache of its own (the app and the CLI share one on disk).
os.environ["MAKEMORE_RUN_CACHE_DIR"] = tempfile.mkdtemp(prefix="makemore-runs-")
atexit.register(shutil.rmtree, os.environ["MAKEMORE_RUN_CACHE_DIR"], True)

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


def training_of(at, key: str):
    """The training a page's Train started (its replica in this process), or None."""
    handle = at.session_state[f"training:{key}"]["handle"]
    return None if handle is None else handle.trainable


def finish_training(at, key: str, timeout: float = 120.0):
    """Rerun the page as its fragment's timer would until its training ends; the training.

    Worker processes train; AppTest does not tick fragments by itself, so every rerun here
    is one tick of the page watching.
    """
    deadline = time.monotonic() + timeout
    while at.session_state[f"training:{key}"]["running"]:
        assert time.monotonic() < deadline, f"{key} still training after {timeout} s"
        time.sleep(0.1)
        at.run()
    return training_of(at, key)
