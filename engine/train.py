"""Training as in the lectures: minibatch SGD with a step learning-rate decay.

A Job owns one model and its data and advances one step at a time, so a caller can
train for a time budget (the app's live charts), to the end (the CLI), stop and resume.
It records what the lectures print and plot: the log10 minibatch loss of every step,
periodic train/dev losses, and, when asked, the update:data ratio of every parameter.
"""

from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass

import torch

from engine import fused as fused_step
from engine import models
from engine.data import Splits
from engine.history import LossHistory
from engine.lectures import LECTURE_SEED
from engine.messages import msg
from engine.models import ConfigError, ModelConfig, eval_mode

EVAL_TRAIN_SAMPLE = 20_000  # periodic evaluations estimate the train loss on this many examples
EVAL_CHUNK = 2048  # distinct contexts per forward pass of an evaluation (LossTable)


def eval_interval(steps: int) -> int:
    """The pages' evaluation interval: about ten evaluations a run, at most one per 100 steps
    (each costs about 40 steps' time on the MLP, 80 on the WaveNet: more would slow a short
    run down)."""
    return max(steps // 10, 100)


@dataclass(frozen=True)
class LossTable:
    """A split as its distinct contexts. In evaluation mode (BatchNorm with its running
    statistics) a model's loss on an example depends on nothing but its context and target,
    so a split's mean loss is the sum, over its distinct (context, target) pairs, of
    count x -log p(target | context), over the number of examples: the same number as one
    forward pass per example, for a forward pass per distinct context (names, block size 3:
    5,438 contexts stand for the training split's 182,625 examples; block size 8: 50,457)."""

    X: torch.Tensor  # (U, T) the distinct contexts, sorted
    first: torch.Tensor  # (U + 1,) where each context's pairs start in ctx/y/n
    ctx: torch.Tensor  # (P,) each distinct (context, target) pair's context: a row of X
    y: torch.Tensor  # (P,) its target
    n: torch.Tensor  # (P,) how many examples it stands for, float64
    examples: int

    @classmethod
    def of(cls, X: torch.Tensor, Y: torch.Tensor) -> LossTable:
        pairs, n = torch.unique(torch.cat([X, Y.view(-1, 1)], 1), dim=0, return_counts=True)
        contexts, ctx = torch.unique_consecutive(pairs[:, :-1], dim=0, return_inverse=True)
        first = torch.searchsorted(ctx, torch.arange(len(contexts) + 1, device=ctx.device))
        return cls(contexts, first, ctx, pairs[:, -1], n.double(), len(Y))

    def chunk_loss_sum(self, model, start: int) -> float:
        """The summed loss of the examples of the EVAL_CHUNK contexts from `start` (the
        model in evaluation mode); summed in double precision."""
        stop = min(start + EVAL_CHUNK, len(self.X))
        logits, _ = model(self.X[start:stop])
        a, b = self.first[start].item(), self.first[stop].item()
        logprobs = torch.log_softmax(logits, 1)[self.ctx[a:b] - start, self.y[a:b]]
        return -torch.dot(logprobs.double(), self.n[a:b]).item()

    def loss(self, model) -> float:
        """The mean loss of the model (in evaluation mode) over the split's examples."""
        if not self.examples:
            return math.nan
        total = sum(self.chunk_loss_sum(model, i) for i in range(0, len(self.X), EVAL_CHUNK))
        return total / self.examples


_TABLES: dict[int, dict] = {}  # id of a split's targets -> {limit: LossTable}


def loss_table(X: torch.Tensor, Y: torch.Tensor, limit: int | None = None) -> LossTable:
    """The LossTable of (X, Y)'s first `limit` examples, built once per split (its tables
    live as long as the split's targets tensor)."""
    if limit is not None and limit >= len(Y):  # a sample of the whole split: the split's table
        limit = None
    tables = _TABLES.get(id(Y))
    if tables is None:
        tables = _TABLES[id(Y)] = {}
        weakref.finalize(Y, _TABLES.pop, id(Y), None)
    if limit not in tables:
        tables[limit] = LossTable.of(X[:limit], Y[:limit])
    return tables[limit]


@torch.no_grad()
def split_loss(model, X: torch.Tensor, Y: torch.Tensor, limit: int | None = None) -> float:
    """The mean loss of `model` over (X, Y) (its first `limit` examples) with BatchNorm's
    running statistics, the lecture's split_loss: one forward pass per distinct context
    (LossTable), EVAL_CHUNK contexts at a time, activations that fit the CPU's cache (a
    deep, wide net never holds a whole split's: 10 layers of 400 over 182,625 examples
    would be gigabytes)."""
    with eval_mode(model):
        return loss_table(X, Y, limit).loss(model)


@dataclass(frozen=True)
class TrainConfig:
    """The lecture loop's knobs. lr is used for steps < lr_decay_step, then lr_after.

    `seed` seeds the one generator that draws the initial weights and then, as in lectures
    4 and 5, the minibatch indices. Lecture 3 drew its minibatches unseeded: `batch_seed`
    gives them a generator of their own.

    Beyond the lectures (makemore.py's choices, for fast recipes): optimizer "adamw" with
    weight_decay, and schedule "cosine": a linear warmup, then lr decays to lr_after.
    """

    steps: int = 200_000
    batch_size: int = 32
    lr: float = 0.1
    lr_after: float = 0.01
    lr_decay_step: int = 100_000
    seed: int = LECTURE_SEED
    batch_seed: int | None = None
    eval_every: int = 10_000
    optimizer: str = "sgd"  # or "adamw"
    weight_decay: float = 0.0
    schedule: str = "step"  # or "cosine"
    warmup: int = 0

    def lr_at(self, step: int) -> float:
        if self.schedule == "step":
            return self.lr if step < self.lr_decay_step else self.lr_after
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        t = min(1.0, (step - self.warmup) / max(1, self.steps - self.warmup))
        return self.lr_after + 0.5 * (self.lr - self.lr_after) * (1 + math.cos(math.pi * t))


def validate(train: TrainConfig, n_train: int) -> None:
    if train.steps < 0:
        raise ConfigError(msg("steps cannot be negative."))
    if train.batch_size < 1:
        raise ConfigError(msg("batch_size must be at least 1."))
    if n_train < 1:
        raise ConfigError(msg("The train split is empty: the dataset needs at least a few words."))
    if train.optimizer not in ("sgd", "adamw"):
        raise ConfigError(msg("optimizer must be 'sgd' or 'adamw'."))
    if train.schedule not in ("step", "cosine"):
        raise ConfigError(msg("schedule must be 'step' or 'cosine'."))


def _log10(x: float) -> float:
    """math.log10 with torch's answers where it would raise: -inf at 0, nan below."""
    if x > 0 or math.isnan(x):
        return math.log10(x)
    return -math.inf if x == 0 else math.nan


class Run:
    """What every training run keeps: the step, the time, the loss history, the evaluations.

    A subclass says how one minibatch updates its parameters (update) and how it is
    evaluated (estimate, finish); Run draws the minibatches and does the bookkeeping.
    """

    train_config: TrainConfig
    splits: Splits
    batch_generator: torch.Generator
    device: str = "cpu"

    def __init__(self):
        self.step = 0
        self.seconds = 0.0  # time spent inside steps, not waiting for the UI
        self.lossi = LossHistory()  # log10 minibatch loss per step, as the lecture plots
        self.evals: list[dict] = []  # periodic {"step", "train", "dev"}
        self.final: dict[str, float] | None = None

    @property
    def done(self) -> bool:
        return self.step >= self.train_config.steps

    def update(self, X, Y, lr: float) -> torch.Tensor:
        """One step on the minibatch (X, Y) at learning rate lr; returns the loss."""
        raise NotImplementedError

    def estimate(self) -> dict[str, float]:
        raise NotImplementedError

    def finish(self) -> dict[str, float]:
        raise NotImplementedError

    def finished(self, final: dict[str, float]) -> dict[str, float]:
        """Record the final losses, and their train and dev as the last evaluation."""
        self.final = final
        self.evals.append({"step": self.step, "train": final["train"], "dev": final["dev"]})
        return final

    def train_step(self) -> float:
        """One step of the lecture loop; returns the minibatch loss."""
        t0 = time.perf_counter()
        cfg = self.train_config
        Xtr, Ytr = self.splits.Xtr, self.splits.Ytr
        ix = torch.randint(0, Xtr.shape[0], (cfg.batch_size,), generator=self.batch_generator)
        if self.device != "cpu":
            ix = ix.to(self.device)
        loss = self.update(Xtr.index_select(0, ix), Ytr.index_select(0, ix), cfg.lr_at(self.step))
        value = loss.item()  # one sync per step; the log10 in double precision, in Python
        self.lossi.append(_log10(value))
        self.step += 1
        self.seconds += time.perf_counter() - t0
        if cfg.eval_every and self.step % cfg.eval_every == 0 and not self.done:
            self.evals.append({"step": self.step, **self.estimate()})
        return value

    def train_for(self, seconds: float) -> int:
        """Train until the time budget is spent or the run is done; returns the steps taken."""
        deadline = time.perf_counter() + seconds
        taken = 0
        while not self.done and time.perf_counter() < deadline:
            self.train_step()
            taken += 1
        if self.done and self.final is None:
            self.finish()
        return taken

    def run(self, callback=None) -> dict[str, float]:
        """Train to the end (callback(run) after every step, e.g. a progress bar)."""
        while not self.done:
            self.train_step()
            if callback:
                callback(self)
        return self.finish()

    def steps_per_second(self) -> float:
        return self.step / self.seconds if self.seconds else 0.0


class Job(Run):
    """One training run of a lecture model: model + data + config + what was recorded so far."""

    def __init__(
        self,
        config: ModelConfig,
        train: TrainConfig,
        splits: Splits,
        vocab_size: int,
        record_stats: bool = False,
        fused: bool = True,
        device: str = "cpu",
    ):
        super().__init__()
        validate(train, len(splits.Ytr))
        uses_bn = getattr(config, "batchnorm", True)
        if uses_bn and train.batch_size < 2:
            raise ConfigError(msg("BatchNorm needs a batch of at least 2 examples."))
        self.config, self.train_config, self.device = config, train, device
        self.splits = splits.to(device)
        self.generator = torch.Generator().manual_seed(train.seed)  # CPU: the same draws everywhere
        self.model = models.build(config, vocab_size, self.generator).to(device)
        self.params = self.model.parameters()
        self.batch_generator = (
            self.generator
            if train.batch_seed is None
            else torch.Generator().manual_seed(train.batch_seed)
        )
        self.optimizer = None
        if train.optimizer == "adamw":
            # fused: one kernel for every parameter's update (CPU and CUDA), about twice as
            # fast as the default per-parameter loop on these small tensors
            self.optimizer = torch.optim.AdamW(
                self.params,
                lr=train.lr,
                betas=(0.9, 0.99),
                weight_decay=train.weight_decay,
                fused=str(device).startswith(("cpu", "cuda")) or None,
            )
        self.record_stats = record_stats
        # the hand-written backward of engine.fused is faster; statistics need autograd's .grad
        self.fused = fused and not record_stats and fused_step.supports(self.model)
        self.ud: list[list[float]] = []  # log10 update:data ratio per step and parameter

    def update(self, X, Y, lr: float) -> torch.Tensor:
        if self.fused and self.optimizer is None:
            loss = fused_step.sgd_step(self.model, X, Y, lr)
        elif self.fused:
            loss = fused_step.set_grads(self.model, X, Y)
        else:
            _, loss = self.model(X, Y)
            if self.record_stats:
                for layer in self.model.layers:
                    layer.out.retain_grad()
            for p in self.params:
                p.grad = None
            loss.backward()
            if self.optimizer is None:
                for p in self.params:
                    p.data += -lr * p.grad
        if self.optimizer is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
            self.optimizer.step()
        if self.record_stats:
            with torch.no_grad():
                self.ud.append(
                    [((lr * p.grad).std() / p.data.std()).log10().item() for p in self.params]
                )
        return loss

    def evaluate(self, split: str, limit: int | None = None) -> float:
        """The loss on a split (its first `limit` examples), with BatchNorm's running statistics."""
        return split_loss(self.model, *self.splits.split(split), limit)

    def estimate(self) -> dict[str, float]:
        """Cheap periodic losses: dev in full, train on a fixed sample."""
        return {"train": self.evaluate("train", EVAL_TRAIN_SAMPLE), "dev": self.evaluate("dev")}

    def finish(self) -> dict[str, float]:
        """The lecture's split_loss on all three splits, with BatchNorm's running statistics."""
        return self.finished({s: self.evaluate(s) for s in ("train", "dev", "test")})


class ChunkedEvaluation:
    """A Job's finish() (train, dev and test loss with BatchNorm's running statistics), a
    chunk of examples at a time between a live race's steps, with finish()'s numbers (the
    same chunks). With train and dev among the splits, it sets job.final and adds the last
    evaluation when all is done, as finish() would."""

    def __init__(self, job: Job, splits=("train", "dev", "test")):
        self.job, self.todo = job, list(splits)
        self.offset, self.total, self.losses = 0, 0.0, {}

    @property
    def done(self) -> bool:
        return not self.todo

    @torch.no_grad()
    def run_for(self, seconds: float) -> None:
        """Evaluate at least one chunk, then more until the time budget is spent."""
        deadline, model = time.perf_counter() + seconds, self.job.model
        with eval_mode(model):
            while self.todo:
                table = loss_table(*self.job.splits.split(self.todo[0]))
                if self.offset < len(table.X):
                    self.total += table.chunk_loss_sum(model, self.offset)
                    self.offset += EVAL_CHUNK
                if self.offset >= len(table.X):
                    n = table.examples
                    self.losses[self.todo.pop(0)] = self.total / n if n else math.nan
                    self.offset, self.total = 0, 0.0
                if time.perf_counter() >= deadline:
                    break
        if self.done and self.job.final is None and {"train", "dev"} <= set(self.losses):
            self.job.finished(self.losses)


@dataclass(frozen=True)
class EvaluationConfig:
    steps: int  # examples to evaluate, all splits together


class Evaluation:
    """A trained Job's losses on whole splits, as a training of its own for the service:
    its steps are the examples evaluated so far (the compare page's imported models).
    Each split as Job.finish() evaluates it, so the numbers are finish()'s."""

    def __init__(self, job: Job, splits=("train", "dev", "test")):
        self.job, self.todo = job, list(splits)
        self.sizes = {s: len(job.splits.split(s)[1]) for s in splits}
        self.train_config = EvaluationConfig(sum(self.sizes.values()))
        self.losses: dict[str, float] = {}
        self.step, self.seconds = 0, 0.0

    @property
    def done(self) -> bool:
        return not self.todo

    def train_for(self, seconds: float) -> int:
        """Evaluate the next split (one at a time, whatever the budget)."""
        if not self.todo:
            return 0
        t0, split = time.perf_counter(), self.todo.pop(0)
        self.losses[split] = self.job.evaluate(split)
        self.step += self.sizes[split]
        self.seconds += time.perf_counter() - t0
        return self.sizes[split]
