"""Real-browser tests: the app on a free localhost port, driven by Playwright in Debian's Chromium."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "screenshots"


def pytest_collection_modifyitems(items):
    """Mark every test in this folder e2e (a conftest's pytestmark marks nothing), and skip
    them where Chromium is missing."""
    here = Path(__file__).parent
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    for item in items:
        if Path(item.path).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)
            if not Path(CHROMIUM).exists():
                item.add_marker(skip)


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


@pytest.fixture(scope="session")
def app_url():
    yield from serve()


@pytest.fixture
def fresh_app_url():
    """A server of its own that no session has visited yet."""
    yield from serve()


def serve(with_process=False, env=None, port=None):
    """Start the app on a free localhost port (or `port`); yields its URL (and the process),
    stops it after.

    `env`: extra environment variables for the server (MAKEMORE_SLOTS=1, say).
    """
    if port is None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
        ],
        cwd=ROOT,
        env={**os.environ, "MAKEMORE_OFFLINE": os.environ.get("MAKEMORE_OFFLINE", "1"), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("streamlit did not start within 30 s")
    yield (url, proc) if with_process else url
    proc.terminate()
    proc.wait(timeout=10)


def wait_idle(page, timeout=30_000):
    """Wait until the app is connected and no script is running."""
    page.locator("[data-testid='stApp'][data-test-connection-state='CONNECTED']").wait_for(
        state="attached", timeout=timeout
    )
    page.wait_for_timeout(300)
    page.locator("[data-testid='stApp'][data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=timeout
    )
    page.get_by_test_id("stSkeleton").first.wait_for(state="detached", timeout=timeout)


def no_exception(page):
    expect(page.get_by_test_id("stException")).to_have_count(0)


def set_number(page, key, value):
    """Type a number into the number input with this key and wait for the rerun."""
    box = page.locator(f".st-key-{key} input")
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def choose_dataset(page, title):
    """Pick a dataset in Home's selectbox (Home must be the open page) and wait for the rerun."""
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=title).click()
    wait_idle(page)


def screenshot(page, name):
    """The whole page: Streamlit scrolls inside its main section, so grow the viewport to fit it."""
    SCREENSHOTS.mkdir(exist_ok=True)
    size = page.viewport_size
    height = page.evaluate(
        "Math.max(...[...document.querySelectorAll('[data-testid=stMain] *')]"
        ".slice(0, 1).map(e => e.scrollHeight), 600)"
    )
    page.set_viewport_size({"width": size["width"], "height": min(height + 50, 8000)})
    page.wait_for_timeout(500)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")
    page.set_viewport_size(size)
