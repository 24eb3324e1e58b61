"""Every page of the navigation opens in a real browser without an exception, on two datasets."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import choose_dataset, screenshot, wait_idle


def slug(text):
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def visit_every_page(page, prefix):
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    titles = [t.strip().splitlines()[-1] for t in links.all_inner_texts()]  # after the icon name
    assert len(titles) >= 8
    for i, title in enumerate(titles):
        links.nth(i).click()
        wait_idle(page, timeout=60_000)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        expect(page.get_by_test_id("stMain")).not_to_contain_text("Traceback")
        screenshot(page, f"{prefix}-{slug(title)}")
    return titles


def test_every_page_on_names_then_on_spanish_municipalities(page, app_url):
    page.goto(app_url)
    wait_idle(page)
    titles = visit_every_page(page, "page")
    assert "Home" in titles

    page.get_by_test_id("stSidebarNav").get_by_role("link").first.click()
    wait_idle(page)
    choose_dataset(page, "Spanish municipalities (INE)")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("V = 45")
    visit_every_page(page, "spanish")
