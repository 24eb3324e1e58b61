"""The session's dataset in every page's link: ?data=spanish-municipalities&norm=lower,strip.

app.py's router calls sync_url() once per run: a link being opened switches the session
to its dataset, otherwise the URL follows the session. An upload has a link only once its
owner shares it: share_upload() keeps it in the server's UploadStore under a random token.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict

import streamlit as st

from engine import data
from ui.i18n import t, tr
from ui.state import (
    UPLOAD_PREFIX,
    default_norm,
    default_source,
    md_escape,
    message_of,
    select,
    source_label,
)

DATA_PARAM, NORM_PARAM = "data", "norm"  # the dataset in every page's URL

NORM_FLAGS = {"lower": "lowercase", "strip": "strip_accents", "split": "split_bilingual"}

SHARE_BYTES = 16  # random bytes of a share token (128 bits): ?data=upload:<22 characters>

PRIVATE = "private"  # the link value of an upload nobody shared: ?data=upload:private


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
            t(
                "Unknown normalisation '{text}': use some of {flags} separated by commas, or none.",
                text=text,
                flags=", ".join(NORM_FLAGS),
            )
        )
    return data.Normalization(**{field: flag in words for flag, field in NORM_FLAGS.items()})


def source_from_url(value: str) -> str:
    """A dataset link value -> a source for load(); a shared upload is fetched from the store."""
    value = value.strip()
    if value.lower().startswith(UPLOAD_PREFIX):
        token = value[len(UPLOAD_PREFIX) :]
        if token == PRIVATE:
            raise data.DatasetError(
                t(
                    "This link names a word list its owner has not shared: an upload stays in "
                    "the session that uploaded it. Ask them to press **Share this word list with "
                    "the class** on Home and send the new link, or upload the file yourself."
                )
            )
        found = upload_store().open(token)
        if found is None:
            raise data.DatasetError(
                t(
                    "This server has no word list shared under this link (it keeps the {n} "
                    "most recently used ones, and forgets them when it restarts): ask for the "
                    "file and upload it on Home.",
                    n=upload_store().size,
                )
            )
        name, content, column = found
        st.session_state.uploads[name] = (content, column)
        st.session_state.share_tokens[name] = token
        return UPLOAD_PREFIX + name
    key = value.lower().replace("_", "-")
    if key not in data.BUILTINS:
        raise data.DatasetError(
            t(
                "Unknown dataset '{key}'. Choose one of: {choices}.",
                key=value,
                choices=", ".join(data.BUILTINS),
            )
        )
    return key


def open_link(value: str | None, norm_text: str | None) -> str | None:
    """Switch to the dataset a link names; on failure keep the current one and say why."""
    try:
        source = default_source() if value is None else source_from_url(value)
        norm = default_norm(source) if norm_text is None else parse_norm(norm_text)
    except data.DatasetError as e:
        return message_of(e)
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
            t(
                "The link's dataset could not be opened: {why}\n\n"
                "You are still working on **{current}**.",
                why=md_escape(tr(why)),
                current=current,
            ),
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
