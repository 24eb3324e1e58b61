"""The fast lecture-reproduction numbers the tests hold, measured on this CPU's kernels.

Prints one JSON object, name -> number (or text): the deep net's diagnostics printouts
after 1,001 steps (cells 15-18 of lecture 4), the presets' step-0 losses, backprop ninja's
cmp table, the bigram and n-gram numbers of lecture 2, and how far engine/fused.py's
hand-written step lands from autograd on the lecture layers (tests/test_fused.py). scripts/kernel_spread.py --fast runs
it under each kernel setting and prints how far each number moves; that spread sets the
tolerances of the tests that hold these numbers.

    MAKEMORE_DATA_DIR=/path/to/names ATEN_CPU_CAPABILITY=default python scripts/kernel_numbers.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from engine import data, fused
from engine.lectures import LECTURE_SEED
from engine.part1_bigrams import neural, ngram
from engine.part3_bn import init, stats
from engine.part4_backprop.check import check
from engine.part4_backprop.manual import MISTAKES, TANH_ROUNDS_ONCE
from engine.part4_backprop.net import lecture_batch
from engine.presets import PRESETS
from engine.train import Job
from tests.test_fused import BATCHNORM_CONFIGS, CONFIGS, fed_alike, splits_and_models


def deep_net(names: data.Dataset) -> dict:
    """Lecture 4's cells 15-19: the deep BatchNorm net after 1,001 steps."""
    p = PRESETS["part3-deep-bn"]
    splits = data.make_splits(names, p.model.block_size, p.shuffles)
    job = Job(p.model, p.train, splits, names.vocab_size, record_stats=True)
    diag = stats.train_and_capture(job)
    out = {f"deep-bn {split}": job.final[split] for split in ("train", "dev", "test")}
    for a in diag.activations:
        out |= {f"activation {a.layer} {k}": getattr(a, k) for k in ("mean", "std", "saturated")}
    for g in diag.gradients:
        out |= {f"gradient {g.layer} {k}": getattr(g, k) for k in ("mean", "std")}
    for w in diag.weights:
        out |= {f"weight {w.param} {k}": getattr(w, k) for k in ("mean", "std", "grad_data")}
    rows = diag.updates.rows
    out["update:data step 0 param 0"] = rows[0]["value"]
    out |= {f"update:data step 1000 param {r['param']}": r["value"] for r in rows[-7:]}
    return out


def step0_losses(names: data.Dataset) -> dict:
    out = {}
    for name, p in PRESETS.items():
        if p.step0_loss is None:
            continue
        splits = data.make_splits(names, p.model.block_size, p.shuffles)
        out[f"step-0 loss {name}"] = Job(p.model, p.train, splits, names.vocab_size).train_step()
        if name.startswith("part3-") and name not in ("part3-deep-bn", "part3-batchnorm"):
            report = init.explore_init(p.model, splits, names.vocab_size)
            out[f"init explorer loss {name}"] = report.loss
    return out


def ninja(names: data.Dataset) -> dict:
    """Backprop ninja's cmp table on the lecture batch and three other seeds."""
    splits = data.make_splits(names, 3)
    out = {"tanh backward rounds once": str(TANH_ROUNDS_ONCE)}
    for seed in (LECTURE_SEED, 0, 1, 42):
        r = check(*lecture_batch(splits, names.vocab_size, seed=seed))
        s = f"ninja seed {seed}"
        out[f"{s} exact"] = " ".join(row.name for row in r.rows if not row.exact) or "all 26"
        out[f"{s} max maxdiff"] = max(row.maxdiff for row in r.rows)
        out[f"{s} loss"] = r.loss
        out[f"{s} |F.cross_entropy - chunked|"] = r.cross_entropy_diff
        out[f"{s} exercise 2 maxdiff"] = r.cross_entropy.maxdiff
        out[f"{s} exercise 3 maxdiff"] = r.batchnorm.maxdiff
        out[f"{s} exercise 3 forward diff"] = r.batchnorm_forward_diff
    params, Xb, Yb = lecture_batch(splits, names.vocab_size)
    for name in MISTAKES:
        rows = check(params, Xb, Yb, name).rows
        first = next(row for row in rows if not row.exact)
        out[f"mistake {name} caught first at"] = first.name
        out[f"mistake {name} all approximate"] = str(all(row.approximate for row in rows))
    return out


def bigrams(names: data.Dataset) -> dict:
    words, stoi, V = names.words, names.stoi, names.vocab_size
    out = {}
    for n in (1, 2, 3):
        T = ngram.count_table(words, n, stoi, V)
        for k in (0.0, 1.0):
            out[f"{n}-gram NLL k={k:g}"] = ngram.nll(ngram.probabilities(T, k), words, n, stoi)
    W = neural.lecture_W(V)
    xs, ys = torch.tensor([0, 5, 13, 13, 1]), torch.tensor([5, 13, 13, 1, 0])
    ce = neural.cross_entropy_check(W[xs], ys)
    out |= {".emma. manual loss": ce.manual, ".emma. |manual - F|": ce.diff}
    nb = neural.NeuralBigram(words, stoi, V, neural.NeuralBigramConfig())
    nb.step(100)
    for i in (0, 99):
        out[f"neural bigram loss {i}"] = nb.losses[i]
        out[f"neural bigram data loss {i}"] = nb.data_losses[i]
    nb = neural.NeuralBigram(words, stoi, V, neural.NeuralBigramConfig(method="counts"))
    nb.step(1000)
    for i in (0, 99, 299, 999):
        out[f"neural bigram (counts) loss {i}"] = nb.losses[i]
        out[f"neural bigram (counts) data loss {i}"] = nb.data_losses[i]
    plain = neural.NeuralBigram(words, stoi, V, neural.NeuralBigramConfig(reg=0.0, method="counts"))
    plain.step(300)
    out["neural bigram (counts, reg 0) loss 299"] = plain.losses[-1]
    return out


def _atol_needed(a: torch.Tensor, b: torch.Tensor, rtol: float) -> float:
    """The smallest atol with which torch.testing.assert_close(a, b, rtol=rtol) passes."""
    return max(((a - b).abs() - rtol * b.abs()).max().item(), 0.0)


def fused_vs_autograd(_names: data.Dataset) -> dict:
    """tests/test_fused.py's comparisons, as the tolerance each one needs."""
    out = {}
    for name in CONFIGS:
        splits, ref, ours = splits_and_models(name, 42, 42)
        ix = torch.randint(0, len(splits.Ytr), (32,), generator=torch.Generator().manual_seed(1))
        _, loss = ref(splits.Xtr[ix], splits.Ytr[ix])
        loss.backward()
        before = [p.detach().clone() for p in ours.parameters()]
        fused_loss = fused.sgd_step(ours, splits.Xtr[ix], splits.Ytr[ix], 0.5)
        out[f"fused {name}: sgd step loss rel diff"] = abs(fused_loss.item() / loss.item() - 1)
        out[f"fused {name}: update atol at rtol 1e-4"] = max(
            _atol_needed((p0 - p) / 0.5, q.grad, 1e-4)
            for p0, p, q in zip(before, ours.parameters(), ref.parameters(), strict=True)
        )
        out[f"fused {name}: layer outputs atol at rtol 1.3e-6"] = max(
            _atol_needed(b.out, a.out.reshape(b.out.shape), 1.3e-6)
            for a, b in zip(ref.layers, ours.layers, strict=True)
        )
        splits, ref, ours = splits_and_models(name, 7, 7)
        ix = torch.randint(0, len(splits.Ytr), (24,), generator=torch.Generator().manual_seed(3))
        _, loss = ref(splits.Xtr[ix], splits.Ytr[ix])
        loss.backward()
        fused_loss, grads = fused.gradients(ours, splits.Xtr[ix], splits.Ytr[ix])
        out[f"fused {name}: gradients loss rel diff"] = abs(fused_loss.item() / loss.item() - 1)
        by_param = {id(p): g for p, g in grads}
        out[f"fused {name}: gradients atol at rtol 1e-4"] = max(
            _atol_needed(by_param[id(p)], q.grad, 1e-4)
            for p, q in zip(ours.parameters(), ref.parameters(), strict=True)
        )
    for name in BATCHNORM_CONFIGS:
        every, fused.RECENTRE_EVERY = fused.RECENTRE_EVERY, 10
        ref, ours = fed_alike(name, steps=35)
        fused.RECENTRE_EVERY = every
        out[f"fused {name}: running statistics atol at rtol 1e-4"] = max(
            max(_atol_needed(a.running_mean, b.running_mean, 1e-4),
                _atol_needed(a.running_var, b.running_var, 1e-4))
            for a, b in zip(ours.layers, ref.layers, strict=True)
            if hasattr(a, "running_mean")
        )  # fmt: skip
    return out


def main() -> None:
    names = data.load_builtin("names", download=False)
    out = {"capability": torch.backends.cpu.get_cpu_capability()}
    for part in (deep_net, step0_losses, ninja, bigrams, fused_vs_autograd):
        out |= part(names)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
