"""The load test's smoke run: five simulated students train at once, and all of them finish."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import needs_names

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@needs_names
def test_five_students_each_train_their_own_mlp_and_all_see_it_done():
    out = subprocess.run(
        [sys.executable, "scripts/loadtest.py", "--students", "5", "--steps", "3000", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["runs_finished"] == 5, report["messages"]
    assert report["errors"] == 0, report["messages"]
    assert report["exceptions"] == 0, report["messages"]
    assert report["idle_interactions"] + report["training_interactions"] >= 5 * 5
    assert out.returncode == 0
