"""The session's dataset and the cached engine calls every page shares.

Datasets and their tensors are cached once for the whole server and treated as
read-only; whatever a student changes (their choice, their uploads) lives in
st.session_state and is seen by nobody else.
"""

from __future__ import annotations

import streamlit as st

from engine import data, wordfile

UPLOAD_PREFIX = "upload:"


@st.cache_resource(max_entries=16, show_spinner="Loading the dataset…")
def builtin_dataset(key: str, norm: data.Normalization) -> data.Dataset:
    return data.load_builtin(key, norm)


@st.cache_resource(ttl=600, show_spinner="Looking for makemore's names.txt…")
def names_available() -> str | None:
    """None if names.txt is here (downloading it once if needed), else why not. Retried every 10 min."""
    try:
        data.names_txt()
    except data.DatasetError as e:
        return str(e)
    return None


@st.cache_data(max_entries=32, show_spinner=False)
def read_upload(content: bytes, name: str, column: int | None = None) -> wordfile.WordFile:
    return wordfile.read(content, name, column)


@st.cache_data(max_entries=32, show_spinner=False)
def uploaded_dataset(
    content: bytes, name: str, norm: data.Normalization, column: int | None = None
) -> data.Dataset:
    return wordfile.to_dataset(read_upload(content, name, column), norm)


@st.cache_resource(max_entries=16, show_spinner="Building the training examples…")
def splits(fingerprint: str, block_size: int, shuffles: int, _ds: data.Dataset) -> data.Splits:
    """Train/dev/test tensors, keyed by the dataset's fingerprint (shared, read-only)."""
    return data.make_splits(_ds, block_size, shuffles)


def default_source() -> str:
    return "names" if names_available() is None else data.DEFAULT_OFFLINE


def load(source: str, norm: data.Normalization) -> data.Dataset:
    """A built-in by key or one of this session's uploads; raises DatasetError."""
    if source.startswith(UPLOAD_PREFIX):
        name = source.removeprefix(UPLOAD_PREFIX)
        content, column = st.session_state.uploads[name]
        return uploaded_dataset(content, name, norm, column)
    if source == "names" and (why := names_available()) is not None:
        raise data.DatasetError(why)
    return builtin_dataset(source, norm)


def leave_legacy_navigation() -> None:
    """Make sure app.py's st.navigation is in charge, even on a deep link.

    Streamlit treats a folder named pages/ as its legacy multipage layout until some
    session has run st.navigation: the first visit of a fresh server straight to, say,
    /mlp would run that page without app.py and show the legacy sidebar. On a session's
    first run, switch the server to st.navigation and rerun: app.py runs, then this page.
    (Streamlit's AppTest resets the flag before every run; later runs are left alone so
    that no widget event is lost to the rerun.)
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def init() -> None:
    """Give a new session its dataset: names.txt when it is here, else the bundled default."""
    ss = st.session_state
    ss.setdefault("uploads", {})
    if "dataset" not in ss:
        leave_legacy_navigation()
        source = default_source()
        ss.ds_source, ss.ds_norm = source, data.BUILTINS[source].normalization
        ss.dataset = load(source, ss.ds_norm)


def dataset() -> data.Dataset:
    init()
    return st.session_state.dataset


def select(source: str, norm: data.Normalization) -> str | None:
    """Switch the session to another dataset. On failure keep the current one and say why."""
    try:
        ds = load(source, norm)
    except data.DatasetError as e:
        return str(e)
    st.session_state.update(dataset=ds, ds_source=source, ds_norm=norm)
    return None


def md_escape(text: str) -> str:
    """User text (file names, words) shown inside Markdown, as plain text."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|~$" else c for c in text)


def source_label(source: str) -> str:
    if source.startswith(UPLOAD_PREFIX):
        return f"{source.removeprefix(UPLOAD_PREFIX)} (your upload)"
    return data.BUILTINS[source].title


def sources() -> list[str]:
    return [*data.BUILTINS, *(UPLOAD_PREFIX + n for n in st.session_state.uploads)]
