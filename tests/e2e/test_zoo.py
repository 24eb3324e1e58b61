"""The model zoo in a real browser: two families trained live, the views, bad and extreme
sizes, on the default dataset, Spanish municipalities and an upload."""

from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.e2e.conftest import no_exception, screenshot, set_number, wait_idle
from tests.e2e.test_app import upload


def choose(page, key, option):
    """Open a selectbox and pick an option (again if a rerun closed the list meanwhile)."""
    wanted = page.get_by_role("option", name=option, exact=True)
    for _ in range(3):
        wait_idle(page)
        page.locator(f".st-key-{key}").click()
        try:
            wanted.wait_for(timeout=5000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    wanted.click()
    wait_idle(page)


def train_to_the_end(page, steps, timeout=240_000):
    page.locator(".st-key-zoo-train button:visible").first.click()
    wait_idle(page)  # the new run's progress bar replaces the last run's
    expect(page.get_by_text(f"done: {steps:,} steps")).to_be_visible(timeout=timeout)
    wait_idle(page)


def test_transformer_then_gru_overlaid_with_their_views(page, app_url):
    page.goto(f"{app_url}/zoo")
    wait_idle(page)
    no_exception(page)
    set_number(page, "zoo_steps", 1000)
    train_to_the_end(page, 1000)
    expect(page.get_by_text("Each square: one head of one layer")).to_be_visible()
    no_exception(page)
    screenshot(page, "zoo-transformer")
    choose(page, "zoo_family", "GRU")
    train_to_the_end(page, 1000)
    expect(page.get_by_text("update gate z").first).to_be_attached()
    no_exception(page)
    screenshot(page, "zoo-gru-overlay")
    choose(page, "zoo_family", "Transformer (GPT-2)")
    set_number(page, "zoo_embd", 30)
    expect(page.get_by_text("must be divisible by n_head")).to_be_visible()
    screenshot(page, "zoo-bad-sizes")


def test_spanish_municipalities_at_the_sizes_extremes(page, app_url):
    page.goto(f"{app_url}/zoo?data=spanish-municipalities")
    wait_idle(page)
    no_exception(page)
    for key, value in (("zoo_layer", 1), ("zoo_head", 1), ("zoo_embd", 1)):
        set_number(page, key, value)
    set_number(page, "zoo_steps", 300)
    train_to_the_end(page, 300)
    no_exception(page)
    screenshot(page, "zoo-spanish-smallest")
    set_number(page, "zoo_block", 65)
    for key, value in (("zoo_layer", 12), ("zoo_head", 16), ("zoo_embd", 512)):
        set_number(page, key, value)
    page.locator(".st-key-zoo-train button:visible").first.click()
    wait_idle(page)
    expect(page.get_by_text("parameters").first).to_be_visible()
    no_exception(page)
    screenshot(page, "zoo-spanish-largest")


def test_an_upload_trains_an_rnn(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    words = "\n".join(["Ávila", "Peñíscola", "A Coruña", "Lleida", "Girona", "Cáceres"] * 8)
    upload(page, "pueblos.txt", words.encode())
    page.get_by_role("button", name="Switch to pueblos.txt").click()
    wait_idle(page)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Model zoo").click()
    wait_idle(page)
    expect(page.get_by_text("Model zoo: makemore.py's six families")).to_be_visible()
    choose(page, "zoo_family", "RNN")
    set_number(page, "zoo_steps", 300)
    train_to_the_end(page, 300)
    expect(page.get_by_text("hidden state h").first).to_be_attached()
    no_exception(page)
    screenshot(page, "zoo-upload-rnn")
