"""What one sweep worker does with one run: skip it, resume it or start it; record failures.

The functions here run in worker processes (a local process pool or a Ray task), so
they take and return plain, picklable data and import torch only when they run.
"""

from __future__ import annotations

import time
import traceback
from contextlib import ExitStack
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
    # An ensemble: these runs (of one shape) train at once; name and run_dir then only label it.
    members: tuple["RunSpec", ...] = ()


@dataclass(frozen=True)
class RunOutcome:
    """What became of a :class:`RunSpec`: finished, skipped (already finished) or failed."""

    name: str
    state: str
    seconds: float = 0.0
    error: str = ""
    attempt: int = 1
    members: tuple["RunOutcome", ...] = ()  # an ensemble's: one outcome per member run


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
    A spec with ``members`` trains them as one ensemble (:func:`execute_ensemble`).
    """
    if spec.members:
        return execute_ensemble(spec)
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


def execute_ensemble(spec: RunSpec) -> RunOutcome:
    """Train and evaluate ``spec.members`` at once with their pipeline's ``run_ensemble``; one
    outcome per member (finished, or failed with its error recorded as :func:`execute_run` does).
    If another process holds one of the run directories, the members run one by one instead."""
    import torch

    from icl_lab.pipelines import load_experiment

    runs = [RunDir(member.run_dir) for member in spec.members]
    torch.set_num_threads(max(1, spec.threads))
    t0 = time.perf_counter()
    with ExitStack() as held:
        try:
            for run in runs:
                held.enter_context(run.locked())
        except RunBusyError:
            held.close()
            return _group(spec, [execute_run(member) for member in spec.members])
        error = details = ""
        try:
            loaded = [load_experiment(m.experiment, m.preset, m.overrides) for m in spec.members]
            loaded[0][0].run_ensemble([cfg for _, cfg in loaded], [run.path for run in runs], resume=True)
        except Exception as exc:  # reported per member below: status.json, error.txt, the sweep report
            error, details = one_line(exc), traceback.format_exc()
        seconds = time.perf_counter() - t0
        outcomes = []
        for member, run in zip(spec.members, runs):
            if is_finished(run):
                outcomes.append(RunOutcome(member.name, FINISHED, seconds, attempt=member.attempt))
                continue
            own = run.status().get("error") or error or "not finished"  # e.g. its own divergence
            mark_failed(run.path, own, details)
            outcomes.append(RunOutcome(member.name, FAILED, seconds, own, member.attempt))
    return _group(spec, outcomes)


def _group(spec: RunSpec, outcomes: list[RunOutcome]) -> RunOutcome:
    state = FINISHED if all(o.state != FAILED for o in outcomes) else FAILED
    return RunOutcome(spec.name, state, max((o.seconds for o in outcomes), default=0.0), attempt=spec.attempt,
                      members=tuple(outcomes))
