"""micrograd against PyTorch: the same net, loss and gradients in torch (float64)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch

from engine.micrograd.examples import SOFTMAX_LOGITS, SOFTMAX_TARGET
from engine.micrograd.nn import MLP, XS, YS, mse_loss


def softmax_nll_torch(logits=SOFTMAX_LOGITS, target=SOFTMAX_TARGET) -> tuple[float, list[float]]:
    """The same in torch (float64): the loss and d loss / d logits."""
    x = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    loss = -torch.log_softmax(x, 0)[target]
    loss.backward()
    return loss.item(), x.grad.tolist()


@dataclass(frozen=True)
class TorchCheck:
    loss: float
    torch_loss: float
    max_pred_diff: float
    max_grad_diff: float
    n_params: int


def torch_check(model: MLP, xs=XS, ys=YS) -> TorchCheck:
    """The same net, loss and backward in torch (float64) with the same weights."""
    model = copy.deepcopy(model)  # leave the caller's gradients alone
    params = model.parameters()
    for p in params:
        p.grad = 0.0
    loss, ypred = mse_loss(model, xs, ys)
    loss.backward()
    weights = [
        (
            torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64),
            torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64),
        )
        for layer in model.layers
    ]
    for W, b in weights:
        W.requires_grad_(True)
        b.requires_grad_(True)
    x = torch.tensor(xs, dtype=torch.float64)
    for W, b in weights:
        x = torch.tanh(x @ W.T + b)
    tpred = x.view(-1)
    tloss = ((tpred - torch.tensor(ys, dtype=torch.float64)) ** 2).sum()
    tloss.backward()
    tgrads = [g for W, b in weights for g in _neuron_grads(W.grad, b.grad)]
    return TorchCheck(
        loss=loss.data,
        torch_loss=tloss.item(),
        max_pred_diff=max(abs(p.data - t) for p, t in zip(ypred, tpred.tolist(), strict=True)),
        max_grad_diff=max(abs(p.grad - g) for p, g in zip(params, tgrads, strict=True)),
        n_params=len(params),
    )


def _neuron_grads(dW: torch.Tensor, db: torch.Tensor) -> list[float]:
    """In micrograd's parameter order: each neuron's weights, then its bias."""
    return [g for row, bias in zip(dW.tolist(), db.tolist(), strict=True) for g in (*row, bias)]
