"""Looped transformer: b = 1 is the plain block, input injection, T-window loss, curriculum, AlgoFormer."""

from __future__ import annotations

import pytest
import torch

from icl_lab.core.errors import ConfigError
from icl_lab.models.looped import LoopedRegressor, iteration_errors, loop_schedule, looped_learner
from icl_lab.models.transformer import ICLRegressor
from icl_lab.pipelines.regression import load as load_experiment
from icl_lab.training.regression import build_model, training_loss
from tests.conftest import EXPERIMENT, TINY

LOOPED = ["model.family=looped", "model.n_layer=1"]


def cfg(*extra: str):
    return load_experiment(EXPERIMENT, "quick", TINY + LOOPED + list(extra))


def prompts(b: int = 4, n: int = 7, d: int = 3):
    g = torch.Generator().manual_seed(0)
    return torch.randn(b, n, d, generator=g), torch.randn(b, n, generator=g)


@pytest.mark.parametrize("encoding", ["compact", "interleaved"])
def test_one_iteration_equals_the_plain_model(encoding):
    c = cfg("model.n_loops=1", f"model.encoding={encoding}")
    torch.manual_seed(0)
    looped = LoopedRegressor(c.model, c.task.d)
    plain = ICLRegressor(c.model, c.task.d)
    plain.load_state_dict(looped.state_dict())  # same parameter names: encoder, backbone, head
    xs, ys = prompts()
    assert torch.equal(looped(xs, ys), plain(xs, ys))
    assert torch.equal(looped.training_loss(xs, ys, 0), training_loss(plain, xs, ys))


def test_input_injection_recurrence():
    c = cfg("model.n_loops=3")
    model = LoopedRegressor(c.model, c.task.d)
    xs, ys = prompts()
    p = model.encoder(xs, ys)
    y = torch.zeros_like(p)
    manual = []
    for _ in range(5):
        y = model.backbone(y + p)  # Y_{t+1} = f(Y_t + P), positions re-added inside the backbone
        manual.append(model.head(y).squeeze(-1))
    per_iter = model.predictions_per_iteration(xs, ys, 5)
    assert torch.allclose(per_iter, torch.stack(manual), atol=1e-6)
    assert torch.allclose(model(xs, ys), manual[2], atol=1e-6)  # default: the trained b = 3
    assert torch.allclose(model(xs, ys, n_loops=5), manual[4], atol=1e-6)


def test_loop_curriculum_schedule():
    c = cfg("model.n_loops=10", "model.loop_curriculum_start=4", "model.loop_curriculum_inc=2",
            "model.loop_curriculum_interval=200").model
    assert [loop_schedule(c, s) for s in (0, 199, 200, 400, 10**6)] == [4, 4, 6, 8, 10]
    assert loop_schedule(cfg("model.n_loops=7").model, 0) == 7


def test_loss_covers_last_T_iterations_and_earlier_ones_run_without_grad():
    c = cfg("model.n_loops=6", "model.loop_grad_iters=2")
    model = LoopedRegressor(c.model, c.task.d)
    grad_modes = []
    model.backbone.register_forward_hook(lambda *_: grad_modes.append(torch.is_grad_enabled()))
    xs, ys = prompts()
    loss = model.training_loss(xs, ys, step=0)
    assert grad_modes == [False] * 4 + [True] * 2
    per_iter = model.predictions_per_iteration(xs, ys, 6)
    expected = torch.stack([((per_iter[t] - ys) ** 2).mean() for t in (4, 5)]).mean()
    assert torch.allclose(loss, expected, atol=1e-6)
    loss.backward()
    assert all(p.grad is not None for p in model.parameters())


def test_many_iterations_and_tolerance_stopping():
    c = cfg("model.n_loops=2")
    model = LoopedRegressor(c.model, c.task.d)
    xs, ys = prompts()
    with torch.no_grad():
        assert torch.isfinite(model(xs, ys, n_loops=200)).all()
        out = model(xs, ys, n_loops=50, tol=10.0)  # any update is "small": stop after one iteration
        assert model.last_iterations.tolist() == [1] * 4
        assert torch.allclose(out, model(xs, ys, n_loops=1))
        model(xs, ys, n_loops=5, tol=0.0)
        assert model.last_iterations is None
    errs = iteration_errors(model, xs, ys, 3.0, 4)
    assert errs.shape == (4, 4, 7)
    assert looped_learner(model, n_loops=4)(xs, ys).shape == (4, 7)


def test_algoformer_pre_and_post_transformers():
    c = cfg("model.n_loops=3", "model.pre_layers=1", "model.post_layers=1")
    model = build_model(c)
    plain = build_model(cfg("model.n_loops=3"))
    assert model.num_parameters() > plain.num_parameters()
    xs, ys = prompts()
    assert model(xs, ys).shape == (4, 7)
    model.training_loss(xs, ys, 0).backward()
    assert model.pre.blocks[0].attn.qkv.weight.grad is not None
    assert model.post.blocks[0].attn.qkv.weight.grad is not None


@pytest.mark.parametrize("override", ["model.n_loops=0", "model.loop_grad_iters=-1",
                                      "model.loop_curriculum_start=5", "model.loop_tol=-1.0",
                                      "model.pre_layers=-2"])
def test_invalid_loop_settings_are_rejected(override):
    with pytest.raises(ConfigError, match=override.split("=")[0]):
        cfg("model.n_loops=3", override)
