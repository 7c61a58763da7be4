"""A calibration file -> a validated plan: the base model, the data, the observed
statistics and the priors.

Everything a calibration can get wrong before it runs is checked here, each as one line:
the data file and its columns, the ages the runs must reach (``run.stop_at = "horizon"``
and a horizon past the oldest person), the calibrated parameters (dotted paths of the
base) and the model at the edges of every prior. Importing this module imports neither
Numba, Mesa nor pyabc.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from analysis.calibration import series_summaries
from cellsim import __version__
from cellsim.config.calibration_file import COHORT_SD, Calibration
from cellsim.config.scenario import ScenarioError
from cellsim.config.sweep import base_params, check_parameter_paths, format_error
from cellsim.config.sweep_file import SweepError
from cellsim.config.toml import load_toml_model
from cellsim.engine.params import ModelParams, with_overrides
from cellsim.engine.schema import DAYS_PER_YEAR

FORMAT_HINT = "see the format in cellsim/config/calibration_file.py"
EDGE_QUANTILES = (0.001, 0.5, 0.999)
"""Every prior is checked at these quantiles (all parameters together): the model must
accept them."""


class CalibrationError(ScenarioError):
    """A calibration file that cannot be used; the message is one line."""


@dataclass
class CalibrationPlan:
    """A loaded calibration: the file, its base model, the data and its statistics.

    ``tissues``, ``columns`` and ``names``: per observable, the simulated tissue, its
    trajectory column and the data column; ``values_bp``: people x observables (NaN where
    a person has no value of one)."""

    study: Calibration
    path: Path | None
    base: ModelParams
    tissues: list[str]
    columns: list[str]
    names: list[str]
    ages_years: np.ndarray
    values_bp: np.ndarray
    observed: dict[str, float]

    @property
    def fingerprint(self) -> str:
        """A hash of what determines the posterior (not name or description, nor how many
        generations to run or how many posterior-predictive draws to plot: raising
        ``abc.max_populations`` continues a finished calibration)."""
        exclude = {
            "name": True,
            "description": True,
            "abc": {"max_populations", "min_acceptance_rate", "posterior_predictive_draws"},
            "mcmc": {"steps", "burn_in_steps", "thin", "checkpoint_steps"},
        }
        if self.study.mcmc is None:  # an ABC calibration keeps the fingerprint it had
            exclude["mcmc"] = True
        payload = {
            "study": self.study.model_dump(mode="json", exclude=exclude),
            "base": self.base.model_dump(mode="json"),
            "observed": self.observed,
            "cellsim_version": __version__,
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_calibration(path: str | Path) -> CalibrationPlan:
    """Read and check a calibration file, or raise CalibrationError (one line)."""
    path = Path(path)
    if not path.is_file():
        raise CalibrationError(f"calibrate: file {str(path)!r} not found")
    study = load_toml_model(path, Calibration, CalibrationError, unknown_hint=FORMAT_HINT)
    try:
        return plan_calibration(study, path.parent, path)
    except (SweepError, CalibrationError) as exc:
        raise CalibrationError(f"{path}: {exc}") from None


def plan_calibration(
    study: Calibration, folder: Path = Path("."), path: Path | None = None
) -> CalibrationPlan:
    """Resolve the base and the data (paths relative to ``folder``) and check both."""
    base = base_params(study.scenario, study.arm, study.base, folder)
    if study.set:
        check_parameter_paths(
            base, list(study.set), section=lambda _: "set", numeric=lambda _: False
        )
        try:
            base = with_overrides(base, study.set)
        except ValidationError as exc:
            raise CalibrationError(format_error(exc, prefix="set: ")) from None
    check_parameter_paths(base, study.model_parameters)
    ages, values = read_data(study, folder)
    tissues = _observed_tissues(study, base)
    names = [o.value_column for o in study.series]
    _check_horizon(study, base, float(ages.max()))
    _check_priors(study, base)
    observed = series_summaries(
        ages, values, names, study.summary.age_bins_years, list(study.summary.statistics)
    )
    empty = [k for k, v in observed.items() if not np.isfinite(v)]
    if empty:
        raise CalibrationError(
            f"summary.age_bins_years: statistic {empty[0]!r} has too few people in the data "
            "(sd needs 2 per bin): merge or drop that bin"
        )
    columns = [o.column for o in study.series]
    return CalibrationPlan(study, path, base, tissues, columns, names, ages, values, observed)


def read_data(study: Calibration, folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Ages (years) and values (bp; people x observables, NaN where missing) of the data
    rows within the age range that have at least one value."""
    spec = study.data
    file = Path(spec.file)
    if not file.is_absolute():
        file = folder / file
    if not file.is_file():
        raise CalibrationError(f"data.file = {spec.file!r}: file {str(file)!r} not found")
    try:
        df = pd.read_csv(file)
    except (ValueError, UnicodeDecodeError, OSError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CalibrationError(f"data.file = {spec.file!r}: not a readable CSV ({msg})") from None
    wanted = [("data.age_column", spec.age_column)]
    given = study.observables or ([study.observable] if study.observable else [])
    for j, o in enumerate(study.series):
        own = j < len(given) and given[j] is not None and given[j].value_column is not None
        where = (f"observables[{j}]" if study.observables else "observable") if own else "data"
        wanted.append((f"{where}.value_column", o.value_column))
    for key, col in wanted:
        if col not in df.columns:
            raise CalibrationError(
                f"{key} = {col!r}: no such column (columns: {', '.join(map(str, df.columns))})"
            )
    ages = pd.to_numeric(df[spec.age_column], errors="coerce").to_numpy(dtype=float)
    values = np.column_stack(
        [
            pd.to_numeric(df[o.value_column], errors="coerce").to_numpy(dtype=float)
            for o in study.series
        ]
    )
    keep = np.isfinite(ages) & (ages >= spec.min_age_years) & (ages <= spec.max_age_years)
    keep &= np.isfinite(values).any(axis=1)
    for j, o in enumerate(study.series):
        n = int((keep & np.isfinite(values[:, j])).sum())
        if n < 10:
            raise CalibrationError(
                f"data: {n} rows with both {spec.age_column!r} and {o.value_column!r} at "
                f"ages {spec.min_age_years:g}-{spec.max_age_years:g}; need at least 10"
            )
    return ages[keep], values[keep] * spec.value_to_bp


def _observed_tissues(study: Calibration, base: ModelParams) -> list[str]:
    names = [t.name for t in base.tissues]
    tissues = []
    for o in study.series:
        tissue = o.tissue or names[0]
        if tissue not in names:
            raise CalibrationError(
                f"observable.tissue = {tissue!r}: not a tissue of the model (tissues: "
                f"{', '.join(names)})"
            )
        tissues.append(tissue)
    return tissues


def _check_horizon(study: Calibration, base: ModelParams, oldest_years: float) -> None:
    run = base.run
    start = run.start_age_days / DAYS_PER_YEAR
    end = (run.start_age_days + run.horizon_days) / DAYS_PER_YEAR
    if run.stop_at != "horizon":
        raise CalibrationError(
            f'run.stop_at = {run.stop_at!r}: a calibration needs "horizon" (every run must '
            f"reach the oldest person, {oldest_years:g} y)"
        )
    if end + 1e-9 < oldest_years or start > study.data.min_age_years + 1e-9:
        raise CalibrationError(
            f"run: the runs cover ages {start:g}-{end:g} y but the data span "
            f"{study.data.min_age_years:g}-{oldest_years:g} y (set run.start_age_days and "
            "run.horizon_days to cover them)"
        )


def _check_priors(study: Calibration, base: ModelParams) -> None:
    for q in EDGE_QUANTILES:
        ov: dict[str, Any] = {
            name: float(study.parameters[name].ppf(np.array(q))) for name in study.model_parameters
        }
        try:
            with_overrides(base, ov)
        except ValidationError as exc:
            desc = ", ".join(f"{k} = {v:g}" for k, v in ov.items())
            raise CalibrationError(
                f"parameters: the model refuses the priors' {q:g} quantile ({desc}): "
                f"{format_error(exc)}"
            ) from None
    sd = study.parameters.get(COHORT_SD)
    if sd is not None and float(sd.ppf(np.array(EDGE_QUANTILES[0]))) < 0:
        raise CalibrationError(f"parameters.{COHORT_SD}: the prior reaches below 0")
