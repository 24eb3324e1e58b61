"""Driving the app the way a student does, for the page tests: open a page through app.py's
router, read what it shows (metrics, tables, the data behind a chart), train a run and watch it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pyarrow.ipc
from streamlit.testing.v1 import AppTest

from engine import data

ROOT = Path(__file__).resolve().parents[1]


def session(timeout: float = 60) -> AppTest:
    """A new session of the app, not run yet: set its URL's query parameters first."""
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)


def app(**state) -> AppTest:
    """A new session on the app's first page; `state` seeds st.session_state first."""
    at = session()
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def page(path: str, dataset: str | data.Dataset | None = None, **state) -> AppTest:
    """A new session on one page. dataset: a built-in's key, chosen on Home as a student
    would, or a Dataset put straight into the session (a tiny one made by the test);
    `state` seeds widget state, e.g. the open tab."""
    if isinstance(dataset, data.Dataset):
        source = {"ds_source": "us-census-1990", "ds_norm": dataset.normalization}
        state = {"dataset": dataset, **source, **state}
    at = app(**state)
    if isinstance(dataset, str):
        at.switch_page("pages/start/home.py").run()
        at.selectbox[0].select(dataset).run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def metrics(at: AppTest) -> dict[str, str]:
    """Every st.metric on the page: label -> the value shown."""
    return {m.label: m.value for m in at.metric}


def table(at: AppTest, column: str) -> pd.DataFrame:
    """The first st.dataframe on the page that has this column."""
    return next(df.value for df in at.dataframe if column in df.value.columns)


def charts(at: AppTest) -> list:
    return at.get("vega_lite_chart")


def spec(chart) -> dict:
    """A chart's Vega-Lite spec (its data travels separately: datasets, chart_data)."""
    return json.loads(chart.proto.spec)


def specs(at: AppTest) -> list[dict]:
    return [spec(c) for c in charts(at)]


def title(spec: dict) -> str:
    t = spec.get("title", "")
    return t["text"] if isinstance(t, dict) else t


def datasets(chart) -> dict[str, pd.DataFrame]:
    """The named datasets a chart ships, decoded from Streamlit's Arrow bytes."""
    return {
        d.name: pyarrow.ipc.open_stream(d.data.data).read_all().to_pandas()
        for d in chart.proto.datasets
    }


def chart_data(chart, layer: int = 0) -> pd.DataFrame:
    """The DataFrame behind one layer of a chart."""
    s = spec(chart)
    part = s["layer"][layer] if "layer" in s else s
    return datasets(chart)[part.get("data", s.get("data"))["name"]]  # or shared, at the top


def series(chart) -> dict[str, pd.DataFrame]:
    """A loss curve's lines and rules by their legend label (ui.charts.loss_curve_spec)."""
    return {df["series"].iloc[0]: df for df in datasets(chart).values() if len(df)}


def training_of(at: AppTest, key: str):
    """The training a page's Train started (its replica in this process), or None."""
    handle = at.session_state[f"training:{key}"]["handle"]
    return None if handle is None else handle.trainable


def finish_training(at: AppTest, key: str, timeout: float = 120.0):
    """Rerun the page as its fragment's timer would until its training ends; the training.

    Worker processes train; AppTest does not tick fragments by itself, so every rerun here
    is one tick of the page watching.
    """
    deadline = time.monotonic() + timeout
    while at.session_state[f"training:{key}"]["running"]:
        assert not at.exception, at.exception
        assert time.monotonic() < deadline, f"{key} still training after {timeout} s"
        time.sleep(0.1)
        at.run()
    assert not at.exception, at.exception
    return training_of(at, key)


def train(at: AppTest, key: str, steps: int | None = None, steps_key: str = ""):
    """Set the steps (when given), click Train and watch until the run is over; the run."""
    if steps is not None:
        at.number_input(key=steps_key).set_value(steps).run()
    at.button(key=f"{key}:train").click().run()
    return finish_training(at, key)
