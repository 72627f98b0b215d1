"""Running a sweep: check the sweep directory, schedule runs on an executor, retry, report progress.

Re-running the same sweep is the way to continue it: finished runs are skipped,
interrupted, killed or failed ones resume from their checkpoints, missing ones start.
"""

from __future__ import annotations

import json
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

try:  # advisory lock against two sweeps driving the same directory (POSIX only)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

MANIFEST = "sweep.json"
LOCK = ".sweep.lock"


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


def _as_outcome(spec: RunSpec, result: RunOutcome | BaseException) -> RunOutcome:
    """A worker's outcome; a dead worker becomes a failure recorded in the run's status.json."""
    if isinstance(result, RunOutcome):
        return result
    error = one_line(result)
    mark_failed(spec.run_dir, error)
    return RunOutcome(spec.name, FAILED, error=error, attempt=spec.attempt)


def run_sweep(plan: SweepPlan, sweep_dir: str | Path, executor: Executor, *, retries: int = 1,
              display: SweepDisplay | None = None) -> SweepSummary:
    """Run every unfinished run of ``plan`` in ``sweep_dir`` on ``executor``.

    Finished runs are skipped, others start or resume (``resume=True``); a failed run is
    retried up to ``retries`` more times, then reported with its error. The caller
    holds the :class:`SweepLock` and has written the manifest.
    """
    if retries < 0:
        raise SweepError(f"invalid --retries {retries}: expected an integer >= 0")
    sweep_dir = Path(sweep_dir)
    display = display or SweepDisplay(len(plan.runs))
    summary = SweepSummary(sweep_dir)
    queue: deque[RunSpec] = deque()
    for spec in _specs(plan, sweep_dir, executor.cpus_per_run):
        if is_finished(RunDir(spec.run_dir)):
            summary.outcomes[spec.name] = RunOutcome(spec.name, SKIPPED)
        else:
            queue.append(spec)
    if summary.outcomes:
        display.event(f"{len(summary.outcomes)} of {len(plan.runs)} runs already finished: skipped")
    attempts: Counter[str] = Counter()
    inflight: dict[Any, RunSpec] = {}
    t0 = time.perf_counter()

    def refresh() -> None:
        done = sum(o.state in (FINISHED, SKIPPED) for o in summary.outcomes.values())
        display.set_counts(done, len(inflight), len(summary.failed))

    try:
        while queue or inflight:
            while queue and len(inflight) < executor.slots:
                spec = queue.popleft()
                attempts[spec.name] += 1
                spec = replace(spec, attempt=attempts[spec.name])
                inflight[executor.submit(spec)] = spec
                resumed = " (resuming)" if (Path(spec.run_dir) / "checkpoint.pt").is_file() else ""
                display.event(f"started {spec.name}{resumed}")
            refresh()
            for handle, result in executor.wait(list(inflight), timeout=1.0):
                spec = inflight.pop(handle)
                outcome = _as_outcome(spec, result)
                if outcome.state == FAILED and attempts[spec.name] <= retries:
                    display.event(f"failed {spec.name}: {outcome.error} (retry {attempts[spec.name]}/{retries})",
                                  keep=True)
                    queue.append(spec)
                    continue
                summary.outcomes[spec.name] = outcome
                verb = "failed" if outcome.state == FAILED else outcome.state
                detail = f": {outcome.error}" if outcome.error else f" in {outcome.seconds:.0f}s"
                display.event(f"{verb} {spec.name}{detail}", keep=outcome.state == FAILED)
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
