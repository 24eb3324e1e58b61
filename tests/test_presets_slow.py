"""Full lecture reproductions: every preset trains to the lecture's numbers (minutes each).

Marked slow; .ci/run runs them. The lecture values are in engine/presets.py.
"""

import pytest

from engine import data
from engine.presets import PRESETS
from engine.train import Job

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", list(PRESETS))
def test_preset_reproduces_the_lecture(names, name):
    p = PRESETS[name]
    splits = data.make_splits(names, p.model.block_size, p.shuffles)
    result = Job(p.model, p.train, splits, names.vocab_size).run()
    if p.expected:
        assert result["train"] == pytest.approx(p.expected[0], abs=0.002)
        assert result["dev"] == pytest.approx(p.expected[1], abs=0.002)
    if p.dev_range:
        assert p.dev_range[0] <= result["dev"] <= p.dev_range[1]
    if p.target_dev:
        assert result["dev"] <= p.target_dev
