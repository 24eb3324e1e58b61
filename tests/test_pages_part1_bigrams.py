"""Lesson 1 pages driven through AppTest: the numbers shown are the engine's, the charts are right.

Widgets are set by key the way a student moves them; every metric is compared with the
engine computed independently here, and the data behind each chart is read back from the
page (the charts' marks and encodings are tested with their builders, in test_charts).
"""

from __future__ import annotations

import itertools
import math

import pytest
from streamlit.testing.v1 import AppTest

from engine import data, likelihood
from engine.lectures import LECTURE_SEED
from engine.part1_bigrams import neural, ngram
from engine.sample import sample_words
from tests.apptest import (
    app,
    chart_data,
    charts,
    finish_training,
    metrics,
    page,
    spec,
    table,
    title,
)
from tests.conftest import needs_names
from tests.printed import reads_as
from tests.test_i18n import english_left
from tests.test_i18n import shown as texts_shown

INSPECTOR = {"sampling_tab": "Likelihood inspector"}
E03 = {"exercise": "E03 · tune k"}
PAGES = [
    "pages/part1_bigrams/counts.py",
    "pages/part1_bigrams/smoothing.py",
    "pages/part1_bigrams/sampling.py",
    "pages/part1_bigrams/neural_bigram.py",
    "pages/part1_bigrams/exercises.py",
]
SPANISH = data.load_builtin("spanish-municipalities")


def marks(s: dict) -> list[str]:
    return [layer["mark"]["type"] for layer in s["layer"]]


def fmt(value: float, digits: int = 4) -> str:
    return "∞" if math.isinf(value) else f"{value:.{digits}f}"


@pytest.fixture(scope="module")
def ds():
    """The dataset a fresh session gets (names.txt here, the census names without it)."""
    return app().session_state.dataset


# ---------------------------------------------------------------------------------------
# bigram counts


def test_heatmap_is_the_count_table_with_dot_first_and_labels(ds):
    at = page("pages/part1_bigrams/counts.py")
    heat = charts(at)[0]
    assert spec(heat)["layer"][1]["encoding"]["x"]["sort"] == ds.itos  # '.' first
    df = chart_data(heat, 1)
    N = ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size)
    assert len(df) == ds.vocab_size**2
    assert df["count"].tolist() == N.reshape(-1).tolist()
    m = metrics(at)
    assert m["Bigrams counted"] == f"{int(N.sum()):,}"
    assert m["Cells never seen"] == f"{int((N == 0).sum()):,} of {ds.vocab_size**2:,}"


def test_heatmap_switches_to_probabilities_and_follows_k(ds):
    at = page("pages/part1_bigrams/counts.py")
    at.button_group(key="heat_show").set_value("log-probabilities")
    at.select_slider(key="heat_k").set_value(0.0).run()
    heat = charts(at)[0]
    assert spec(heat)["layer"][1]["encoding"]["color"]["field"] == "logp"  # coloured by log p
    df = chart_data(heat, 1)
    P = ngram.probabilities(ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size), 0.0)
    assert df["p"].tolist() == pytest.approx(P.reshape(-1).double().tolist())
    assert df["logp"].isna().sum() == int((P == 0).sum())  # log 0 = -inf is drawn white
    assert metrics(at)["NLL over all words (k = 0)"] == fmt(ngram.nll(P, ds.words, 2, ds.stoi))


def test_choosing_a_row_draws_its_distribution(ds):
    at = page("pages/part1_bigrams/counts.py")
    at.selectbox(key="heat_row").select("a").run()
    bars = charts(at)[1]
    assert "'a'" in title(spec(bars))
    P = ngram.probabilities(ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size), 1.0)
    got = chart_data(bars)
    assert got["p"].tolist() == pytest.approx(P[ds.stoi["a"]].double().tolist())
    top = at.dataframe[0].value
    N = ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size)
    assert top["count"].iloc[0] == int(N.max())


@pytest.mark.reproduction
@needs_names
def test_names_bigram_page_has_the_lectures_numbers():
    at = page("pages/part1_bigrams/counts.py")
    m = metrics(at)
    assert m["Bigrams counted"] == "228,146"
    assert m["Cells never seen"] == "102 of 729"
    assert m["Most frequent bigram"] == "n. × 6,763"
    assert reads_as(float(m["NLL over all words (k = 1)"]), "2.4546", units=0.6)
    top = at.dataframe[0].value
    assert top["n-gram"].tolist()[:4] == ["n.", "a.", "an", ".a"]
    assert top["count"].tolist()[:4] == [6763, 6640, 5438, 4410]


# ---------------------------------------------------------------------------------------
# smoothing


def test_smoothing_metrics_are_the_engines_nll(ds):
    at = page("pages/part1_bigrams/smoothing.py")
    N_all = ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size)
    labels = {"train": "Train", "dev": "Dev", "test": "Test", "all": "All words (lecture)"}
    for k in (0.0, 0.3, 1.0, 100.0):
        at.select_slider(key="smooth_k").set_value(k).run()
        assert not at.exception
        expected = ngram.split_nll(ds.words, 2, ds.stoi, ds.vocab_size, k)
        expected["all"] = ngram.nll(ngram.probabilities(N_all, k), ds.words, 2, ds.stoi)
        m = metrics(at)
        for split, label in labels.items():
            assert m[f"{label} NLL"] == fmt(expected[split]), (k, split)
            shown = m[f"{label} perplexity"]
            if math.isinf(expected[split]):
                assert shown == "∞"
            else:
                assert float(shown) == pytest.approx(math.exp(expected[split]), abs=0.006)


@pytest.mark.reproduction
@needs_names
def test_smoothing_reproduces_the_lecture_and_explains_infinity():
    at = page("pages/part1_bigrams/smoothing.py")
    assert reads_as(float(metrics(at)["All words (lecture) NLL"]), "2.4546", units=0.6)  # k = 1
    assert not at.error
    at.select_slider(key="smooth_k").set_value(0.0).run()
    m = metrics(at)
    assert reads_as(float(m["All words (lecture) NLL"]), "2.4540", units=0.6)
    assert m["Dev NLL"] == "∞"
    assert "k = 0 makes the dev loss infinite" in at.error[0].value
    assert "never occur in the train words" in at.error[0].value


def test_smoothing_curves_spec_and_current_k_rule(ds):
    at = page("pages/part1_bigrams/smoothing.py")
    at.select_slider(key="smooth_k").set_value(10.0).run()
    full, zoom, heat = charts(at)
    rules = chart_data(full, marks(spec(full)).index("rule"))
    assert 10.0 in rules["k"].tolist()
    curve = chart_data(full, 0)
    train = curve[curve["split"] == "train"].sort_values("k")["nll"].tolist()
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(train))  # rises with k
    assert title(spec(zoom)).startswith("Zoom")
    # the heatmap follows k: the train split's table smoothed with k = 10
    tr, _, _ = data.split_words(ds.words)
    P = ngram.probabilities(ngram.count_table(tr, 2, ds.stoi, ds.vocab_size), 10.0)
    assert chart_data(heat, 1)["p"].tolist() == pytest.approx(P.reshape(-1).double().tolist())


def test_dev_curve_is_u_shaped_around_the_marked_best_k(ds):
    at = page("pages/part1_bigrams/smoothing.py")
    full = charts(at)[0]
    curve = chart_data(full, 0)
    dev = curve[curve["split"] == "dev"].sort_values("k")
    finite = dev[dev["nll"].map(math.isfinite)]
    best = finite.loc[finite["nll"].idxmin(), "k"]
    rules = chart_data(full, marks(spec(full)).index("rule"))
    assert best in rules["k"].tolist()
    values = finite["nll"].tolist()
    i = values.index(min(values))
    assert all(a >= b for a, b in itertools.pairwise(values[: i + 1]))  # falls, then
    assert all(a <= b for a, b in itertools.pairwise(values[i:]))  # rises: a U


# ---------------------------------------------------------------------------------------
# sampling and the likelihood inspector


def test_samples_are_the_engines_and_marked_new_or_known(ds):
    at = page("pages/part1_bigrams/sampling.py")
    at.number_input(key="sample_count").set_value(30)
    at.number_input(key="sample_seed").set_value(42)
    at.slider(key="sample_temp").set_value(0.5).run()
    P = ngram.probabilities(ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size), 1.0)
    expected = sample_words(ngram.NGramModel(P, 2), ds.itos, n=30, seed=42, temperature=0.5)
    samples = table(at, "sample")
    assert samples["sample"].tolist() == expected
    known = set(ds.words)
    assert samples["status"].tolist() == ["in the data" if w in known else "new" for w in expected]
    new = sum(w not in known for w in expected)
    m = metrics(at)
    assert m["New words"] == f"{100 * new / 30:.0f} %"
    assert m["Already in the data"] == f"{30 - new} of 30"
    lengths = spec(charts(at)[0])
    assert lengths["mark"]["type"] == "line"
    assert lengths["encoding"]["x"]["field"] == "length"


@needs_names
def test_lecture_seed_and_trigram_memorise_more():
    at = page("pages/part1_bigrams/sampling.py")
    assert at.number_input(key="sample_seed").value == LECTURE_SEED
    bigram_known = metrics(at)["Already in the data"]
    at.button_group(key="sample_n").set_value(4).run()
    four_known = metrics(at)["Already in the data"]
    assert int(four_known.split()[0]) > int(bigram_known.split()[0])


def test_inspector_walks_through_emma(ds):
    at = page("pages/part1_bigrams/sampling.py", **INSPECTOR)
    assert at.text_input(key="inspect_word").value == "emma"
    P = ngram.probabilities(ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size), 1.0)
    rows = likelihood.word_logprobs(ngram.NGramModel(P, 2), "emma", ds.stoi)
    rank = ngram.word_rank(P, "emma", ds.words, 2, ds.stoi)
    m = metrics(at)
    assert m["Mean NLL"] == fmt(rank.nll)
    assert m["Log-likelihood"] == fmt(sum(math.log(r["p"]) for r in rows))
    assert m[f"Rank among {rank.total:,} words"] == f"{rank.rank:,}"
    assert m["More likely than"] == f"{rank.percentile:.1f} %"
    steps = table(at, "step")
    assert steps["step"].tolist() == [".e", "em", "mm", "ma", "a."]
    assert steps["p"].tolist() == pytest.approx([r["p"] for r in rows])
    bars = spec(charts(at)[0])
    assert marks(bars) == ["bar", "text"]
    assert bars["layer"][0]["encoding"]["y"]["field"] == "bar"


@pytest.mark.reproduction
@needs_names
def test_inspector_matches_the_lecture_and_normalises_case():
    at = page("pages/part1_bigrams/sampling.py", **INSPECTOR)
    steps = table(at, "step")
    assert steps["p"].iloc[0] == pytest.approx(0.0478, abs=5e-5)  # .e, part 1 cell 46
    mean = metrics(at)["Mean NLL"]
    at.text_input(key="inspect_word").input("EMMA").run()
    assert metrics(at)["Mean NLL"] == mean
    assert any("'emma'" in c.value.replace("\\", "") for c in at.caption)


@pytest.mark.parametrize("typed", ["zoë", "em.ma", "x y"])
def test_inspector_warns_about_characters_outside_the_vocabulary(typed, ds):
    at = page("pages/part1_bigrams/sampling.py", **INSPECTOR)
    at.text_input(key="inspect_word").input(typed).run()
    assert not at.exception
    if all(c in ds.stoi and c != "." for c in typed):
        pytest.skip("this dataset can spell it")
    assert at.warning
    assert "vocabulary has no" in at.warning[0].value
    assert not any(m.label == "Mean NLL" for m in at.metric)


def test_inspector_at_k0_shows_an_infinite_surprisal(ds):
    at = page("pages/part1_bigrams/sampling.py", **INSPECTOR)
    at.select_slider(key="sample_k").set_value(0.0)
    at.text_input(key="inspect_word").input("qz").run()  # no name has q -> z
    if all(c in ds.stoi for c in "qz"):
        assert metrics(at)["Mean NLL"] == "∞"
        labels = chart_data(charts(at)[0])["label"].tolist()
        assert "∞" in labels


# ---------------------------------------------------------------------------------------
# the neural bigram


def test_neural_bigram_trains_to_the_engines_numbers(ds, monkeypatch):
    monkeypatch.setattr(neural.NeuralBigramJob, "CHUNKS", 3)  # 3 page runs instead of 30
    at = page("pages/part1_bigrams/neural_bigram.py")
    assert at.info  # press Train
    at.number_input(key="nb_steps").set_value(30).run()
    at.button(key="neural_bigram:train").click().run()
    job = finish_training(at, "neural_bigram")
    assert not at.exception
    assert job.step == 30
    cfg = neural.NeuralBigramConfig(method="counts")  # the page's default
    ref = neural.NeuralBigram(ds.words, ds.stoi, ds.vocab_size, cfg)
    ref.step(30)
    m = metrics(at)
    assert m["Loss"] == f"{ref.losses[-1]:.4f}"
    assert m["NLL part"] == f"{ref.data_losses[-1]:.4f}"
    floor = ngram.nll(
        ngram.probabilities(ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size), 0.0),
        ds.words,
        2,
        ds.stoi,
    )
    assert m["Count model NLL (k = 0)"] == f"{floor:.4f}"
    loss, _zoom, learned, _counts, distance = charts(at)
    s = spec(loss)
    assert marks(s) == ["line", "rule"]
    refs = chart_data(loss, 1)
    assert refs["loss"].iloc[0] == pytest.approx(floor)
    assert chart_data(loss, 0)["step"].max() == 29
    assert spec(learned)["layer"][1]["encoding"]["color"]["field"] == "p"
    assert chart_data(learned, 1)["p"].tolist() == pytest.approx(
        ref.probs().reshape(-1).double().tolist(), abs=1e-6
    )
    d = chart_data(distance)
    assert d["distance"].iloc[-1] < d["distance"].iloc[0]  # softmax(W) closes in on the counts


# ---------------------------------------------------------------------------------------
# the exercises


def open_tab(at, key: str, label: str) -> AppTest:
    """Open a lazy tab. AppTest cannot click tabs; the tab is bound to the URL, so set both
    its state and its query parameter, as following a link with ?key=label does."""
    at.query_params[key] = label
    at.session_state[key] = label
    at.run()
    assert not at.exception, (label, at.exception)
    return at


def test_e01_and_e02_tables_are_the_engines(ds):
    at = page("pages/part1_bigrams/exercises.py")
    e01 = table(at, "contexts seen")
    for n, shown in zip(e01["n"], e01["NLL, k = 1"], strict=True):
        P = ngram.probabilities(ngram.count_table(ds.words, n, ds.stoi, ds.vocab_size), 1.0)
        assert shown == pytest.approx(ngram.nll(P, ds.words, n, ds.stoi), abs=1e-6)
    walk = table(at, "−log p")
    assert walk["n-gram"].tolist()[:2] == ["..e", ".em"] or "emma" not in ds.words
    by_order = spec(charts(at)[0])
    assert by_order["mark"]["type"] == "line"
    assert by_order["encoding"]["y"]["field"] == "nll"
    open_tab(at, "exercise", "E02 · train / dev / test")
    e02 = table(at, "dev − train")
    for n, row in zip((1, 2, 3, 4), e02.itertuples(), strict=True):
        expected = ngram.split_nll(ds.words, n, ds.stoi, ds.vocab_size, 1.0)
        assert [row.train, row.dev, row.test] == [
            fmt(expected[s]) for s in ("train", "dev", "test")
        ]


@pytest.mark.reproduction
@needs_names
def test_e01_trigram_matches_the_documented_numbers():
    at = page("pages/part1_bigrams/exercises.py")
    e01 = table(at, "contexts seen").set_index("model")
    assert e01.loc["trigram", "NLL, k = 1"] == pytest.approx(2.212582, abs=1e-6)
    assert e01.loc["bigram", "NLL, k = 0"] == pytest.approx(2.454014, abs=1e-6)
    assert e01.loc["unigram", "NLL, k = 0"] == pytest.approx(2.8227, abs=5e-5)


def test_e03_picks_k_on_dev_and_reveals_test_once(ds):
    at = page("pages/part1_bigrams/exercises.py", **E03)
    at.button_group(key="e03_n").set_value(2).run()
    m = metrics(at)
    best = float(m["Best k on dev"])
    assert not any(label.startswith("Test NLL") for label in m)
    at.button(key="e03_reveal").click().run()
    m = metrics(at)
    tr, _, te = data.split_words(ds.words)
    P = ngram.probabilities(ngram.count_table(tr, 2, ds.stoi, ds.vocab_size), best)
    assert m[f"Test NLL at k = {best:g}"] == fmt(ngram.nll(P, te, 2, ds.stoi))
    assert all(b.key != "e03_reveal" for b in at.button)  # evaluated once: the button is gone


@pytest.mark.reproduction
@needs_names
def test_e04_e05_equivalences_with_the_lectures_numbers():
    at = page("pages/part1_bigrams/exercises.py", exercise="E04 · one-hot")
    m = metrics(at)
    assert m["max |one_hot @ W − W[xs]| over all 228,146 bigrams"] == "0"
    onehot = spec(charts(at)[0])
    assert onehot["mark"]["type"] == "rect"
    assert onehot["encoding"]["x"]["field"] == "column"
    assert chart_data(charts(at)[0])["value"].sum() == 5  # one 1 per input of .emma
    open_tab(at, "exercise", "E05 · cross_entropy")
    m = metrics(at)
    assert reads_as(float(m["Manual loss"]), "3.769305", units=0.6)  # part 1 cell 46
    assert reads_as(float(m["F.cross_entropy"]), "3.769305", units=0.6)
    at.select_slider(key="e05_scale").set_value(200).run()
    m = metrics(at)
    assert m["Manual loss"] in {"nan", "inf"}
    assert math.isfinite(float(m["F.cross_entropy"]))


# ---------------------------------------------------------------------------------------
# other datasets: 45 characters with spaces and accents, and a tiny upload


TABS = {
    "pages/part1_bigrams/sampling.py": ("sampling_tab", ["Sample words", "Likelihood inspector"]),
    "pages/part1_bigrams/exercises.py": (
        "exercise",
        ["E01 · n-grams", "E02 · train / dev / test", "E03 · tune k", "E04 · one-hot",
         "E05 · cross_entropy"],
    ),
}  # fmt: skip


def every_tab(at, path: str) -> None:
    key, labels = TABS.get(path, (None, []))
    for label in labels:
        open_tab(at, key, label)
        assert charts(at) or at.dataframe or at.warning or at.info, label


@pytest.mark.parametrize("path", PAGES)
def test_every_page_and_tab_on_spanish_municipalities(path):
    at = page(path, "spanish-municipalities")
    assert at.session_state.dataset.vocab_size == 45
    every_tab(at, path)


def test_spanish_heatmap_draws_the_space_and_keeps_tooltips_only():
    at = page("pages/part1_bigrams/counts.py", "spanish-municipalities")
    s = spec(charts(at)[0])
    assert marks(s) == ["rect", "rect"]  # 45 > 30 characters: no text labels
    order = s["layer"][1]["encoding"]["x"]["sort"]
    assert order[0] == "."
    assert "␣" in order
    assert " " not in order
    assert len(order) == 45
    m = metrics(at)
    N = ngram.count_table(SPANISH.words, 2, SPANISH.stoi, 45)
    assert m["Bigrams counted"] == f"{int(N.sum()):,}"


def test_spanish_smoothing_numbers():
    at = page("pages/part1_bigrams/smoothing.py", "spanish-municipalities")
    at.select_slider(key="smooth_k").set_value(0.1).run()
    expected = ngram.split_nll(SPANISH.words, 2, SPANISH.stoi, 45, 0.1)
    assert metrics(at)["Dev NLL"] == fmt(expected["dev"])


def test_tiny_upload_with_an_empty_dev_split():
    at = app()
    at.file_uploader[0].upload("tiny.txt", b"ana\nbob\ncarla\n", "text/plain").run()
    next(b for b in at.button if b.label.startswith("Switch to")).click().run()
    assert at.session_state.dataset.name == "tiny.txt"
    for path in PAGES:
        at.switch_page(path).run()
        assert not at.exception, (path, at.exception)
        every_tab(at, path)
    at.switch_page("pages/part1_bigrams/smoothing.py").run()
    assert metrics(at)["Dev NLL"] == "—"
    assert any("3 words are too few" in w.value and "dev is empty" in w.value for w in at.warning)
    at.switch_page("pages/part1_bigrams/exercises.py").run()
    open_tab(at, "exercise", "E03 · tune k")
    assert any("dev split is empty" in i.value for i in at.info)


# ---------------------------------------------------------------------------------------
# in Spanish: the states a first render does not show (tests.test_i18n opens every page)


def spanish(path: str, **state) -> AppTest:
    return page(path, "spanish-municipalities", lang="es", **state)


def no_english(at: AppTest) -> None:
    left = english_left(texts_shown(at))
    assert not left, "English left in Spanish:\n" + "\n".join(map(repr, left))


def test_spanish_counts_in_log_probabilities_at_k0_and_another_row():
    at = spanish("pages/part1_bigrams/counts.py")
    at.button_group(key="heat_show").set_value("log-probabilities")
    at.select_slider(key="heat_k").set_value(0.0)
    at.selectbox(key="heat_row").select("q").run()
    assert title(spec(charts(at)[0])) == "La tabla de bigramas de 45×45 (log-probabilidades)"
    no_english(at)


def test_spanish_smoothing_at_k0_explains_the_infinite_dev_loss():
    at = spanish("pages/part1_bigrams/smoothing.py")
    at.select_slider(key="smooth_k").set_value(0.0).run()
    assert at.error[0].value.startswith("**Con k = 0 la pérdida de validación es infinita.**")
    no_english(at)


def test_spanish_sampling_tabs_open_from_english_links_and_the_inspector_warns():
    at = spanish("pages/part1_bigrams/sampling.py", sampling_tab="Likelihood inspector")
    assert at.session_state["sampling_tab"] == "Inspector de verosimilitud"
    assert "Log-verosimilitud" in metrics(at)
    no_english(at)
    at.text_input(key="inspect_word").set_value("zoë.").run()
    assert at.warning
    no_english(at)
    open_tab(at, "sampling_tab", "Sample words")
    assert "Palabras nuevas" in metrics(at)
    no_english(at)


def test_spanish_neural_bigram_after_training(monkeypatch):
    monkeypatch.setattr(neural.NeuralBigramJob, "CHUNKS", 2)
    at = spanish("pages/part1_bigrams/neural_bigram.py")
    at.number_input(key="nb_steps").set_value(20).run()
    at.button(key="neural_bigram:train").click().run()
    finish_training(at, "neural_bigram")
    assert "Pérdida" in metrics(at)
    no_english(at)


@pytest.mark.parametrize("label", TABS["pages/part1_bigrams/exercises.py"][1])
def test_spanish_exercise_tabs(label):
    at = open_tab(spanish("pages/part1_bigrams/exercises.py"), "exercise", label)
    if label == E03["exercise"]:
        at.button(key="e03_reveal").click().run()
        assert any(k.startswith("NLL de prueba con k =") for k in metrics(at))
    no_english(at)
