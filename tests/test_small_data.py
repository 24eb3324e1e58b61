"""Every page on a 1-word and a 5-word upload, and texts that follow the dataset, through AppTest.

A 5-word list has no dev split (80/10/10 gives 4 / 0 / 1), a 1-word list no train split
(0 / 0 / 1): each page that needs a split says so in one sentence, none trains into a
nan without saying so, and no message outlives the dataset it was about.
"""

import math

import pytest
from streamlit.testing.v1 import AppTest

from engine import data
from engine.serve.slots import Limits
from tests.apptest import ROOT, app, finish_training, page, session
from tests.test_pages_part2_mlp import train_tiny
from ui import runs, small_data

FIVE = b"emma\nolivia\nava\nisabella\nsophia\n"
ONE = b"emma\n"
PAGES = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("pages/*/*.py"))
NO_DEV = "dev is empty, so there are no dev losses"
TRAINS = "nothing can be trained on this page"
SAID = {  # what each page that needs the lecture's split says: (on 5 words, on 1 word)
    "pages/part1_bigrams/smoothing.py": (NO_DEV, "the table counted on the train words is empty"),
    "pages/part1_bigrams/exercises.py": (NO_DEV, "the table counted on the train words is empty"),
    "pages/part2_mlp/trainer.py": (NO_DEV, TRAINS),
    "pages/part2_mlp/lr_finder.py": (None, TRAINS),  # it never looks at dev
    "pages/part3_bn/init.py": (NO_DEV, TRAINS),
    "pages/part3_bn/batchnorm.py": (NO_DEV, TRAINS),
    "pages/part3_bn/diagnostics.py": (NO_DEV, TRAINS),
    "pages/part4_backprop/ninja.py": (NO_DEV, TRAINS),
    "pages/part5_wavenet/wavenet.py": (NO_DEV, TRAINS),
    "pages/start/home.py": (NO_DEV, "the lesson pages cannot train on it"),
}


def on_upload(name: str, content: bytes) -> AppTest:
    return switch_to(session(timeout=120).run(), name, content)


def switch_to(at: AppTest, name: str, content: bytes) -> AppTest:
    at.switch_page("pages/start/home.py").run()
    at.file_uploader[0].upload(name, content, "text/plain").run()
    next(b for b in at.button if b.key == "home_switch").click().run()
    return at


def notices(at) -> list[str]:
    return [w.value for w in at.warning if "too few for the lecture's 80/10/10 split" in w.value]


def test_the_sentence_counts_the_words_and_names_the_empty_splits():
    five = data.from_text(FIVE.decode(), "five.txt")
    one = data.from_text(ONE.decode(), "one.txt")
    assert small_data.split_sizes(five) == (4, 0, 1)
    assert small_data.shortfall(five) == (
        "5 words are too few for the lecture's 80/10/10 split: dev is empty, so there are no "
        "dev losses and nothing is tuned on dev. A list of at least 6 words fills all three."
    )
    assert small_data.shortfall(one).startswith("1 word is too few")
    assert "train and dev are empty, so nothing can be trained" in small_data.shortfall(one)
    six = data.from_text("a\nb\nc\nd\ne\nf\n", "six.txt")
    assert small_data.shortfall(six) is None


@pytest.mark.parametrize("path", PAGES)
def test_every_page_on_a_five_word_and_a_one_word_list(path):
    for (name, content), why in zip(
        (("five.txt", FIVE), ("one.txt", ONE)), SAID.get(path, (None, None)), strict=True
    ):
        at = on_upload(name, content)
        at.switch_page(path).run()
        assert not at.exception, (name, at.exception)
        said = notices(at)
        if why is None:
            assert not said, (name, said)
        else:
            assert len(said) == 1, (name, said)
            assert why in said[0], (name, said)


def test_home_warns_at_preview_time_before_the_switch():
    at = app()
    at.file_uploader[0].upload("one.txt", ONE, "text/plain").run()
    assert at.session_state.ds_source != "upload:one.txt"  # still the old dataset
    (said,) = notices(at)
    assert said.startswith("1 word is too few")


def test_the_mlp_on_five_words_trains_without_showing_a_nan_dev_loss():
    at = on_upload("five.txt", FIVE)
    at.switch_page("pages/part2_mlp/trainer.py").run()
    job = train_tiny(at, steps=200)
    assert job.final is not None
    assert math.isnan(job.final["dev"])  # there is no dev split to evaluate
    shown = {m.label: m.value for m in at.metric}
    assert shown["dev loss"] == "–"
    assert shown["train loss"] != "–"
    assert not any("nan" in str(v) for v in shown.values())
    assert notices(at)


def test_an_error_about_one_dataset_goes_when_the_dataset_changes():
    service = runs.service()
    limits, service.limits = service.limits, Limits(max_steps=100, max_params=1_000_000)
    try:
        at = on_upload("five.txt", FIVE)
        at.switch_page("pages/part2_mlp/trainer.py").run()
        at.number_input(key="steps").set_value(200).run()
        at.button(key="mlp:train").click().run()
        assert "at most 100 steps per run" in at.error[0].value
        switch_to(at, "more.txt", FIVE + b"mia\nluna\n")
        at.switch_page("pages/part2_mlp/trainer.py").run()
        assert not at.error  # it was about five.txt's run
    finally:
        service.limits = limits


def test_the_lectures_numbers_show_on_names_only():
    at = page("pages/part2_mlp/trainer.py", "spanish-municipalities")
    text = " ".join(m.value for m in at.markdown)
    assert "Beat a dev loss of 2.2" not in text
    assert "the bigram count model's on this dataset" in text
    assert "dataset Spanish municipalities" in at.caption[0].value  # its title, not its slug
    at.switch_page("pages/part4_backprop/ninja.py").run()
    assert not any("lecture (notebook output)" in str(d.value) for d in at.dataframe)


def test_wavenet_on_an_upload_draws_the_datasets_references_not_the_lectures():
    at = on_upload("five.txt", FIVE * 4)  # 20 words: every split has some
    at.switch_page("pages/part5_wavenet/wavenet.py").run()
    at.number_input(key="wn_steps").set_value(30).run()
    at.button(key="wavenet:train").click().run()
    finish_training(at, "wavenet")
    caption = next(c.value for c in at.caption if "smoothed curve" in c.value)
    assert "a uniform guess (ln V) and the bigram count model on dev" in caption
    assert "Green dashed rule: the lecture's final dev loss" not in caption
    assert "The drop three quarters in (step 22) is the learning-rate decay" in caption
    assert not at.exception


def test_wavenet_at_a_context_of_two_explains_why_there_is_no_bug_to_see():
    at = page("pages/part5_wavenet/wavenet.py")
    at.selectbox(key="wn_block").select(2).run()
    assert at.toggle(key="wn_hier").value  # hierarchical is on ...
    (info,) = [i.value for i in at.info if "no bug" in i.value]
    assert "Switch on" not in info  # ... so the page does not ask to switch it on
    assert "context of 4 or more" in info


def test_in_spanish_the_notice_the_controls_and_the_progress_speak_spanish():
    from tests.test_i18n import english_left

    at = session(timeout=120)
    at.session_state["lang"] = "es"
    switch_to(at.run(), "five.txt", FIVE)  # the Spanish Home's button
    at.switch_page("pages/part2_mlp/trainer.py").run()
    (said,) = [w.value for w in at.warning if "muy pocas" in w.value]
    assert said.startswith("5 palabras son muy pocas para las particiones 80/10/10")
    assert "la partición de validación está vacía" in said
    train_tiny(at, steps=200)
    controls = [b.label for b in at.button if (b.key or "").startswith("mlp:")]
    mine = [said, at.progress[0].proto.text, *controls]
    mine += [m.label for m in at.metric if "pérdida" in m.label]
    assert {"Entrenar", "Detener", "Reanudar", "Reiniciar"} <= set(controls)
    assert at.progress[0].proto.text.startswith("terminado: 200 pasos en ")
    assert len(mine) >= 8
    assert not english_left(mine), mine
