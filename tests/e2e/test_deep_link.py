"""A shared link to a lesson page works even as the very first visit of a fresh server, and
every address a page has had still opens it."""

import re

import pytest
from playwright.sync_api import expect

from tests.apptest import ROOT
from tests.e2e.conftest import wait_idle
from tests.test_app import URL_PATHS


def test_first_visit_by_deep_link_gets_the_apps_navigation(page, fresh_app_url):
    page.goto(f"{fresh_app_url}/lr_finder")
    wait_idle(page)
    expect(page.get_by_role("heading", name="Learning-rate finder")).to_be_visible()
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("MLP trainer")).to_be_visible()
    expect(nav.get_by_role("link", name="Home")).to_be_visible()
    expect(nav.get_by_role("link", name="app", exact=True)).to_have_count(
        0
    )  # not the legacy listing


@pytest.mark.parametrize("url_path", sorted(URL_PATHS))
def test_every_old_address_opens_its_page(page, app_url, url_path):
    """Each address a page has ever had (tests/test_app.py's URL_PATHS) opens that page:
    its title on top, its entry in the sidebar marked as the current page."""
    script = URL_PATHS[url_path]
    title = re.search(r'st\.title\((?:t\()?"([^"]+)"', (ROOT / script).read_text())[1]
    page.goto(f"{app_url}/{url_path}")
    wait_idle(page, timeout=60_000)
    expect(page.get_by_role("heading", level=1, name=title)).to_be_visible()
    current = page.get_by_test_id("stSidebarNav").locator("[aria-current='page']")
    expect(current).to_have_attribute("href", f"{app_url}/{url_path}")
    expect(page.get_by_test_id("stException")).to_have_count(0)
