"""Lesson 2 in a real browser: train a small MLP live, stop it, look at its embeddings."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, wait_idle


def test_train_a_small_mlp_stop_and_look_at_it(page, app_url):
    page.goto(f"{app_url}/mlp")
    wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "mlp-idle")
    steps = page.locator(".st-key-steps input")
    steps.fill("30000")
    steps.press("Enter")
    wait_idle(page)
    page.locator(".st-key-mlp-train button:visible").first.click()
    progress = page.get_by_test_id("stProgress")
    expect(progress).to_contain_text(re.compile(r"step [\d,]+ / 30,000"), timeout=15_000)
    page.wait_for_timeout(1500)
    page.locator(".st-key-mlp-stop button:visible").first.click()
    expect(progress).to_contain_text("· stopped", timeout=3_000)  # the worker has stopped
    stopped = progress.inner_text()
    page.wait_for_timeout(1500)
    assert progress.inner_text() == stopped
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(2)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "mlp-stopped")

    page.get_by_test_id("stSidebarNav").get_by_text("Embeddings & samples").click()  # same session
    wait_idle(page)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("novelty", exact=True)).to_be_visible()
    screenshot(page, "embeddings")


def test_lr_finder_runs_the_sweep(page, app_url):
    page.goto(f"{app_url}/lr_finder")
    wait_idle(page)
    page.get_by_role("button", name="Run the sweep").click()
    expect(page.get_by_text("suggested learning rate")).to_be_visible(timeout=30_000)
    wait_idle(page)
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(1)
    screenshot(page, "lr-finder")
