"""engine.history.LossHistory: a run's lossi with running sums that follow it as it grows."""

import copy
import pickle
import random

import torch

from engine.history import LossHistory


def cumsum(values) -> list[float]:
    return [0.0, *torch.tensor(values, dtype=torch.float64).cumsum(0).tolist()]


def test_prefix_sums_follow_the_appends():
    rng, lossi = random.Random(0), LossHistory()
    assert lossi.prefix_sums().tolist() == [0.0]
    for chunk in [1, 3, 1000, 2, 5000, 1]:  # grows past its first buffer of 1,024
        lossi.extend(rng.uniform(0.1, 1.5) for _ in range(chunk))
        sums = lossi.prefix_sums()
        assert sums.shape == (len(lossi) + 1,)
        torch.testing.assert_close(sums, torch.tensor(cumsum(lossi), dtype=torch.float64))


def test_sums_already_handed_out_stay_as_they_were():
    lossi = LossHistory([1.0, 2.0])
    early = lossi.prefix_sums()
    lossi.extend([3.0] * 2000)
    lossi.prefix_sums()
    lossi[:] = [5.0]  # rewritten, not appended to: summed afresh
    assert lossi.prefix_sums().tolist() == [0.0, 5.0]
    assert early.tolist() == [0.0, 1.0, 3.0]


def test_a_copy_or_a_pickle_carries_the_losses():
    lossi = LossHistory([0.5, 0.25])
    lossi.prefix_sums()
    for other in (copy.deepcopy(lossi), pickle.loads(pickle.dumps(lossi))):
        assert type(other) is LossHistory
        assert other == [0.5, 0.25]
        assert other.prefix_sums().tolist() == [0.0, 0.5, 0.75]
