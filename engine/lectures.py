"""The lectures' seeds and printed numbers, in one place.

Every page, test and engine module that reproduces a lecture reads its seed and its
reference numbers from here.
"""

from __future__ import annotations

LECTURE_SEED = 2147483647  # torch.Generator().manual_seed(2147483647), from lecture 2 on
SAMPLE_SEED = LECTURE_SEED + 10  # the generator the lectures sample names with
SMOOTHING_K = 1.0  # lecture 2 (makemore part 1): P = (N + 1).float(), "fake counts"
FAN_IN = 10  # lecture 4 (makemore part 3): x = torch.randn(1000, 10), w = randn(10, 200)

# The "loss log" of the notebook (cell 11, markdown) and cell 19: (train, dev) after training.
LECTURE_LOSS_LOG = {
    "part3-original": (2.1245384216308594, 2.168196439743042),
    "part3-fix-softmax": (2.07, 2.13),
    "part3-fix-tanh": (2.0355966091156006, 2.1026785373687744),
    "part3-kaiming": (2.0376641750335693, 2.106989622116089),
    "part3-batchnorm": (2.0668270587921143, 2.104844808578491),
    "part3-deep-bn": (2.4002976417541504, 2.3982467651367188),
}

# Lecture 5 (makemore part 4), exercise 4: the notebook's printed split losses after
# training with the manual backward, and the numbers its comment says were achieved.
PART4_EX4_LOSS = {"train": 2.070523500442505, "dev": 2.109893560409546}
PART4_EX4_ACHIEVED = {"train": 2.0718822, "dev": 2.1162496}
