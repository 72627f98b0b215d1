"""Durable run directories: config, command line, code version, status, atomic writes.

Layout of a run directory::

    config.json      the resolved config record of the run's pipeline (plain JSON data)
    command.txt      the command line that created it
    version.json     icl_lab version and git commit, if any
    status.json      {"state": "running" | "interrupted" | "trained" | "finished", "step": ...}
    metrics.jsonl    one JSON object per logged training step
    checkpoint.pt    weights-only checkpoint (model, optimiser, schedule, step)
    results.json     per-position errors of the model and its baselines
    figure.png/.pdf  error against number of in-context examples
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

from icl_lab.core.errors import RunError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no run locks
    fcntl = None

_UMASK = os.umask(0)
os.umask(_UMASK)
LOCK_FILE = ".run.lock"
# The files that make a directory recognisably a run (what --force may remove).
RUN_MARKERS = ("config.json", "status.json")
_HELD: dict[Path, IO[str]] = {}  # run directories this process holds the lock of
STOPPED = ("trained", "finished", "interrupted", "diverged", "failed")  # states that end a writer's hold


class RunBusyError(RunError):
    """Another live process holds the run directory's lock."""


def strict_json(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None, so that strict JSON parsers read
    what the lab writes (NaN and Infinity are not JSON)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` that never writes NaN or Infinity (see :func:`strict_json`)."""
    return json.dumps(strict_json(obj), allow_nan=False, **kwargs)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory and rename, so readers never see half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; use the usual mode
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:  # disk full, read-only: the old file (if any) is untouched
        Path(tmp).unlink(missing_ok=True)
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (dumps(obj, indent=2) + "\n").encode())


def code_version() -> dict[str, str]:
    try:
        version = importlib.metadata.version("icl_lab")
    except importlib.metadata.PackageNotFoundError:  # running from a source tree
        version = "unknown"
    info = {"icl_lab": version}
    try:
        root = Path(__file__).resolve().parent.parent
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                                text=True, timeout=5).stdout.strip()
        if commit:
            info["git_commit"] = commit
    except (OSError, subprocess.SubprocessError):
        pass
    return info


class RunDir:
    """A run directory on disk."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.json")
    status_path = property(lambda self: self.path / "status.json")
    metrics_path = property(lambda self: self.path / "metrics.jsonl")
    checkpoint_path = property(lambda self: self.path / "checkpoint.pt")
    results_path = property(lambda self: self.path / "results.json")

    def exists(self) -> bool:
        return self.config_path.is_file()

    def is_run(self) -> bool:
        """True when the directory is recognisably a run (config.json and status.json)."""
        return all((self.path / name).is_file() for name in RUN_MARKERS)

    # ------------------------------------------------------------------ the lock

    def acquire(self) -> bool:
        """Take the run directory's lock for this process (kept until :meth:`release` or the
        process ends; the kernel drops it when the holder dies, so a killed run never stays
        locked). Returns False when this process already held it. A second process is refused
        with :class:`RunBusyError` naming the holder."""
        key = self.path.resolve()
        if key in _HELD:
            return False
        self.path.mkdir(parents=True, exist_ok=True)
        handle = open(self.path / LOCK_FILE, "a+")
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.seek(0)
                holder = handle.read().strip() or "?"
                handle.close()
                raise RunBusyError(f"{self.path} is in use by process {holder}; wait for it to stop "
                                   "(or stop it), then retry") from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        _HELD[key] = handle
        return True

    def release(self) -> None:
        handle = _HELD.pop(self.path.resolve(), None)
        if handle is not None:
            handle.close()  # closing drops the flock

    @contextmanager
    def locked(self) -> Iterator["RunDir"]:
        """Hold the lock for the block (re-entrant within a process)."""
        acquired = self.acquire()
        try:
            yield self
        finally:
            if acquired:
                self.release()

    def _check_is_usable(self) -> None:
        """Refuse a path that is a file, or a non-empty directory that is not a run: the lab
        never mixes its files into, or deletes, a user's folder."""
        if self.path.exists() and not self.path.is_dir():
            raise RunError(f"{self.path} is a file, not a run directory; choose another --out")
        if self.path.is_dir() and not self.is_run():
            others = sorted(p.name for p in self.path.iterdir() if p.name != LOCK_FILE)
            if others:
                raise RunError(f"{self.path} exists and is not a run directory (it holds {others[0]!r}"
                               f"{' and more' if len(others) > 1 else ''}); choose another --out")

    def status(self) -> dict[str, Any]:
        try:
            return json.loads(self.status_path.read_text())
        except (OSError, json.JSONDecodeError):
            return {"state": "unknown"}

    def set_status(self, state: str, **extra: Any) -> None:
        """Write status.json; a final state (the run stopped) releases the run's lock."""
        atomic_write_json(self.status_path, {"state": state, **extra})
        if state in STOPPED:
            self.release()

    def record(self) -> dict[str, Any]:
        """The config record stored in config.json (the pipeline rebuilds its typed config)."""
        if not self.exists():
            raise RunError(f"{self.path} is not a run directory (no config.json)")
        try:
            return json.loads(self.config_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise RunError(f"cannot read {self.config_path}: {exc}") from None

    def holds(self, record: dict[str, Any]) -> bool:
        """True when this is a run of exactly ``record`` (config.json equal to it as JSON)."""
        try:
            return self.exists() and self.record() == json.loads(json.dumps(record))
        except RunError:
            return False

    def cached_results(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """The lab's one result cache: results.json of a finished run of exactly ``record``, or
        None (absent, unfinished, or another config)."""
        if not (self.holds(record) and self.status().get("state") == "finished" and self.results_path.is_file()):
            return None
        try:
            return json.loads(self.results_path.read_text())
        except (OSError, json.JSONDecodeError):
            return None

    def prepare(self, record: dict[str, Any], *, resume: bool = False, force: bool = False) -> None:
        """Create the directory for a new run, or check it can be resumed.

        A finished run is never overwritten unless ``force``; an unfinished one is
        continued only with ``resume`` (same config) or replaced with ``force``. ``force``
        removes only a recognisable run; a path that is a file or a non-empty non-run folder is
        refused. The run directory's lock is taken first (another live writer is refused).
        """
        self._check_is_usable()
        self.acquire()
        if self.exists() and not force:
            state = self.status().get("state", "unknown")
            if not resume:
                hint = "--force to overwrite it" if state in ("finished", "trained") else "--resume to continue it or --force to overwrite it"
                raise RunError(f"{self.path} already holds a {state} run; pass {hint}, or choose another --out")
            if not self.holds(record):
                raise RunError(f"cannot resume {self.path}: its config differs from the requested one "
                               "(compare config.json; pass --force to start over)")
            return
        if force and self.is_run():  # the lock file stays: this process holds it
            for child in self.path.iterdir():
                if child.name != LOCK_FILE:
                    shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.config_path, record)
        (self.path / "command.txt").write_text(" ".join(sys.argv) + "\n")
        atomic_write_json(self.path / "version.json", code_version())
        self.set_status("created", step=0)

    def start(self, record: dict[str, Any], *, resume: bool = False, force: bool = False) -> "RunDir":
        """:meth:`prepare` and mark the run ``running``; returns the run directory."""
        self.prepare(record, resume=resume, force=force)
        self.set_status("running")
        return self

    def append_metrics(self, record: dict[str, Any]) -> None:
        try:
            with open(self.metrics_path, "a") as f:
                f.write(dumps(record) + "\n")
        except OSError as exc:  # disk full: one line, the checkpoint written before stays good
            raise RunError(f"cannot write {self.metrics_path}: {exc.strerror or exc}") from None

    def read_metrics(self) -> list[dict[str, Any]]:
        if not self.metrics_path.is_file():
            return []
        records = []
        for line in self.metrics_path.read_text().splitlines():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line torn by a kill mid-append; resume rewrites from the checkpoint
        return records

    def truncate_metrics(self, last_step: int) -> None:
        """Drop records logged after ``last_step`` (they are redone when a run resumes)."""
        kept = [r for r in self.read_metrics() if r.get("step", 0) <= last_step]
        atomic_write_bytes(self.metrics_path, "".join(dumps(r) + "\n" for r in kept).encode())


def log_line(line: str) -> None:
    """Progress lines of multi-run pipelines: stderr, so stdout keeps only results."""
    print(line, file=sys.stderr, flush=True)
