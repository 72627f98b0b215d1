"""``python -m benchmarks.run_with_peak ARGS``: run ``icl-lab ARGS`` in this process and, at
exit, write its own peak resident memory (``VmHWM`` of /proc/self/status, KiB) to the file
named by ``$ICL_BENCH_PEAK_FILE``.

Why not ``ru_maxrss`` from ``wait4``: Linux carries the pre-exec high-water mark over
``exec``, and Python starts children with ``vfork``, whose pre-exec memory is the parent's;
once the benchmark's own heap has grown (after the throughput section, several GiB) that
figure is the parent's, not the job's. ``VmHWM`` belongs to the fresh address space exec made.
"""

from __future__ import annotations

import atexit
import os
import sys
from pathlib import Path


def write_peak() -> None:
    """Write this process's VmHWM (KiB) to $ICL_BENCH_PEAK_FILE (nothing off Linux)."""
    status = Path("/proc/self/status")
    if not status.is_file():
        return
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            Path(os.environ["ICL_BENCH_PEAK_FILE"]).write_text(line.split()[1])


if __name__ == "__main__":
    atexit.register(write_peak)
    from icl_lab.cli import main

    sys.argv = ["icl-lab", *sys.argv[1:]]
    main()
