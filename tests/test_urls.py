"""Shareable links: every page's settings and the dataset round-trip through the URL.

AppTest has no address bar: the browser writes a bound widget's value into the URL
itself. So a link is made here the way Streamlit's backend writes one (each bound
widget's wire value, formatted by Streamlit's own _coerce_value_for_query_url), then
opened in a fresh session, which must show the same values.
"""

from __future__ import annotations

import math

import pytest
from streamlit.runtime.state.query_params import _coerce_value_for_query_url
from streamlit.testing.v1 import AppTest

from engine.models import TANH_GAIN
from tests.apptest import app, session
from ui import links, present, state
from ui import part2_mlp as mlp

UNBOUND = {  # widgets deliberately left out of the URL
    "home_source",  # the dataset travels as ?data=…&norm=…
    "home_lower",
    "home_strip",
    "home_split",
    "diag_scenario",  # shows whichever scenario the bound controls match
    "init_preset",  # likewise for the init presets
    "lang",  # the language travels as ?lang=es, written by ui.i18n.choose (English: none)
}


def walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def widgets(at) -> dict:
    """Every keyed input widget on the page, by key (buttons and uploads excluded)."""
    found = {}
    for node in walk(at._tree):
        key = getattr(node, "key", None)
        kind = type(node).__name__
        if key and hasattr(node, "_widget_state") and kind not in {"Button", "FileUploader"}:
            found[key] = node
    return found


def link(at) -> dict[str, str | list[str]]:
    """The query parameters of a link to this page as it is now (bound widgets + dataset)."""
    params = {}
    for node in widgets(at).values():
        name = getattr(node.proto, "query_param_key", "")
        if not name:
            continue
        wire = node._widget_state
        kind = wire.WhichOneof("value")
        if kind is None:  # an empty field (None), which is its default: not in the link
            continue
        value = getattr(wire, kind)
        params[name] = _coerce_value_for_query_url(
            list(value.data) if hasattr(value, "data") else value, kind
        )
    params |= {k: at.query_params[k] for k in (links.DATA_PARAM, links.NORM_PARAM)
               if k in at.query_params}  # fmt: skip
    return params


def open_link(path: str, **params) -> AppTest:
    """A fresh session following a link to `path` with these query parameters."""
    at = session()
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(path).run()
    assert not at.exception, at.exception
    return at


def value(node):
    return node.value


# page -> {widget key: a value other than the default}
CHANGES = {
    "pages/part1_bigrams/counts.py": {
        "heat_show": "probabilities",
        "heat_k": 10.0,
        "heat_row": "e",
    },
    "pages/part1_bigrams/smoothing.py": {"smooth_k": 0.0, "smooth_show": "probabilities"},
    "pages/part1_bigrams/sampling.py": {
        "sample_n": 3,
        "sample_k": 0.1,
        "sample_count": 7,
        "sample_seed": 42,
        "sample_temp": 0.5,
    },
    "pages/part1_bigrams/neural_bigram.py": {
        "nb_lr": 10.0,
        "nb_steps": 100,
        "nb_reg": 0.1,
        "nb_method": "index",
        "nb_k": 0.1,
    },
    "pages/part1_bigrams/exercises.py": {"e01_k": 0.1, "e01_n": 2},
    "pages/part2_mlp/trainer.py": {
        "block": 4,
        "n_embd": 2,
        "n_hidden": 50,
        "batch": 64,
        "steps": 5000,
        "lr": 0.05,
        "decay": 2000,
        "lr_after": 0.005,
        "init": mlp.NEAR_UNIFORM,
        "seed": 7,
        "direct": True,
    },
    "pages/part2_mlp/lr_finder.py": {
        "lrf_range": (-4.0, 0.5),
        "lrf_steps": 200,
        "lrf_batch": 64,
        "n_embd": 2,
        "init": mlp.NEAR_UNIFORM,
    },
    "pages/part2_mlp/embeddings.py": {"n_embd": 2, "seed": 7, "steps": 3000},
    "pages/part3_bn/init.py": {
        "w2": 0.5,
        "b2": 0.0,
        "kaiming": True,
        "fan_in": 100,
        "fan_scaled": True,
        "fan_gain": TANH_GAIN,
    },
    "pages/part3_bn/batchnorm.py": {"neuron": 7, "x0": 3.5},
    "pages/part3_bn/diagnostics.py": {
        "depth": 3,
        "width": 50,
        "gain": TANH_GAIN,
        "last_scale": 1.0,
        "bn": False,
        "act": "linear",
        "diag_lr": 0.01,
        "diag_steps": 50,
        "zero_c": False,
        "zero_steps": 100,
    },
    "pages/micrograd/micrograd.py": {
        "mg_bug": True,
        "mg_steps": 50,
        "mg_lr": 0.05,
        "mg_seed": 7,
        "mg_slow": False,
        "mg_forget": True,
        "mg_h": -3,
    },
    "pages/part4_backprop/ninja.py": {
        "ninja_seed": 7,
        "ninja_mistake": "bessel",
        "ninja_steps": 1000,
        "ninja_hidden": 32,
        "ninja_lr": 0.05,
        "ninja_train_seed": 3,
    },
    "pages/part5_wavenet/wavenet.py": {
        "wn_block": 4,
        "wn_embd": 8,
        "wn_hidden": 16,
        "wn_bnfix": False,
        "wn_steps": 1000,
        "wn_lr": 0.05,
        "wn_decay": 500,
        "wn_seed": 3,
        "wn_pick": 2,
    },
}


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9)
    return a == b or (isinstance(a, tuple | list) and list(a) == list(b))


@pytest.mark.parametrize("path", sorted(CHANGES))
def test_every_setting_of_the_page_survives_a_link(path):
    at = open_link(path, data="spanish-municipalities")
    shown = widgets(at)
    unbound = {k for k, w in shown.items() if not getattr(w.proto, "query_param_key", "")}
    assert unbound <= UNBOUND | {k for k in unbound if k.startswith("mg_step:")}, unbound
    for key, new in CHANGES[path].items():
        shown[key].set_value(new)
    at.run()
    assert not at.exception, at.exception
    shared = link(at)
    assert shared[links.DATA_PARAM] == "spanish-municipalities"
    assert set(CHANGES[path]) <= set(shared)

    classmate = open_link(path, **shared)
    theirs = widgets(classmate)
    for key, new in CHANGES[path].items():
        assert same(value(theirs[key]), new), (key, value(theirs[key]), new)
    assert classmate.session_state.dataset.name == "spanish-municipalities"
    assert link(classmate) == shared  # and their link is the teacher's
    assert not rejected(classmate)  # a good link raises no complaint


def test_a_hand_written_link_to_the_trainer():
    at = open_link(
        "pages/part2_mlp/trainer.py", data="spanish_municipalities", n_embd="2", seed="7"
    )
    shown = widgets(at)
    assert (shown["n_embd"].value, shown["seed"].value, shown["n_hidden"].value) == (2, 7, 200)
    assert at.session_state.dataset.vocab_size == 45
    assert at.query_params[links.DATA_PARAM] == "spanish-municipalities"  # normalised spelling


def test_the_mlp_settings_travel_between_its_three_pages():
    at = open_link("pages/part2_mlp/lr_finder.py", n_embd="2", block="5")
    for path in ("pages/part2_mlp/trainer.py", "pages/part2_mlp/embeddings.py"):
        at.switch_page(path).run()
        shown = widgets(at)
        assert (shown["n_embd"].value, shown["block"].value) == (2, 5), path


def rejected(at) -> list[str]:
    """The lines of the page's warning about link values it could not use."""
    found = [w.value for w in at.warning if "could not be used" in w.value]
    return [line for text in found for line in text.splitlines() if line.startswith("- ")]


def test_bad_values_in_a_link_are_explained_and_the_rest_applies():
    at = open_link(
        "pages/part2_mlp/trainer.py",
        n_embd="999999",
        seed="abc",
        steps="-5",
        init="nonsense",
        direct="maybe",
        n_hidden="50",
    )
    assert not at.exception
    shown = widgets(at)
    assert (shown["n_embd"].value, shown["steps"].value, shown["n_hidden"].value) == (
        10,
        200_000,
        50,
    )
    assert shown["init"].value == next(iter(mlp.INITS))
    lines = rejected(at)
    assert len(lines) == 5  # one line per bad value, in one message
    (embd,) = [line for line in lines if "`n_embd=999999`" in line]
    assert "whole numbers from 1 to 64" in embd
    assert "used `10` instead" in embd
    (steps,) = [line for line in lines if "`steps=-5`" in line]
    assert "1 to 500,000" in steps
    assert "used `200,000`" in steps
    assert any("seed=abc" in line and "whole numbers from 0" in line for line in lines)
    assert any("direct=maybe" in line and "`true` or `false`" in line for line in lines)
    assert any("init=nonsense" in line and "one of `Lecture 3" in line for line in lines)
    at.run()
    assert not rejected(at)  # said once: the URL no longer carries the bad values


@pytest.mark.parametrize(
    ("path", "param", "bad", "takes", "used"),
    [
        ("pages/part1_bigrams/smoothing.py", "smooth_k", "abc", "one of 62 values", "1"),
        ("pages/part1_bigrams/counts.py", "heat_show", "zzz", "`counts`, `probabilities`", "counts"),
        ("pages/part2_mlp/lr_finder.py", "lrf_range", "-9", "numbers from -6 to 1", "-3, 0"),
    ],
)  # fmt: skip
def test_each_kind_of_widget_explains_a_bad_link_value(path, param, bad, takes, used):
    at = open_link(path, **{param: bad})
    (line,) = rejected(at)
    assert f"`{param}={bad}`" in line
    assert takes in line
    assert f"used `{used}` instead" in line


def test_buttons_that_change_settings_update_the_link():
    at = open_link("pages/part2_mlp/trainer.py")
    next(b for b in at.button if "near-uniform" in b.label).click().run()
    assert at.query_params["init"] == mlp.NEAR_UNIFORM
    at = open_link("pages/part3_bn/diagnostics.py")
    at.selectbox(key="diag_scenario").select("Fully linear (no tanh)").run()
    assert "act" in at.query_params
    assert "bn" in at.query_params
    assert at.selectbox(key="diag_scenario").value == "Fully linear (no tanh)"


def test_a_link_to_custom_diagnostics_shows_your_own_settings():
    at = open_link("pages/part3_bn/diagnostics.py", depth="3")
    assert at.slider(key="depth").value == 3
    assert at.selectbox(key="diag_scenario").value is None
    at = open_link("pages/part3_bn/init.py", kaiming="true", b1="0.01", w2="0.01", b2="0")
    assert at.segmented_control(key="init_preset").value == "part3-kaiming"


# ---------------------------------------------------------------------------------------
# the dataset


@pytest.mark.parametrize(
    "path",
    ["pages/start/home.py", "pages/part1_bigrams/smoothing.py", "pages/micrograd/micrograd.py"],
)
def test_a_link_opens_its_dataset_on_any_page(path):
    at = open_link(path, data="spanish-municipalities", norm="lower,strip")
    ds = at.session_state.dataset
    assert ds.name == "spanish-municipalities"
    assert at.session_state.ds_norm == links.parse_norm("lower,strip")
    assert "á" not in ds.chars
    assert at.query_params[links.NORM_PARAM] == "lower,strip"


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({"data": "klingon-names"}, "Unknown dataset"),
        ({"data": "names", "norm": "shout"}, "Unknown normalisation"),
        ({"data": "upload:deadbeef"}, "no word list shared under this link"),
    ],
)
def test_a_bad_dataset_link_explains_and_keeps_the_dataset(params, why):
    at = open_link("pages/part1_bigrams/smoothing.py")
    before = at.session_state.dataset.name
    at = session()
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert any(why in e.value and "still working on" in e.value for e in at.error), at.error
    assert at.session_state.dataset.name == before
    assert links.DATA_PARAM not in at.query_params  # the URL shows the dataset in use
    at.switch_page("pages/part1_bigrams/smoothing.py").run()
    assert not at.exception


def test_changing_the_dataset_updates_the_link_of_every_page():
    at = open_link("pages/start/home.py")
    at.selectbox[0].select("spanish-municipalities").run()
    assert at.query_params[links.DATA_PARAM] == "spanish-municipalities"
    assert links.NORM_PARAM not in at.query_params  # its default normalisation
    at.toggle(key="home_strip").set_value(True).run()
    assert at.query_params[links.NORM_PARAM] == "lower,strip,split"
    for path in (
        "pages/part1_bigrams/counts.py",
        "pages/micrograd/micrograd.py",
        "pages/part5_wavenet/wavenet.py",
    ):
        at.switch_page(path).run()
        assert at.query_params[links.DATA_PARAM] == "spanish-municipalities", path
    at.switch_page("pages/start/home.py").run()
    at.selectbox[0].select(state.default_source()).run()
    assert links.DATA_PARAM not in at.query_params
    assert links.NORM_PARAM not in at.query_params


PUEBLOS = "Ávila\nPeñíscola\nA Coruña\nLugo\n".encode()


def upload_and_switch(at: AppTest, name: str = "pueblos.txt", content: bytes = PUEBLOS):
    at.file_uploader[0].upload(name, content, "text/plain").run()
    next(b for b in at.button if b.label.startswith("Switch to")).click().run()
    return at


def test_an_upload_is_private_until_shared_then_its_link_opens_it():
    teacher = upload_and_switch(open_link("pages/start/home.py"))
    assert teacher.query_params[links.DATA_PARAM] == "upload:private"
    assert any("is private" in c.value and "pueblos" in c.value for c in teacher.caption)
    fingerprint = teacher.session_state.dataset.fingerprint
    guesses = {
        "upload:private": "its owner has not shared",
        f"upload:{fingerprint[:8]}": "no word list shared under this link",  # the old link
        f"upload:{fingerprint}": "no word list shared under this link",  # the exports' one
    }
    for guess, why in guesses.items():
        student = session()
        student.query_params[links.DATA_PARAM] = guess
        student.run()
        assert student.session_state.dataset.name != "pueblos.txt", guess
        assert "pueblos.txt" not in student.session_state.uploads
        assert any(why in e.value and "still working on" in e.value for e in student.error)

    teacher.button(key="share_upload").click().run()
    shared = teacher.query_params[links.DATA_PARAM]
    token = shared.removeprefix("upload:")
    assert len(token) >= 22  # 128 random bits, URL-safe base64
    assert fingerprint not in token
    (code,) = [c for c in teacher.code if token in c.value]
    assert "data=upload:" in code.value
    student = open_link("pages/part1_bigrams/counts.py", data=shared)
    assert student.session_state.dataset.name == "pueblos.txt"
    assert student.session_state.dataset.words == teacher.session_state.dataset.words
    assert student.query_params[links.DATA_PARAM] == shared  # the student's links work too


def test_new_content_under_the_same_name_is_private_again():
    at = upload_and_switch(open_link("pages/start/home.py"))
    at.button(key="share_upload").click().run()
    assert at.query_params[links.DATA_PARAM] != "upload:private"
    upload_and_switch(at, content=b"lugo\nvigo\nleon\n")
    assert at.session_state.dataset.words == ("lugo", "vigo", "leon")
    assert at.query_params[links.DATA_PARAM] == "upload:private"


def test_the_upload_store_is_bounded_and_opens_exact_tokens_only():
    store = links.UploadStore(size=2)
    for token in ("aaaaaaaa11", "bbbbbbbb22", "cccccccc33"):
        store.keep(token, token, b"x", None)
    assert len(store) == 2
    assert store.open("aaaaaaaa11") is None  # the least recently used went first
    assert store.open("bbbbbbbb22") == ("bbbbbbbb22", b"x", None)
    assert store.open("bbbbbbbb") is None  # a prefix opens nothing


# ---------------------------------------------------------------------------------------
# presenter mode


def test_presenter_mode_injects_its_style_and_hides_the_chosen_groups():
    at = session()
    at.query_params.update(present="1", hide="settings,captions,bogus", zoom="150")
    at.run()
    assert not at.exception
    (style,) = at.get("html")
    css = style.proto.body
    assert 'stSidebar"]' in css
    assert "zoom: 1.5" in css
    assert f"st-key-{present.SETTINGS_PREFIX}" in css
    assert "stCaptionContainer" in css
    assert not any("Share this page" in c.value for c in at.sidebar.caption)


def test_without_presenter_mode_the_sidebar_explains_sharing():
    at = app()
    (style,) = at.get("html")  # the plain style: long section titles wrap, one Stop button
    assert "stNavSectionHeader" in style.proto.body
    assert "stStatusWidget" in style.proto.body
    assert "zoom" not in style.proto.body
    assert any("Share this page" in c.value for c in at.sidebar.caption)
