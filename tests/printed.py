"""Printed numbers compared as numbers, to the digits they hold.

A notebook's printout such as `std 2.640702e-03` holds seven significant digits; the same
statistic computed on another CPU's kernels (ATen's default/AVX2/AVX-512 code, MKL's
paths) moves in its last digits, and a value near zero may flip its sign. So a printout is
held word for word, and each of its numbers within a few units of its last printed digit:
the units measured by scripts/kernel_spread.py --fast, stated where they are used.
"""

from __future__ import annotations

import re

NUMBER = re.compile(r"[-+]?\d+(?:\.(\d+))?(?:e([-+]\d+))?")


def last_digit(printed: str) -> float:
    """The value of one unit in the last digit of a printed number: 0.01 for "-0.00",
    1e-09 for "2.640702e-03", 1 for "27"."""
    m = NUMBER.fullmatch(printed.strip())
    assert m, f"not a number: {printed!r}"
    decimals, exponent = m.group(1) or "", int(m.group(2) or 0)
    return 10.0 ** (exponent - len(decimals))


def reads_as(value: float, printed: str, units: float) -> bool:
    """Is `value` within `units` of the last digit of `printed`? (Two printouts of the
    same format differ by whole units: 1.983132e-03 is 2 units from 1.983134e-03, although
    the float difference is a hair above 2e-9.)"""
    return abs(value - float(printed)) / last_digit(printed) <= units + 1e-6


def assert_printout(lines: list[str], expected: list[str], units: float) -> None:
    """`lines` read as `expected`: the same words and whole numbers (layers, shapes), and
    every other number within `units` units of the last digit it was printed with."""
    assert len(lines) == len(expected), (lines, expected)
    for line, want in zip(lines, expected, strict=True):
        assert NUMBER.split(line)[::3] == NUMBER.split(want)[::3], (line, want)
        got = [m.group() for m in NUMBER.finditer(line)]
        wanted = [m.group() for m in NUMBER.finditer(want)]
        assert len(got) == len(wanted), (line, want)
        for g, w in zip(got, wanted, strict=True):
            if re.fullmatch(r"\d+", w):  # a layer number, a shape: a label, not a statistic
                assert g == w, f"{line!r} does not read as {want!r}"
            else:
                assert reads_as(float(g), w, units), f"{line!r} does not read as {want!r}"
