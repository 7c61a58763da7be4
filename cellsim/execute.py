"""Run specs to results: one run, or many on a process pool (order-independent seeds)."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .kernels.layout import COUNTER_NAMES
from .model import AgingModel
from .params import DAYS_PER_YEAR, ModelParams
from .tissue import EVENTS


def stable_key(text: str) -> int:
    """A 64-bit integer from a name, the same on every machine and Python run (64 bits:
    two of a million names collide with probability ~3e-8)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")


@dataclass(frozen=True)
class RunSpec:
    """One run: an arm's parameters, its replicate number and the seed it derives from.

    The run's Generator comes from ``SeedSequence(entropy, spawn_key=(key(arm),
    replicate))``: it depends on the run's identity only, never on worker count or order.
    """

    arm: str
    replicate: int
    params: ModelParams
    entropy: int
    extra: dict[str, Any] = field(default_factory=dict)  # columns copied into the runs row

    @property
    def run_id(self) -> str:
        """A readable unique id: ``arm/r003``."""
        return f"{self.arm}/r{self.replicate:03d}"

    def seed_sequence(self) -> np.random.SeedSequence:
        """The run's own SeedSequence."""
        return np.random.SeedSequence(
            self.entropy, spawn_key=(stable_key(self.arm), self.replicate)
        )


@dataclass
class RunResult:
    """What one run returns: a ``runs`` row and its ``trajectories`` rows."""

    row: dict[str, Any]
    trajectories: pd.DataFrame


def run_one(spec: RunSpec, model_hook: Callable[[AgingModel], None] | None = None) -> RunResult:
    """Build and run the model of ``spec``; return its result (DESIGN.md's schema)."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(spec.seed_sequence())
    model = AgingModel(spec.params, rng=rng)
    if model_hook is not None:
        model_hook(model)
    model.run()
    wall = time.perf_counter() - t0
    traj = model.trajectories()
    traj.insert(0, "run_id", spec.run_id)
    traj.insert(1, "arm", spec.arm)
    traj.insert(2, "replicate", spec.replicate)
    return RunResult(row=runs_row(spec, model, wall), trajectories=traj)


def runs_row(spec: RunSpec, model: AgingModel, wall_seconds: float) -> dict[str, Any]:
    """The ``runs`` row of a finished model: event days (NaN = not reached by end_day)."""
    primary = model.primary
    row: dict[str, Any] = {
        "run_id": spec.run_id,
        "arm": spec.arm,
        "replicate": spec.replicate,
        "seed_entropy": str(spec.entropy),
        "spawn_key": f"{stable_key(spec.arm)},{spec.replicate}",
        **spec.extra,
        "tissue": primary.name,
        "n_cells": primary.params.n_cells,
        "start_day": model.params.run.start_age_days,
        "end_day": model.age_days,
        "horizon_day": model.end_day,
    }
    for e in EVENTS:
        d = primary.event_days[e]
        row[f"{e}_day"] = np.nan if d is None else d
    for i, name in enumerate(COUNTER_NAMES):
        row[f"{name}_total"] = int(primary.counters[i])
    row["divisions_per_cell"] = row["divisions_total"] / primary.params.n_cells
    for t in model.tissues[1:]:
        for e in EVENTS:
            d = t.event_days[e]
            row[f"{t.name}.{e}_day"] = np.nan if d is None else d
        for i, name in enumerate(COUNTER_NAMES):
            row[f"{t.name}.{name}_total"] = int(t.counters[i])
    row["wall_seconds"] = wall_seconds
    row["cellsim_version"] = __version__
    row["params_json"] = json.dumps(spec.params.model_dump(mode="json"), sort_keys=True)
    return row


def _run_safely(spec: RunSpec) -> tuple[RunSpec, RunResult | None, str | None]:
    try:
        return spec, run_one(spec), None
    except Exception as exc:  # a failing run is reported, the others go on
        return spec, None, f"{type(exc).__name__}: {exc}"


def run_many(
    specs: Iterable[RunSpec], workers: int = 1
) -> Iterator[tuple[RunSpec, RunResult | None, str | None]]:
    """Run specs, yielding ``(spec, result, error)`` as they finish.

    ``workers > 1`` uses that many forked processes (so that plain scripts need no
    ``__main__`` guard); each run's seed depends only on its spec, so the results are
    identical for any worker count and completion order.
    """
    specs = list(specs)
    if workers <= 1:
        for spec in specs:
            yield _run_safely(spec)
        return
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("fork")) as pool:
        futures = [pool.submit(_run_safely, s) for s in specs]
        for fut in as_completed(futures):
            yield fut.result()


def collect(
    results: Iterable[RunResult], arm_order: list[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Concatenate results into ``runs`` and ``trajectories`` tables, ordered by arm (in
    ``arm_order``, else by name) and replicate, whatever order the runs finished in."""
    rank = {a: i for i, a in enumerate(arm_order or [])}
    results = sorted(
        results,
        key=lambda r: (rank.get(r.row["arm"], len(rank)), r.row["arm"], r.row["replicate"]),
    )
    runs = pd.DataFrame.from_records([r.row for r in results])
    traj = pd.concat([r.trajectories for r in results], ignore_index=True)
    return runs, traj


def years(days: float) -> float:
    """Days to years (365.25 d)."""
    return days / DAYS_PER_YEAR
