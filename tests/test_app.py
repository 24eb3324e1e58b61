"""The app shell and Home page, driven through Streamlit's AppTest like a person would."""

from pathlib import Path

import pytest

from tests.apptest import ROOT, app, metrics
from tests.conftest import needs_names
from ui import state

PAGES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "pages").glob("*/*.py"))
# Every address a page has had since the first release: links shared with a class.
URL_PATHS = {
    "": "pages/start/home.py",
    "micrograd": "pages/micrograd/micrograd.py",
    "bigram_counts": "pages/part1_bigrams/counts.py",
    "smoothing": "pages/part1_bigrams/smoothing.py",
    "bigram_sampling": "pages/part1_bigrams/sampling.py",
    "neural_bigram": "pages/part1_bigrams/neural_bigram.py",
    "ngram_exercises": "pages/part1_bigrams/exercises.py",
    "mlp": "pages/part2_mlp/trainer.py",
    "lr_finder": "pages/part2_mlp/lr_finder.py",
    "embeddings": "pages/part2_mlp/embeddings.py",
    "init_explorer": "pages/part3_bn/init.py",
    "batchnorm": "pages/part3_bn/batchnorm.py",
    "diagnostics": "pages/part3_bn/diagnostics.py",
    "backprop": "pages/part4_backprop/ninja.py",
    "wavenet": "pages/part5_wavenet/wavenet.py",
    "compare": "pages/classroom/compare.py",
    "zoo": "pages/zoo/zoo.py",
}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_an_exception(page):
    at = app()
    at.switch_page(page).run()
    assert not at.exception, at.exception


def test_every_page_keeps_its_old_address():
    at = app()
    registered = {
        info["url_pathname"]: str(Path(info["script_path"]).relative_to(ROOT))
        for info in at._registered_pages.values()
    }
    assert registered == URL_PATHS
    assert sorted(URL_PATHS.values()) == PAGES


def test_no_page_script_sits_at_the_top_of_pages():
    """Streamlit 1.67 would run a top-level pages/*.py without app.py (its legacy layout)."""
    assert list((ROOT / "pages").glob("*.py")) == []


@needs_names
def test_home_opens_on_makemore_names():
    at = app()
    assert metrics(at)["Words"] == "32,033"
    assert metrics(at)["Vocabulary size V"] == "27"
    assert r"names \(makemore\)" in at.sidebar.caption[0].value
    assert any("**Examples** (20 words)" in m.value for m in at.markdown)
    examples = at.code[-1].value  # the words in one line, not a table with a blank header
    assert len(examples.split("\u00a0·  ")) == 20


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
    at.switch_page("pages/start/home.py").run()
    assert metrics(at)["Words"] == "5,163"
    assert at.session_state.dataset.name == "us-census-1990"


def upload(at, name, content):
    at.file_uploader[0].upload(name, content, "text/plain").run()
    return at


def test_upload_is_previewed_then_becomes_the_dataset_and_a_bad_upload_loses_nothing():
    at = upload(app(), "pueblos.txt", "Ávila\nPeñíscola\nA Coruña\n\nÁvila\n".encode("cp1252"))
    shown = metrics(at)
    assert (shown["words kept"], shown["of which repeats"], shown["dropped"]) == ("4", "1", "1")
    assert "Windows-1252" in at.markdown[-1].value or any(
        "Windows-1252" in m.value for m in at.markdown
    )
    assert at.session_state.dataset.name != "pueblos.txt"  # nothing changes before the switch
    next(b for b in at.button if b.label.startswith("Switch to")).click().run()
    assert at.session_state.dataset.name == "pueblos.txt"
    assert metrics(at)["Words"] == "4"
    assert "ñ" in at.session_state.dataset.chars
    for name, content, message in [
        ("x.bin", b"\x00\x01\x02\x03", "binary"),
        ("empty.txt", b"\n\n", "empty"),
    ]:
        upload(at, name, content)
        assert message in at.error[0].value
        assert "unchanged" in at.error[0].value
        assert metrics(at)["Words"] == "4"
        assert at.session_state.dataset.name == "pueblos.txt"
    assert not at.exception


def test_csv_upload_lets_the_user_choose_the_column():
    at = upload(
        app(), "m.csv", "provincia;nombre\nÁlava;Amurrio\nÁvila;Arévalo\nLugo;Lugo\n".encode()
    )
    assert at.selectbox(key="home_column:m.csv").value == 1
    (kept,) = [d.value for d in at.dataframe if "first words kept" in d.value]
    assert kept["first words kept"].tolist()[:2] == ["amurrio", "arévalo"]
    at.selectbox(key="home_column:m.csv").set_value(0).run()
    assert any("álava" in str(d.value) for d in at.dataframe)


def test_uploaded_markup_stays_plain_text():
    at = upload(app(), "**x**.txt", b"<b>bold</b>\n**star**\n")
    next(b for b in at.button if b.label.startswith("Switch to")).click().run()
    assert not at.exception
    assert at.session_state.dataset.words == ("<b>bold</b>", "**star**")
    assert any(r"\*\*x\*\*" in m.value for m in at.markdown)


def test_user_text_is_shown_as_plain_text():
    assert state.md_escape("**bold** <b>x</b>") == r"\*\*bold\*\* \<b\>x\</b\>"


# --- Home in Spanish ------------------------------------------------------------------------


def english_outside_charts(at) -> list[str]:
    """English left on the page but in its charts (ui/charts.py's, which every page's
    Spanish test in tests/test_i18n.py reads): what the states below add."""
    from tests.apptest import charts, spec
    from tests.test_i18n import _chart_texts, _legend_labels, english_left, shown

    drawn = {text for c in charts(at) for text in (*_chart_texts(spec(c)), *_legend_labels(c))}
    return [text for text in english_left(shown(at)) if text not in drawn]


def test_home_in_spanish_previews_an_upload_switches_to_it_and_explains_a_bad_one():
    at = app(lang="es")
    at = upload(at, "pueblos.txt", "Ávila\nPeñíscola\nA Coruña\n\nÁvila\n".encode("cp1252"))
    assert not at.exception
    said = metrics(at)
    assert (said["palabras conservadas"], said["de ellas, repetidas"]) == ("4", "1")
    assert any("descartadas 1 × línea vacía" in c.value for c in at.caption)
    assert not english_outside_charts(at), english_outside_charts(at)
    next(b for b in at.button if b.label.startswith("Cambiar a")).click().run()
    assert at.session_state.dataset.name == "pueblos.txt"
    assert any("es privada" in c.value for c in at.caption)  # the upload is private
    assert not english_outside_charts(at), english_outside_charts(at)
    upload(at, "x.bin", b"\x00\x01\x02\x03")
    assert "parece un archivo binario" in at.error[0].value
    assert "no cambia" in at.error[0].value
    assert not english_outside_charts(at), english_outside_charts(at)


def test_a_link_to_an_unknown_dataset_is_explained_in_spanish():
    from tests.apptest import session

    at = session()
    at.query_params["lang"] = "es"
    at.query_params["data"] = "nope"
    at.run()
    assert not at.exception
    said = at.error[0].value
    assert said.startswith("No se ha podido abrir el conjunto de datos del enlace")
    assert "No hay ningún conjunto de datos 'nope'" in said


def test_a_links_bad_values_are_explained_in_spanish():
    from tests.apptest import session

    at = session()
    for k, v in {"lang": "es", "n_embd": "999999", "direct": "maybe"}.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/part2_mlp/trainer.py").run()
    assert not at.exception
    (said,) = [w.value for w in at.warning if "en su lugar" in w.value]
    assert said.startswith("Hay valores de este enlace que no se han podido usar:")
    assert "admite números enteros de 1 a 64; se ha usado `10` en su lugar." in said
    assert "admite `true` o `false`" in said
    assert said.endswith("Todo lo demás del enlace se aplica.")
