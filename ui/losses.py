"""A run's losses as the pages show them: the three metrics under a live chart, the table of
runs trained side by side next to the lecture's log, and the tables' loss headers."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from engine.train import Job
from ui import small_data
from ui.i18n import N_, t


def loss_metrics(job: Job, columns, train_help: str) -> None:
    """Train, dev and test loss in three columns: the latest evaluation, test only at the end.
    A split without words (a tiny dataset) shows — , never nan."""
    last, final = (job.evals[-1] if job.evals else {}), job.final or {}
    c1, c2, c3 = columns
    c1.metric(t("train loss"), small_data.loss(last.get("train")), help=train_help)
    c2.metric(
        t("dev loss"),
        small_data.loss(last.get("dev")),
        help=t("The dev split: words the model never trains on."),
    )
    c3.metric(
        t("test loss"),
        small_data.loss(final.get("test")),
        help=t("Evaluated once, at the end."),
    )


LOSSES = {"train": N_("train loss"), "dev": N_("dev loss"), "test": N_("test loss")}


def headers(columns: dict[str, str]) -> dict[str, str]:
    """A table's column names in the session's language, from {column: message}: the loss
    columns train / dev / test by their short names, or all by their long ones (train loss)
    where a short one reads like another column (Spanish: a run and train are both
    «entrenamiento»)."""
    shown = {k: t(v) for k, v in columns.items()}
    if len(set(shown.values())) < len(shown):
        shown |= {k: t(LOSSES[k]) for k in columns if k in LOSSES}
    return shown


def results_table(jobs: dict[str, Job], logs: dict, step0: bool = False) -> None:
    """Each run's final train and dev loss next to the lecture's loss log {label: (train, dev)}
    (no lecture columns when `logs` is empty: another dataset than the lecture's)."""
    rows = []
    for label, job in jobs.items():
        final, log = job.final or {}, logs.get(label, (math.nan, math.nan))
        row = {"run": label}
        if step0:
            row["step-0 loss"] = 10 ** job.lossi[0] if job.lossi else math.nan
        row |= {"train": final.get("train", math.nan), "dev": final.get("dev", math.nan)}
        if logs:
            row |= {"lecture's log: train": log[0], "lecture's log: dev": log[1]}
        rows.append(row)
    names = headers(
        {
            "run": N_("run"),
            "step-0 loss": N_("step-0 loss"),
            "train": N_("train"),
            "dev": N_("dev"),
            "lecture's log: train": N_("lecture's log: train"),
            "lecture's log: dev": N_("lecture's log: dev"),
        }
    )
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        placeholder="—",
        column_config={
            c: st.column_config.TextColumn(names[c])
            if c == "run"
            else st.column_config.NumberColumn(names[c], format="%.4f")
            for c in rows[0]
        },
    )
