"""Lessons 0, 4 and 5 in a real browser: graphs drawn, tables filled, short runs trained live."""

from playwright.sync_api import expect

from tests.e2e.conftest import no_exception, screenshot, set_number, wait_idle


def train_to_the_end(page, key, steps, timeout=60_000):
    page.locator(f".st-key-{key}-train button:visible").first.click()
    expect(page.get_by_text(f"done: {steps:,} steps")).to_be_visible(timeout=timeout)
    wait_idle(page)


def test_micrograd_graph_bug_expression_and_training(page, app_url):
    page.goto(f"{app_url}/micrograd")
    wait_idle(page)
    no_exception(page)
    graph = page.get_by_test_id("stGraphVizChart")
    expect(graph.locator("svg")).to_be_attached()
    expect(graph.locator("svg")).to_contain_text("grad 6.0000")  # a.grad of L = (a·b + c)·f
    screenshot(page, "lesson0-micrograd")

    page.get_by_role("button", name="◀ back").click()
    wait_idle(page)
    expect(page.get_by_test_id("stCode").first).to_contain_text("e.grad")
    screenshot(page, "lesson0-micrograd-step")

    page.locator(".st-key-mg_example").click()
    page.get_by_role("option", name="b = a + a, the accumulation bug").click()
    wait_idle(page)
    page.locator(".st-key-mg_bug label").click()
    wait_idle(page)
    expect(page.get_by_text("With the bug, some gradients disagree with torch")).to_be_visible()
    expect(graph.locator("svg")).to_contain_text("grad 1.0000")
    screenshot(page, "lesson0-micrograd-bug")

    page.locator(".st-key-mg_example").click()
    page.get_by_role("option", name="your own expression").click()
    wait_idle(page)
    box = page.locator(".st-key-mg_text input")
    box.fill("2a + b^2")
    box.press("Enter")
    wait_idle(page)
    expect(page.get_by_test_id("stAlert").first).to_contain_text("not a valid expression")
    no_exception(page)
    box.fill("tanh(a*b + c) / exp(b) - a**2")
    box.press("Enter")
    wait_idle(page)
    no_exception(page)
    expect(graph.locator("svg")).to_contain_text("exp")
    screenshot(page, "lesson0-micrograd-own")

    page.locator(".st-key-mg_slow label").click()  # full speed
    wait_idle(page)
    train_to_the_end(page, "micrograd", 20)
    no_exception(page)
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(3)
    screenshot(page, "lesson0-micrograd-trained")


def test_backprop_table_catches_a_mistake_and_trains(page, app_url):
    page.goto(f"{app_url}/backprop")
    wait_idle(page)
    no_exception(page)
    expect(page.get_by_text("All 26 gradients are exact")).to_be_visible()
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(1)  # dlogits
    screenshot(page, "lesson4-backprop")

    page.locator(".st-key-ninja_mistake").click()
    page.get_by_role("option", name="dbndiff2: Bessel mismatch").click()
    wait_idle(page)
    expect(page.get_by_text("cmp catches it")).to_be_visible()
    screenshot(page, "lesson4-backprop-mistake")

    set_number(page, "ninja_steps", 3000)
    train_to_the_end(page, "ninja", 3000, timeout=120_000)
    no_exception(page)
    page.get_by_role("button", name="Check the 7 parameter gradients").click()
    wait_idle(page)
    no_exception(page)
    screenshot(page, "lesson4-backprop-trained")


def test_wavenet_shapes_bug_toggle_training_and_samples(page, app_url):
    page.goto(f"{app_url}/wavenet")
    wait_idle(page)
    no_exception(page)
    expect(page.get_by_text("76,579 parameters ·")).to_be_visible()
    screenshot(page, "lesson5-wavenet")

    page.locator(".st-key-wn_bnfix label").click()  # bring the bug back
    wait_idle(page)
    expect(page.get_by_text("per-position", exact=False).first).to_be_visible()
    screenshot(page, "lesson5-wavenet-bug")
    page.get_by_role("button", name="Use the lecture's settings").click()
    wait_idle(page)

    set_number(page, "wn_steps", 1500)
    train_to_the_end(page, "wavenet", 1500, timeout=180_000)
    no_exception(page)
    expect(page.get_by_text("Names drawn from the net")).to_be_visible()
    screenshot(page, "lesson5-wavenet-trained")

    page.get_by_test_id("stSidebarNav").get_by_role("link", name="micrograd").click()
    wait_idle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="WaveNet").click()  # same session
    wait_idle(page)
    expect(page.get_by_text("done: 1,500 steps")).to_be_visible()
