"""The benchmark's plumbing on a tiny dataset: what it reports, not how fast (no timings)."""

import pytest

from engine import bench, data

WORDS = data.from_text(
    "\n".join(["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia"] * 40), "t"
)


def test_throughput_alternates_the_loops_and_reports_ratios(monkeypatch):
    monkeypatch.setattr(bench, "THROUGHPUT", {"part2-mlp": 3, "part5-wavenet": 2})
    rows = bench.throughput(WORDS, repeats=2)
    assert [r["preset"] for r in rows] == ["part2-mlp", "part5-wavenet"]
    for r in rows:
        assert r["plain_steps_s"] > 0
        assert r["engine_steps_s"] > 0
        assert len(r["ratio_each_round"]) == 2
        assert r["ratio"] == pytest.approx(r["engine_steps_s"] / r["plain_steps_s"], rel=0.05)


def test_co_batched_reports_each_group_size_against_the_runs_alone():
    rows = bench.co_batched(WORDS, repeats=2, runs=(1, 3), families={"part3-batchnorm": 3})
    assert [(r["preset"], r["runs"]) for r in rows] == [
        ("part3-batchnorm", 1),
        ("part3-batchnorm", 3),
    ]
    for r in rows:
        assert r["alone_steps_s"] > 0
        assert r["together_steps_s"] > 0
        assert len(r["ratio_each_round"]) == 2
        assert r["ratio"] == pytest.approx(r["together_steps_s"] / r["alone_steps_s"], rel=0.05)
    text = bench.render({"machine": "m", "throughput": [], "latencies": {}, "co_batched": rows})
    assert "co-batched run-steps/s" in text
    assert "part3-batchnorm" in text


def test_chart_ticks_measure_both_ways_of_drawing():
    from ui import bench as ui_bench

    out = ui_bench.chart_ticks(WORDS, steps=40, chunk=0.005, repeats=1)
    assert set(out) == {
        "chart_tick_ms",
        "chart_tick_altair_ms",
        "chart_tick_history_steps",
        "chunked_overhead_pct",
        "chunked_tick_share_pct",
        "chunked_overhead_altair_pct",
        "chunked_tick_share_altair_pct",
        "smoothed_tick_ms",
        "chunked_overhead_wavenet_pct",
        "chunked_tick_share_wavenet_pct",
    }
    assert out["chart_tick_history_steps"] > 200_000
    assert out["chart_tick_ms"] > 0
    assert out["chunked_tick_share_pct"] > 0


def test_render_prints_readable_tables():
    report = {
        "machine": "test machine",
        "throughput": [
            {
                "preset": "part2-mlp",
                "plain_steps_s": 3000,
                "engine_steps_s": 6600,
                "ratio": 2.2,
                "ratio_each_round": [2.1, 2.2],
            }
        ],
        "latencies": {"smoothing_slider_move_ms": 2.5, "new_key": 7},
        "time_to_quality": [
            {
                "recipe": "fast-mlp",
                "target_dev": 2.106,
                "seconds": 2.2,
                "steps": 2220,
                "dev": 2.1,
                "threads": 2,
            },
            {
                "recipe": "part5-wavenet",
                "target_dev": 1.994,
                "seconds": None,
                "steps": 200_000,
                "dev": 1.995,
                "threads": 1,
            },
        ],
    }
    text = bench.render(report)
    assert "part2-mlp" in text
    assert "2.20x" in text
    assert "6,600" in text
    assert "smoothing slider move (engine part)" in text
    assert "python -m ui.bench" in text
    assert "new_key" in text
    assert "never" in text


def test_the_makemore_comparison_is_rendered_with_its_rounds():
    report = {
        "machine": "m",
        "throughput": [],
        "latencies": {},
        "makemore": {
            "family": "transformer",
            "makemore_steps_s": 30.0,
            "engine_steps_s": 45.0,
            "ratio": 1.5,
            "ratio_each_round": [1.4, 1.5],
            "threads": 1,
        },
    }
    text = bench.render(report)
    assert "vs makemore.py" in text
    assert "1.50x  1.40x 1.50x" in text
