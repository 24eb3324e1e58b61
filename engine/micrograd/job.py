"""The tiny MLP's gradient descent as a job the live page trains step by step."""

from __future__ import annotations

import time
from dataclasses import dataclass

from engine.messages import msg
from engine.micrograd.nn import MLP, mse_loss
from engine.models import ConfigError


@dataclass(frozen=True)
class MicroTrainConfig:
    steps: int = 20
    lr: float = 0.1
    seed: int = 1337
    zero_grad: bool = True  # False: the lecture's "forgot to zero the grads" bug


class MicroJob:
    """Gradient descent on the four examples, step by step, with the Job interface the live
    pages use (step, done, train_config, seconds, steps_per_second, train_for)."""

    def __init__(self, train: MicroTrainConfig, nouts=(4, 4, 1)):
        if train.steps < 1:
            raise ConfigError(msg("steps must be at least 1."))
        self.train_config = train
        self.model = MLP(3, list(nouts), seed=train.seed)
        self.step = 0
        self.seconds = 0.0
        self.pace: int | None = None  # at most this many steps per train_for (slow motion)
        self.losses: list[float] = []  # losses[k]: the loss after k steps
        self.preds: list[list[float]] = []  # preds[k]: the four predictions after k steps
        self._forward()

    @property
    def done(self) -> bool:
        return self.step >= self.train_config.steps

    def train_step(self) -> float:
        """zero_grad, backward, update; then the forward pass of the next step."""
        t0 = time.perf_counter()
        params = self.model.parameters()
        if self.train_config.zero_grad:
            for p in params:
                p.grad = 0.0
        self._loss.backward()
        for p in params:
            p.data += -self.train_config.lr * p.grad
        self.step += 1
        self._forward()
        self.seconds += time.perf_counter() - t0
        return self.losses[-2]

    def _forward(self) -> None:
        self._loss, ypred = mse_loss(self.model)
        self.losses.append(self._loss.data)
        self.preds.append([p.data for p in ypred])

    def train_for(self, seconds: float) -> int:
        deadline, taken = time.perf_counter() + seconds, 0
        while not self.done and time.perf_counter() < deadline:
            self.train_step()
            taken += 1
            if self.pace is not None and taken >= self.pace:
                break
        return taken

    def steps_per_second(self) -> float:
        return self.step / self.seconds if self.seconds else 0.0
