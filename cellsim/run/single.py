"""One run from its spec to its result (a ``runs`` row and its ``trajectories``), and many
on the local executor."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cellsim import __version__
from cellsim.config.plan import RunSpec
from cellsim.engine.model import AgingModel
from cellsim.engine.params import TissueParams
from cellsim.engine.schema import EVENTS
from cellsim.kernels.layout import COUNTER_NAMES
from cellsim.run.local import map_unordered


@dataclass
class RunResult:
    """What one run returns: a ``runs`` row and its ``trajectories`` rows."""

    row: dict[str, Any]
    trajectories: pd.DataFrame


def run_one(spec: RunSpec, model_hook: Callable[[AgingModel], None] | None = None) -> RunResult:
    """Build and run the model of ``spec``; return its result (``cellsim.engine.schema``)."""
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
    """The ``runs`` row of a finished model (``schema.run_columns``): event days are NaN
    when not reached by ``end_day``; ``stop_reason`` says which rule ended the run
    (``schema.STOP_REASONS``), so a run stopped at tissue failure is not read as one that
    ran to exhaustion."""
    primary = model.primary
    row: dict[str, Any] = {
        "run_id": spec.run_id,
        "arm": spec.arm,
        "replicate": spec.replicate,
        "seed_entropy": str(spec.entropy),
        "spawn_key": ",".join(str(k) for k in spec.spawn_key),
        **spec.extra,
        "tissue": primary.name,
        "n_cells": primary.params.n_cells,
        "start_day": model.params.run.start_age_days,
        "end_day": model.age_days,
        "horizon_day": model.end_day,
        "stop_reason": model.stop_reason,
        **failure_rules(primary.params),
    }
    for e in EVENTS:
        d = primary.event_days[e]
        row[f"{e}_day"] = np.nan if d is None else d
    for i, name in enumerate(COUNTER_NAMES):
        row[f"{name}_total"] = int(primary.counters[i])
    row["divisions_per_cell"] = row["divisions_total"] / primary.params.n_cells
    for t in (t for t in model.tissues if t is not primary):
        for name, value in failure_rules(t.params).items():
            row[f"{t.name}.{name}"] = value
        for e in EVENTS:
            d = t.event_days[e]
            row[f"{t.name}.{e}_day"] = np.nan if d is None else d
        for i, name in enumerate(COUNTER_NAMES):
            row[f"{t.name}.{name}_total"] = int(t.counters[i])
    row["wall_seconds"] = wall_seconds
    row["cellsim_version"] = __version__
    row["params_json"] = json.dumps(spec.params.model_dump(mode="json"), sort_keys=True)
    return row


def failure_rules(params: TissueParams) -> dict[str, float]:
    """A tissue's failure rules as ``runs`` columns (``schema.FAILURE_RULE_COLUMNS``)."""
    fail = params.failure
    return {
        "failure_functional_fraction_min": float(fail.functional_fraction_min),
        "failure_neoplasia_fraction": float(fail.neoplasia_fraction),
    }


def _run_safely(spec: RunSpec) -> tuple[RunSpec, RunResult | None, str | None]:
    try:
        return spec, run_one(spec), None
    except Exception as exc:  # a failing run is reported, the others go on
        return spec, None, f"{type(exc).__name__}: {exc}"


def run_many(
    specs: Iterable[RunSpec], workers: int = 1
) -> Iterator[tuple[RunSpec, RunResult | None, str | None]]:
    """Run specs on the local executor, yielding ``(spec, result, error)`` as they finish;
    a run that raises is reported with its error and the others go on. Each run's seed
    depends only on its spec, so results are identical for any worker count and order."""
    return map_unordered(_run_safely, specs, workers=workers)


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
