"""Lesson 3 pages in a real browser: defaults, slider extremes, live training with Stop."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import choose_dataset, screenshot, wait_idle


def key(page, k):
    """The element of widget `k` (Streamlit's st-key-… class, non-word characters as '-')."""
    return page.locator(".st-key-" + re.sub(r"[^a-zA-Z0-9_-]", "-", k))


def open_page(page, app_url, path):
    page.goto(f"{app_url}/{path}")
    wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)


def slide(page, k, where):
    """Move a slider or select_slider to its first ("Home") or last ("End") value."""
    key(page, k).get_by_role("slider").first.focus()
    page.keyboard.press(where)
    wait_idle(page)


def no_errors(page):
    expect(page.get_by_test_id("stException")).to_have_count(0)


def test_init_explorer_defaults_presets_and_extremes(page, app_url):
    open_page(page, app_url, "init_explorer")
    expect(page.get_by_test_id("stMetric").first).to_contain_text("Initial loss")
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(5)
    screenshot(page, "lesson3-init")

    key(page, "init_preset").get_by_role("radio", name="Kaiming").click()
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").first).to_contain_text("3.3")
    no_errors(page)

    # the extremes: W1 × 2 (everything saturated), fan_in 1000 unscaled
    key(page, "kaiming").locator("label").click()  # Kaiming off: the W1 slider again
    wait_idle(page)
    slide(page, "w1", "End")
    slide(page, "fan_in", "End")
    no_errors(page)
    screenshot(page, "lesson3-init-extreme")


def test_init_explorer_trains_both(page, app_url):
    open_page(page, app_url, "init_explorer")
    key(page, "init_preset").get_by_role("radio", name="Fix tanh").click()
    wait_idle(page)
    slide(page, "init_steps", "Home")  # 1,000 steps
    key(page, "init:train").get_by_role("button").click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("done", timeout=60_000)
    wait_idle(page)
    no_errors(page)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    screenshot(page, "lesson3-init-trained")


def test_batchnorm_page_trains_calibrates_and_extremes(page, app_url):
    open_page(page, app_url, "batchnorm")
    screenshot(page, "lesson3-batchnorm")
    slide(page, "x0", "End")  # x0 = 30: the other four outputs bunch up
    no_errors(page)
    slide(page, "bn_steps", "Home")
    key(page, "bn:train").get_by_role("button").click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("done", timeout=90_000)
    wait_idle(page)
    key(page, "bn:calibrate").get_by_role("button").click()
    wait_idle(page)
    # the race's table, running against calibrated, and the folded W'
    expect(page.get_by_test_id("stDataFrame")).to_have_count(3)
    slide(page, "neuron", "End")
    no_errors(page)
    screenshot(page, "lesson3-batchnorm-trained")


def test_diagnostics_trains_live_stops_and_resumes(page, app_url):
    open_page(page, app_url, "diagnostics")
    screenshot(page, "lesson3-diagnostics")
    key(page, "diag:train").get_by_role("button").click()
    progress = page.get_by_test_id("stProgress")
    expect(progress).to_contain_text(re.compile(r"step [1-9][\d,]* / 1,001"), timeout=30_000)
    expect(progress).not_to_have_text(progress.inner_text(), timeout=15_000)  # goes on by itself
    key(page, "diag:stop").get_by_role("button").click()
    expect(key(page, "diag:resume").get_by_role("button")).to_be_enabled(timeout=10_000)
    expect(progress).to_contain_text("· stopped", timeout=3_000)  # not "stopping…"
    wait_idle(page)
    stopped = progress.inner_text()
    page.wait_for_timeout(1500)
    assert progress.inner_text() == stopped  # Stop stopped it
    assert "/ 1,001" in stopped
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(4)  # the four views, live
    no_errors(page)
    screenshot(page, "lesson3-diagnostics-stopped")
    key(page, "diag:resume").get_by_role("button").click()
    expect(progress).to_contain_text("done", timeout=60_000)
    wait_idle(page)
    expect(
        page.get_by_text("layer 2 (      Tanh): mean -0.00, std 0.63, saturated: 2.78%")
    ).to_be_visible()
    screenshot(page, "lesson3-diagnostics-done")


def test_diagnostics_at_the_extremes(page, app_url):
    open_page(page, app_url, "diagnostics")
    slide(page, "depth", "End")  # 10 layers
    slide(page, "width", "End")  # 400 wide
    slide(page, "gain", "End")  # gain 3
    key(page, "bn").locator("label").click()  # BatchNorm off
    wait_idle(page)
    steps = key(page, "diag_steps").locator("input")
    steps.fill("30")
    steps.press("Enter")
    wait_idle(page)
    key(page, "diag:train").get_by_role("button").click()
    expect(page.get_by_test_id("stProgress")).to_contain_text("done", timeout=120_000)
    wait_idle(page)
    no_errors(page)
    screenshot(page, "lesson3-diagnostics-extreme")

    key(page, "zero_steps").locator("input").fill("50")
    key(page, "zero_steps").locator("input").press("Enter")
    wait_idle(page)
    key(page, "e01:train").get_by_role("button").click()
    expect(page.get_by_text("parameters that learn", exact=True)).to_be_visible(timeout=120_000)
    wait_idle(page)
    no_errors(page)
    screenshot(page, "lesson3-diagnostics-e01")


def test_lesson3_pages_on_spanish_municipalities(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    choose_dataset(page, "Spanish municipalities (INE)")
    nav = page.get_by_test_id("stSidebarNav")
    if nav.get_by_text("View").count():  # a collapsed navigation
        nav.get_by_text("View").first.click()
    for title, shot in [("Init & saturation", "init"), ("BatchNorm", "batchnorm")]:
        nav.get_by_role("link", name=title).click()
        wait_idle(page)
        no_errors(page)
        expect(page.get_by_text("ln 45").first).to_be_visible()
        screenshot(page, f"lesson3-{shot}-spanish")
