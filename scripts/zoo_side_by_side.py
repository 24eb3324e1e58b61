"""The zoo against makemore.py, side by side: step-0 loss, parameters, test loss after N steps.

    python scripts/zoo_side_by_side.py --makemore PATH/makemore.py [--steps 3000] [--json]

For each family, makemore.py's defaults on a dataset (names by default): makemore.py's own
training loop (engine.zoo.peer, its TensorBoard writer stubbed) and the zoo's ZooJob, the
same seed, one torch thread each. Both test losses are the mean loss per predicted
character over the whole test set (makemore.py's printed test loss is an estimate from
11 random batches of 100 words).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from engine import data
from engine.zoo import data as zoo_data
from engine.zoo import peer
from engine.zoo.job import ZooJob, makemore_train
from engine.zoo.models import FAMILIES, ZooConfig


def compare(mm, ds, family: str, steps: int) -> dict:
    splits = zoo_data.make_splits(ds)
    theirs = peer.PeerRun(mm, ds, family)
    mine = ZooJob(ZooConfig(family=family, block_size=zoo_data.block_size(ds)), makemore_train(steps), splits, ds.vocab_size)  # fmt: skip
    step0 = mine.step0_loss()
    t0 = time.perf_counter()
    for _ in range(steps):
        theirs.train_step()
    peer_seconds = time.perf_counter() - t0
    mine.run()
    return {
        "family": family,
        "params": mine.model.num_params(),
        "params_makemore": theirs.num_params(),
        "step0": step0,
        "step0_makemore": theirs.losses[0] if theirs.losses else None,
        "test": mine.final["test"],
        "test_makemore": theirs.evaluate("test"),
        "train": mine.final["train"],
        "train_makemore": theirs.evaluate("train"),
        "steps": steps,
        "seconds": round(mine.seconds, 2),
        "seconds_makemore": round(peer_seconds, 2),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--makemore", required=True, help="path to makemore.py")
    ap.add_argument("--dataset", default="names")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--threads", type=int, default=int(os.environ.get("MAKEMORE_THREADS", "1")))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    mm = peer.load(args.makemore)
    ds = data.load_builtin(args.dataset)
    rows = []
    for family in args.families.split(","):
        row = compare(mm, ds, family, args.steps)
        rows.append(row)
        if not args.json:
            print(
                f"{family:12s} params {row['params']:>7,} / {row['params_makemore']:>7,}  "
                f"step 0 {row['step0']:.6f} / {row['step0_makemore']:.6f}  "
                f"test {row['test']:.4f} / {row['test_makemore']:.4f} "
                f"(diff {row['test'] - row['test_makemore']:+.4f})  "
                f"train {row['train']:.4f} / {row['train_makemore']:.4f}  "
                f"{row['seconds']:.0f} s / {row['seconds_makemore']:.0f} s",
                flush=True,
            )
    if args.json:
        print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
