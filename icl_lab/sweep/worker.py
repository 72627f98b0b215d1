"""What one sweep worker does with one run: skip it, resume it or start it; record failures.

The functions here run in worker processes (a local process pool or a Ray task), so
they take and return plain, picklable data and import torch only when they run.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from icl_lab.core.runs import RunBusyError, RunDir, atomic_write_bytes

FINISHED = "finished"
FAILED = "failed"
SKIPPED = "skipped"


@dataclass(frozen=True)
class RunSpec:
    """One unit of work sent to a worker."""

    name: str
    run_dir: str  # absolute, so it means the same on every worker (shared storage on a cluster)
    config: dict[str, Any]  # the resolved config's to_dict() (what config.json must hold)
    threads: int = 1  # torch intra-op threads (one per CPU the run was given)
    attempt: int = 1
    experiment: str = ""  # absolute path of the experiment file; the run's config is rebuilt from
    preset: str = ""  # it, the preset and the overrides by the file's own pipeline
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOutcome:
    """What became of a :class:`RunSpec`: finished, skipped (already finished) or failed."""

    name: str
    state: str
    seconds: float = 0.0
    error: str = ""
    attempt: int = 1


def is_finished(run: RunDir) -> bool:
    """A run is finished when its status says so and its results exist."""
    return run.exists() and run.status().get("state") == FINISHED and run.results_path.is_file()


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (the full traceback goes to error.txt)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


def mark_failed(run_dir: str | Path, error: str, details: str = "") -> None:
    """Record a failure in status.json (and error.txt) without touching a finished run.

    The step and the checkpoint stay as they were, so the next attempt resumes.
    """
    run = RunDir(run_dir)
    status = run.status()
    if status.get("state") == FINISHED:
        return
    run.path.mkdir(parents=True, exist_ok=True)
    run.set_status(FAILED, step=status.get("step", 0), error=error)
    atomic_write_bytes(run.path / "error.txt", ((details or error) + "\n").encode())


def execute_run(spec: RunSpec) -> RunOutcome:
    """Train (or resume) and evaluate one run; never raises for an ordinary error.

    A run is always started with ``resume=True``: a fresh directory is created, an
    interrupted, killed or failed one continues from its checkpoint, and a finished
    one is left alone. ``KeyboardInterrupt`` propagates (train() checkpoints first).
    """
    import torch

    from icl_lab.pipelines import load_experiment

    run = RunDir(spec.run_dir)
    if is_finished(run):
        return RunOutcome(spec.name, SKIPPED, attempt=spec.attempt)
    torch.set_num_threads(max(1, spec.threads))  # one thread per CPU this run was given
    t0 = time.perf_counter()
    try:
        with run.locked():
            try:
                pipeline, cfg = load_experiment(spec.experiment, spec.preset, spec.overrides)
                pipeline.run(cfg, run.path, resume=True)
            except Exception as exc:  # reported, not swallowed: status.json, error.txt, the sweep report
                error = one_line(exc)
                mark_failed(run.path, error, traceback.format_exc())
                return RunOutcome(spec.name, FAILED, time.perf_counter() - t0, error, spec.attempt)
    except RunBusyError as exc:  # leave the other writer's status alone
        return RunOutcome(spec.name, FAILED, 0.0, str(exc), spec.attempt)
    return RunOutcome(spec.name, FINISHED, time.perf_counter() - t0, attempt=spec.attempt)
