"""Chart builders: marks, encodings and the data they carry."""

import math

from ui import charts


def layer_data(chart, i):
    return chart.layer[i].data


def test_bucket_means_average_equal_buckets():
    df = charts.bucket_means(list(range(10)), max_points=5)
    assert list(df["value"]) == [0.5, 2.5, 4.5, 6.5, 8.5]
    assert list(df["step"]) == [0.5, 2.5, 4.5, 6.5, 8.5]
    assert len(charts.bucket_means([1.0] * 200_000)) == 1000


def test_loss_curve_plots_log10_losses_evals_and_references():
    lossi = [math.log10(3.0)] * 50
    chart = charts.loss_curve(
        lossi, [{"step": 50, "train": 2.5, "dev": 2.6}], {"uniform guess, ln V": math.log(27)}
    )
    spec = chart.to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "line", "rule"]
    assert layer_data(chart, 2)["value"].iloc[0] == math.log10(math.log(27))
    assert set(layer_data(chart, 1)["series"]) == {"train (evaluated)", "dev (evaluated)"}


def test_embedding_scatter_draws_labelled_dots():
    import pandas as pd

    pts = pd.DataFrame(
        {"ch": [".", "a", " "], "x": [0, 1, 2], "y": [0, 1, 2], "kind": ["end", "vowel", "other"]}
    )
    spec = charts.embedding_scatter(pts, "x", "y").to_dict()
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["circle", "text"]
    assert spec["layer"][1]["encoding"]["text"]["field"] == "label"
