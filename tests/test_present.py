"""Presenter mode's charts: text and heights grow with ?zoom, on every chart a page draws,
the live ones included (AppTest; tests/e2e/test_present.py looks at them in Chromium)."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import session, specs
from tests.test_pages_part2_mlp import train_tiny
from ui import present


def open_page(path: str, **params) -> AppTest:
    """The page opened from a link with these query parameters (present=1, zoom=...)."""
    at = session()
    at.query_params.update(params)
    at.run()
    return at.switch_page(path).run()


def test_a_spec_grows_its_heights_and_fonts_but_keeps_its_width():
    spec = {
        "height": 300,
        "width": "container",
        "layer": [{"mark": {"type": "text", "fontSize": 9}, "height": {"step": 20}}],
        "config": {"axis": {"labelFontSize": 10, "grid": False}},
    }
    shown = present.present_chart(spec, 2.0)
    assert shown["height"] == 600
    assert shown["width"] == "container"
    assert shown["layer"][0]["mark"]["fontSize"] == 18
    assert shown["layer"][0]["height"] == {"step": 40}
    assert shown["config"]["axis"]["labelFontSize"] == 20  # the chart's own, scaled
    assert shown["config"]["axis"]["grid"] is False
    assert shown["config"]["axis"]["titleFontSize"] == 26  # presenter mode's, 13 px × 2
    assert shown["config"]["legend"]["orient"] == "bottom"
    assert shown["config"]["title"]["subtitleFontSize"] == 24  # a subtitle as large as labels


@pytest.mark.parametrize("zoom", [100, 200, 250])
def test_every_chart_on_a_page_is_scaled_by_the_zoom(zoom):
    plain = specs(open_page("pages/start/home.py"))
    shown = specs(open_page("pages/start/home.py", present="1", zoom=str(zoom)))
    assert len(shown) == len(plain) >= 2
    for before, after in zip(plain, shown, strict=True):
        assert "config" not in before or "axis" not in before["config"]
        assert after["config"]["axis"]["labelFontSize"] == pytest.approx(12 * zoom / 100)
        assert after["config"]["title"]["fontSize"] == pytest.approx(15 * zoom / 100)
        assert after["height"] == pytest.approx(before["height"] * zoom / 100)


def test_the_live_loss_chart_is_scaled_on_every_tick():
    at = open_page("pages/part2_mlp/trainer.py", present="1", zoom="200")
    train_tiny(at, steps=300)  # the chart is drawn by the training fragment's reruns
    (curve,) = [s for s in specs(at) if "log10(loss)" in json.dumps(s)][:1]
    assert curve["config"]["axis"]["labelFontSize"] == 24
    assert not at.exception


def test_outside_presenter_mode_charts_are_left_alone():
    at = open_page("pages/part1_bigrams/counts.py", zoom="250")  # zoom without present=1
    heatmap = specs(at)[0]
    assert "config" not in heatmap
    assert heatmap["width"] == {"step": 700 / 27}


def test_the_heatmap_fills_the_width_in_presenter_mode():
    at = open_page("pages/part1_bigrams/counts.py", present="1", zoom="150")
    heatmap = specs(at)[0]
    assert heatmap["width"] == "container"
    assert heatmap["height"] == pytest.approx(700 * 1.5)


def test_the_style_sheet_keeps_metrics_whole_and_lets_columns_wrap():
    at = open_page("pages/part1_bigrams/counts.py", present="1", zoom="250")
    css = at.get("html")[0].proto.body
    assert "text-overflow: clip" in css
    assert "flex-wrap: wrap" in css
    assert 'has([data-testid="stVegaLiteChart"]' in css  # charts drawn unzoomed, full width
