"""Reading a user's word list from a file: any common encoding, txt or csv, with limits.

Whatever arrives (UTF-8 with or without BOM, UTF-16, Windows-1252/Latin-1; CRLF or CR
line ends; a csv with a name column), the result is a Dataset or a DatasetError whose
message says plainly what is wrong. Nothing else escapes.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from engine.data import BUILTINS, Dataset, DatasetError, Normalization, from_lines, load_builtin
from engine.messages import msg

MAX_BYTES = 2 * 1024 * 1024
CSV_SUFFIXES = (".csv", ".tsv")
NAME_HEADERS = ("name", "names", "nombre", "nombres", "word", "words", "municipio", "municipality",
                "first_name", "firstname", "given_name", "town", "city", "place")  # fmt: skip


@dataclass(frozen=True)
class WordFile:
    """A decoded file before it becomes a dataset: what the preview shows."""

    name: str
    encoding: str
    kind: str  # "txt" or "csv"
    columns: tuple[str, ...] = ()  # csv column titles
    column: int = 0  # the csv column holding the words
    lines: tuple[str, ...] = ()


def decode(data: bytes, name: str) -> tuple[str, str]:
    """Bytes -> (text, encoding name). Refuses empty and binary files."""
    if not data.strip():
        raise DatasetError(msg("{name} is empty.", name=name))
    if len(data) > MAX_BYTES:
        raise DatasetError(
            msg(
                "{name} is {size:.1f} MB; the limit is {limit} MB.",
                name=name,
                size=len(data) / 1024**2,
                limit=MAX_BYTES // 1024**2,
            )
        )
    if data.startswith(codecs.BOM_UTF8):
        text, encoding = _strict(data[3:], "utf-8", name), "UTF-8 with BOM"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = _strict(data, "utf-16", name), "UTF-16"
    elif b"\x00" in data:
        text, encoding = _utf16_without_bom(data, name), "UTF-16"
    else:
        try:
            text, encoding = data.decode("utf-8"), "UTF-8"
        except UnicodeDecodeError:
            try:
                text, encoding = data.decode("cp1252"), "Windows-1252"
            except UnicodeDecodeError:
                text, encoding = data.decode("latin-1"), "Latin-1"
    control = sum(1 for c in text if unicodedata.category(c) == "Cc" and c not in "\r\n\t")
    if control > max(2, len(text) // 100):
        raise DatasetError(
            msg("{name} looks like a binary file, not a text file of words.", name=name)
        )
    return text, encoding


def _strict(data: bytes, encoding: str, name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise DatasetError(
            msg(
                "{name} claims to be {encoding} but byte {byte} is not.",
                name=name,
                encoding=encoding,
                byte=e.start,
            )
        ) from None


def _utf16_without_bom(data: bytes, name: str) -> str:
    """NUL bytes in every other position mean UTF-16; anywhere else, a binary file."""
    half = len(data) // 2 or 1
    for encoding, zeros in (("utf-16-le", data[1::2]), ("utf-16-be", data[0::2])):
        if len(data) % 2 == 0 and zeros.count(0) > 0.8 * half:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                break
    raise DatasetError(msg("{name} looks like a binary file, not a text file of words.", name=name))


def read(data: bytes, name: str, column: int | None = None) -> WordFile:
    """Decode a file and pick its entries: lines of a txt, one column of a csv/tsv."""
    text, encoding = decode(data, name)
    text = text.removeprefix("\ufeff")
    if not name.lower().endswith(CSV_SUFFIXES):
        return WordFile(name, encoding, "txt", lines=tuple(text.splitlines()))
    delimiter = "\t" if name.lower().endswith(".tsv") else _sniff_delimiter(text)
    rows = [
        r
        for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        if any(c.strip() for c in r)
    ]
    if not rows:
        raise DatasetError(msg("{name} has no rows.", name=name))
    width = max(len(r) for r in rows)
    header = [c.strip() for c in rows[0]]
    has_header = any(h.lower() in NAME_HEADERS for h in header) or _looks_like_header(rows)
    body = rows[1:] if has_header else rows
    titles = tuple(
        (header[i] if has_header and i < len(header) and header[i] else msg("column {i}", i=i + 1))
        for i in range(width)
    )
    if column is None:
        column = _name_column(header if has_header else [], body, width)
    if not 0 <= column < width:
        raise DatasetError(
            msg(
                "{name} has {width} columns; there is no column {column}.",
                name=name,
                width=width,
                column=column + 1,
            )
        )
    lines = tuple(r[column] if column < len(r) else "" for r in body)
    return WordFile(name, encoding, "csv", titles, column, lines)


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _looks_like_header(rows) -> bool:
    try:
        return csv.Sniffer().has_header("\n".join(",".join(r) for r in rows[:20]))
    except csv.Error:
        return False


def _name_column(header, body, width) -> int:
    """The column titled like a name, else the one whose cells look most like words."""
    for i, h in enumerate(header):
        if h.lower() in NAME_HEADERS:
            return i

    def wordiness(i):
        cells = [r[i].strip() for r in body[:500] if i < len(r) and r[i].strip()]
        return sum(all(c.isalpha() or c in " '-" for c in cell) for cell in cells)

    return max(range(width), key=wordiness)


def from_bytes(
    data: bytes, name: str, norm: Normalization | None = None, column: int | None = None
) -> Dataset:
    return to_dataset(read(data, name, column), norm)


def to_dataset(f: WordFile, norm: Normalization | None = None) -> Dataset:
    return from_lines(f.lines, f.name, norm or Normalization())


def load(source: str, norm: Normalization | None = None) -> Dataset:
    """A built-in by key, or a path to a word list (what the CLI's --dataset/--file accept)."""
    if source in BUILTINS:
        return load_builtin(source, norm)
    path = Path(source)
    if not path.is_file():
        raise DatasetError(msg("No built-in dataset or file called '{source}'.", source=source))
    return from_bytes(path.read_bytes(), path.name, norm or Normalization())
