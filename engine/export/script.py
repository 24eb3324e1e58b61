"""A run's standalone PyTorch script: engine/export/standalone.py, filled in for the run.

standalone.py is a real, runnable file (torch and the standard library only, linted with
the repository). Exporting a run writes the run's settings into its config block, keeps
only the code of the run's model family (the regions between "# >>> families" and
"# <<< families") and says in its docstring what the run was and what it reached.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import torch

from engine.export.files import FAMILIES, SAMPLE_COUNT, shuffles
from engine.lectures import SAMPLE_SEED
from engine.serve.records import Record
from engine.train import EVAL_TRAIN_SAMPLE

TEMPLATE = Path(__file__).with_name("standalone.py")
ZOO_TEMPLATE = Path(__file__).with_name("standalone_zoo.py")  # makemore.py's data and families
TEMPLATE_NOTE = "This file is the template the playground's exporter fills in"
REGION = re.compile(
    r"^# >>> (?P<families>[a-z ]+)\n(?P<code>.*?)^# <<< (?P=families)\n", re.M | re.S
)


def standalone_script(record: Record, words_file: str = "words.txt", name: str = "train.py") -> str:
    """The template with this run's settings, for this run's model family only."""
    zoo = record.meta["model"]["kind"] == "zoo"
    source = (ZOO_TEMPLATE if zoo else TEMPLATE).read_text(encoding="utf-8")
    for setting, value in (zoo_settings if zoo else settings)(record, words_file).items():
        source = fill(source, setting, value)
    source = keep_family(source, record.meta["model"]["family" if zoo else "kind"])
    source = source.replace(
        "python train.py words.txt", f"python {plain(name)} {plain(words_file)}"
    )
    start = source.index(TEMPLATE_NOTE)
    end = source.index('"""', start)
    return source[:start] + about(record) + "\n" + source[end:]


def settings(record: Record, words_file: str) -> dict[str, object]:
    """The config block's values for this run (the template's variable names)."""
    meta, train = record.meta, dataclasses.asdict(record.train_config)
    model = {k: v for k, v in meta["model"].items() if k != "kind"}
    return {
        "words_file": words_file,
        "fingerprint": meta["fingerprint"],
        "shuffles": shuffles(record),
        "family": meta["model"]["kind"],
        "model_args": model,
        **{k: train[k] for k in ("steps", "batch_size", "lr", "lr_after", "lr_decay_step")},
        **{k: train[k] for k in ("schedule", "warmup", "optimizer", "weight_decay", "seed")},
        "batch_seed": train["batch_seed"],
        "eval_every": train["eval_every"],
        "eval_train_sample": EVAL_TRAIN_SAMPLE,
        "expected": meta["final"],
        "threads": torch.get_num_threads(),
        "kernels": torch.backends.cpu.get_cpu_capability(),
        "sample_count, sample_seed": (SAMPLE_COUNT, SAMPLE_SEED),
    }


def zoo_settings(record: Record, words_file: str) -> dict[str, object]:
    """The zoo template's config block for this run."""
    meta, train = record.meta, dataclasses.asdict(record.train_config)
    model = {k: v for k, v in meta["model"].items() if k not in ("kind", "family")}
    return {
        "words_file": words_file,
        "fingerprint": meta["fingerprint"],
        "family": meta["model"]["family"],
        "model_args": model,
        **{k: train[k] for k in ("steps", "batch_size", "lr", "weight_decay", "seed")},
        "eval_every": train["eval_every"],
        "expected": meta["final"],
        "threads": torch.get_num_threads(),
        "sample_count, sample_seed": (SAMPLE_COUNT, SAMPLE_SEED),
    }


def literal(value) -> str:
    """A Python literal for a setting: exact floats, 200_000 for big ints, tuples bare."""
    if isinstance(value, tuple):
        return ", ".join(literal(v) for v in value)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    plain = value.isprintable() and '"' not in value and "\\" not in value
    return f'"{value}"' if plain else repr(value)


def fill(source: str, setting: str, value) -> str:
    """Replace one setting's value in the config block, keeping its comment. A line too
    long for the repository's 100 columns is laid out as ruff would: a dict one item a
    line, anything else with its comment on the line above."""
    pattern = re.compile(rf"^{re.escape(setting)} = .*?(?P<comment>  # .*)?$", re.M)
    match = pattern.search(source)
    if match is None:  # pragma: no cover - the template and this list go together
        raise KeyError(setting)
    line = f"{setting} = {literal(value)}"
    comment = match.group("comment") or ""
    if len(line + comment) > 100 and isinstance(value, dict):  # one item a line, as ruff would
        items = "".join(f"    {literal(k)}: {literal(v)},\n" for k, v in value.items())
        line = f"{setting} = {{{comment}\n{items}}}"
    elif len(line + comment) > 100 and comment:
        line = f"#{comment.removeprefix('  #')}\n{line}"
    else:
        line += comment
    return source[: match.start()] + line + source[match.end() :]


def keep_family(source: str, family: str) -> str:
    """The template with the code of `family` only, and no region markers."""

    def region(match: re.Match) -> str:
        return match.group("code") if family in match.group("families").split() else ""

    source = REGION.sub(region, source)
    return re.sub(r"\n{4,}", "\n\n\n", source)  # where a region went: two blank lines


def plain(text: str) -> str:
    """A name (an upload's file name, say) made safe to quote in the script's docstring."""
    return "".join(c if c.isprintable() and c not in '\\"' else "_" for c in text)


def about(record: Record) -> str:
    """The docstring's paragraph about this run: its data, model, recipe and results."""
    meta = record.meta
    final = meta["final"]
    if final and meta["model"]["kind"] == "zoo":  # makemore.py's split: no dev set
        reached = (
            f"After {meta['steps']:,} steps the playground reported train {final['train']:.4f}, "
            f"test {final['test']:.4f}; the script prints its own next to them."
        )
    elif final:
        reached = (
            f"After {meta['steps']:,} steps the playground reported train {final['train']:.4f}, "
            f"dev {final['dev']:.4f}, test {final['test']:.4f}; the script prints its own "
            "next to them."
        )
    else:
        reached = (
            f"The playground's run was stopped after {meta['steps']:,} of "
            f"{meta['train']['steps']:,} steps; this script trains all of them."
        )
    model = ", ".join(f"{k}={v!r}" for k, v in meta["model"].items() if k not in ("kind", "family"))  # fmt: skip
    what = FAMILIES[meta["model"]["kind"]]
    if meta["model"]["kind"] == "zoo":
        what = f"{meta['model']['family']} of makemore.py's model zoo"
    lines = [
        f"Dataset: {plain(meta['dataset'])} ({len(meta['itos'])} characters, fingerprint "
        f"{plain(meta['fingerprint'])}).",
        f"Model: the {what}, {plain(model)} ({meta['params']:,} parameters).",
        reached,
        f"Exported from makemore playground with torch {torch.__version__}, "
        f"{torch.get_num_threads()} thread(s), CPU kernels "
        f"{torch.backends.cpu.get_cpu_capability()}.",
    ]
    return "\n".join(textwrap.fill(line, 92) for line in lines)
