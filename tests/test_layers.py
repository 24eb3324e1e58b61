"""The lecture's hand-written layers against torch's own (micrograd-style checks)."""

import pytest
import torch
import torch.nn.functional as F

from engine.layers import BatchNorm1d, Embedding, FlattenConsecutive, Linear, Sequential, Tanh


def g(seed=0):
    return torch.Generator().manual_seed(seed)


def test_linear_matches_f_linear_and_kaiming_scale():
    layer = Linear(300, 400, generator=g())
    layer.bias += torch.randn(400, generator=g(1))
    x = torch.randn(16, 300, generator=g(2))
    torch.testing.assert_close(layer(x), F.linear(x, layer.weight.T, layer.bias))
    assert layer.weight.std().item() == pytest.approx(300**-0.5, rel=0.02)
    assert Linear(3, 4, bias=False).parameters()[0].shape == (3, 4)


def test_batchnorm_train_mode_normalises_with_unbiased_variance():
    bn = BatchNorm1d(5)
    x = torch.randn(32, 5, generator=g()) * 3 + 2
    out = bn(x)
    expected = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=True) + 1e-5)
    torch.testing.assert_close(out, expected)


def test_batchnorm_running_stats_and_eval_match_torch():
    ours, theirs = BatchNorm1d(5), torch.nn.BatchNorm1d(5, eps=1e-5, momentum=0.1)
    for seed in range(3):
        x = torch.randn(32, 5, generator=g(seed)) * 3 + 2
        ours(x)
        theirs(x)
    # torch keeps the unbiased variance in its running estimate, as the lecture does
    torch.testing.assert_close(ours.running_mean.view(-1), theirs.running_mean)
    torch.testing.assert_close(ours.running_var.view(-1), theirs.running_var)
    ours.training = False
    theirs.eval()
    x = torch.randn(8, 5, generator=g(9))
    torch.testing.assert_close(ours(x), theirs(x))


def test_batchnorm_std_flavour_is_part3s_mlp_formula():
    bn = BatchNorm1d(4, momentum=0.001, flavour="std", shape=(1, 4))
    x = torch.randn(32, 4, generator=g())
    torch.testing.assert_close(bn(x), (x - x.mean(0, keepdim=True)) / x.std(0, keepdim=True))
    torch.testing.assert_close(bn.running_mean, 0.001 * x.mean(0, keepdim=True))


def test_batchnorm_3d_statistics_over_batch_and_time():
    x = torch.randn(32, 4, 6, generator=g())
    fixed = BatchNorm1d(6)(x)
    assert fixed.mean((0, 1)).abs().max() < 1e-5
    buggy = BatchNorm1d(6, over_time=False)
    buggy(x)
    assert buggy.running_mean.shape == (1, 4, 6)  # the lecture's bug: one mean per position


def test_embedding_tanh_flatten_and_sequential():
    emb = Embedding(27, 10, generator=g())
    idx = torch.randint(0, 27, (32, 8), generator=g(1))
    torch.testing.assert_close(emb(idx), F.embedding(idx, emb.weight))
    x = torch.randn(4, 5, generator=g())
    torch.testing.assert_close(Tanh()(x), torch.tanh(x))
    assert FlattenConsecutive(2)(torch.zeros(32, 8, 24)).shape == (32, 4, 48)
    assert FlattenConsecutive(8)(torch.zeros(32, 8, 10)).shape == (32, 80)
    net = Sequential([emb, FlattenConsecutive(8), Linear(80, 7, generator=g())])
    assert net(idx).shape == (32, 7)
    assert len(net.parameters()) == 3


def test_cross_entropy_is_mean_negative_log_softmax():
    logits = torch.randn(32, 27, generator=g())
    y = torch.randint(0, 27, (32,), generator=g(1))
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdim=True)
    manual = -probs[torch.arange(32), y].log().mean()
    torch.testing.assert_close(manual, F.cross_entropy(logits, y))
