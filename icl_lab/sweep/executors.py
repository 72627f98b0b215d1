"""Where sweep runs execute: local worker processes (default) or tasks on a Ray cluster.

Both executors have the same small interface, used by :func:`icl_lab.sweep.runner.run_sweep`:
``slots`` (runs in flight at most), ``submit(spec) -> handle``,
``wait(handles, timeout) -> [(handle, RunOutcome | Exception)]`` and ``close(cancel)``.
An exception in the list means the worker itself died (SIGKILL, out of memory, a lost
node); the run's checkpoint survives and the runner retries it with ``resume``.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Protocol

from icl_lab.sweep.plan import SweepError
from icl_lab.sweep.worker import RunOutcome, RunSpec, execute_run

EXECUTORS = ("local", "ray")
RAY_MISSING = 'the ray executor needs Ray, an optional extra: pip install -e ".[ray]"'

Result = RunOutcome | BaseException


class Executor(Protocol):
    slots: int
    cpus_per_run: int

    def submit(self, spec: RunSpec) -> Any: ...

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, Result]]: ...

    def close(self, cancel: bool = False, handles: list[Any] = ()) -> None: ...


class LocalExecutor:
    """Up to ``workers`` spawned processes on this machine, each running one run at a time.

    "spawn" rather than "fork": a forked child would inherit torch's thread pools and
    any half-held locks of the parent; spawn starts clean on every platform.
    """

    def __init__(self, workers: int, cpus_per_run: int, fn: Callable[[RunSpec], RunOutcome] = execute_run):
        self.slots, self.cpus_per_run, self._fn = workers, cpus_per_run, fn
        self._pool: cf.ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            self._pool = cf.ProcessPoolExecutor(max_workers=self.slots,
                                                mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def submit(self, spec: RunSpec) -> cf.Future:
        return self._ensure_pool().submit(self._fn, spec)

    def wait(self, handles: list[cf.Future], timeout: float) -> list[tuple[cf.Future, Result]]:
        done, _ = cf.wait(handles, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        results: list[tuple[cf.Future, Result]] = []
        for future in done:
            try:
                results.append((future, future.result()))
            except BrokenProcessPool:
                # A worker died (SIGKILL, OOM killer): the pool is unusable; start a new one
                # for the retries. Every run it held fails this attempt and resumes later.
                self._discard_pool()
                results.append((future, RuntimeError("worker process died (killed, or out of memory?)")))
            except BaseException as exc:  # noqa: BLE001 - reported to the runner as this run's failure
                results.append((future, exc))
        return results

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self, cancel: bool = False, handles: list[Any] = ()) -> None:
        if self._pool is not None:
            # wait=True: on Ctrl-C the workers got SIGINT too and are writing checkpoints.
            self._pool.shutdown(wait=True, cancel_futures=cancel)
            self._pool = None


def import_ray() -> Any:
    """The ``ray`` module, or a one-line :class:`SweepError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise SweepError(RAY_MISSING) from None
    return ray


class RayExecutor:
    """Each run is a Ray task asking for ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs.

    Connects to ``address`` (``auto``, ``host:6379`` or ``ray://host:10001``), or starts
    a private local instance when no address is given; reuses a Ray session that is
    already initialised in this process (and then leaves it running).
    """

    def __init__(self, address: str | None, workers: int | None, cpus_per_run: int,
                 gpus_per_run: float, fn: Callable[[RunSpec], RunOutcome] = execute_run):
        self._ray = import_ray()
        self.cpus_per_run, self.gpus_per_run = cpus_per_run, gpus_per_run
        self._owns_session = False
        if not self._ray.is_initialized():
            self._connect(address, workers)
        # Our runner does the retrying (with resume); Ray's own retries would hide failures.
        self._remote = self._ray.remote(fn).options(num_cpus=cpus_per_run, num_gpus=gpus_per_run,
                                                    max_retries=0)
        self.slots = workers if workers else 1_000_000  # no cap: Ray queues tasks by resources
        self.warnings = self._check_resources()

    def _connect(self, address: str | None, workers: int | None) -> None:
        try:
            if address:
                self._ray.init(address=address)
            else:  # "local": a new private instance even if a cluster runs on this machine
                num_cpus = workers * self.cpus_per_run if workers else None
                self._ray.init(address="local", num_cpus=num_cpus, include_dashboard=False)
        except Exception as exc:  # noqa: BLE001 - Ray raises several types (ConnectionError, RuntimeError...)
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise SweepError(f"cannot start or reach {where}: {first[:200]}") from None
        self._owns_session = True

    def _check_resources(self) -> list[str]:
        total = self._ray.cluster_resources()
        notes = []
        for name, wanted in (("CPU", self.cpus_per_run), ("GPU", self.gpus_per_run)):
            if wanted and total.get(name, 0) < wanted:
                notes.append(f"the Ray cluster has {total.get(name, 0):g} {name}s but each run asks for "
                             f"{wanted:g}; runs wait until such a node joins")
        return notes

    def submit(self, spec: RunSpec) -> Any:
        return self._remote.remote(spec)

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, Result]]:
        ready, rest = self._ray.wait(handles, num_returns=1, timeout=timeout)
        if ready and rest:  # collect everything else that is already done, without waiting
            more, _ = self._ray.wait(rest, num_returns=len(rest), timeout=0)
            ready = ready + more
        results: list[tuple[Any, Result]] = []
        for ref in ready:
            try:
                results.append((ref, self._ray.get(ref)))
            except Exception as exc:  # noqa: BLE001 - WorkerCrashedError, node lost, task cancelled...
                results.append((ref, exc))
        return results

    def close(self, cancel: bool = False, handles: list[Any] = ()) -> None:
        if cancel:
            for ref in handles:  # delivers KeyboardInterrupt: train() writes a checkpoint
                self._ray.cancel(ref)
        if self._owns_session:
            self._ray.shutdown()
            self._owns_session = False


def default_cpus_per_run(executor: str, workers: int | None) -> int:
    """Locally, share this machine's cores among the workers; on Ray, one CPU per run."""
    if executor == "local":
        return max(1, (os.cpu_count() or 1) // max(1, workers or 1))
    return 1


def check_options(executor: str, address: str | None, workers: int | None,
                  cpus_per_run: int | None, gpus_per_run: float) -> None:
    """Reject inconsistent executor options (and a missing ray) before anything starts."""
    if executor not in EXECUTORS:
        raise SweepError(f"invalid --executor {executor!r}: expected 'local' or 'ray'")
    if workers is not None and workers < 1:
        raise SweepError(f"invalid --workers {workers}: expected an integer >= 1")
    if cpus_per_run is not None and cpus_per_run < 1:
        raise SweepError(f"invalid --cpus-per-run {cpus_per_run}: expected an integer >= 1")
    if gpus_per_run < 0:
        raise SweepError(f"invalid --gpus-per-run {gpus_per_run}: expected a number >= 0")
    if executor == "local" and address:
        raise SweepError("--address needs --executor ray")
    if executor == "local" and gpus_per_run:
        raise SweepError("--gpus-per-run needs --executor ray (local workers share this machine's GPUs)")
    if executor == "ray":
        import_ray()


def make_executor(executor: str, address: str | None = None, workers: int | None = None,
                  cpus_per_run: int | None = None, gpus_per_run: float = 0) -> LocalExecutor | RayExecutor:
    """Build the executor named by ``--executor`` (options checked with :func:`check_options`)."""
    check_options(executor, address, workers, cpus_per_run, gpus_per_run)
    cpus = cpus_per_run or default_cpus_per_run(executor, workers)
    if executor == "local":
        return LocalExecutor(workers or 1, cpus)
    return RayExecutor(address, workers, cpus, gpus_per_run)
