"""The app shell and Home page, driven through Streamlit's AppTest like a person would."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import needs_names
from ui import state

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))


def app(**session):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for k, v in session.items():
        at.session_state[k] = v
    return at.run()


def metrics(at):
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_an_exception(page):
    at = app()
    at.switch_page(page).run()
    assert not at.exception, at.exception


@needs_names
def test_home_opens_on_makemore_names():
    at = app()
    assert metrics(at)["Words"] == "32,033"
    assert metrics(at)["Vocabulary size V"] == "27"
    assert r"names \(makemore\)" in at.sidebar.caption[0].value


def test_without_names_txt_the_app_says_so_and_uses_the_census_names(tmp_path, monkeypatch):
    monkeypatch.setenv("MAKEMORE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MAKEMORE_OFFLINE", "1")
    state.names_available.clear()
    try:
        at = app()
        assert not at.exception
        assert metrics(at)["Words"] == "5,163"
        assert any("names.txt is not available" in i.value for i in at.info)
        at.selectbox[0].select("names").run()  # choosing it anyway explains and keeps the data
        assert at.error
        assert "still working on" in at.error[0].value
        assert metrics(at)["Words"] == "5,163"
    finally:
        state.names_available.clear()


def test_switching_to_spanish_municipalities_and_its_normalisation():
    at = app()
    at.selectbox[0].select("spanish-municipalities").run()
    assert metrics(at)["Vocabulary size V"] == "45"
    split_toggle = at.toggle[2]
    assert split_toggle.value  # on by default for this dataset
    split_toggle.set_value(False).run()
    assert metrics(at)["Words"] == "8,133"
    at.toggle[1].set_value(True).run()  # strip accents
    assert int(metrics(at)["Vocabulary size V"]) < 45
    assert not at.exception


def test_dataset_choice_survives_a_page_switch():
    at = app()
    at.selectbox[0].select("us-census-1990").run()
    for page in PAGES:
        at.switch_page(page).run()
    at.switch_page("pages/home.py").run()
    assert metrics(at)["Words"] == "5,163"
    assert at.session_state.dataset.name == "us-census-1990"


def test_upload_becomes_the_dataset_and_a_bad_upload_loses_nothing():
    at = app()
    at.file_uploader[0].upload(
        "pueblos.txt", "Ávila\nPeñíscola\nA Coruña\n".encode(), "text/plain"
    ).run()
    assert metrics(at)["Words"] == "3"
    assert "ñ" in at.session_state.dataset.chars
    at.file_uploader[0].upload("x.bin", b"\x00\x01\x02", "application/octet-stream").run()
    assert "binary" in at.error[0].value
    assert "unchanged" in at.error[0].value
    assert metrics(at)["Words"] == "3"
    at.file_uploader[0].upload("latin.txt", "Ávila".encode("latin-1"), "text/plain").run()
    assert "UTF" in at.error[0].value
    assert metrics(at)["Words"] == "3"
    assert not at.exception


def test_user_text_is_shown_as_plain_text():
    assert state.md_escape("**bold** <b>x</b>") == r"\*\*bold\*\* \<b\>x\</b\>"
