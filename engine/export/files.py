"""Export a finished run: its files for download, and a script that reproduces it.

Everything here starts from an engine.runs.Record (what a run leaves behind) and returns
plain text or bytes, so the app, the CLI and the tests share one format:

- the model file: Record.to_bytes(), a weights-only torch file (config, weights, loss
  history) that Record.from_bytes reads back without unpickling any code (and
  engine.export.load checks on import);
- the config as JSON, the loss history as CSV, samples as text, the words as words.txt;
- and the standalone script (engine.export.script): engine/export/standalone.py filled in
  for the run, which retrains it from the words file and prints its losses.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time

import torch

from engine.data import Dataset, SplitsKey
from engine.export.load import load_model
from engine.lectures import SAMPLE_SEED
from engine.messages import msg
from engine.sample import sample_words
from engine.serve.records import FORMAT, Record
from engine.zoo import sample as zoo_sample

SAMPLE_COUNT = 20
FAMILIES = {"mlp": "MLP", "deep": msg("deep MLP"), "wavenet": "WaveNet", "zoo": msg("model zoo")}
CSV_COLUMNS = ("step", "log10_loss", "loss", "eval_train", "eval_dev")


def slug(text: str) -> str:
    """'MLP run #3' -> 'mlp-run-3': safe in a file name on every system."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "run"


def filenames(record: Record, label: str) -> dict[str, str]:
    """The download name of every artefact of a run labelled `label`."""
    base = slug(label)
    return {
        "model": f"{base}.pt",
        "config": f"{base}.json",
        "losses": f"{base}-losses.csv",
        "samples": f"{base}-samples.txt",
        "words": f"{slug(record.meta['dataset'])}-words.txt",
        "script": f"train_{base.replace('-', '_')}.py",
    }


def model_bytes(record: Record) -> bytes:
    """The model file: config, weights and loss history, loadable with weights_only=True."""
    return record.to_bytes()


def shuffles(record: Record) -> int:
    """How often the words were shuffled before splitting (1 when the record does not say)."""
    made = SplitsKey.parse(record.meta.get("splits") or "")
    return made.shuffles if made else 1


def config_json(record: Record) -> str:
    """The run's meta, readable: what data, which model, how trained, what it reached."""
    meta = record.meta
    doc = {
        "format": FORMAT,
        "dataset": {
            "name": meta["dataset"],
            "fingerprint": meta["fingerprint"],
            "vocab_size": len(meta["itos"]),
            "itos": "".join(meta["itos"]),
            "split": "makemore.py's: a test set of min(1000, 10 %) of the words by "
            "torch.randperm from the seed"
            if meta["model"]["kind"] == "zoo"
            else "80/10/10 after random.seed(42); random.shuffle(words)",
            "shuffles": shuffles(record),
        },
        "model": meta["model"],
        "train": meta["train"],
        "params": meta["params"],
        "steps": meta["steps"],
        "seconds": round(meta["seconds"], 3),
        "final": meta["final"],
        "evals": meta["evals"],
        "key": meta["key"],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(meta.get("created", 0))),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def losses_csv(record: Record) -> str:
    """One row per training step: the minibatch loss (log10 and plain) of step 1, 2, …

    eval_train and eval_dev hold the periodic evaluations after that step (train estimated
    on the first 20,000 training examples) and, on the last row of a finished run, the
    final losses on the full splits; they are empty on the other rows.
    """
    evals = {e["step"]: e for e in record.meta["evals"]}
    steps = len(record.lossi)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = sorted(set(range(1, steps + 1)) | set(evals))
    lossi = record.lossi.tolist()
    for step in rows:
        row = [step, "", "", "", ""]
        if 1 <= step <= steps:
            log10 = lossi[step - 1]
            row[1], row[2] = f"{log10:.8g}", f"{10**log10 if log10 < 300 else math.inf:.8g}"
        if step in evals:
            row[3], row[4] = repr(evals[step]["train"]), repr(evals[step]["dev"])
        writer.writerow(row)
    return out.getvalue()


def samples_text(
    record: Record,
    n: int = SAMPLE_COUNT,
    seed: int = SAMPLE_SEED,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> str:
    """n samples, one per line, after a header saying how they were drawn."""
    sampler = zoo_sample.sample_words if record.meta["model"]["kind"] == "zoo" else sample_words
    words = sampler(load_model(record), record.meta["itos"], n, seed, temperature, top_k)
    header = (
        f"# {n} samples from a {record.meta['model']['kind']} model trained on "
        f"{record.meta['dataset']} ({record.meta['steps']:,} steps)\n"
        f"# engine.sample: torch.Generator().manual_seed({seed}), temperature {temperature}, "
        f"top_k {top_k}, all {n} drawn side by side; torch {torch.__version__}\n"
    )
    return header + "".join(w + "\n" for w in words)


def words_text(dataset: Dataset) -> str:
    """The dataset's normalised words, one per line: what the standalone script reads."""
    return "".join(w + "\n" for w in dataset.words)
