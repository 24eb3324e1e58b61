"""The benchmark: the engine against a plain lecture-style loop, on this machine.

    python -m engine bench [--quick] [--json]

1. Training throughput (steps/s) of the engine's step against the loop the lectures
   write (autograd + manual SGD, same model, same seeds, same thread count) for the
   part-2 MLP, the part-3 BatchNorm MLP and the part-5 WaveNet.
2. Time to the lecture's quality on names: wall seconds until the dev loss reaches
   2.106 (part 3) and 1.994 (part 5), for the lecture recipe (skipped with --quick).
3. Co-batched training (engine.stacked): aggregate steps/s of R compatible runs (their own
   seeds and learning rates) trained together, against the same R runs one after another
   with the fused single-run step, R = 1, 4, 16, 32, alternating rounds.
4. With --makemore PATH: makemore.py's own Transformer training loop (its TensorBoard
   writer stubbed, engine.zoo.peer) against the zoo's, alternating rounds.
5. UI-facing latencies of the engine: a smoothing recompute, a diagnostics snapshot of
   the deep net. The charts' share (one live-chart tick, training in chunks with chart
   ticks between) is the app's: `python -m ui.bench`, since the engine never imports it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F

from engine import data, models
from engine.part1_bigrams import ngram
from engine.part3_bn import stats
from engine.presets import PRESETS
from engine.stacked import Stack, keep_freed_memory
from engine.train import EVAL_TRAIN_SAMPLE, Job

THROUGHPUT = {"part2-mlp": 3000, "part3-batchnorm": 3000, "part5-wavenet": 1000}
COBATCH = {"part2-mlp": 200, "part3-batchnorm": 200, "part3-deep-bn": 60, "part5-wavenet": 40}
COBATCH_RUNS = (1, 4, 16, 32)
QUALITY = {
    "part3-batchnorm": 2.106,
    "fast-mlp": 2.106,
    "part5-wavenet": 1.994,
    "fast-wavenet": 1.994,
}


def plain_loop(config, train, splits, vocab_size, steps: int) -> float:
    """The lectures' loop, as written in the notebooks; returns steps/s."""
    g = torch.Generator().manual_seed(train.seed)
    model = models.build(config, vocab_size, g)
    parameters = model.parameters()
    lossi = []
    t0 = time.perf_counter()
    for i in range(steps):
        ix = torch.randint(0, splits.Xtr.shape[0], (train.batch_size,), generator=g)
        _, loss = model(splits.Xtr[ix], splits.Ytr[ix])
        for p in parameters:
            p.grad = None
        loss.backward()
        lr = train.lr_at(i)
        for p in parameters:
            p.data += -lr * p.grad
        lossi.append(loss.log10().item())
    return steps / (time.perf_counter() - t0)


def engine_loop(config, train, splits, vocab_size, steps: int) -> float:
    job = Job(config, train, splits, vocab_size)
    t0 = time.perf_counter()
    for _ in range(steps):
        job.train_step()
    return steps / (time.perf_counter() - t0)


def throughput(ds, repeats=3) -> list[dict]:
    """Best steps/s of each loop over `repeats` rounds, the two loops alternating within a
    round, so that both meet the same machine (other processes come and go)."""
    rows = []
    for name, steps in THROUGHPUT.items():
        p = PRESETS[name]
        splits = data.make_splits(ds, p.model.block_size, p.shuffles)
        args = (p.model, p.train, splits, ds.vocab_size, steps)
        plain, ours = [], []
        for _ in range(repeats):
            plain.append(plain_loop(*args))
            ours.append(engine_loop(*args))
        rows.append(
            {
                "preset": name,
                "plain_steps_s": round(max(plain)),
                "engine_steps_s": round(max(ours)),
                "ratio": round(max(ours) / max(plain), 2),
                "ratio_each_round": [round(o / q, 2) for o, q in zip(ours, plain, strict=True)],
            }
        )
    return rows


def _class_of(p, splits, vocab_size, R: int, steps: int) -> list[Job]:
    """R runs of preset p as a class trains them: each its own seed and learning rate."""
    trains = [
        dataclasses.replace(
            p.train, seed=1000 + r, lr=p.train.lr * (1 + r % 4) / 2, steps=steps, eval_every=0
        )
        for r in range(R)
    ]
    return [Job(p.model, t, splits, vocab_size) for t in trains]


def alone_and_together(p, splits, vocab_size, R: int, steps: int) -> tuple[float, float]:
    """One round: run-steps/s of R runs of preset p one after another with the fused step,
    then of the same R runs trained together in one Stack."""
    jobs = _class_of(p, splits, vocab_size, R, steps)
    t0 = time.perf_counter()
    for job in jobs:
        for _ in range(steps):
            job.train_step()
    alone = R * steps / (time.perf_counter() - t0)
    group = Stack(_class_of(p, splits, vocab_size, R, steps))
    t0 = time.perf_counter()
    for _ in range(steps):
        group.train_step()
    return alone, R * steps / (time.perf_counter() - t0)


def co_batched(ds, repeats=3, runs=COBATCH_RUNS, families=COBATCH) -> list[dict]:
    """Run-steps/s of R runs trained together against the same R runs one after another
    with the fused single-run step (best of `repeats` alternating rounds, one warm-up), in a
    process that keeps its freed memory as the workers do (engine.stacked.keep_freed_memory)."""
    keep_freed_memory()
    rows = []
    for name, steps in families.items():
        p = PRESETS[name]
        splits = data.make_splits(ds, p.model.block_size, p.shuffles)
        warm = _class_of(p, splits, ds.vocab_size, 2, 20)
        Stack(warm).run()
        for job in _class_of(p, splits, ds.vocab_size, 1, 20):
            job.run()
        for R in runs:
            rounds = [
                alone_and_together(p, splits, ds.vocab_size, R, steps) for _ in range(repeats)
            ]
            alone, together = [a for a, _ in rounds], [t for _, t in rounds]
            rows.append(
                {
                    "preset": name,
                    "runs": R,
                    "alone_steps_s": round(max(alone)),
                    "together_steps_s": round(max(together)),
                    "ratio": round(max(together) / max(alone), 2),
                    "ratio_each_round": [
                        round(t / a, 2) for t, a in zip(together, alone, strict=True)
                    ],
                }
            )
    return rows


def time_to_quality(ds) -> list[dict]:
    """Train each recipe, evaluating dev every 2% of the run, until it reaches the target.

    Seconds are training time (Job.seconds): the evaluations are the benchmark's, not the recipe's.
    """
    rows, threads = [], torch.get_num_threads()
    for name, target in QUALITY.items():
        p = PRESETS[name]
        splits = data.make_splits(ds, p.model.block_size, p.shuffles)
        train = dataclasses.replace(p.train, eval_every=max(1, p.train.steps // 50))
        # the lecture recipes as the app runs them (one thread); the fast ones on every core
        torch.set_num_threads(os.cpu_count() if name.startswith("fast") else threads)
        job, reached = Job(p.model, train, splits, ds.vocab_size), None
        while not job.done and reached is None:
            job.train_step()
            last = job.evals[-1] if job.evals else None
            if last and last["step"] == job.step and last["dev"] <= target:
                reached = job.seconds
        if reached is None and job.finish()["dev"] <= target:
            reached = job.seconds
        rows.append(
            {
                "recipe": name,
                "target_dev": target,
                "seconds": None if reached is None else round(reached, 1),
                "steps": job.step,
                "dev": round(job.evals[-1]["dev"], 4),
                "threads": torch.get_num_threads(),
            }
        )
    torch.set_num_threads(threads)
    return rows


def timed(fn, repeats=5) -> float:
    """Median milliseconds of fn()."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def latencies(ds, repeats: int = 3) -> dict:
    out = {}
    tr, dev, te = data.split_words(ds.words)
    ks = [0.0, *(10 ** (e / 10) for e in range(-30, 31))]  # a slider's grid of 61 k values

    def curves():  # once per dataset: count, then the NLL of every split at every k
        N = ngram.count_table(tr, 2, ds.stoi, ds.vocab_size)
        return N, [ngram.nll_curve(N, words, 2, ds.stoi, ks) for words in (tr, dev, te)]

    out["smoothing_all_k_ms"] = round(timed(curves), 1)
    N, _ = curves()
    examples = [ngram._rows_and_targets(w, 2, ds.stoi, ds.vocab_size) for w in (tr, dev, te)]

    def move(k=3.0):  # one slider move: the smoothed table for the heatmap and the three NLLs
        ngram.probabilities(N, k)
        return [ngram._curve(N, rows, Y, [k]) for rows, Y in examples]

    out["smoothing_slider_move_ms"] = round(timed(move), 2)
    p = PRESETS["part3-deep-bn"]
    job = Job(p.model, p.train, data.make_splits(ds, 3), ds.vocab_size, record_stats=True)
    job.train_step()
    out["diagnostics_snapshot_ms"] = round(timed(lambda: stats.capture(job)), 1)
    return {**out, **evaluations(ds, repeats)}


def per_example_loss(model, X, Y, chunk: int = 2048) -> float:
    """The yardstick for evaluations: a forward pass per example, `chunk` at a time."""
    with torch.no_grad(), models.eval_mode(model):
        total = sum(
            F.cross_entropy(model(X[i : i + chunk])[0], Y[i : i + chunk], reduction="sum").item()
            for i in range(0, len(Y), chunk)
        )
    return total / len(Y)


def evaluations(ds, repeats: int = 3) -> dict:
    """Milliseconds of a run's periodic estimate (20,000 train examples and dev) and of its
    final losses (all three splits), as the engine evaluates (one forward pass per distinct
    context, engine.train.LossTable) and with a forward pass per example."""
    out = {}
    for family, preset in (("mlp", "part2-mlp"), ("wavenet", "part5-wavenet")):
        p = PRESETS[preset]
        splits = data.make_splits(ds, p.model.block_size, p.shuffles)
        job = Job(p.model, p.train, splits, ds.vocab_size)
        for name, fn in _evaluations(job).items():
            fn()  # the tables are built once per split
            out[f"{name}_{family}_ms"] = round(timed(fn, repeats), 1)
    return out


def _evaluations(job) -> dict:
    splits, model = job.splits, job.model
    estimated = [(splits.Xtr[:EVAL_TRAIN_SAMPLE], splits.Ytr[:EVAL_TRAIN_SAMPLE])]
    estimated.append(splits.split("dev"))
    final = [splits.split(s) for s in ("train", "dev", "test")]
    return {
        "estimate": job.estimate,
        "estimate_per_example": lambda: [per_example_loss(model, *s) for s in estimated],
        "finish": lambda: [job.evaluate(s) for s in ("train", "dev", "test")],
        "finish_per_example": lambda: [per_example_loss(model, *s) for s in final],
    }


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s), torch {torch.__version__}, Python {platform.python_version()}"


def run(quick: bool = False, as_json: bool = False, makemore: str | None = None) -> dict:
    ds = data.load_builtin("names")
    report = {
        "machine": machine(),
        "throughput": throughput(ds, 1 if quick else 3),
        "co_batched": co_batched(ds, 1 if quick else 3),
        "latencies": latencies(ds, 1 if quick else 3),
    }
    if makemore:  # makemore.py's Transformer loop against the zoo's, alternating rounds
        from engine.zoo import peer

        report["makemore"] = peer.throughput(makemore, ds, repeats=1 if quick else 3)
    if not quick:
        report["time_to_quality"] = time_to_quality(ds)
    if as_json:
        print(json.dumps(report))
    else:
        print(render(report))
    return report


LATENCY_LABELS = {  # key -> (label, unit)
    "smoothing_all_k_ms": ("smoothing curves for all k, once per dataset", "ms"),
    "smoothing_slider_move_ms": ("smoothing slider move (engine part)", "ms"),
    "diagnostics_snapshot_ms": ("diagnostics snapshot of the deep net", "ms"),
    **{
        f"{kind}{how}_{family}_ms": (f"{label}, {name}{', per example' if how else ''}", "ms")
        for family, name in (("mlp", "part-2 MLP"), ("wavenet", "WaveNet"))
        for kind, label in (("estimate", "periodic evaluation"), ("finish", "final losses"))
        for how in ("", "_per_example")
    },
}


def render_latencies(latencies: dict, labels: dict) -> list[str]:
    """One line per figure: its label (the key when unlabelled), value and unit."""
    lines = []
    for key, value in latencies.items():
        label, unit = labels.get(key, (key, ""))
        lines.append(f"{label:48s} {value:>10,} {unit}")
    return lines


def render(report: dict) -> str:
    """The report as readable tables."""
    lines = [f"machine: {report['machine']}", ""]
    lines.append(
        f"{'training steps/s':18s} {'plain loop':>10s} {'engine':>8s} {'ratio':>7s}  rounds"
    )
    for r in report["throughput"]:
        rounds = " ".join(f"{x:.2f}x" for x in r.get("ratio_each_round", []))
        lines.append(
            f"{r['preset']:18s} {r['plain_steps_s']:>10,} {r['engine_steps_s']:>8,} "
            f"{r['ratio']:>6.2f}x  {rounds}"
        )
    if report.get("co_batched"):
        lines += [
            "",
            f"{'co-batched run-steps/s':24s} {'runs':>4s} {'alone':>7s} {'together':>9s} "
            f"{'ratio':>7s}  rounds",
        ]
        for r in report["co_batched"]:
            rounds = " ".join(f"{x:.2f}x" for x in r.get("ratio_each_round", []))
            lines.append(
                f"{r['preset']:24s} {r['runs']:>4} {r['alone_steps_s']:>7,} "
                f"{r['together_steps_s']:>9,} {r['ratio']:>6.2f}x  {rounds}"
            )
    lines += ["", *render_latencies(report["latencies"], LATENCY_LABELS)]
    if mm := report.get("makemore"):
        rounds = " ".join(f"{x:.2f}x" for x in mm["ratio_each_round"])
        lines += [
            "",
            f"{'vs makemore.py':18s} {'makemore.py':>11s} {'engine':>8s} {'ratio':>7s}  rounds",
            f"{mm['family']:18s} {mm['makemore_steps_s']:>11,} {mm['engine_steps_s']:>8,} "
            f"{mm['ratio']:>6.2f}x  {rounds}  ({mm['threads']} thread(s))",
        ]
    if report.get("time_to_quality"):
        lines += [
            "",
            f"{'time to quality':16s} {'target':>7s} {'seconds':>8s} {'steps':>8s} {'dev':>7s}  threads",
        ]
        for r in report["time_to_quality"]:
            secs = "never" if r["seconds"] is None else f"{r['seconds']:.1f}"
            lines.append(
                f"{r['recipe']:16s} {r['target_dev']:>7} {secs:>8s} {r['steps']:>8,} "
                f"{r['dev']:>7.4f}  {r['threads']}"
            )
    lines += ["", "The charts' share of a live page: python -m ui.bench"]
    return "\n".join(lines)
