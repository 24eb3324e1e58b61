"""Retrain a makemore playground run in plain PyTorch (torch and the standard library only).

    python train.py words.txt [--steps N] [--threads N]

Reads the word list (one word per line, as the playground exported it), splits it
80/10/10 as the lectures do, builds the model with the same random draws, trains it
with the same recipe and autograd, prints the train/dev/test losses, then samples.

How close it comes to the playground's numbers: the playground computes its gradients
with a hand-written backward (lecture 5) and torch's fused kernels, this script with
autograd and the lectures' formulas. The two agree to float32 rounding at every step,
but rounding can add up over a run. Measured with scripts/export_drift.py (the same torch,
one thread, the same CPU kernels; the README has the table): with a calibrated init
(Kaiming, the scaled-down softmax and tanh layers, BatchNorm, the deep net, WaveNet,
AdamW) the final losses agree to about 1e-6; with the plain randn init of lectures 3
and 4 (huge first logits, saturated tanh) training is chaotic, and after 20,000 steps the
losses differed by up to 0.009 and half the samples were other words. Another thread
count or other CPU kernels (ATEN_CPU_CAPABILITY) add the same kind of rounding drift.

This file is the template the playground's exporter fills in: it writes the run's
settings into the block below and keeps only the code of the run's model family (the
regions between "# >>> family" and "# <<< family").
"""

import argparse
import hashlib
import math
import random
import sys

import torch
import torch.nn.functional as F

# --- the run: the exporter writes its settings here ----------------------------------------
words_file = "words.txt"  # the word list, one word per line
fingerprint = ""  # the words' sha256, 16 hex digits ("": no check)
shuffles = 1  # how often the words are shuffled before the split (lecture 3's notebook: 4)
family = "mlp"  # the model below: "mlp", "deep" or "wavenet"
model_args = {"block_size": 3, "n_embd": 10, "n_hidden": 200}  # the model's settings
steps = 200_000  # training steps
batch_size = 32  # examples per minibatch
lr = 0.1  # the learning rate, then lr_after
lr_after = 0.01  # from lr_decay_step on (step schedule), or where the cosine ends
lr_decay_step = 100_000  # the step schedule's drop
schedule = "step"  # or "cosine": a linear warmup, then a cosine decay to lr_after
warmup = 0  # warmup steps of the cosine schedule
optimizer = "sgd"  # or "adamw" (betas 0.9, 0.99)
weight_decay = 0.0  # AdamW's weight decay
seed = 2147483647  # draws the weights, then (without batch_seed) the minibatches
batch_seed = None  # the minibatches' own generator (lecture 3 drew them unseeded), or None
eval_every = 10_000  # steps between evaluations on dev (0: none)
eval_train_sample = 20_000  # the periodic train loss is estimated on this many examples
expected = None  # the playground's final losses (None: it was stopped)
threads = 1  # torch's intra-op threads, as the playground trained (--threads overrides)
kernels = ""  # the run's CPU kernels (torch.backends.cpu.get_cpu_capability())
sample_count, sample_seed = 20, 2147483657  # the exported samples: how many, which generator
# --- end of the run ---------------------------------------------------------------------------

MODELS = {}  # family -> the class that builds and runs it


# >>> mlp
class MLP:
    """Bengio et al. 2003 as in lectures 3 and 4: embed the block_size previous characters,
    concatenate them, one tanh layer, logits. The weights are plain randn draws times a
    scale (lecture 4's "loss log"); BatchNorm as in lecture 4 (std, no eps, momentum 0.001)
    replaces b1; Bengio's direct connections (drawn last) add embeddings @ W3 to the logits.
    """

    def __init__(self, vocab_size, g, block_size=3, n_embd=10, n_hidden=200, w1_scale=1.0,
                 kaiming=False, b1_scale=1.0, w2_scale=1.0, b2_scale=1.0, batchnorm=False,
                 direct=False):  # fmt: skip
        self.block_size, self.batchnorm, self.training = block_size, batchnorm, True
        fan_in = n_embd * block_size  # the concatenated embeddings
        self.C = torch.randn((vocab_size, n_embd), generator=g)
        W1 = torch.randn((fan_in, n_hidden), generator=g)
        self.W1 = W1 * (5 / 3) / fan_in**0.5 if kaiming else W1 * w1_scale
        self.b1 = None if batchnorm else torch.randn(n_hidden, generator=g) * b1_scale
        self.W2 = torch.randn((n_hidden, vocab_size), generator=g) * w2_scale
        self.b2 = torch.randn(vocab_size, generator=g) * b2_scale
        if batchnorm:
            self.bngain = torch.ones((1, n_hidden))
            self.bnbias = torch.zeros((1, n_hidden))
            self.bnmean_running = torch.zeros((1, n_hidden))
            self.bnstd_running = torch.ones((1, n_hidden))
        self.W3 = torch.randn((fan_in, vocab_size), generator=g) * 0.01 if direct else None

    def parameters(self):
        bn = [self.bngain, self.bnbias] if self.batchnorm else []
        b1 = [] if self.b1 is None else [self.b1]
        direct = [] if self.W3 is None else [self.W3]
        return [self.C, self.W1, *b1, *bn, self.W2, self.b2, *direct]

    def __call__(self, X):
        emb = self.C[X]  # (B, block_size, n_embd)
        embcat = emb.view(emb.shape[0], -1)  # (B, block_size * n_embd)
        hpreact = embcat @ self.W1  # hidden layer pre-activation
        if self.b1 is not None:
            hpreact = hpreact + self.b1
        if self.batchnorm:
            if self.training:
                bnmeani = hpreact.mean(0, keepdim=True)
                bnstdi = hpreact.std(0, keepdim=True)
                with torch.no_grad():
                    self.bnmean_running = 0.999 * self.bnmean_running + 0.001 * bnmeani
                    self.bnstd_running = 0.999 * self.bnstd_running + 0.001 * bnstdi
            else:
                bnmeani, bnstdi = self.bnmean_running, self.bnstd_running
            hpreact = self.bngain * (hpreact - bnmeani) / bnstdi + self.bnbias
        h = torch.tanh(hpreact)  # (B, n_hidden)
        logits = h @ self.W2 + self.b2  # (B, vocab_size)
        if self.W3 is not None:
            logits = logits + embcat @ self.W3  # direct connections
        return logits

    def train(self, mode):
        self.training = mode


MODELS["mlp"] = MLP
# <<< mlp


# >>> deep wavenet
# The layers of lecture 4's "PyTorchified" second half, with lecture 6's additions.


class Linear:
    def __init__(self, fan_in, fan_out, g, bias=True):
        self.weight = torch.randn((fan_in, fan_out), generator=g) / fan_in**0.5
        self.bias = torch.zeros(fan_out) if bias else None

    def __call__(self, x):
        self.out = x @ self.weight
        if self.bias is not None:
            self.out += self.bias
        return self.out

    def parameters(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])


class BatchNorm1d:
    def __init__(self, dim, eps=1e-5, momentum=0.1, over_time=True):
        self.eps, self.momentum, self.over_time = eps, momentum, over_time
        self.training = True
        self.gamma = torch.ones(dim)  # parameters, trained with backprop
        self.beta = torch.zeros(dim)
        self.running_mean = torch.zeros(dim)  # buffers, trained with a running 'momentum update'
        self.running_var = torch.ones(dim)

    def __call__(self, x):
        if self.training:
            # (B, T, C): over the batch and the positions; over_time=False is lecture 6's bug
            dim = (0, 1) if x.ndim == 3 and self.over_time else 0
            xmean = x.mean(dim, keepdim=True)  # batch mean
            xvar = x.var(dim, keepdim=True)  # batch variance (unbiased)
        else:
            xmean, xvar = self.running_mean, self.running_var
        xhat = (x - xmean) / torch.sqrt(xvar + self.eps)  # normalise to unit variance
        self.out = self.gamma * xhat + self.beta
        if self.training:
            with torch.no_grad():
                m = self.momentum
                self.running_mean = (1 - m) * self.running_mean + m * xmean
                self.running_var = (1 - m) * self.running_var + m * xvar
        return self.out

    def parameters(self):
        return [self.gamma, self.beta]


class Tanh:
    def __call__(self, x):
        self.out = torch.tanh(x)
        return self.out

    def parameters(self):
        return []


class Embedding:
    def __init__(self, num_embeddings, embedding_dim, g):
        self.weight = torch.randn((num_embeddings, embedding_dim), generator=g)

    def __call__(self, IX):
        self.out = self.weight[IX]  # (B, T) -> (B, T, C)
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
        return [p for layer in self.layers for p in layer.parameters()]

    def train(self, mode):
        for layer in self.layers:
            if isinstance(layer, BatchNorm1d):
                layer.training = mode  # batch statistics, or the running ones


# <<< deep wavenet


# >>> deep
class DeepMLP(Sequential):
    """Lecture 4's deep MLP: n_layers blocks of [Linear, BatchNorm1d, Tanh], then Linear
    (and BatchNorm1d). Every Linear before the output gets the gain; the output layer is
    made less confident by last_scale. nonlinearity "linear" drops the Tanh."""

    def __init__(self, vocab_size, g, block_size=3, n_embd=10, n_hidden=100, n_layers=5,
                 batchnorm=True, gain=1.0, last_scale=0.1, nonlinearity="tanh"):  # fmt: skip
        self.block_size = block_size
        layers = [Embedding(vocab_size, n_embd, g), FlattenConsecutive(block_size)]
        fan_in = n_embd * block_size
        for _ in range(n_layers):
            layers.append(Linear(fan_in, n_hidden, g, bias=not batchnorm))
            layers += [BatchNorm1d(n_hidden)] if batchnorm else []
            layers += [Tanh()] if nonlinearity == "tanh" else []
            fan_in = n_hidden
        layers.append(Linear(fan_in, vocab_size, g, bias=not batchnorm))
        with torch.no_grad():
            if batchnorm:
                layers.append(BatchNorm1d(vocab_size))
                layers[-1].gamma *= last_scale
            else:
                layers[-1].weight *= last_scale
            for layer in layers[:-1]:
                if isinstance(layer, Linear):
                    layer.weight *= gain
        super().__init__(layers)


MODELS["deep"] = DeepMLP
# <<< deep


# >>> wavenet
class WaveNet(Sequential):
    """Lecture 6: fuse pairs of neighbouring characters level by level (van den Oord et al.
    2016), each level [FlattenConsecutive(2), Linear, BatchNorm1d, Tanh]; hierarchical=False
    is the flat net, all block_size embeddings concatenated at once."""

    def __init__(self, vocab_size, g, block_size=8, n_embd=24, n_hidden=128,
                 hierarchical=True, bn_over_time=True, last_scale=0.1):  # fmt: skip
        self.block_size = block_size
        fuse = 2 if hierarchical else block_size
        levels = int(math.log2(block_size)) if hierarchical else 1
        layers, fan_in = [Embedding(vocab_size, n_embd, g)], n_embd
        for _ in range(levels):
            layers += [
                FlattenConsecutive(fuse),
                Linear(fan_in * fuse, n_hidden, g, bias=False),
                BatchNorm1d(n_hidden, over_time=bn_over_time),
                Tanh(),
            ]
            fan_in = n_hidden
        layers.append(Linear(n_hidden, vocab_size, g))
        with torch.no_grad():
            layers[-1].weight *= last_scale  # last layer: make it less confident
        super().__init__(layers)


MODELS["wavenet"] = WaveNet
# <<< wavenet


# --- the data -------------------------------------------------------------------------------


def read_words(path):
    with open(path, encoding="utf-8") as f:
        words = f.read().splitlines()
    found = hashlib.sha256("\n".join(words).encode()).hexdigest()[:16]
    if fingerprint and found != fingerprint:
        print(
            f"warning: {path} is not the word list this run was trained on (fingerprint "
            f"{found}, expected {fingerprint}): the numbers will differ.",
            file=sys.stderr,
        )
    return words


def build_dataset(words, block_size, stoi):
    """Every (context, next character) pair: X (N, block_size), Y (N,)."""
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = [*context[1:], ix]  # crop and append
    return torch.tensor(X, dtype=torch.long).view(-1, block_size), torch.tensor(Y)


def split(words, block_size, stoi):
    """The lectures' 80/10/10 split of the shuffled words, as (X, Y) per split."""
    words = list(words)
    for _ in range(shuffles):
        random.seed(42)
        random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))
    parts = {"train": words[:n1], "dev": words[n1:n2], "test": words[n2:]}
    return {name: build_dataset(ws, block_size, stoi) for name, ws in parts.items()}


# --- training -------------------------------------------------------------------------------


def learning_rate(i, max_steps):
    if schedule == "step":
        return lr if i < lr_decay_step else lr_after
    if i < warmup:  # cosine: a linear warmup, then a cosine decay from lr to lr_after
        return lr * (i + 1) / warmup
    t = min(1.0, (i - warmup) / max(1, max_steps - warmup))
    return lr_after + 0.5 * (lr - lr_after) * (1 + math.cos(math.pi * t))


@torch.no_grad()
def split_loss(model, X, Y):
    model.train(False)  # BatchNorm with its running statistics
    loss = F.cross_entropy(model(X), Y).item()
    model.train(True)
    return loss


def train(model, data, max_steps, g):
    Xtr, Ytr = data["train"]
    parameters = model.parameters()
    for p in parameters:
        p.requires_grad = True
    print(sum(p.nelement() for p in parameters), "parameters")
    opt = None
    if optimizer == "adamw":
        opt = torch.optim.AdamW(
            parameters, lr=lr, betas=(0.9, 0.99), weight_decay=weight_decay, fused=True
        )
    gb = g if batch_seed is None else torch.Generator().manual_seed(batch_seed)
    lossi = []  # log10 of every minibatch loss, as the lecture plots it
    for i in range(max_steps):
        # minibatch construct
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=gb)
        Xb, Yb = Xtr[ix], Ytr[ix]
        # forward pass
        loss = F.cross_entropy(model(Xb), Yb)
        # backward pass
        for p in parameters:
            p.grad = None
        loss.backward()
        # update
        step_lr = learning_rate(i, max_steps)
        if opt is None:
            for p in parameters:
                p.data += -step_lr * p.grad
        else:
            for group in opt.param_groups:
                group["lr"] = step_lr
            opt.step()
        # track stats
        lossi.append(loss.log10().item())
        if i % 10_000 == 0:
            print(f"{i:7d}/{max_steps:7d}: {loss.item():.4f}")
        if eval_every and (i + 1) % eval_every == 0 and i + 1 < max_steps:
            train_est = split_loss(model, Xtr[:eval_train_sample], Ytr[:eval_train_sample])
            dev = split_loss(model, *data["dev"])
            print(f"{i + 1:7d}: train {train_est:.4f} (estimate)  dev {dev:.4f}")
    return lossi


# --- sampling: the same draws as the exported samples file ----------------------------------


@torch.no_grad()
def sample(model, n, generator, itos, temperature=1.0, max_len=64):
    """n words drawn side by side, each from a context of '.' until it draws '.'."""
    model.train(False)
    context = torch.zeros((n, model.block_size), dtype=torch.long)
    out = torch.zeros((n, 0), dtype=torch.long)
    finished = torch.zeros(n, dtype=torch.bool)
    for _ in range(max_len):
        probs = F.softmax(model(context) / temperature, dim=1)
        ix = torch.multinomial(probs, 1, generator=generator)  # (n, 1)
        ix[finished] = 0
        out = torch.cat([out, ix], dim=1)
        finished |= ix[:, 0] == 0
        if finished.all():
            break
        context = torch.cat([context[:, 1:], ix], dim=1)
    rows = [row[: row.index(0)] if 0 in row else row for row in out.tolist()]
    return ["".join(itos[i] for i in row) for row in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("words", nargs="?", default=words_file, help="the word list")
    parser.add_argument("--steps", type=int, default=steps, help=f"training steps ({steps:,})")
    parser.add_argument("--threads", type=int, default=threads, help=f"torch threads ({threads})")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    here = torch.backends.cpu.get_cpu_capability()
    print(f"torch {torch.__version__}, {args.threads} thread(s), CPU kernels {here}")
    if kernels and here != kernels:
        print(
            f"note: the run was trained with CPU kernels {kernels}: expect drift", file=sys.stderr
        )

    words = read_words(args.words)
    chars = sorted(set("".join(words)))
    itos = [".", *chars]  # '.' (index 0) starts and ends every word
    stoi = {s: i for i, s in enumerate(itos)}
    data = split(words, model_args["block_size"], stoi)
    print(f"{len(words)} words, vocabulary {len(itos)}, {len(data['train'][1])} training examples")

    g = torch.Generator().manual_seed(seed)  # draws the weights, in the lecture's order
    with torch.no_grad():
        model = MODELS[family](len(itos), g, **model_args)
    train(model, data, args.steps, g)

    for name, (X, Y) in data.items():  # the final losses, BatchNorm with its running statistics
        print(name, split_loss(model, X, Y))
    if expected and args.steps == steps:
        print(
            f"the playground: train {expected['train']:.6f}  dev {expected['dev']:.6f}  "
            f"test {expected['test']:.6f}"
        )
    for word in sample(model, sample_count, torch.Generator().manual_seed(sample_seed), itos):
        print(word)


if __name__ == "__main__":
    main()
