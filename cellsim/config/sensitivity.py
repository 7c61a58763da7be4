"""A sensitivity-study file -> a design (the sample) and the sweep plan of its runs.

The design is drawn in the unit hypercube by SALib (Saltelli's extension of the Sobol
sequence for ``method = "sobol"``, Morris trajectories for ``"morris"``), seeded from the
file's ``seed``, and each coordinate mapped through its input's inverse CDF
(``Distribution.ppf``). Sobol and Morris indices are estimated on the unit-cube sample
(``analysis.sensitivity``); they are indices of the inputs *with their distributions*,
because every point is the image of the unit sample under those quantile maps.

Design point ``i`` is sweep point ``p{i:05d}``: a study runs through the sweep executor
and store (``cellsim.run.sweep``), so it resumes after a kill and runs unchanged on a Dask
cluster.

Common random numbers: the points of one estimator unit (a Saltelli row: A, B and the
mixes between them; a Morris trajectory) share their runs' random numbers (stream
``g{unit:05d}``, ``SweepPlan.streams``). The estimators difference outputs within a unit,
so the model's own stochasticity cancels there instead of inflating every total index: an
input without effect gets exactly 0, and the noise shows as variance that no input
explains (1 - sum of S1). The ``noise_fraction`` of the report (replicates >= 2)
measures it directly. Importing this module imports neither Numba nor Mesa.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cellsim.config.scenario import ScenarioError
from cellsim.config.sensitivity_file import Sensitivity, trajectory_output
from cellsim.config.sweep import SweepPlan, base_params, check_parameter_paths, validated_points
from cellsim.config.sweep_file import RESERVED_COLUMNS, Sweep, SweepError
from cellsim.config.toml import load_toml_model
from cellsim.engine.params import MAX_RUNS, ModelParams
from cellsim.engine.schema import DAYS_PER_YEAR

FORMAT_HINT = "see the format in cellsim/config/sensitivity_file.py"


class SensitivityError(ScenarioError):
    """A sensitivity file that cannot be used; the message is one line."""


@dataclass
class Design:
    """The sample of a study: ``unit`` in [0, 1]^D (what the estimators read) and
    ``values`` (the inputs' values at those quantiles), one row per point."""

    names: list[str]
    """The inputs' parameter paths (dotted), in file order: the columns of ``unit`` and
    ``values``."""
    unit: np.ndarray
    """The sample in the unit cube, shape (points, inputs), each coordinate in [0, 1]."""
    values: np.ndarray
    """The inputs' values at those quantiles (``Distribution.ppf``), shape (points,
    inputs), each in its parameter's unit."""
    method: str
    """``sobol`` (Saltelli sample) or ``morris`` (Morris trajectories)."""
    second_order: bool = False
    """Sobol only: the sample also has the BA mixes, for the second-order indices."""
    levels: int = 4
    """Morris only: the number of grid levels per input."""

    @property
    def group_size(self) -> int:
        """Consecutive points that form one estimator unit: a Saltelli row (A, the AB
        mixes, [the BA mixes,] B: D + 2 or 2D + 2 points) or a Morris trajectory (D + 1)."""
        d = len(self.names)
        if self.method == "morris":
            return d + 1
        return 2 * d + 2 if self.second_order else d + 2


def make_design(study: Sensitivity) -> Design:
    """Draw the study's sample (SALib, seeded by ``study.seed``) and map it to values.

    Args:
        study: the validated study file.

    Returns:
        The ``Design`` (unit-cube sample and values, one row per point).
    """
    names = list(study.parameters)
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    if study.method == "sobol":
        from SALib.sample import sobol

        unit = sobol.sample(
            problem, study.n, calc_second_order=study.second_order, scramble=True, seed=study.seed
        )
    else:
        from SALib.sample import morris

        unit = morris.sample(problem, study.n, num_levels=study.levels, seed=study.seed)
    values = np.column_stack(
        [study.parameters[name].ppf(unit[:, j]) for j, name in enumerate(names)]
    )
    return Design(names, unit, values, study.method, study.second_order, study.levels)


@dataclass
class SensitivityPlan:
    """A loaded study: the file, its design and the sweep plan that runs the design."""

    study: Sensitivity
    """The validated study file."""
    design: Design
    """The sample drawn from it (unit cube and values)."""
    sweep: SweepPlan
    """The sweep plan whose point ``i`` is design point ``i``."""


def load_sensitivity(path: str | Path) -> SensitivityPlan:
    """Read, validate and expand a sensitivity file, or raise SensitivityError (one line).

    Args:
        path: the study file.

    Returns:
        The ``SensitivityPlan``: the study, its design and the sweep plan of its runs.
    """
    path = Path(path)
    if not path.is_file():
        raise SensitivityError(f"sensitivity: file {str(path)!r} not found")
    study = load_toml_model(path, Sensitivity, SensitivityError, unknown_hint=FORMAT_HINT)
    try:
        return plan_sensitivity(study, path.parent, path)
    except (SweepError, SensitivityError) as exc:
        raise SensitivityError(f"{path}: {exc}") from None


def plan_sensitivity(
    study: Sensitivity, folder: Path = Path("."), path: Path | None = None
) -> SensitivityPlan:
    """Resolve the base, check parameters and outputs against it, draw the design and
    validate every point.

    Args:
        study: the validated study file.
        folder: the folder its relative paths start from.
        path: the file it was read from (recorded in the outputs).

    Returns:
        The ``SensitivityPlan``.
    """
    sweep = Sweep.model_construct(
        name=study.name,
        description=study.description,
        seed=study.seed,
        replicates=study.replicates,
        scenario=study.scenario,
        arm=study.arm,
        base=study.base,
        parameters={},
        sample=None,
        trajectory_interval_days=study.trajectory_interval_days,
        store_trajectories=study.needs_trajectories,
    )
    base = base_params(study.scenario, study.arm, study.base, folder)
    names = list(study.parameters)
    for name in names:
        if name in RESERVED_COLUMNS:
            raise SensitivityError(
                f"parameters: {name!r} would clash with the result column of that name: use "
                "its dotted path (e.g. 'tissue.n_cells')"
            )
    check_parameter_paths(base, names)
    _check_trajectory_outputs(study, base)
    design = make_design(study)
    n_runs = len(design.values) * study.replicates
    if n_runs > MAX_RUNS:
        raise SensitivityError(
            f"runs = {len(design.values)} points x {study.replicates} replicates = {n_runs}: "
            f"at most {MAX_RUNS} (lower n or replicates)"
        )
    rows = [dict(zip(names, (v.item() for v in row), strict=True)) for row in design.values]
    points = validated_points(base, names, rows)
    group = design.group_size
    plan = SweepPlan(
        sweep=sweep,
        path=path,
        base=base,
        points=points,
        grid_parameters=[],
        sample_parameters=names,
        streams=[f"g{i // group:05d}" for i in range(len(design.values))],
    )
    return SensitivityPlan(study=study, design=design, sweep=plan)


def _check_trajectory_outputs(study: Sensitivity, base: ModelParams) -> None:
    """A trajectory output at age A needs every run to reach A: ``stop_at = "horizon"``
    and a horizon at or beyond A."""
    for name in study.outputs:
        spec = trajectory_output(name)
        if spec is None:
            continue
        _, age_years = spec
        run = base.run
        end_years = (run.start_age_days + run.horizon_days) / DAYS_PER_YEAR
        if run.stop_at != "horizon":
            raise SensitivityError(
                f"outputs: {name!r} needs every run to reach age {age_years:g} y: set "
                f'run.stop_at = "horizon" in the base (it is {run.stop_at!r})'
            )
        if end_years + 1e-9 < age_years:
            raise SensitivityError(
                f"outputs: {name!r}: the runs end at age {end_years:g} y, before {age_years:g} y "
                "(raise run.horizon_days)"
            )
