"""Beyond the lectures: the model zoo page driven through AppTest."""

from engine import data
from engine.serve.records import snapshot
from tests.apptest import charts, finish_training, metrics, page, series, spec, title, train
from tests.test_i18n import english_left, shown

TINY = data.from_text(
    "\n".join(["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "zoe"] * 30), "tiny"
)


def small(at):
    at.number_input(key="zoo_embd").set_value(16).run()
    at.number_input(key="zoo_layer").set_value(2).run()
    return at


def test_defaults_are_makemores_and_bad_sizes_get_a_clear_message():
    at = page("pages/zoo/zoo.py", TINY)
    assert at.selectbox(key="zoo_family").value == "transformer"
    assert at.number_input(key="zoo_block").value == 9  # "isabella" + the start token
    assert (at.number_input(key="zoo_layer").value, at.number_input(key="zoo_head").value) == (4, 4)  # fmt: skip
    assert "216 training words, 24 test words" in at.caption[0].value
    at.number_input(key="zoo_embd").set_value(30).run()
    assert "divisible by n_head" in at.error[0].value
    at.number_input(key="zoo_embd").set_value(32).run()
    at.number_input(key="zoo_block").set_value(5).run()
    assert "too short for this dataset" in at.error[0].value
    at.number_input(key="zoo_block").set_value(65).run()  # the upper limit builds
    assert not at.error
    assert not at.exception


def test_two_families_train_live_overlay_and_fill_the_table():
    at = small(page("pages/zoo/zoo.py", TINY))
    job = train(at, "zoo", 60, "zoo_steps")
    assert job.done
    assert metrics(at)["test loss"] == f"{job.final['test']:.4f}"
    at.selectbox(key="zoo_family").select("gru").run()
    gru = train(at, "zoo", 60, "zoo_steps")
    assert gru.config.family == "gru"
    table = at.dataframe[0].value
    zoo_rows = table[table["model"].str.startswith("zoo:")]
    assert len(zoo_rows) == 2
    assert "uniform guess, ln V" in set(table["model"])
    overlay = next(c for c in charts(at) if len(spec(c).get("layer", [])) == 2)
    assert overlay is not None
    piles = [df.value.columns[0] for df in at.dataframe[1:4]]
    assert piles == ["in train", "in test", "new words"]
    assert sum(len(df.value) for df in at.dataframe[1:4]) == 30
    titles = {title(spec(c)) for c in charts(at)}
    assert {"hidden state h", "update gate z"} <= titles
    assert not at.exception


def test_transformer_attention_view_and_a_word_it_cannot_read():
    at = small(page("pages/zoo/zoo.py", TINY))
    train(at, "zoo", 20, "zoo_steps")
    assert any(c.value.startswith("Each square") for c in at.caption)
    attention = next(spec(c) for c in charts(at) if "facet" in spec(c))
    assert attention["facet"]["row"]["field"] == "layer"
    at.number_input(key="zoo_layer").set_value(5).run()  # 5 x 4 squares: one layer at a time
    train(at, "zoo", 5, "zoo_steps")
    at.selectbox(key="zoo_att_layer").select(5).run()
    attention = next(spec(c) for c in charts(at) if "facet" in spec(c))
    assert attention["facet"]["field"] == "head"
    assert attention["columns"] == 4
    at.text_input(key="zoo_word").input("emmaé").run()
    assert "Not in this dataset's vocabulary" in at.error[0].value
    assert not at.exception


def test_a_zoo_run_in_compare_runs_exported_and_imported():
    at = small(page("pages/zoo/zoo.py", TINY))
    at.selectbox(key="zoo_family").select("bow").run()
    job = train(at, "zoo", 40, "zoo_steps")
    at.switch_page("pages/classroom/compare.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    mine = table[table["from"] == "this session"]
    assert mine["dev"].tolist() == [job.final["dev"]]
    assert mine["model"].iloc[0].startswith("model zoo: family bow")
    exported = snapshot(job, TINY).to_bytes()
    other = page("pages/classroom/compare.py", TINY)
    other.file_uploader(key="import:file").upload("bow.pt", exported, "application/octet-stream")
    other.run()
    assert not other.exception
    finish_training(other, "reevaluate")
    check = other.dataframe[0].value
    assert list(check["evaluated now"]) == [job.final[s] for s in ("train", "dev", "test")]


def test_the_live_curve_calls_its_held_out_split_test():
    at = small(page("pages/zoo/zoo.py", TINY))
    train(at, "zoo", 20, "zoo_steps")
    curve = next(c for c in charts(at) if "minibatch loss" in series(c))
    assert "test loss (evaluated)" in series(curve)
    assert "dev loss (evaluated)" not in series(curve)


def test_a_three_word_dataset_has_no_test_set_and_breaks_nothing():
    tiny = data.from_text("ab\ncd\nef\n", "three words")
    at = small(page("pages/zoo/zoo.py", tiny))
    assert "test set (10 %) is empty" in at.warning[0].value
    job = train(at, "zoo", 20, "zoo_steps")
    assert job.done
    assert metrics(at)["test loss"] == "–"  # an en dash: no test words
    assert not at.exception


# --- in Spanish: the states a first render does not show ----------------------------------


def test_the_zoo_in_spanish_after_training_a_transformer_and_a_gru():
    at = small(page("pages/zoo/zoo.py", "spanish-municipalities", lang="es"))
    train(at, "zoo", 20, "zoo_steps")
    assert any(c.value.startswith("Cada cuadrado") for c in at.caption)  # the attention
    assert not english_left(shown(at)), english_left(shown(at))
    at.selectbox(key="zoo_family").select("gru").run()
    train(at, "zoo", 20, "zoo_steps")
    assert {"estado oculto h", "puerta de actualización z"} <= {title(spec(c)) for c in charts(at)}
    assert [df.value.columns[0] for df in at.dataframe[1:4]] == ["en entrenamiento", "en prueba", "palabras nuevas"]  # fmt: skip
    assert not english_left(shown(at)), english_left(shown(at))
    at.text_input(key="zoo_word").input("ab7").run()  # a character it has never seen
    assert at.error[0].value.startswith("No está en el vocabulario")
    assert not at.exception


def test_compare_runs_in_spanish_with_a_zoo_run_and_its_import():
    at = small(page("pages/zoo/zoo.py", "spanish-municipalities", lang="es"))
    at.selectbox(key="zoo_family").select("bow").run()
    job = train(at, "zoo", 20, "zoo_steps")
    at.switch_page("pages/classroom/compare.py").run()
    table = at.dataframe[0].value
    mine = table[table["origen"] == "esta sesión"]
    # a run and the train loss would both read «entrenamiento»: the losses take long names
    assert mine["pérdida de validación"].tolist() == [job.final["dev"]]
    assert at.multiselect(key="curves").options[0].endswith(mine["id"].iloc[0])
    assert not english_left(shown(at)), english_left(shown(at))
    exported = snapshot(job, at.session_state["dataset"]).to_bytes()
    other = page("pages/classroom/compare.py", "spanish-municipalities", lang="es")
    other.file_uploader(key="import:file").upload("bow.pt", exported, "application/octet-stream")
    finish_training(other.run(), "reevaluate")  # the import, evaluated again
    assert list(other.dataframe[0].value["partición"]) == ["entrenamiento", "validación", "prueba"]
    assert not english_left(shown(other)), english_left(shown(other))


def test_the_lectures_rows_of_the_zoos_table_in_spanish_on_names(names):
    """On the lectures' data the table starts with the lecture models' published numbers:
    their lecture and title in the session's language (a table's cells are Arrow data,
    which the page-wide check does not read)."""
    at = page("pages/zoo/zoo.py", "names", lang="es")
    models = at.dataframe[0].value.iloc[:, 0].tolist()
    assert models[0] == (
        "Clase 4 · makemore parte 3: part3-batchnorm (Inicialización de Kaiming + BatchNorm)"
    )
    assert models[2].startswith("Más allá de las clases: fast-wavenet (Receta rápida")
    assert not english_left(models), english_left(models)
