"""A shared link to a lesson page works even as the very first visit of a fresh server."""

from playwright.sync_api import expect

from tests.e2e.conftest import wait_idle


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
