"""makemore.py's data handling: one word per sequence, and its train/test split.

Every word becomes one row of block_size = longest word + 1 positions: the input is '.'
followed by the word, the target at each position is the next character, '.' after the
last one, and -1 (ignored by the loss) beyond it. The test set is min(1000, 10 %) of the
words, chosen by a permutation drawn from the run's seed before anything else, as
makemore.py does; makemore.py has no dev set, so its test set plays both parts (it keeps
the model with the best test loss) and the Splits' dev tensors are the test tensors.
"""

from __future__ import annotations

import torch

from engine.data import Dataset, Splits

SEED = 3407  # makemore.py's default --seed
IGNORE = -1  # target of the positions after a word's end


def block_size(ds: Dataset) -> int:
    """makemore.py's block size: the longest word plus the start token."""
    return ds.max_len + 1


def test_size(n_words: int) -> int:
    return min(1000, int(n_words * 0.1))


def split_words(words, seed: int = SEED) -> tuple[list[str], list[str]]:
    """(train, test): the words in the order of a permutation drawn from `seed`, the last
    test_size(n) of them the test set."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(words), generator=g).tolist()
    n_test = test_size(len(words))
    cut = len(words) - n_test
    return [words[i] for i in order[:cut]], [words[i] for i in order[cut:]]


def sequences(words, stoi: dict[str, int], T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """X, Y of shape (len(words), T): '.' + word (zero padded), and word + '.' then -1."""
    X = torch.zeros((len(words), T), dtype=torch.long)
    Y = torch.full((len(words), T), IGNORE, dtype=torch.long)
    for row, w in enumerate(words):
        ix = [stoi[c] for c in w]
        X[row, 1 : 1 + len(ix)] = torch.tensor(ix, dtype=torch.long)
        Y[row, : len(ix) + 1] = torch.tensor([*ix, 0], dtype=torch.long)
    return X, Y


def split_key(ds: Dataset, seed: int = SEED) -> str:
    return f"zoo:{ds.fingerprint}:{seed}"


def make_splits(ds: Dataset, seed: int = SEED) -> Splits:
    """makemore.py's split of a dataset as Splits (dev = test, see above)."""
    train, test = split_words(list(ds.words), seed)
    T = block_size(ds)
    Xtr, Ytr = sequences(train, ds.stoi, T)
    Xte, Yte = sequences(test, ds.stoi, T)
    return Splits(Xtr, Ytr, Xte, Yte, Xte, Yte, key=split_key(ds, seed))


def split_words_of(ds: Dataset, seed: int = SEED) -> tuple[set[str], set[str]]:
    """The train and test words as sets, to sort samples as makemore.py does."""
    train, test = split_words(list(ds.words), seed)
    return set(train), set(test)
