"""Lecture 4's jobs for the live pages: trained in time-boxed chunks, evaluated in chunks.

A page redraws between chunks, so none of these blocks for long: LiveDiagnostics keeps
the statistics of the last step of every chunk, Lockstep trains several nets step for
step (side-by-side curves always cover the same steps), and ChunkedEvaluation is a
Job's final evaluation a chunk of examples at a time.
"""

from __future__ import annotations

import time

import torch

from engine.part3_bn.stats import Diagnostics, capture
from engine.train import ChunkedEvaluation, Job


class JobProxy:
    """A Job with more to record, as a training of its own (engine.serve's Trainable).

    It trains in time-boxed chunks, then evaluates a chunk at a time; subclasses record
    what they need in _after_step (every step) and _after_chunk (after each chunk). What
    the pages read of the Job (step, losses, final) is the Job's.
    """

    job: Job
    evaluation: ChunkedEvaluation

    @property
    def step(self) -> int:
        return self.job.step

    @property
    def config(self):
        return self.job.config

    @property
    def train_config(self):
        return self.job.train_config

    @property
    def model(self):
        return self.job.model

    @property
    def evals(self) -> list[dict]:
        return self.job.evals

    @property
    def lossi(self) -> list[float]:
        return self.job.lossi

    @property
    def final(self) -> dict[str, float] | None:
        return self.job.final

    @property
    def seconds(self) -> float:
        return self.job.seconds

    @property
    def done(self) -> bool:
        """Trained and evaluated."""
        return self.job.done and self.evaluation.done

    def train_for(self, seconds: float) -> int:
        job, deadline, taken = self.job, time.perf_counter() + seconds, 0
        while not job.done and time.perf_counter() < deadline:
            job.train_step()
            self._after_step(job)
            taken += 1
        if taken:
            self._after_chunk()
        if job.done and not self.evaluation.done:
            self.evaluation.run_for(deadline - time.perf_counter())
        return taken

    def _after_step(self, job: Job) -> None:
        pass

    def _after_chunk(self) -> None:
        pass


class LiveDiagnostics(JobProxy):
    """A Job (built with record_stats=True) for a live page: train_for() keeps the diagnostics
    of the last training step of every chunk in .diagnostics, captured before any evaluation
    runs, and evaluates the splits in chunks once training is done. The update ratios are
    averaged down to max_points steps (1,001: every step of the lecture's run)."""

    def __init__(self, job: Job, max_points: int = 1001):
        if not job.record_stats:
            raise ValueError("Build the Job with record_stats=True to record the diagnostics.")
        self.job, self.max_points = job, max_points
        self.diagnostics: Diagnostics | None = None
        self.evaluation = ChunkedEvaluation(job)
        self._ud = torch.zeros((0, len(job.params)), dtype=torch.float64)  # job.ud so far

    def _after_chunk(self) -> None:
        job = self.job
        new = torch.tensor(job.ud[len(self._ud) :], dtype=torch.float64)
        self._ud = torch.cat([self._ud, new.reshape(-1, len(job.params))])
        self.diagnostics = capture(job, self.max_points, self._ud)


class Lockstep:
    """Several jobs trained step for step, so side-by-side curves always cover the same steps.

    It has a Job's interface for the live pages (train_for, step, done, train_config, ...).
    hooks[label](job) runs right after each training step of that job, e.g. a BatchNormTrace.
    """

    def __init__(self, jobs: dict[str, Job], hooks: dict | None = None):
        if len({job.train_config.steps for job in jobs.values()}) != 1:
            raise ValueError("Jobs trained in lockstep need the same number of steps.")
        self.jobs, self.hooks = jobs, hooks or {}
        self.train_config = next(iter(jobs.values())).train_config
        self.evaluations = [ChunkedEvaluation(job) for job in jobs.values()]

    @property
    def step(self) -> int:
        return min(job.step for job in self.jobs.values())

    @property
    def trained(self) -> bool:
        return all(job.done for job in self.jobs.values())

    @property
    def done(self) -> bool:
        """Trained and evaluated."""
        return self.trained and all(e.done for e in self.evaluations)

    @property
    def seconds(self) -> float:
        return sum(job.seconds for job in self.jobs.values())

    def steps_per_second(self) -> float:
        """Steps of every job per second."""
        return self.step / self.seconds if self.seconds else 0.0

    def train_for(self, seconds: float) -> int:
        deadline, taken = time.perf_counter() + seconds, 0
        while not self.trained and time.perf_counter() < deadline:
            for label, job in self.jobs.items():
                if not job.done:
                    job.train_step()
                    if label in self.hooks:
                        self.hooks[label](job)
            taken += 1
        for evaluation in self.evaluations:
            if self.trained and not evaluation.done:
                evaluation.run_for(deadline - time.perf_counter())
        return taken
