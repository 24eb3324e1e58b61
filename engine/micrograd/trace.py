"""Stepping through micrograd's backward one node at a time, for drawing the graph."""

from __future__ import annotations

from dataclasses import dataclass

from engine.messages import msg
from engine.micrograd.value import Value, topological_order


@dataclass(frozen=True)
class Node:
    name: str  # the label, a constant's value, or t1, t2, ... for unnamed intermediates
    op: str  # "" for leaves
    data: float
    inputs: tuple[int, ...]  # indices into Trace.nodes
    leaf: bool


@dataclass(frozen=True)
class Step:
    node: int | None  # the node whose gradient was just passed on (None: before backward)
    grads: tuple[float, ...]  # every node's grad after this step
    text: str


@dataclass(frozen=True)
class Trace:
    """A graph in topological order and its backward pass, one node at a time."""

    nodes: tuple[Node, ...]
    steps: tuple[Step, ...]
    root: int


def trace_backward(root: Value, accumulate: bool = True) -> Trace:
    """Run backward on a fresh graph (all grads 0) and record every intermediate state."""
    topo = topological_order(root)
    index = {id(v): i for i, v in enumerate(topo)}
    names, k = [], 0
    for v in topo:
        if v.label:
            names.append(v.label)
        elif not v._prev:
            names.append(f"{v.data:g}")
        else:
            k += 1
            names.append(f"t{k}")
    nodes = tuple(
        Node(names[i], v._op, v.data, tuple(index[id(c)] for c in v._prev), not v._prev)
        for i, v in enumerate(topo)
    )
    for v in topo:
        v.grad = 0.0
    steps = [Step(None, tuple(0.0 for _ in topo), msg("Before backward: every grad is 0."))]
    sign = "+=" if accumulate else "="
    for v in root.backward_steps(accumulate):
        i = index[id(v)]
        lines = [f"{names[i]}.grad = 1 (d{names[i]}/d{names[i]})"] if v is root else []
        lines += [
            f"{names[index[id(c)]]}.grad {sign} {local:.4f} × {v.grad:.4f}"
            f" (∂{names[i]}/∂{names[index[id(c)]]} × {names[i]}.grad)"
            for c, local in v._local
        ]
        steps.append(Step(i, tuple(u.grad for u in topo), "\n".join(lines)))
    return Trace(nodes, tuple(steps), index[id(root)])
