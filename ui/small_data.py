"""What a page cannot do with the current dataset, said in one sentence, and counts in words.

The lecture's split is 80/10/10 of the shuffled words (engine.data.split_words), so a list
of 5 words has an empty dev split and a list of 1 word an empty train split. Pages call
notice() once, near the top: it says what is missing and why, and tells the page whether
it can train at all. Texts that count things use plural() ("1 word", "2 words").
"""

from __future__ import annotations

import math

import streamlit as st

from engine import data
from ui.i18n import N_, t, tn

MIN_WORDS = 6  # the smallest list whose three splits all have a word (4 / 1 / 1)


def loss(value: float | None) -> str:
    """A loss for a metric: four decimals, or – when there is none (not yet, or an empty split)."""
    return "–" if value is None or math.isnan(value) else f"{value:.4f}"


def split_sizes(ds: data.Dataset) -> tuple[int, int, int]:
    """The number of train, dev and test words of the lecture's split."""
    return _sizes(ds.fingerprint, ds.words)


@st.cache_data(max_entries=32, show_spinner=False)
def _sizes(fingerprint: str, _words: tuple[str, ...]) -> tuple[int, int, int]:
    return tuple(len(part) for part in data.split_words(_words))


NO_TRAIN = {  # what an empty train split means, by what the page does with it
    "trains": N_("so nothing can be trained on this page"),
    "scores": N_("so the table counted on the train words is empty"),
    "home": N_("so the lesson pages cannot train on it"),
}
SPLIT_NAMES = {"train": N_("train"), "dev": N_("dev"), "test": N_("test")}


def shortfall(ds: data.Dataset, page: str = "trains") -> str | None:
    """One sentence on what the split cannot give (None when every split has words).

    `page`: what the page does with the split, a key of NO_TRAIN.
    """
    n_train, n_dev, n_test = split_sizes(ds)
    if n_dev and n_train:
        return None
    empty = [
        t(SPLIT_NAMES[name])
        for name, n in (("train", n_train), ("dev", n_dev), ("test", n_test))
        if not n
    ]
    if len(empty) == 1:
        which = t("{split} is empty", split=empty[0])
    else:  # one word: train and dev (a dataset has at least one word)
        which = t("{split} and {other} are empty", split=empty[0], other=", ".join(empty[1:]))
    then = (
        t(NO_TRAIN[page])
        if not n_train
        else t("so there are no dev losses and nothing is tuned on dev")
    )
    return tn(
        "{n:,} word is too few for the lecture's 80/10/10 split: {which}, {then}. "
        "A list of at least {min} words fills all three.",
        "{n:,} words are too few for the lecture's 80/10/10 split: {which}, {then}. "
        "A list of at least {min} words fills all three.",
        len(ds.words),
        which=which,
        then=then,
        min=MIN_WORDS,
    )


def notice(ds: data.Dataset, page: str = "trains", uses_dev: bool = True) -> bool:
    """Say on the page what the dataset's split cannot give; True when the page can train
    (its train split has words), False when it cannot. A page that never looks at dev
    (uses_dev=False) only speaks up about an empty train split."""
    can_train = split_sizes(ds)[0] > 0
    if (uses_dev or not can_train) and (why := shortfall(ds, page)) is not None:
        st.warning(why, icon=":material/data_alert:")
    return can_train
