"""The Dask executor: the runs of a sweep plan (or of a scenario, as a ``SpecList`` of its
``RunSpec``s: ``cellsim run --scheduler``) on Dask distributed, stored as they finish.

Runs go to a LocalCluster of worker processes (one thread each, Numba/BLAS threads pinned
to 1 before they start) or to any running scheduler. At most about twice the cluster's
threads are queued at a time; finished runs are appended to the store
(``cellsim.run.store``) in batches. A task carries one run or, once runs prove short,
several (``TaskSizer``); a worker runs each with ``execute_run``: ``run_one`` of
``cellsim.run.single``, its trajectories subsampled, and any exception returned as an
error record, so one failing run never stops the sweep. The local process pool
(``cellsim.run.local``) is this executor's counterpart for scenarios run on this machine.
"""

from __future__ import annotations

import logging
import math
import os
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd

from cellsim.config.plan import RunSpec
from cellsim.config.sweep import SweepPlan, point_id
from cellsim.io import OutputError
from cellsim.run.errors import RunsFailed
from cellsim.run.single import run_one
from cellsim.run.store import Batch, SpecList, SweepStore

THREAD_ENV: dict[str, str] = {
    "NUMBA_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}
"""Set in every worker before it imports Numba or NumPy: one run per core, no oversubscription."""


# --------------------------------------------------------------------------------------
# one run, on a worker
# --------------------------------------------------------------------------------------


def subsample_trajectories(traj: pd.DataFrame, interval_days: float | None) -> pd.DataFrame:
    """Keep, per tissue, the first record at or after each multiple of ``interval_days``
    (counted from the first record) and the last record; all of them when None."""
    if interval_days is None or traj.empty:
        return traj
    keep = np.zeros(len(traj), dtype=bool)
    days = traj["day"].to_numpy(dtype=float)
    groups = traj["tissue"].to_numpy() if "tissue" in traj.columns else np.zeros(len(traj))
    for g in pd.unique(groups):
        idx = np.flatnonzero(groups == g)
        d = days[idx]
        bins = np.floor((d - d[0]) / interval_days + 1e-9)
        first = np.ones(len(idx), dtype=bool)
        first[1:] = bins[1:] != bins[:-1]
        first[-1] = True
        keep[idx[first]] = True
    return traj[keep].reset_index(drop=True)


def execute_run(
    spec: RunSpec, trajectory_interval_days: float | None, store_trajectories: bool
) -> dict[str, Any]:
    """Run one spec on a worker; an exception becomes an error record, never a raise."""
    try:
        result = run_one(spec)
    except Exception as exc:  # the sweep records the failure and goes on
        return {
            "run_id": spec.run_id,
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
            "traceback": traceback.format_exc(),
        }
    traj = None
    if store_trajectories:
        traj = subsample_trajectories(result.trajectories, trajectory_interval_days)
    return {"run_id": spec.run_id, "ok": True, "row": result.row, "trajectories": traj}


def execute_batch(
    specs: list[RunSpec], trajectory_interval_days: float | None, store_trajectories: bool
) -> dict[str, Any]:
    """Run several specs one after the other on a worker (one Dask task); returns
    ``{"outcomes": [execute_run(...) per spec], "seconds": wall time of the batch}``.

    Small runs last milliseconds; carrying many in one task spreads the scheduler's and the
    transfer's per-task cost over all of them, and the compiled kernels stay loaded.
    """
    t0 = time.perf_counter()
    outcomes = [execute_run(s, trajectory_interval_days, store_trajectories) for s in specs]
    return {"outcomes": outcomes, "seconds": time.perf_counter() - t0}


class TaskSizer:
    """How many runs one Dask task carries.

    The first tasks carry one run each; from the worker's measured seconds per run, later
    tasks carry enough runs to last about ``target_task_seconds`` (so the per-task cost of
    scheduling and transfer, some milliseconds, is a small fraction of the task), but no
    more than a ``1 / (balance x threads)`` share of the runs still to submit (so all
    workers stay busy to the end) and no more than ``max_runs``.
    """

    def __init__(
        self, target_task_seconds: float = 2.0, balance: int = 4, max_runs: int = 512
    ) -> None:
        self.target_task_seconds = target_task_seconds
        self.balance = balance
        self.max_runs = max_runs
        self.seconds_per_run: float | None = None
        """Running mean of one run's wall time on a worker (None until a task returns)."""
        self._runs = 0
        self._seconds = 0.0

    def observe(self, n_runs: int, seconds: float) -> None:
        """Account a finished task of ``n_runs`` runs that took ``seconds`` on its worker."""
        if n_runs <= 0:
            return
        self._runs += n_runs
        self._seconds += max(0.0, seconds)
        self.seconds_per_run = self._seconds / self._runs

    def size(self, remaining: int, threads: int) -> int:
        """Runs for the next task, with ``remaining`` runs not yet submitted."""
        if self.seconds_per_run is None or remaining <= 1:
            return 1
        by_time = int(self.target_task_seconds / max(self.seconds_per_run, 1e-6))
        by_balance = remaining // (self.balance * max(1, threads))
        return max(1, min(by_time, by_balance, self.max_runs))


def worker_info() -> dict[str, Any]:
    """What a worker reports about its thread pinning (stored in the manifest)."""
    import dask
    import numba

    return {
        "pid": os.getpid(),
        "env": {k: os.environ.get(k) for k in THREAD_ENV},
        "numba_num_threads": int(numba.config.NUMBA_NUM_THREADS),
        "profiler": bool(dask.config.get("distributed.worker.profile.enabled", True)),
    }


try:  # a plugin class needs distributed at import; workers always have it
    from distributed import WorkerPlugin
except ImportError:  # pragma: no cover
    WorkerPlugin = object  # type: ignore[assignment,misc]


class PinThreads(WorkerPlugin):  # type: ignore[misc]
    """Set THREAD_ENV on every worker (also ones that join later) before its first task.

    Effective for libraries imported after it runs (a worker imports cellsim, hence Numba,
    with its first task); export the variables before ``dask worker`` to be sure.
    """

    name = "cellsim-pin-threads"

    def setup(self, worker: Any) -> None:
        os.environ.update(THREAD_ENV)


# --------------------------------------------------------------------------------------
# the cluster
# --------------------------------------------------------------------------------------


def default_workers() -> int:
    """The CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


def _probe(address: str) -> None:
    """Fail fast (one line) when nothing listens at a ``tcp://host:port`` address."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or parts.hostname is None:
        return  # tls://, inproc://, ...: let distributed report
    try:
        port = parts.port or 8786
        with socket.create_connection((parts.hostname, port), timeout=10):
            pass
    except (OSError, ValueError) as exc:
        raise OutputError(f"--scheduler = {address!r}: cannot connect: {exc}") from None


@contextmanager
def dask_client(
    workers: int | None = None, scheduler: str | None = None
) -> Iterator[tuple[Any, str]]:
    """A Dask client: on a new LocalCluster of ``workers`` processes (1 thread each, thread
    env pinned before they start), or connected to the scheduler at ``scheduler``."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        _probe(scheduler)
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise OutputError(
                f"--scheduler = {scheduler!r}: cannot connect: {exc}".splitlines()[0]
            ) from None
        try:
            client.register_plugin(PinThreads())
            yield client, f"scheduler {scheduler}"
        finally:
            client.close()
        return
    n = workers or default_workers()
    pre_spawn = dict(dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {})
    pre_spawn.update(THREAD_ENV)
    settings = {
        "distributed.nanny.pre-spawn-environ": pre_spawn,
        # the statistical profiler only feeds the dashboard; its history grows with time
        # (~0.2 MB/s per busy worker, up to an hour of samples): off for sweeps
        "distributed.worker.profile.enabled": False,
    }
    with dask.config.set(settings):
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            env=dict(THREAD_ENV),
            host="127.0.0.1",
            dashboard_address=":0",
            # CRITICAL: a worker's heartbeat that races the cluster's shutdown logs an
            # ERROR with a traceback after every run had finished; a run's own failure
            # comes back through its future and is reported by cellsim, one line
            silence_logs=logging.CRITICAL,
        )
    try:
        client = Client(cluster)
        try:
            client.register_plugin(PinThreads())
            yield client, f"local cluster of {n} worker process(es)"
        finally:
            client.close()
    finally:
        cluster.close()


@contextmanager
def client_for(
    client: Any = None, workers: int | None = None, scheduler: str | None = None
) -> Iterator[tuple[Any, str]]:
    """``(client, where)``: the given client (threads pinned on its workers), else a new one
    of ``dask_client(workers, scheduler)``; ``where`` says what it runs on."""
    if client is not None:
        client.register_plugin(PinThreads())
        yield client, "the given client"
        return
    with dask_client(workers=workers, scheduler=scheduler) as pair:
        yield pair


def connected_workers(client: Any, where: str, say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Wait for a first worker (telling ``say``), then each worker's ``worker_info`` with its
    ``address``, sorted by address."""
    if not client.nthreads():
        say(f"waiting for workers to join {where} ...")
        client.wait_for_workers(1)
    info = client.run(worker_info)
    return [{"address": a, **v} for a, v in sorted(info.items())]


# --------------------------------------------------------------------------------------
# the runs of a plan
# --------------------------------------------------------------------------------------


def _identity(plan: SweepPlan | SpecList, point: int, replicate: int) -> dict[str, Any]:
    """The identity columns of a run's failure record: a sweep's point and overrides, or a
    listed spec's arm and replicate."""
    if isinstance(plan, SpecList):
        return plan.identity(point, replicate)
    return {
        "run_id": plan.run_id(point, replicate),
        "arm": point_id(point),
        "replicate": replicate,
        "point": point,
        **plan.overrides(point),
    }


def _trajectory_settings(plan: SweepPlan | SpecList) -> tuple[float | None, bool]:
    """``(trajectory_interval_days, store_trajectories)`` of a sweep plan or a spec list."""
    settings = plan if isinstance(plan, SpecList) else plan.sweep
    return settings.trajectory_interval_days, settings.store_trajectories


class _Queue:
    """The plan's runs submitted as tasks of one or more runs (``TaskSizer``) through a
    bounded window: about twice the cluster's threads in tasks queued at a time, so
    millions of runs never sit on the scheduler at once."""

    def __init__(
        self,
        client: Any,
        plan: SweepPlan | SpecList,
        todo: list[tuple[int, int]],
        sizer: TaskSizer,
    ) -> None:
        from distributed import as_completed

        self.client = client
        self.plan = plan
        self.pending = list(reversed(todo))
        """Runs not yet submitted, the next one last."""
        self.sizer = sizer
        self.which: dict[str, list[tuple[int, int]]] = {}
        """(point, replicate) of each submitted task's runs, by key."""
        self.finished = as_completed()
        self._threads = 2
        self._threads_at = -math.inf

    def threads(self) -> int:
        """The cluster's threads (rechecked every 5 s)."""
        if time.monotonic() - self._threads_at > 5.0:
            self._threads = max(1, sum(self.client.nthreads().values()))
            self._threads_at = time.monotonic()
        return self._threads

    def top_up(self) -> None:
        """Submit pending runs until the window is full (or none are left)."""
        threads = self.threads()
        room = max(4, 2 * threads) - self.finished.count()
        for _ in range(max(0, room)):
            if not self.pending:
                return
            n = self.sizer.size(len(self.pending), threads)
            runs = [self.pending.pop() for _ in range(min(n, len(self.pending)))]
            fut = self.client.submit(
                execute_batch,
                [self.plan.spec(point, rep) for point, rep in runs],
                *_trajectory_settings(self.plan),
                pure=False,
            )
            self.which[fut.key] = runs
            self.finished.add(fut)


def _outcomes(fut: Any, run_ids: list[str]) -> tuple[list[dict[str, Any]], float | None]:
    """What ``execute_batch`` returned (its outcomes and seconds), or one error record per
    run when the task itself failed (a worker died running it, ...); a cancelled task
    (scheduler lost) ends the sweep."""
    if fut.status == "finished":
        out = fut.result()
        return out["outcomes"], out["seconds"]
    if fut.status == "cancelled":
        raise RunsFailed(
            f"Dask cancelled run {run_ids[0]} (scheduler lost?); the stored runs are kept: "
            "rerun the same command to resume"
        )
    exc = fut.exception()
    error = {
        "ok": False,
        "error": f"{type(exc).__name__}: {exc}".splitlines()[0],
        "traceback": "".join(traceback.format_exception(exc)),
    }
    return [error] * len(run_ids), None


def execute_plan(
    client: Any,
    plan: SweepPlan | SpecList,
    todo: list[tuple[int, int]],
    store: SweepStore,
    *,
    flush_runs: int,
    flush_seconds: float,
    on_done: Callable[[bool, tuple[str, str] | None], None],
    sizer: TaskSizer | None = None,
) -> None:
    """Run the ``(point, replicate)`` runs of ``todo`` (of a sweep plan, or ``(i, 0)`` of a
    ``SpecList``: a scenario's runs) on ``client``'s cluster, several per
    task when they are short (``sizer``, a new ``TaskSizer`` by default), and append them
    to ``store`` in batches of ``flush_runs`` runs or every ``flush_seconds``, whichever
    comes first (and what is left at the end, also after an error). ``on_done(ok, error)``
    is called once per finished run, ``error`` being ``(run_id, message)`` for a failure."""
    queue = _Queue(client, plan, todo, sizer or TaskSizer())
    queue.top_up()
    batch = Batch()
    try:
        for fut in queue.finished:
            runs = queue.which.pop(fut.key)
            run_ids = [plan.run_id(point, rep) for point, rep in runs]
            outs, seconds = _outcomes(fut, run_ids)
            fut.release()
            if seconds is not None:
                queue.sizer.observe(len(runs), seconds)
            queue.top_up()  # keep the workers fed before storing
            for (point, rep), run_id, out in zip(runs, run_ids, outs, strict=True):
                batch.add(out, _identity(plan, point, rep))
                on_done(out["ok"], None if out["ok"] else (run_id, out["error"]))
            if batch.due(flush_runs, flush_seconds):
                batch.flush(store)
    finally:
        if len(batch):
            batch.flush(store)
