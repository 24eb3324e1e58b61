"""app.py's st.navigation in charge of the project's `pages/` folder (Streamlit 1.67).

Streamlit treats a folder named pages/ as its legacy multipage layout until some session
has run st.navigation (the process-wide PagesManager.uses_pages_directory). In that
mode a run looks a URL up among the top-level pages/*.py files only, and the lesson
pages live one folder down (pages/part2_mlp/trainer.py): a fresh server's first visit
to a deep link such as /mlp would show "Page not found". app.py's server lifespan leaves
that mode before the first visitor arrives. (AppTest resets the flag before every run;
with no script at the top of pages/, its legacy run goes straight to app.py's router.)

Proved by tests/e2e/test_deep_link.py (a fresh server's first visit to a deep link) and
tests/test_app.py (no page script at the top of pages/, every old address registered).
"""

from streamlit.runtime.pages_manager import PagesManager


def leave_legacy_pages_mode() -> None:
    PagesManager.uses_pages_directory = False
