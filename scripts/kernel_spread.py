"""How far the lecture presets' numbers move between CPU kernels.

Float32 sums round differently with each CPU's kernels: ATen picks its default, AVX2 or
AVX-512 code at run time (ATEN_CPU_CAPABILITY pins one) and MKL its own code path
(MKL_CBWR=COMPATIBLE pins a conservative one). This script trains every preset under
each setting, one torch thread, in a fresh process each, and prints the spread of the
final losses: the numbers behind the tolerances of tests/test_presets_slow.py and the
README's preset table.

    python scripts/kernel_spread.py                      # all presets, every setting
    python scripts/kernel_spread.py --presets part3-original --out spread.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.presets import PRESETS  # noqa: E402

# name -> environment; "auto" is what torch picks on this CPU
SETTINGS = {
    "auto": {},
    "default": {"ATEN_CPU_CAPABILITY": "default"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512"},
    "mkl-compatible": {"MKL_CBWR": "COMPATIBLE"},
}

TRAIN = """
import json, sys, torch
from engine import data
from engine.presets import PRESETS
from engine.train import Job
p = PRESETS[sys.argv[1]]
names = data.load_builtin("names")
splits = data.make_splits(names, p.model.block_size, p.shuffles)
job = Job(p.model, p.train, splits, names.vocab_size)
final = job.run()
print(json.dumps({"capability": torch.backends.cpu.get_cpu_capability(),
                  "step0": 10 ** job.lossi[0], **final}))
"""


def train(preset: str, env: dict) -> dict:
    environment = {**os.environ, "MAKEMORE_THREADS": "1", **env}
    out = subprocess.run(
        [sys.executable, "-c", TRAIN, preset],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="*", default=list(PRESETS))
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS))
    parser.add_argument("--out", type=Path, help="append one JSON line per run here")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {}
    for preset in args.presets:
        for setting in args.settings:
            row = {"preset": preset, "setting": setting, **train(preset, SETTINGS[setting])}
            results.setdefault(preset, []).append(row)
            print(json.dumps(row), flush=True)
            if args.out:
                with args.out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
    print()
    print(f"{'preset':20} {'train min-max':>17} {'dev min-max':>17} {'spread':>8}")
    for preset, rows in results.items():
        tr = [r["train"] for r in rows]
        dv = [r["dev"] for r in rows]
        spread = max(max(tr) - min(tr), max(dv) - min(dv))
        print(
            f"{preset:20} {min(tr):8.4f}-{max(tr):8.4f} {min(dv):8.4f}-{max(dv):8.4f} {spread:8.5f}"
        )


if __name__ == "__main__":
    main()
