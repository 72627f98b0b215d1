"""The one training loop (icl_lab.training.loop.fit): divergence stops with the last good
checkpoint kept, TensorBoard events mirror metrics.jsonl, the schedule and eval-mode contract."""

from __future__ import annotations

import itertools
import json
import math

import pytest
import torch
from torch import nn

from icl_lab.core.checkpoint import read_checkpoint
from icl_lab.core.errors import ConfigError, RunError
from icl_lab.core.runs import RunDir
from icl_lab.training.config import TrainConfig
from icl_lab.training.loop import fit, lr_factor


def _toy(tmp_path, cfg: TrainConfig, nan_at: int | None = None):
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    run = RunDir(tmp_path / "run")
    run.prepare({"toy": True})
    w = torch.tensor([[1.0, -2.0, 0.5]])

    def batches(start):
        for step in itertools.count(start):
            x = torch.randn(16, 3, generator=torch.Generator().manual_seed(step))
            yield step, x, x @ w.T

    def loss_fn(item):
        step, x, y = item
        loss = ((model(x) - y) ** 2).mean()
        return (loss * float("nan") if step + 1 == nan_at else loss), {"step_seen": step}

    return model, run, lambda **kw: fit(model, cfg, run, batches, loss_fn, progress=False, **kw)


def test_a_diverging_run_stops_and_keeps_its_last_good_checkpoint(tmp_path):
    cfg = TrainConfig(steps=20, lr=0.01, log_every=1, checkpoint_every=2)
    _, run, train = _toy(tmp_path, cfg, nan_at=5)
    with pytest.raises(RunError, match="diverged: the loss is nan at step 5"):
        train()
    state = read_checkpoint(run.checkpoint_path)
    assert state["step"] == 4 and all(torch.isfinite(t).all() for t in state["model"].values())
    assert run.status()["state"] == "diverged"
    assert [r["step"] for r in run.read_metrics()] == [1, 2, 3, 4]  # the NaN step is not logged as a number
    for line in run.metrics_path.read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))


def test_tensorboard_events_mirror_metrics(tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cfg = TrainConfig(steps=6, lr=0.01, log_every=2, checkpoint_every=100, tensorboard=True)
    model, run, train = _toy(tmp_path, cfg)
    assert train() is model and not model.training
    events = EventAccumulator(str(run.path / "tensorboard"))
    events.Reload()
    logged = [(e.step, e.value) for e in events.Scalars("train/loss")]
    metrics = [(r["step"], r["loss"]) for r in run.read_metrics()]
    assert [s for s, _ in logged] == [s for s, _ in metrics] == [2, 4, 6]
    assert all(math.isclose(a, b, rel_tol=1e-6) for (_, a), (_, b) in zip(logged, metrics))


def test_tensorboard_without_the_extra_is_refused_at_load(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    with pytest.raises(ConfigError, match="train.tensorboard.*pip install"):
        TrainConfig(tensorboard=True)


def test_schedule_warmup_then_cosine_to_its_floor():
    cfg = TrainConfig(steps=110, warmup_steps=10, schedule="cosine", min_lr_ratio=0.2)
    assert lr_factor(0, cfg) == pytest.approx(0.1) and lr_factor(9, cfg) == pytest.approx(1.0)
    assert lr_factor(60, cfg) == pytest.approx(0.2 + 0.8 * 0.5)  # half way: cos(π/2) = 0
    assert lr_factor(110, cfg) == pytest.approx(0.2)
    assert lr_factor(50, TrainConfig(steps=110)) == 1.0  # constant schedule
