"""Link values checked against the widgets they set: a bad one is explained, not dropped.

A widget bound to the URL (`bind="query-params"`) quietly falls back to its default when
the link's value is out of range or of the wrong type (`/mlp?n_embd=999999`). app.py runs
each page inside watch(): every bound widget the page draws is compared, as it is sent to
the browser, with the value the link gave it, and one warning at the top of the page
names each rejected parameter, its value, what the widget takes and what was used.

The widget's range is read from the element Streamlit sends (its protobuf, the same one
the browser draws, seen through ui/outbox.py), so no page repeats its limits.
"""

from __future__ import annotations

import contextlib
import math

import streamlit as st

from ui import outbox
from ui.i18n import t, tn
from ui.state import md_escape

KINDS = ("slider", "number_input", "selectbox", "radio", "button_group", "multiselect", "checkbox")
INT = 0  # Slider.DataType.INT and NumberInput.DataType.INT


def _number(text: str, whole: bool) -> float | None:
    try:
        x = float(text.replace(",", ""))
    except ValueError:
        return None
    if not math.isfinite(x) or (whole and x != int(x)):
        return None
    return x


def _fmt(x: float, whole: bool) -> str:
    return f"{int(x):,}" if whole else f"{x:g}"


def _choices(options: list[str]) -> str:
    shown = [f"`{o}`" for o in options]
    if len(shown) > 8:
        return t(
            "one of {n} values, from {first} to {last}",
            n=len(shown),
            first=shown[0],
            last=shown[-1],
        )
    return t("one of {choices}", choices=", ".join(shown))


def allowed(kind: str, proto) -> str:
    """What a widget takes, in words: "whole numbers from 1 to 64", "one of `a`, `b`"."""
    if kind == "checkbox":
        return t("`true` or `false`")
    if kind == "button_group":
        return _choices([o.content for o in proto.options])
    if kind in ("selectbox", "radio", "multiselect") or (kind == "slider" and proto.options):
        return _choices(list(proto.options))
    whole = proto.data_type == INT
    lo, hi = _fmt(proto.min, whole), _fmt(proto.max, whole)
    if kind == "slider" or (proto.has_min and proto.has_max):
        if whole:
            return t("whole numbers from {lo} to {hi}", lo=lo, hi=hi)
        return t("numbers from {lo} to {hi}", lo=lo, hi=hi)
    if proto.has_min:
        return t("whole numbers from {lo}", lo=lo) if whole else t("numbers from {lo}", lo=lo)
    if proto.has_max:
        return t("whole numbers up to {hi}", hi=hi) if whole else t("numbers up to {hi}", hi=hi)
    return t("whole numbers") if whole else t("numbers")


def valid(kind: str, proto, values: list[str]) -> bool:
    """Whether the link's values (one, or several for a range or a multiselect) fit the widget."""
    if kind == "checkbox":
        return len(values) == 1 and values[0].lower() in ("true", "false")
    if kind == "button_group":
        return set(values) <= {o.content for o in proto.options}
    if kind in ("selectbox", "radio", "multiselect") or (kind == "slider" and proto.options):
        return set(values) <= set(proto.options)
    whole = proto.data_type == INT
    if kind == "slider":  # one value, or two for a range slider
        lo, hi, count = proto.min, proto.max, len(proto.default)
    else:  # a number input reads the last one
        values = values[-1:]
        lo = proto.min if proto.has_min else -math.inf
        hi = proto.max if proto.has_max else math.inf
        count = 1
    numbers = [_number(v, whole) for v in values]
    return len(numbers) == count and all(x is not None and lo <= x <= hi for x in numbers)


def used(value) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(used(v) for v in value) or t("nothing")
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:g}" if isinstance(value, float) else str(value)


def ranged(label: str, lo: int, hi: int) -> str:
    """A whole-number field's label with its range, so a value typed over the limit is
    explained next to the field: "steps (1 to 500,000)"."""
    return t("{label} ({lo:,} to {hi:,})", label=label, lo=lo, hi=hi)


def whole_number(column, label: str, lo: int, hi: int, value: int, *args, **kw) -> int:
    """A number input for a count (steps, samples, neurons) whose label shows its range."""
    return column.number_input(ranged(label, lo, hi), lo, hi, value, *args, **kw)


def explain(rejected: dict[str, str]) -> str:
    lines = "\n".join(f"- {line}" for line in rejected.values())
    return tn(
        "One value in this link could not be used:\n\n{lines}\n\nEverything else in the link "
        "applies.",
        "Some values in this link could not be used:\n\n{lines}\n\nEverything else in the "
        "link applies.",
        len(rejected),
        lines=lines,
    )


@contextlib.contextmanager
def watch():
    """Run a page inside this: bound widgets whose link value was rejected are explained
    in one warning above the page (drawn as soon as the widget is, so st.stop() later
    in the page cannot lose it)."""
    link = {k: st.query_params.get_all(k) for k in st.query_params}
    if not link:
        yield
        return
    notice, rejected = st.empty(), {}

    def see(kind, element):
        if kind not in KINDS:
            return
        proto = getattr(element, kind)
        key = proto.query_param_key
        if key and key in link and key not in rejected and not valid(kind, proto, link[key]):
            given = ",".join(link[key]).replace("`", "'")
            rejected[key] = t(
                "`{key}={given}`: **{label}** takes {allowed}; used `{used}` instead.",
                key=key,
                given=given,
                label=md_escape(proto.label),
                allowed=allowed(kind, proto),
                used=used(st.session_state.get(key)),
            )
            notice.warning(explain(rejected), icon=":material/link_off:")

    with outbox.intercept(see):
        yield
