"""An interrupted run, resumed, ends with exactly the metrics of an uninterrupted one."""

import pytest
import torch

from icl_lab.core.runs import RunDir, RunError
from icl_lab.training.regression import train


def interrupt_at(step_to_stop):
    def on_step(step):
        if step == step_to_stop:
            raise KeyboardInterrupt

    return on_step


def test_resume_equals_uninterrupted(tmp_path, tiny_cfg):
    train(tiny_cfg, tmp_path / "straight", progress=False)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_cfg, tmp_path / "resumed", on_step=interrupt_at(7), progress=False)
    run = RunDir(tmp_path / "resumed")
    assert run.status()["state"] == "interrupted" and run.status()["step"] == 7
    with pytest.raises(RunError, match="--resume"):
        train(tiny_cfg, tmp_path / "resumed", progress=False)  # no silent restart
    train(tiny_cfg, tmp_path / "resumed", resume=True, progress=False)
    straight, resumed = RunDir(tmp_path / "straight").read_metrics(), run.read_metrics()
    assert [m["step"] for m in resumed] == [m["step"] for m in straight]
    assert [m["loss"] for m in resumed] == [m["loss"] for m in straight]
    a = torch.load(tmp_path / "straight" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_finished_run_is_not_overwritten(tmp_path, tiny_cfg):
    train(tiny_cfg, tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "checkpoint.pt").read_bytes()
    with pytest.raises(RunError, match="--force"):
        train(tiny_cfg, tmp_path / "run", progress=False)
    assert (tmp_path / "run" / "checkpoint.pt").read_bytes() == before
