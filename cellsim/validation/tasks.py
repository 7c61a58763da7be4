"""Independent simulation runs of the checks, on the project's local executor.

A task's seed depends on the settings' seed entropy and the task's name only, so results do
not depend on the worker count or the order tasks finish in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from cellsim.config.plan import stable_key
from cellsim.run.local import map_unordered

__all__ = ["Task", "run_tasks"]


@dataclass(frozen=True)
class Task:
    """One run: ``run(payload, seed)`` (a module-level function, so that it pickles)."""

    name: str
    run: Callable[[Any, np.random.SeedSequence], Any]
    payload: Any
    entropy: int

    def seed(self) -> np.random.SeedSequence:
        """The task's seed: the settings' entropy, spawned by the task's name."""
        return np.random.SeedSequence(self.entropy, spawn_key=(stable_key(self.name),))


def _run_task(task: Task) -> tuple[str, Any]:
    return task.name, task.run(task.payload, task.seed())


def run_tasks(
    tasks: Iterable[Task], workers: int = 1, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run tasks on the local executor (``cellsim.run.local``); results by task name, in
    the tasks' order whatever order they finish in (so tables built from them do not depend
    on the worker count). ``progress(name)`` is called as each task finishes."""
    tasks = list(tasks)
    done: dict[str, Any] = {}
    for name, res in map_unordered(_run_task, tasks, workers=workers):
        done[name] = res
        if progress:
            progress(name)
    return {t.name: done[t.name] for t in tasks}
