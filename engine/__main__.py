"""makemore-style command line over the playground's engine.

python -m engine datasets
python -m engine presets
python -m engine train --dataset names --preset part3-batchnorm --json
python -m engine sample --dataset names --n 20 --seed 42 --temperature 0.8
python -m engine bigram --dataset names --smoothing 1 --json
python -m engine train --type transformer --steps 3000 --json   # makemore.py's families
python -m engine bench [--quick] [--json] [--makemore PATH/makemore.py]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

import torch

from engine import bench, data, models, wordfile
from engine.lectures import SAMPLE_SEED
from engine.part1_bigrams import ngram
from engine.presets import PRESETS
from engine.sample import sample_words
from engine.serve.cache import RunCache
from engine.serve.records import restore, run_key, snapshot
from engine.train import Job, TrainConfig
from engine.zoo import data as zoo_data
from engine.zoo import sample as zoo_sample
from engine.zoo.job import ZooJob, makemore_train
from engine.zoo.models import FAMILIES, ZooConfig


def add_dataset_args(p: argparse.ArgumentParser) -> None:
    src = p.add_mutually_exclusive_group()
    src.add_argument("--dataset", default="names", help=f"built-in: {', '.join(data.BUILTINS)}")
    src.add_argument("--file", help="a word list, one word per line (UTF-8)")
    p.add_argument("--no-lowercase", action="store_true", help="keep upper case letters")
    p.add_argument("--strip-accents", action="store_true", help="é -> e, ñ -> n")
    p.add_argument(
        "--split-bilingual",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="split 'a/b' names in two (default: on for spanish-municipalities)",
    )


def load_dataset(args) -> data.Dataset:
    source = args.file or args.dataset
    default = (
        data.BUILTINS[source].normalization if source in data.BUILTINS else data.Normalization()
    )
    split = default.split_bilingual if args.split_bilingual is None else args.split_bilingual
    norm = data.Normalization(
        lowercase=not args.no_lowercase, strip_accents=args.strip_accents, split_bilingual=split
    )
    return wordfile.load(source, norm)


def bounded(kind, lo, hi):
    """An argparse type: a number of `kind` within [lo, hi], or a one-line error."""

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must be between {lo:g} and {hi:g}, got {text}")
        return value

    return parse


def device(text: str) -> str:
    """A torch device that exists on this machine."""
    try:
        d = torch.device(text)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"not a device: {text!r}") from None
    if d.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError("no CUDA device on this machine")
    if d.type not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"unsupported device type {d.type!r}: use cpu or cuda")
    return text


class Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line on stderr, exit code 2 (argparse's default prints the whole usage)."""
        self.exit(2, f"{self.prog}: error: {message}\n")


class Progress:
    """A progress bar on stderr, redrawn at most twice a second."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.stream, self.last = total, stream, 0.0

    def __call__(self, job: Job) -> None:
        now = time.perf_counter()
        if now - self.last < 0.5 and not job.done:
            return
        self.last = now
        frac = job.step / max(self.total, 1)
        rate = job.steps_per_second()
        eta = (self.total - job.step) / rate if rate else 0
        bar = "#" * int(30 * frac) + "." * (30 - int(30 * frac))
        loss = 10 ** job.lossi[-1] if job.lossi else float("nan")
        self.stream.write(
            f"\r[{bar}] {job.step}/{self.total} loss {loss:.4f} {rate:,.0f} steps/s ETA {eta:.0f}s "
        )
        if job.done:
            self.stream.write("\n")
        self.stream.flush()


def zoo_config(args, ds: data.Dataset) -> tuple[ZooConfig, TrainConfig]:
    """--type: makemore.py's family with its defaults, block size = longest word + 1."""
    if args.preset:
        raise models.ConfigError("--type trains makemore.py's families; leave out --preset.")
    for flag in ("n_hidden", "n_layers", "lr_after", "lr_decay_step"):
        if getattr(args, flag) is not None:
            raise models.ConfigError(f"--{flag.replace('_', '-')} does not apply to --type.")
    sizes = {
        "block_size": args.block_size or zoo_data.block_size(ds),
        "n_layer": args.n_layer,
        "n_head": args.n_head,
        "n_embd": args.n_embd,
        "n_embd2": args.n_embd2,
    }
    model = ZooConfig(family=args.type, **{k: v for k, v in sizes.items() if v is not None})
    train = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "weight_decay": args.weight_decay,
    }
    train = makemore_train(**{k: v for k, v in train.items() if v is not None})
    if args.lr is not None:
        train = dataclasses.replace(train, lr=args.lr, lr_after=args.lr)
    return model, train


def training_config(args) -> tuple[models.ModelConfig, TrainConfig, int, str]:
    preset = PRESETS[args.preset] if args.preset else None
    if preset:
        model, train, shuffles, name = preset.model, preset.train, preset.shuffles, preset.name
    else:
        family = {
            "mlp": models.MLPConfig,
            "deep": models.DeepConfig,
            "wavenet": models.WaveNetConfig,
        }
        model, train, shuffles, name = family[args.model](), TrainConfig(), 1, args.model
    model_overrides = {
        "block_size": args.block_size,
        "n_embd": args.n_embd,
        "n_hidden": args.n_hidden,
    }
    if args.n_layers is not None:
        if not isinstance(model, models.DeepConfig):
            raise models.ConfigError("--n-layers applies to the deep model only.")
        model_overrides["n_layers"] = args.n_layers
    model = dataclasses.replace(
        model, **{k: v for k, v in model_overrides.items() if v is not None}
    )
    train_overrides = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "lr_after": args.lr_after,
        "lr_decay_step": args.lr_decay_step,
        "seed": args.seed,
    }
    train = dataclasses.replace(
        train, **{k: v for k, v in train_overrides.items() if v is not None}
    )
    return model, train, shuffles, name


def cmd_datasets(args) -> None:
    for key, b in data.BUILTINS.items():
        try:
            where = str(data.builtin_path(key, download=False))
        except data.DatasetError:
            where = "not downloaded yet (fetched on first use)"
        print(f"{key:24s} {b.title}: {b.description}\n{'':24s} {where}")


def cmd_presets(args) -> None:
    for p in PRESETS.values():
        target = (
            f"train {p.expected[0]:.4f} / dev {p.expected[1]:.4f} (± {p.tolerance:g} on any CPU)"
            if p.expected
            else ""
        )
        if p.dev_range:
            target = f"dev in {p.dev_range[0]}–{p.dev_range[1]} (lecture run unseeded)"
        if p.target_dev:
            target = f"dev <= {p.target_dev} (AdamW, batch {p.train.batch_size}, cosine)"
        print(f"{p.name:18s} {p.lecture}: {p.title}. {p.train.steps:,} steps. {target}")


def trained_job(args, ds: data.Dataset, model_cfg, train_cfg, shuffles: int) -> Job:
    """The run from the run cache when it was trained before, else trained now and cached."""
    zoo = isinstance(model_cfg, ZooConfig)
    splits = (
        zoo_data.make_splits(ds) if zoo else data.make_splits(ds, model_cfg.block_size, shuffles)
    )
    cache = RunCache.from_environment()
    no_cache = getattr(args, "no_cache", False)
    record = None if no_cache else cache.get(run_key(splits.key, model_cfg, train_cfg))
    if record is not None:
        print(
            f"(from the run cache in {cache.directory}; --no-cache trains again)", file=sys.stderr
        )
        return restore(record, splits, args.device)
    make = ZooJob if zoo else Job
    job = make(model_cfg, train_cfg, splits, ds.vocab_size, device=args.device)
    job.run(callback=None if getattr(args, "quiet", False) else Progress(train_cfg.steps))
    cache.put(snapshot(job, ds))
    if cache.unavailable:
        print(f"({cache.unavailable})", file=sys.stderr)
    return job


def cmd_train(args) -> None:
    ds = load_dataset(args)
    if args.type:
        (model_cfg, train_cfg), shuffles, name = zoo_config(args, ds), 1, args.type
    else:
        model_cfg, train_cfg, shuffles, name = training_config(args)
    job = trained_job(args, ds, model_cfg, train_cfg, shuffles)
    result = job.final
    summary = {
        "preset": name,
        "dataset": ds.name,
        "fingerprint": ds.fingerprint,
        **result,
        "steps": job.step,
        "seconds": round(job.seconds, 3),
        "steps_per_second": round(job.steps_per_second(), 1),
        "params": job.model.num_params(),
    }
    if args.samples and isinstance(job, ZooJob):
        summary["samples"] = zoo_sample.sample_words(job.model, ds.itos, args.samples, SAMPLE_SEED)
    elif args.samples:
        summary["samples"] = sample_words(
            job.model, ds.itos, n=args.samples, seed=train_cfg.seed + 10
        )
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{name} on {ds.name}: {summary['params']:,} parameters, {job.step:,} steps")
        if isinstance(job, ZooJob):  # makemore.py's split: train and test, no dev set
            print(f"train {result['train']:.4f}  test {result['test']:.4f}")
        else:
            print(
                f"train {result['train']:.4f}  dev {result['dev']:.4f}  test {result['test']:.4f}"
            )
        for s in summary.get("samples", []):
            print(s)


def cmd_sample(args) -> None:
    ds = load_dataset(args)
    if args.preset:  # --seed is the sampling seed here; the preset trains with its own
        model_cfg, train_cfg, shuffles, _ = training_config(
            argparse.Namespace(**{**vars(args), "seed": None})
        )
        model = trained_job(args, ds, model_cfg, train_cfg, shuffles).model
    else:
        N = ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size)
        model = ngram.NGramModel(ngram.probabilities(N, args.smoothing), 2)
    for w in sample_words(model, ds.itos, args.n, args.seed, args.temperature, args.top_k):
        print(w)


def cmd_bigram(args) -> None:
    ds = load_dataset(args)
    tr, dev, te = data.split_words(ds.words)
    P_all = ngram.probabilities(
        ngram.count_table(ds.words, 2, ds.stoi, ds.vocab_size), args.smoothing
    )
    P_tr = ngram.probabilities(ngram.count_table(tr, 2, ds.stoi, ds.vocab_size), args.smoothing)
    result = {
        "dataset": ds.name,
        "smoothing": args.smoothing,
        "all": ngram.nll(P_all, ds.words, 2, ds.stoi),
        "train": ngram.nll(P_tr, tr, 2, ds.stoi),
        "dev": ngram.nll(P_tr, dev, 2, ds.stoi),
        "test": ngram.nll(P_tr, te, 2, ds.stoi),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"bigram NLL, smoothing k = {args.smoothing:g}, {ds.name}")
        print("all words (counted on all):  " + f"{result['all']:.4f}")
        print(
            "train / dev / test (counted on train): "
            + " / ".join(f"{result[s]:.4f}" for s in ("train", "dev", "test"))
        )


def parser() -> argparse.ArgumentParser:
    ap = Parser(prog="python -m engine", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="command", required=True, parser_class=Parser)
    sub.add_parser("datasets", help="list the built-in datasets").set_defaults(func=cmd_datasets)
    sub.add_parser("presets", help="list the lecture presets").set_defaults(func=cmd_presets)

    def model_args(p):
        p.add_argument("--preset", choices=list(PRESETS), help="a lecture preset (see `presets`)")
        p.add_argument("--model", choices=["mlp", "deep", "wavenet"], default="mlp")
        p.add_argument("--block-size", type=bounded(int, 1, 64))
        p.add_argument("--n-embd", type=bounded(int, 1, 1024))
        p.add_argument("--n-hidden", type=bounded(int, 1, 4096))
        p.add_argument("--n-layers", type=bounded(int, 1, 32))
        p.add_argument("--type", choices=FAMILIES, help="makemore.py's family (its defaults)")
        p.add_argument("--n-layer", type=bounded(int, 1, 12), help="--type: Transformer blocks")
        p.add_argument("--n-head", type=bounded(int, 1, 16), help="--type: attention heads")
        p.add_argument("--n-embd2", type=bounded(int, 1, 512), help="--type: hidden size")
        p.add_argument("--weight-decay", type=bounded(float, 0, 10), help="--type: AdamW's")
        p.add_argument("--steps", type=bounded(int, 0, 10_000_000))
        p.add_argument("--batch-size", type=bounded(int, 1, 65_536))
        p.add_argument("--lr", type=bounded(float, 1e-6, 100))
        p.add_argument("--lr-after", type=bounded(float, 1e-6, 100))
        p.add_argument("--lr-decay-step", type=bounded(int, 0, 10_000_000))
        p.add_argument("--seed", type=bounded(int, 0, 2**63 - 1))
        p.add_argument("--device", type=device, default="cpu", help="cpu, cuda, cuda:1 ...")

    t = sub.add_parser("train", help="train a model and report train/dev/test loss")
    add_dataset_args(t)
    model_args(t)
    t.add_argument(
        "--samples", type=bounded(int, 0, 1000), default=0, help="print this many samples"
    )
    t.add_argument("--json", action="store_true", help="one JSON object on stdout")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument(
        "--no-cache",
        action="store_true",
        help="train even if this run is in the run cache (the result is cached either way)",
    )
    t.set_defaults(func=cmd_train)

    s = sub.add_parser("sample", help="sample names (bigram counts, or a preset trained first)")
    add_dataset_args(s)
    model_args(s)
    s.add_argument("--n", type=bounded(int, 1, 10_000), default=20)
    s.add_argument("--temperature", type=bounded(float, 0.01, 100), default=1.0)
    s.add_argument("--top-k", type=bounded(int, 1, 1000))
    s.add_argument("--smoothing", type=bounded(float, 0, 1e6), default=1.0)
    s.set_defaults(func=cmd_sample, seed=SAMPLE_SEED)

    b = sub.add_parser("bigram", help="NLL of the bigram count model")
    add_dataset_args(b)
    b.add_argument("--smoothing", type=bounded(float, 0, 1e6), default=1.0)
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bigram)

    m = sub.add_parser("bench", help="benchmark the engine against the plain lecture loop")
    m.add_argument(
        "--quick", action="store_true", help="skip the minutes-long time-to-quality runs"
    )
    m.add_argument("--json", action="store_true")
    m.add_argument(
        "--makemore",
        metavar="PATH",
        help="makemore.py: compare the Transformer's steps/s with it (alternating rounds)",
    )
    m.set_defaults(func=lambda args: bench.run(args.quick, args.json, args.makemore))
    return ap


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        args.func(args)
    except (data.DatasetError, models.ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
