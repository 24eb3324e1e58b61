"""The app as a person uses it, in a real browser."""

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, wait_idle


def test_home_shows_a_dataset_and_switches_to_spanish(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    expect(page.get_by_text("makemore playground").first).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stVegaLiteChart")).to_have_count(2)
    screenshot(page, "home")

    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="Spanish municipalities (INE)").click()
    wait_idle(page)
    expect(page.get_by_test_id("stMetric").nth(2)).to_contain_text("45")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "home-spanish")


def test_upload_good_then_bad_file_keeps_the_good_one(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    with page.expect_file_chooser() as fc:
        page.get_by_test_id("stFileUploaderDropzone").click()
    fc.value.set_files(
        files=[
            {
                "name": "mine.txt",
                "mimeType": "text/plain",
                "buffer": "José\nMaría\nÁvila\n".encode(),
            }
        ]
    )
    wait_idle(page)
    expect(page.get_by_text("Switched to your upload mine.txt.")).to_be_visible()
    expect(page.get_by_test_id("stMetric").first).to_contain_text("3")

    with page.expect_file_chooser() as fc:
        page.get_by_test_id("stFileUploaderDropzone").click()
    fc.value.set_files(files=[{"name": "x.bin", "mimeType": "text/plain", "buffer": b"\x00\x01"}])
    wait_idle(page)
    expect(page.get_by_text("looks like a binary file")).to_be_visible()
    expect(page.get_by_test_id("stMetric").first).to_contain_text("3")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "home-bad-upload")
