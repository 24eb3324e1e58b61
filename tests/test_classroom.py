"""Classroom features through AppTest: the shared run cache, fair slots, the compare page."""

import time

import pytest

from engine import data
from engine.export import files as export
from engine.export import script
from engine.lectures import LECTURE_SEED
from engine.serve.records import snapshot
from engine.serve.slots import Limits
from tests.apptest import finish_training, page, session, spec, training_of
from tests.test_pages_part2_mlp import train_tiny
from ui import runs as shared
from ui import state


def mlp_page(steps: int, n_hidden: int = 20):
    at = page("pages/part2_mlp/trainer.py")
    at.slider(key="n_hidden").set_value(n_hidden).run()
    at.number_input(key="steps").set_value(steps).run()
    return at


@pytest.fixture
def service():
    """The server's training service, shared by every AppTest session in this process."""
    service = shared.service()
    limits = service.limits
    yield service
    service.limits = limits


def test_a_run_trained_in_one_session_is_served_from_the_cache_in_another():
    first = train_tiny(mlp_page(steps=240, n_hidden=21), steps=240)
    assert first.done
    assert first.final is not None
    other = mlp_page(steps=240, n_hidden=21)  # another student, same settings
    other.button(key="mlp:train").click().run()
    served = training_of(other, "mlp")
    assert served is not first
    assert served.done
    assert served.final == first.final
    assert served.lossi == pytest.approx(first.lossi, abs=1e-6)
    assert any("Served from the run cache" in c.value for c in other.caption)


def test_a_run_in_progress_is_shared_not_trained_twice():
    teacher = mlp_page(steps=50_000, n_hidden=22)
    teacher.button(key="mlp:train").click().run()
    student = mlp_page(steps=50_000, n_hidden=22)
    student.button(key="mlp:train").click().run()
    handle = teacher.session_state["training:mlp"]["handle"]
    assert student.session_state["training:mlp"]["handle"] is handle
    assert any("Another session is training this exact run" in c.value for c in student.caption)
    for at in (teacher, student):
        at.button(key="mlp:stop").click().run()


def test_students_training_compatible_runs_are_told_they_train_together(service):
    """One more student than workers, the same architecture, each their own number of
    steps: the last one joins another's worker, and both pages say so."""
    students = [
        mlp_page(steps=100_000 - 1000 * i, n_hidden=25) for i in range(service.executor.n + 1)
    ]
    for at in students:
        at.button(key="mlp:train").click().run()

    def lines():
        return [at.progress[0].proto.text if at.progress else "" for at in students]

    try:
        deadline = time.monotonic() + 30
        while sum("training together with 1 other run" in t for t in lines()) < 2:
            assert time.monotonic() < deadline, lines()
            time.sleep(0.2)
            for at in students:
                at.run()
    finally:
        for at in students:
            at.button(key="mlp:stop").click().run()


def test_a_training_waits_for_a_free_slot_and_says_where_it_is_in_the_queue(service):
    others = [f"someone else {i}" for i in range(service.slots.n)]
    for owner in others:  # every slot busy
        assert service.slots.request(owner, owner) == 0
    at = mlp_page(steps=5_000, n_hidden=23)
    at.button(key="mlp:train").click().run()
    at.run()
    assert "you are number 1 of 1 in the queue" in at.info[0].value
    assert training_of(at, "mlp").step == 0
    for owner in others:
        service.slots.release(owner, owner)
    deadline = time.monotonic() + 30
    while training_of(at, "mlp").step == 0:
        assert time.monotonic() < deadline
        time.sleep(0.1)
        at.run()
    assert not any("Waiting for a free training slot" in i.value for i in at.info)
    at.button(key="mlp:stop").click().run()
    time.sleep(0.5)
    assert service.counts() == (0, 0)


def test_the_servers_limits_give_a_clear_message(service):
    service.limits = Limits(max_steps=1_000, max_params=1_000_000)
    at = mlp_page(steps=2_000)
    at.button(key="mlp:train").click().run()
    assert "at most 1,000 steps per run" in at.error[0].value
    assert training_of(at, "mlp") is None
    assert not at.exception


def test_the_compare_page_lists_runs_curves_and_the_lecture_logs():
    at = mlp_page(steps=180, n_hidden=24)
    job = train_tiny(at, steps=180)
    at.switch_page("pages/classroom/compare.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    mine = table[table["from"] == "this session"]
    assert len(mine) == 1
    assert mine["dev"].iloc[0] == job.final["dev"]
    assert mine["params"].iloc[0] == job.model.num_params()
    lectures = table[table["run"].str.startswith("lecture log")]
    assert len(lectures) == 11  # part 3's six runs and part 5's five
    assert lectures["dev"].min() == pytest.approx(1.993)
    # a run is labelled by the title of the page that trained it (st.navigation's page)
    assert at.multiselect(key="curves").value[0].startswith("MLP trainer · ")
    (chart,) = at.get("vega_lite_chart")
    assert spec(chart)["mark"]["type"] == "line"

    other = page("pages/classroom/compare.py")  # another session sees it in the cache
    table = other.dataframe[0].value
    assert job.final["dev"] in set(table[table["from"] == "run cache"]["dev"])


def uploaded_run(steps: int = 120):
    """A session that uploaded a word list of its own and trained a tiny MLP on it."""
    words = data.load_builtin("spanish-municipalities").words[:400]
    at = page("pages/start/home.py")
    at.file_uploader[0].upload("pueblos.txt", "\n".join(words).encode(), "text/plain").run()
    next(b for b in at.button if b.label.startswith("Switch to")).click().run()
    at.switch_page("pages/part2_mlp/trainer.py").run()
    at.slider(key="n_hidden").set_value(26).run()
    return at, train_tiny(at, steps=steps)


def listed(at) -> set[str]:
    """The datasets of the runs the compare page lists (table and export picker)."""
    table = at.dataframe[0].value
    picks = at.selectbox(key="export_run").options if at.selectbox else []
    return set(table["dataset"]) | {label.split(" · ")[-2] for label in picks}


def test_runs_on_an_upload_are_private_until_it_is_shared():
    owner, job = uploaded_run()
    assert job.final is not None
    owner.switch_page("pages/classroom/compare.py").run()
    assert "pueblos.txt" in listed(owner)

    other = page("pages/classroom/compare.py")  # a brand-new session on the same server
    assert "pueblos.txt" not in listed(other)
    assert not any("pueblos" in c.value for c in other.caption)  # no download names it

    owner.switch_page("pages/start/home.py").run()
    owner.button(key="share_upload").click().run()
    student = session()
    student.query_params["data"] = owner.query_params["data"]
    student.run()
    student.switch_page("pages/classroom/compare.py").run()
    table = student.dataframe[0].value
    shared = table[table["dataset"] == "pueblos.txt"]
    assert list(shared["from"]) == ["run cache"]
    assert list(shared["dev"]) == [job.final["dev"]]
    token = owner.query_params["data"].removeprefix("upload:")
    record = snapshot(job, owner.session_state.dataset)
    for text in (export.config_json(record), script.standalone_script(record)):
        assert token not in text  # exports never carry the share token


def test_the_compare_pages_choices_are_in_the_link():
    at = session()
    at.query_params["lectures"] = "false"
    at.run()
    at.switch_page("pages/classroom/compare.py").run()
    assert at.toggle(key="lectures").value is False
    assert not at.dataframe or not at.dataframe[0].value["run"].str.startswith("lecture").any()


def test_a_model_exported_then_imported_gives_identical_losses():
    at = mlp_page(steps=150, n_hidden=25)
    job = train_tiny(at, steps=150)
    exported = snapshot(job, at.session_state["dataset"]).to_bytes()

    other = page("pages/classroom/compare.py")  # someone else imports the file
    other.file_uploader(key="import:file").upload("my-mlp.pt", exported, "application/octet-stream")
    other.run()
    assert not other.exception
    finish_training(other, "reevaluate")  # a worker evaluates it on all three splits
    check = other.dataframe[0].value
    assert list(check["split"]) == ["train", "dev", "test"]
    assert list(check["evaluated now"]) == [job.final[s] for s in ("train", "dev", "test")]
    assert list(check["saved with the model"]) == list(check["evaluated now"])
    table = other.dataframe[1].value
    assert table[table["from"] == "imported"]["dev"].tolist() == [job.final["dev"]]
    assert next(b.proto.label for b in other.get("download_button")) == "Model"


def test_compare_runs_leads_with_what_a_run_is_and_overlays_this_sessions_runs():
    train_tiny(mlp_page(steps=140, n_hidden=28), steps=140)  # another session's run: cached
    at = mlp_page(steps=130, n_hidden=29)
    mine = train_tiny(at, steps=130)
    at.switch_page("pages/classroom/compare.py").run()
    table = at.dataframe[0].value
    assert list(table.columns[:5]) == ["run", "dataset", "seed", "steps", "from"]
    (row,) = table[table["from"] == "this session"].to_dict("records")
    title = state.title(at.session_state.dataset)  # "names (makemore)", not its slug
    assert (row["dataset"], row["seed"], row["steps"]) == (title, LECTURE_SEED, 130)
    assert "seed" not in row["training"]
    assert "steps" not in row["training"]
    assert len(table[table["from"] == "run cache"]) >= 1
    # the overlay starts with this session's own runs only; the cache's on request
    (picked,) = at.multiselect(key="curves").value
    assert picked.endswith(f"#{table.loc[table['from'] == 'this session', 'id'].iloc[0][1:]}")
    assert not any("run cache" in o for o in at.multiselect(key="curves").options)
    assert len(at.multiselect(key="curves").options) == 1
    at.toggle(key="curves_cache").set_value(True).run()
    assert len(at.multiselect(key="curves").options) > 1
    (chart,) = at.get("vega_lite_chart")
    assert spec(chart)["encoding"]["y"]["title"] == "log10(loss)"
    lecture = table[table["run"].str.startswith("lecture log")]
    assert lecture["test"].isna().all()  # the lectures printed no test loss ...
    assert at.dataframe[0].proto.placeholder == "—"  # ... which reads —, not None
    assert mine.final is not None
