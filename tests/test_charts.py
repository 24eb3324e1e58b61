"""Chart builders: marks, encodings and the data they carry."""

import math

import pytest
import torch

from engine.history import LossHistory
from ui import charts, theme
from ui.part1_bigrams import charts as part1
from ui.part1_bigrams import curves


def layer_data(chart, i):
    return chart.layer[i].data


def test_bucket_means_average_equal_buckets():
    df = charts.bucket_means(list(range(10)), max_points=5)
    assert list(df["value"]) == [0.5, 2.5, 4.5, 6.5, 8.5]
    assert list(df["step"]) == [0.5, 2.5, 4.5, 6.5, 8.5]
    assert len(charts.bucket_means([1.0] * 200_000)) == 1000


# --- bucket means kept incrementally --------------------------------------------------


def reference_bucket_means(values, max_points=1000):
    """The former pandas groupby, computed from scratch."""
    import pandas as pd

    n = len(values)
    size = max(1, -(-n // max_points))
    s = pd.Series(values, dtype="float64")
    means = s.groupby(s.index // size).mean()
    return list(means.index * size + (size - 1) / 2), list(means.values)


def test_incremental_bucket_means_equal_a_full_recomputation_as_the_list_grows():
    import random

    rng = random.Random(0)
    lossi = LossHistory()  # a run's history: its running sums grow with it
    for chunk in [1, 7, 500, 993, 1, 2500, 40, 6000, 3, 12_000]:  # crosses many bucket sizes
        lossi.extend(rng.uniform(0.1, 1.5) for _ in range(chunk))
        for max_points in (1000, 400, 7):
            df = charts.bucket_means(lossi, max_points=max_points)
            steps, means = reference_bucket_means(lossi, max_points)
            assert list(df["step"]) == steps
            assert df["value"].tolist() == pytest.approx(means, rel=1e-12, abs=1e-12)


def test_bucket_means_notice_a_list_that_was_rewritten():
    lossi = LossHistory([1.0] * 3000)
    assert charts.bucket_means(lossi)["value"].tolist() == pytest.approx([1.0] * 1000)
    lossi[:] = [2.0] * 3500  # not an append: the cached sums no longer apply
    assert charts.bucket_means(lossi)["value"].tolist() == pytest.approx([2.0] * 875)
    assert charts.bucket_means((0.5, 1.5))["value"].tolist() == [0.5, 1.5]  # any sequence
    assert charts.bucket_means([1.0] * 3000)["value"].tolist() == pytest.approx([1.0] * 1000)


def test_block_means_are_the_lectures_view_mean():
    import torch

    lossi = [float(i % 13) / 7 for i in range(5_321)]
    df = charts.block_means(lossi, 1000)
    expected = torch.tensor(lossi[:5000], dtype=torch.float64).view(-1, 1000).mean(1)
    assert df["value"].tolist() == pytest.approx(expected.tolist(), rel=1e-12)
    assert df["step"].tolist() == [500, 1500, 2500, 3500, 4500]
    assert len(charts.block_means(lossi[:999], 1000)) == 0


def series(spec: dict) -> dict[str, dict]:
    """A loss curve's layers by their legend label: {label: {"mark", "data"}}."""
    frames = {name: table.to_pandas() for name, table in spec["datasets"].items()}
    return {
        frames[layer["data"]["name"]]["series"].iloc[0]: {
            "mark": layer["mark"]["type"],
            "data": frames[layer["data"]["name"]],
        }
        for layer in spec["layer"]
    }


def test_loss_curve_plots_log10_losses_evals_and_references():
    import json

    lossi = [math.log10(3.0 - i / 5000) for i in range(4000)]
    evals = [{"step": 2000, "train": 2.5, "dev": 2.6}, {"step": 4000, "train": 2.2, "dev": 2.4}]
    refs = {"uniform guess, ln V": math.log(27), "bigram counts (dev)": 2.45}
    spec = charts.loss_curve_spec(lossi, evals, refs)
    drawn = series(spec)
    assert {k: v["mark"] for k, v in drawn.items()} == {
        "minibatch loss": "line",
        "dev loss (evaluated)": "line",
        "train loss (evaluated)": "line",
        "uniform guess, ln V": "rule",
        "bigram counts (dev)": "rule",
    }
    assert len(drawn["minibatch loss"]["data"]) == 1000  # bucket means of 4 steps
    assert drawn["train loss (evaluated)"]["data"]["value"].tolist() == pytest.approx(
        [math.log10(2.5), math.log10(2.2)]
    )
    assert drawn["uniform guess, ln V"]["data"]["value"].iloc[0] == math.log10(math.log(27))
    assert spec["layer"][0]["encoding"]["y"]["title"] == "log10(loss)"
    # every page's colours: the curve blue, train orange, dev red, references green then black
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert dict(zip(scale["domain"], scale["range"], strict=True)) == {
        "minibatch loss": theme.MINIBATCH,
        "dev loss (evaluated)": theme.DEV,
        "train loss (evaluated)": theme.TRAIN,
        "uniform guess, ln V": theme.REFERENCES[0],
        "bigram counts (dev)": theme.REFERENCES[1],
    }
    # the cached template stays free of any call's data
    again = charts.loss_curve_spec([0.5] * 10, evals, refs)
    assert len(series(again)["minibatch loss"]["data"]) == 10
    json.dumps({k: v for k, v in spec.items() if k != "datasets"})  # plain JSON otherwise


def test_the_lectures_loss_curve_is_the_mean_of_each_1000_steps():
    lossi = LossHistory(float(i % 13) / 7 for i in range(5_321))
    drawn = series(charts.loss_curve_spec(lossi, lecture_bucket=1000))
    assert list(drawn) == ["minibatch loss, finer means", "mean of each 1,000 steps (lecture)"]
    assert drawn["mean of each 1,000 steps (lecture)"]["data"]["value"].tolist() == (
        charts.block_means(lossi, 1000)["value"].tolist()
    )
    assert len(drawn["minibatch loss, finer means"]["data"]) == 381  # at most 400 buckets
    assert "layer" not in charts.loss_curve_spec([])  # nothing to draw yet: an empty chart


def test_embedding_scatter_draws_labelled_dots_with_its_data_named():
    import pandas as pd

    pts = pd.DataFrame(
        {"ch": [".", "a", " "], "x": [0, 1, 2], "y": [0, 1, 2], "kind": ["end", "vowel", "other"]}
    )
    spec = charts.embedding_scatter_spec(pts, "dim 0", "dim 1")
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["circle", "text"]
    assert spec["layer"][0]["encoding"]["color"]["field"] == "kind"
    assert spec["layer"][1]["encoding"]["text"]["field"] == "label"
    assert spec["datasets"][charts.POINTS]["label"].tolist() == [".", "a", "␣"]
    other = charts.embedding_scatter_spec(pts.assign(x=[5, 6, 7]), "dim 0", "dim 1")
    assert other["datasets"][charts.POINTS]["x"].tolist() == [5, 6, 7]
    assert spec["datasets"][charts.POINTS]["x"].tolist() == [0, 1, 2]  # each call its own data


# --- lesson 3's live charts: cached templates, fresh datasets ----------------------------


def test_compare_loss_curves_spec_fills_its_datasets_into_one_template():
    from ui.part3_bn import charts as dc

    runs = {"a": [0.5, 0.4, 0.3], "b": [0.6, 0.5, 0.45]}
    spec = dc.compare_loss_curves_spec(runs, first=2, references={"ten": 10.0}, title="T")
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "rule"]
    assert spec["title"] == "T"
    assert spec["height"] == 300
    lines = spec["datasets"][dc.RUNS]
    assert lines.to_dict("list") == {
        "step": [0, 1, 0, 1],
        "value": [0.5, 0.4, 0.6, 0.5],
        "run": ["a", "a", "b", "b"],
    }
    assert spec["datasets"][dc.RUN_REFS].to_dict("list") == {"line": ["ten"], "value": [1.0]}
    again = dc.compare_loss_curves_spec(
        {"a": [0.2] * 5, "b": [0.1] * 5}, first=2, references={"ten": 100.0}, title="T"
    )
    assert again["layer"] is spec["layer"]  # the same cached template, other data
    assert again["datasets"][dc.RUNS]["value"].tolist() == [0.2, 0.2, 0.1, 0.1]
    assert again["datasets"][dc.RUN_REFS]["value"].tolist() == [2.0]
    assert lines["value"].tolist() == [0.5, 0.4, 0.6, 0.5]  # each call its own data
    whole = dc.compare_loss_curves_spec(runs)  # bucket means, no references: one layer
    assert [layer["mark"]["type"] for layer in whole["layer"]] == ["line"]
    assert dc.RUN_REFS not in whole["datasets"]


def test_histogram_lines_spec_fills_its_dataset_into_one_template():
    from engine.part3_bn.stats import Histogram
    from ui.part3_bn import charts as dc

    series = {"layer 2": Histogram([0.0, 0.5], [1.0, 2.0]), "layer 5": Histogram([], [])}
    spec = dc.histogram_lines_spec(series, "activation distribution", "Tanh output")
    assert spec["title"] == "activation distribution"
    assert spec["encoding"]["color"]["sort"] == ["layer 2", "layer 5"]
    assert spec["datasets"][dc.HISTOGRAMS].to_dict("list") == {
        "x": [0.0, 0.5],
        "density": [1.0, 2.0],
        "series": ["layer 2", "layer 2"],
    }
    other = {"layer 2": Histogram([1.0], [3.0]), "layer 5": Histogram([2.0], [4.0])}
    again = dc.histogram_lines_spec(other, "activation distribution", "Tanh output")
    assert again["encoding"] is spec["encoding"]  # the same cached template, other data
    assert again["datasets"][dc.HISTOGRAMS]["series"].tolist() == ["layer 2", "layer 5"]
    empty = dc.histogram_lines_spec({"layer 2": Histogram([], [])}, "nothing yet", "x")
    assert empty["mark"]["type"] == "point"
    assert empty["title"] == "nothing yet"


def test_update_ratio_lines_spec_fills_its_datasets_into_one_template():
    from engine.part3_bn.stats import UpdateRatios
    from ui.part3_bn import charts as dc

    labels = {0: "param 0 (27, 10)", 3: "param 3 (30, 27)"}
    rows = [{"step": 0, "param": 0, "value": -2.5}, {"step": 0, "param": 3, "value": -3.5}]
    spec = dc.update_ratio_lines_spec(UpdateRatios(rows, [0, 3], 1), labels)
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "rule"]
    assert "−3" in spec["title"]["subtitle"]  # the guide's label, off the curves
    assert spec["datasets"][dc.UPDATES].to_dict("list") == {
        "step": [0, 0],
        "param": ["param 0 (27, 10)", "param 3 (30, 27)"],
        "value": [-2.5, -3.5],
    }
    assert spec["datasets"][dc.GUIDE]["y"].tolist() == [-3]
    more = [*rows, {"step": 1, "param": 0, "value": -2.0}]
    again = dc.update_ratio_lines_spec(UpdateRatios(more, [0, 3], 1), labels)
    assert again["layer"] is spec["layer"]  # the same cached template, other data
    assert len(again["datasets"][dc.UPDATES]) == 3
    strided = dc.update_ratio_lines_spec(UpdateRatios(rows, [0, 3], 4), labels)
    assert strided["layer"][0]["encoding"]["x"]["title"] == "step (mean of 4 steps)"
    assert dc.update_ratio_lines_spec(UpdateRatios([], [], 1), {})["mark"]["type"] == "point"


def test_batch_vs_running_spec_fills_its_dataset_into_one_template():
    from ui.part3_bn import batchnorm as dc

    series = {"step": [0, 5], "batch std": [1.5, 2.5], "running std": [1.0, 1.1]}
    spec = dc.batch_vs_running_spec(series, "std")
    assert spec["title"] == "std of the pre-activation"
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "line"]
    assert spec["datasets"][dc.TRACE].to_dict("list") == {
        "step": [0, 5, 0, 5],
        "value": [1.5, 2.5, 1.0, 1.1],
        "series": ["batch std", "batch std", "running std", "running std"],
    }
    series = {"step": [0, 5, 10], "batch std": [1, 2, 3], "running std": [1, 1, 1]}
    again = dc.batch_vs_running_spec(series, "std")
    assert again["layer"] is spec["layer"]  # the same cached template, other data
    assert again["datasets"][dc.TRACE]["step"].tolist() == [0, 5, 10] * 2


# --- micrograd and backprop ninja ------------------------------------------------------


def test_micrograd_loss_is_on_a_log_scale_and_each_example_has_its_panel():
    from ui import micrograd

    loss = micrograd.micro_loss_chart([4.0, 2.0, 0.5])
    assert loss["encoding"]["y"]["scale"]["type"] == "log"
    assert loss["datasets"][micrograd.MICRO_LOSS]["loss"].tolist() == [4.0, 2.0, 0.5]
    preds = micrograd.micro_predictions_chart([[0.1, -0.2], [0.5, -0.6]], (1.0, -1.0))
    assert [layer["mark"]["type"] for layer in preds["spec"]["layer"]] == ["rule", "line"]
    assert preds["facet"]["field"] == "example"
    assert len(preds["datasets"][micrograd.MICRO_PREDS]) == 4  # 2 steps × 2 examples


def test_dlogits_is_the_notebooks_gray_image():
    from ui import part4_backprop

    chart = part4_backprop.dlogits_heatmap([[0.1, -0.9], [-0.8, 0.2]], [".", "a"], [1, 0])
    spec = chart.to_dict()
    assert spec["mark"]["type"] == "rect"
    assert spec["encoding"]["color"]["scale"] == {"scheme": "greys", "reverse": True}
    assert chart.data["is the label"].tolist() == [False, True, True, False]


# --- makemore part 1 --------------------------------------------------------------------


def test_the_bigram_heatmap_has_rows_first_columns_next_and_dot_first():
    itos = [".", "a", "b"]
    N = torch.tensor([[0, 2, 1], [3, 0, 0], [1, 1, 1]])
    s = part1.heatmap(itos, N / N.sum(1, keepdim=True), N).to_dict()
    assert [layer["mark"]["type"] for layer in s["layer"]] == ["rect", "rect", "text", "text"]
    cells = s["layer"][1]["encoding"]  # zeros white, then the coloured cells, bigram, value
    assert (cells["x"]["field"], cells["y"]["field"]) == ("next", "first")
    assert cells["x"]["type"] == cells["y"]["type"] == "ordinal"
    assert cells["x"]["sort"] == cells["y"]["sort"] == itos
    assert cells["color"]["field"] == "count"
    assert {t["field"] for t in cells["tooltip"]} >= {"bigram", "count", "p"}
    assert s["layer"][2]["encoding"]["text"]["field"] == "bigram"
    logp = part1.heatmap(itos, N / N.sum(1, keepdim=True), N, mode="log-probabilities")
    assert logp.to_dict()["layer"][1]["encoding"]["color"]["field"] == "logp"


def test_a_row_of_the_table_is_a_bar_per_next_character():
    P = torch.tensor([[0.0, 0.75, 0.25], [1.0, 0.0, 0.0], [0.5, 0.5, 0.0]])
    chart = part1.row_bars([".", "a", "b"], "a", P)
    s = chart.to_dict()
    assert s["mark"]["type"] == "bar"
    assert (s["encoding"]["x"]["field"], s["encoding"]["y"]["field"]) == ("next", "p")
    assert "'a'" in s["title"]
    assert chart.data["p"].tolist() == [1.0, 0.0, 0.0]


def test_smoothing_curves_are_nll_against_k_on_a_symlog_axis_with_the_ks_marked():
    ks = [0.0, 0.1, 1.0, 10.0]
    chart = curves.smoothing_curves(
        ks, {"train": [2.0, 2.1, 2.2, 2.4], "dev": [math.inf, 2.5, 2.4, 2.6]}, k=10.0, best_k=1.0
    )
    s = chart.to_dict()
    kinds = [layer["mark"]["type"] for layer in s["layer"]]
    assert kinds == ["line", "text", "rule"]  # the curves, '∞' where dev is infinite, the ks
    line = s["layer"][0]["encoding"]
    assert (line["x"]["field"], line["y"]["field"]) == ("k", "nll")
    assert line["x"]["scale"]["type"] == "symlog"
    assert line["color"]["scale"] == {"domain": ["train", "dev"], "range": [theme.TRAIN, theme.DEV]}
    assert chart.layer[1].data[["k", "split"]].values.tolist() == [[0.0, "dev"]]
    assert chart.layer[2].data["k"].tolist() == [10.0, 1.0]  # current k, best k on dev


# --- makemore part 3 --------------------------------------------------------------------


def test_a_histogram_is_pre_binned_bars_from_zero_up_to_the_count():
    from engine.part3_bn.stats import Histogram
    from ui.part3_bn import charts as dc

    chart = dc.histogram_bars(Histogram([0.0, 0.5], [3.0, 1.0]), "tanh outputs", "h")
    s = chart.to_dict()
    assert s["mark"]["type"] == "rect"
    assert s["encoding"]["x2"]["field"] == "x2"  # each bar spans its bin
    assert s["encoding"]["y2"] == {"datum": 0}
    assert chart.data[["x", "x2", "y"]].values.tolist() == [[0.0, 0.5, 3.0], [0.5, 1.0, 1.0]]


def test_the_saturation_image_is_black_where_active_and_white_where_saturated():
    from ui.part3_bn import charts as dc

    chart = dc.saturation_image([[1, 0, 0], [0, 0, 1]])
    s = chart.to_dict()
    assert s["mark"]["type"] == "rect"
    assert s["encoding"]["color"]["scale"] == {"domain": [0, 1], "range": ["black", "white"]}
    assert (s["encoding"]["x"]["field"], s["encoding"]["y"]["field"]) == ("neuron", "example")
    assert chart.data["saturated"].tolist() == [1, 0, 0, 0, 0, 1]


def test_the_diagnostics_histograms_are_step_lines_one_colour_per_layer():
    from engine.part3_bn.stats import Histogram
    from ui.part3_bn import charts as dc

    series = {"layer 2": Histogram([0.0, 0.5], [1.0, 2.0])}
    spec = dc.histogram_lines_spec(series, "gradient distribution", "gradient")
    assert (spec["mark"]["type"], spec["mark"]["interpolate"]) == ("line", "step-after")
    assert spec["encoding"]["color"]["field"] == "series"


def test_the_update_ratio_guide_at_minus_three_is_a_black_rule():
    from engine.part3_bn.stats import UpdateRatios
    from ui.part3_bn import charts as dc

    rows = [{"step": 0, "param": 0, "value": -2.5}]
    spec = dc.update_ratio_lines_spec(UpdateRatios(rows, [0], 1), {0: "param 0 (27, 10)"})
    (rule,) = [layer["mark"] for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert rule["color"] == "black"


@pytest.mark.parametrize("x0", [-30.0, 0.0, 30.0])
def test_the_batchnorm_widget_joins_each_input_to_its_output_and_shows_them_all(x0):
    from engine.part3_bn import batchnorm
    from ui.part3_bn import batchnorm as dc

    w = batchnorm.batchnorm_widget(x0)
    s = dc.batchnorm_widget(w).to_dict()
    assert s["title"] == f"input mu {w.mu:.2f} std {w.std:.2f}"
    assert [layer["mark"]["type"] for layer in s["layer"]] == ["line", "line", "line", "circle"]
    lo, hi = s["layer"][-1]["encoding"]["x"]["scale"]["domain"]
    assert lo <= min(w.inputs)  # every dot is on screen
    assert hi >= max(w.inputs)
