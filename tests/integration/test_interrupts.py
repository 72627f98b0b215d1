"""Ctrl-C and SIGTERM at any point of a training step: the run stops at the step boundary with a
checkpoint, and resuming ends bit-identical to an uninterrupted twin (weights and metrics)."""

from __future__ import annotations

import json
import os
import signal

import pytest
import torch
import torch.optim.optimizer as torch_optimizer

from icl_lab.core.checkpoint import read_checkpoint
from icl_lab.core.runs import RunDir
from icl_lab.pipelines import regression
from icl_lab.training import regression as training

STEPS, AT = 6, 3  # interrupt during step AT (1-based: the AT-th update)


def _cfg():
    return regression.load("linear_regression", "smoke", [f"train.steps={STEPS}", "train.log_every=1",
                                                         "train.checkpoint_every=2"])


def _metrics(run_dir):
    return [{k: v for k, v in r.items() if k not in ("elapsed_s", "steps_per_s")}
            for r in RunDir(run_dir).read_metrics()]


@pytest.fixture(scope="module")
def twin(tmp_path_factory):
    out = tmp_path_factory.mktemp("twin") / "run"
    training.train(_cfg(), out, progress=False)
    return read_checkpoint(RunDir(out).checkpoint_path)["model"], _metrics(out)


def _signal_once(sig):
    state = {"calls": 0}

    def fire(*_args):
        state["calls"] += 1
        if state["calls"] == AT:
            os.kill(os.getpid(), sig)

    return fire


def _inject(point: str, sig, monkeypatch):
    """Send ``sig`` once, during step AT, at ``point`` of the step."""
    fire = _signal_once(sig)
    build = training.build_model
    sample = training.sample_task

    if point == "sampling":
        monkeypatch.setattr(training, "sample_task", lambda *a, **k: (fire(), sample(*a, **k))[1])
    elif point in ("forward", "backward"):
        def build_with_hook(cfg):
            model = build(cfg)
            if point == "forward":
                model.register_forward_pre_hook(lambda *_: fire())
            else:  # during loss.backward()
                next(model.parameters()).register_hook(lambda grad: (fire(), grad)[1])
            return model
        monkeypatch.setattr(training, "build_model", build_with_hook)
    elif point == "after_optimizer_step":  # weights updated, step counter not yet moved
        handle = torch_optimizer.register_optimizer_step_post_hook(lambda *_: fire())
        monkeypatch.setattr(_inject, "handle", handle, raising=False)
    return fire


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
@pytest.mark.parametrize("point", ["sampling", "forward", "backward", "after_optimizer_step", "after_step"])
def test_interrupt_anywhere_in_a_step_resumes_bit_identically(point, sig, twin, tmp_path, monkeypatch):
    out = tmp_path / "run"
    fire = _inject(point, sig, monkeypatch)
    try:
        with pytest.raises(KeyboardInterrupt):
            training.train(_cfg(), out, progress=False, on_step=fire if point == "after_step" else None)
    finally:
        if getattr(_inject, "handle", None) is not None:
            _inject.handle.remove()
            _inject.handle = None
    monkeypatch.undo()
    status = json.loads((out / "status.json").read_text())
    state = read_checkpoint(RunDir(out).checkpoint_path)
    assert status["state"] == "interrupted" and status["step"] == state["step"] == AT
    assert [r["step"] for r in _metrics(out)] == list(range(1, AT + 1))
    training.train(_cfg(), out, resume=True, progress=False)
    weights, metrics = twin
    final = read_checkpoint(RunDir(out).checkpoint_path)["model"]
    assert all(torch.equal(final[k], weights[k]) for k in weights)
    assert _metrics(out) == metrics
