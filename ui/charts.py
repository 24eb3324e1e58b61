"""Altair chart builders shared by the pages. Each takes plain data and returns an alt.Chart."""

from __future__ import annotations

from collections import Counter

import altair as alt
import pandas as pd


def length_histogram(words) -> alt.Chart:
    """How many words have each length (in characters)."""
    counts = Counter(len(w) for w in words)
    df = pd.DataFrame({"length": list(counts), "words": list(counts.values())})
    return (
        alt.Chart(df, title="Word lengths")
        .mark_bar()
        .encode(
            x=alt.X("length:O", title="characters in the word"),
            y=alt.Y("words:Q", title="number of words"),
            tooltip=["length", "words"],
        )
        .properties(height=260)
    )


def char_frequencies(words, itos) -> alt.Chart:
    """How often each character of the vocabulary appears, '.' counted once per word end."""
    counts = Counter("".join(words))
    counts["."] = len(words)
    df = pd.DataFrame({"char": itos, "count": [counts[c] for c in itos]})
    df["label"] = df["char"].replace({" ": "␣"})
    return (
        alt.Chart(df, title="Characters (vocabulary order, '.' = end of word)")
        .mark_bar()
        .encode(
            x=alt.X("label:N", sort=list(df["label"]), title=None, axis=alt.Axis(labelAngle=0)),
            y=alt.Y("count:Q", title="occurrences"),
            tooltip=[alt.Tooltip("label:N", title="character"), "count"],
        )
        .properties(height=260)
    )
