"""Lesson 3 pages (init & saturation, BatchNorm, diagnostics), driven through AppTest.

The numbers a page shows must be the engine's, computed here directly; the lecture's own
numbers are checked on makemore's names. Training runs through the page's Train button and
the live fragment, which AppTest runs once per at.run(), so step counts stay tiny.
"""

import math

import pandas as pd
import pytest

from engine import data
from engine.layers import Tanh
from engine.models import MLPConfig
from engine.part3_bn import batchnorm, init, zero_init
from engine.presets import PRESETS
from engine.train import Job
from tests.apptest import app, charts, datasets, metrics, page, specs, train
from tests.conftest import needs_names
from tests.printed import assert_printout, reads_as
from tests.test_part3_bn import CELL_15, CELL_16_STDS, CELL_17_RATIOS

INIT, BN, DIAG = (
    "pages/part3_bn/init.py",
    "pages/part3_bn/batchnorm.py",
    "pages/part3_bn/diagnostics.py",
)
SMALL = "us-census-1990"  # 5,163 names, shipped with the app: quick full-split evaluations


def splits(at):
    return data.make_splits(at.session_state.dataset, 3)


def titled_data(at, text):
    """All rows the chart titled `text` ships."""
    chart = charts(at)[specs(at).index(chart_titled(at, text))]
    return pd.concat(datasets(chart).values())


def chart_titled(at, text):
    for spec in specs(at):
        title = spec.get("title", "")
        title = title.get("text", "") if isinstance(title, dict) else title
        if text in title:
            return spec
    raise AssertionError(f"no chart titled {text!r}")


# ---------------------------------------------------------------------------------------
# init & saturation


@pytest.mark.reproduction
@needs_names
def test_init_page_opens_on_the_original_init_with_the_lectures_loss():
    at = page(INIT)
    m = metrics(at)
    assert reads_as(float(m["Initial loss"]), "27.8817", units=0.6)
    assert m["Uniform baseline ln V"] == "3.2958"  # ln 27, in double precision
    report = init.explore_init(MLPConfig(), splits(at), 27)
    big = init.explore_init(MLPConfig(), splits(at), 27, batch_size=1000)
    assert m["Spread of the logits (std)"] == f"{report.logits_std:.2f}"
    assert m["Largest |logit|"] == f"{report.logits_max:.2f}"
    assert m["Saturated |h| > 0.99"] == f"{report.saturated_fraction:.1%}"
    assert m["Dead neurons"] == f"{big.dead} / 200"


@pytest.mark.reproduction
@needs_names
@pytest.mark.parametrize("name", ["part3-fix-softmax", "part3-fix-tanh", "part3-kaiming"])
def test_each_preset_gives_its_step0_loss(name):
    at = page(INIT)
    at.segmented_control(key="init_preset").set_value(name).run()
    assert reads_as(float(metrics(at)["Initial loss"]), f"{PRESETS[name].step0_loss:.4f}", 0.6)
    assert at.toggle(key="kaiming").value == (name == "part3-kaiming")
    assert at.slider(key="w1").disabled == (name == "part3-kaiming")


def test_sliders_make_a_custom_init_whose_numbers_are_the_engines():
    at = page(INIT)
    at.slider(key="w2").set_value(0.0).run()
    at.slider(key="b2").set_value(0.0).run()
    assert at.segmented_control(key="init_preset").value is None
    assert "Your own init" in at.caption[0].value
    # zero output weights and bias: every logit is 0, exactly the uniform baseline
    V = at.session_state.dataset.vocab_size
    assert metrics(at)["Initial loss"] == f"{math.log(V):.4f}"
    at.slider(key="w1").set_value(2.0).run()  # the extreme: almost everything saturated
    config = MLPConfig(w1_scale=2.0, w2_scale=0.0, b2_scale=0.0)
    report = init.explore_init(config, splits(at), V)
    assert metrics(at)["Saturated |h| > 0.99"] == f"{report.saturated_fraction:.1%}"
    assert not at.exception


def test_init_charts_are_the_engines_histograms_and_saturation_image():
    at = page(INIT)
    pixels = titled_data(at, "|h| > 0.99")
    assert len(pixels) == 32 * 200
    report = init.explore_init(MLPConfig(), splits(at), at.session_state.dataset.vocab_size)
    assert pixels["saturated"].mean() == pytest.approx(report.saturated_fraction)
    for title, hist in (("pre-activations", report.hpreact), ("tanh outputs", report.h)):
        assert titled_data(at, title)["y"].tolist() == pytest.approx(hist.y)


def test_fan_in_demo_shows_the_engines_stds():
    at = page(INIT)
    at.select_slider(key="fan_in").set_value(1000).run()
    demo = init.fan_in_demo(1000)
    assert metrics(at)["std of y = x @ w"] == f"{demo.y_std:.3f}"
    at.toggle(key="fan_scaled").set_value(True).run()
    at.radio(key="fan_gain").set_value(5 / 3).run()
    demo = init.fan_in_demo(1000, scaled=True, gain=5 / 3)
    assert metrics(at)["std of y = x @ w"] == f"{demo.y_std:.3f}"
    assert metrics(at)["expected std of y"] == "1.667"


def test_train_both_trains_the_chosen_init_next_to_the_original():
    at = page(INIT, dataset=SMALL)
    at.segmented_control(key="init_preset").set_value("part3-kaiming").run()
    at.select_slider(key="init_steps").set_value(1000).run()
    race = train(at, "init")
    assert list(race.jobs) == ["Kaiming", "original"]
    assert all(job.step == 1000 and job.final for job in race.jobs.values())
    table = at.dataframe[0].value.set_index("run")
    for label, job in race.jobs.items():
        assert table.loc[label, "train"] == job.final["train"]
        assert table.loc[label, "dev"] == job.final["dev"]
        assert table.loc[label, "step-0 loss"] == pytest.approx(10 ** job.lossi[0])
    assert "lecture's log: train" not in table  # the lecture's numbers are for names only
    hockey = titled_data(at, "first 1,000 steps")  # every step: the hockey stick
    for label, job in race.jobs.items():
        assert hockey[hockey["run"] == label]["value"].tolist() == pytest.approx(job.lossi)


# ---------------------------------------------------------------------------------------
# BatchNorm


def test_batchnorm_page_trains_both_calibrates_and_folds():
    at = page(BN, dataset=SMALL)
    at.select_slider(key="bn_steps").set_value(1000).run()
    race = train(at, "bn")
    bn_job = race.jobs["with BatchNorm"]
    table = at.dataframe[0].value.set_index("run")
    assert table.loc["with BatchNorm", "dev"] == bn_job.final["dev"]
    assert table.loc["without BatchNorm", "train"] == race.jobs["without BatchNorm"].final["train"]
    # batch vs running statistics of the watched neuron, at every step
    assert len(titled_data(at, "mean of the pre-activation")) == 2 * 1000
    assert race.trace.steps[0] == 0
    assert len(race.trace.steps) == 1000  # every step of a 1,000-step run
    at.slider(key="neuron").set_value(199).run()
    assert not at.exception

    at.button(key="bn:calibrate").click().run()
    cal = batchnorm.calibrate_batchnorm(bn_job.model, splits(at))
    shown = at.dataframe[1].value
    assert list(shown["train"]) == pytest.approx([cal.running["train"], cal.calibrated["train"]])
    assert list(shown["dev"]) == pytest.approx([cal.running["dev"], cal.calibrated["dev"]])

    fold = batchnorm.fold_batchnorm(bn_job.model, splits(at).Xdev)
    m = metrics(at)
    assert m["max |Δ logits| on dev"] == f"{fold.max_abs_diff:.2e}"
    assert fold.max_abs_diff < 1e-4
    assert m["parameters before"] == "12,097"
    assert (
        int(m["parameters before"].replace(",", "")) - int(m["parameters after"].replace(",", ""))
        == 200
    )  # gamma and beta (400) gone, b' (200) added


@pytest.mark.parametrize("x0", [-30.0, 0.0, 30.0])
def test_batchnorm_widget_shows_the_batch_mean_and_std(x0):
    at = page(BN)
    at.slider(key="x0").set_value(x0).run()
    w = batchnorm.batchnorm_widget(x0)
    assert metrics(at)["batch mean μ"] == f"{w.mu:.2f}"
    assert metrics(at)["batch std σ"] == f"{w.std:.2f}"
    assert chart_titled(at, "input mu")["title"] == f"input mu {w.mu:.2f} std {w.std:.2f}"


# ---------------------------------------------------------------------------------------
# diagnostics


@pytest.mark.reproduction
@needs_names
def test_lecture_default_reproduces_the_notebooks_printouts():
    at = page(DIAG)
    assert "exactly the lecture's run" in at.caption[0].value
    job = train(at, "diag")
    assert job.step == 1001
    activations, gradients, weights = (c.value.splitlines() for c in at.code)
    # the notebook's printouts, to the digits they hold (see tests/test_part3_bn.py)
    assert_printout(activations, CELL_15, units=1)
    assert_printout(
        gradients,
        [f"layer {n} (      Tanh): mean +0.000000, std {std}" for n, std in
         zip((2, 5, 8, 11, 14), CELL_16_STDS, strict=True)],
        units=2,
    )  # fmt: skip
    assert weights[-1].startswith("weight  (100, 27) | mean ")
    assert reads_as(float(weights[-1].split()[-1]), CELL_17_RATIOS[-1], units=10)
    m = metrics(at)
    assert reads_as(float(m["train loss"]), "2.4003", units=0.6)
    assert reads_as(float(m["dev loss"]), "2.3982", units=0.6)

    # the charts: a histogram per Tanh layer, and the update:data ratio's -3 guide
    for title in ("activation distribution", "gradient distribution"):
        assert titled_data(at, title)["series"].nunique() == 5, title
    assert list(titled_data(at, "update:data ratio")["y"].dropna()) == [-3]


def test_scenarios_set_the_controls_and_the_extremes_render():
    at = page(DIAG, dataset=SMALL)
    at.selectbox(key="diag_scenario").select("Fully linear (no tanh)").run()
    assert at.radio(key="act").value == "linear"
    assert at.toggle(key="bn").value is False
    at.selectbox(key="diag_scenario").select("Learning rate too low (0.001)").run()
    assert at.select_slider(key="diag_lr").value == 0.001
    # the extremes: 10 layers of 400, gain 3, no BatchNorm, a handful of steps
    at.slider(key="depth").set_value(10)
    at.select_slider(key="width").set_value(400)
    at.select_slider(key="gain").set_value(3.0)
    at.toggle(key="bn").set_value(False)
    at.number_input(key="diag_steps").set_value(3).run()
    assert at.selectbox(key="diag_scenario").value is None  # now "your own settings"
    job = train(at, "diag")
    d = job.diagnostics
    assert len(d.activations) == 10
    assert len(d.weights) == 12  # C and 11 Linear weights: 10 hidden + output
    assert at.code[0].value.count("\n") == 9
    assert titled_data(at, "activation distribution")["series"].nunique() == 10
    # the saturation shown is the share of |t| > 0.97 at the first tanh, computed directly
    fresh = Job(job.config, job.train_config, splits(at), 27, record_stats=True)
    for _ in range(3):
        fresh.train_step()
    t = next(layer for layer in fresh.model.layers if isinstance(layer, Tanh)).out
    sat = ((t.abs() > 0.97).float().mean() * 100).item()
    assert f"saturated: {sat:.2f}%" in at.code[0].value.splitlines()[0]


def test_a_diverging_run_says_so_instead_of_crashing():
    at = page(DIAG)
    at.select_slider(key="diag_lr").set_value(3.0)
    at.toggle(key="bn").set_value(False)
    at.select_slider(key="gain").set_value(3.0)
    at.select_slider(key="last_scale").set_value(1.0)
    at.number_input(key="diag_steps").set_value(60).run()
    job = train(at, "diag")
    assert job.done
    if not math.isfinite(job.lossi[-1]):
        assert "diverged" in at.error[0].value


def test_zero_init_exercise_shows_only_the_output_bias_learning():
    at = page(DIAG)
    at.slider(key="depth").set_value(2).run()
    at.number_input(key="zero_steps").set_value(20).run()
    run = train(at, "e01")
    report = zero_init.zero_init_experiment(run.config, splits(at), 27, steps=20)
    table = at.dataframe[-1].value.sort_values("param")
    assert list(table["gets gradient"]) == [p.learns for p in report.params]
    assert table["gets gradient"].sum() == 1
    assert at.dataframe[-1].value["gets gradient"].iloc[0]  # the learner comes first
    assert any(report.learning[0] in m.value for m in at.markdown)
    assert table[table["gets gradient"]]["name"].item() == "BatchNorm1d.beta"
    assert metrics(at)["parameters that learn"] == f"1 of {len(report.params)}"
    assert metrics(at)["train loss after training"] == f"{report.train_loss:.4f}"


# ---------------------------------------------------------------------------------------
# another alphabet


def test_every_page_works_on_spanish_municipalities():
    at = page(INIT, dataset="spanish-municipalities")
    V = at.session_state.dataset.vocab_size
    assert V == 45
    report = init.explore_init(MLPConfig(), splits(at), V)
    assert metrics(at)["Initial loss"] == f"{report.loss:.4f}"
    assert metrics(at)["Uniform baseline ln V"] == f"{math.log(45):.4f}"
    at.switch_page(BN).run()
    assert not at.exception
    at.switch_page(DIAG).run()
    at.number_input(key="diag_steps").set_value(5).run()
    job = train(at, "diag")
    assert job.model.layers[-2].weight.shape[1] == 45
    assert not at.exception


def test_a_dataset_too_small_to_train_gets_a_message_not_a_stack_trace():
    at = app()
    at.file_uploader[0].upload("one.txt", b"emma\n", "text/plain").run()
    at.button(key="home_switch").click().run()
    assert len(at.session_state.dataset.words) == 1
    for path in (INIT, BN, DIAG):
        at.switch_page(path).run()
        assert not at.exception, at.exception
        (said,) = [w.value for w in at.warning if "too few" in w.value]
        assert "train and dev are empty, so nothing can be trained on this page" in said
        assert not at.button  # no Train that could only fail


@needs_names
def test_on_names_the_results_sit_next_to_the_lectures_loss_log():
    at = page(INIT)
    at.select_slider(key="init_steps").set_value(1000).run()
    train(at, "init")
    table = at.dataframe[0].value.set_index("run")
    assert table.loc["original", "lecture's log: train"] == pytest.approx(2.1245, abs=1e-4)
    assert any("2.1245 / 2.1682 for the original" in m.value for m in at.markdown)


# ---------------------------------------------------------------------------------------
# in Spanish: the states a first render does not show


def test_init_page_in_spanish_after_training_both_shows_no_english():
    from tests.test_i18n import english_left, shown

    at = page(INIT, "spanish-municipalities", lang="es")
    at.segmented_control(key="init_preset").set_value("part3-kaiming").run()
    at.select_slider(key="init_steps").set_value(1000).run()
    race = train(at, "init")
    assert list(race.jobs) == ["Kaiming", "original"]  # the runs' identities stay
    assert set(at.dataframe[0].value["run"]) == {"Kaiming", "original"}
    assert not english_left(shown(at)), "\n".join(english_left(shown(at)))


def test_batchnorm_page_in_spanish_trained_and_calibrated_shows_no_english():
    from tests.test_i18n import english_left, shown

    at = page(BN, "spanish-municipalities", lang="es")
    at.select_slider(key="bn_steps").set_value(1000).run()
    race = train(at, "bn")
    assert list(race.jobs) == ["with BatchNorm", "without BatchNorm"]
    at.button(key="bn:calibrate").click().run()
    assert set(at.dataframe[0].value["run"]) == {"con BatchNorm", "sin BatchNorm"}
    assert not english_left(shown(at)), "\n".join(english_left(shown(at)))


def test_diagnostics_in_spanish_after_both_trainings_shows_no_english():
    from tests.test_i18n import english_left, shown

    at = page(DIAG, "spanish-municipalities", lang="es")
    at.number_input(key="diag_steps").set_value(5).run()
    train(at, "diag")
    at.slider(key="depth").set_value(2).run()
    at.number_input(key="zero_steps").set_value(20).run()
    train(at, "e01")
    assert "parámetros que aprenden" in metrics(at)
    assert not english_left(shown(at)), "\n".join(english_left(shown(at)))
