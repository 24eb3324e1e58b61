"""The benchmark: the engine against a plain lecture-style loop, on this machine.

    python -m engine bench [--quick] [--json]

1. Training throughput (steps/s) of the engine's step against the loop the lectures
   write (autograd + manual SGD, same model, same seeds, same thread count) for the
   part-2 MLP, the part-3 BatchNorm MLP and the part-5 WaveNet.
2. Time to the lecture's quality on names: wall seconds until the dev loss reaches
   2.106 (part 3) and 1.994 (part 5), for the lecture recipe (skipped with --quick).
3. UI-facing latencies: a smoothing recompute, a diagnostics snapshot of the deep net,
   one live-chart tick, and the cost of training in chunks with chart ticks between.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import time

import torch

from engine import bigram, data, diagnostics, models, ngram
from engine.presets import PRESETS
from engine.train import Job

THROUGHPUT = {"part2-mlp": 3000, "part3-batchnorm": 3000, "part5-wavenet": 1000}
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


def best_of(fn, repeats=3) -> float:
    return max(fn() for _ in range(repeats))


def throughput(ds, repeats=3) -> list[dict]:
    rows = []
    for name, steps in THROUGHPUT.items():
        p = PRESETS[name]
        splits = data.make_splits(ds, p.model.block_size, p.shuffles)
        args = (p.model, p.train, splits, ds.vocab_size, steps)
        plain = best_of(lambda a=args: plain_loop(*a), repeats)
        ours = best_of(lambda a=args: engine_loop(*a), repeats)
        rows.append(
            {
                "preset": name,
                "plain_steps_s": round(plain),
                "engine_steps_s": round(ours),
                "ratio": round(ours / plain, 2),
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


def latencies(ds) -> dict:
    out = {}
    tr, dev, te = data.split_words(ds.words)
    ks = [0.0, *(10 ** (e / 10) for e in range(-30, 31))]  # a slider's grid of 61 k values

    def curves():  # once per dataset: count, then the NLL of every split at every k
        N = bigram.count_matrix(tr, ds.stoi, ds.vocab_size)
        return N, [ngram.nll_curve(N, words, 2, ds.stoi, ks) for words in (tr, dev, te)]

    out["smoothing_all_k_ms"] = round(timed(curves), 1)
    N, _ = curves()
    examples = [ngram._rows_and_targets(w, 2, ds.stoi, ds.vocab_size) for w in (tr, dev, te)]

    def move(k=3.0):  # one slider move: the smoothed table for the heatmap and the three NLLs
        bigram.probabilities(N, k)
        return [ngram._curve(N, rows, Y, [k]) for rows, Y in examples]

    out["smoothing_slider_move_ms"] = round(timed(move), 2)
    p = PRESETS["part3-deep-bn"]
    job = Job(p.model, p.train, data.make_splits(ds, 3), ds.vocab_size, record_stats=True)
    job.train_step()
    out["diagnostics_snapshot_ms"] = round(timed(lambda: diagnostics.capture(job)), 1)

    from ui import charts  # altair only; the chart the live pages redraw every tick

    p = PRESETS["part3-batchnorm"]
    splits = data.make_splits(ds, 3)
    job = Job(p.model, p.train, splits, ds.vocab_size)
    job.train_for(5.0)
    out["chart_tick_ms"] = round(
        timed(lambda: charts.loss_curve(job.lossi, job.evals).to_dict()), 1
    )
    out["chart_tick_history_steps"] = job.step

    # chunked training with a chart tick between chunks, against training straight through
    steps, chunk = 6000, 0.2
    straight = Job(p.model, p.train, splits, ds.vocab_size)
    t0 = time.perf_counter()
    while straight.step < steps:
        straight.train_step()
    plain_s = time.perf_counter() - t0
    chunked = Job(p.model, p.train, splits, ds.vocab_size)
    t0 = time.perf_counter()
    while chunked.step < steps:
        chunked.train_for(chunk)
        charts.loss_curve(chunked.lossi, chunked.evals).to_dict()
    out["chunked_overhead_pct"] = round(100 * ((time.perf_counter() - t0) / plain_s - 1), 1)
    return out


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s), torch {torch.__version__}, Python {platform.python_version()}"


def run(quick: bool = False, as_json: bool = False) -> dict:
    ds = data.load_builtin("names")
    report = {
        "machine": machine(),
        "throughput": throughput(ds, 1 if quick else 3),
        "latencies": latencies(ds),
    }
    if not quick:
        report["time_to_quality"] = time_to_quality(ds)
    if as_json:
        print(json.dumps(report))
    else:
        print(f"machine: {report['machine']}\n")
        print(f"{'preset':18s} {'plain loop':>12s} {'engine':>12s} {'ratio':>7s}")
        for r in report["throughput"]:
            print(
                f"{r['preset']:18s} {r['plain_steps_s']:>8,} st/s {r['engine_steps_s']:>8,} st/s {r['ratio']:>6.2f}x"
            )
        print()
        for k, v in report["latencies"].items():
            print(f"{k:28s} {v}")
        for r in report.get("time_to_quality", []):
            s = "not reached" if r["seconds"] is None else f"{r['seconds']} s"
            print(
                f"time to dev <= {r['target_dev']} with {r['recipe']}: {s} "
                f"({r['steps']:,} steps, {r['threads']} thread(s))"
            )
    return report
