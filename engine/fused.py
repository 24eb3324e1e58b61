"""A faster training step: forward and backward written out by hand, no autograd.

Lecture 5 (makemore part 4, "backprop ninja") derives every gradient of these networks
by hand. Used for training, that saves autograd's bookkeeping: each layer's backward is
one short expression (BatchNorm and cross-entropy in a single formula each), and the
update is one fused call. The gradients are the same functions autograd computes; only
their floating-point rounding differs. Any model built from the lecture layers below is
supported; anything else trains through autograd.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.layers import BatchNorm1d, Embedding, FlattenConsecutive, Identity, Linear, Tanh

# --- forward: same arithmetic as engine.layers, keeping what the backward needs ------------


def _embedding(layer, idx):
    return layer.weight[idx], idx


def _flatten(layer, x):
    B, T, C = x.shape
    out = x.view(B, T // layer.n, C * layer.n)
    return (out.squeeze(1) if out.shape[1] == 1 else out), x.shape


def _linear(layer, x):
    out = x @ layer.weight if layer.bias is None else torch.matmul(x, layer.weight).add_(layer.bias)
    return out, x


def _batchnorm(bn, x):
    dims = (0, 1) if x.ndim == 3 and bn.over_time else 0
    n = x.numel() // x.shape[-1] if dims == (0, 1) else x.shape[0]
    if bn.flavour == "std":
        spread, mean = torch.std_mean(x, dims, keepdim=True)
        inv = 1.0 / spread
    else:
        spread, mean = torch.var_mean(x, dims, keepdim=True)
        inv = torch.rsqrt(spread + bn.eps)
    xhat = (x - mean) * inv
    m = bn.momentum
    bn.running_mean = (1 - m) * bn.running_mean + m * mean
    bn.running_var = (1 - m) * bn.running_var + m * spread
    return bn.gamma * xhat + bn.beta, (xhat, inv, dims, n)


def _tanh(layer, x):
    out = torch.tanh(x)
    return out, out


def _identity(layer, x):
    return x, None


# --- backward: dL/d(input) from dL/d(output); parameter gradients go into `grads` --------


def _embedding_back(layer, idx, dout, grads):
    grads.append((layer.weight, (idx.reshape(-1), dout.reshape(-1, layer.weight.shape[1]))))


def _flatten_back(layer, shape, dout, grads):
    return dout.reshape(shape)


def _linear_back(layer, x, dout, grads):
    fan_in, fan_out = layer.weight.shape
    grads.append((layer.weight, x.reshape(-1, fan_in).T @ dout.reshape(-1, fan_out)))
    if layer.bias is not None:
        grads.append((layer.bias, dout.reshape(-1, fan_out).sum(0)))
    return dout @ layer.weight.T


def _batchnorm_back(bn, cache, dout, grads):
    xhat, inv, dims, n = cache
    C = dout.shape[-1]  # gamma and beta are shared by every position of a 3-D input
    grads.append((bn.gamma, (dout * xhat).reshape(-1, C).sum(0).view_as(bn.gamma)))
    grads.append((bn.beta, dout.reshape(-1, C).sum(0).view_as(bn.beta)))
    dxhat = bn.gamma * dout
    # d/dx of (x - mean) / sqrt(unbiased var (+ eps)), in one expression (lecture 5, exercise 3)
    return inv * (
        dxhat
        - dxhat.mean(dims, keepdim=True)
        - xhat * (dxhat * xhat).sum(dims, keepdim=True) / (n - 1)
    )


def _tanh_back(layer, out, dout, grads):
    return dout * (1.0 - out * out)


def _identity_back(layer, cache, dout, grads):
    return dout


RULES = {
    Embedding: (_embedding, _embedding_back),
    FlattenConsecutive: (_flatten, _flatten_back),
    Linear: (_linear, _linear_back),
    BatchNorm1d: (_batchnorm, _batchnorm_back),
    Tanh: (_tanh, _tanh_back),
    Identity: (_identity, _identity_back),
}


def supports(model) -> bool:
    layers = model.layers
    return (
        bool(layers) and isinstance(layers[0], Embedding) and all(type(l) in RULES for l in layers)
    )


@torch.no_grad()
def backward(model, Xb, Yb):
    """Forward and backward by hand: (loss, [(param, grad)], (C, idx, demb)).

    The embedding's gradient stays sparse: the rows idx of C receive demb.
    """
    caches, x = [], Xb
    for layer in model.layers:
        x, cache = RULES[type(layer)][0](layer, x)
        layer.out = x  # as the lecture layers do, for whoever inspects activations
        caches.append(cache)
    n = Xb.shape[0]
    logprobs = F.log_softmax(x, 1)  # x: the logits, (B, V)
    rows = torch.arange(n, device=Xb.device)
    loss = -logprobs[rows, Yb].mean()
    dx = logprobs.exp_()  # cross-entropy backward in one expression (lecture 5, exercise 2)
    dx[rows, Yb] -= 1
    dx /= n
    grads = []
    for layer, cache in zip(reversed(model.layers), reversed(caches), strict=True):
        dx = RULES[type(layer)][1](layer, cache, dx, grads)
    (C, (idx, demb)), dense = grads[-1], grads[:-1]
    return loss, dense, (C, idx, demb)


@torch.no_grad()
def sgd_step(model, Xb, Yb, lr: float) -> torch.Tensor:
    """One step of the lecture loop (forward, backward, p.data += -lr * grad); returns the loss."""
    loss, dense, (C, idx, demb) = backward(model, Xb, Yb)
    torch._foreach_add_([p for p, _ in dense], [g for _, g in dense], alpha=-lr)
    C.index_add_(0, idx, demb, alpha=-lr)
    return loss


@torch.no_grad()
def set_grads(model, Xb, Yb) -> torch.Tensor:
    """Fill every parameter's .grad by hand (for a torch optimizer); returns the loss."""
    loss, dense, (C, idx, demb) = backward(model, Xb, Yb)
    for p, g in dense:
        p.grad = g
    C.grad = torch.zeros_like(C).index_add_(0, idx, demb)
    return loss
