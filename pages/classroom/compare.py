"""Compare runs: this session's runs, the server's run cache and the lectures' loss logs."""

import streamlit as st

from ui import compare, export, runs, state, training
from ui.i18n import t

state.init()
service = runs.service()

st.title(t("Compare runs"))
st.markdown(
    t(
        """
Every run you train on the **MLP trainer**, **Init & saturation**, **BatchNorm**,
**Diagnostics** and **WaveNet** pages lands here, next to the runs anyone trained on
this server before (the **run cache**, kept on disk, so a restart loses nothing) and
the losses the lectures printed. A run is identified by its data, model, seed and
number of steps: the same settings on the same dataset give the same numbers, so a
cached run opens at once instead of training again.
"""
    )
)

running, waiting = service.counts()
cached = service.cache.entries()
c1, c2, c3 = st.columns(3)
c1.metric(
    t("trainings running"),
    t("{running} of {slots}", running=running, slots=service.slots.n),
    help=t(
        "This server trains at most this many runs at once (MAKEMORE_SLOTS); the others wait "
        "in a queue and start by themselves."
    ),
)
c2.metric(t("waiting for a slot"), waiting)
c3.metric(
    t("runs in the cache"),
    len(cached),
    help=t(
        "The least recently used runs are dropped when the cache outgrows "
        "MAKEMORE_RUN_CACHE_MB (default 512 MB)."
    ),
)

with st.expander(t("Import a model"), icon=":material/upload:"):
    st.markdown(
        t(
            "Upload a **Model** file exported here (by you, a classmate or the teacher) to "
            "compare it with your runs. When the dataset it was trained on is open, it is "
            "evaluated again on all three splits: the losses must be the ones it was saved with."
        )
    )
    if (upload := export.import_ui()) is not None:
        compare.imported()[upload.key] = upload
        ds = state.dataset()
        if upload.meta["fingerprint"] == ds.fingerprint:

            def render(evaluation, saved=upload.meta["final"] or {}):
                if not evaluation.done:
                    training.progress(evaluation)
                    return
                again = evaluation.losses
                split, saved_with, now = t("split"), t("saved with the model"), t("evaluated now")
                st.dataframe(
                    {
                        split: [t(compare.SPLITS.get(s, s)) for s in again],
                        saved_with: [saved.get(s) for s in again],
                        now: list(again.values()),
                    },
                    hide_index=True,
                    column_config={
                        c: st.column_config.NumberColumn(format="%.6f") for c in (saved_with, now)
                    },
                )

            training.automatic(
                "reevaluate", upload.key, lambda: compare.reevaluation(upload, ds), render
            )
        else:
            st.caption(
                t(
                    "It was trained on **{name}**, not on the open dataset: open that one on "
                    "Home to evaluate it again.",
                    name=state.md_escape(upload.meta["dataset"]),
                )
            )

found = compare.entries(cached)
with_lectures = st.toggle(
    t("Show the lectures' loss logs"),
    value=True,
    key="lectures",
    bind="query-params",
    help=t("Part 3's loss log after 200,000 steps and part 5's performance log, on names.txt."),
)
rows = compare.table(found, with_lectures)
st.dataframe(
    rows,
    hide_index=True,
    placeholder="—",
    column_config=compare.table_columns(),
    height=min(38 + 35 * len(rows), 640),
)
st.caption(
    t(
        "run: the page that trained it (or the model family, for the cache); from: this "
        "session, imported, the run cache or the lecture. train / dev / test: the loss on the "
        "whole split after training (BatchNorm with its running statistics); — where there is "
        "none (a stopped run, a split without words, a lecture that did not print it). seconds "
        "and steps/s count training steps only. Lecture rows carry the numbers printed in the "
        "notebooks; the presets on each page reproduce them."
    )
)

if not found:
    st.info(
        t(
            "No runs yet. Train one on the **MLP trainer** page (a few thousand steps will do) "
            "and come back."
        ),
        icon=":material/model_training:",
    )
    st.stop()

st.header(t("Loss curves"), anchor=False)
with_cache = st.toggle(
    t("Offer the run cache's runs too"),
    key="curves_cache",
    bind="query-params",
    help=t(
        "Runs trained before on this server (on built-in datasets or on word lists you have "
        "open). Off: only this session's own and imported runs."
    ),
)
labels = [e["label"] for e in found]
offered = [e["label"] for e in found if with_cache or e["from"] != "run cache"]
mine = [e["label"] for e in found if e["from"] == "this session"]
by_label = {e["label"]: e for e in found}
chosen = st.multiselect(
    t("Runs to overlay"),
    offered,
    default=mine[:4],
    format_func=lambda label: by_label[label]["shown"],
    key="curves",
    bind="query-params",
    help=t("Your newest runs are chosen first."),
)
if not offered:
    st.caption(t("No runs of this session yet: train one, or offer the run cache's runs above."))
st.altair_chart(
    compare.curves({by_label[label]["shown"]: compare.lossi(by_label[label]) for label in chosen}),
    width="stretch",
)
st.caption(
    t(
        "y: log10 of the minibatch loss, averaged over equal buckets of steps (at most 1,000 "
        "points per run), as the lectures plot it. Runs of different lengths share the step "
        "axis."
    )
)

st.header(t("Export a run"), anchor=False)
st.markdown(
    t(
        "Take a run home: its weights, its settings, its loss history, samples, and a "
        "PyTorch script of its own that retrains it from the word list and prints the same "
        "losses, without this playground."
    )
)
pick = st.selectbox(
    t("Run to export"), labels, format_func=lambda label: by_label[label]["shown"], key="export_run"
)
entry = by_label[pick]
if (chosen_record := compare.record(entry)) is None:
    st.warning(t("This run has just left the cache (the least recently used go first)."))
else:
    export.downloads(chosen_record, entry["label"].split(" · #")[0], state.dataset())
