"""Lesson 1 pages in a real browser: defaults, slider extremes via shareable links, Spanish."""

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import choose_dataset, no_exception, screenshot, wait_idle

# url path, the number of charts at the defaults, a link with a widget at an extreme
PAGES = [
    ("bigram_counts", 2, "heat_k=1000&heat_show=log-probabilities"),
    ("smoothing", 3, "smooth_k=0"),
    ("bigram_sampling", 1, "sample_temp=3.0&sample_count=500&sample_k=0"),
    ("neural_bigram", 1, "nb_lr=200.0&nb_reg=1.0&nb_steps=10"),
    ("ngram_exercises", 1, "e01_k=0"),
]


def charts_drawn(page, at_least):
    """At least this many charts on the visible part of the page (other tabs are hidden)."""
    charts = page.locator("[data-testid='stVegaLiteChart']:visible")
    expect(charts.first).to_be_visible()
    assert charts.count() >= at_least
    expect(charts.first.locator("canvas, svg").first).to_be_attached()


@pytest.mark.parametrize(("path", "n_charts", "extreme"), PAGES, ids=[p[0] for p in PAGES])
def test_lesson1_page_at_defaults_and_at_an_extreme(page, app_url, path, n_charts, extreme):
    page.goto(f"{app_url}/{path}")
    wait_idle(page)
    no_exception(page)
    charts_drawn(page, n_charts)
    screenshot(page, f"lesson1-{path}")

    page.goto(f"{app_url}/{path}?{extreme}")
    wait_idle(page)
    no_exception(page)
    charts_drawn(page, 1)
    screenshot(page, f"lesson1-{path}-extreme")


def test_smoothing_at_k0_explains_the_infinite_dev_loss(page, app_url):
    page.goto(f"{app_url}/smoothing?smooth_k=0")
    wait_idle(page)
    expect(page.get_by_text("k = 0 makes the dev loss infinite")).to_be_visible()
    expect(page.get_by_test_id("stMetric").nth(1)).to_contain_text("∞")


def test_neural_bigram_trains_live_to_the_end(page, app_url):
    page.goto(f"{app_url}/neural_bigram?nb_steps=200")
    wait_idle(page)
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text("done: 200 steps")).to_be_visible(timeout=30_000)
    wait_idle(page)
    no_exception(page)
    assert page.get_by_test_id("stVegaLiteChart").count() >= 4
    screenshot(page, "lesson1-neural_bigram-trained")


def test_every_lesson1_page_on_spanish_municipalities(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    choose_dataset(page, "Spanish municipalities (INE)")
    nav = page.get_by_test_id("stSidebarNav")
    for title, path, n_charts in [
        ("Bigram counts", "bigram_counts", 2),
        ("Smoothing", "smoothing", 3),
        ("Sampling & likelihood", "bigram_sampling", 1),
        ("Neural bigram", "neural_bigram", 1),
        ("Exercises E01–E05", "ngram_exercises", 1),
    ]:
        nav.get_by_text(title, exact=True).click()
        wait_idle(page)
        no_exception(page)
        charts_drawn(page, n_charts)
        screenshot(page, f"lesson1-{path}-spanish")


def test_likelihood_inspector_scores_emma_and_refuses_unknown_characters(page, app_url):
    page.goto(f"{app_url}/bigram_sampling")
    wait_idle(page)
    page.get_by_role("tab", name="Likelihood inspector").click()
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Mean NLL")).to_be_visible()
    charts_drawn(page, 1)
    screenshot(page, "lesson1-inspector")

    box = page.locator(".st-key-inspect_word input")
    box.fill("Zoë!")
    box.press("Enter")
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").filter(has_text="has no")).to_be_visible()
    no_exception(page)


def test_exercise_tabs(page, app_url):
    page.goto(f"{app_url}/ngram_exercises?e05_scale=200")
    wait_idle(page)
    for tab, n_charts in [("E01", 1), ("E02", 0), ("E03", 2), ("E04", 1), ("E05", 0)]:
        page.get_by_role("tab", name=tab).click()
        wait_idle(page)
        no_exception(page)
        if n_charts:
            charts_drawn(page, n_charts)
        screenshot(page, f"lesson1-exercises-{tab}")
    expect(page.get_by_test_id("stMetric").filter(has_text="F.cross_entropy")).to_be_visible()
    page.get_by_role("tab", name="E03").click()
    page.get_by_role("button", name="on test, once").click()
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").filter(has_text="Test NLL")).to_be_visible()
