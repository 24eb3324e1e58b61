"""Lessons 0, 4 and 5 (micrograd, backprop ninja, WaveNet) driven through AppTest."""

import pytest

from engine import data
from tests.apptest import chart_data, charts, metrics, page, series, specs, train, training_of
from tests.conftest import needs_names
from tests.test_i18n import english_left, shown


def graph(at):
    (chart,) = at.get("graphviz_chart")
    return chart.proto.spec


# ---------------------------------------------------------------------------------------
# micrograd


def test_micrograd_opens_on_the_lectures_first_graph_after_backward():
    at = page("pages/micrograd/micrograd.py")
    assert not at.exception
    assert "grad 6.0000" in graph(at)  # a.grad of L = (a·b + c)·f
    slider = at.slider[0]
    assert slider.value == slider.max == 3
    grads = at.dataframe[0].value
    assert list(grads["variable"]) == ["a", "b", "c", "f"]
    assert list(grads["micrograd grad"]) == [6.0, -4.0, -2.0, 4.0]
    assert grads["micrograd = torch"].all()


def test_stepping_back_undoes_one_node_of_backward():
    at = page("pages/micrograd/micrograd.py")
    at.button(key="mg_back").click().run()
    assert at.slider[0].value == 2
    assert "e.grad += 1.0000 × -2.0000" in at.code[0].value  # d = e + c passes its grad on
    at.slider[0].set_value(0).run()
    assert "grad 6.0000" not in graph(at)
    assert "Before backward" in at.code[0].value


def test_the_accumulation_bug_disagrees_with_torch():
    at = page("pages/micrograd/micrograd.py")
    at.selectbox(key="mg_example").select("a+a").run()
    assert "grad 2.0000" in graph(at)
    at.toggle(key="mg_bug").set_value(True).run()
    assert "grad 1.0000" in graph(at)
    assert "disagree with torch" in at.warning[0].value
    assert not at.dataframe[0].value["micrograd = torch"].all()


def test_own_expression_bad_input_is_an_error_not_a_crash():
    at = page("pages/micrograd/micrograd.py")
    at.selectbox(key="mg_example").select("own").run()
    assert not at.exception
    for bad, message in [
        ("2a", "not a valid expression"),
        ("__import__('os')", "only functions"),
        ("log(b)", "log needs a positive number"),  # b = -3 by default
    ]:
        at.text_input(key="mg_text").set_value(bad).run()
        assert not at.exception
        assert message in at.error[0].value
    at.text_input(key="mg_text").set_value("exp(a) * z").run()
    assert not at.error
    assert at.number_input(key="mg_var_z").value == 1.0
    at.number_input(key="mg_var_z").set_value(2.0).run()
    grads = at.dataframe[0].value.set_index("variable")
    assert grads.loc["z", "micrograd grad"] == grads.loc["z", "torch grad (float64)"]
    assert "exp" in graph(at)


def test_tiny_mlp_trains_and_matches_torch():
    at = page("pages/micrograd/micrograd.py")
    assert "Press **Train**" in at.info[0].value
    at.toggle(key="mg_slow").set_value(False).run()
    job = train(at, "micrograd", 20, "mg_steps")
    assert job.done
    assert job.step == 20
    m = metrics(at)
    assert m["loss"] == m["torch's loss, same weights"]
    assert float(m["largest gradient difference"]) < 1e-12
    assert float(m["loss"]) < job.losses[0]
    loss_chart, preds_chart = charts(at)[:2]
    assert chart_data(loss_chart)["loss"].tolist() == job.losses  # the loss after each step
    preds = chart_data(preds_chart, layer=1)
    assert len(preds) == 4 * len(job.preds)  # four examples' predictions after every step


def test_slow_motion_trains_one_step_per_tick():
    at = page("pages/micrograd/micrograd.py")
    at.button(key="micrograd:train").click().run()
    job = training_of(at, "micrograd")
    assert job.step == 1
    at.run()
    assert job.step == 2


def test_micrograd_in_spanish_errors_steps_and_training():
    at = page("pages/micrograd/micrograd.py", lang="es")
    at.slider[0].set_value(0).run()
    assert at.code[0].value == "Antes de backward: todos los grad valen 0."
    at.selectbox(key="mg_example").select("own").run()
    for bad, message in [
        ("2a", "No es una expresión válida"),
        ("a % b", "Operador no permitido: % no es una de las operaciones de la clase."),
        ("log(b)", "No está definida con estos valores: log de -3: log necesita un número"),
    ]:
        at.text_input(key="mg_text").set_value(bad).run()
        assert message in at.error[0].value
        assert not english_left(shown(at)), bad
    at.text_input(key="mg_text").set_value("a*a + b").run()
    at.toggle(key="mg_bug").set_value(True).run()
    assert at.warning  # the bug disagrees with torch
    at.toggle(key="mg_slow").set_value(False).run()
    train(at, "micrograd", 5, "mg_steps")
    assert "pérdida en torch, mismos pesos" in metrics(at)
    left = english_left(shown(at))
    assert not left, left


# ---------------------------------------------------------------------------------------
# backprop ninja


@pytest.mark.reproduction
@needs_names
def test_backprop_table_is_all_exact_at_the_defaults():
    at = page("pages/part4_backprop/ninja.py")
    assert not at.exception
    assert metrics(at)["exact gradients"] == "26 / 26"
    assert "All 26 gradients are **exact**" in at.success[0].value
    table = at.dataframe[0].value
    assert len(table) == 26
    assert table["exact"].all()
    (heatmap,) = charts(at)
    assert len(chart_data(heatmap)) == 32 * 27  # dlogits: a cell per example and character


@pytest.mark.reproduction
@needs_names
def test_a_wrong_formula_is_caught_at_its_tensor():
    at = page("pages/part4_backprop/ninja.py")
    at.selectbox(key="ninja_mistake").select("bessel").run()
    assert "**dbndiff2**" in at.error[0].value
    table = at.dataframe[0].value.set_index("tensor")
    assert table.loc["bnvar", "exact"]  # before it in the table: still right
    assert not table.loc["bndiff2", "exact"]
    assert not table.loc["bndiff2", "approximate"]
    at.selectbox(key="ninja_mistake").select("row-sum").run()
    table = at.dataframe[0].value.set_index("tensor")
    assert table.loc["counts_sum_inv", "your shape"] == "(32, 27)"


def test_manual_backward_trains_live_and_checks_its_gradients():
    at = page("pages/part4_backprop/ninja.py")
    at.number_input(key="ninja_hidden").set_value(32).run()
    job = train(at, "ninja", 400, "ninja_steps")
    assert job.done
    assert job.final is not None
    assert metrics(at)["dev loss"] == f"{job.final['dev']:.4f}"
    at.button[-1].click().run()  # "Check the 7 parameter gradients against autograd now"
    checked = at.dataframe[-1].value
    assert list(checked["tensor"]) == ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias"]
    assert checked["approximate"].all()


# ---------------------------------------------------------------------------------------
# WaveNet


def test_wavenet_defaults_are_the_lectures_and_the_shapes_table():
    at = page("pages/part5_wavenet/wavenet.py")
    assert not at.exception
    assert at.selectbox(key="wn_block").value == 8
    assert at.slider(key="wn_embd").value == 24
    assert at.slider(key="wn_hidden").value == 128
    assert at.toggle(key="wn_hier").value
    assert at.toggle(key="wn_bnfix").value
    assert at.number_input(key="wn_decay").value is None  # three quarters in, as the lecture
    assert at.number_input(key="wn_decay").proto.placeholder == "three quarters in: 150,000"
    assert at.number_input(key="wn_seed").value == 42
    shapes = at.dataframe[0].value
    assert list(shapes["output shape"])[:2] == ["(32, 8, 24)", "(32, 4, 48)"]
    assert list(shapes["output shape"])[-1] == "(32, 27)"
    assert len(specs(at)) == 2  # mean and variance per position vs shared
    log = at.dataframe[1].value
    assert list(log["params"]) == [12_097, 22_097, 22_397, 22_397, 76_579]


def test_wavenet_bug_toggle_flat_net_and_impossible_block():
    at = page("pages/part5_wavenet/wavenet.py")
    at.toggle(key="wn_bnfix").set_value(False).run()
    shapes = at.dataframe[0].value
    assert "(1, 4, 128)" in shapes["BatchNorm statistics"].iloc[3]
    assert any("per-position" in c.value for c in at.caption)
    at.toggle(key="wn_hier").set_value(False).run()
    assert "no position dimension" in at.info[0].value
    at.selectbox(key="wn_block").select(3).run()  # the flat net takes any context
    assert not at.error
    at.toggle(key="wn_hier").set_value(True).run()
    assert "power of two" in at.error[0].value
    assert not at.exception


def test_load_a_performance_log_row_then_the_lectures_settings():
    at = page("pages/part5_wavenet/wavenet.py")
    at.selectbox(key="wn_pick").select(2).run()  # flat -> hierarchical, 22K, with the bug
    at.button[-1].click().run()
    assert at.slider(key="wn_hidden").value == 68
    assert at.slider(key="wn_embd").value == 10
    assert not at.toggle(key="wn_bnfix").value
    assert "22,397 parameters" in at.caption[0].value
    next(b for b in at.button if b.label == "Use the lecture's settings").click().run()
    assert at.slider(key="wn_hidden").value == 128
    assert at.toggle(key="wn_bnfix").value


def test_wavenet_trains_live_then_samples():
    at = page("pages/part5_wavenet/wavenet.py")
    at.slider(key="wn_embd").set_value(8).run()
    at.slider(key="wn_hidden").set_value(16).run()
    job = train(at, "wavenet", 300, "wn_steps")
    assert job.done
    curve = series(charts(at)[-1])
    assert len(curve["minibatch loss, finer means"]) == 300  # every step of the short run
    assert curve["dev loss (evaluated)"]["step"].tolist() == [e["step"] for e in job.evals]
    samples = at.dataframe[-1].value
    assert len(samples) == 20
    assert set(samples["in the training data"]) <= {True, False}
    assert at.session_state["wavenet_runs"][0]["steps"] == 300


def test_a_three_word_dataset_breaks_nothing():
    tiny = data.from_text("ab\ncd\nef\n", "three words")
    at = page("pages/part4_backprop/ninja.py", tiny)
    assert not at.exception
    assert metrics(at)["exact gradients"] == "26 / 26"
    job = train(at, "ninja", 50, "ninja_steps")
    assert job.done
    at = page("pages/part5_wavenet/wavenet.py", tiny)
    assert not at.exception
    assert any("3 words are too few" in w.value and "dev is empty" in w.value for w in at.warning)


# ---------------------------------------------------------------------------------------
# in Spanish: the states a first render does not show


def test_backprop_ninja_in_spanish_with_a_mistake_a_run_and_the_check():
    at = page("pages/part4_backprop/ninja.py", "spanish-municipalities", lang="es")
    at.selectbox(key="ninja_mistake").select("bessel").run()
    assert at.error[0].value.startswith("cmp lo detecta")
    at.number_input(key="ninja_hidden").set_value(16).run()
    train(at, "ninja", 50, "ninja_steps")
    at.button[-1].click().run()  # "Comprobar ahora los gradientes de los 7 parámetros ..."
    assert list(at.dataframe[-1].value["tensor"]) == ["C", "W1", "b1", "W2", "b2", "bngain", "bnbias"]  # fmt: skip
    assert not english_left(shown(at)), english_left(shown(at))


def test_wavenet_in_spanish_trained_sampled_and_logged():
    at = page("pages/part5_wavenet/wavenet.py", "spanish-municipalities", lang="es")
    at.slider(key="wn_embd").set_value(8).run()
    at.slider(key="wn_hidden").set_value(16).run()
    train(at, "wavenet", 40, "wn_steps")
    assert "pérdida de validación (evaluada)" in series(charts(at)[-1])
    assert (
        at.dataframe[0].value["estadísticas de BatchNorm"].iloc[3].startswith("sobre dims (0, 1)")
    )
    assert list(at.dataframe[-2].value.columns) == [
        "block", "n_embd", "n_hidden", "jerárquica", "BN sobre (0, 1)", "parámetros", "pasos",
        "entrenamiento", "validación",
    ]  # fmt: skip
    assert not english_left(shown(at)), english_left(shown(at))
    at.toggle(key="wn_hier").set_value(False).run()  # the flat net: no position dimension
    assert "no hay dimensión de posición" in at.info[0].value
    assert not english_left(shown(at)), english_left(shown(at))
