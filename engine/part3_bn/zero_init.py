"""Exercise E01 of lecture 4: initialise every weight and bias to zero; which parameters
ever learn?
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from engine.data import Splits
from engine.layers import BatchNorm1d, Embedding
from engine.messages import msg
from engine.models import ConfigError, Model, ModelConfig
from engine.part3_bn.live import ChunkedEvaluation, JobProxy
from engine.part3_bn.stats import lecture_offset
from engine.train import Job, TrainConfig


@dataclass(frozen=True)
class ParamLearning:
    param: int
    layer: int  # lecture numbering; -1 for the embedding table C kept outside `layers`
    name: str  # "C", "Linear.weight", "BatchNorm1d.beta", ...
    shape: tuple[int, ...]
    learns: bool  # got a finite, non-zero gradient at some step
    max_abs_grad: float  # over all steps (nan once the loss is nan)
    final_grad_std: float
    moved: float  # max |param - init|


@dataclass(frozen=True)
class ZeroInitReport:
    params: list[ParamLearning]
    lossi: list[float]  # log10 minibatch loss per step
    train_loss: float  # full train split at the end (eval mode)
    unigram_loss: float  # the limit when only the output bias learns
    diverged: bool  # the loss became nan (BatchNorm without eps divides 0 by 0)
    learning: list[str]  # e.g. ["param 18: layer 16 BatchNorm1d.beta"]


def _param_names(model: Model) -> list[tuple[int, str]]:
    offset, names = lecture_offset(model), []
    for i, layer in enumerate(model.layers):
        kind = type(layer).__name__
        if isinstance(layer, Embedding):
            names.append((-1 if offset else i, "C"))
            continue
        attrs = ("gamma", "beta") if isinstance(layer, BatchNorm1d) else ("weight", "bias")
        names += [(i - offset, f"{kind}.{attr}") for attr in attrs[: len(layer.parameters())]]
    return names


class ZeroInitRun(JobProxy):
    """Exercise E01 as a job that trains in chunks (for a live page): see zero_init_experiment.

    It has a Job's interface (train_for, step, done, ...) and report() when done.
    """

    def __init__(
        self,
        config: ModelConfig,
        splits: Splits,
        vocab_size: int,
        steps: int = 300,
        zero_embedding: bool = True,
        zero_batchnorm: bool = False,
    ):
        if steps < 1:
            raise ConfigError(msg("Train for at least one step."))
        cfg = TrainConfig(steps=steps, eval_every=0)
        # record_stats: autograd's step, which leaves every parameter's .grad to look at
        self.job = job = Job(config, cfg, splits, vocab_size, record_stats=True)
        self.splits, self.vocab_size = splits, vocab_size
        with torch.no_grad():
            for layer in job.model.layers:
                skip = (isinstance(layer, BatchNorm1d) and not zero_batchnorm) or (
                    isinstance(layer, Embedding) and not zero_embedding
                )
                for p in [] if skip else layer.parameters():
                    p.zero_()
        self.init = [p.detach().clone() for p in job.params]
        self.max_grad = [torch.zeros(()) for _ in job.params]  # torch.maximum keeps a nan
        self.evaluation = ChunkedEvaluation(job, ("train",))
        self._report: ZeroInitReport | None = None

    def _after_step(self, job: Job) -> None:
        self.max_grad = [
            torch.maximum(m, p.grad.abs().max())
            for m, p in zip(self.max_grad, job.params, strict=True)
        ]

    def report(self) -> ZeroInitReport:
        """Which parameters got a gradient, and the loss the net ends at (call when done)."""
        if self._report is not None:
            return self._report
        while not self.done:
            self.train_for(math.inf)
        job, report = self.job, []
        for i, ((layer_no, name), p, p0, m) in enumerate(
            zip(_param_names(job.model), job.params, self.init, self.max_grad, strict=True)
        ):
            report.append(
                ParamLearning(
                    i,
                    layer_no,
                    name,
                    tuple(p.shape),
                    bool(m.isfinite() and m > 0),
                    m.item(),
                    p.grad.std().item() if p.grad is not None and p.grad.numel() > 1 else math.nan,
                    (p.detach() - p0).abs().max().item(),
                )
            )
        train_loss = self.evaluation.losses["train"]
        self._report = ZeroInitReport(
            report,
            job.lossi,
            train_loss,
            unigram_loss(self.splits, self.vocab_size),
            not math.isfinite(train_loss),
            [f"param {r.param}: layer {r.layer} {r.name}" for r in report if r.learns],
        )
        return self._report


def zero_init_experiment(
    config: ModelConfig,
    splits: Splits,
    vocab_size: int,
    steps: int = 300,
    zero_embedding: bool = True,
    zero_batchnorm: bool = False,
) -> ZeroInitReport:
    """Exercise E01: train from all-zero weights and biases; which parameters ever learn?

    C counts as a weight unless zero_embedding=False; BatchNorm's gamma/beta keep their
    ones/zeros unless zero_batchnorm=True. What happens: every hidden h = tanh(0) = 0, so
    each weight gradient h.T @ dout is 0, and every weight W = 0 passes back dout @ W.T = 0.
    Only the output bias (b2, or the last BatchNorm's beta) sees the loss: it learns the
    unigram distribution and the net stays a unigram model. With the lecture-3 BatchNorm
    (std, no eps) the zero pre-activations give 0/0 and the loss is nan from step 0.
    """
    run = ZeroInitRun(config, splits, vocab_size, steps, zero_embedding, zero_batchnorm)
    run.train_for(math.inf)
    return run.report()


def unigram_loss(splits: Splits, vocab_size: int) -> float:
    """The train loss of the unigram model, the entropy of the next-character frequencies."""
    p = torch.bincount(splits.Ytr, minlength=vocab_size).double() / len(splits.Ytr)
    p = p[p > 0]
    return -(p * p.log()).sum().item()
