"""A run's loss history: lossi, the lecture's list of log10 minibatch losses, one per step.

A live page redraws a run's loss curve several times a second while training appends a
few hundred losses per tick; the curve averages buckets of the history, which needs the
running sums [0, l0, l0 + l1, ...]. Summing a 200,000-step history on every redraw cost
more than the training chunk itself, so the history keeps its running sums and adds only
what was appended since they were last asked for.
"""

from __future__ import annotations

import threading

import torch


class LossHistory(list):
    """A list of floats that only grows (append, extend), with prefix_sums().

    Thread-safe for one writer (the training) and many readers (every page watching the
    run). A copy or a pickle carries the losses, not the sums.
    """

    def __init__(self, values=()):
        super().__init__(values)
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._sums = torch.zeros(1024, dtype=torch.float64)  # _sums[i] = sum(self[:i])
        self._n, self._last = 0, None  # how many are summed, and the last of them

    def __reduce__(self):
        return (LossHistory, (list(self),))

    def prefix_sums(self) -> torch.Tensor:
        """[0, l0, l0 + l1, ..., sum(all)] in float64, (len(self) + 1,). What it covers is
        never written again: callers may keep it."""
        with self._lock:
            total, n = len(self), self._n
            if total < n or (n and self[n - 1] != self._last):  # rewritten, not appended to
                self._reset()
                n = 0
            if total > n:
                if total + 1 > len(self._sums):  # grow geometrically
                    grown = torch.empty(2 * (total + 1), dtype=torch.float64)
                    grown[: n + 1] = self._sums[: n + 1]
                    self._sums = grown
                new = torch.tensor(self[n:total], dtype=torch.float64)  # (total - n,)
                part = self._sums[n + 1 : total + 1]
                torch.cumsum(new, 0, out=part)
                part += self._sums[n]
                self._n, self._last = total, self[total - 1]
            return self._sums[: total + 1]
