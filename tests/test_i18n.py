"""English and Español: the catalogues are complete, and a Spanish page shows no English.

The English text in the code is the message; ui/locales/es.po translates every one
(scripts/messages.py lists them). A page opened in Spanish is read the way a student would
read it, every text it shows (titles, paragraphs, captions, labels, help, options, metric
labels, table headers, chart titles, axes and legends), and fails on English left.
"""

from __future__ import annotations

import json
import re
import string

import pytest
from google.protobuf.message import Message

from scripts import messages
from tests.apptest import datasets, page, session, spec
from tests.conftest import needs_names
from tests.test_app import PAGES
from ui import i18n

# English words that no Spanish sentence uses: one of them in a Spanish text is English left.
ENGLISH = re.compile(
    r"\b(the|and|with|of|is|are|you|your|this|that|these|those|to|from|for|each|every|which|"
    r"when|what|how|it|its|be|by|or|on|in|an|at|has|have|was|will|can|than|then|there|their|"
    r"here|not|only|more|most|per|into|after|before|about|shows?|click|press|train|trains|"
    r"trained|training|step|steps|loss|words?|runs?|dataset)\b",
    re.IGNORECASE,
)
# Texts inside these are code, maths or data, the same in every language.
VERBATIM = re.compile(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$|https?://\S+|\]\([^)]*\)", re.S)
# Proto fields that hold no text a person reads.
NOT_TEXT = {
    "id", "form_id", "key", "spec", "data", "default", "value", "url", "page_script_hash",
    "icon", "css", "theme", "type", "format", "script_path", "url_pathname", "vega_lite_theme",
    "selection_mode", "body_html", "source", "tag", "query_param_key",
}  # fmt: skip


def catalogue_ids(path) -> dict:
    return {m.id: m for m in messages.read(path) if m.id}


def test_every_message_is_in_every_catalogue_and_every_entry_is_used():
    used = messages.messages()
    assert used, "no t()/tn()/msg() calls found"
    for path in messages.CATALOGUES:
        ids = set(catalogue_ids(path))
        missing = {m: used[m][0] for m in set(used) - ids}
        assert not missing, f"{path.name} lacks (run scripts/messages.py): {missing}"
        assert not ids - set(used), f"{path.name} has unused messages: {ids - set(used)}"


def test_no_message_is_both_one_text_and_the_singular_of_a_plural():
    """gettext files key a plural by its singular: t("new") and tn("new", ...) would collide."""
    used = messages.messages()
    singulars = {m[0] for m in used if isinstance(m, tuple)}
    assert not singulars & {m for m in used if isinstance(m, str)}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


@pytest.mark.parametrize("path", messages.CATALOGUES, ids=lambda p: p.name)
def test_every_message_is_translated_with_the_same_placeholders(path):
    for msgid, m in catalogue_ids(path).items():
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        assert all(strings), f"{path.name}: no translation for {msgid!r}"
        assert not m.fuzzy, f"{path.name}: fuzzy (unchecked) translation for {msgid!r}"
        for english, translated in zip(ids * len(strings), strings, strict=False):
            assert placeholders(translated) <= placeholders(english) | {"n"}, (msgid, translated)
            assert placeholders(english) - {"n"} <= placeholders(translated), (msgid, translated)


def test_messages_are_literals_so_the_catalogue_can_be_read_from_the_code():
    """t(f"...") would look up the filled-in text, never found in a catalogue."""
    import ast

    for path in messages.files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and messages._name(node.func) in {"t", "tn", "msg"}:
                first = node.args[0] if node.args else None
                assert not isinstance(first, ast.JoinedStr), f"{path}:{node.lineno}: an f-string"


def test_a_translation_with_broken_placeholders_falls_back_to_english(monkeypatch):
    monkeypatch.setitem(i18n.catalogue("es"), "{n} words", "{m} palabras")
    monkeypatch.setattr(i18n, "language", lambda: "es")
    assert i18n.t("{n} words", n=3) == "3 words"


def test_an_engine_sentence_is_translated_with_its_values(monkeypatch):
    from engine.messages import msg

    monkeypatch.setitem(i18n.catalogue("es"), "Train for {n:,} steps.", "Entrena {n:,} pasos.")
    monkeypatch.setattr(i18n, "language", lambda: "es")
    error = ValueError(msg("Train for {n:,} steps.", n=3000))
    assert str(error) == "Train for 3,000 steps."  # the engine, the CLI and the logs: English
    assert i18n.tr(error) == "Entrena 3,000 pasos."


# --- what a page shows ---------------------------------------------------------------------


def _strings(message: Message):
    for field, value in message.ListFields():
        if field.name in NOT_TEXT:
            continue
        values = value if field.is_repeated else [value]
        for v in values:
            if isinstance(v, Message):
                yield from _strings(v)
            elif field.name == "columns" and v.startswith("{"):  # a table's column_config
                for column in json.loads(v).values():
                    yield from (column.get(k) or "" for k in ("label", "help"))
            elif isinstance(v, str):
                yield v


def _chart_texts(s: dict):
    """A Vega-Lite spec's titles, axis and legend titles and tooltips' labels (a field with
    no title shows its name), wherever they nest."""
    for key, value in s.items():
        if key == "title" and value is not None:  # None: no title drawn
            text = value.get("text", "") if isinstance(value, dict) else value
            yield from ([text] if isinstance(text, str) else text or [])  # None: no title
        if isinstance(value, dict):
            yield from _chart_texts(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    yield from _chart_texts(item)
    hidden = s.get("legend", 1) is None or s.get("axis", 1) is None
    if isinstance(s.get("field"), str) and "title" not in s and not hidden:
        yield s["field"]


def _legend_labels(chart):
    """The values a chart's colour legend lists: text from its data, such as 'train'."""
    specs = [spec(chart)]
    fields = set()
    while specs:
        s = specs.pop()
        specs += [v for v in s.values() if isinstance(v, dict)]
        specs += [i for v in s.values() if isinstance(v, list) for i in v if isinstance(i, dict)]
        for channel in ("color", "strokeDash", "shape"):
            enc = s.get("encoding", {}).get(channel, {})
            if isinstance(enc.get("field"), str) and enc.get("legend", 1) is not None:
                fields.add(enc["field"])
    for df in datasets(chart).values():
        for field in fields & set(df.columns):
            yield from (str(v) for v in df[field].unique()[:50])


def shown(at) -> list[str]:
    """Every text the page shows a person, in document order (code blocks left out)."""
    texts = []

    def walk(node):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if kind == "vega_lite_chart":
            texts.extend(_chart_texts(spec(node)))
            texts.extend(_legend_labels(node))
        elif proto is not None and kind not in {"code", "latex", "json", "html"}:  # html: styles
            texts.extend(_strings(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return [text for text in texts if text.strip()]


def english_left(texts: list[str]) -> list[str]:
    return [t for t in texts if ENGLISH.search(VERBATIM.sub(" ", t))]


def test_the_check_sees_english():
    at = page("pages/part1_bigrams/counts.py", "spanish-municipalities")
    assert english_left(shown(at))  # English pages are English: the check can fail


@pytest.mark.parametrize(
    "dataset", ["spanish-municipalities", pytest.param("names", marks=needs_names)]
)
@pytest.mark.parametrize("path", PAGES)
def test_every_page_in_spanish_shows_no_english(path, dataset):
    """On any data, and on the lectures' names, where pages add the lectures' own rows."""
    at = page(path, dataset, lang="es")
    left = english_left(shown(at))
    assert not left, f"{path}: English left in Spanish:\n" + "\n".join(map(repr, left))


def test_a_lang_link_opens_in_spanish_and_the_switch_keeps_dataset_and_settings():
    at = session()
    at.query_params["lang"] = "es"
    at.run()
    assert at.session_state["lang"] == "es"
    assert at.sidebar.caption[0].value.startswith("Datos:")
    at.selectbox[0].select("spanish-municipalities").run()  # Home's dataset
    at.switch_page("pages/part1_bigrams/smoothing.py").run()
    at.select_slider(key="smooth_k").set_value(10).run()
    at.button_group(key="lang").set_value("en").run()  # the sidebar's switch
    assert not at.exception
    assert at.sidebar.caption[0].value.startswith("Dataset:")
    assert at.session_state["ds_source"] == "spanish-municipalities"
    assert at.select_slider(key="smooth_k").value == 10
    assert "lang" not in at.query_params
    at.button_group(key="lang").set_value("es").run()
    assert at.query_params["lang"] == "es"  # the address is a link to the Spanish page


def test_the_browser_language_decides_a_first_visit(monkeypatch):
    from streamlit.runtime import context

    monkeypatch.setattr(context.ContextProxy, "locale", property(lambda self: "es-ES"))
    at = session().run()
    assert at.session_state["lang"] == "es"
    assert at.query_params["lang"] == "es"
