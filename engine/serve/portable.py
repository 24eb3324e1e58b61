"""Trainings that travel between processes: pickles that leave the data behind, and patches.

A training (a Job, several in lockstep, the backprop ninja's manual loop...) is built in
the server, pickled to a worker process that trains it, and pickled back when it stops
or finishes. Two things make that cheap and exact:

- The data stays put. Splits (the train/dev/test tensors, megabytes) and Datasets are
  pickled as references (pickle's persistent ids); each process keeps the ones it has
  seen by key, and a worker is sent a reference's object once.
- Caches of engine.fused (attributes named `_fused...`, e.g. a weight's transposed view)
  never travel: a pickled view would be a copy, no longer the weight it mirrors.

While a worker trains, the server keeps a replica of the training for the pages to read,
kept up to date by patches: Outbox.patch() says what changed since the last patch (new
losses appended to a list, tensors written in place, attributes set), apply() writes it
into the replica. Only engine objects are looked into; anything else (torch generators,
optimizers) is sent again only when it is replaced by another object.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable

import torch

from engine.data import Dataset, Splits

FUSED = "_fused"  # attribute prefix of engine.fused's per-object caches
SKIPPED = frozenset({"out"})  # the lecture layers' last activations: large, not shown live


def ref_key(obj) -> tuple[str, str] | None:
    """The key a shared, read-only data object travels under, or None for anything else."""
    if isinstance(obj, Splits) and obj.key:
        return ("splits", obj.key)
    if isinstance(obj, Dataset):
        return ("dataset", obj.fingerprint)
    return None


def _restore(cls, state: dict):
    obj = cls.__new__(cls)
    obj.__dict__.update(state)
    return obj


class _Pickler(pickle.Pickler):
    def __init__(self, file, refs: dict):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.refs = refs

    def persistent_id(self, obj):
        key = ref_key(obj)
        if key is not None:
            self.refs[key] = obj
        return key

    def reducer_override(self, obj):
        state = getattr(obj, "__dict__", None)
        if (
            isinstance(state, dict)
            and not isinstance(obj, type)
            and any(k.startswith(FUSED) for k in state)
        ):
            kept = {k: v for k, v in state.items() if not k.startswith(FUSED)}
            return _restore, (type(obj), kept)
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, lookup: Callable[[tuple[str, str]], object]):
        super().__init__(file)
        self.lookup = lookup

    def persistent_load(self, key):
        return self.lookup(tuple(key))


def dumps(obj, refs: dict | None = None) -> bytes:
    """obj pickled, its data by reference; the references it used are added to `refs`."""
    buf = io.BytesIO()
    _Pickler(buf, {} if refs is None else refs).dump(obj)
    return buf.getvalue()


def loads(blob: bytes, lookup: Callable[[tuple[str, str]], object]):
    """The object of dumps(), its references resolved by lookup(key)."""
    return _Unpickler(io.BytesIO(blob), lookup).load()


# ---------------------------------------------------------------------------------------
# patches: keep a replica in step with the object a worker trains

Path = tuple  # attribute names, list indices and dict keys from the root


def _is_engine(obj) -> bool:
    return type(obj).__module__.startswith("engine.") and hasattr(obj, "__dict__")


def _plain(value) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, bytes))


class Outbox:
    """What a training changed since the last patch, for its replica in another process.

    Both sides start from the same pickle, so the first patch holds only what changed
    since then.
    """

    def __init__(self, root):
        self.root = root
        self.marks: dict[tuple[Path, str], object] = {}  # what was sent, by path and kind
        self._visit(root, (), [], set())

    def patch(self) -> list[tuple[str, Path, object]]:
        ops: list[tuple[str, Path, object]] = []
        self._visit(self.root, (), ops, set())
        return ops

    def _changed(self, path: Path, kind: str, mark) -> bool:
        if (path, kind) in self.marks and self.marks[path, kind] == mark:
            return False
        self.marks[path, kind] = mark
        return True

    def _visit(self, obj, path: Path, ops: list, seen: set) -> None:
        if id(obj) in seen or ref_key(obj) is not None:  # aliases; data that never changes
            return
        seen.add(id(obj))
        if isinstance(obj, torch.Tensor):
            # by value: fused optimizers write parameters without bumping their _version
            last = self.marks.get((path, "tensor"))
            if last is None or last.shape != obj.shape or not torch.equal(last, obj):
                self.marks[path, "tensor"] = copy = obj.detach().clone()
                ops.append(("tensor", path, copy))
            if obj.grad is not None:
                self._visit_child(obj.grad, (*path, "grad"), ops, seen)
        elif isinstance(obj, list):
            self._visit_list(obj, path, ops, seen)
        elif isinstance(obj, dict):
            for key, value in obj.items():
                self._visit_child(value, (*path, key), ops, seen)
        elif _is_engine(obj):
            for name, value in vars(obj).items():
                if not name.startswith(FUSED) and name not in SKIPPED:
                    self._visit_child(value, (*path, name), ops, seen)

    def _visit_child(self, value, path: Path, ops: list, seen: set) -> None:
        """A value inside a container: sent whole when it is another object, else looked into."""
        if _plain(value) or isinstance(value, tuple):
            mark = value if _plain(value) else id(value)
            if self._changed(path, "value", mark):
                ops.append(("set", path, value))
            return
        if self._changed(path, "id", id(value)):
            ops.append(("set", path, value))
            self._visit(value, path, [], seen)  # remember what it holds: next time, changes only
            return
        self._visit(value, path, ops, seen)

    def _visit_list(self, items: list, path: Path, ops: list, seen: set) -> None:
        sent = self.marks.get((path, "len"), 0)
        if len(items) < sent:  # shortened: the replica gets the list again
            ops.append(("set", path, list(items)))
        elif len(items) > sent:
            ops.append(("extend", path, (sent, items[sent:])))
        self.marks[path, "len"] = len(items)
        for i, item in enumerate(items):  # only tensors and engine objects change in place
            if isinstance(item, torch.Tensor) or _is_engine(item):
                self._visit(item, (*path, i), ops if i < sent else [], seen)


def _child(obj, key):
    if isinstance(obj, (list, dict)):
        return obj[key]
    if isinstance(obj, torch.Tensor) and key == "grad":
        return obj.grad
    return getattr(obj, key)


def _set(obj, key, value) -> None:
    if isinstance(obj, (list, dict)):
        obj[key] = value
    elif isinstance(obj, torch.Tensor) and key == "grad":
        obj.grad = value
    else:
        object.__setattr__(obj, key, value)  # frozen dataclasses too


def apply(root, ops: list[tuple[str, Path, object]]) -> None:
    """Write a patch of Outbox.patch() into the replica `root`."""
    for op, path, value in ops:
        if op == "set" and not path:
            continue
        parent = root
        for key in path[:-1]:
            parent = _child(parent, key)
        if op == "extend":
            start, new = value
            target = _child(parent, path[-1]) if path else root
            del target[start:]
            target.extend(new)
        elif op == "tensor":
            target = _child(parent, path[-1]) if path else root
            if isinstance(target, torch.Tensor) and target.shape == value.shape:
                with torch.no_grad():
                    target.copy_(value)
            else:
                _set(parent, path[-1], value)
        else:
            _set(parent, path[-1], value)
