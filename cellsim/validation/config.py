"""The settings of `cellsim validate-biology`: scenarios/validation/validation.toml.

Each group of checks has its table (``[culture]``, ``[turnover]``, ``[blood]``,
``[blood_population]``, ``[body]``, ``[karin.convergence]``, ``[karin.insult]``) and a
reduced ``[*.quick]`` table that ``--quick`` applies.
"""

from __future__ import annotations

import itertools
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cellsim.engine.culture import CultureParams

__all__ = [
    "BloodCheckConfig",
    "BloodPopulationCheckConfig",
    "BodyCheckConfig",
    "CultureCheckConfig",
    "KarinCheckConfig",
    "TurnoverCheckConfig",
    "ValidationConfig",
    "ValidationConfigError",
    "load_config",
    "settings_folder",
]


class ValidationConfigError(ValueError):
    """An unusable validation settings file (one-line message)."""


class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CultureQuick(_Cfg):
    """``[culture.quick]``: what ``--quick`` reduces (unset: as in ``[culture]``)."""

    strain_initial_means_bp: list[float] | None = None
    replicates: int | None = Field(None, ge=1)
    dish_cells: int | None = Field(None, ge=4)
    sensitivity_losses_bp: list[float] | None = None


class CultureCheckConfig(_Cfg):
    """``[culture]``: the strain grid (initial mean telomeres, bp), replicates, the
    sensitivity strains (other losses per division, bp) and the culture's parameters."""

    strain_initial_means_bp: list[float] = Field(min_length=2)
    replicates: int = Field(3, ge=1)
    sensitivity_losses_bp: list[float] = Field(default_factory=list)
    sensitivity_initial_means_bp: list[float] = Field(default_factory=list)
    sensitivity_replicates: int = Field(1, ge=1)
    params: CultureParams = Field(default_factory=CultureParams)
    quick: CultureQuick = Field(default_factory=CultureQuick)


class TurnoverQuick(_Cfg):
    """``[turnover.quick]``: what ``--quick`` reduces."""

    sample_cells: int | None = Field(None, ge=10)
    deaths_per_tissue: int | None = Field(None, ge=10)
    steps_per_lifespan: int | None = Field(None, ge=2)


class TurnoverCheckConfig(_Cfg):
    """``[turnover]``: cells simulated per preset, deaths to observe per preset, steps per
    lifespan (the step is lifespan / steps, at most 1 day)."""

    sample_cells: int = Field(10_000, ge=10)
    deaths_per_tissue: int = Field(10_000, ge=10)
    steps_per_lifespan: int = Field(100, ge=2)
    quick: TurnoverQuick = Field(default_factory=TurnoverQuick)


class BloodQuick(_Cfg):
    """``[blood.quick]``: a shorter horizon (years) and a smaller sample (fraction)."""

    horizon_years: float | None = Field(None, gt=0)
    sample_scale: float | None = Field(None, gt=0, le=1)


class BloodCheckConfig(_Cfg):
    """``[blood]``: the scenario file (next to validation.toml) and the years after the
    start from which attrition is fitted."""

    scenario: str = "blood.toml"
    fit_from_year: float = Field(1.0, ge=0)
    quick: BloodQuick = Field(default_factory=BloodQuick)


class BloodPopulationQuick(_Cfg):
    """``[blood_population.quick]``: fewer posterior draws, families and people."""

    predictive_draws: int | None = Field(None, ge=1)
    families: int | None = Field(None, ge=1)
    people: int | None = Field(None, ge=1)
    clonal_people: int | None = Field(None, ge=1)


class BloodPopulationCheckConfig(_Cfg):
    """``[blood_population]``: the calibrated blood population (files next to
    validation.toml): its calibration and posterior (the posterior-predictive check
    against Aubert 2012), the telomere-syndrome families (``families`` chains), the
    people without a mutation (``people``, the control arm of the population scenario)
    and the HSC clonal structure (``clonal_people`` per arm of the clonal scenario)."""

    calibration: str = "../blood/calibration/calibration.toml"
    posterior: str = "../blood/calibration/posterior.parquet"
    population_scenario: str = "../blood/blood_population.toml"
    syndrome_scenario: str = "../blood/telomere_syndrome.toml"
    clonal_scenario: str = "../blood/clonal_drift.toml"
    clonal_people: int = Field(6, ge=1)
    """People per arm of the clonal scenario (20,000 HSCs each)."""
    polyclonal_age_years: float = Field(60.0, gt=0)
    polyclonal_clones_for_half_min: int = Field(100, ge=1)
    """Chosen: "polyclonal" = at least this many clones make up half of the HSCs."""
    oligoclonal_age_years: float = Field(80.0, gt=0)
    oligoclonal_clones_for_half_max: int = Field(30, ge=1)
    """Chosen: Mitchell's 12-18 clones holding 30-60% means half within a few tens."""
    predictive_draws: int | None = Field(None, ge=1)
    """Posterior draws in the predictive check (None: every draw of the posterior, so the
    check judges the posterior, not a random subset of it)."""
    families: int = Field(40, ge=1)
    anticipation_min_share: float = Field(0.25, gt=0, le=1)
    """Chosen: a generation's median age at marrow failure is judged when at least this
    share of the families reach that generation (a parent whose HSCs fail before the
    conception age has no child, so late generations can hold a handful of people)."""
    people: int = Field(600, ge=1)
    normal_failure_age_years: float = Field(100.0, gt=0)
    normal_failure_fraction_max: float = Field(0.01, ge=0, le=1)
    """Chosen: "a small fraction" of people without a mutation with marrow failure by
    ``normal_failure_age_years``."""
    quick: BloodPopulationQuick = Field(default_factory=BloodPopulationQuick)

    def reduced(self) -> BloodPopulationCheckConfig:
        """The ``--quick`` settings."""
        q = self.quick
        return self.model_copy(
            update={
                "predictive_draws": q.predictive_draws or self.predictive_draws,
                "families": q.families or self.families,
                "people": q.people or self.people,
                "clonal_people": q.clonal_people or self.clonal_people,
            }
        )


class BodyQuick(_Cfg):
    """``[body.quick]``: fewer people."""

    people: int | None = Field(None, ge=2)


class BodyCheckConfig(_Cfg):
    """``[body]``: the whole-body scenario (next to validation.toml), its control arm run
    for ``people`` people; the adult window (ages, years) over which the body's daily
    turnover is measured; the ages (years) at which the senescent burden is read, each as
    the mean of a person's records within ``burden_window_years`` around it."""

    scenario: str = "../body.toml"
    people: int = Field(6, ge=2)
    """People (replicates of the control arm); at least 2 for a spread between them."""
    turnover_from_age_years: float = Field(20.0, ge=0)
    turnover_to_age_years: float = Field(50.0, gt=0)
    """Chosen: adults, before any tissue gives out (the earliest failure or exhaustion of
    any tissue in the full run is near 57 years: hepatocytes, colon)."""
    burden_ages_years: list[Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: [20.0, 40.0, 60.0, 80.0], min_length=3
    )
    burden_window_years: float = Field(5.0, gt=0)
    """Chosen: a person's burden at an age is the mean of their (yearly) records in
    [age - w/2, age + w/2): a few hundred simulated cells stand for the body's 2.5e12, so
    one record holds a handful of senescent cells."""
    quick: BodyQuick = Field(default_factory=BodyQuick)

    @model_validator(mode="after")
    def _ordered(self) -> BodyCheckConfig:
        if self.turnover_to_age_years <= self.turnover_from_age_years:
            raise ValueError(
                f"turnover_to_age_years = {self.turnover_to_age_years:g} must exceed "
                f"turnover_from_age_years = {self.turnover_from_age_years:g}"
            )
        ages = self.burden_ages_years
        if any(b <= a for a, b in itertools.pairwise(ages)):
            raise ValueError(f"burden_ages_years = {ages} must be increasing")
        return self

    def reduced(self) -> BodyCheckConfig:
        """The ``--quick`` settings."""
        return self.model_copy(update={"people": self.quick.people or self.people})


class ConvergenceQuick(_Cfg):
    """``[karin.convergence.quick]``: what ``--quick`` reduces."""

    dt_days: list[Annotated[float, Field(gt=0)]] | None = None
    seeds: int | None = Field(None, ge=2)
    n_cells: int | None = Field(None, ge=100)
    horizon_years: float | None = Field(None, gt=0)


class ConvergenceCheckConfig(_Cfg):
    """``[karin.convergence]``: the step sizes (days), seeds and cells per step size, the
    horizon (years), extra runs (seeds, cells) over the first ``young_years``, the record
    interval (days), the window (years) whose records are averaged into one compared
    value, and the smallest senescent fraction compared."""

    dt_days: list[Annotated[float, Field(gt=0)]] = Field(
        default_factory=lambda: [1.0, 0.5, 0.25, 0.1], min_length=1
    )
    seeds: int = Field(4, ge=2)
    n_cells: int = Field(20_000, ge=100)
    horizon_years: float = Field(100.0, gt=0)
    young_seeds: int = Field(4, ge=0)
    young_n_cells: int = Field(80_000, ge=100)
    young_years: float = Field(6.0, gt=0)
    record_interval_days: float = Field(5.0, gt=0)
    window_years: float = Field(1.0, gt=0)
    min_fraction: float = Field(0.005, ge=0, lt=1)
    quick: ConvergenceQuick = Field(default_factory=ConvergenceQuick)


class InsultQuick(_Cfg):
    """``[karin.insult.quick]``: what ``--quick`` reduces."""

    seeds: int | None = Field(None, ge=3)
    n_cells: int | None = Field(None, ge=100)


class InsultCheckConfig(_Cfg):
    """``[karin.insult]``: the young and old ages of the insult (years), the fraction of
    cycling cells it makes senescent, pairs of runs (control and insult from one seed) and
    their cells, the step and record interval (days), the days simulated before the insult
    (from a tissue founded then) and after it."""

    ages_years: list[float] = Field(
        default_factory=lambda: [20.0, 70.0], min_length=2, max_length=2
    )
    fraction: float = Field(0.1, gt=0, lt=1)
    seeds: int = Field(25, ge=3)
    n_cells: int = Field(100_000, ge=100)
    dt_days: float = Field(1.0, gt=0)
    record_interval_days: float = Field(1.0, gt=0)
    warmup_days: float = Field(60.0, ge=0)
    follow_days: float = Field(30.0, gt=0)
    quick: InsultQuick = Field(default_factory=InsultQuick)

    @model_validator(mode="after")
    def _records_on_steps(self) -> InsultCheckConfig:
        steps = self.record_interval_days / self.dt_days
        if abs(steps - round(steps)) > 1e-9 or round(steps) < 1:
            raise ValueError(
                f"record_interval_days = {self.record_interval_days:g} must be a whole "
                f"number of steps of dt_days = {self.dt_days:g}"
            )
        return self


class KarinCheckConfig(_Cfg):
    """``[karin]``: the well-mixed tissue of Karin et al. 2019's saturating removal (rates
    from :mod:`cellsim.validation.published`; here only the chosen values) and its two
    checks."""

    lifespan_days: float = Field(140.0, gt=0)
    convergence: ConvergenceCheckConfig = Field(default_factory=ConvergenceCheckConfig)
    insult: InsultCheckConfig = Field(default_factory=InsultCheckConfig)

    def quick(self) -> KarinCheckConfig:
        """The reduced settings of ``--quick``."""
        c, i = self.convergence, self.insult
        cq, iq = c.quick, i.quick
        convergence = c.model_copy(
            update={
                "dt_days": cq.dt_days or c.dt_days,
                "seeds": cq.seeds or c.seeds,
                "n_cells": cq.n_cells or c.n_cells,
                "horizon_years": cq.horizon_years or c.horizon_years,
            }
        )
        insult = i.model_copy(
            update={"seeds": iq.seeds or i.seeds, "n_cells": iq.n_cells or i.n_cells}
        )
        return self.model_copy(update={"convergence": convergence, "insult": insult})


class ValidationConfig(_Cfg):
    """scenarios/validation/validation.toml."""

    seed: int = Field(0, ge=0)
    culture: CultureCheckConfig
    turnover: TurnoverCheckConfig = Field(default_factory=TurnoverCheckConfig)
    blood: BloodCheckConfig = Field(default_factory=BloodCheckConfig)
    blood_population: BloodPopulationCheckConfig = Field(default_factory=BloodPopulationCheckConfig)
    body: BodyCheckConfig = Field(default_factory=BodyCheckConfig)
    karin: KarinCheckConfig = Field(default_factory=KarinCheckConfig)
    folder: Path = Path(".")
    quick_mode: bool = False

    def quick(self) -> ValidationConfig:
        """The reduced settings of ``--quick``."""
        c, t, b = self.culture, self.turnover, self.blood
        cq, tq = c.quick, t.quick
        culture = c.model_copy(
            update={
                "strain_initial_means_bp": cq.strain_initial_means_bp or c.strain_initial_means_bp,
                "replicates": cq.replicates or c.replicates,
                "sensitivity_losses_bp": (
                    c.sensitivity_losses_bp
                    if cq.sensitivity_losses_bp is None
                    else cq.sensitivity_losses_bp
                ),
                "params": c.params.model_copy(
                    update={"dish_cells": cq.dish_cells or c.params.dish_cells}
                ),
            }
        )
        turnover = t.model_copy(
            update={
                "sample_cells": tq.sample_cells or t.sample_cells,
                "deaths_per_tissue": tq.deaths_per_tissue or t.deaths_per_tissue,
                "steps_per_lifespan": tq.steps_per_lifespan or t.steps_per_lifespan,
            }
        )
        return self.model_copy(
            update={
                "culture": culture,
                "turnover": turnover,
                "blood": b,
                "blood_population": self.blood_population.reduced(),
                "body": self.body.reduced(),
                "karin": self.karin.quick(),
                "quick_mode": True,
            }
        )


def settings_folder() -> Path:
    """scenarios/validation in the repository, else the copy shipped in the wheel."""
    from cellsim.config.scenario import BUILTIN_DIR, REPO_SCENARIOS

    for base in (REPO_SCENARIOS, BUILTIN_DIR):
        folder = base / "validation"
        if (folder / "validation.toml").is_file():
            return folder
    raise ValidationConfigError("scenarios/validation/validation.toml not found")


def load_config(path: str | Path | None = None, quick: bool = False) -> ValidationConfig:
    """Read and validate the settings (default: scenarios/validation/validation.toml)."""
    path = Path(path) if path is not None else settings_folder() / "validation.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValidationConfigError(f"{path}: {exc}") from None
    try:
        cfg = ValidationConfig.model_validate({**data, "folder": path.parent})
    except ValidationError as exc:
        from cellsim.config.scenario import format_validation_error

        raise ValidationConfigError(f"{path}: {format_validation_error(exc)}") from None
    return cfg.quick() if quick else cfg
