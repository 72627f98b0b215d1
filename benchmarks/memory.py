"""Peak resident memory of the lab's quick main job, run as users run it.

``icl-lab run experiments/linear_regression.toml --out <tmp> --force`` in a child process;
its peak RSS is the ``ru_maxrss`` that ``os.wait4`` returns for that very child (not
``RUSAGE_CHILDREN``, which would mix in the benchmark's other children). The job runs in
the background of the timed sections.
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
        exe = Path(sys.executable).with_name("icl-lab")
        cli = [str(exe)] if exe.exists() else [sys.executable, "-c", "from icl_lab.cli import main; main()"]
        self.cmd = [*cli, "run", str(EXPERIMENT), "--out", str(self.tmp / "run"), "--force"]
        if steps is not None:
            self.cmd += ["--set", f"train.steps={steps}"]
        self.log = open(self.tmp / "log.txt", "w")
        self.t0 = time.perf_counter()
        # ``nice`` > 0 lowers its CPU priority (on a busy machine it may then starve: the
        # benchmark runs it at normal priority, its sections' CPU clocks are robust to it).
        self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
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
        out = {
            "main_job_peak_rss_gib": usage.ru_maxrss / 2**20 if ok else float("nan"),  # ru_maxrss is in KiB
            "main_job_wall_s": wall,
            "main_job_steps": self.steps if self.steps is not None else "preset (5000)",
            "main_job_exit_code": self.proc.returncode,
        }
        if not ok:
            out["main_job_log_tail"] = log_tail
        shutil.rmtree(self.tmp, ignore_errors=True)
        return out
