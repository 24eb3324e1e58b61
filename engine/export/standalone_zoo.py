"""Retrain a makemore playground model-zoo run in plain PyTorch (torch and the standard library only).

    python train.py words.txt [--steps N] [--threads N]

Reads the word list (one word per line, as the playground exported it), splits it as
makemore.py does (a test set of min(1000, 10 %) of the words, by a permutation drawn from
the seed), builds the model with makemore.py's random draws in its order, trains it with
AdamW on minibatches of whole words, prints the train and test losses (per character),
then samples and sorts the samples into in train / in test / new, as makemore.py does.
The playground trains the same way, with the same draws: the numbers agree to float32
rounding.

This file is the template the playground's exporter fills in: it writes the run's
settings into the block below and keeps only the code of the run's model family (the
regions between "# >>> family" and "# <<< family").
"""

import argparse
import hashlib
import math
import sys

import torch
import torch.nn.functional as F

# --- the run: the exporter writes its settings here ----------------------------------------
words_file = "words.txt"  # the word list, one word per line
fingerprint = ""  # the words' sha256, 16 hex digits ("": no check)
family = "transformer"  # "bigram", "mlp", "rnn", "gru", "bow" or "transformer"
model_args = {"block_size": 16, "n_layer": 4, "n_head": 4, "n_embd": 64, "n_embd2": 64}
steps = 3000  # training steps
batch_size = 32  # words per minibatch
lr = 0.0005  # AdamW's learning rate (betas 0.9, 0.99), constant
weight_decay = 0.01  # AdamW's weight decay
seed = 3407  # draws the split, the weights, then the minibatch generator's seed
eval_every = 500  # steps between evaluations on test (0: none)
expected = None  # the playground's final losses (None: it was stopped)
threads = 1  # torch's intra-op threads, as the playground trained (--threads overrides)
sample_count, sample_seed = 20, 2147483657  # the exported samples: how many, which generator
# --- end of the run ---------------------------------------------------------------------------

MODELS = {}  # family -> the class that builds and runs it


def linear(fan_in, fan_out, g, bias=True):
    """torch.nn.Linear's default init: uniform in +-1/sqrt(fan_in), drawn (fan_out, fan_in)."""
    bound = math.sqrt(3.0) * math.sqrt(2.0 / (1 + math.sqrt(5) ** 2)) / math.sqrt(fan_in)
    W = torch.empty((fan_out, fan_in)).uniform_(-bound, bound, generator=g).T.contiguous()
    b = None
    if bias:
        b = torch.empty(fan_out).uniform_(
            -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in), generator=g
        )
    return W, b


def affine(x, Wb):
    W, b = Wb
    return x @ W if b is None else x @ W + b


def params_of(*Wbs):
    return [t for Wb in Wbs for t in Wb if t is not None]


# >>> bigram
class Bigram:
    def __init__(self, V, g, block_size, **sizes):
        self.block_size = block_size
        self.table = torch.zeros((V, V))  # logits of the next character given this one

    def parameters(self):
        return [self.table]

    def __call__(self, idx):
        return self.table[idx]


MODELS["bigram"] = Bigram
# <<< bigram


# >>> mlp
class MLP:
    """Bengio et al. 2003 over the block_size previous characters; positions before the
    word's start are a <BLANK> token of their own (index V)."""

    def __init__(self, V, g, block_size, n_embd, n_embd2, **sizes):
        self.block_size, self.blank = block_size, V
        self.wte = torch.randn((V + 1, n_embd), generator=g)
        self.hidden = linear(block_size * n_embd, n_embd2, g)
        self.head = linear(n_embd2, V, g)

    def parameters(self):
        return [self.wte, *params_of(self.hidden, self.head)]

    def __call__(self, idx):
        B, T = idx.shape
        padded = torch.cat([torch.full((B, self.block_size), self.blank), idx], dim=1)
        embs = [
            self.wte[padded[:, self.block_size - k : self.block_size - k + T]]
            for k in range(self.block_size)  # the k-th previous character, k = 0 is itself
        ]
        return affine(torch.tanh(affine(torch.cat(embs, dim=-1), self.hidden)), self.head)


MODELS["mlp"] = MLP
# <<< mlp


# >>> rnn gru
class Recurrent:
    """A vanilla RNN, h = tanh([x, h] W + b), or a GRU (update gate z, reset gate r), from a
    learned start state; the state after each character predicts the next one."""

    def __init__(self, V, g, block_size, n_embd, n_embd2, **sizes):
        self.block_size = block_size
        self.start = torch.zeros((1, n_embd2))
        self.wte = torch.randn((V, n_embd), generator=g)
        n_cells = 1 if family == "rnn" else 3  # GRU: z, r, candidate, in this order
        self.cells = [linear(n_embd + n_embd2, n_embd2, g) for _ in range(n_cells)]
        self.head = linear(n_embd2, V, g)

    def parameters(self):
        return [self.start, self.wte, *params_of(*self.cells, self.head)]

    def __call__(self, idx):
        emb = self.wte[idx]  # (B, T, n_embd)
        h = self.start.expand(idx.shape[0], -1)
        hiddens = []
        for t in range(idx.shape[1]):
            x = emb[:, t]
            if family == "rnn":
                h = torch.tanh(affine(torch.cat([x, h], 1), self.cells[0]))
            else:
                z = torch.sigmoid(affine(torch.cat([x, h], 1), self.cells[0]))
                r = torch.sigmoid(affine(torch.cat([x, h], 1), self.cells[1]))
                hbar = torch.tanh(affine(torch.cat([x, r * h], 1), self.cells[2]))
                h = (1 - z) * h + z * hbar
            hiddens.append(h)
        return affine(torch.stack(hiddens, 1), self.head)


MODELS["rnn"] = MODELS["gru"] = Recurrent
# <<< rnn gru


# >>> bow
class BoW:
    """A causal bag of words: each position averages the embeddings up to itself, then one
    tanh MLP block with a residual connection."""

    def __init__(self, V, g, block_size, n_embd, n_embd2, **sizes):
        self.block_size = block_size
        self.wte = torch.randn((V, n_embd), generator=g)
        self.wpe = torch.randn((block_size, n_embd), generator=g)
        self.fc, self.proj = linear(n_embd, n_embd2, g), linear(n_embd2, n_embd, g)
        self.head = linear(n_embd, V, g)

    def parameters(self):
        return [self.wte, self.wpe, *params_of(self.fc, self.proj, self.head)]

    def __call__(self, idx):
        T = idx.shape[1]
        x = self.wte[idx] + self.wpe[:T]
        avg = torch.ones(T, T).tril()
        x = x + (avg / avg.sum(1, keepdim=True)) @ x
        x = x + affine(torch.tanh(affine(x, self.fc)), self.proj)
        return affine(x, self.head)


MODELS["bow"] = BoW
# <<< bow


# >>> transformer
class Transformer:
    """GPT-2: n_layer blocks of pre-LayerNorm masked multi-head self-attention and a GELU
    MLP, with residual connections."""

    def __init__(self, V, g, block_size, n_layer, n_head, n_embd, **sizes):
        self.block_size, self.n_head, C = block_size, n_head, n_embd
        self.wte = torch.randn((V, C), generator=g)
        self.wpe = torch.randn((block_size, C), generator=g)
        self.blocks = []
        for _ in range(n_layer):
            attn, proj = linear(C, 3 * C, g), linear(C, C, g)
            fc, fc_proj = linear(C, 4 * C, g), linear(4 * C, C, g)
            ln1, ln2 = (torch.ones(C), torch.zeros(C)), (torch.ones(C), torch.zeros(C))
            self.blocks.append((ln1, attn, proj, ln2, fc, fc_proj))
        self.ln_f = (torch.ones(C), torch.zeros(C))
        self.head = linear(C, V, g, bias=False)

    def parameters(self):
        return [self.wte, self.wpe, *params_of(*(p for b in self.blocks for p in b)), *params_of(self.ln_f, self.head)]  # fmt: skip

    def __call__(self, idx):
        B, T = idx.shape
        x = self.wte[idx] + self.wpe[:T]
        C, nh = x.shape[-1], self.n_head
        for ln1, attn, proj, ln2, fc, fc_proj in self.blocks:
            q, k, v = affine(F.layer_norm(x, (C,), *ln1), attn).split(C, dim=2)
            q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))
            att = (q @ k.transpose(-2, -1)) / math.sqrt(C // nh)  # (B, nh, T, T)
            att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
            y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
            x = x + affine(y, proj)
            h = F.gelu(affine(F.layer_norm(x, (C,), *ln2), fc), approximate="tanh")
            x = x + affine(h, fc_proj)
        return affine(F.layer_norm(x, (C,), *self.ln_f), self.head)


MODELS["transformer"] = Transformer
# <<< transformer


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


def sequences(words, stoi, T):
    """'.' + word as input, word + '.' as targets, -1 (no target) after the end."""
    X = torch.zeros((len(words), T), dtype=torch.long)
    Y = torch.full((len(words), T), -1, dtype=torch.long)
    for row, w in enumerate(words):
        ix = [stoi[c] for c in w]
        X[row, 1 : 1 + len(ix)] = torch.tensor(ix, dtype=torch.long)
        Y[row, : len(ix) + 1] = torch.tensor([*ix, 0], dtype=torch.long)
    return X, Y


# --- training -------------------------------------------------------------------------------


@torch.no_grad()
def split_loss(model, X, Y, chunk=512):
    """The mean loss per predicted character, chunk words at a time."""
    total, count = 0.0, 0
    for i in range(0, len(Y), chunk):
        logits, y = model(X[i : i + chunk]), Y[i : i + chunk].reshape(-1)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y, ignore_index=-1, reduction="sum").item()  # fmt: skip
        count += int((y != -1).sum())
    return total / count if count else math.nan


def draw_seed(g):
    return int(torch.empty((), dtype=torch.int64).random_(generator=g).item())


def train(model, data, max_steps, g):
    Xtr, Ytr = data["train"]
    parameters = model.parameters()
    for p in parameters:
        p.requires_grad = True
    print(sum(p.nelement() for p in parameters), "parameters")
    opt = torch.optim.AdamW(parameters, lr=lr, betas=(0.9, 0.99), weight_decay=weight_decay, fused=True)  # fmt: skip
    draw_seed(g)  # makemore.py's DataLoader draws a seed for its workers, then its sampler's
    gb = torch.Generator().manual_seed(draw_seed(g))
    for i in range(max_steps):
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=gb)
        logits = model(Xtr[ix])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), Ytr[ix].reshape(-1), ignore_index=-1)  # fmt: skip
        for p in parameters:
            p.grad = None
        loss.backward()
        opt.step()
        if i % 500 == 0:
            print(f"{i:7d}/{max_steps:7d}: {loss.item():.4f}")
        if eval_every and (i + 1) % eval_every == 0 and i + 1 < max_steps:
            print(f"{i + 1:7d}: test {split_loss(model, *data['test']):.4f}")


@torch.no_grad()
def sample(model, n, generator, itos):
    """n words drawn side by side from '.', at most block_size - 1 characters each."""
    idx = torch.zeros((n, 1), dtype=torch.long)
    for _ in range(model.block_size - 1):
        probs = F.softmax(model(idx)[:, -1, :], dim=-1)
        idx = torch.cat([idx, torch.multinomial(probs, 1, generator=generator)], dim=1)
        if (idx[:, 1:] == 0).any(dim=1).all():
            break
    rows = [row[: row.index(0)] if 0 in row else row for row in idx[:, 1:].tolist()]
    return ["".join(itos[i] for i in row) for row in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("words", nargs="?", default=words_file, help="the word list")
    parser.add_argument("--steps", type=int, default=steps, help=f"training steps ({steps:,})")
    parser.add_argument("--threads", type=int, default=threads, help=f"torch threads ({threads})")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")

    words = read_words(args.words)
    itos = [".", *sorted(set("".join(words)))]  # '.' (index 0) starts and ends every word
    stoi = {s: i for i, s in enumerate(itos)}
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(words), generator=g).tolist()  # makemore.py's split
    cut = len(words) - min(1000, int(len(words) * 0.1))
    parts = {"train": [words[i] for i in order[:cut]], "test": [words[i] for i in order[cut:]]}
    data = {name: sequences(ws, stoi, model_args["block_size"]) for name, ws in parts.items()}
    print(f"{len(words)} words, vocabulary {len(itos)}, {cut} training words")

    with torch.no_grad():  # the weights, in makemore.py's order
        model = MODELS[family](len(itos), g, **model_args)
    train(model, data, args.steps, g)

    for name, (X, Y) in data.items():
        print(name, split_loss(model, X, Y))
    if expected and args.steps == steps:
        print(f"the playground: train {expected['train']:.6f}  test {expected['test']:.6f}")
    train_words, test_words = set(parts["train"]), set(parts["test"])
    for word in sample(model, sample_count, torch.Generator().manual_seed(sample_seed), itos):
        print(word, "(in train)" if word in train_words else "(in test)" if word in test_words else "(new)")  # fmt: skip


if __name__ == "__main__":
    main()
