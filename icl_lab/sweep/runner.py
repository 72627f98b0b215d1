"""Running a sweep: check the sweep directory, schedule runs on an executor, retry, report progress.

Re-running the same sweep is the way to continue it: finished runs are skipped,
interrupted, killed or failed ones resume from their checkpoints, missing ones start.

Runs of one shape that differ only in settings an ensemble may vary (seed, learning rate, task
pool, noise, ...: :func:`icl_lab.training.ensemble.ensemble_key`) and resume from the same step
train at once, as one batched ensemble of up to ``ensemble`` members (1 turns this off); each
keeps its own run directory, and its outcome, retries and report are its own.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from icl_lab.core.config_files import find_experiment
from icl_lab.core.errors import ConfigError, RunError
from icl_lab.core.runs import RunDir, atomic_write_json
from icl_lab.sweep.executors import Executor
from icl_lab.sweep.plan import SweepError, SweepPlan
from icl_lab.sweep.worker import FAILED, FINISHED, SKIPPED, RunOutcome, RunSpec, is_finished, mark_failed, one_line
from icl_lab.training.ensemble import checkpoint_step

try:  # advisory lock against two sweeps driving the same directory (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

MANIFEST = "sweep.json"
LOCK = ".sweep.lock"
ENSEMBLE = 8  # default largest ensemble of the sweep runner


@dataclass
class SweepSummary:
    """The final outcome of every run of one sweep invocation."""

    sweep_dir: Path
    outcomes: dict[str, RunOutcome] = field(default_factory=dict)
    elapsed: float = 0.0

    def names(self, state: str) -> list[str]:
        return [name for name, o in self.outcomes.items() if o.state == state]

    @property
    def failed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes.values() if o.state == FAILED]


# ----------------------------------------------------------------------------- progress


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class SweepDisplay:
    """Runs done / running / failed with elapsed time: one updating line on a TTY, plain lines otherwise."""

    def __init__(self, total: int, stream: TextIO | None = None, tty: bool | None = None, quiet: bool = False):
        self.total, self.stream, self.quiet = total, stream or sys.stderr, quiet
        self.tty = self.stream.isatty() if tty is None else tty
        self.t0 = time.perf_counter()
        self.done = self.running = self.failed = 0
        self._line_open = False

    def _status(self) -> str:
        return (f"{self.done}/{self.total} done, {self.running} running, {self.failed} failed, "
                f"elapsed {_clock(time.perf_counter() - self.t0)}")

    def set_counts(self, done: int, running: int, failed: int) -> None:
        """New counts; redraws the line on a TTY."""
        self.done, self.running, self.failed = done, running, failed
        if self.tty and not self.quiet:
            self.stream.write(f"\r\033[Ksweep: {self._status()}")
            self.stream.flush()
            self._line_open = True

    def event(self, text: str, keep: bool = False) -> None:
        """A line for the log: always printed as plain lines, on a TTY only if ``keep`` (failures)."""
        if self.quiet:
            return
        if self.tty:
            if not keep:  # on a TTY the updating line already says it
                return
            self.stream.write("\r\033[K")
        self.stream.write(f"[{_clock(time.perf_counter() - self.t0)}] {text}\n")
        self.stream.flush()
        self._line_open = False

    def close(self) -> None:
        if self._line_open:
            self.stream.write("\n")
            self.stream.flush()
            self._line_open = False


# ----------------------------------------------------------------------------- sweep directory


class SweepLock:
    """An exclusive, non-blocking lock on the sweep directory, released when the process dies."""

    def __init__(self, sweep_dir: Path):
        self.path = Path(sweep_dir) / LOCK
        self._file: Any = None

    def __enter__(self) -> "SweepLock":
        if fcntl is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+")
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._file.seek(0)
            holder = self._file.read().strip() or "unknown"
            self._file.close()
            raise SweepError(f"another sweep process (pid {holder}) is running in {self.path.parent}; "
                             "wait for it or stop it, then re-run") from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(str(os.getpid()))
        self._file.flush()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._file is not None:
            self._file.close()  # closing releases the flock


def check_existing_runs(plan: SweepPlan, sweep_dir: Path) -> None:
    """Refuse (before any run starts) if a run directory holds a different config."""
    for run in plan.runs:
        existing = RunDir(Path(sweep_dir) / run.name)
        if not existing.exists():
            continue
        try:
            old = existing.record()
        except (ConfigError, RunError) as exc:
            raise SweepError(f"cannot read run {run.name} in {sweep_dir}: {exc}") from None
        if old != json.loads(json.dumps(run.config.to_dict())):
            raise SweepError(f"{existing.path} holds a run with a different config (did --set, --preset or the "
                             "experiment file change?); use another --out or remove that run")


def write_manifest(plan: SweepPlan, sweep_dir: Path) -> Path:
    """Write ``sweep.json``: grid, seeds, run names and each resolved config's hash."""
    path = Path(sweep_dir) / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(path, {**plan.manifest(), "command": " ".join(sys.argv)})
    return path


def read_manifest(sweep_dir: str | Path) -> dict[str, Any]:
    """The ``sweep.json`` of a sweep directory, or a one-line error."""
    path = Path(sweep_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise SweepError(f"{sweep_dir} is not a sweep directory (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise SweepError(f"cannot read {path}: {exc}") from None


# ----------------------------------------------------------------------------- scheduling


def _specs(plan: SweepPlan, sweep_dir: Path, threads: int) -> list[RunSpec]:
    root = Path(sweep_dir).resolve()
    experiment = str(find_experiment(plan.experiment).resolve())
    return [RunSpec(run.name, str(root / run.name), run.config.to_dict(), threads, experiment=experiment,
                    preset=plan.base.preset, overrides=run.overrides) for run in plan.runs]


def group_specs(plan: SweepPlan, specs: list[RunSpec], ensemble: int, slots: int) -> list[RunSpec]:
    """The units of work: runs with equal ensemble keys and resume steps become ensembles of at
    most ``ensemble`` members, split evenly so that ``slots`` workers all get work (with fewer
    slots than 1000; a Ray cluster without --workers gets ensembles of the full size); every
    other run stays alone. Units keep the order of the grid."""
    if ensemble <= 1:
        return list(specs)
    configs = {run.name: run.config for run in plan.runs}
    groups: dict[Any, list[RunSpec]] = {}
    for spec in specs:
        key = plan.pipeline.ensemble_key(configs[spec.name])
        step = checkpoint_step(spec.run_dir) if key is not None else None
        groups.setdefault((key, step) if key is not None and step is not None else spec.name, []).append(spec)
    units: list[RunSpec] = []
    for group in groups.values():
        per = min(ensemble, math.ceil(len(group) / slots)) if slots < 1000 else ensemble
        n_units = math.ceil(len(group) / max(1, per))
        for i in range(n_units):
            part = group[i::n_units]  # even sizes (differ by one at most)
            units.append(part[0] if len(part) == 1 else _ensemble_spec(part))
    return units


def _ensemble_spec(members: list[RunSpec]) -> RunSpec:
    first = members[0]
    return RunSpec(f"ensemble of {len(members)} ({', '.join(m.name for m in members)})", first.run_dir, {},
                   first.threads, members=tuple(members))


def _as_outcomes(spec: RunSpec, result: RunOutcome | BaseException) -> list[tuple[RunSpec, RunOutcome]]:
    """Each run's outcome from a worker's; a dead worker becomes a failure recorded in every one of
    its runs' status.json."""
    members = spec.members or (spec,)
    if isinstance(result, RunOutcome):
        return list(zip(members, result.members or (result,)))
    error = one_line(result)
    for member in members:
        mark_failed(member.run_dir, error)
    return [(m, RunOutcome(m.name, FAILED, error=error, attempt=m.attempt)) for m in members]


def run_sweep(plan: SweepPlan, sweep_dir: str | Path, executor: Executor, *, retries: int = 1,
              display: SweepDisplay | None = None, ensemble: int = ENSEMBLE) -> SweepSummary:
    """Run every unfinished run of ``plan`` in ``sweep_dir`` on ``executor``.

    Finished runs are skipped, others start or resume (``resume=True``), grouped into ensembles
    of at most ``ensemble`` runs (:func:`group_specs`; 1: every run alone); a failed run is
    retried (alone) up to ``retries`` more times, then reported with its error. The caller
    holds the :class:`SweepLock` and has written the manifest.
    """
    if retries < 0:
        raise SweepError(f"invalid --retries {retries}: expected an integer >= 0")
    if ensemble < 1:
        raise SweepError(f"invalid --ensemble {ensemble}: expected an integer >= 1 (1: no ensembles)")
    sweep_dir = Path(sweep_dir)
    display = display or SweepDisplay(len(plan.runs))
    summary = SweepSummary(sweep_dir)
    todo = []
    for spec in _specs(plan, sweep_dir, executor.cpus_per_run):
        if is_finished(RunDir(spec.run_dir)):
            summary.outcomes[spec.name] = RunOutcome(spec.name, SKIPPED)
        else:
            todo.append(spec)
    queue: deque[RunSpec] = deque(group_specs(plan, todo, ensemble, executor.slots))
    if summary.outcomes:
        display.event(f"{len(summary.outcomes)} of {len(plan.runs)} runs already finished: skipped")
    attempts: Counter[str] = Counter()
    inflight: dict[Any, RunSpec] = {}
    t0 = time.perf_counter()

    def refresh() -> None:
        done = sum(o.state in (FINISHED, SKIPPED) for o in summary.outcomes.values())
        display.set_counts(done, sum(len(spec.members) or 1 for spec in inflight.values()), len(summary.failed))

    try:
        while queue or inflight:
            while queue and len(inflight) < executor.slots:
                spec = queue.popleft()
                for member in spec.members or (spec,):
                    attempts[member.name] += 1
                spec = replace(spec, attempt=max(attempts[m.name] for m in spec.members or (spec,)), members=tuple(
                    replace(m, attempt=attempts[m.name]) for m in spec.members))
                inflight[executor.submit(spec)] = spec
                resumed = " (resuming)" if (Path(spec.run_dir) / "checkpoint.pt").is_file() else ""
                display.event(f"started {spec.name}{resumed}")
            refresh()
            for handle, result in executor.wait(list(inflight), timeout=1.0):
                for member, outcome in _as_outcomes(inflight.pop(handle), result):
                    if outcome.state == FAILED and attempts[member.name] <= retries:
                        display.event(f"failed {member.name}: {outcome.error} "
                                      f"(retry {attempts[member.name]}/{retries})", keep=True)
                        queue.append(member)
                        continue
                    summary.outcomes[member.name] = outcome
                    verb = "failed" if outcome.state == FAILED else outcome.state
                    detail = f": {outcome.error}" if outcome.error else f" in {outcome.seconds:.0f}s"
                    display.event(f"{verb} {member.name}{detail}", keep=outcome.state == FAILED)
            refresh()
    except BaseException:
        executor.close(cancel=True, handles=list(inflight))
        display.close()
        raise
    executor.close()
    display.close()
    # Keep the manifest's order, so the summary reads like the grid.
    summary.outcomes = {run.name: summary.outcomes[run.name] for run in plan.runs}
    summary.elapsed = time.perf_counter() - t0
    return summary
