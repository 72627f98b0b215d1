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
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from icl_lab.core.errors import RunError

_UMASK = os.umask(0)
os.umask(_UMASK)


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
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())


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

    def status(self) -> dict[str, Any]:
        try:
            return json.loads(self.status_path.read_text())
        except (OSError, json.JSONDecodeError):
            return {"state": "unknown"}

    def set_status(self, state: str, **extra: Any) -> None:
        atomic_write_json(self.status_path, {"state": state, **extra})

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
        continued only with ``resume`` (same config) or replaced with ``force``.
        """
        if self.exists() and not force:
            state = self.status().get("state", "unknown")
            if not resume:
                hint = "--force to overwrite it" if state in ("finished", "trained") else "--resume to continue it or --force to overwrite it"
                raise RunError(f"{self.path} already holds a {state} run; pass {hint}, or choose another --out")
            if not self.holds(record):
                raise RunError(f"cannot resume {self.path}: its config differs from the requested one "
                               "(compare config.json; pass --force to start over)")
            return
        if force and self.path.exists():
            shutil.rmtree(self.path)
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
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(record) + "\n")

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
        atomic_write_bytes(self.metrics_path, "".join(json.dumps(r) + "\n" for r in kept).encode())


def log_line(line: str) -> None:
    """Progress lines of multi-run pipelines: stderr, so stdout keeps only results."""
    print(line, file=sys.stderr, flush=True)
