"""Shareable links and presenter mode: the URL glue every page shares.

Every page's settings are widgets bound to the URL (`bind="query-params"`), and
ui/state.py keeps the dataset in it (`?data=…&norm=…`), so the address bar is always a
link to the same run. On top of that a link can ask for a projector:

    ?present=1            no sidebar or toolbar, everything about 1.3× larger
    &zoom=150             how much larger, in percent (100 to 250)
    &hide=settings,text   hide groups of controls (see GROUPS), comma-separated

app.py calls apply() once per run; pages wrap their settings widgets in settings(name)
so that `hide=settings` can hide them (they still run, so the link's values still apply).
"""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from ui import links, state

PRESENT, HIDE, ZOOM = "present", "hide", "zoom"
DEFAULT_ZOOM, MIN_ZOOM, MAX_ZOOM = 130, 100, 250
GROUPS = {
    "settings": "the settings widgets of each page (their values still apply)",
    "text": "the explanations: paragraphs and captions",
    "captions": "only the captions under the charts",
}
SETTINGS_PREFIX = "settings_"

# Streamlit's own data-testid names (1.67), and the keyed containers of settings()
CSS_BASE = """
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"] {
  zoom: %(zoom)s; padding-top: 1.5rem !important; max-width: none !important;
}
[data-testid="stVegaLiteChart"] { zoom: %(unzoom)s; }
"""
# Charts measure their width in unzoomed pixels and would overflow a zoomed page: they are
# drawn at the page's full width instead (no sidebar), text and widgets zoomed around them.
CSS_GROUPS = {
    "settings": f'[class*="st-key-{SETTINGS_PREFIX}"] {{ display: none !important; }}',
    "text": '[data-testid="stMarkdown"], [data-testid="stCaptionContainer"] '
    "{ display: none !important; }",
    "captions": '[data-testid="stCaptionContainer"] { display: none !important; }',
}


def active() -> bool:
    """?present=1 (or true/yes/on) is in the URL."""
    return st.query_params.get(PRESENT, "").strip().lower() in {"1", "true", "yes", "on"}


def hidden() -> list[str]:
    """The groups the URL hides (unknown names are ignored); only in presenter mode."""
    if not active():
        return []
    names = (n.strip().lower() for n in st.query_params.get(HIDE, "").split(","))
    return [n for n in dict.fromkeys(names) if n in GROUPS]


def zoom() -> float:
    """The presenter's magnification: ?zoom=150 is 1.5×, clamped to 100–250 %."""
    try:
        percent = float(st.query_params.get(ZOOM, DEFAULT_ZOOM))
    except ValueError:
        percent = DEFAULT_ZOOM
    if percent != percent:  # nan
        percent = DEFAULT_ZOOM
    return min(max(percent, MIN_ZOOM), MAX_ZOOM) / 100


def css() -> str:
    """The style sheet presenter mode injects (empty outside it)."""
    if not active():
        return ""
    z = zoom()
    return CSS_BASE % {"zoom": f"{z:g}", "unzoom": f"{1 / z:.4f}"} + "\n".join(
        CSS_GROUPS[g] for g in hidden()
    )


def apply() -> None:
    """Once per run, from app.py: presenter CSS, or else a hint in the sidebar on sharing."""
    if active():
        st.html(f"<style>{css()}</style>")
    else:
        st.sidebar.caption(
            ":material/link: **Share this page**: the address bar is a link to it with the "
            "dataset and every setting. Add `?present=1` for a projector (see Home)."
        )


def settings(name: str):
    """A container for a page's settings widgets: `&hide=settings` hides it when presenting."""
    return st.container(key=SETTINGS_PREFIX + name)


def share_upload_ui(name: str) -> None:
    """Under the session's upload: that it is private, the button that shares it with the
    class, and once shared, the link that opens it (its random token, never its fingerprint)."""
    label = state.md_escape(name)
    if links.share_token(name) is None:
        st.caption(
            f":material/lock: **{label} is private**: only this session sees it and the runs "
            "on it; a link to this page does not open it for anyone else."
        )
        st.button(
            "Share this word list with the class",
            key="share_upload",
            icon=":material/share:",
            on_click=links.share_upload,
            args=(name,),
            help="Makes a link with a random token: whoever opens it on this server gets "
            "the word list and sees the runs on it.",
        )
        return
    params = {k: v for k, v in links.url_params().items() if v is not None}
    st.markdown(
        f":material/group: **{label} is shared with the class.** Whoever opens this link on "
        "this server gets the word list and sees the runs on it (exported files never carry "
        "the link):"
    )
    link = f"{st.context.url or ''}?{urlencode(params, safe=':,')}"
    st.code(link, language=None, wrap_lines=True)
