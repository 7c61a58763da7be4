"""The calibration file (TOML): its format and the models that validate it.

A calibration fits chosen parameters to observed data by approximate Bayesian computation
(ABC-SMC, pyabc): priors in, posterior samples out. The data are a cross-section of people
(one value and age per row, e.g. leukocyte telomere length by age); a simulated cohort has
the same ages. Top-level keys::

    name = "leukocyte_telomeres"
    seed = 16
    simulator = "agent"            # "agent": one cellsim run per particle; or
                                   # "linear_meanfield": the closed form below where it
                                   # holds, a cellsim run for the particles where it does not;
                                   # "hierarchy_meanfield": the same for a stem compartment
                                   # with a division clock and the pools it supplies
    scenario = "..." / arm = "..." / [base]   # the model, as in a sweep file
    set = { "hsc.n_cells" = 200 }  # fixed changes to that model for the calibration only

    [data]
    file = "data/aubert2012_leukocyte_telomeres.csv"   # relative to this file
    age_column = "age_years"
    value_column = "lymphocyte_kb"
    value_to_bp = 1000.0           # data values x this = base pairs
    min_age_years = 20.0           # rows outside [min, max] are left out
    max_age_years = 110.0

    [observable]
    tissue = "hsc_pool"            # default: the first tissue
    column = "telomere_mean_bp"    # its trajectory column, compared with the data values

    # or several, each with its data column (the same people, one row each):
    # [[observables]]
    # tissue = "lymphocytes"
    # value_column = "lymphocyte_kb"   # default: data.value_column

    [summary]                      # what is compared: per age bin, these statistics
    age_bins_years = [20, 30, 40, 50, 60, 70, 80, 90, 110]
    statistics = ["median", "sd"]  # any of mean, median, sd, p10, p90

    [abc]
    population_size = 200
    max_populations = 8            # generations (a rerun continues up to this many)
    min_acceptance_rate = 0.02     # stop when a generation accepts fewer
    epsilon_quantile = 0.5         # next epsilon: this quantile of the last distances
    distance = "adaptive"          # "adaptive" (pyabc's AdaptivePNormDistance, p = 2:
                                   # each statistic scaled by its spread) or "euclidean"
    posterior_predictive_draws = 40

    # or, instead of [abc], MCMC on a likelihood of the statistics (hierarchy_meanfield
    # only; cellsim/run/calibration_mcmc.py):
    # [mcmc]
    # walkers = 48
    # steps = 3000
    # burn_in_steps = 1000
    # thin = 10
    # start = { "hsc.telomere.initial_mean_bp" = 11100 }   # e.g. a direct fit's optimum

    [parameters]                   # priors (the distributions of sensitivity files)
    "hsc_pool.telomere.initial_mean_bp" = { distribution = "uniform", low = 6000, high = 10000 }
    "hsc_pool.telomere.loss_mean_bp" = { distribution = "uniform", low = 5, high = 80 }
    "cohort.between_person_sd_bp" = { distribution = "uniform", low = 200, high = 1500 }

The cohort: person ``i`` of age ``a_i`` has the value ``m(a_i) + d_i``, where ``m`` is the
simulated observable at that age (one run per particle; its trajectory, interpolated
between records) and ``d_i ~ Normal(0, cohort.between_person_sd_bp)`` the person's own
offset (people differ at birth: ~0.7 kb SD, docs/MODEL.md), the same offset for every
observable of that person. With several observables the statistics are named
``<value_column>:<statistic>_<lo>_<hi>``; a person without a value of one observable
does not enter its statistics. ``cohort.between_person_sd_bp``
is the one parameter that is not a model parameter; give it a prior or a fixed value
(``[cohort] between_person_sd_bp = 700``).

The linear mean field: in a well-mixed tissue of cell lifespan ``L`` whose cells lose
``l`` bp per division (net of telomerase), the mean telomere falls by ``2 l / L`` per day
(every death triggers one division, whose two daughters each lose ``l``), as long as no
cell reaches the critical length. Exact in expectation in that regime (and checked against
runs in tests/test_calibration.py), and microseconds instead of a run. It holds while no
cell senesces: no stress senescence, no transformation, and the mean telomere 3 SD (of the
cells' spread) above the critical length at every age; ``cellsim.run.calibration`` uses it
for the particles where it holds and a cellsim run for the others.
"""

from __future__ import annotations

import itertools
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from cellsim.config.sensitivity_file import Distribution
from cellsim.config.sweep_file import check_base_source
from cellsim.engine.params import MAX_SEED, ModelParams, _Strict, safe_name
from cellsim.engine.schema import check_trajectory_column

COHORT_SD = "cohort.between_person_sd_bp"


class DataSpec(_Strict):
    """Where the observed values are and how to read them."""

    file: str
    age_column: str = "age_years"
    value_column: str | None = None
    """The data column of the observable (or the default of each of ``[[observables]]``)."""
    value_to_bp: float = Field(1.0, gt=0)
    min_age_years: float = Field(0.0, ge=0)
    max_age_years: float = Field(200.0, gt=0)

    @model_validator(mode="after")
    def _ages(self) -> DataSpec:
        if self.max_age_years <= self.min_age_years:
            raise ValueError(
                f"max_age_years = {self.max_age_years} must exceed min_age_years = "
                f"{self.min_age_years}"
            )
        return self


class Observable(_Strict):
    """The simulated quantity compared with the data: a tissue's trajectory column."""

    tissue: str | None = None
    column: str = "telomere_mean_bp"
    value_column: str | None = None
    """Its data column (default: ``data.value_column``)."""

    @field_validator("column")
    @classmethod
    def _column(cls, value: str) -> str:
        return check_trajectory_column(value)


class Summary(_Strict):
    """The summary statistics: ``statistics`` of the values in each age bin."""

    age_bins_years: list[float] = Field(min_length=2)
    statistics: list[Literal["mean", "median", "sd", "p10", "p90"]] = Field(
        default_factory=lambda: ["median", "sd"], min_length=1
    )

    @field_validator("age_bins_years")
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"age_bins_years = {value}: must increase")
        return value


class ABCSettings(_Strict):
    """ABC-SMC settings (pyabc)."""

    population_size: int = Field(200, ge=10, le=100_000)
    max_populations: int = Field(8, ge=1, le=100)
    min_acceptance_rate: float = Field(0.02, ge=0.0, lt=1.0)
    min_epsilon: float = Field(0.0, ge=0.0)
    epsilon_quantile: float = Field(0.5, gt=0.0, lt=1.0)
    """Each generation's epsilon: this quantile of the last generation's distances
    (pyabc's QuantileEpsilon; smaller shrinks faster and costs more simulations)."""
    distance: Literal["adaptive", "euclidean"] = "adaptive"
    posterior_predictive_draws: int = Field(40, ge=2, le=10_000)


class MCMCSettings(_Strict):
    """MCMC on a likelihood of the summary statistics (``[mcmc]``, instead of ABC-SMC;
    ``cellsim.run.calibration_mcmc``): emcee's affine-invariant ensemble sampler."""

    walkers: int = Field(48, ge=4, le=10_000)
    """Walkers of the ensemble (at least twice the parameters)."""
    steps: int = Field(3000, ge=2, le=1_000_000)
    """Steps of each walker (a rerun with more continues the chain)."""
    burn_in_steps: int = Field(1000, ge=0, le=1_000_000)
    """Steps of each walker left out of the posterior (the chain's warm-up)."""
    thin: int = Field(10, ge=1, le=100_000)
    """Every how many steps a walker's position enters the posterior."""
    start: dict[str, float] = Field(default_factory=dict)
    """Where the walkers start: parameter -> value (e.g. a direct fit's optimum); a
    parameter left out starts at its prior's median."""
    start_spread: float = Field(0.01, gt=0.0, le=1.0)
    """The walkers' initial ball: Normal(start, this x the prior's central 98% width),
    folded into the prior's support."""
    people_per_person: int = Field(40, ge=1, le=10_000)
    """Simulated people per person of the data (the same standard normal offsets at every
    parameter value, so the likelihood is a smooth function of the parameters)."""
    bootstrap_resamples: int = Field(1000, ge=50, le=100_000)
    """Bootstrap resamples of the data giving each statistic's standard error."""
    checkpoint_steps: int = Field(100, ge=1, le=1_000_000)
    """Steps between saves of the chain (a killed run continues from the last save)."""
    posterior_predictive_draws: int = Field(100, ge=2, le=10_000)
    """Posterior draws simulated for the posterior-predictive check."""

    @model_validator(mode="after")
    def _burn_in(self) -> MCMCSettings:
        if self.burn_in_steps >= self.steps:
            raise ValueError(
                f"burn_in_steps = {self.burn_in_steps} must be fewer than steps = {self.steps}"
            )
        return self


class Cohort(_Strict):
    """Fixed cohort settings (instead of a prior on ``cohort.between_person_sd_bp``)."""

    between_person_sd_bp: float | None = Field(None, ge=0)


class Calibration(_Strict):
    """A validated calibration file (see the module doc)."""

    name: str = "calibration"
    description: str = ""
    seed: int = Field(0, ge=0, le=MAX_SEED)
    simulator: Literal["agent", "linear_meanfield", "hierarchy_meanfield"] = "agent"
    scenario: str | None = None
    arm: str | None = None
    base: ModelParams | None = None
    set: dict[str, Any] = Field(default_factory=dict)
    """Dotted parameter paths and fixed values applied to the model before calibrating
    (e.g. smaller samples for the particles that need a run)."""
    data: DataSpec
    observable: Observable | None = None
    observables: list[Observable] | None = Field(None, min_length=1)
    summary: Summary
    abc: ABCSettings = Field(default_factory=ABCSettings)
    mcmc: MCMCSettings | None = None
    """MCMC on a likelihood of the statistics instead of ABC-SMC (None: ABC)."""
    cohort: Cohort = Field(default_factory=Cohort)
    parameters: dict[str, Distribution] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return safe_name(value)

    @model_validator(mode="after")
    def _consistent(self) -> Calibration:
        check_base_source(self.scenario, self.arm, self.base)
        if self.observable is not None and self.observables is not None:
            raise ValueError("give [observable] or [[observables]], not both")
        columns = [o.value_column or self.data.value_column for o in self.series]
        if None in columns:
            raise ValueError(
                "data.value_column: missing (or give each observable its value_column)"
            )
        if len(set(columns)) < len(columns):
            raise ValueError(f"observables: value_column repeats ({', '.join(columns)})")
        fixed = self.cohort.between_person_sd_bp is not None
        if fixed and COHORT_SD in self.parameters:
            raise ValueError(
                f"{COHORT_SD} has a prior in [parameters] and a value in [cohort]: give one"
            )
        if not fixed and COHORT_SD not in self.parameters:
            raise ValueError(
                f"give {COHORT_SD!r} a prior in [parameters] or a value in [cohort] "
                "(between_person_sd_bp)"
            )
        others = [n for n in self.parameters if n.startswith("cohort.") and n != COHORT_SD]
        if others:
            raise ValueError(f"parameters: {others[0]!r}: the only cohort parameter is {COHORT_SD}")
        if len(self.parameters) == (0 if fixed else 1):
            raise ValueError("parameters: no model parameter to calibrate")
        if self.mcmc is not None:
            self._check_mcmc(self.mcmc)
        return self

    def _check_mcmc(self, mcmc: MCMCSettings) -> None:
        if "abc" in self.model_fields_set:
            raise ValueError("give [abc] or [mcmc], not both (the method is the table given)")
        if self.simulator != "hierarchy_meanfield":
            raise ValueError(
                f"[mcmc] needs simulator = 'hierarchy_meanfield' (a likelihood needs the "
                f"deterministic closed form; got {self.simulator!r})"
            )
        unknown = [k for k in mcmc.start if k not in self.parameters]
        if unknown:
            raise ValueError(f"mcmc.start: {unknown[0]!r} is not a calibrated parameter")
        if mcmc.walkers < 2 * len(self.parameters):
            raise ValueError(
                f"mcmc.walkers = {mcmc.walkers}: need at least 2 x {len(self.parameters)} "
                "parameters"
            )
        bad = [s for s in self.summary.statistics if s not in ("median", "p10", "p90", "mean")]
        if bad:
            raise ValueError(
                f"[mcmc]: summary statistic {bad[0]!r} has no likelihood here (median, p10, "
                "p90 or mean)"
            )
        for name, value in mcmc.start.items():
            d = self.parameters[name]
            low = d.low if d.low is not None else -float("inf")
            high = d.high if d.high is not None else float("inf")
            if not low <= value <= high:
                raise ValueError(
                    f"mcmc.start: {name} = {value:g} is outside its prior ({d.describe()})"
                )

    @property
    def series(self) -> list[Observable]:
        """The observables, each with its data column filled in."""
        obs = self.observables or [self.observable or Observable()]
        return [
            o.model_copy(update={"value_column": o.value_column or self.data.value_column})
            for o in obs
        ]

    @property
    def model_parameters(self) -> list[str]:
        """The calibrated parameters of the model (dotted paths), in file order."""
        return [n for n in self.parameters if n != COHORT_SD]
