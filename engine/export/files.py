"""Export a finished run: its files for download, and a script that reproduces it.

Everything here starts from an engine.runs.Record (what a run leaves behind) and returns
plain text or bytes, so the app, the CLI and the tests share one format:

- the model file: Record.to_bytes(), a weights-only torch file (config, weights, loss
  history) that Record.from_bytes reads back without unpickling any code (and
  engine.export.load checks on import);
- the config as JSON, the loss history as CSV, samples as text, the words as words.txt;
- standalone_script(record): one plain-PyTorch file, written for this run's model family
  in the lectures' style, that retrains the run from the words file and prints its losses.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import re
import textwrap
import time

import torch

from engine.data import Dataset, SplitsKey
from engine.export.load import load_model
from engine.lectures import SAMPLE_SEED
from engine.models import ConfigError, DeepConfig, MLPConfig, WaveNetConfig
from engine.sample import sample_words
from engine.serve.records import FORMAT, Record
from engine.train import EVAL_TRAIN_SAMPLE, TrainConfig

SAMPLE_COUNT = 20
FAMILIES = {"mlp": "MLP", "deep": "deep MLP", "wavenet": "WaveNet"}
CSV_COLUMNS = ("step", "log10_loss", "loss", "eval_train", "eval_dev")


def slug(text: str) -> str:
    """'MLP run #3' -> 'mlp-run-3': safe in a file name on every system."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "run"


def filenames(record: Record, label: str) -> dict[str, str]:
    """The download name of every artefact of a run labelled `label`."""
    base = slug(label)
    return {
        "model": f"{base}.pt",
        "config": f"{base}.json",
        "losses": f"{base}-losses.csv",
        "samples": f"{base}-samples.txt",
        "words": f"{slug(record.meta['dataset'])}-words.txt",
        "script": f"train_{base.replace('-', '_')}.py",
    }


def model_bytes(record: Record) -> bytes:
    """The model file: config, weights and loss history, loadable with weights_only=True."""
    return record.to_bytes()


def shuffles(record: Record) -> int:
    """How often the words were shuffled before splitting (1 when the record does not say)."""
    made = SplitsKey.parse(record.meta.get("splits") or "")
    return made.shuffles if made else 1


def config_json(record: Record) -> str:
    """The run's meta, readable: what data, which model, how trained, what it reached."""
    meta = record.meta
    doc = {
        "format": FORMAT,
        "dataset": {
            "name": meta["dataset"],
            "fingerprint": meta["fingerprint"],
            "vocab_size": len(meta["itos"]),
            "itos": "".join(meta["itos"]),
            "split": "80/10/10 after random.seed(42); random.shuffle(words)",
            "shuffles": shuffles(record),
        },
        "model": meta["model"],
        "train": meta["train"],
        "params": meta["params"],
        "steps": meta["steps"],
        "seconds": round(meta["seconds"], 3),
        "final": meta["final"],
        "evals": meta["evals"],
        "key": meta["key"],
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(meta.get("created", 0))),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def losses_csv(record: Record) -> str:
    """One row per training step: the minibatch loss (log10 and plain) of step 1, 2, …

    eval_train and eval_dev hold the periodic evaluations after that step (train estimated
    on the first 20,000 training examples) and, on the last row of a finished run, the
    final losses on the full splits; they are empty on the other rows.
    """
    evals = {e["step"]: e for e in record.meta["evals"]}
    steps = len(record.lossi)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    rows = sorted(set(range(1, steps + 1)) | set(evals))
    lossi = record.lossi.tolist()
    for step in rows:
        row = [step, "", "", "", ""]
        if 1 <= step <= steps:
            log10 = lossi[step - 1]
            row[1], row[2] = f"{log10:.8g}", f"{10**log10 if log10 < 300 else math.inf:.8g}"
        if step in evals:
            row[3], row[4] = repr(evals[step]["train"]), repr(evals[step]["dev"])
        writer.writerow(row)
    return out.getvalue()


def samples_text(
    record: Record,
    n: int = SAMPLE_COUNT,
    seed: int = SAMPLE_SEED,
    temperature: float = 1.0,
    top_k: int | None = None,
) -> str:
    """n samples, one per line, after a header saying how they were drawn."""
    words = sample_words(load_model(record), record.meta["itos"], n, seed, temperature, top_k)
    header = (
        f"# {n} samples from a {record.meta['model']['kind']} model trained on "
        f"{record.meta['dataset']} ({record.meta['steps']:,} steps)\n"
        f"# engine.sample: torch.Generator().manual_seed({seed}), temperature {temperature}, "
        f"top_k {top_k}, all {n} drawn side by side; torch {torch.__version__}\n"
    )
    return header + "".join(w + "\n" for w in words)


def words_text(dataset: Dataset) -> str:
    """The dataset's normalised words, one per line: what the standalone script reads."""
    return "".join(w + "\n" for w in dataset.words)


# --- the standalone script ---------------------------------------------------------------


def _num(x) -> str:
    """A Python literal for a config number, exact for floats and readable for big ints."""
    if isinstance(x, bool) or x is None:
        return repr(x)
    if isinstance(x, int):
        return f"{x:_}" if abs(x) >= 10_000 else str(x)
    return repr(float(x))


def standalone_script(record: Record, words_file: str = "words.txt", name: str = "train.py") -> str:
    """One self-contained PyTorch file (torch and the standard library only) for this run.

    It is written for the record's model family and training recipe only, in the lectures'
    style: read the words, check their fingerprint, split them as the playground did, build
    the model with the same generator draws, train with autograd, print the losses.
    """
    config, train = record.config, record.train_config
    if isinstance(config, MLPConfig):
        model_code = _mlp_code(config)
    elif isinstance(config, DeepConfig):
        model_code = _layers_code(config) + "\n\n\n" + _deep_code(config)
    elif isinstance(config, WaveNetConfig):
        model_code = _layers_code(config) + "\n\n\n" + _wavenet_code(config)
    else:  # pragma: no cover - Record.config only returns the three families
        raise ConfigError("Unknown model family.")
    model_code = model_code.replace("manual_seed(SEED)", f"manual_seed({train.seed})")
    parts = [
        _header(record, words_file, name),
        _imports(train),
        _data_code(record, words_file),
        model_code,
        _train_code(train),
        _final_code(record),
    ]
    header, imports, *code = (p.strip("\n") for p in parts)
    return f"{header}\n\n{imports}\n\n" + "\n\n\n".join(code) + "\n"


def _describe(config) -> str:
    return _plain(", ".join(f"{k}={v!r}" for k, v in dataclasses.asdict(config).items()))


def _str(text: str) -> str:
    """A string literal, in double quotes where that needs no escapes."""
    plain = text.isprintable() and '"' not in text and "\\" not in text
    return f'"{text}"' if plain else repr(text)


def _section(title: str) -> str:
    return f"# --- {title} ".ljust(92, "-")


def _wrap(label: str, text: str) -> str:
    return textwrap.fill(text, 92, initial_indent=label, subsequent_indent=" " * len(label))


def _plain(text: str) -> str:
    """A name (an upload's file name, say) made safe to quote in the script's docstring."""
    return "".join(c if c.isprintable() and c not in '\\"' else "_" for c in text)


def _header(record: Record, words_file: str, name: str) -> str:
    meta = record.meta
    final = meta["final"]
    if final:
        reached = (
            f"After {meta['steps']:,} steps the playground reported\n\n"
            f"    train {final['train']:.4f}   dev {final['dev']:.4f}   test {final['test']:.4f}\n\n"
            "and this script prints the same numbers up to float rounding: it computes the\n"
            "gradients with autograd, the playground with a hand-written backward (lecture 5)."
        )
    else:
        reached = (
            f"The playground's run was stopped after {meta['steps']:,} of "
            f"{meta['train']['steps']:,} steps; this script trains all of them."
        )
    family = FAMILIES[meta["model"]["kind"]]
    about = "\n".join(
        [
            _wrap(
                "Dataset: ",
                f"{_plain(meta['dataset'])} ({len(meta['itos'])} characters, "
                f"fingerprint {_plain(meta['fingerprint'])})",
            ),
            _wrap("Model:   ", f"{_describe(record.config)} ({meta['params']:,} parameters)"),
            _wrap("Train:   ", _describe(record.train_config)),
        ]
    )
    return f'''\
"""A makemore playground run, reproduced in plain PyTorch (nothing else needed).

    python {_plain(name)} {_plain(words_file)}

Reads the word list (one word per line, as the playground exported it), splits it 80/10/10
as the lectures do, builds the {family} with the same random draws, trains it with
the same recipe and prints the train/dev/test losses, then a few samples.
{reached}

{about}
Exported from makemore playground with torch {torch.__version__}.
"""'''


def _imports(train: TrainConfig) -> str:
    lines = ["import hashlib"]
    if train.schedule == "cosine":
        lines.append("import math")
    lines += ["import random", "import sys", "", "import torch", "import torch.nn.functional as F"]
    return "\n".join(lines)


def _data_code(record: Record, words_file: str) -> str:
    meta, config = record.meta, record.config
    n = shuffles(record)
    if n == 1:
        shuffle = "random.seed(42)\nrandom.shuffle(words)"
    else:
        shuffle = (
            f"for _ in range({n}):  # the lecture's notebook ran its shuffle cell {n} times\n"
            "    random.seed(42)\n    random.shuffle(words)"
        )
    return f"""\
{_section("the data")}

path = sys.argv[1] if len(sys.argv) > 1 else {_str(words_file)}
with open(path, encoding="utf-8") as f:
    words = f.read().splitlines()
expected = {_str(meta["fingerprint"])}  # sha256 of the words joined by newlines, 16 hex digits
fingerprint = hashlib.sha256("\\n".join(words).encode()).hexdigest()[:16]
if fingerprint != expected:
    print(
        f"warning: {{path}} is not the word list this run was trained on (fingerprint "
        f"{{fingerprint}}, expected {{expected}}): the numbers will differ.",
        file=sys.stderr,
    )

# the vocabulary: '.' (index 0) starts and ends every word, the sorted characters follow
chars = sorted(set("".join(words)))
stoi = {{s: i + 1 for i, s in enumerate(chars)}}
stoi["."] = 0
itos = {{i: s for s, i in stoi.items()}}
vocab_size = len(itos)

block_size = {config.block_size}  # context length: how many characters predict the next one


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]  # crop and append
    X = torch.tensor(X, dtype=torch.long).view(-1, block_size)
    return X, torch.tensor(Y, dtype=torch.long)


{shuffle}
n1 = int(0.8 * len(words))
n2 = int(0.9 * len(words))
Xtr, Ytr = build_dataset(words[:n1])  # 80%
Xdev, Ydev = build_dataset(words[n1:n2])  # 10%
Xte, Yte = build_dataset(words[n2:])  # 10%
print(f"{{len(words)}} words, vocabulary {{vocab_size}}, {{len(Ytr)}} training examples")"""


def _mlp_code(c: MLPConfig) -> str:
    if c.kaiming:
        w1 = "torch.randn((fan_in, n_hidden), generator=g) * (5 / 3) / fan_in**0.5"
        w1_note = "  # Kaiming init for tanh"
    else:
        w1 = f"torch.randn((fan_in, n_hidden), generator=g){_times(c.w1_scale)}"
        w1_note = ""
    lines = [
        _section("the model: Bengio et al. 2003, as in lectures 3 and 4"),
        "",
        f"n_embd = {c.n_embd}  # the dimensionality of the character embedding vectors",
        f"n_hidden = {c.n_hidden}  # the number of neurons in the hidden layer",
        "fan_in = n_embd * block_size  # the concatenated embeddings",
        "",
        "g = torch.Generator().manual_seed(SEED)  # draws the weights, in this order",
        "C = torch.randn((vocab_size, n_embd), generator=g)",
        f"W1 = {w1}{w1_note}",
    ]
    if not c.batchnorm:
        lines.append(f"b1 = torch.randn(n_hidden, generator=g){_times(c.b1_scale)}")
    lines += [
        f"W2 = torch.randn((n_hidden, vocab_size), generator=g){_times(c.w2_scale)}",
        f"b2 = torch.randn(vocab_size, generator=g){_times(c.b2_scale)}",
    ]
    params = ["C", "W1"] + ([] if c.batchnorm else ["b1"]) + ["W2", "b2"]
    if c.batchnorm:
        lines += [
            "",
            "# BatchNorm as in lecture 4: divide by the std (no eps), b1 dropped (BN's bias does",
            "# its job); the running statistics follow the batches with momentum 0.001",
            "bngain = torch.ones((1, n_hidden))",
            "bnbias = torch.zeros((1, n_hidden))",
            "bnmean_running = torch.zeros((1, n_hidden))",
            "bnstd_running = torch.ones((1, n_hidden))",
        ]
        params += ["bngain", "bnbias"]
    if c.direct:
        lines += [
            "# Bengio's direct connections from the embeddings to the logits (drawn last)",
            "W3 = torch.randn((fan_in, vocab_size), generator=g) * 0.01",
        ]
        params.append("W3")
    lines += [
        "",
        f"parameters = [{', '.join(params)}]",
        'print(sum(p.nelement() for p in parameters), "parameters")',
        "for p in parameters:",
        "    p.requires_grad = True",
        "",
        "",
        "def forward(X, training):",
        '    """The logits for the contexts X; BatchNorm uses batch statistics while training."""',
    ]
    if c.batchnorm:
        lines.append("    global bnmean_running, bnstd_running")
    lines += [
        "    emb = C[X]  # (N, block_size, n_embd)",
        "    embcat = emb.view(emb.shape[0], -1)  # concatenate the vectors",
        f"    hpreact = embcat @ W1{'' if c.batchnorm else ' + b1'}  # hidden layer pre-activation",
    ]
    if c.batchnorm:
        lines += [
            "    if training:",
            "        bnmeani = hpreact.mean(0, keepdim=True)",
            "        bnstdi = hpreact.std(0, keepdim=True)",
            "        with torch.no_grad():",
            "            bnmean_running = 0.999 * bnmean_running + 0.001 * bnmeani",
            "            bnstd_running = 0.999 * bnstd_running + 0.001 * bnstdi",
            "    else:",
            "        bnmeani, bnstdi = bnmean_running, bnstd_running",
            "    hpreact = bngain * (hpreact - bnmeani) / bnstdi + bnbias",
        ]
    lines += [
        "    h = torch.tanh(hpreact)  # hidden layer",
        "    logits = h @ W2 + b2  # output layer",
    ]
    if c.direct:
        lines.append("    logits = logits + embcat @ W3  # direct connections")
    lines.append("    return logits")
    return "\n".join(lines)


def _times(scale: float) -> str:
    return "" if scale == 1.0 else f" * {_num(scale)}"


def _layers_code(c: DeepConfig | WaveNetConfig) -> str:
    """The lectures' layer classes (lecture 4's second half, lecture 6), only those used."""
    uses_bn = getattr(c, "batchnorm", True)
    tanh = getattr(c, "nonlinearity", "tanh") == "tanh"
    three_d = isinstance(c, WaveNetConfig)
    parts = [
        _section("the layers: lecture 4's \"PyTorchified\" code, with lecture 6's additions")
        + """


class Linear:
    def __init__(self, fan_in, fan_out, bias=True):
        self.weight = torch.randn((fan_in, fan_out), generator=g) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])"""
    ]
    if uses_bn:
        if not three_d:
            dim = "            dim = 0"
        elif c.bn_over_time:
            dim = "            dim = (0, 1) if x.ndim == 3 else 0  # (B, T, C): over batch and time"
        else:
            dim = "            dim = 0  # the lecture's bug, on purpose: (B, T, C) over the batch only"
        parts.append(
            f"""\
class BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps = eps
        self.momentum = momentum
        self.training = True
        self.gamma = torch.ones(dim)  # parameters, trained with backprop
        self.beta = torch.zeros(dim)
        self.running_mean = torch.zeros(dim)  # buffers, trained with a running 'momentum update'
        self.running_var = torch.ones(dim)

    def __call__(self, x):
        if self.training:
{dim}
            xmean = x.mean(dim, keepdim=True)  # batch mean
            xvar = x.var(dim, keepdim=True)  # batch variance (unbiased)
        else:
            xmean = self.running_mean
            xvar = self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)  # normalise to unit variance
        self.out = self.gamma * xhat + self.beta
        if self.training:
            with torch.no_grad():
                m = self.momentum
                self.running_mean = (1 - m) * self.running_mean + m * xmean
                self.running_var = (1 - m) * self.running_var + m * xvar
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]"""
        )
    if tanh:
        parts.append(
            """\
class Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []"""
        )
    parts.append(
        '''\
class Embedding:
    def __init__(self, num_embeddings, embedding_dim):
        self.weight = torch.randn((num_embeddings, embedding_dim), generator=g)

    def __call__(self, IX):
        self.out = self.weight[IX]
        return self.out

    def parameters(self):
        return [self.weight]


class FlattenConsecutive:
    """(B, T, C) -> (B, T // n, C * n): concatenate n neighbouring positions."""

    def __init__(self, n):
        self.n = n

    def __call__(self, x):
        B, T, C = x.shape
        x = x.view(B, T // self.n, C * self.n)
        if x.shape[1] == 1:
            x = x.squeeze(1)
        self.out = x
        return self.out

    def parameters(self):
        return []


class Sequential:
    def __init__(self, layers):
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        self.out = x
        return self.out

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]'''
    )
    return "\n\n\n".join(parts)


def _model_tail(uses_bn: bool) -> str:
    switch = (
        "    for layer in model.layers:\n"
        "        if isinstance(layer, BatchNorm1d):\n"
        "            layer.training = training  # batch statistics, or the running ones\n"
        if uses_bn
        else ""
    )
    return f'''\
parameters = model.parameters()
print(sum(p.nelement() for p in parameters), "parameters")
for p in parameters:
    p.requires_grad = True


def forward(X, training):
    """The logits for the contexts X; BatchNorm uses batch statistics while training."""
{switch}    return model(X)'''


def _deep_code(c: DeepConfig) -> str:
    bn = c.batchnorm
    block = (
        "Linear(fan_in, n_hidden, bias=False), BatchNorm1d(n_hidden)"
        if bn
        else ("Linear(fan_in, n_hidden)")
    )
    act = ", Tanh()" if c.nonlinearity == "tanh" else ""
    last = (
        "layers += [Linear(n_hidden, vocab_size, bias=False), BatchNorm1d(vocab_size)]"
        if bn
        else "layers += [Linear(n_hidden, vocab_size)]"
    )
    scale = (
        f"    layers[-1].gamma *= {_num(c.last_scale)}  # last layer: make it less confident"
        if bn
        else f"    layers[-1].weight *= {_num(c.last_scale)}  # last layer: make it less confident"
    )
    gain = (
        ""
        if c.gain == 1.0
        else (
            "    for layer in layers[:-1]:  # all other layers: apply the gain\n"
            "        if isinstance(layer, Linear):\n"
            f"            layer.weight *= {_num(c.gain)}\n"
        )
    )
    kind = "tanh" if c.nonlinearity == "tanh" else "no nonlinearity (a linear net)"
    return f"""\
{_section(f"the model: lecture 4's deep MLP, {c.n_layers} hidden layers, {kind}")}

n_embd = {c.n_embd}  # the dimensionality of the character embedding vectors
n_hidden = {c.n_hidden}  # the number of neurons in each hidden layer
n_layers = {c.n_layers}

g = torch.Generator().manual_seed(SEED)  # draws the weights, in this order
layers = [Embedding(vocab_size, n_embd), FlattenConsecutive(block_size)]
fan_in = n_embd * block_size
for _ in range(n_layers):
    layers += [{block}{act}]
    fan_in = n_hidden
{last}
with torch.no_grad():
{scale}
{gain}model = Sequential(layers)
{_model_tail(bn)}"""


def _wavenet_code(c: WaveNetConfig) -> str:
    if c.hierarchical:
        levels = int(math.log2(c.block_size))
        title = f"lecture 6's hierarchical WaveNet, {levels} levels fusing pairs"
        rows = []
        fan_in = "n_embd * 2"
        for level in range(levels):
            what = "characters" if level == 0 else f"level {level}'s outputs"
            rows += [
                f"        # level {level + 1}: fuse pairs of neighbouring {what}",
                "        FlattenConsecutive(2),",
                f"        Linear({fan_in}, n_hidden, bias=False),",
                "        BatchNorm1d(n_hidden),",
                "        Tanh(),",
            ]
            fan_in = "n_hidden * 2"
    else:
        title = "lecture 6's flat net: all embeddings concatenated at once"
        rows = [
            "        FlattenConsecutive(block_size),",
            "        Linear(n_embd * block_size, n_hidden, bias=False),",
            "        BatchNorm1d(n_hidden),",
            "        Tanh(),",
        ]
    body = "\n".join(rows)
    return f"""\
{_section("the model: " + title)}

n_embd = {c.n_embd}  # the dimensionality of the character embedding vectors
n_hidden = {c.n_hidden}  # the number of neurons in each hidden layer

g = torch.Generator().manual_seed(SEED)  # draws the weights, in this order
model = Sequential(
    [
        Embedding(vocab_size, n_embd),
{body}
        Linear(n_hidden, vocab_size),
    ]
)
with torch.no_grad():
    model.layers[-1].weight *= {_num(c.last_scale)}  # last layer: make it less confident
{_model_tail(True)}"""


def _train_code(t: TrainConfig) -> str:
    if t.schedule == "step":
        lr_code = ""
        lr_line = (
            f"    lr = {_num(t.lr)} if i < {_num(t.lr_decay_step)} else {_num(t.lr_after)}"
            "  # step learning rate decay"
        )
    else:
        lr_code = f'''\
lr_max, lr_min, warmup = {_num(t.lr)}, {_num(t.lr_after)}, {_num(t.warmup)}


def learning_rate(step):
    """A linear warmup, then a cosine decay from lr_max to lr_min."""
    if step < warmup:
        return lr_max * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, max_steps - warmup))
    return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * t))


'''
        lr_line = "    lr = learning_rate(i)"
    if t.optimizer == "adamw":
        args = f"lr={_num(t.lr)}, betas=(0.9, 0.99), weight_decay={_num(t.weight_decay)}"
        opt_code = f"optimizer = torch.optim.AdamW(parameters, {args})\n"
        update = (
            "    for group in optimizer.param_groups:\n"
            '        group["lr"] = lr\n'
            "    optimizer.step()"
        )
    else:
        opt_code = ""
        update = "    for p in parameters:\n        p.data += -lr * p.grad"
    if t.batch_seed is None:
        batches = "gb = g  # the minibatches come from the same generator as the weights"
    else:
        batches = (
            f"gb = torch.Generator().manual_seed({t.batch_seed})  # the minibatches' own generator"
        )
    evals = ""
    if t.eval_every:
        evals = f"""
    if (i + 1) % {_num(t.eval_every)} == 0 and i + 1 < max_steps:  # periodic evaluation
        train_est = split_loss(Xtr[:{_num(EVAL_TRAIN_SAMPLE)}], Ytr[:{_num(EVAL_TRAIN_SAMPLE)}])
        print(f"{{i + 1:7d}}: train {{train_est:.4f}} (estimate)  dev {{split_loss(Xdev, Ydev):.4f}}")"""
    return f"""\
{_section("training")}


@torch.no_grad()
def split_loss(X, Y):
    return F.cross_entropy(forward(X, training=False), Y).item()


max_steps = {_num(t.steps)}
batch_size = {t.batch_size}
{lr_code}{opt_code}{batches}
lossi = []  # log10 of every minibatch loss, as the lecture plots it
for i in range(max_steps):
    # minibatch construct
    ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=gb)
    Xb, Yb = Xtr[ix], Ytr[ix]
    # forward pass
    logits = forward(Xb, training=True)
    loss = F.cross_entropy(logits, Yb)
    # backward pass
    for p in parameters:
        p.grad = None
    loss.backward()
    # update
{lr_line}
{update}
    # track stats
    lossi.append(loss.log10().item())
    if i % 10_000 == 0:
        print(f"{{i:7d}}/{{max_steps:7d}}: {{loss.item():.4f}}"){evals}"""


def _final_code(record: Record) -> str:
    final = record.meta["final"]
    if final:
        expected = (
            f'print("the playground: train {final["train"]:.6f}  dev {final["dev"]:.6f}  '
            f'test {final["test"]:.6f}")'
        )
    else:
        expected = "# the playground's run was stopped before the end: no final losses to compare"
    return f'''\
{_section("the final losses (BatchNorm with its running statistics)")}

for split, (X, Y) in {{"train": (Xtr, Ytr), "dev": (Xdev, Ydev), "test": (Xte, Yte)}}.items():
    print(split, split_loss(X, Y))
{expected}

{_section("sampling: the same draws as the exported samples file")}


@torch.no_grad()
def sample(n, generator, temperature=1.0, max_len=64):
    """n words drawn side by side, each from a context of '.' until it draws '.'."""
    context = torch.zeros((n, block_size), dtype=torch.long)
    out = torch.zeros((n, 0), dtype=torch.long)
    finished = torch.zeros(n, dtype=torch.bool)
    for _ in range(max_len):
        probs = F.softmax(forward(context, training=False) / temperature, dim=1)
        ix = torch.multinomial(probs, 1, generator=generator)  # (n, 1)
        ix[finished] = 0
        out = torch.cat([out, ix], dim=1)
        finished |= ix[:, 0] == 0
        if finished.all():
            break
        context = torch.cat([context[:, 1:], ix], dim=1)
    rows = [row[: row.index(0)] if 0 in row else row for row in out.tolist()]
    return ["".join(itos[i] for i in row) for row in rows]


for word in sample({SAMPLE_COUNT}, torch.Generator().manual_seed({SAMPLE_SEED})):
    print(word)'''
