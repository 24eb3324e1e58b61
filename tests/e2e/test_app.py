"""The app as a person uses it, in a real browser."""

from playwright.sync_api import expect

from tests.e2e.conftest import choose_dataset, screenshot, wait_idle


def test_home_shows_a_dataset_and_switches_to_spanish(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    expect(page.get_by_text("makemore playground").first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(2)
    screenshot(page, "home")

    choose_dataset(page, "Spanish municipalities (INE)")
    expect(page.get_by_test_id("stMetric").nth(2)).to_contain_text("45")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "home-spanish")


def upload(page, name, content):
    with page.expect_file_chooser() as fc:
        page.get_by_test_id("stFileUploaderDropzone").click()
    fc.value.set_files(files=[{"name": name, "mimeType": "text/plain", "buffer": content}])
    wait_idle(page)


def test_upload_preview_switch_then_a_bad_file_keeps_the_good_one(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    upload(page, "pueblos.txt", "Ávila\nPeñíscola\nA Coruña\n<b>x</b>\n".encode("utf-16"))
    expect(page.get_by_text("Preview of pueblos.txt")).to_be_visible()
    expect(page.get_by_text("UTF-16", exact=False).first).to_be_visible()
    screenshot(page, "home-upload-preview")
    page.get_by_role("button", name="Switch to pueblos.txt").click()
    wait_idle(page)
    expect(page.get_by_text("You are working on pueblos.txt.")).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_contain_text("pueblos.txt")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("4 words")

    upload(page, "x.bin", b"\x00\x01\x02\x03")
    expect(page.get_by_text("looks like a binary file")).to_be_visible()
    expect(page.get_by_test_id("stSidebar")).to_contain_text("pueblos.txt")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "home-bad-upload")


def test_moving_the_smoothing_slider_changes_the_loss_and_the_link(page, app_url):
    page.goto(f"{app_url}/smoothing")
    wait_idle(page)
    train = page.get_by_test_id("stMetric").first
    before = train.inner_text()
    page.locator(".st-key-smooth_k").get_by_role("slider").first.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    wait_idle(page)
    expect(train).not_to_have_text(before)
    assert "smooth_k=" in page.url  # the setting travels in the link
    shared = page.url
    page.goto(shared)  # a classmate opens the same link
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").first).not_to_have_text(before)
