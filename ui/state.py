"""The session's dataset and the cached engine calls every page shares.

Datasets and their tensors are cached once for the whole server and treated as
read-only; whatever a student changes (their choice, their uploads) lives in
st.session_state and is seen by nobody else. An upload leaves its session only when
its owner shares it (ui.links.share_upload): then a link with its random token opens it.
"""

from __future__ import annotations

import contextlib

import streamlit as st

from engine import data, wordfile
from ui.i18n import N_, t, tr

UPLOAD_PREFIX = "upload:"


class Spinner(str):
    """A cached function's spinner text, shown in the session's language: Streamlit reads
    a `show_spinner` text with str() as the spinner appears (on a cache miss only)."""

    def __str__(self) -> str:
        return t(str.__str__(self))


def message_of(error: Exception) -> str:
    """An error's message as the engine wrote it (an engine.messages sentence stays one,
    so that ui.i18n.tr can show it in the session's language)."""
    return error.args[0] if len(error.args) == 1 and isinstance(error.args[0], str) else str(error)


@st.cache_resource(max_entries=16, show_spinner=Spinner(N_("Loading the dataset…")))
def builtin_dataset(key: str, norm: data.Normalization) -> data.Dataset:
    return data.load_builtin(key, norm)


@st.cache_resource(ttl=600, show_spinner=Spinner(N_("Looking for makemore's names.txt…")))
def names_available() -> str | None:
    """None if names.txt is here (downloading it once if needed), else why not. Retried every 10 min."""
    try:
        data.names_txt()
    except data.DatasetError as e:
        return message_of(e)
    return None


@st.cache_data(max_entries=32, show_spinner=False)
def read_upload(content: bytes, name: str, column: int | None = None) -> wordfile.WordFile:
    return wordfile.read(content, name, column)


@st.cache_data(max_entries=32, show_spinner=False)
def uploaded_dataset(
    content: bytes, name: str, norm: data.Normalization, column: int | None = None
) -> data.Dataset:
    return wordfile.to_dataset(read_upload(content, name, column), norm)


@st.cache_resource(max_entries=16, show_spinner=Spinner(N_("Building the training examples…")))
def splits(fingerprint: str, block_size: int, shuffles: int, _ds: data.Dataset) -> data.Splits:
    """Train/dev/test tensors, keyed by the dataset's fingerprint (shared, read-only)."""
    return data.make_splits(_ds, block_size, shuffles)


def default_source() -> str:
    return "names" if names_available() is None else data.DEFAULT_OFFLINE


def warm_up() -> None:
    """Once per server, before the first visitor: load the default dataset, so the first
    students' pages do not wait for it (and, meanwhile, for each other)."""
    source = default_source()
    with contextlib.suppress(data.DatasetError):
        builtin_dataset(source, data.BUILTINS[source].normalization)


def load(source: str, norm: data.Normalization) -> data.Dataset:
    """A built-in by key or one of this session's uploads; raises DatasetError."""
    if source.startswith(UPLOAD_PREFIX):
        name = source.removeprefix(UPLOAD_PREFIX)
        content, column = st.session_state.uploads[name]
        return uploaded_dataset(content, name, norm, column)
    if source == "names" and (why := names_available()) is not None:
        raise data.DatasetError(why)
    return builtin_dataset(source, norm)


def init() -> None:
    """Give a new session its dataset: names.txt when it is here, else the bundled default."""
    ss = st.session_state
    ss.setdefault("uploads", {})  # name -> (content, column), this session's only
    ss.setdefault("share_tokens", {})  # name -> token, for the uploads shared by link
    ss.setdefault("held", set())  # fingerprints of every dataset this session has held
    if "dataset" not in ss:
        source = default_source()
        ss.ds_source, ss.ds_norm = source, data.BUILTINS[source].normalization
        ss.dataset = load(source, ss.ds_norm)
        ss.held.add(ss.dataset.fingerprint)


def dataset() -> data.Dataset:
    init()
    return st.session_state.dataset


def default_norm(source: str) -> data.Normalization:
    return data.BUILTINS[source].normalization if source in data.BUILTINS else data.Normalization()


def add_upload(name: str, content: bytes, column: int | None) -> None:
    """Keep an upload in this session (private); new content under a name unshares it."""
    ss = st.session_state
    if ss.uploads.get(name) != (content, column):
        ss.share_tokens.pop(name, None)
    ss.uploads[name] = (content, column)


def visible(meta: dict) -> bool:
    """Whether this session may see a cached run: one on a built-in dataset, or on a word
    list this session has held itself (its own upload, or one opened by a share link)."""
    return bool(meta.get("builtin")) or meta.get("fingerprint") in st.session_state.held


def select(source: str, norm: data.Normalization) -> str | None:
    """Switch the session to another dataset. On failure keep the current one and say why."""
    try:
        ds = load(source, norm)
    except data.DatasetError as e:
        return message_of(e)
    st.session_state.update(dataset=ds, ds_source=source, ds_norm=norm)
    st.session_state.held.add(ds.fingerprint)
    return None


def md_escape(text: str) -> str:
    """User text (file names, words) shown inside Markdown, as plain text."""
    return "".join("\\" + c if c in "\\`*_{}[]()<>#+-.!|~$" else c for c in text)


def title(ds: data.Dataset) -> str:
    """A dataset's name for a sentence: a built-in's title, an upload's file name."""
    return tr(data.BUILTINS[ds.name].title) if ds.builtin else ds.name


def on_lecture_data(ds: data.Dataset) -> bool:
    """Whether this is the lectures' dataset (names.txt as makemore reads it), the only
    one the lectures' printed numbers and reference lines are about."""
    return ds.builtin and ds.name == "names" and ds.normalization == default_norm("names")


def source_label(source: str) -> str:
    if source.startswith(UPLOAD_PREFIX):
        return t("{name} (your upload)", name=source.removeprefix(UPLOAD_PREFIX))
    return tr(data.BUILTINS[source].title)


def sources() -> list[str]:
    return [*data.BUILTINS, *(UPLOAD_PREFIX + n for n in st.session_state.uploads)]
