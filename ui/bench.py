"""The charts' share of a live page, on this machine: what `python -m engine bench` leaves
to the app, since the engine never imports it.

    python -m ui.bench [--quick] [--json]

One tick of the live loss charts on a 200,000-step history (the MLP page's drawn two
ways: the cached Vega-Lite template with incremental bucket means, and the Altair chart
rebuilt; the WaveNet page's smoothed curve), and training in 0.2 s chunks with a chart
tick after each against training straight through, for the MLP and WaveNet pages.
"""

from __future__ import annotations

import argparse
import json
import time

from streamlit import dataframe_util

from engine import data
from engine.bench import machine, render_latencies, timed
from engine.history import LossHistory
from engine.presets import PRESETS
from engine.train import Job
from ui import charts

LABELS = {  # key -> (label, unit)
    "chart_tick_ms": ("loss chart tick, template + incremental means", "ms"),
    "chart_tick_altair_ms": ("loss chart tick, Altair chart rebuilt", "ms"),
    "smoothed_tick_ms": ("WaveNet/backprop smoothed-loss tick, template", "ms"),
    "chart_tick_history_steps": ("  (history length for the ticks)", "steps"),
    "chunked_overhead_pct": ("MLP chunks + template ticks vs straight", "%"),
    "chunked_tick_share_pct": ("  time in template ticks / training time", "%"),
    "chunked_overhead_altair_pct": ("MLP chunks + Altair ticks vs straight", "%"),
    "chunked_tick_share_altair_pct": ("  time in Altair ticks / training time", "%"),
    "chunked_overhead_wavenet_pct": ("WaveNet chunks + template ticks vs straight", "%"),
    "chunked_tick_share_wavenet_pct": ("  time in template ticks / training time", "%"),
}


def _ship(spec: dict) -> None:
    """What Streamlit does with a spec's datasets before they leave the server: Arrow IPC."""
    for frame in spec.get("datasets", {}).values():
        dataframe_util.convert_anything_to_arrow_bytes(frame)


def chunked(ds, preset: str, ticks: dict, steps: int, chunk: float, repeats: int) -> dict:
    """Training a preset in chunks of `chunk` seconds with a tick(job) after each, for each
    of `ticks` {name: tick}, against training straight through (alternating within each
    round, so that all meet the same machine): {name: {"overhead_pct": extra wall time,
    "tick_share_pct": time in ticks / training time}}."""
    p = PRESETS[preset]
    splits = data.make_splits(ds, p.model.block_size, p.shuffles)

    def run(tick) -> tuple[float, float]:
        """(wall seconds, seconds spent in ticks) to train `steps` steps."""
        job = Job(p.model, p.train, splits, ds.vocab_size)
        spent, t0 = 0.0, time.perf_counter()
        while job.step < steps:
            if tick is None:
                job.train_step()
                continue
            job.train_for(chunk)
            t1 = time.perf_counter()
            tick(job)
            spent += time.perf_counter() - t1
        return time.perf_counter() - t0, spent

    straight, walls, shares = [], {name: [] for name in ticks}, {name: [] for name in ticks}
    for _ in range(repeats):
        straight.append(run(None)[0])
        for name, tick in ticks.items():
            wall, spent = run(tick)
            walls[name].append(wall)
            shares[name].append(100 * spent / (wall - spent))
    return {
        name: {
            "overhead_pct": round(100 * (min(walls[name]) / min(straight) - 1), 1),
            "tick_share_pct": round(min(shares[name]), 1),
        }
        for name in ticks
    }


def chart_ticks(ds, steps: int = 12_000, chunk: float = 0.2, repeats: int = 3) -> dict:
    """The live loss charts: one tick's cost on a long history, and training in chunks of
    `chunk` seconds (the pages' default) with a chart tick after each, against training
    straight through: `steps` steps of the MLP, a third as many of the WaveNet.

    The MLP page's curve is drawn two ways: charts.loss_curve_spec (a template built once,
    bucket means from the history's running sums, what the live pages use) and the same
    with the template cache emptied first (the Altair chart rebuilt and validated every
    tick). The WaveNet and backprop pages' curve is loss_curve_spec with lecture_bucket."""
    refs = {"uniform guess": 3.2958, "bigram": 2.4544}

    def spec_tick(job):
        _ship(charts.loss_curve_spec(job.lossi, job.evals, refs))

    def altair_tick(job):
        charts.forget_templates()
        _ship(charts.loss_curve_spec(job.lossi, job.evals, refs))

    def smoothed_tick(job):
        _ship(charts.loss_curve_spec(job.lossi, job.evals, refs, lecture_bucket=1000))

    out = {}
    p = PRESETS["part3-batchnorm"]
    long = Job(p.model, p.train, data.make_splits(ds, 3), ds.vocab_size)
    long.lossi = LossHistory(0.3 + 1e-6 * (i % 997) for i in range(200_000))  # a lecture run
    long.step = len(long.lossi)
    for name, tick in (
        ("chart_tick_ms", spec_tick),
        ("chart_tick_altair_ms", altair_tick),
        ("smoothed_tick_ms", smoothed_tick),
    ):
        tick(long)  # a template's first tick builds it and sums the history once

        def grow_and_tick(job=long, tick=tick):
            job.lossi.extend([0.3] * 600)  # what 0.2 s of training appends
            tick(job)

        out[name] = round(timed(grow_and_tick), 2)
    out["chart_tick_history_steps"] = len(long.lossi)
    mlp = chunked(
        ds, "part3-batchnorm", {"": spec_tick, "_altair": altair_tick}, steps, chunk, repeats
    )
    wavenet = chunked(ds, "part5-wavenet", {"_wavenet": smoothed_tick}, steps // 3, chunk, repeats)
    for suffix, r in {**mlp, **wavenet}.items():
        out[f"chunked_overhead{suffix}_pct"] = r["overhead_pct"]
        out[f"chunked_tick_share{suffix}_pct"] = r["tick_share_pct"]
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(prog="python -m ui.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one round instead of three")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = ap.parse_args(argv)
    report = {
        "machine": machine(),
        "charts": chart_ticks(data.load_builtin("names"), repeats=1 if args.quick else 3),
    }
    if args.json:
        print(json.dumps(report))
    else:
        print(
            "\n".join(
                [f"machine: {report['machine']}", "", *render_latencies(report["charts"], LABELS)]
            )
        )
    return report


if __name__ == "__main__":
    main()
