"""How far the lecture presets' numbers move between CPU kernels.

Float32 sums round differently with each CPU's kernels: ATen picks its default, AVX2 or
AVX-512 code at run time (ATEN_CPU_CAPABILITY pins one) and MKL its own code path
(MKL_CBWR=COMPATIBLE pins a conservative one). This script trains every preset under
each setting, one torch thread, in a fresh process each, and prints the spread of the
final losses: the numbers behind the tolerances of tests/test_presets_slow.py and the
README's preset table. With --fast it runs scripts/kernel_numbers.py instead (the numbers
the fast reproduction tests hold: diagnostics printouts, step-0 losses, backprop's cmp
table, bigram numbers; under a minute per setting) and prints how far each one moves.

    python scripts/kernel_spread.py                      # all presets, every setting
    python scripts/kernel_spread.py --presets part3-original --out spread.jsonl
    python scripts/kernel_spread.py --fast --out numbers.jsonl
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
    # not run unless asked for (--settings): two more ways the sums can round
    "default+mkl-compatible": {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"},
    "avx2+mkl-compatible": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE"},
}
STANDARD = ["auto", "default", "avx2", "avx512", "mkl-compatible"]

# the runs: every preset, and backprop ninja's exercise 4 (200,000 manual-backward steps)
EXERCISE_4 = "part4-exercise4"
TRAIN = """
import json, sys, torch
from engine import data
from engine.part4_backprop.job import ManualJob
from engine.presets import PRESETS
from engine.train import Job
names = data.load_builtin("names")
if sys.argv[1] in PRESETS:
    p = PRESETS[sys.argv[1]]
    splits = data.make_splits(names, p.model.block_size, p.shuffles)
    job = Job(p.model, p.train, splits, names.vocab_size)
else:  # exercise 4
    job = ManualJob(data.make_splits(names, 3), names.vocab_size)
final = job.run()
print(json.dumps({"capability": torch.backends.cpu.get_cpu_capability(),
                  "step0": 10 ** job.lossi[0], **final}))
"""


def last_json_line(command: list[str], env: dict) -> dict:
    """Run a command in a fresh process under a kernel setting; its last stdout line."""
    environment = {**os.environ, "MAKEMORE_THREADS": "1", **env}
    out = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def train(preset: str, env: dict) -> dict:
    return last_json_line([sys.executable, "-c", TRAIN, preset], env)


def numbers(env: dict) -> dict:
    return last_json_line([sys.executable, str(ROOT / "scripts" / "kernel_numbers.py")], env)


def spread_of(values: list) -> str:
    """min-max and the spread of numbers (absolute, and relative to the largest |value|);
    for texts, whether they agree."""
    if not all(isinstance(v, int | float) for v in values):
        return "same" if len(set(values)) == 1 else "DIFFER: " + " | ".join(map(str, values))
    lo, hi = min(values), max(values)
    top = max(abs(lo), abs(hi))
    relative = (hi - lo) / top if top else 0.0
    return f"{lo:.9g} .. {hi:.9g}   spread {hi - lo:.3g} (rel {relative:.2g})"


def append(path: Path | None, row: dict) -> None:
    print(json.dumps(row), flush=True)
    if path:
        with path.open("a") as f:
            f.write(json.dumps(row) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--presets", nargs="*", default=list(PRESETS), choices=[*PRESETS, EXERCISE_4]
    )
    parser.add_argument("--settings", nargs="*", default=STANDARD, choices=list(SETTINGS))
    parser.add_argument("--fast", action="store_true", help="the fast tests' numbers instead")
    parser.add_argument("--out", type=Path, help="append one JSON line per run here")
    args = parser.parse_args()
    if args.fast:
        rows = []
        for setting in args.settings:
            rows.append({"setting": setting, **numbers(SETTINGS[setting])})
            append(args.out, rows[-1])
        print()
        for name in rows[0]:
            if name not in ("setting", "capability"):
                print(f"{name:48} {spread_of([r[name] for r in rows])}")
        return
    results: dict[str, list[dict]] = {}
    for preset in args.presets:
        for setting in args.settings:
            row = {"preset": preset, "setting": setting, **train(preset, SETTINGS[setting])}
            results.setdefault(preset, []).append(row)
            append(args.out, row)
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
