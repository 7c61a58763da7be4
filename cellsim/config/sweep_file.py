"""The sweep file (TOML): its format and the models that validate it.

A sweep varies some parameters of one base parameter set; see
scenarios/sweeps/senolytic_schedule.toml for an annotated example. Top-level keys::

scenarios/sweeps/senolytic_schedule.toml for an annotated example. Top-level keys::

    name = "my_sweep"              # default: the file's stem
    description = "..."
    seed = 7                       # root entropy of the sweep's SeedSequence (default 0)
    replicates = 4                 # runs per point (default 4)
    scenario = "../baseline.toml"  # base parameters: a scenario file (path relative to
    arm = "fibroblast"             #   this file): its [base], or one arm's resolved
                                   #   parameters when `arm` is given; or instead ...
    [base]                         # ... an inline base, exactly like a scenario's [base]
    trajectory_interval_days = 365.25  # stored trajectories: one record per interval (the
                                       # first at or after each multiple) + the last one;
                                       # omit the key to keep the scenario's recording
    store_trajectories = true          # false: store the runs table only

    [parameters]                   # the grid: one entry per parameter, any of
    "tissue.lifespan_days" = [31.0, 140.0]                           # a list of values
    "run.stop_at" = { values = ["first_event", "all_events"] }      # the same, spelled out
    "interventions.0.efficacy_per_dose" = { start = 0.1, stop = 0.9, num = 5 }  # linspace
    "interventions.0.interval_days" = { start = 7, stop = 365, num = 6, scale = "log",
                                        integer = true }            # geomspace, rounded

    [sample]                       # space-filling sample (scipy.stats.qmc), optional
    method = "lhs"                 # "lhs" (Latin hypercube) or "sobol" (n a power of 2)
    n = 16                         # points in the sample
    scramble = true                # randomised (seeded from `seed`)
    [sample.bounds]
    "tissue.clearance.rate_per_day" = { low = 1e-4, high = 0.1, scale = "log" }
    "tissue.n_cells" = { low = 1000, high = 4000, integer = true }

Parameter names are the dotted paths of ``cellsim.engine.params.with_overrides``: ``run.*``, a
tissue's name or ``tissues.N`` then its fields (``tissue.telomere.loss_mean_bp``),
``interventions.N.*``, or a bare field name of the first tissue.

``cellsim.config.sweep`` expands a validated file into a plan of points and runs.
"""

from __future__ import annotations

import json
import math
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from cellsim.config.plan import stable_key
from cellsim.config.scenario import ScenarioError
from cellsim.engine.params import (
    MAX_DAYS,
    MAX_REPLICATES,
    MAX_SEED,
    ModelParams,
    _Strict,
    safe_name,
)
from cellsim.engine.schema import DAYS_PER_YEAR, RESERVED_RUN_COLUMNS

RESERVED_COLUMNS = RESERVED_RUN_COLUMNS | {"point", "point_id", "error", "traceback"}
"""Run columns and the sweep's own: no parameter column may take these names."""
MAX_POINTS = 1_000_000


class SweepError(ScenarioError):
    """A sweep file that cannot be used; the message is one line naming field and value."""


Scalar = float | int | str | bool


class Axis(_Strict):
    """One grid parameter: a list of ``values``, or ``num`` values from ``start`` to
    ``stop`` (inclusive), evenly spaced (``scale = "linear"``) or geometrically ("log"),
    rounded to whole numbers with ``integer = true``."""

    values: list[Scalar] | None = Field(None, min_length=1)
    start: float | None = None
    stop: float | None = None
    num: int | None = Field(None, ge=1, le=100_000)
    scale: Literal["linear", "log"] = "linear"
    integer: bool = False

    @model_validator(mode="before")
    @classmethod
    def _list_shorthand(cls, data: Any) -> Any:
        if isinstance(data, list):
            return {"values": data}
        if not isinstance(data, dict):
            raise ValueError(
                f"value {data!r}: give a list of values, {{ values = [...] }} or "
                "{ start = a, stop = b, num = n }"
            )
        return data

    @model_validator(mode="after")
    def _one_form(self) -> Axis:
        ranged = [self.start, self.stop, self.num]
        if self.values is not None:
            if any(v is not None for v in ranged):
                raise ValueError("give either values or start/stop/num, not both")
            if len({json.dumps(v) for v in self.values}) != len(self.values):
                raise ValueError(f"values {self.values!r} repeat a value")
            return self
        if any(v is None for v in ranged):
            raise ValueError("a range needs start, stop and num (or give values = [...])")
        if self.scale == "log" and (self.start <= 0 or self.stop <= 0):
            raise ValueError(
                f"scale = 'log' needs start and stop > 0, got start = {self.start:g}, "
                f"stop = {self.stop:g}"
            )
        values = self.grid()
        if len(set(values)) != len(values):
            raise ValueError(
                f"integer = true makes repeated values {values} from start = {self.start:g}, "
                f"stop = {self.stop:g}, num = {self.num}: use fewer points"
            )
        return self

    def grid(self) -> list[Scalar]:
        """The values of this axis, in order."""
        if self.values is not None:
            return list(self.values)
        assert self.start is not None and self.stop is not None and self.num is not None
        if self.scale == "log":
            raw = np.geomspace(self.start, self.stop, self.num)
        else:
            raw = np.linspace(self.start, self.stop, self.num)
        if self.integer:
            return [int(v) for v in np.round(raw)]
        return [float(v) for v in raw]


class Bound(_Strict):
    """The range of one sampled parameter."""

    low: float
    high: float
    scale: Literal["linear", "log"] = "linear"
    integer: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> Bound:
        if not self.low < self.high:
            raise ValueError(f"low = {self.low:g} must be below high = {self.high:g}")
        if self.scale == "log" and self.low <= 0:
            raise ValueError(f"scale = 'log' needs low > 0, got low = {self.low:g}")
        if self.integer and (self.low != int(self.low) or self.high != int(self.high)):
            raise ValueError(
                f"integer = true needs whole bounds, got low = {self.low:g}, high = {self.high:g}"
            )
        return self

    def scale_unit(self, u: np.ndarray) -> list[Scalar]:
        """Map unit-interval coordinates to values of this parameter."""
        if self.integer:
            lo, hi = int(self.low), int(self.high)
            return [int(v) for v in np.clip(lo + np.floor(u * (hi - lo + 1)), lo, hi)]
        if self.scale == "log":
            lo, hi = math.log(self.low), math.log(self.high)
            return [float(v) for v in np.exp(lo + u * (hi - lo))]
        return [float(v) for v in self.low + u * (self.high - self.low)]


class Sample(_Strict):
    """A space-filling sample of ``n`` points over ``bounds`` (scipy.stats.qmc)."""

    method: Literal["lhs", "sobol"] = "lhs"
    n: int = Field(ge=1, le=MAX_POINTS)
    scramble: bool = True
    optimization: Literal["random-cd", "lloyd"] | None = None
    bounds: dict[str, Bound] = Field(min_length=1)

    @model_validator(mode="after")
    def _sobol_power_of_two(self) -> Sample:
        if self.method == "sobol" and self.n & (self.n - 1):
            raise ValueError(f"n = {self.n}: method 'sobol' needs a power of 2 (e.g. 16, 32, 64)")
        return self

    def draw(self, seed: int) -> dict[str, list[Scalar]]:
        """The sample's values per parameter (same for the same seed and scipy)."""
        from scipy.stats import qmc

        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stable_key("sample"),)))
        d = len(self.bounds)
        if self.method == "sobol":
            engine = qmc.Sobol(d, scramble=self.scramble, optimization=self.optimization, rng=rng)
            unit = engine.random_base2(int(self.n).bit_length() - 1)
        else:
            engine = qmc.LatinHypercube(
                d, scramble=self.scramble, optimization=self.optimization, rng=rng
            )
            unit = engine.random(self.n)
        return {
            name: bound.scale_unit(unit[:, j])
            for j, (name, bound) in enumerate(self.bounds.items())
        }


def check_base_source(scenario: str | None, arm: str | None, base: ModelParams | None) -> None:
    """The base parameters come from one place: a scenario file (and maybe one of its
    arms), an inline [base], or the defaults; raise ValueError (one line) otherwise."""
    if scenario is not None and base is not None:
        raise ValueError(f"scenario = {scenario!r} and [base] both given: use one of them")
    if arm is not None and scenario is None:
        raise ValueError(f'arm = {arm!r} needs scenario = "path/to/scenario.toml"')


class Sweep(_Strict):
    """A validated sweep file (see the module doc)."""

    name: str = "sweep"
    description: str = ""
    seed: int = Field(0, ge=0, le=MAX_SEED)
    replicates: int = Field(4, ge=1, le=MAX_REPLICATES)
    scenario: str | None = None
    """A scenario file (relative to the sweep file) whose base parameters are swept."""
    arm: str | None = None
    """With ``scenario``: sweep around this arm's resolved parameters instead of its base."""
    base: ModelParams | None = None
    """Inline base parameters (like a scenario's [base]); default: ModelParams()."""
    parameters: dict[str, Axis] = Field(default_factory=dict)
    sample: Sample | None = None
    trajectory_interval_days: float | None = Field(DAYS_PER_YEAR, gt=0, le=MAX_DAYS)
    store_trajectories: bool = True

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return safe_name(value)

    @model_validator(mode="after")
    def _consistent(self) -> Sweep:
        check_base_source(self.scenario, self.arm, self.base)
        sampled = set(self.sample.bounds) if self.sample else set()
        if not self.parameters and not sampled:
            raise ValueError("nothing to sweep: add [parameters] or a [sample] block")
        both = sorted(set(self.parameters) & sampled)
        if both:
            raise ValueError(f"parameter {both[0]!r} is both in [parameters] and [sample.bounds]")
        for name in [*self.parameters, *sampled]:
            if name in RESERVED_COLUMNS:
                raise ValueError(
                    f"parameter {name!r} would clash with the result column of that name: "
                    "use its dotted path (e.g. 'tissue.n_cells')"
                )
        return self
