"""How much co-batching could give on this CPU: the ceiling of a stacked MLP step.

For the part-2 MLP and the part-3 BatchNorm MLP, times three things in alternating rounds
in one process (one thread, run-steps/s, best round):

- alone: R runs of a class one after another with the fused single-run step (as
  `python -m engine bench` times them);
- together: the same R runs in one engine.stacked.Stack;
- ceiling: only the kernels a stacked step of R runs cannot do without, at its shapes:
  the six batched matrix products, the biases, tanh and its gradient and, for part 3,
  BatchNorm over every run's channels with the two layout copies each way it needs. No
  minibatch draws, embedding, loss, softmax, update or per-run call.

ceiling / alone is the most any stacked step could gain over the runs trained alone here;
the issue's targets (3.5x at R = 32) can be set against it.

    python scripts/cobatch_ceiling.py [--runs 16 32] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from engine import bench, data  # noqa: E402
from engine.presets import PRESETS  # noqa: E402
from engine.stacked import keep_freed_memory  # noqa: E402

PRESETS_TIMED = ("part2-mlp", "part3-batchnorm")
_bn_backward = torch.ops.aten.native_batch_norm_backward


def kernels(config, batch: int, vocab: int, R: int):
    """One call: the batched kernels of a stacked step of R runs of MLP `config`."""
    B, E, H, V = batch, config.n_embd * config.block_size, config.n_hidden, vocab
    x, W1, W2 = torch.randn(R, B, E), torch.randn(R, E, H) * 0.1, torch.randn(R, H, V) * 0.1
    b1 = None if config.batchnorm else torch.zeros(R, 1, H)
    b2 = torch.zeros(R, 1, V)
    gamma, beta, mask = torch.ones(R * H), torch.zeros(R * H), [True, True, True]
    tiny = 1e-12  # the updates' scale: the weights stay as they are

    def step():
        h = torch.bmm(x, W1) if b1 is None else torch.baddbmm(b1, x, W1)
        if config.batchnorm:  # (R, B, H) -> (B, R * H): one BatchNorm over all runs
            hb = h.transpose(0, 1).reshape(B, R * H)
            out, mean, invstd = torch.native_batch_norm(hb, gamma, beta, None, None, True, 0, 1e-5)
            h = out.view(B, R, H).transpose(0, 1).contiguous()
        a = torch.tanh(h)
        d = torch.baddbmm(b2, a, W2)  # stands for the logits' gradient
        da = torch.bmm(d, W2.transpose(1, 2))
        W2.baddbmm_(a.transpose(1, 2), d, alpha=tiny)
        b2.add_(d.sum(1, keepdim=True), alpha=tiny)
        dh = torch.ops.aten.tanh_backward(da, a)
        if b1 is not None:
            b1.add_(dh.sum(1, keepdim=True), alpha=tiny)
        if config.batchnorm:
            dt = dh.transpose(0, 1).reshape(B, R * H)
            dx, _, _ = _bn_backward(dt, hb, gamma, None, None, mean, invstd, True, 1e-5, mask)
            dh = dx.view(B, R, H).transpose(0, 1).contiguous()
        torch.bmm(dh, W1.transpose(1, 2))  # the embedding's gradient
        W1.baddbmm_(x.transpose(1, 2), dh, alpha=tiny)

    return step


def measure(name: str, R: int, rounds: int) -> dict:
    p = PRESETS[name]
    ds = data.load_builtin("names")
    splits = data.make_splits(ds, p.model.block_size, p.shuffles)
    ceiling_step = kernels(p.model, p.train.batch_size, ds.vocab_size, R)
    steps = bench.COBATCH[name]  # the bench's steps per run per round
    best = {"alone": 0.0, "together": 0.0, "ceiling": 0.0}
    for round_ in range(rounds + 1):  # round 0 warms up and is not counted
        alone, together = bench.alone_and_together(p, splits, ds.vocab_size, R, steps)
        t0 = time.perf_counter()
        for _ in range(steps):
            ceiling_step()
        ceiling = R * steps / (time.perf_counter() - t0)
        if round_:
            for key, value in (("alone", alone), ("together", together), ("ceiling", ceiling)):
                best[key] = max(best[key], value)
    return {
        "preset": name,
        "runs": R,
        **{f"{k}_steps_s": round(v) for k, v in best.items()},
        "together_ratio": round(best["together"] / best["alone"], 2),
        "ceiling_ratio": round(best["ceiling"] / best["alone"], 2),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--presets", nargs="+", default=list(PRESETS_TIMED))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    keep_freed_memory()  # as the workers do
    for name in args.presets:
        for R in args.runs:
            print(json.dumps(measure(name, R, args.rounds)), flush=True)


if __name__ == "__main__":
    main()
