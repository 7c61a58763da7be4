"""The local executor: independent tasks on a pool of forked processes.

Every command that runs many independent simulations on this machine (``cellsim run``,
``cellsim validate-biology``, scripts) goes through ``map_unordered``; the Dask executor
(``cellsim.run.dask``) is its counterpart for sweeps and clusters. Results never depend on
the worker count: each task carries its own seed.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> None:
    """Worker initializer: the kernel SIGKILLs this process when its parent dies, whatever
    killed the parent (SIGKILL included), so no worker outlives a killed command. Linux
    only (prctl); elsewhere the pool's own shutdown is all there is."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no usable libc
            pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


CPU_MULTIPLE = 4
"""``--workers`` is capped at this many processes per CPU (more only thrash)."""


def cap_workers(
    requested: int, n_tasks: int, say: Callable[[str], None] | None = None, what: str = "runs"
) -> int:
    """``requested`` capped by the number of tasks and by CPU_MULTIPLE x the CPU count;
    ``say`` gets a one-line notice when the cap applies."""
    cpus = os.cpu_count() or 1
    limit = max(1, min(n_tasks, CPU_MULTIPLE * cpus))
    if requested <= limit:
        return requested
    if say is not None:
        why = (
            f"{n_tasks} {what}"
            if n_tasks <= CPU_MULTIPLE * cpus
            else f"{CPU_MULTIPLE} x {cpus} CPUs"
        )
        say(f"--workers = {requested}: using {limit} ({why})")
    return limit


def map_unordered[T, R](
    func: Callable[[T], R], tasks: Iterable[T], workers: int = 1
) -> Iterator[R]:
    """``func(task)`` for every task, yielded as each finishes.

    ``workers <= 1`` runs in this process, in order; otherwise that many forked processes
    (fork, so that plain scripts need no ``__main__`` guard and compiled kernels are
    inherited). ``func`` must be a module-level function; an exception it raises ends the
    iteration (wrap it to report failures per task instead).
    """
    tasks = list(tasks)
    if workers <= 1:
        for task in tasks:
            yield func(task)
        return
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("fork"),
        initializer=die_with_parent,
        initargs=(os.getpid(),),
    ) as pool:
        futures = [pool.submit(func, t) for t in tasks]
        for fut in as_completed(futures):
            yield fut.result()
