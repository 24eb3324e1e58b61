"""How far runs trained together (engine.stacked) land from the same runs trained alone.

For each family's lecture preset: R runs of a class (the preset's config, each its own
seed and learning rate), trained alone with the fused step and together in one Stack;
the largest difference of their final train and dev losses, and how many runs ended bit
for bit equal (weights, loss history, evaluations). The numbers behind the README's
"measured difference per family".

    python scripts/stacked_drift.py [--runs 16] [--steps 3000] [--presets part2-mlp ...]

--steps shortens every run (a step decay moves with it: halfway stays halfway).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from engine import data  # noqa: E402
from engine.presets import PRESETS  # noqa: E402
from engine.stacked import Stack  # noqa: E402
from engine.train import Job  # noqa: E402

FAMILIES = ["part2-mlp", "part3-batchnorm", "part3-deep-bn", "part5-wavenet"]


def drift(name: str, runs: int, steps: int | None) -> dict:
    p = PRESETS[name]
    ds = data.load_builtin("names")
    splits = data.make_splits(ds, p.model.block_size, p.shuffles)
    train = p.train
    if steps is not None:
        decay = max(1, train.lr_decay_step * steps // train.steps)
        train = dataclasses.replace(train, steps=steps, lr_decay_step=decay, eval_every=0)
    trains = [
        dataclasses.replace(train, seed=train.seed + i, lr=train.lr * (1 + i % 3) / 2)
        for i in range(runs)
    ]
    alone = [Job(p.model, t, splits, ds.vocab_size) for t in trains]
    for job in alone:
        job.run()
    together = [Job(p.model, t, splits, ds.vocab_size) for t in trains]
    Stack(together).run()

    pairs = list(zip(alone, together, strict=True))

    def equal(a, b):
        sa, sb = a.model.state_dict(), b.model.state_dict()
        return a.lossi == b.lossi and all(torch.equal(sa[k], sb[k]) for k in sa)

    return {
        "preset": name,
        "runs": runs,
        "steps": train.steps,
        "max_train_diff": max(abs(a.final["train"] - b.final["train"]) for a, b in pairs),
        "max_dev_diff": max(abs(a.final["dev"] - b.final["dev"]) for a, b in pairs),
        "bit_for_bit": sum(equal(a, b) for a, b in pairs),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--presets", nargs="*", default=FAMILIES)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    for name in args.presets:
        print(json.dumps(drift(name, args.runs, args.steps)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
