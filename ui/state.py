"""The session's dataset and the cached engine calls every page shares.

Datasets and their tensors are cached once for the whole server and treated as
read-only; whatever a student changes (their choice, their uploads) lives in
st.session_state and is seen by nobody else. An upload leaves its session only when
its owner shares it (share_upload): then a link with its random token opens it.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict

import streamlit as st

from engine import data, wordfile

UPLOAD_PREFIX = "upload:"
DATA_PARAM, NORM_PARAM = "data", "norm"  # the dataset in every page's URL
NORM_FLAGS = {"lower": "lowercase", "strip": "strip_accents", "split": "split_bilingual"}
SHARE_BYTES = 16  # random bytes of a share token (128 bits): ?data=upload:<22 characters>
PRIVATE = "private"  # the link value of an upload nobody shared: ?data=upload:private


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


class UploadStore:
    """The word lists shared with a class on this server, by share token, so that a link
    with ?data=upload:<token> opens the teacher's upload for every student who has it.

    Only an explicit share() puts an upload here: an upload nobody shared is in its own
    session only. A token is random (128 bits), not derived from the words, so no other
    number about a run (its fingerprint, its key) opens anything. Bounded (the least
    recently used is forgotten first) and thread-safe: every session shares it.
    """

    def __init__(self, size: int = 16):
        self.size = size
        self._items: OrderedDict[str, tuple[str, bytes, int | None]] = OrderedDict()
        self._lock = threading.Lock()

    def keep(self, token: str, name: str, content: bytes, column: int | None) -> None:
        """Hold a shared upload under its token (again), as the most recently used."""
        with self._lock:
            self._items[token] = (name, content, column)
            self._items.move_to_end(token)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def open(self, token: str) -> tuple[str, bytes, int | None] | None:
        """The upload shared under exactly this token, or None."""
        with self._lock:
            return self._items.get(token)

    def __len__(self) -> int:
        return len(self._items)


@st.cache_resource
def upload_store() -> UploadStore:
    return UploadStore()


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
    sync_url()


def dataset() -> data.Dataset:
    init()
    return st.session_state.dataset


# ---------------------------------------------------------------------------------------
# the dataset in the URL: ?data=spanish-municipalities&norm=lower,strip


def default_norm(source: str) -> data.Normalization:
    return data.BUILTINS[source].normalization if source in data.BUILTINS else data.Normalization()


def add_upload(name: str, content: bytes, column: int | None) -> None:
    """Keep an upload in this session (private); new content under a name unshares it."""
    ss = st.session_state
    if ss.uploads.get(name) != (content, column):
        ss.share_tokens.pop(name, None)
    ss.uploads[name] = (content, column)


def share_upload(name: str) -> str:
    """Share one of this session's uploads with the class: the token its link carries."""
    tokens = st.session_state.share_tokens
    tokens.setdefault(name, secrets.token_urlsafe(SHARE_BYTES))
    upload_store().keep(tokens[name], name, *st.session_state.uploads[name])
    return tokens[name]


def share_token(name: str) -> str | None:
    """The token of an upload this session shared or opened by link, else None (private).

    Called on every run of an upload session, so a shared upload stays among the store's
    most recent ones as long as somebody works on it.
    """
    token = st.session_state.share_tokens.get(name)
    if token is not None:
        upload_store().keep(token, name, *st.session_state.uploads[name])
    return token


def visible(meta: dict) -> bool:
    """Whether this session may see a cached run: one on a built-in dataset, or on a word
    list this session has held itself (its own upload, or one opened by a share link)."""
    return bool(meta.get("builtin")) or meta.get("fingerprint") in st.session_state.held


def url_params() -> dict[str, str | None]:
    """The session's dataset as query parameters; None for a default, which stays out of the URL."""
    ss = st.session_state
    source, norm = ss.ds_source, ss.ds_norm
    if source.startswith(UPLOAD_PREFIX):
        value = UPLOAD_PREFIX + (share_token(source.removeprefix(UPLOAD_PREFIX)) or PRIVATE)
    else:
        value = None if source == default_source() else source
    flags = [flag for flag, field in NORM_FLAGS.items() if getattr(norm, field)]
    return {
        DATA_PARAM: value,
        NORM_PARAM: None if norm == default_norm(source) else ",".join(flags) or "none",
    }


def parse_norm(text: str) -> data.Normalization:
    """'lower,strip' -> Normalization(lowercase=True, strip_accents=True); 'none': all off."""
    words = {w.strip() for w in text.lower().split(",") if w.strip()}
    unknown = words - set(NORM_FLAGS) - {"none"}
    if unknown or not words:
        raise data.DatasetError(
            f"Unknown normalisation '{text}': use some of {', '.join(NORM_FLAGS)} "
            "separated by commas, or none."
        )
    return data.Normalization(**{field: flag in words for flag, field in NORM_FLAGS.items()})


def source_from_url(value: str) -> str:
    """A dataset link value -> a source for load(); a shared upload is fetched from the store."""
    value = value.strip()
    if value.lower().startswith(UPLOAD_PREFIX):
        token = value[len(UPLOAD_PREFIX) :]
        if token == PRIVATE:
            raise data.DatasetError(
                "This link names a word list its owner has not shared: an upload stays in the "
                "session that uploaded it. Ask them to press **Share this word list with the "
                "class** on Home and send the new link, or upload the file yourself."
            )
        found = upload_store().open(token)
        if found is None:
            raise data.DatasetError(
                "This server has no word list shared under this link (it keeps the "
                f"{upload_store().size} most recently used ones, and forgets them when it "
                "restarts): ask for the file and upload it on Home."
            )
        name, content, column = found
        st.session_state.uploads[name] = (content, column)
        st.session_state.share_tokens[name] = token
        return UPLOAD_PREFIX + name
    key = value.lower().replace("_", "-")
    if key not in data.BUILTINS:
        raise data.DatasetError(
            f"Unknown dataset '{value}'. Choose one of: {', '.join(data.BUILTINS)}."
        )
    return key


def open_link(value: str | None, norm_text: str | None) -> str | None:
    """Switch to the dataset a link names; on failure keep the current one and say why."""
    try:
        source = default_source() if value is None else source_from_url(value)
        norm = default_norm(source) if norm_text is None else parse_norm(norm_text)
    except data.DatasetError as e:
        return str(e)
    ss = st.session_state
    if (source, norm) == (ss.ds_source, ss.ds_norm):
        return None
    return select(source, norm)


def sync_url() -> None:
    """Keep the dataset and the URL in step, once per run, on every page.

    A URL that changed since this session last wrote it is a link being opened (or the
    browser's back button): switch to its dataset. Otherwise the session is in charge and
    the URL follows it, so every page's address is a link to the same dataset. A missing
    parameter never switches anything (page switches may drop it).
    """
    ss, qp = st.session_state, st.query_params
    url = (qp.get(DATA_PARAM), qp.get(NORM_PARAM))
    opened = url != (None, None) and url != ss.get("_ds_url")
    if opened and (why := open_link(*url)) is not None:
        current = md_escape(source_label(ss.ds_source))
        st.error(
            f"The link's dataset could not be opened: {md_escape(why)}\n\n"
            f"You are still working on **{current}**.",
            icon=":material/link_off:",
        )
    want = url_params()
    for key, value in want.items():
        if value is None:
            if key in qp:
                del qp[key]
        elif qp.get(key) != value:
            qp[key] = value
    ss._ds_url = (want[DATA_PARAM], want[NORM_PARAM])


def select(source: str, norm: data.Normalization) -> str | None:
    """Switch the session to another dataset. On failure keep the current one and say why."""
    try:
        ds = load(source, norm)
    except data.DatasetError as e:
        return str(e)
    st.session_state.update(dataset=ds, ds_source=source, ds_norm=norm)
    st.session_state.held.add(ds.fingerprint)
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
