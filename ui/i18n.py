"""Every text the app shows, in the session's language: English or Español.

The English text in the code is the message (gettext's msgid), so a page reads as what it
shows; ui/locales/es.po is the Spanish catalogue (gettext's format, read with Babel:
the format translators' tools such as Poedit and Weblate edit), loaded once per process.

    st.title(t("Bigram counts"))
    st.caption(t("{n:,} words", n=len(words)))
    tn("{n} run", "{n} runs", n)                 # one and many
    ENGINES = {"counts": N_("counts")}           # marked here, translated where shown: t(x)
    st.error(tr(error))                          # an engine sentence (engine.messages.msg)

The language belongs to the session (never process-wide, as gettext.install would be): the
sidebar's switch, a link's `lang=es`, or on a first visit the browser's language. Numbers
keep the lecture's decimal point (0.5, 3,000) so that they compare with the videos.
tests/test_i18n.py fails on a message missing from a catalogue or no longer used, and on a
Spanish page that still shows English.
"""

from __future__ import annotations

import functools
from pathlib import Path

import streamlit as st
from babel.messages.pofile import read_po
from streamlit.runtime.state.session_state_proxy import get_session_state

from engine.messages import Text

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
KEY = "lang"  # session state and the URL parameter
_URL = "_lang_url"  # session state: the `lang` this session last wrote into the URL
LOCALES = Path(__file__).with_name("locales")
LABEL = ":material/translate: Idioma · Language"  # in both: found by whoever needs it
NOT_LABELS = {KEY, "data", "norm", "present", "hide", "zoom"}  # ui.links, ui.present: no labels


@functools.cache
def catalogue(lang: str) -> dict:
    """msgid (or (singular, plural)) -> translation, from ui/locales/<lang>.po; {} for English."""
    if lang == DEFAULT:
        return {}
    with open(LOCALES / f"{lang}.po", "rb") as f:
        po = read_po(f)
    return {m.id: m.string for m in po if m.id and m.string and not m.fuzzy}


@functools.cache
def english(lang: str) -> dict[str, str]:
    """A translation in `lang` -> its English message (one-line messages: labels)."""
    return {
        text: msgid
        for msgid, text in catalogue(lang).items()
        if isinstance(msgid, str) and "\n" not in msgid
    }


def language() -> str:
    """This session's language ('en' outside a session: the CLI, the server's lifespan)."""
    try:
        lang = st.session_state.get(KEY)
    except Exception:  # no script run context
        return DEFAULT
    return lang if lang in LANGUAGES else DEFAULT


def _fill(text: str, english: str, values: dict) -> str:
    if not values:
        return text
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):  # a broken translation: the English, not a crash
        return english.format(**values)


def t(text: str, /, **values) -> str:
    """`text` in this session's language, its {placeholders} filled from `values`."""
    return _fill(catalogue(language()).get(text, text), text, values)


def tn(singular: str, plural: str, n: int, /, **values) -> str:
    """The singular or the plural (n == 1 or not, in both languages); {n} is n."""
    values.setdefault("n", n)
    english = singular if n == 1 else plural
    found = catalogue(language()).get((singular, plural))
    text = found[0 if n == 1 else 1] if found and all(found) else english
    return _fill(text, english, values)


def N_(text: str) -> str:
    """Mark a text for the catalogue where it is defined; translate it with t() where shown."""
    return text


def tr(message) -> str:
    """An engine's sentence (engine.messages.Text, also inside an exception) in this
    session's language; any other str as it is."""
    if isinstance(message, BaseException):
        message = message.args[0] if len(message.args) == 1 else str(message)
    if isinstance(message, Text):
        values = {k: tr(v) if isinstance(v, Text) else v for k, v in message.values.items()}
        return t(message.template, **values)
    return message if isinstance(message, str) else str(message)


def choose() -> None:
    """The sidebar's language switch, and the URL's `lang` kept in step with it.

    A `lang` the session did not write itself is a link being opened: it switches. A session's
    first run without one takes the browser's language. English stays out of the URL."""
    ss, qp = st.session_state, st.query_params
    url = qp.get(KEY)
    if url in LANGUAGES and url != ss.get(_URL):
        ss[KEY] = url
    elif ss.get(KEY) not in LANGUAGES:
        browser = (st.context.locale or "").lower().split("-")[0]
        ss[KEY] = browser if browser in LANGUAGES else DEFAULT
    st.sidebar.segmented_control(
        LABEL,
        list(LANGUAGES),
        format_func=LANGUAGES.get,
        required=True,
        key=KEY,
        width="stretch",
    )
    lang = ss[KEY]
    if lang == DEFAULT:
        qp.pop(KEY, None)
    elif url != lang:
        qp[KEY] = lang
    ss[_URL] = None if lang == DEFAULT else lang


def follow_link(page) -> None:
    """Open `page` again with the link's choices in this session's language, where some are
    written in another: before any widget reads them (app.py's router, after st.navigation).

    A widget bound to the URL writes the label it shows there (a selectbox's formatted
    option, a tab's name), so a Spanish link reads `heat_show=probabilidades`: opened in
    English, or an English link opened in Spanish, or the address bar after a switch, the
    widget would not find its value in its options. A parameter a widget of this session
    binds already cannot be set, and needs not be: after a switch the address bar keeps the
    other language's labels until the page is reloaded, whose first run rewrites them.
    """
    qp = st.query_params
    link = {key: qp.get_all(key) for key in qp}
    shown = {
        key: [t(_message(v)) if key not in NOT_LABELS and _message(v) else v for v in values]
        for key, values in link.items()
    }
    changed = {key for key in link if shown[key] != link[key]}
    with get_session_state().query_params() as state:
        bound = {key for key in changed if state.is_bound(key)}
    if changed and not bound:  # bound: its widget already holds its value (a switch)
        st.switch_page(page, query_params={k: v if len(v) > 1 else v[0] for k, v in shown.items()})


def _message(label: str) -> str | None:
    """The English message whose label this is, in any language; None for other values."""
    for lang in LANGUAGES:
        if label in english(lang):
            return english(lang)[label]
        if label in catalogue(lang):
            return label
    return None
