"""Lesson 2 pages (MLP trainer, learning-rate finder, embeddings & samples) driven through AppTest."""

import math
import time

from tests.apptest import finish_training, metrics, page, specs, table, train, training_of
from ui import part2_mlp as mlp


def train_tiny(at, steps=300):
    """Train the MLP trainer's run for a few steps."""
    return train(at, "mlp", steps, "steps")


def wait_for_steps(at, steps: int, timeout: float = 60.0):
    """Rerun as the page's timer would until its training has taken `steps` steps."""
    deadline = time.monotonic() + timeout
    while training_of(at, "mlp").step < steps:
        assert time.monotonic() < deadline
        time.sleep(0.1)
        at.run()
    return training_of(at, "mlp")


def test_a_confidently_wrong_init_is_named_and_the_fix_pointed_to():
    at = page("pages/part2_mlp/trainer.py")  # the lecture's plain randn init: loss ~27
    train_tiny(at, steps=100)
    (warning,) = [w.value for w in at.warning if "confidently wrong" in w.value]
    assert "far above ln V = 3.30" in warning
    assert "Init & saturation" in warning
    at.selectbox(key="init").select(mlp.NEAR_UNIFORM).run()
    train_tiny(at, steps=100)
    assert not [w for w in at.warning if "confidently wrong" in w.value]


def test_a_run_too_long_for_the_server_says_how_long_and_what_to_lower():
    at = page("pages/part2_mlp/trainer.py")
    at.slider(key="n_hidden").set_value(at.slider(key="n_hidden").max).run()
    at.number_input(key="batch").set_value(4096).run()
    at.button(key="mlp:train").click().run()
    assert not at.exception
    (error,) = at.error
    assert "would take about" in error.value
    assert "Lower the number of steps, the batch size or the size of the model" in error.value
    assert training_of(at, "mlp") is None


def test_trainer_defaults_are_the_lectures():
    at = page("pages/part2_mlp/trainer.py")
    assert not at.exception
    assert at.slider(key="block").value == 3
    assert at.slider(key="n_embd").value == 10
    assert at.slider(key="n_hidden").value == 200
    assert at.number_input(key="steps").value == 200_000
    assert at.number_input(key="steps").label == "steps (1 to 500,000)"  # the limit, in sight
    assert at.number_input(key="lr").value == 0.1
    assert at.number_input(key="decay").value is None  # halfway, as the lecture
    assert at.number_input(key="decay").proto.placeholder == "halfway: 100,000"
    assert "11,897 parameters" in at.caption[0].value
    assert "then 0.01 from step 100,000" in at.caption[0].value
    assert at.button(key="mlp:stop").disabled


def test_train_grows_the_history_stop_stops_and_resume_resumes():
    at = page("pages/part2_mlp/trainer.py")
    at.number_input(key="steps").set_value(50_000).run()
    at.button(key="mlp:train").click().run()
    first = wait_for_steps(at, 1).step
    job = wait_for_steps(at, first + 500)  # a worker trains; each rerun shows more
    assert len(job.lossi) == job.step
    assert at.progress[0].value > 0
    at.button(key="mlp:stop").click().run()
    time.sleep(0.6)  # Stop lands within half a second
    at.run()
    stopped = training_of(at, "mlp").step
    assert "stopped" in at.progress[0].proto.text
    time.sleep(0.3)
    at.run()
    assert training_of(at, "mlp").step == stopped
    assert not at.button(key="mlp:resume").disabled
    at.button(key="mlp:resume").click().run()
    assert wait_for_steps(at, stopped + 200).step > stopped  # continued, not restarted
    at.button(key="mlp:stop").click().run()
    at.button(key="mlp:reset").click().run()
    assert training_of(at, "mlp") is None


def test_train_after_stop_or_reset_starts_a_new_run_from_step_0():
    at = page("pages/part2_mlp/trainer.py")
    at.number_input(key="steps").set_value(50_000).run()
    at.button(key="mlp:train").click().run()
    stopped = wait_for_steps(at, 1_000)
    at.button(key="mlp:stop").click().run()
    at.button(key="mlp:train").click().run()  # the same settings: a run of its own, from 0
    again = training_of(at, "mlp")
    assert again is not stopped
    assert again.step < 1_000
    assert not any("Another session" in c.value for c in at.caption)
    wait_for_steps(at, 1_100)
    at.button(key="mlp:stop").click().run()
    at.button(key="mlp:reset").click().run()
    at.button(key="mlp:train").click().run()
    assert training_of(at, "mlp").step < 1_000
    at.button(key="mlp:stop").click().run()


def test_a_finished_run_lands_on_the_scoreboard_with_its_losses():
    at = page("pages/part2_mlp/trainer.py")
    job = train_tiny(at)
    at.run()
    assert job.done
    (row,) = at.session_state["mlp_runs"]
    assert row["dev"] == round(job.final["dev"], 4)
    assert row["params"] == 11_897
    assert metrics(at)["dev loss"] == f"{job.final['dev']:.4f}"
    shown = at.dataframe[-1].value
    assert shown["dev"].iloc[0] == row["dev"]


def test_the_learning_rate_drops_halfway_through_a_short_run_unless_set():
    at = page("pages/part2_mlp/trainer.py")
    job = train_tiny(at, steps=400)
    assert job.train_config.lr_decay_step == 200
    assert at.number_input(key="decay").proto.placeholder == "halfway: 200"
    assert any("The drop halfway (step 200) is the learning-rate decay" in c.value
               for c in at.caption)  # fmt: skip
    at.number_input(key="decay").set_value(1_000).run()
    assert "then 0.01 from step 1,000" in at.caption[0].value
    at.button(key="mlp:train").click().run()
    job = finish_training(at, "mlp")
    assert job.train_config.lr_decay_step == 1_000
    at.run()
    assert any("ends before the learning-rate decay (step 1,000)" in c.value for c in at.caption)


def test_loss_curve_has_the_uniform_reference_and_embedding_scatter():
    at = page("pages/part2_mlp/trainer.py")
    train_tiny(at, steps=200)
    curve, scatter = specs(at)[:2]
    marks = [layer["mark"]["type"] for layer in curve["layer"]]
    assert marks[0] == "line"
    assert "rule" in marks
    assert curve["layer"][0]["encoding"]["y"]["title"] == "log10(loss)"
    assert [layer["mark"]["type"] for layer in scatter["layer"]] == ["circle", "text"]


def test_near_uniform_init_button_starts_near_ln_v():
    at = page("pages/part2_mlp/trainer.py")
    at.button[4].click().run()  # "Use the near-uniform init"
    assert at.selectbox(key="init").value == mlp.NEAR_UNIFORM
    job = train_tiny(at, steps=1)
    assert abs(10 ** job.lossi[0] - math.log(27)) < 0.1


def test_lr_finder_suggests_a_rate_and_applies_it():
    at = page("pages/part2_mlp/lr_finder.py")
    assert at.button(key="lr_finder:train").label == "Run the sweep"
    at.button(key="lr_finder:train").click().run()
    finish_training(at, "lr_finder")
    lr = float(metrics(at)["suggested learning rate"])
    assert 10**-2 < lr < 10**0
    (spec,) = specs(at)
    assert [layer["mark"]["type"] for layer in spec["layer"]] == ["line", "rule"]
    next(b for b in at.button if b.label.startswith("Use ")).click().run()
    at.switch_page("pages/part2_mlp/trainer.py").run()
    assert at.number_input(key="lr").value == lr


def test_embeddings_page_samples_and_inspects_the_trained_model():
    at = page("pages/part2_mlp/embeddings.py")
    assert "No MLP" in at.info[0].value
    at.switch_page("pages/part2_mlp/trainer.py").run()
    train_tiny(at)
    at.switch_page("pages/part2_mlp/embeddings.py").run()
    assert not at.exception
    assert len(at.dataframe[1].value) == 20  # the default 20 samples
    assert set(at.dataframe[1].value["where"]) <= {
        "in the training data",
        "in dev/test (never trained on)",
        "new",
    }
    emma = at.dataframe[2].value
    assert list(emma["next"]) == ["e", "m", "m", "a", "."]
    assert list(emma["context"])[:2] == ["...", "..e"]
    at.text_input[0].set_value("zz<b>!").run()
    assert "never seen" in at.warning[0].value


def test_lesson2_pages_work_on_spanish_municipalities():
    at = page("pages/start/home.py")
    at.selectbox[0].select("spanish-municipalities").run()
    at.switch_page("pages/part2_mlp/trainer.py").run()
    train_tiny(at, steps=200)
    for p in ("pages/part2_mlp/embeddings.py", "pages/part2_mlp/lr_finder.py"):
        at.switch_page(p).run()
        assert not at.exception


# --- in Spanish: the states a first render does not show ------------------------------------


def test_the_trainer_in_spanish_after_a_run_shows_no_english():
    from tests.test_i18n import english_left, shown

    at = page("pages/part2_mlp/trainer.py", "spanish-municipalities", lang="es")
    train_tiny(at, steps=200)
    at.run()  # the scoreboard's row
    assert at.session_state["mlp_runs"]
    assert not english_left(shown(at)), "\n".join(english_left(shown(at)))


def test_the_embeddings_page_in_spanish_with_a_trained_mlp_shows_no_english():
    from tests.test_i18n import english_left, shown

    at = page("pages/part2_mlp/trainer.py", "spanish-municipalities", lang="es")
    train_tiny(at, steps=200)
    at.switch_page("pages/part2_mlp/embeddings.py").run()
    at.radio(key="emb_view").set_value("two chosen dimensions").run()
    assert not at.exception
    assert set(table(at, "origen")["origen"]) <= {
        "en los datos de entrenamiento",
        "en validación/prueba (nunca entrenado con ellos)",
        "nueva",
    }
    assert not english_left(shown(at)), "\n".join(english_left(shown(at)))


def test_the_lr_finder_in_spanish_after_the_sweep_shows_no_english():
    from tests.test_i18n import english_left, shown

    at = page("pages/part2_mlp/lr_finder.py", "spanish-municipalities", lang="es")
    train(at, "lr_finder", 200, "lrf_steps")
    assert metrics(at)["tasa de aprendizaje sugerida"]
    assert not english_left(shown(at)), "\n".join(english_left(shown(at)))
