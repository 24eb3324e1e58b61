"""Uploads: every encoding and format a class might bring, limits, and fuzzing.

The contract: wordfile.from_bytes returns a Dataset or raises DatasetError with a
message for the user. Nothing else, whatever the bytes.
"""

import codecs

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import data, wordfile
from engine.data import DatasetError

WORDS = ["Ávila", "Peñíscola", "A Coruña", "l'Alfàs del Pi", "Alegría-Dulantzi"]
TEXT = "\n".join(WORDS) + "\n"
LOWER = tuple(w.lower() for w in WORDS)


@pytest.mark.parametrize(
    ("raw", "encoding"),
    [
        (TEXT.encode("utf-8"), "UTF-8"),
        (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "UTF-8 with BOM"),
        (TEXT.encode("utf-16"), "UTF-16"),  # with BOM
        (TEXT.encode("utf-16-le"), "UTF-16"),  # without
        (TEXT.encode("utf-16-be"), "UTF-16"),
        (TEXT.encode("cp1252"), "Windows-1252"),
        (TEXT.replace("\n", "\r\n").encode("utf-8"), "UTF-8"),
        (TEXT.replace("\n", "\r").encode("latin-1"), "Windows-1252"),
    ],
)
def test_common_encodings_and_line_ends_read_the_same_words(raw, encoding):
    f = wordfile.read(raw, "pueblos.txt")
    assert f.encoding == encoding
    assert wordfile.to_dataset(f).words == LOWER


def test_blank_lines_whitespace_and_duplicates_are_reported():
    ds = wordfile.from_bytes(b"  emma \n\nemma\nava\n\t\n", "x.txt")
    assert ds.words == ("emma", "emma", "ava")
    assert ds.duplicates == 1
    assert dict(ds.dropped) == {"empty line": 2}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x00\x01\x02\x03\xff\xfe\x00", "binary"),
        (bytes(range(256)) * 4, "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100), "binary"),
        (b"a" * (wordfile.MAX_BYTES + 1), "limit is 2 MB"),
        (codecs.BOM_UTF8 + b"\xff\xfe\xfd", "claims to be utf-8"),
        ("\n".join(chr(0x4E00 + i) for i in range(200)).encode(), "different characters"),
    ],
)
def test_bad_files_get_a_clear_error(raw, message):
    with pytest.raises(DatasetError, match=message):
        wordfile.from_bytes(raw, "bad.txt")


def test_long_words_and_too_many_words_are_dropped_and_counted():
    raw = ("x" * 100 + "\n" + "ab\n" * (data.MAX_WORDS + 5)).encode()
    ds = wordfile.from_bytes(raw, "big.txt")
    assert len(ds.words) == data.MAX_WORDS
    dropped = dict(ds.dropped)
    assert dropped[f"longer than {data.MAX_WORD_LEN} characters"] == 1
    assert dropped[f"beyond the first {data.MAX_WORDS:,} words"] == 5


def test_csv_picks_the_name_column_by_its_header():
    raw = "provincia;nombre;habitantes\nÁlava;Amurrio;10000\nÁvila;Arévalo;8000\n".encode()
    f = wordfile.read(raw, "municipios.csv")
    assert (f.kind, f.columns, f.column) == ("csv", ("provincia", "nombre", "habitantes"), 1)
    assert wordfile.to_dataset(f).words == ("amurrio", "arévalo")
    chosen = wordfile.read(raw, "municipios.csv", column=0)
    assert wordfile.to_dataset(chosen).words == ("álava", "ávila")
    with pytest.raises(DatasetError, match="no column 9"):
        wordfile.read(raw, "municipios.csv", column=8)


def test_csv_without_header_picks_the_wordiest_column_and_keeps_quoted_commas():
    raw = b"1,\"Castell d'Aro, Platja d'Aro\"\n2,Girona\n3,Lleida\n"
    ds = wordfile.from_bytes(raw, "x.csv")
    assert ds.words == ("castell d'aro, platja d'aro", "girona", "lleida")


def test_txt_with_commas_is_not_mistaken_for_a_csv():
    ds = wordfile.from_bytes(b"Saus, Camallera i Llampaies\nGirona\n", "x.txt")
    assert ds.words == ("saus, camallera i llampaies", "girona")


def test_markup_is_kept_as_plain_words():
    ds = wordfile.from_bytes(b"<script>alert(1)</script>\n**bold**\n", "x.txt")
    assert ds.words == ("<script>alert(1)</script>", "**bold**")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.sampled_from(["a.txt", "a.csv", "a.tsv", "noext"]))
def test_any_bytes_give_a_dataset_or_a_clear_error(raw, name):
    try:
        ds = wordfile.from_bytes(raw, name)
    except DatasetError as e:
        assert str(e)  # noqa: PT017
    else:
        assert ds.words
        assert all(w and "." not in w and w.strip() == w for w in ds.words)


word = (
    st.text(
        alphabet=st.characters(
            blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters=".\x85"
        ),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(lambda w: w and w.isprintable())
)


@settings(max_examples=200, deadline=None)
@given(st.lists(word, min_size=1, max_size=50), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_valid_lists_round_trip(words, encoding):
    norm = data.Normalization(lowercase=False)
    raw = "\n".join(words).encode(encoding)
    try:
        ds = wordfile.from_bytes(raw, "w.txt", norm)
    except DatasetError as e:  # only the vocabulary limit may refuse a valid list
        assert "different characters" in str(e)  # noqa: PT017
        return
    expected = [w for w in (data.unicodedata.normalize("NFC", w) for w in words) if w.strip()]
    assert list(ds.words) == expected
