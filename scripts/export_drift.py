"""How closely the exported standalone script reproduces the playground's runs.

For each lecture preset: train it with the engine (as the app does: the fused step, one
torch thread), export its standalone script (engine/export/script.py), run that script
in a fresh process with the same thread count, and compare the final losses and the
20 samples. The numbers behind the precision the README and the script's docstring state.

    python scripts/export_drift.py                          # every preset, its full length
    python scripts/export_drift.py --steps 20000 --presets part3-original part3-kaiming

--steps shortens every run (a step decay moves with it: halfway stays halfway);
--script-threads runs the script with another thread count than the engine's one.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MAKEMORE_THREADS", "1")

import torch  # noqa: E402

from engine import data  # noqa: E402
from engine.export import files, script  # noqa: E402
from engine.presets import PRESETS  # noqa: E402
from engine.serve.records import snapshot  # noqa: E402
from engine.train import Job  # noqa: E402


def shortened(train, steps: int | None):
    if steps is None or steps >= train.steps:
        return train
    decay = round(train.lr_decay_step * steps / train.steps)
    return dataclasses.replace(
        train, steps=steps, lr_decay_step=decay, eval_every=min(train.eval_every, steps // 2)
    )


def measure(name: str, steps: int | None, words: data.Dataset, threads: int) -> dict:
    preset = PRESETS[name]
    train = shortened(preset.train, steps)
    splits = data.make_splits(words, preset.model.block_size, preset.shuffles)
    t0 = time.perf_counter()
    job = Job(preset.model, train, splits, words.vocab_size)
    job.run()
    engine_s = time.perf_counter() - t0
    record = snapshot(job, words)
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "words.txt").write_text(files.words_text(words), encoding="utf-8")
        Path(tmp, "train.py").write_text(script.standalone_script(record), encoding="utf-8")
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "train.py", "words.txt", "--threads", str(threads)],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=True,
        )
        script_s = time.perf_counter() - t0
    printed = dict(re.findall(r"^(train|dev|test) (\S+)$", done.stdout, re.MULTILINE))
    samples = done.stdout.splitlines()[-files.SAMPLE_COUNT :]
    expected = files.samples_text(record).splitlines()[2:]
    return {
        "preset": name,
        "family": preset.model.kind,
        "steps": train.steps,
        "engine": job.final,
        "script": {k: float(v) for k, v in printed.items()},
        "drift": {k: abs(float(printed[k]) - job.final[k]) for k in job.final},
        "samples_equal": sum(a == b for a, b in zip(samples, expected, strict=True)),
        "engine_s": round(engine_s, 1),
        "script_s": round(script_s, 1),
        "threads": torch.get_num_threads(),
        "script_threads": threads,
        "kernels": torch.backends.cpu.get_cpu_capability(),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--steps", type=int, default=None, help="shorten every run to this")
    parser.add_argument("--script-threads", type=int, help="the script's threads (the engine's)")
    parser.add_argument("--out", help="append one JSON line per preset to this file")
    args = parser.parse_args()
    words = data.load_builtin("names")
    print(f"{'preset':<18} {'steps':>8} {'|Δ train|':>10} {'|Δ dev|':>10} {'|Δ test|':>10} "
          f"{'samples':>7} {'engine s':>9} {'script s':>9}")  # fmt: skip
    for name in args.presets:
        row = measure(name, args.steps, words, args.script_threads or torch.get_num_threads())
        d = row["drift"]
        print(
            f"{name:<18} {row['steps']:>8,} {d['train']:>10.2e} {d['dev']:>10.2e} "
            f"{d['test']:>10.2e} {row['samples_equal']:>4}/20 {row['engine_s']:>9} "
            f"{row['script_s']:>9}",
            flush=True,
        )
        if args.out:
            with open(args.out, "a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
