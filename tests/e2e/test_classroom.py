"""A class on one server, in real browsers: shared run cache, fair slots, the compare page."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, serve, wait_idle

RUN = "/mlp?steps=2000&decay=1000&n_hidden=40"


def train(page, done=True):
    page.locator(".st-key-mlp-train button:visible").first.click()
    if done:
        expect(page.get_by_test_id("stProgress")).to_contain_text(
            "done: 2,000 steps", timeout=60_000
        )
        wait_idle(page)


def dev_loss(page) -> str:
    return page.get_by_test_id("stMetric").filter(has_text="dev loss").inner_text()


def test_a_run_trained_by_the_teacher_opens_at_once_for_a_student(browser, fresh_app_url):
    teacher = browser.new_page(viewport={"width": 1400, "height": 1000})
    teacher.goto(fresh_app_url + RUN)
    wait_idle(teacher)
    train(teacher)
    trained = dev_loss(teacher)

    student = browser.new_page(viewport={"width": 1400, "height": 1000})  # a session of its own
    student.goto(fresh_app_url + RUN)
    wait_idle(student)
    student.locator(".st-key-mlp-train button:visible").first.click()
    expect(student.get_by_text("Served from the run cache")).to_be_visible(timeout=5_000)
    expect(student.get_by_test_id("stProgress")).to_contain_text("done: 2,000 steps")
    assert dev_loss(student) == trained
    expect(student.get_by_test_id("stException")).to_have_count(0)
    screenshot(student, "classroom-cache-hit")

    student.get_by_test_id("stSidebarNav").get_by_text("Compare runs").click()
    wait_idle(student)
    expect(student.get_by_test_id("stDataFrame")).to_be_visible()
    expect(student.get_by_test_id("stVegaLiteChart")).to_have_count(1)
    expect(student.get_by_test_id("stException")).to_have_count(0)
    screenshot(student, "compare-runs")


@pytest.fixture
def one_slot_url():
    yield from serve(env={"MAKEMORE_SLOTS": "1"})


def test_with_one_slot_the_second_training_waits_until_the_first_tab_closes(browser, one_slot_url):
    first = browser.new_page(viewport={"width": 1400, "height": 1000})
    first.goto(one_slot_url + "/mlp?steps=200000&n_hidden=41")
    wait_idle(first)
    first.locator(".st-key-mlp-train button:visible").first.click()
    expect(first.get_by_test_id("stProgress")).to_contain_text(re.compile(r"step [\d,]+ / 200,000"))

    second = browser.new_page(viewport={"width": 1400, "height": 1000})
    second.goto(one_slot_url + "/mlp?steps=200000&n_hidden=42")
    wait_idle(second)
    second.locator(".st-key-mlp-train button:visible").first.click()
    waiting = second.get_by_text("Waiting for a free training slot: you are number 1 of 1")
    expect(waiting).to_be_visible(timeout=10_000)
    screenshot(second, "classroom-waiting")

    first.close()  # a closed tab stops training, and Streamlit releasing its session frees the slot
    expect(waiting).to_have_count(0, timeout=40_000)
    expect(second.get_by_test_id("stProgress")).to_contain_text(
        re.compile(r"step [1-9][\d,]* / 200,000")
    )
    second.locator(".st-key-mlp-stop button:visible").first.click()
    expect(second.get_by_test_id("stException")).to_have_count(0)


@pytest.fixture
def one_worker_url():
    yield from serve(env={"MAKEMORE_SLOTS": "1"}, port=8655)


def test_two_tabs_training_compatible_runs_train_together(browser, one_worker_url):
    """One worker, the same architecture, each tab its own number of steps: one group."""
    tabs = []
    for steps in (200_000, 150_000):
        tab = browser.new_page(viewport={"width": 1400, "height": 1000})
        tab.goto(one_worker_url + f"/mlp?steps={steps}&n_hidden=43")
        wait_idle(tab)
        tab.locator(".st-key-mlp-train button:visible").first.click()
        tabs.append(tab)
    for tab in tabs:
        expect(tab.get_by_test_id("stProgress")).to_contain_text(
            "training together with 1 other run", timeout=20_000
        )
    screenshot(tabs[1], "classroom-together")
    for tab in tabs:
        tab.locator(".st-key-mlp-stop button:visible").first.click()
        expect(tab.get_by_test_id("stException")).to_have_count(0)
