"""Presenter mode in Chromium at a projector's sizes: every metric whole, every chart and
table inside the page, charts' text as large as the zoom asks. Screenshots land in
screenshots/present-*.png."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, wait_idle

VIEWS = [(1024, 768, 250), (1920, 1080, 130)]  # width, height, zoom


def measure(page) -> dict:
    return page.evaluate(
        """() => ({
          cut: [...document.querySelectorAll('[data-testid=stMetricValue] *, [data-testid=stMetricLabel] *')]
                 .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent),
          right: Math.max(...[...document.querySelectorAll(
                   '[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg, [data-testid=stDataFrame]')]
                 .map(e => e.getBoundingClientRect().right)),
          shown: document.querySelectorAll('[data-testid=stVegaLiteChart], [data-testid=stDataFrame]').length,
          width: window.innerWidth,
        })"""
    )


@pytest.mark.parametrize(("width", "height", "zoom"), VIEWS)
@pytest.mark.parametrize("path", ["bigram_counts", "smoothing", "compare", "home"])
def test_presenter_mode_fits_a_projector(page, app_url, path, width, height, zoom):
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"{app_url}/{path}?present=1&zoom={zoom}")
    wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    page.wait_for_timeout(1500)  # the charts draw after the script run
    seen = measure(page)
    assert seen["shown"] >= 1  # charts, or Compare's table
    assert not seen["cut"], seen["cut"]  # no metric reads "228…"
    assert seen["right"] <= seen["width"] + 1  # charts and tables stay on the page
    screenshot(page, f"present-{path}-{width}x{height}-zoom{zoom}")
