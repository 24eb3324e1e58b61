"""makemore.py itself, run side by side with the zoo for measurements (never in tests).

`load(path)` imports a copy of makemore.py as a module with its TensorBoard writer
replaced by one that writes nothing (makemore.py imports torch.utils.tensorboard, which
the playground does not install). `train(...)` runs its training loop as its __main__
does: global seed, its create_datasets, its model, its AdamW and InfiniteDataLoader
(num_workers=0: one process, the thread count the caller set), forward, zero_grad,
backward, step. Its periodic evaluations and samples draw from the global generator
only, never from the sampler's, so leaving them out leaves its training unchanged.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import sys
import tempfile
import time
import types
from pathlib import Path

import torch
import torch.nn.functional as F

from engine.data import Dataset


class _NoWriter:
    def __init__(self, *args, **kwargs):
        pass

    def add_scalar(self, *args, **kwargs):
        pass

    def flush(self):
        pass


def load(path: str | Path) -> types.ModuleType:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"makemore.py not found at {path}")
    stub = types.ModuleType("torch.utils.tensorboard")
    stub.SummaryWriter = _NoWriter
    sys.modules.setdefault("torch.utils.tensorboard", stub)
    spec = importlib.util.spec_from_file_location("makemore_peer", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class PeerRun:
    """makemore.py's state after create_datasets and model init, ready to step."""

    def __init__(self, mm, ds: Dataset, family: str, seed: int = 3407, batch_size: int = 32, **sizes):  # fmt: skip
        self.mm = mm
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            words = Path(tmp) / "words.txt"
            words.write_text("\n".join(ds.words) + "\n", encoding="utf-8")
            torch.manual_seed(seed)
            self.train_data, self.test_data = mm.create_datasets(str(words))
            config = mm.ModelConfig(
                vocab_size=self.train_data.get_vocab_size(),
                block_size=self.train_data.get_output_length(),
                **sizes,
            )
            make = {
                "transformer": lambda: mm.Transformer(config),
                "bigram": lambda: mm.Bigram(config),
                "mlp": lambda: mm.MLP(config),
                "rnn": lambda: mm.RNN(config, cell_type="rnn"),
                "gru": lambda: mm.RNN(config, cell_type="gru"),
                "bow": lambda: mm.BoW(config),
            }
            self.model = make[family]()
        self.optimizer = torch.optim.AdamW(
            self.model.parameters(), lr=5e-4, weight_decay=0.01, betas=(0.9, 0.99), eps=1e-8
        )
        self.loader = mm.InfiniteDataLoader(
            self.train_data, batch_size=batch_size, pin_memory=False, num_workers=0
        )
        self.step, self.seconds, self.losses = 0, 0.0, []

    def num_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def train_step(self) -> float:
        t0 = time.perf_counter()
        X, Y = self.loader.next()
        _, loss = self.model(X, Y)
        self.model.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        value = loss.item()
        self.seconds += time.perf_counter() - t0
        self.step += 1
        self.losses.append(value)
        return value

    @torch.inference_mode()
    def evaluate(self, which: str = "test") -> float:
        """The mean loss per predicted character over a whole split (the zoo's measure)."""
        dataset = self.test_data if which == "test" else self.train_data
        self.model.eval()
        total, count = 0.0, 0
        for i in range(0, len(dataset), 500):
            X, Y = zip(*(dataset[j] for j in range(i, min(i + 500, len(dataset)))), strict=True)
            X, Y = torch.stack(X), torch.stack(Y)
            logits, _ = self.model(X)
            total += F.cross_entropy(
                logits.view(-1, logits.size(-1)), Y.view(-1), ignore_index=-1, reduction="sum"
            ).item()
            count += int((Y != -1).sum())
        self.model.train()
        return total / count


def _steps_per_second(train_step, steps: int, warmup: int = 20) -> float:
    for _ in range(warmup):
        train_step()
    t0 = time.perf_counter()
    for _ in range(steps):
        train_step()
    return steps / (time.perf_counter() - t0)


def throughput(path, ds: Dataset, family: str = "transformer", steps: int = 300, repeats: int = 3) -> dict:  # fmt: skip
    """Steps/s of makemore.py's loop and the zoo's ZooJob at makemore.py's defaults, in
    alternating rounds (a warm-up of 20 steps each first), at the caller's thread count."""
    from engine.zoo import data as zoo_data
    from engine.zoo.job import ZooJob, makemore_train
    from engine.zoo.models import ZooConfig

    mm = load(path)
    splits = zoo_data.make_splits(ds)
    config = ZooConfig(family=family, block_size=zoo_data.block_size(ds))
    theirs, mine = [], []
    for _ in range(repeats):
        theirs.append(_steps_per_second(PeerRun(mm, ds, family).train_step, steps))
        job = ZooJob(config, makemore_train(steps + 20), splits, ds.vocab_size)
        mine.append(_steps_per_second(job.train_step, steps))
    return {
        "family": family,
        "makemore_steps_s": round(max(theirs), 1),
        "engine_steps_s": round(max(mine), 1),
        "ratio": round(max(mine) / max(theirs), 2),
        "ratio_each_round": [round(b / a, 2) for a, b in zip(theirs, mine, strict=True)],
        "threads": torch.get_num_threads(),
    }
