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

import contextlib
import contextvars
import json
from urllib.parse import urlencode

import streamlit as st

from ui import links, outbox, state
from ui.i18n import N_, t

PRESENT, HIDE, ZOOM = "present", "hide", "zoom"
DEFAULT_ZOOM, MIN_ZOOM, MAX_ZOOM = 130, 100, 250
GROUPS = {
    "settings": N_("the settings widgets of each page (their values still apply)"),
    "text": N_("the explanations: paragraphs and captions"),
    "captions": N_("only the captions under the charts"),
}
SETTINGS_PREFIX = "settings_"

# Streamlit's own data-testid names (1.67), and the keyed containers of settings()
CSS_BASE = """
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stHeader"],
[data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
[data-testid="stMainBlockContainer"] {
  zoom: %(zoom)s; padding: 1.5rem 1rem 3rem !important; max-width: none !important;
}
[data-testid="stElementContainer"]:has([data-testid="stVegaLiteChart"], [data-testid="stDataFrame"]) {
  zoom: %(unzoom)s;
}
[data-testid="stHorizontalBlock"] { flex-wrap: wrap; }
[data-testid="stColumn"] { min-width: min(100%%, 15rem); }
[data-testid="stMetricValue"] *, [data-testid="stMetricLabel"] * {
  overflow: visible !important; text-overflow: clip !important;
  white-space: normal !important; overflow-wrap: anywhere;
}
"""
# Charts and tables measure their width in unzoomed pixels and would overflow a zoomed
# page: they are drawn at the page's full width instead (no sidebar), and the charts' text
# grows with the zoom through their Vega-Lite config (chart_config). Columns too narrow
# for their content at a large zoom wrap onto the next row, so a metric is never cut.
CSS_GROUPS = {
    "settings": f'[class*="st-key-{SETTINGS_PREFIX}"] {{ display: none !important; }}',
    "text": '[data-testid="stMarkdown"], [data-testid="stCaptionContainer"] '
    "{ display: none !important; }",
    "captions": '[data-testid="stCaptionContainer"] { display: none !important; }',
}


# Outside presenter mode: the sidebar's section titles (the videos' titles) wrap instead of
# ending in "…", e.g. "makemore part 3 · Activations & BatchNorm"; and the toolbar's status
# widget keeps its "Running…" but not its Stop button, which a live page's ticks show all
# through a training: it stops the script's run, not the training, beside the page's Stop.
CSS_PLAIN = """
[data-testid="stNavSectionHeader"] * { white-space: normal !important; text-overflow: clip !important; }
[data-testid="stStatusWidget"] button { display: none !important; }
"""


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


FONT = {"label": 12, "title": 13, "heading": 15, "text": 11}  # px at zoom 1 (Streamlit's)
INK = "#31333F"  # Streamlit's text colour: axis labels a projector can show
SCALED = {
    "height",
    "fontSize",
    "labelFontSize",
    "titleFontSize",
    "subtitleFontSize",
    "labelLimit",
    "titleLimit",
}


def chart_config(z: float) -> dict:
    """The Vega-Lite config presenter mode gives every chart: axis labels, titles, legends
    and text marks z times larger and dark, legends under the plot."""
    axis = {
        "labelFontSize": FONT["label"] * z,
        "titleFontSize": FONT["title"] * z,
        "labelColor": INK,
        "titleColor": INK,
        "labelLimit": 200 * z,
    }
    legend = {
        **axis,
        "symbolSize": 100 * z * z,
        "labelLimit": 400 * z,
        "orient": "bottom",  # under the plot, which keeps the page's width ...
        "layout": {"bottom": {"anchor": "start", "direction": "vertical"}},  # ... one above another
    }
    return {
        "axis": axis,
        "legend": legend,
        "header": {"labelFontSize": FONT["label"] * z, "titleFontSize": FONT["title"] * z},
        "title": {
            "fontSize": FONT["heading"] * z,
            "color": INK,
            "subtitleFontSize": FONT["label"] * z,  # a subtitle explains a mark: as large as labels
            "subtitleColor": INK,
        },
        "text": {"fontSize": FONT["text"] * z},
    }


def scaled(spec, z: float):
    """A Vega-Lite spec with every height and font size z times larger (a height of
    {"step": n} too); widths stay, since the chart already spans the page."""
    if isinstance(spec, list):
        return [scaled(item, z) for item in spec]
    if not isinstance(spec, dict):
        return spec
    out = {}
    for key, value in spec.items():
        if key in SCALED and isinstance(value, (int, float)) and not isinstance(value, bool):
            value = value * z
        elif key == "height" and isinstance(value, dict) and "step" in value:
            value = {**value, "step": value["step"] * z}
        out[key] = scaled(value, z)
    return out


def present_chart(spec: dict, z: float) -> dict:
    """One chart as presenter mode sends it: scaled, with the presenter config under the
    chart's own (a chart's explicit settings win, themselves scaled)."""
    spec = scaled(spec, z)
    config = chart_config(z)
    for key, value in spec.get("config", {}).items():
        config[key] = {**config.get(key, {}), **value} if isinstance(value, dict) else value
    return {**spec, "config": config}


@contextlib.contextmanager
def charts_scaled():
    """Draw the page (or a fragment's rerun) inside this: in presenter mode every chart's
    text and height grow with the zoom. Charts are drawn unzoomed (see CSS_BASE), so this
    is what makes them as large as the text around them."""
    if not active() or _scaling.get():  # a fragment drawn inside the page run: once is enough
        yield
        return
    z = zoom()

    def see(kind, element):
        if kind == "vega_lite_chart":
            chart = element.vega_lite_chart
            chart.spec = json.dumps(present_chart(json.loads(chart.spec), z))

    token = _scaling.set(True)
    try:
        with outbox.intercept(see):
            yield
    finally:
        _scaling.reset(token)


_scaling = contextvars.ContextVar("presenter_scaling", default=False)


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
        st.html(f"<style>{CSS_PLAIN}</style>")
        st.sidebar.caption(
            t(
                ":material/link: **Share this page**: the address bar is a link to it with the "
                "dataset and every setting. Add `?present=1` for a projector (see Home)."
            )
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
            t(
                ":material/lock: **{label} is private**: only this session sees it and the runs "
                "on it; a link to this page does not open it for anyone else.",
                label=label,
            )
        )
        st.button(
            t("Share this word list with the class"),
            key="share_upload",
            icon=":material/share:",
            on_click=links.share_upload,
            args=(name,),
            help=t(
                "Makes a link with a random token: whoever opens it on this server gets "
                "the word list and sees the runs on it."
            ),
        )
        return
    params = {k: v for k, v in links.url_params().items() if v is not None}
    st.markdown(
        t(
            ":material/group: **{label} is shared with the class.** Whoever opens this link on "
            "this server gets the word list and sees the runs on it (exported files never carry "
            "the link):",
            label=label,
        )
    )
    link = f"{st.context.url or ''}?{urlencode(params, safe=':,')}"
    st.code(link, language=None, wrap_lines=True)
