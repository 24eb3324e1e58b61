"""A finished run as a record: its key, its weights, its loss history and what it was.

A run is identified by what determines its numbers: the data (dataset fingerprint, block
size, shuffles), the model config and the training config (seed and steps included).
Two runs with the same key train the same weights, so a run trained once, by any
student or by the teacher with the CLI, can be served to everyone from the cache.

Records are saved with torch.save and loaded with torch.load(weights_only=True): only
tensors, numbers and strings, never pickled code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import time
from dataclasses import dataclass

import torch

from engine import models
from engine.data import Dataset, Splits
from engine.history import LossHistory
from engine.messages import msg
from engine.models import ConfigError, ModelConfig
from engine.train import Job, TrainConfig
from engine.zoo.job import ZooJob
from engine.zoo.models import ZooConfig

FORMAT = "makemore-playground-run/1"

CONFIGS = {
    c.kind: c for c in (models.MLPConfig, models.DeepConfig, models.WaveNetConfig, ZooConfig)
}


def run_key(splits_key: str, config: ModelConfig, train: TrainConfig) -> str:
    """What determines a run's numbers, hashed: equal keys train equal weights."""
    spec = {
        "data": splits_key,
        "model": {"kind": config.kind, **dataclasses.asdict(config)},
        "train": dataclasses.asdict(train),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def job_key(job: Job) -> str | None:
    """The cache key of a Job, or None when its data carry no key (hand-made Splits)."""
    if not isinstance(job, Job) or not job.splits.key:
        return None
    return run_key(job.splits.key, job.config, job.train_config)


def config_from_dict(d: dict) -> ModelConfig:
    d = dict(d)
    cls = CONFIGS.get(d.pop("kind", None))
    if cls is None:
        raise ConfigError(msg("Unknown model family in this file."))
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in d.items() if k in names})


def train_config_from_dict(d: dict) -> TrainConfig:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return TrainConfig(**{k: v for k, v in d.items() if k in names})


@dataclass
class Record:
    """Everything a finished run leaves behind: weights, loss history and what it was."""

    meta: dict  # JSON-able: key, dataset, itos, model, train, final, evals, steps, seconds, ...
    state: dict[str, torch.Tensor]
    lossi: torch.Tensor  # log10 minibatch loss per step, float32

    @property
    def key(self) -> str:
        return self.meta["key"]

    @property
    def config(self) -> ModelConfig:
        return config_from_dict(self.meta["model"])

    @property
    def train_config(self) -> TrainConfig:
        return train_config_from_dict(self.meta["train"])

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        payload = {"format": FORMAT, "meta": json.dumps(self.meta), "state": self.state}
        torch.save({**payload, "lossi": self.lossi}, buf)
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Record:
        """Read a saved record; anything else raises ConfigError. Never unpickles code."""
        try:
            obj = torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")
            if not isinstance(obj, dict) or obj.get("format") != FORMAT:
                raise ValueError
            meta, state, lossi = json.loads(obj["meta"]), obj["state"], obj["lossi"]
            if not (
                isinstance(state, dict) and all(isinstance(t, torch.Tensor) for t in state.values())
            ):
                raise ValueError
            record = cls(meta, state, lossi.float())
            record.config, record.train_config  # noqa: B018 - both must parse
        except Exception as e:
            raise ConfigError(msg("This is not a model saved by makemore playground.")) from e
        return record


def describe(job: Job, dataset: Dataset) -> dict:
    """A Job's meta data as a Record keeps it (JSON-able, no tensors)."""
    return {
        "key": job_key(job) or run_key("", job.config, job.train_config),
        "dataset": dataset.name,
        "fingerprint": dataset.fingerprint,
        "builtin": dataset.builtin,  # a built-in dataset: its runs are listed for everyone
        "splits": job.splits.key,
        "itos": dataset.itos,
        "model": {"kind": job.config.kind, **dataclasses.asdict(job.config)},
        "train": dataclasses.asdict(job.train_config),
        "params": job.model.num_params(),
        "steps": job.step,
        "seconds": job.seconds,
        "final": job.final,
        "evals": job.evals,
        "created": time.time(),
    }


def snapshot(job: Job, dataset: Dataset) -> Record:
    """A finished (or stopped) Job as a Record."""
    meta = describe(job, dataset)
    state = {k: v.cpu() for k, v in job.model.state_dict().items()}
    return Record(meta, state, torch.tensor(job.lossi, dtype=torch.float32))


def restore(record: Record, splits: Splits, device: str = "cpu") -> Job:
    """The Job a record came from, as it was when it finished (ready to sample and evaluate)."""
    make = ZooJob if isinstance(record.config, ZooConfig) else Job
    job = make(record.config, record.train_config, splits, len(record.meta["itos"]), device=device)
    job.model.load_state_dict({k: v.to(device) for k, v in record.state.items()})
    job.lossi = LossHistory(record.lossi.tolist())
    job.evals = [dict(e) for e in record.meta["evals"]]
    job.final = dict(record.meta["final"]) if record.meta["final"] else None
    job.step, job.seconds = record.meta["steps"], record.meta["seconds"]
    return job
