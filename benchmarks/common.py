"""Shared helpers: interleaved timing, medians, threads, memory readings, machine facts."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = ROOT / "experiments" / "linear_regression.toml"


def set_threads(n: int) -> None:
    """The same intra-op thread count for every side of a comparison."""
    torch.set_num_threads(n)


def median(values: list[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def interleaved(fns: dict[str, Callable[[], object]], rounds: int, repeat: int = 1,
                sync: Callable[[], None] | None = None) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Seconds per call of each function, measured in alternating rounds.

    Round r runs every function ``repeat`` times back to back, in the given order on even
    rounds and reversed on odd ones (A B C, C B A, ...), so that a change of machine load
    during the measurement hits every side alike. Returns ``(wall, cpu)``, each
    {name: [seconds per call, one entry per round]}: wall-clock time and this process's
    CPU time (``time.process_time``; with one thread it is the time the call actually
    ran on a core, which other jobs' time-slicing does not inflate). Compare medians.
    """
    wall: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            fn = fns[name]
            if sync:
                sync()
            t0, c0 = time.perf_counter(), time.process_time()
            for _ in range(repeat):
                fn()
            if sync:
                sync()
            wall[name].append((time.perf_counter() - t0) / repeat)
            cpu[name].append((time.process_time() - c0) / repeat)
    return wall, cpu


def rss_gib() -> float:
    """Current resident set size of this process (GiB)."""
    return _status_kib("VmRSS") / 2**20


def _status_kib(field: str) -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


class PeakRSS:
    """Peak resident memory of this process during a ``with`` block (Linux).

    Resets the kernel's high-water mark (``/proc/self/clear_refs`` <- 5) on entry and reads
    ``VmHWM`` on exit; ``peak_gib`` is that peak, ``extra_gib`` its excess over the RSS on entry.
    Where the reset is not allowed the peak is the process's lifetime peak (``reset_ok`` False).
    """

    def __enter__(self) -> "PeakRSS":
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.reset_ok = True
        except OSError:
            self.reset_ok = False
        self.start_gib = rss_gib()
        return self

    def __exit__(self, *exc: object) -> None:
        self.peak_gib = _status_kib("VmHWM") / 2**20
        self.extra_gib = max(0.0, self.peak_gib - self.start_gib)


def machine_info() -> dict[str, str | int]:
    model = platform.processor() or "unknown"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return {
        "cpu_model": model,
        "cpu_cores": os.cpu_count() or 0,
        "torch_version": torch.__version__,
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none",
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
    }
