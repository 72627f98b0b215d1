"""Peak resident memory of the lab's quick main job, run as users run it.

``icl-lab run experiments/linear_regression.toml --out <tmp> --force`` in a child process
(through ``benchmarks.run_with_peak``); its peak RSS is the child's own ``VmHWM``, which it
writes at exit (see run_with_peak.py for why not ``ru_maxrss``; that is the fallback off
Linux). The job runs in the background of time to quality.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import EXPERIMENT, ROOT


class MainJob:
    """The quick main job in the background; :meth:`finish` waits and returns its figures."""

    def __init__(self, steps: int | None = None, nice: int = 0):
        self.tmp = Path(tempfile.mkdtemp(prefix="icl_bench_main_"))
        self.steps = steps
        self.peak_file = self.tmp / "peak_kib.txt"
        self.cmd = [sys.executable, "-m", "benchmarks.run_with_peak", "run", str(EXPERIMENT),
                    "--out", str(self.tmp / "run"), "--force"]
        if steps is not None:
            self.cmd += ["--set", f"train.steps={steps}"]
        self.log = open(self.tmp / "log.txt", "w")
        self.t0 = time.perf_counter()
        # ``nice`` > 0 lowers its CPU priority (on a busy machine it may then starve: the
        # benchmark runs it at normal priority, its sections' CPU clocks are robust to it).
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "ICL_BENCH_PEAK_FILE": str(self.peak_file)},
                                     preexec_fn=(lambda: os.nice(nice)) if nice else None)

    def finish(self) -> dict[str, float | str]:
        while True:  # reap this child ourselves to get its own rusage
            pid, status, usage = os.wait4(self.proc.pid, 0)
            if pid == self.proc.pid:
                break
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - self.t0
        self.log.close()
        log_tail = (self.tmp / "log.txt").read_text()[-2000:]
        ok = self.proc.returncode == 0
        peak_kib = int(self.peak_file.read_text()) if self.peak_file.is_file() else usage.ru_maxrss
        out = {
            "main_job_peak_rss_gib": peak_kib / 2**20 if ok else float("nan"),  # both in KiB
            "main_job_ru_maxrss_gib": usage.ru_maxrss / 2**20,  # includes the pre-exec (parent's) mark
            "main_job_wall_s": wall,
            "main_job_steps": self.steps if self.steps is not None else "preset (5000)",
            "main_job_exit_code": self.proc.returncode,
        }
        if not ok:
            out["main_job_log_tail"] = log_tail
        shutil.rmtree(self.tmp, ignore_errors=True)
        return out
