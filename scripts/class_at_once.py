"""A class's runs without any page: N distinct MLP runs submitted at once to a local
training service, grouped (co-batching) or not, seconds from the submits to the last done.

    python scripts/class_at_once.py [--runs 30] [--steps 3000] [--rounds 2]

The runs are the load test's (scripts/loadtest.py, class_jobs): the trainer page's
default MLP and schedule, 3,000 steps, a seed each. Each round trains them once with
MAKEMORE_GROUP=1 and once with 32, each in a fresh service (MAKEMORE_SLOTS workers, one
torch thread each) of a process of its own. What the load test adds on top of these
figures is the pages. A benchmark, not a test: run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import loadtest  # noqa: E402  (the load test's runs and service)


def train_class(runs: int, steps: int) -> dict:
    """Submit the runs at once, watch them all until done: {"last", "median"} seconds."""
    ds, jobs = loadtest.class_jobs(runs, steps, same_run=False)
    service = loadtest.local_service(tempfile.mkdtemp(prefix="class-at-once-"))
    try:
        t0 = time.monotonic()
        handles = [service.submit(job, f"student-{i}", ds)[0] for i, job in enumerate(jobs)]
        done: dict[int, float] = {}
        while len(done) < runs:
            for i, handle in enumerate(handles):
                service.watch(handle, f"student-{i}")
                if handle.state == "failed":
                    raise RuntimeError(f"run {i}: {handle.error}")
                if handle.state == "done":
                    done.setdefault(i, time.monotonic() - t0)
            time.sleep(0.05)
    finally:
        service.close()
    seconds = sorted(done.values())
    return {"last": round(seconds[-1], 2), "median": round(seconds[len(seconds) // 2], 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:  # one class in this process, with the environment's MAKEMORE_GROUP
        print(json.dumps(train_class(args.runs, args.steps)))
        return
    rounds = []
    for _ in range(args.rounds):
        row = {}
        for group in (1, 32):
            cmd = [sys.executable, __file__, "--one", "--runs", str(args.runs)]
            env = {**os.environ, "MAKEMORE_GROUP": str(group)}
            out = subprocess.run(
                [*cmd, "--steps", str(args.steps)],
                env=env,
                cwd=ROOT,
                check=True,
                text=True,
                capture_output=True,
            )
            row[group] = json.loads(out.stdout.strip().splitlines()[-1])
        rounds.append(row)
    if args.json:
        print(json.dumps(rounds))
        return
    print(f"{args.runs} runs x {args.steps:,} steps submitted at once, seconds to the last done")
    for i, row in enumerate(rounds, 1):
        alone, grouped = row[1], row[32]
        print(
            f"round {i}: alone {alone['last']:.1f} s (median {alone['median']:.1f}), "
            f"grouped {grouped['last']:.1f} s (median {grouped['median']:.1f}), "
            f"{grouped['last'] / alone['last']:.2f}x the time"
        )


if __name__ == "__main__":
    main()
