"""Shared fixtures: a tiny experiment config that trains in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from icl_lab.pipelines.regression import load as load_experiment

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = ROOT / "experiments" / "linear_regression.toml"

TINY = [
    "task.d=3", "task.n_points=7", "model.n_embd=16", "model.n_layer=1", "model.n_head=2",
    "model.max_points=9", "train.steps=12", "train.batch_size=8", "train.log_every=2",
    "train.checkpoint_every=4", "train.dims_start=0", "train.points_start=0",
    "eval.n_prompts=16", "eval.bootstrap=20",
]


@pytest.fixture(autouse=True)
def _threads():
    torch.set_num_threads(1)  # tests are many small ops; one thread avoids oversubscription


@pytest.fixture
def tiny_cfg():
    return load_experiment(EXPERIMENT, "quick", TINY)


class InlineExecutor:
    """Runs each spec at once in this process: the runner's logic without process start-up costs."""

    slots, cpus_per_run = 1, 1

    def __init__(self):
        self._done, self.submitted = [], []

    def submit(self, spec):
        from icl_lab.sweep import execute_run  # the sweep layer, imported only by the tests that use it

        handle = object()
        self.submitted.append(spec)
        self._done.append((handle, execute_run(spec)))
        return handle

    def wait(self, handles, timeout):
        done, self._done = self._done, []
        return done

    def close(self, cancel=False, handles=()):
        pass
