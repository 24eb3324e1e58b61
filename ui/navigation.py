"""app.py's st.navigation: the page being shown, and the project's `pages/` folder.

The router hands the page st.navigation picked to show(); page_title() then tells the
glue that labels a run (ui.training) which page trained it.

The `pages/` folder: Streamlit 1.67 treats a folder named pages/ as its legacy multipage layout until some session
has run st.navigation (the process-wide PagesManager.uses_pages_directory). In that
mode a run looks a URL up among the top-level pages/*.py files only, and the lesson
pages live one folder down (pages/part2_mlp/trainer.py): a fresh server's first visit
to a deep link such as /mlp would show "Page not found". app.py's server lifespan leaves
that mode before the first visitor arrives. (AppTest resets the flag before every run;
with no script at the top of pages/, its legacy run goes straight to app.py's router.)

Proved by tests/e2e/test_deep_link.py (a fresh server's first visit to a deep link) and
tests/test_app.py (no page script at the top of pages/, every old address registered).
"""

import importlib
import pkgutil

import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.pages_manager import PagesManager

_TITLE = "_page_title"  # session state: the title of the page this session shows


def leave_legacy_pages_mode() -> None:
    PagesManager.uses_pages_directory = False


def import_pages() -> None:
    """Import every module of ui/ (what the pages import: altair, pandas, the engine), so
    that the first visitor of each page does not pay for it while holding the GIL."""
    import ui

    for module in pkgutil.walk_packages(ui.__path__, "ui."):
        importlib.import_module(module.name)


def show(page: StreamlitPage) -> None:
    """Remember the page st.navigation picked for this run, for page_title()."""
    st.session_state[_TITLE] = page.title


def page_title(default: str) -> str:
    """The title of the page this session shows (also in a widget callback, which runs
    before the router: the page whose widget it is); `default` outside the router."""
    return st.session_state.get(_TITLE) or default
