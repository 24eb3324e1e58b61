"""The playground in Spanish in a real browser: a teacher's `?lang=es` link, a Spanish
browser's first visit, every page read line by line for English left."""

import re

from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, wait_idle
from tests.e2e.test_all_pages import slug
from tests.test_i18n import english_left

# Streamlit 1.67's own texts, which it cannot translate (streamlit#1353; README, Español).
STREAMLIT_OWN = re.compile(
    r"^(Upload|\d+(\.\d+)?[KMG]B per file|Drag and drop files? here|Browse files)$"
)

# What a person reads: the page without its code blocks and formulas.
READABLE_TEXT = """
(selector) => {
  const copy = document.querySelector(selector).cloneNode(true);
  copy.querySelectorAll("code, pre, .katex, [data-testid=stCode]").forEach(e => e.remove());
  document.body.appendChild(copy);
  const text = copy.innerText;
  copy.remove();
  return text;
}
"""


def english_lines(page) -> list[str]:
    lines = []
    for part in ("stSidebar", "stMain"):
        text = page.evaluate(READABLE_TEXT, f"[data-testid={part}]")
        lines += [line for line in text.splitlines() if not STREAMLIT_OWN.match(line.strip())]
    return english_left(lines)


def test_a_spanish_link_opens_every_page_in_spanish(page, fresh_app_url):
    page.goto(f"{fresh_app_url}/?lang=es&data=spanish-municipalities")
    wait_idle(page, timeout=60_000)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("V = 45")
    links = page.get_by_test_id("stSidebarNav").get_by_role("link")
    titles = [t.strip().splitlines()[-1] for t in links.all_inner_texts()]
    assert "Inicio" in titles
    left = {}
    for i, title in enumerate(titles):
        links.nth(i).click()
        wait_idle(page, timeout=60_000)
        expect(page.get_by_test_id("stException")).to_have_count(0)
        assert "lang=es" in page.url
        screenshot(page, f"es-{slug(title)}")
        if found := english_lines(page):
            left[title] = found
    assert not left, f"English left in Spanish: {left}"


def test_a_spanish_browser_opens_in_spanish_and_the_switch_goes_back(browser, fresh_app_url):
    context = browser.new_context(locale="es-ES", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(fresh_app_url)
    wait_idle(page, timeout=60_000)
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("Inicio")
    assert "lang=es" in page.url
    page.get_by_test_id("stSidebar").get_by_role("radio", name="English").click()
    wait_idle(page)
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("Home")
    assert "lang=" not in page.url
    context.close()


def test_a_link_written_in_either_language_opens_its_setting_in_the_other(browser, fresh_app_url):
    """A bound widget's URL value is the label it shows: an English link opened in Spanish
    (or a Spanish one in English) finds its setting all the same."""
    for link, lang, label in (
        ("/bigram_counts?heat_show=probabilities&lang=es", "es", "probabilidades"),
        ("/bigram_counts?heat_show=probabilidades", "en", "probabilities"),
    ):
        context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.goto(fresh_app_url + link)
        wait_idle(page, timeout=60_000)
        chosen = page.get_by_test_id("stMain").get_by_role("radio", name=label, exact=True)
        expect(chosen).to_have_attribute("aria-checked", "true")
        assert f"heat_show={label}" in page.url
        assert ("lang=es" in page.url) == (lang == "es")
        context.close()


def test_switching_language_keeps_a_finished_run_and_its_numbers(page, fresh_app_url):
    page.goto(f"{fresh_app_url}/neural_bigram?lang=es&nb_steps=30")
    wait_idle(page, timeout=60_000)
    page.get_by_role("button", name="Entrenar").click()
    expect(page.get_by_test_id("stMain")).to_contain_text("30 pasos", timeout=60_000)
    wait_idle(page)
    spanish = page.get_by_test_id("stMetric").all_inner_texts()
    page.get_by_test_id("stSidebar").get_by_role("radio", name="English").click()
    expect(page.locator("h1").first).to_have_text("Neural bigram")
    wait_idle(page)
    english = page.get_by_test_id("stMetric").all_inner_texts()
    assert [m.split()[-1] for m in english] == [m.split()[-1] for m in spanish]  # the same run
    assert english[0].startswith("Loss")
    assert spanish[0].startswith("Pérdida")
