"""The helper that compares printouts as numbers (tests/printed.py) can fail."""

import pytest

from tests.printed import assert_printout, last_digit, reads_as


def test_a_printed_number_holds_its_last_digit():
    assert last_digit("-0.00") == pytest.approx(0.01)
    assert last_digit("2.640702e-03") == pytest.approx(1e-9)
    assert last_digit("27") == 1
    assert reads_as(0.0026407006, "2.640702e-03", units=2)
    assert not reads_as(0.0026407006, "2.640702e-03", units=1)


def test_a_printout_is_held_word_for_word_and_number_by_number():
    line = "layer 2 (      Tanh): mean -0.000000, std 2.640701e-03"
    assert_printout([line], ["layer 2 (      Tanh): mean +0.000000, std 2.640702e-03"], units=2)
    with pytest.raises(AssertionError):  # another number
        assert_printout([line], ["layer 2 (      Tanh): mean +0.000000, std 2.640712e-03"], 2)
    with pytest.raises(AssertionError):  # another word
        assert_printout([line], ["layer 2 (      ReLU): mean +0.000000, std 2.640702e-03"], 2)
    with pytest.raises(AssertionError):  # another layer
        assert_printout([line], ["layer 3 (      Tanh): mean +0.000000, std 2.640702e-03"], 2)
