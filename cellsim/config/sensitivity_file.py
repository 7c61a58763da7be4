"""The sensitivity-study file (TOML): its format and the models that validate it.

A sensitivity study asks which uncertain inputs drive an output (variance-based: how much
of the output's variance each input explains, alone and with the others). Top-level keys::

    name = "tissue_sobol"          # default: the file's stem
    description = "..."
    seed = 15                      # seeds the sample and every run (default 0)
    replicates = 1                 # runs per sample point; outputs are averaged over them
    method = "sobol"               # "sobol" (Saltelli sampling, Sobol indices) or "morris"
    n = 256                        # base sample size: sobol needs a power of 2 and makes
                                   # n (D + 2) points, n (2D + 2) with second_order; morris
                                   # makes n trajectories of D + 1 points
    second_order = false           # sobol: also the pairwise indices S2
    levels = 4                     # morris: grid levels
    outputs = ["exhaustion_age_years", "divisions_per_cell", "telomere_mean_bp@40y"]
    censored = "restricted"        # an event not reached by the run's end: "restricted"
                                   # (the output is min(age, end age), the restricted mean)
                                   # or "error" (stop and say how many were censored)
    bootstrap_resamples = 1000     # for the confidence intervals of the indices
    confidence_level = 0.95
    scenario = "../baseline.toml"  # base parameters, as in a sweep file: a scenario file
    arm = "fibroblast"             # (and one arm), or an inline [base], or the defaults
    trajectory_interval_days = 365.25

    [parameters]                   # the uncertain inputs, each with its distribution
    "tissue.telomere.loss_mean_bp" = { distribution = "uniform", low = 40, high = 100 }
    "tissue.lifespan_days" = { distribution = "loguniform", low = 30, high = 300 }
    "tissue.telomere.initial_mean_bp" = { distribution = "normal", mean = 10000, sd = 800 }
    "tissue.clearance.rate_per_day" = { distribution = "truncnormal", mean = 0.3, sd = 0.1,
                                        low = 0.0, high = 1.0 }

Outputs are per run, then averaged over a point's replicates:

- ``exhaustion_age_years``, ``failure_age_years``, ``neoplasia_age_years``: the primary
  tissue's event ages (the run's ``<event>_day`` / 365.25), subject to ``censored``;
- any numeric column of the runs table (``divisions_per_cell``, ``deaths_total``, ...);
- ``<column>@<age>y``: a trajectory column of the primary tissue (``telomere_mean_bp``,
  ``functional_fraction``, ...) at that organism age, the last record at or before it
  (needs ``run.stop_at = "horizon"`` and a horizon at or beyond the age, so every run
  reaches it).

``cellsim.config.sensitivity`` turns a validated file into a design (the sample) and a
sweep plan of its runs; ``cellsim.run.sensitivity`` runs and analyses it.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cellsim.config.distributions import Distribution
from cellsim.config.sweep_file import check_base_source
from cellsim.engine.params import MAX_DAYS, MAX_REPLICATES, MAX_SEED, ModelParams, _Strict
from cellsim.engine.params import safe_name as _safe_name
from cellsim.engine.schema import DAYS_PER_YEAR, EVENTS, RUN_COLUMNS, TRAJECTORY_COLUMNS

MAX_POINTS = 1_000_000

EVENT_OUTPUTS = {f"{e}_age_years": f"{e}_day" for e in EVENTS}
"""Event-age outputs and the runs-table column (days) each is read from."""
NON_NUMERIC_RUN_COLUMNS = {"tissue", "stop_reason"}
TRAJECTORY_OUTPUT = re.compile(r"^(?P<column>[a-z0-9_]+)@(?P<age>[0-9]+(\.[0-9]*)?)y$")


def check_output(name: str) -> None:
    """Raise ValueError (one line) unless ``name`` is a known output (module doc)."""
    if name in EVENT_OUTPUTS:
        return
    if name in RUN_COLUMNS and name not in NON_NUMERIC_RUN_COLUMNS:
        return
    m = TRAJECTORY_OUTPUT.match(name)
    if m and m["column"] in TRAJECTORY_COLUMNS and m["column"] not in ("day", "age_years"):
        return
    raise ValueError(
        f"outputs: {name!r} is not an output (allowed: {', '.join(EVENT_OUTPUTS)}, a numeric "
        "runs column such as 'divisions_per_cell', or a trajectory column at an age such as "
        "'telomere_mean_bp@40y')"
    )


def trajectory_output(name: str) -> tuple[str, float] | None:
    """``(column, age_years)`` of a trajectory output, None for other outputs."""
    m = TRAJECTORY_OUTPUT.match(name)
    return (m["column"], float(m["age"])) if m else None


class Sensitivity(_Strict):
    """A validated sensitivity-study file (see the module doc)."""

    name: str = "sensitivity"
    description: str = ""
    seed: int = Field(0, ge=0, le=MAX_SEED)
    replicates: int = Field(1, ge=1, le=MAX_REPLICATES)
    method: Literal["sobol", "morris"] = "sobol"
    n: int = Field(64, ge=2, le=1 << 20)
    second_order: bool = False
    levels: int = Field(4, ge=2, le=64)
    outputs: list[str] = Field(default_factory=lambda: ["exhaustion_age_years"], min_length=1)
    censored: Literal["restricted", "error"] = "restricted"
    bootstrap_resamples: int = Field(1000, ge=10, le=100_000)
    confidence_level: float = Field(0.95, gt=0.5, lt=1.0)
    scenario: str | None = None
    arm: str | None = None
    base: ModelParams | None = None
    parameters: dict[str, Distribution]
    trajectory_interval_days: float | None = Field(DAYS_PER_YEAR, gt=0, le=MAX_DAYS)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _safe_name(value)

    @field_validator("outputs")
    @classmethod
    def _outputs(cls, value: list[str]) -> list[str]:
        for name in value:
            check_output(name)
        if len(set(value)) < len(value):
            dup = next(v for v in value if value.count(v) > 1)
            raise ValueError(f"output {dup!r} is listed twice")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Sensitivity:
        check_base_source(self.scenario, self.arm, self.base)
        if len(self.parameters) < 2:
            raise ValueError(
                f"parameters: {len(self.parameters)} given; a sensitivity study needs at least 2"
            )
        if self.method == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"n = {self.n}: the Sobol sequence needs a power of 2 (e.g. 64, 256)")
        if self.method == "morris" and self.second_order:
            raise ValueError("second_order = true: only for method = 'sobol'")
        if self.n_points > MAX_POINTS:
            raise ValueError(
                f"n = {self.n}: the design would have {self.n_points} points, at most "
                f"{MAX_POINTS} (lower n)"
            )
        return self

    @property
    def n_points(self) -> int:
        """Points of the design: n (D + 2) Saltelli points, n (2D + 2) with second order,
        n (D + 1) for Morris."""
        d = len(self.parameters)
        if self.method == "morris":
            return self.n * (d + 1)
        return self.n * (2 * d + 2 if self.second_order else d + 2)

    @property
    def needs_trajectories(self) -> bool:
        """Whether an output is read from the trajectories."""
        return any(trajectory_output(o) for o in self.outputs)

    def settings(self) -> dict[str, Any]:
        """The analysis settings, for the report and the manifest."""
        return {
            "method": self.method,
            "n": self.n,
            "second_order": self.second_order,
            "levels": self.levels,
            "replicates": self.replicates,
            "censored": self.censored,
            "bootstrap_resamples": self.bootstrap_resamples,
            "confidence_level": self.confidence_level,
        }
