"""The step learning-rate decay as the lectures scale it: at the same fraction of any run.

Part 2 drops the rate at 100,000 of 200,000 steps (halfway), part 5 at 150,000 of
200,000 (three quarters). A 5,000-step run keeps the shape: the drop comes at 2,500 or
3,750, unless the student types a step of their own.
"""

from __future__ import annotations

from engine.train import TrainConfig
from ui.i18n import N_, t

FRACTIONS = {0.5: N_("halfway"), 0.75: N_("three quarters in")}


def decay_ui(column, key: str, steps: int, fraction: float, label: str, max_value: int) -> int:
    """The decay step: empty (the default) means `fraction` of the steps, shown as such."""
    words = t(FRACTIONS[fraction])
    typed = column.number_input(
        label,
        min_value=0,
        max_value=max_value,
        value=None,
        step=1000,
        placeholder=f"{words}: {int(steps * fraction):,}",
        key=key,
        bind="query-params",
        persist_state="session",
        help=t(
            "Leave it empty to drop the rate {words} through the run, as the lecture does "
            "({step:,} of 200,000 steps); type a step to choose your own.",
            words=words,
            step=int(200_000 * fraction),
        ),
    )
    return int(steps * fraction) if typed is None else typed


def decay_note(train: TrainConfig) -> str:
    """The chart caption's sentence about the drop, for this run's schedule."""
    if train.lr_decay_step >= train.steps:
        return t(
            "This run ends before the learning-rate decay (step {step:,}), "
            "so its rate never drops.",
            step=train.lr_decay_step,
        )
    words = next(
        (w for f, w in FRACTIONS.items() if int(train.steps * f) == train.lr_decay_step), None
    )
    step = train.lr_decay_step
    where = (
        t("{words} (step {step:,})", words=t(words), step=step)
        if words
        else t("at step {step:,}", step=step)
    )
    return t("The drop {where} is the learning-rate decay.", where=where)
