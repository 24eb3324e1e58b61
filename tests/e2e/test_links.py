"""Shareable links and presenter mode in a real browser: a deep link with settings, the
dataset and ?present=1 opens the same run, readable on a projector."""

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, wait_idle


def params(page) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlparse(page.url).query).items()}


def test_a_deep_link_opens_the_same_trainer_in_presenter_mode(page, fresh_app_url):
    page.goto(f"{fresh_app_url}/mlp?data=spanish_municipalities&n_embd=2&seed=7&present=1")
    wait_idle(page)
    expect(page.get_by_role("heading", name="MLP language model")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    # the link's settings and dataset
    expect(page.locator(".st-key-n_embd").get_by_role("slider")).to_have_value("2")
    expect(page.locator(".st-key-seed input")).to_have_value("7")
    expect(page.get_by_text("(V = 45)")).to_be_visible()
    # presenter mode: no sidebar, no toolbar, everything larger
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    expect(page.get_by_test_id("stHeader")).to_be_hidden()
    zoom = page.get_by_test_id("stMainBlockContainer").evaluate("e => getComputedStyle(e).zoom")
    assert float(zoom) == 1.3
    assert params(page)["data"] == "spanish-municipalities"
    screenshot(page, "links-mlp-presenter")

    # the teacher starts a short run; a classmate opening the same link gets the same numbers
    page.locator(".st-key-steps input").fill("300")
    page.locator(".st-key-steps input").press("Enter")
    wait_idle(page)
    assert params(page)["steps"] == "300"
    page.get_by_role("button", name="Train", exact=True).click()
    done = page.get_by_text(re.compile(r"done: 300 steps"))
    expect(done).to_be_visible(timeout=60_000)
    wait_idle(page)
    dev = page.get_by_test_id("stMetric").nth(2).inner_text()
    screenshot(page, "links-mlp-presenter-trained")

    classmate = page.context.new_page()
    classmate.goto(page.url)
    wait_idle(classmate)
    classmate.get_by_role("button", name="Train", exact=True).click()
    expect(classmate.get_by_text(re.compile(r"done: 300 steps"))).to_be_visible(timeout=60_000)
    wait_idle(classmate)
    assert classmate.get_by_test_id("stMetric").nth(2).inner_text() == dev
    classmate.close()


def test_hide_settings_and_a_bad_dataset_link(page, app_url):
    page.goto(f"{app_url}/smoothing?smooth_k=10&present=1&hide=settings,captions&zoom=150")
    wait_idle(page)
    expect(page.locator(".st-key-settings_smooth")).to_be_hidden()
    expect(page.get_by_test_id("stCaptionContainer").first).to_be_hidden()
    expect(page.get_by_test_id("stMetric").first).to_be_visible()
    screenshot(page, "links-smoothing-presenter-hidden")

    page.goto(f"{app_url}/bigram_counts?data=klingon&heat_k=0")
    wait_idle(page)
    expect(page.get_by_text("Unknown dataset 'klingon'")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    assert "data" not in params(page)
    assert params(page)["heat_k"] == "0"
    # the sidebar explains that the address bar is the link
    expect(page.get_by_test_id("stSidebar").get_by_text("Share this page")).to_be_visible()
    screenshot(page, "links-bad-dataset")
