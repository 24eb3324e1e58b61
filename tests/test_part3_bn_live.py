"""The live-page side of engine.part3_bn: jobs trained in lockstep, chunked evaluation,
BatchNorm's batch vs running statistics and the calibration pass, checked against direct
torch computations."""

import math

import pytest
import torch
import torch.nn.functional as F

from engine import data, train
from engine.layers import BatchNorm1d
from engine.models import DeepConfig, MLPConfig
from engine.part3_bn import batchnorm, live, stats, zero_init
from engine.presets import PRESETS
from engine.train import Job, TrainConfig

SMALL = data.load_builtin("us-census-1990")
BN_MLP = PRESETS["part3-batchnorm"].model


@pytest.fixture(scope="module")
def splits():
    return data.make_splits(SMALL, 3)


def test_histogram_leaves_out_what_is_not_a_number():
    t = torch.tensor([1.0, math.nan, 2.0, math.inf, 3.0])
    assert stats.histogram(t, bins=3, density=False) == stats.histogram(
        torch.tensor([1.0, 2.0, 3.0]), 3, False
    )
    assert stats.histogram(torch.full((4,), math.nan)) == stats.Histogram([], [])


def test_chunked_evaluation_is_the_jobs_finish(splits, monkeypatch):
    monkeypatch.setattr(train, "EVAL_CHUNK", 1000)  # several chunks per split
    job = Job(BN_MLP, TrainConfig(steps=20, eval_every=0), splits, 27)
    job.run()
    expected = {s: job.evaluate(s) for s in ("train", "dev", "test")}
    job.final, job.evals = None, []
    evaluation = train.ChunkedEvaluation(job)
    evaluation.run_for(0)  # at least one chunk, even with no time
    assert not evaluation.done
    while not evaluation.done:
        evaluation.run_for(0.01)
    assert job.final == pytest.approx(expected, rel=1e-6)
    assert job.evals == [{"step": 20, "train": job.final["train"], "dev": job.final["dev"]}]
    assert all(bn.training for bn in job.model.layers if isinstance(bn, BatchNorm1d))


def test_live_diagnostics_capture_the_last_training_step(splits):
    config, tc = DeepConfig(n_layers=2, n_hidden=20), TrainConfig(steps=7, eval_every=0)
    run = live.LiveDiagnostics(Job(config, tc, splits, 27, record_stats=True))
    reference = Job(config, tc, splits, 27, record_stats=True)
    while not run.job.done:
        run.train_for(0.001)
        while reference.step < run.step:
            reference.train_step()
        assert run.diagnostics.step == run.step
        assert run.diagnostics.activations == stats.capture(reference).activations
    assert not run.done  # trained, not yet evaluated
    while not run.done:
        run.train_for(0.05)
    assert run.final["dev"] == pytest.approx(reference.evaluate("dev"), rel=1e-6)
    assert run.diagnostics.step == 7  # the snapshot survived the evaluation


def test_lockstep_trains_both_step_for_step_and_calls_the_hooks(splits):
    tc = TrainConfig(steps=12, eval_every=0)
    jobs = {"a": Job(MLPConfig(), tc, splits, 27), "b": Job(BN_MLP, tc, splits, 27)}
    seen = []
    race = live.Lockstep(jobs, hooks={"b": lambda job: seen.append(job.step)})
    race.train_for(0.0001)
    assert jobs["a"].step == jobs["b"].step == race.step >= 1
    while not race.done:
        race.train_for(0.05)
    assert seen == list(range(1, 13))
    assert race.trained
    assert jobs["a"].final["dev"] == pytest.approx(jobs["a"].evaluate("dev"), rel=1e-6)
    alone = Job(BN_MLP, tc, splits, 27)  # lockstep changes nothing about each run
    alone.run()
    assert alone.lossi == jobs["b"].lossi
    with pytest.raises(ValueError, match="same number of steps"):
        live.Lockstep({"a": jobs["a"], "c": Job(MLPConfig(), TrainConfig(steps=3), splits, 27)})


def test_batchnorm_trace_records_the_batch_and_running_statistics(splits):
    job = Job(BN_MLP, TrainConfig(steps=10, eval_every=0), splits, 27)
    trace = batchnorm.BatchNormTrace(job, max_points=5)
    assert trace.stride == 2
    C0, W0 = job.model.layers[0].weight.clone(), job.model.layers[2].weight.clone()
    state = job.batch_generator.get_state()
    job.train_step()
    trace.record(job)
    # the same minibatch and the weights before the update: hpreact = embcat @ W1
    g = torch.Generator()
    g.set_state(state)
    ix = torch.randint(0, len(splits.Ytr), (32,), generator=g)
    hpreact = C0[splits.Xtr[ix]].view(32, -1) @ W0
    assert torch.allclose(trace.batch_mean[0], hpreact.mean(0), atol=1e-5)
    assert torch.allclose(trace.batch_std[0], hpreact.std(0), atol=1e-5)
    # momentum 0.001 from zeros and ones
    assert torch.allclose(trace.running_mean[0], 0.001 * hpreact.mean(0), atol=1e-6)
    assert torch.allclose(trace.running_std[0], 0.999 + 0.001 * hpreact.std(0), atol=1e-6)
    while not job.done:
        job.train_step()
        trace.record(job)
    assert trace.steps == [0, 2, 4, 6, 8]
    n = trace.neuron(3)
    assert n["running mean"][-1] == trace.running_mean[-1][3].item()
    assert set(n) == {"step", "batch mean", "running mean", "batch std", "running std"}


@pytest.mark.parametrize("config", [BN_MLP, DeepConfig(n_layers=2, n_hidden=30)])
def test_calibration_uses_the_whole_train_split(splits, config):
    job = Job(config, TrainConfig(steps=30, eval_every=0), splits, 27)
    job.run()
    cal = batchnorm.calibrate_batchnorm(job.model, splits)
    assert cal.running == pytest.approx({s: job.evaluate(s) for s in ("train", "dev")})
    first = next(i for i, la in enumerate(job.model.layers) if isinstance(la, BatchNorm1d))
    bn = job.model.layers[first]
    with torch.no_grad():
        job.model.eval()
        job.model(splits.Xtr)
        job.model.train()
        hpreact = job.model.layers[first - 1].out  # the first BatchNorm's input, all of train
    assert cal.calibrated_mean == pytest.approx(hpreact.mean(0).tolist(), abs=1e-4)
    std = hpreact.std(0)
    assert cal.calibrated_std == pytest.approx(std.tolist(), rel=1e-4)
    assert cal.running_mean == pytest.approx(bn.running_mean.reshape(-1).tolist())
    if config is BN_MLP:  # one BatchNorm: the calibrated loss by hand, as in cell 9
        C, W1, W2, b2 = (job.model.layers[0].weight, job.model.layers[2].weight,
                         job.model.layers[5].weight, job.model.layers[5].bias)  # fmt: skip
        with torch.no_grad():
            X, Y = splits.split("dev")
            h = C[X].view(len(X), -1) @ W1
            h = torch.tanh(bn.gamma * (h - hpreact.mean(0, keepdim=True)) / std + bn.beta)
            loss = F.cross_entropy(h @ W2 + b2, Y).item()
        assert cal.calibrated["dev"] == pytest.approx(loss, rel=1e-5)
    assert all(la.training for la in job.model.layers if isinstance(la, BatchNorm1d))
    known = batchnorm.calibrate_batchnorm(job.model, splits, running={"train": 1.0, "dev": 2.0})
    assert known.running == {"train": 1.0, "dev": 2.0}


def test_zero_init_run_in_chunks_matches_the_one_shot_experiment(splits):
    config = DeepConfig(n_layers=2, n_hidden=20)
    run = zero_init.ZeroInitRun(config, splits, 27, steps=15)
    while not run.done:
        run.train_for(0.001)
    report = run.report()
    assert report == zero_init.zero_init_experiment(config, splits, 27, steps=15)
    assert report.learning == ["param 9: layer 7 BatchNorm1d.beta"]
