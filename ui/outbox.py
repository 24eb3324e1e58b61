"""What a script run sends to the browser, seen (and adjusted) on its way out.

Two things need every element a page draws, whichever page or helper drew it: the check
of the link's values against the widgets they set (ui/link_values.py) and presenter
mode's larger charts (ui/present.py). Both wrap the script run context's enqueue() for
the length of a page run or a fragment rerun. This is the one place that touches
Streamlit's internals for it; written for Streamlit 1.67.0 (ScriptRunContext.enqueue,
ForwardMsg.delta.new_element), tests/test_urls.py and tests/test_present.py cover it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from streamlit.runtime.scriptrunner import get_script_run_ctx


@contextlib.contextmanager
def intercept(see: Callable):
    """Call see(element_type, element) for each new element before it is sent; it may
    change the element in place. Nests: an inner intercept sends through the outer one."""
    ctx = get_script_run_ctx()
    if ctx is None:
        yield
        return
    own = ctx.__dict__.get("enqueue")  # an outer intercept's, or None: the class's method
    send = ctx.enqueue

    def enqueue(msg):
        if msg.HasField("delta") and msg.delta.HasField("new_element"):
            element = msg.delta.new_element
            see(element.WhichOneof("type"), element)
        send(msg)

    ctx.enqueue = enqueue
    try:
        yield
    finally:
        if own is None:
            del ctx.enqueue
        else:
            ctx.enqueue = own
