"""Reading an exported model file back: the import check and the trained model.

Record.from_bytes (engine.serve.records) reads the weights-only file and checks its format
and its two configs; check() makes sure the rest is whole before the app trusts it.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from engine import models
from engine.data import MAX_VOCAB, SplitsKey
from engine.messages import msg
from engine.models import ConfigError
from engine.serve.records import Record
from engine.zoo import models as zoo


def load_model(record: Record) -> models.Model:
    """The record's model with its trained weights (on the CPU)."""
    build = zoo.build if isinstance(record.config, zoo.ZooConfig) else models.build
    model = build(record.config, len(record.meta["itos"]), torch.Generator())
    return model.load_state_dict(record.state)


def check(record: Record, max_params: int = 8_000_000) -> Record:
    """Make sure an imported record is whole: its meta complete, its weights its model's.

    Record.from_bytes checks the format and the two configs; a file made by hand could
    still lack the rest, or ask for a model far bigger than its weights. Raises ConfigError
    (with a message for the user) and returns the record.
    """
    meta = record.meta
    try:
        itos = meta["itos"]
        if not (isinstance(itos, list) and all(isinstance(c, str) for c in itos)):
            raise ValueError
        if not (2 <= len(itos) <= MAX_VOCAB and isinstance(meta["evals"], list)):
            raise ValueError
        if record.lossi.ndim != 1:
            raise ValueError
        for e in meta["evals"]:
            int(e["step"]), float(e["train"]), float(e["dev"])
        if meta["final"] is not None:
            float(meta["final"]["train"]), float(meta["final"]["dev"]), float(meta["final"]["test"])
        int(meta["steps"]), float(meta["seconds"]), int(meta["params"])
        str(meta["dataset"]), str(meta["fingerprint"]), str(meta["key"])
        zoo_split = str(meta["splits"]).startswith("zoo:")
        if SplitsKey.parse(str(meta["splits"])) is None and not zoo_split:
            raise ValueError
    except (KeyError, TypeError, ValueError):
        raise ConfigError(
            msg("This model file is incomplete: it was not saved by makemore playground.")
        ) from None
    try:
        for config in (record.config, record.train_config):
            _check_types(config)
        if isinstance(record.config, zoo.ZooConfig):
            too_big = zoo.count_params(record.config, len(itos)) > max_params  # validates
        else:
            models.validate(record.config, len(itos))
            too_big = _size_bound(record.config, len(itos)) > max_params
    except ConfigError:
        raise
    except (TypeError, ValueError, OverflowError):
        raise ConfigError(msg("This model file holds an impossible configuration.")) from None
    if too_big:
        raise ConfigError(msg("This model file describes a model too large for this server."))
    try:
        load_model(record)  # ConfigError when the weights belong to another architecture
    except (RuntimeError, TypeError, ValueError) as e:
        if isinstance(e, ConfigError):
            raise
        raise ConfigError(msg("The weights in this file do not fit its model.")) from None
    return record


def _check_types(config) -> None:
    """Every field of a config has its default's type (an int will do for a float)."""
    for f in dataclasses.fields(config):
        value, default = getattr(config, f.name), f.default
        wanted = (int, float) if type(default) is float else type(default)
        if default is None:  # batch_seed
            wanted = (int, type(None))
        if not isinstance(value, wanted) or (type(default) is not bool and type(value) is bool):
            raise TypeError(f.name)


def _size_bound(c, V: int) -> int:
    """More numbers than any model of this config holds (checked before building one)."""
    fan_in = c.block_size * c.n_embd
    depth = getattr(c, "n_layers", 1) + (int(math.log2(c.block_size)) + 1)
    h = c.n_hidden
    return V * c.n_embd + fan_in * (h + V) + 2 * depth * h * h + h * V + 8 * (depth + 1) * (h + V)
