"""Datasets: word lists, their vocabulary, the lecture's split and (context -> next char) examples.

Lecture 2 (makemore part 1) builds the vocabulary from the data: '.' is index 0 and
marks both the start and the end of a word, the sorted characters follow. Lecture 3
(part 2) turns every word into block_size-long contexts, left-padded with '.', and
splits the shuffled words 80/10/10 with random.seed(42).
"""

from __future__ import annotations

import hashlib
import os
import random
import unicodedata
import urllib.request
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import torch

from engine.messages import msg

END = "."  # start/end token, index 0
MAX_WORDS = 200_000  # limits for any word list; names.txt has 32,033 words of at most 15
MAX_WORD_LEN = 64
MAX_VOCAB = 150
NAMES_URL = "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"
DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"


class DatasetError(ValueError):
    """A word list that cannot become a dataset; the message is meant for the user."""


@dataclass(frozen=True)
class Normalization:
    """How raw lines become words. Every option is visible and changeable in the app."""

    lowercase: bool = True
    strip_accents: bool = False
    split_bilingual: bool = False  # "Agurain/Salvatierra" -> two words


@dataclass(frozen=True)
class Dataset:
    """A normalised word list. Frozen, so it can be shared between sessions and hashed by value."""

    name: str
    words: tuple[str, ...]
    normalization: Normalization = Normalization()
    dropped: tuple[tuple[str, int], ...] = ()  # (reason, how many lines)
    builtin: bool = False  # one of BUILTINS (public), not a student's upload (private)
    fingerprint: str = field(init=False)

    def __post_init__(self):
        if not self.words:
            raise DatasetError(msg("No words left after normalisation: the list is empty."))
        if len(self.chars) >= MAX_VOCAB:
            raise DatasetError(
                msg(
                    "{name} uses {n:,} different characters; the limit is {limit}. "
                    "Is it really a list of words?",
                    name=self.name,
                    n=len(self.chars),
                    limit=MAX_VOCAB - 1,
                )
            )
        digest = hashlib.sha256("\n".join(self.words).encode()).hexdigest()[:16]
        object.__setattr__(self, "fingerprint", digest)

    @cached_property  # every chart tick asks (V, itos): once, not once per 32,000 words
    def chars(self) -> list[str]:
        return sorted(set("".join(self.words)))

    @property
    def itos(self) -> list[str]:
        return [END, *self.chars]

    @property
    def stoi(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.itos)}

    @property
    def vocab_size(self) -> int:
        return len(self.chars) + 1

    @property
    def duplicates(self) -> int:
        """Words that occur more than once count once per extra occurrence (they are kept)."""
        return len(self.words) - len(set(self.words))

    @property
    def max_len(self) -> int:
        return max(len(w) for w in self.words)

    def encode(self, word: str) -> list[int]:
        stoi = self.stoi
        return [stoi[c] for c in word]

    def decode(self, ids) -> str:
        itos = self.itos
        return "".join(itos[i] for i in ids)


def strip_accents(text: str) -> str:
    """'Ávila' -> 'Avila', 'ñ' -> 'n': drop the combining marks of the decomposed text."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalize(lines, norm: Normalization) -> tuple[list[str], dict[str, int]]:
    """Clean raw lines into words and count what was dropped and why."""
    words, dropped = [], {}
    for line in lines:
        for word in line.split("/") if norm.split_bilingual else [line]:
            word = word.strip()
            if norm.lowercase:
                word = word.lower()
            word = strip_accents(word) if norm.strip_accents else unicodedata.normalize("NFC", word)
            if not word:
                reason = msg("empty line")
            elif len(word) > MAX_WORD_LEN:
                reason = msg("longer than {n} characters", n=MAX_WORD_LEN)
            elif len(words) >= MAX_WORDS:
                reason = msg("beyond the first {n:,} words", n=MAX_WORDS)
            elif END in word:
                reason = msg("contains '{end}' (reserved as the start/end token)", end=END)
            elif not word.isprintable():
                reason = msg("contains control characters")
            else:
                words.append(word)
                continue
            dropped[reason] = dropped.get(reason, 0) + 1
    return words, dropped


def from_lines(lines, name: str, norm: Normalization = Normalization()) -> Dataset:
    words, dropped = normalize(lines, norm)
    return Dataset(name, tuple(words), norm, tuple(sorted(dropped.items())))


def from_text(text: str, name: str, norm: Normalization = Normalization()) -> Dataset:
    """Text with one word per line (any line ends)."""
    return from_lines(text.removeprefix("\ufeff").splitlines(), name, norm)


# ---------------------------------------------------------------------------------------
# built-in datasets


@dataclass(frozen=True)
class Builtin:
    title: str
    description: str
    filename: str
    normalization: Normalization = Normalization()


BUILTINS = {
    "names": Builtin(
        msg("names (makemore)"),
        msg(
            "32,033 US baby names, the most common of 2018 (SSA), as used in every makemore lecture."
        ),
        "names.txt",
    ),
    "us-census-1990": Builtin(
        msg("US first names (1990 census)"),
        msg("5,163 male and female first names from the 1990 US census. Ships with the app."),
        "us_census_1990_first_names.txt",
    ),
    "spanish-municipalities": Builtin(
        msg("Spanish municipalities (INE)"),
        msg(
            "The 8,133 municipalities of Spain: accents, ñ, spaces, hyphens, apostrophes "
            "and bilingual names such as Agurain/Salvatierra."
        ),
        "spanish_municipalities.txt",
        Normalization(split_bilingual=True),
    ),
}
DEFAULT_OFFLINE = "us-census-1990"


def data_dir() -> Path:
    """Where names.txt is looked up and cached: $MAKEMORE_DATA_DIR or a per-user cache."""
    env = os.environ.get("MAKEMORE_DATA_DIR")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "makemore-playground"


def names_txt(download: bool = True, timeout: float = 5.0) -> Path:
    """Find makemore's names.txt, downloading it once into data_dir() if allowed.

    Raises DatasetError with a plain explanation when it is not there and cannot be fetched.
    """
    path = data_dir() / "names.txt"
    if path.is_file():
        return path
    if not download or os.environ.get("MAKEMORE_OFFLINE"):
        raise DatasetError(
            msg(
                "names.txt is not in {folder} and downloading is switched off.",
                folder=str(path.parent),
            )
        )
    try:
        with urllib.request.urlopen(NAMES_URL, timeout=timeout) as response:
            data = response.read()
        from_text(data.decode("utf-8"), "names.txt")  # refuse to cache what is no word list
    except (OSError, UnicodeDecodeError, DatasetError) as e:
        raise DatasetError(
            msg(
                "names.txt is not in {folder} and could not be downloaded from {url} "
                "({error}). Put the file there or set MAKEMORE_DATA_DIR to the folder that has it.",
                folder=str(path.parent),
                url=NAMES_URL,
                error=e.args[0] if isinstance(e, DatasetError) and len(e.args) == 1 else str(e),
            )
        ) from None
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path


def builtin_path(key: str, download: bool = True) -> Path:
    if key not in BUILTINS:
        raise DatasetError(
            msg(
                "Unknown dataset '{key}'. Choose one of: {choices}.",
                key=key,
                choices=", ".join(BUILTINS),
            )
        )
    if key == "names":
        return names_txt(download)
    return DATASETS_DIR / BUILTINS[key].filename


def load_builtin(key: str, norm: Normalization | None = None, download: bool = True) -> Dataset:
    path = builtin_path(key, download)
    ds = from_text(path.read_text(encoding="utf-8"), key, norm or BUILTINS[key].normalization)
    return replace(ds, builtin=True)


# ---------------------------------------------------------------------------------------
# the lecture's split and examples


def split_words(words, seed: int = 42, shuffles: int = 1) -> tuple[list, list, list]:
    """80/10/10 train/dev/test after random.seed(seed); random.shuffle(words).

    Lecture 3's notebook re-ran the shuffle cell: its split is `shuffles=4`.
    """
    words = list(words)
    for _ in range(shuffles):
        random.seed(seed)
        random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    return words[:n1], words[n1:n2], words[n2:]


def build_examples(words, block_size: int, stoi: dict[str, int]):
    """Every (context, next char) pair: X (N, block_size) int64, Y (N,) int64."""
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + END:
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = [*context[1:], ix]
    return torch.tensor(X, dtype=torch.long).view(len(Y), block_size), torch.tensor(
        Y, dtype=torch.long
    )


@dataclass(frozen=True)
class SplitsKey:
    """What a Splits was built from. As text (Splits.key, a run's key, a record's meta
    "splits") it is fingerprint:block_size:shuffles."""

    fingerprint: str
    block_size: int
    shuffles: int = 1

    def __str__(self) -> str:
        return f"{self.fingerprint}:{self.block_size}:{self.shuffles}"

    @classmethod
    def parse(cls, text: str) -> SplitsKey | None:
        """The key a text names, or None when it names none (empty, or made by hand)."""
        fingerprint, *numbers = (text or "").rsplit(":", 2)
        if len(numbers) != 2 or not all(n.isdigit() for n in numbers):
            return None
        return cls(fingerprint, int(numbers[0]), int(numbers[1]))


@dataclass(frozen=True)
class Splits:
    """Train/dev/test tensors for one dataset and block size. Treat as read-only: shared."""

    Xtr: torch.Tensor
    Ytr: torch.Tensor
    Xdev: torch.Tensor
    Ydev: torch.Tensor
    Xte: torch.Tensor
    Yte: torch.Tensor
    key: str = ""  # what they were built from: str(SplitsKey), "" when built by hand

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return {
            "train": (self.Xtr, self.Ytr),
            "dev": (self.Xdev, self.Ydev),
            "test": (self.Xte, self.Yte),
        }[name]

    def sizes(self) -> tuple[int, int, int]:
        return len(self.Ytr), len(self.Ydev), len(self.Yte)

    def to(self, device) -> Splits:
        """A copy on another device (a GPU); the same object when already there."""
        if self.Xtr.device == torch.device(device):
            return self
        tensors = (getattr(self, f).to(device) for f in self.__dataclass_fields__ if f != "key")
        return Splits(*tensors, key=self.key)


def make_splits(ds: Dataset, block_size: int, shuffles: int = 1) -> Splits:
    stoi = ds.stoi
    tr, dev, te = split_words(ds.words, shuffles=shuffles)
    return Splits(
        *build_examples(tr, block_size, stoi),
        *build_examples(dev, block_size, stoi),
        *build_examples(te, block_size, stoi),
        key=str(SplitsKey(ds.fingerprint, block_size, shuffles)),
    )
