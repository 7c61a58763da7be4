"""A sweep file -> a validated plan: the base parameters, the points and their runs.

The file's format and its models are in ``cellsim.config.sweep_file``; running a plan is
``cellsim.run.sweep.run_sweep``. Importing this module imports neither Numba nor Mesa.

How points are formed
---------------------
The grid is the cartesian product of the ``[parameters]`` entries, in file order, the last
entry varying fastest (``itertools.product``). A ``[sample]`` block draws ``n`` points in the
unit hypercube with ``scipy.stats.qmc`` (LatinHypercube or Sobol, seeded from ``seed``) and
maps each coordinate to its bounds: ``low + u (high - low)``, or log-uniformly for
``scale = "log"``, or to an integer in ``[low, high]`` for ``integer = true``. With both, every
grid point is combined with every sample point (grid outer, sample inner). Point ``i`` is the
i-th combination (``p00000``, ``p00001``, ...); every point gets ``replicates`` runs.

Seeds and run ids
-----------------
Run ``p00012/r003`` is replicate 3 of point 12; its generator is ``RunSpec``'s
``SeedSequence(seed, spawn_key=(stable_key("p00012"), 3))``: it depends on the run's id
only, so results are identical for any number of workers and any completion order. A plan
may name a stream per point instead (``SweepPlan.streams``, used by sensitivity studies
for common random numbers); the stream's name then takes the point id's place. Every
point is validated (``with_overrides``) before anything runs or is written.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from cellsim import __version__
from cellsim.config.plan import RunSpec
from cellsim.config.scenario import ScenarioError, load_scenario
from cellsim.config.sweep_file import MAX_POINTS, Sweep, SweepError
from cellsim.config.toml import format_validation_error, load_toml_model, quote_key
from cellsim.engine.params import (
    MAX_RUNS,
    ModelParams,
    value_at_path,
    with_overrides,
)

FORMAT_HINT = "see the format in cellsim/config/sweep_file.py"


@dataclass
class SweepPlan:
    """A loaded sweep: base parameters, the validated points and how to make their runs."""

    sweep: Sweep
    """The validated sweep file."""
    path: Path | None
    """The file it was read from; None for a plan built in memory."""
    base: ModelParams
    """The resolved base parameters that every point overrides."""
    points: pd.DataFrame
    """One row per point: ``point``, ``point_id``, then one column per parameter."""
    grid_parameters: list[str]
    """The parameters of the grid (``[parameters]``), dotted paths in file order."""
    sample_parameters: list[str]
    """The parameters of the space-filling sample (``[sample.bounds]``), dotted paths in
    file order."""
    streams: list[str] | None = None
    """Per point, the random-number stream its runs use (``RunSpec.stream``); None: each
    point its own (its id). Points that share a stream share random numbers."""

    @property
    def parameters(self) -> list[str]:
        """Every varied parameter, grid first, in file order."""
        return [*self.grid_parameters, *self.sample_parameters]

    @property
    def n_points(self) -> int:
        """Number of points."""
        return len(self.points)

    @property
    def n_runs(self) -> int:
        """Points x replicates."""
        return self.n_points * self.sweep.replicates

    def overrides(self, point: int) -> dict[str, Any]:
        """The dotted-path overrides of one point.

        Args:
            point: the point's number.
        """
        return {name: _python(self.points[name].iat[point]) for name in self.parameters}

    def run_id(self, point: int, replicate: int) -> str:
        """The id of a run, e.g. ``p00012/r003`` (same as ``RunSpec.run_id``).

        Args:
            point: the point's number.
            replicate: the replicate's number.
        """
        return f"{point_id(point)}/r{replicate:03d}"

    def spec(self, point: int, replicate: int) -> RunSpec:
        """The RunSpec of one run; its seed depends only on (point id, replicate).

        Args:
            point: the point's number.
            replicate: the replicate's number.
        """
        ov = self.overrides(point)
        return RunSpec(
            arm=point_id(point),
            replicate=replicate,
            params=with_overrides(self.base, ov),
            entropy=self.sweep.seed,
            extra={"point": point, **ov},
            stream=None if self.streams is None else self.streams[point],
        )

    def all_runs(self) -> Iterator[tuple[int, int]]:
        """(point, replicate) of every run, in run-id order."""
        for i in range(self.n_points):
            for r in range(self.sweep.replicates):
                yield i, r

    @property
    def fingerprint(self) -> str:
        """A hash of everything that determines the results (not name or description)."""
        payload = {
            "base": self.base.model_dump(mode="json"),
            "points": json.loads(self.points.to_json(orient="records", double_precision=15)),
            "parameters": self.parameters,
            "replicates": self.sweep.replicates,
            "seed": self.sweep.seed,
            "trajectory_interval_days": self.sweep.trajectory_interval_days,
            "store_trajectories": self.sweep.store_trajectories,
            "cellsim_version": __version__,
        }
        if self.streams is not None:
            payload["streams"] = self.streams
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def resolved(self) -> dict[str, Any]:
        """The resolved sweep for ``sweep.resolved.json``."""
        return {
            "sweep": self.sweep.model_dump(mode="json"),
            "sweep_file": None if self.path is None else str(self.path),
            "base_resolved": self.base.model_dump(mode="json"),
            "grid_parameters": self.grid_parameters,
            "sample_parameters": self.sample_parameters,
            "n_points": self.n_points,
            "replicates": self.sweep.replicates,
            "seed_entropy": self.sweep.seed,
            "fingerprint": self.fingerprint,
            "cellsim_version": __version__,
        }


def point_id(point: int) -> str:
    """The id of point ``i``: ``p00012``.

    Args:
        point: the point's number.

    Example:
        >>> from cellsim.config.sweep import point_id
        >>> point_id(12)
        'p00012'
    """
    return f"p{point:05d}"


def _python(value: Any) -> Any:
    """A numpy scalar as the plain Python value pydantic and JSON expect."""
    return value.item() if isinstance(value, np.generic) else value


def format_error(exc: ValidationError, prefix: str = "") -> str:
    """The first error of a ValidationError as one line (see ``format_validation_error``).

    Args:
        exc: the validation error.
        prefix: text put before it (where the value came from).

    Returns:
        One line naming the field, the value and what is allowed.
    """
    return format_validation_error(exc, prefix, unknown_hint=FORMAT_HINT)


def load_sweep(path: str | Path) -> SweepPlan:
    """Read, validate and expand a sweep file, or raise SweepError (one line).

    Args:
        path: the sweep file.

    Returns:
        The ``SweepPlan``: base parameters, validated points, how to make their runs.
    """
    path = Path(path)
    if not path.is_file():
        raise SweepError(f"sweep: file {str(path)!r} not found")
    sweep = load_toml_model(path, Sweep, SweepError, unknown_hint=FORMAT_HINT)
    try:
        return plan_sweep(sweep, path.parent, path)
    except SweepError as exc:
        raise SweepError(f"{path}: {exc}") from None


def plan_sweep(sweep: Sweep, folder: Path = Path("."), path: Path | None = None) -> SweepPlan:
    """Resolve the base (a scenario path is relative to ``folder``), expand the grid and
    sample, validate every point.

    Args:
        sweep: the validated sweep file.
        folder: the folder its relative paths start from.
        path: the file it was read from (recorded in the outputs).

    Returns:
        The ``SweepPlan``.
    """
    base = base_params(sweep.scenario, sweep.arm, sweep.base, folder)
    grid_names = list(sweep.parameters)
    sample_names = list(sweep.sample.bounds) if sweep.sample else []
    _check_parameters(sweep, base, [*grid_names, *sample_names])
    return SweepPlan(
        sweep=sweep,
        path=path,
        base=base,
        points=_points(sweep, base, grid_names, sample_names),
        grid_parameters=grid_names,
        sample_parameters=sample_names,
    )


def _check_parameters(sweep: Sweep, base: ModelParams, names: list[str]) -> None:
    """Every swept name is the dotted path of one parameter of ``base``; a range or bound
    needs a numeric one."""
    check_parameter_paths(
        base,
        names,
        section=lambda n: "parameters" if n in sweep.parameters else "sample.bounds",
        numeric=lambda n: n not in sweep.parameters or sweep.parameters[n].values is None,
    )


def check_parameter_paths(
    base: ModelParams,
    names: list[str],
    section: Callable[[str], str] = lambda _: "parameters",
    numeric: Callable[[str], bool] = lambda _: True,
) -> None:
    """Every name is the dotted path of one parameter of ``base`` (numeric where
    ``numeric(name)``); else SweepError naming ``section(name).name``. Sweeps, sensitivity
    studies and calibrations check their parameters here.

    Args:
        base: the base parameters.
        names: the dotted parameter paths.
        section: maps a name to the file section it came from, for the error.
        numeric: whether a name must be numeric (a range or a distribution).
    """
    dumped = base.model_dump()
    for name in names:
        where = f"{section(name)}.{quote_key(name)}"
        try:
            current = value_at_path(dumped, name)
        except (KeyError, IndexError, ValueError, TypeError):  # TypeError: a path into a number
            raise SweepError(
                f"{where}: unknown parameter {name!r} (a dotted path of "
                "cellsim.engine.params.with_overrides, e.g. 'tissue.lifespan_days' or "
                "'interventions.0.interval_days')"
            ) from None
        if isinstance(current, dict | list):
            raise SweepError(f"{where}: {name!r} is a group, not a single parameter")
        if numeric(name) and isinstance(current, bool | str):
            raise SweepError(
                f"{where}: {name!r} is {type(current).__name__} ({current!r}), not a number: "
                "a numeric range needs a numeric parameter (give values = [...] instead)"
            )


def _points(
    sweep: Sweep, base: ModelParams, grid_names: list[str], sample_names: list[str]
) -> pd.DataFrame:
    """One validated row per point: grid outer, sample inner (see the module doc)."""
    grid_values = [sweep.parameters[n].grid() for n in grid_names]
    sample_values = sweep.sample.draw(sweep.seed) if sweep.sample else {}
    n_grid = math.prod(len(v) for v in grid_values)
    n_sample = sweep.sample.n if sweep.sample else 1
    if n_grid * n_sample > MAX_POINTS:
        raise SweepError(
            f"points = {n_grid * n_sample}: at most {MAX_POINTS} points per sweep (split the sweep)"
        )
    n_runs = n_grid * n_sample * sweep.replicates
    if n_runs > MAX_RUNS:
        raise SweepError(
            f"runs = {n_grid * n_sample} points x {sweep.replicates} replicates = {n_runs}: "
            f"at most {MAX_RUNS} runs per sweep (split the sweep)"
        )
    combos: list[dict[str, Any]] = []
    for combo in itertools.product(*grid_values):
        for s in range(n_sample):
            ov = dict(zip(grid_names, combo, strict=True))
            ov.update({n: sample_values[n][s] for n in sample_names})
            combos.append(ov)
    return validated_points(base, [*grid_names, *sample_names], combos)


def validated_points(
    base: ModelParams, names: list[str], overrides: list[dict[str, Any]]
) -> pd.DataFrame:
    """One row per point (``point``, ``point_id``, then ``names`` as the validated
    parameters hold them) of the ``overrides`` of ``base``; the first invalid point raises
    SweepError naming it and its values."""
    rows: list[dict[str, Any]] = []
    for i, ov in enumerate(overrides):
        try:
            params = with_overrides(base, ov)
        except ValidationError as exc:
            desc = ", ".join(f"{k} = {v!r}" for k, v in ov.items())
            raise SweepError(f"point {point_id(i)} ({desc}): {format_error(exc)}") from None
        dumped = params.model_dump()
        rows.append(
            {"point": i, "point_id": point_id(i), **{n: value_at_path(dumped, n) for n in names}}
        )
    return pd.DataFrame.from_records(rows)


def base_params(
    scenario: str | None, arm: str | None, base: ModelParams | None, folder: Path
) -> ModelParams:
    """The base of a sweep, study or calibration: ``base`` (inline), a scenario file's
    base (path relative to ``folder``) or one of its (already resolved) arms, else the
    defaults.

    Args:
        scenario: a scenario file (relative to ``folder``), or None.
        arm: one of its arms (None: its base).
        base: inline base parameters, or None.
        folder: the folder of the file being read.

    Returns:
        The base ``ModelParams``.
    """
    if base is not None:
        return base
    if scenario is None:
        return ModelParams()
    scenario_path = Path(scenario)
    if not scenario_path.is_absolute():
        scenario_path = folder / scenario_path
    if not scenario_path.is_file():
        raise SweepError(f"scenario = {scenario!r}: file {str(scenario_path)!r} not found")
    try:
        loaded = load_scenario(scenario_path, with_posterior=False)
    except ScenarioError as exc:
        raise SweepError(f"scenario = {scenario!r}: {exc}") from None
    if arm is None:
        return loaded.base
    arms = loaded.arms_resolved
    if arm not in arms:
        raise SweepError(f"arm = {arm!r}: not an arm of {scenario!r} (arms: {', '.join(arms)})")
    return arms[arm]
