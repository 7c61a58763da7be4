"""Scenario files (TOML) -> validated arms x replicates -> RunSpecs.

A scenario holds base parameters, arms that override them, the number of replicates and
one seed; see scenarios/baseline.toml for the annotated format.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from cellsim.config.distributions import Distribution
from cellsim.config.plan import RunSpec, stable_key
from cellsim.config.toml import format_validation_error, load_toml_model, read_toml
from cellsim.engine.params import (
    DAYS_PER_YEAR,
    MAX_REPLICATES,
    MAX_RUNS,
    MAX_SEED,
    Intervention,
    ModelParams,
    _Strict,
    safe_name,
    value_at_path,
    with_overrides,
)
from cellsim.engine.schema import check_trajectory_column

BUILTIN_DIR = Path(__file__).resolve().parents[1] / "scenarios"
"""Scenarios shipped in the wheel (a copy of the repository's scenarios/ folder)."""
REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
DEFAULT_SCENARIO = "body"


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one line naming field and value."""


class Arm(_Strict):
    """One arm: a name, what it tests, and the parameters it changes from the base."""

    name: str = Field(min_length=1)
    """The arm's name (letters, digits, ``_ - + .``): a label in tables and figures."""
    description: str = ""
    """What the arm tests (shown in the report)."""
    set: dict[str, Any] = Field(default_factory=dict)
    """Dotted parameter paths and their values (see ``cellsim.engine.params.with_overrides``)."""
    interventions: list[Intervention] = Field(default_factory=list)
    """Interventions added to the base scenario's for this arm."""
    scale: dict[str, float] = Field(default_factory=dict)
    """Dotted parameter paths and factors applied to each run's own value, after its
    posterior and person draws (e.g. a carrier's telomerase activity: 0.5 of the
    person's calibrated value)."""

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return safe_name(value)

    @field_validator("scale")
    @classmethod
    def _finite_factors(cls, value: dict[str, float]) -> dict[str, float]:
        for path, factor in value.items():
            if not (np.isfinite(factor) and factor >= 0):
                raise ValueError(f"{path} = {factor!r}: a factor must be finite and >= 0")
        return value


class PopulationReport(_Strict):
    """What the report says about the people, per age (analysis/population.py)."""

    column: str = "telomere_mean_bp"
    """A trajectory column, summarised across people at each of ``ages_years``."""
    tissue: str | list[str] | None = None
    """Its tissue, or several, each reported (default: the primary tissue)."""
    event_tissue: str | None = None
    """The tissue whose exhaustion and failure are counted (default: the primary tissue)."""
    ages_years: list[float] = Field(default_factory=lambda: [20.0, 40.0, 60.0, 80.0, 100.0])
    """Ages (years) at which the column is summarised across people."""
    below: float | None = None
    """Report the fraction of people whose value is below this (in the column's units)."""
    event_ages_years: list[float] = Field(default_factory=lambda: [80.0, 100.0, 120.0, 150.0])
    """Ages at which the fraction of people past exhaustion and failure is reported."""

    @field_validator("column")
    @classmethod
    def _trajectory_column(cls, value: str) -> str:
        return check_trajectory_column(value)

    @field_validator("ages_years", "event_ages_years")
    @classmethod
    def _ages(cls, value: list[float]) -> list[float]:
        if not value or any(a < 0 or a > 200 for a in value):
            raise ValueError(f"{value}: give one or more ages between 0 and 200 years")
        return value


class PersonOffset(_Strict):
    """A person's own deviation from a parameter's value: person ``r`` gets the run's
    value (the arm's, or the posterior draw's) plus ``sd * z_r``, ``z_r ~ Normal(0, 1)``
    from the person's own stream (the same in every arm). The SD is a number (``sd``) or
    a column of the scenario's posterior (``sd_from_posterior``, e.g. a calibration's
    ``cohort.between_person_sd_bp``), read from the same posterior row as the run's
    other parameters, so that its uncertainty is carried too."""

    sd: float | None = Field(None, ge=0)
    """The SD of the person's deviation (in the parameter's units)."""
    sd_from_posterior: str | None = None
    """A posterior column holding that SD, per draw."""

    @model_validator(mode="after")
    def _one_sd(self) -> PersonOffset:
        if (self.sd is None) == (self.sd_from_posterior is None):
            raise ValueError("give sd or sd_from_posterior (one of them)")
        return self


class Population(_Strict):
    """People differ: each replicate is one person, who draws their own value of every
    parameter listed here (the same person in every arm)."""

    parameters: dict[str, Distribution] = Field(default_factory=dict)
    """Dotted parameter paths and their person-level distributions."""
    offsets: dict[str, PersonOffset] = Field(default_factory=dict)
    """Dotted parameter paths and each person's normal deviation from the run's value."""
    people_per_draw: int = Field(1, ge=1, le=MAX_REPLICATES)
    """With a posterior: people ``r`` with the same ``r // people_per_draw`` share one
    posterior draw (a population of that parameter set), so that the spread of the
    per-draw fractions carries the parameters' uncertainty (analysis/population.py,
    ``draw_fractions``); 1: every person draws their own."""
    report: PopulationReport = Field(default_factory=PopulationReport)
    """What the report says about the people."""


class BodyReport(_Strict):
    """How to read a model of many tissues as one body (analysis/body.py): which tissues'
    pools count for "the first tissue to run out", and the tissues of each group for the
    body's turnover (Sender & Milo 2021's blood, gut and skin shares). A tissue's sample
    stands for ``cells_in_body`` real cells (its scale factor)."""

    tissues: list[str] | None = Field(None, min_length=1)
    """The tissues among which the first to be exhausted, or to fail, is read (None:
    every tissue that is not a stem compartment)."""
    groups: dict[str, list[str]] = Field(default_factory=dict)
    """Group name (blood, gut, skin, ...) -> its tissues; a tissue in none is "other"."""


class Generations(_Strict):
    """A chain of generations (docs/MODEL.md, "Telomere syndromes"): person ``r`` of
    generation ``g + 1`` is the child of person ``r`` of generation ``g``, born with the
    telomere the parent's ``tissue`` had at ``conception_age_years`` (its ``column`` at
    the last record at or before that age, plus ``germline_restoration`` of the length
    the parent lost by then): that value replaces the child's parameter ``inherit``.
    Every arm runs its own chain; generation ``g`` of arm ``a`` is reported as the arm
    ``a_gen<g>``. A parent whose run ended before the conception age, or whose tissue has
    no value then (``telomere_mean_bp``: no cell left that can divide), has no child."""

    count: int = Field(3, ge=2, le=10)
    """Generations in each family (the founders are generation 1)."""
    conception_age_years: float = Field(28.0, gt=0, le=80)
    """The parent's age at the child's conception (chosen: a typical parental age)."""
    tissue: str
    """The parent's tissue whose telomere the child is born with (e.g. the HSCs)."""
    column: str = "telomere_mean_bp"
    """Its trajectory column read at the conception age."""
    inherit: str
    """The child's parameter set to the inherited value (a dotted path, e.g.
    ``hsc.telomere.initial_mean_bp``)."""
    germline_restoration: float = Field(0.0, ge=0, le=1)
    """Share of the parent's loss since birth that the germline restores before it is
    passed on: 0, the child starts where the parent's tissue is (the issue's model of a
    telomerase-haploinsufficient family: anticipation); 1, every generation starts where
    its parent started (a stable lineage)."""

    @field_validator("column")
    @classmethod
    def _trajectory_column(cls, value: str) -> str:
        return check_trajectory_column(value)


class Scenario(_Strict):
    """A validated scenario: base parameters, arms, replicates, seed.

    Validation also resolves every arm (``arms_resolved``), once: a bad override fails
    validation, and the runs and the written outputs use those same parameters.
    """

    name: str = "scenario"
    """The scenario's name: the default output folder, ``runs/<name>``."""
    description: str = ""
    """What the scenario asks (shown in the report)."""
    seed: int = Field(0, ge=0, le=MAX_SEED)
    """Root entropy of the scenario's SeedSequence."""
    replicates: int = Field(8, ge=1, le=MAX_REPLICATES)
    """Runs per arm (``--replicates`` overrides it)."""
    control: str | None = None
    """The arm the others are compared with (log-rank); default: the first arm."""
    base: ModelParams = Field(default_factory=ModelParams)
    """The parameters every arm starts from (``ModelParams``)."""
    arms: list[Arm] = Field(
        default_factory=lambda: [Arm(name="default")], min_length=1, max_length=1000
    )
    """The arms: each changes the base (``set``, ``interventions``, ``scale``)."""
    population: Population | None = None
    """Person-level variation: replicate ``r`` is person ``r``, with their own draws."""
    generations: Generations | None = None
    """A chain of generations: children born with their parent's telomeres."""
    body: BodyReport | None = None
    """Read the runs as whole bodies: the first tissue to run out, the body's senescent
    burden, turnover and divisions (analysis/body.py; the flagship scenario)."""
    posterior: str | None = None
    """A calibration's posterior.parquet (relative to the scenario file): replicate ``r``
    of every arm draws one parameter set from it, by weight, so that the results carry
    the parameters' uncertainty (``cohort.*`` columns are not model parameters: unused)."""
    _arms_resolved: dict[str, ModelParams] = PrivateAttr(default_factory=dict)
    _posterior: Any = PrivateAttr(default=None)
    _generations_expanded: bool = PrivateAttr(default=False)
    """Set by ``run.generations.expand``: the arms are already one per generation."""

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return safe_name(value)

    @field_validator("arms")
    @classmethod
    def _unique_arms(cls, arms: list[Arm]) -> list[Arm]:
        names = [a.name for a in arms]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"arm names must be unique; repeated: {', '.join(dup)}")
        return arms

    @model_validator(mode="after")
    def _control_is_an_arm(self) -> Scenario:
        if self.control is not None and self.control not in {a.name for a in self.arms}:
            raise ValueError(f"control {self.control!r} is not an arm")
        return self

    @model_validator(mode="after")
    def _runs_bounded(self) -> Scenario:
        n_runs = len(self.arms) * self.replicates
        if n_runs > MAX_RUNS:
            raise ValueError(
                f"runs = {len(self.arms)} arms x {self.replicates} replicates = {n_runs}: "
                f"at most {MAX_RUNS} runs per scenario"
            )
        return self

    @model_validator(mode="after")
    def _resolve_arms(self) -> Scenario:
        """Resolve every arm (again after an assignment, so they never go stale)."""
        resolved = {}
        for i, arm in enumerate(self.arms):
            try:
                resolved[arm.name] = self.arm_params(arm)
            except KeyError as exc:
                raise ValueError(
                    f"arms.{i}.set: unknown parameter {exc.args[0]!r} in arm {arm.name!r}"
                ) from None
            except ValidationError as exc:
                raise ValueError(
                    format_validation_error(exc, prefix=f"arms.{i}.set ({arm.name}): ")
                ) from None
            try:
                scaled(resolved[arm.name], arm.scale)
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                detail = (
                    format_validation_error(exc)
                    if isinstance(exc, ValidationError)
                    else f"unknown parameter {exc.args[0]!r}"
                )
                raise ValueError(f"arms.{i}.scale ({arm.name}): {detail}") from None
        self._arms_resolved = resolved
        return self

    @model_validator(mode="after")
    def _generations_valid(self) -> Scenario:
        gen = self.generations
        if gen is None:
            return self
        names = [t.name for t in self.base.tissues]
        if gen.tissue not in names:
            raise ValueError(
                f"generations.tissue = {gen.tissue!r}: not a tissue (tissues: {', '.join(names)})"
            )
        try:
            float(value_at_path(self.base.model_dump(), gen.inherit))
        except (KeyError, IndexError, ValueError, TypeError):
            raise ValueError(f"generations.inherit: unknown parameter {gen.inherit!r}") from None
        horizon_years = self.base.run.horizon_days / DAYS_PER_YEAR
        if gen.conception_age_years > horizon_years:
            raise ValueError(
                f"generations.conception_age_years = {gen.conception_age_years:g}: must not "
                f"exceed the horizon ({horizon_years:g} years)"
            )
        return self

    @model_validator(mode="after")
    def _body_valid(self) -> Scenario:
        """The body's tissues and groups name tissues of the base."""
        if self.body is None:
            return self
        names = [t.name for t in self.base.tissues]
        named = [("body.tissues", t) for t in self.body.tissues or []] + [
            (f"body.groups.{g}", t) for g, ts in self.body.groups.items() for t in ts
        ]
        for key, tissue in named:
            if tissue not in names:
                raise ValueError(f"{key}: {tissue!r} is not a tissue (tissues: {', '.join(names)})")
        return self

    @model_validator(mode="after")
    def _population_valid(self) -> Scenario:
        """Every arm accepts the population's distributions at their edges (the 0.001 and
        0.999 quantiles, all parameters together)."""
        if self.population is None:
            return self
        rep = self.population.report
        if self.population.people_per_draw > 1 and self.posterior is None:
            raise ValueError(
                f"population.people_per_draw = {self.population.people_per_draw}: needs a "
                "posterior (people share posterior draws)"
            )
        names = [t.name for t in self.base.tissues]
        tissues = [rep.tissue] if isinstance(rep.tissue, str) else rep.tissue or []
        for key, tissue in [("tissue", t) for t in tissues] + [("event_tissue", rep.event_tissue)]:
            if tissue is not None and tissue not in names:
                raise ValueError(
                    f"population.report.{key} = {tissue!r}: not a tissue (tissues: "
                    f"{', '.join(names)})"
                )
        for path, off in self.population.offsets.items():
            if path in self.population.parameters:
                raise ValueError(f"population.offsets: {path!r} is also in population.parameters")
            if off.sd_from_posterior is not None and self.posterior is None:
                raise ValueError(f"population.offsets.{path}.sd_from_posterior needs a posterior")
            try:
                float(value_at_path(self.base.model_dump(), path))
            except (KeyError, IndexError, ValueError, TypeError):
                raise ValueError(f"population.offsets: unknown parameter {path!r}") from None
        dists = self.population.parameters
        for q in (0.001, 0.5, 0.999):
            ov = {name: float(d.ppf(np.array(q))) for name, d in dists.items()}
            problem = self._refused(ov, f"at quantile {q:g}")
            if problem:
                raise ValueError(f"population.parameters: {problem}")
        return self

    def _refused(self, overrides: dict[str, float], what: str) -> str | None:
        """Why some arm refuses ``overrides`` (one line), or None when every arm takes them
        (with the arm's ``scale`` applied after them, as a run does)."""
        scales = {a.name: a.scale for a in self.arms}
        for arm, params in self._arms_resolved.items():
            try:
                scaled(with_overrides(params, overrides), scales.get(arm, {}))
            except KeyError as exc:
                return f"unknown parameter {exc.args[0]!r}"
            except ValidationError as exc:
                return format_validation_error(exc, prefix=f"{what}, arm {arm}: ")
        return None

    @property
    def control_arm(self) -> str:
        """Name of the control arm."""
        return self.control or self.arms[0].name

    @property
    def arms_resolved(self) -> Mapping[str, ModelParams]:
        """Every arm's full parameters, in arm order, resolved once at validation."""
        return MappingProxyType(self._arms_resolved)

    def arm_params(self, arm: Arm) -> ModelParams:
        """The base parameters with one arm's overrides and interventions, validated.

        Args:
            arm: one of this scenario's arms.

        Returns:
            The arm's full ``ModelParams``.
        """
        params = with_overrides(self.base, arm.set)
        if not arm.interventions:
            return params
        data = params.model_dump()
        data["interventions"] += [iv.model_dump() for iv in arm.interventions]
        return ModelParams.model_validate(data)

    def resolved(self) -> dict[str, ModelParams]:
        """Every arm's full parameters: a copy of ``arms_resolved`` (nothing is recomputed)."""
        return dict(self._arms_resolved)

    def run_specs(self, replicates: int | None = None) -> list[RunSpec]:
        """Arms x replicates as RunSpecs sharing the scenario's root seed. With a posterior
        (``posterior_draw``) and/or a population (``person_draw``), replicate ``r`` of every
        arm takes the same draws, recorded in its runs row.

        Args:
            replicates: replicates per arm (None: the file's).

        Returns:
            One ``RunSpec`` per run, arm by arm.
        """
        n = replicates or self.replicates
        draws: list[dict[str, Any]] = []
        for r in range(n):
            extra: dict[str, Any] = {}
            if self._posterior is not None:
                row, ov = self.posterior_draw(self.draw_of(r))
                extra.update({"posterior_row": row, **ov})
                if self.population is not None and self.population.people_per_draw > 1:
                    extra["posterior_draw"] = self.draw_of(r)
            if self.population is not None:
                extra.update(self.person_draw(r))
            draws.append(extra)
        specs = []
        scales = {a.name: a.scale for a in self.arms}
        for name, params in self.arms_resolved.items():
            for r in range(n):
                ov = {
                    k: v
                    for k, v in draws[r].items()
                    if k not in ("posterior_row", "posterior_draw")
                }
                if self.population is not None and self.population.offsets:
                    ov.update(self.offset_values(params, ov, r))
                run_params = with_overrides(params, ov) if ov else params
                extra = draws[r]
                if scales[name]:
                    run_params = scaled(run_params, scales[name])
                    dumped = run_params.model_dump()
                    extra = {**extra, **{k: value_at_path(dumped, k) for k in scales[name]}}
                specs.append(
                    RunSpec(
                        arm=name,
                        replicate=r,
                        params=run_params,
                        entropy=self.seed,
                        extra=extra,
                    )
                )
        return specs

    def person_draw(self, replicate: int) -> dict[str, float]:
        """Person ``replicate``'s values of the population parameters: each the inverse CDF
        of a uniform from the person's own stream of the scenario seed.

        Args:
            replicate: the person (replicate number).

        Returns:
            Dotted path -> the person's value.
        """
        dists = self.population.parameters
        ss = np.random.SeedSequence(self.seed, spawn_key=(stable_key("person"), replicate))
        u = np.random.default_rng(ss).random(len(dists))
        return {name: float(d.ppf(u[j])) for j, (name, d) in enumerate(dists.items())}

    def offset_z(self, replicate: int) -> np.ndarray:
        """Person ``replicate``'s standard normal deviates, one per offset (their own
        stream of the scenario seed).

        Args:
            replicate: the person (replicate number).
        """
        ss = np.random.SeedSequence(self.seed, spawn_key=(stable_key("offset"), replicate))
        return np.random.default_rng(ss).standard_normal(len(self.population.offsets))

    def offset_values(
        self, params: ModelParams, overrides: dict[str, float], replicate: int
    ) -> dict[str, float]:
        """Person ``replicate``'s values of the offset parameters: the value in
        ``params`` with ``overrides`` applied, plus the SD (fixed, or from the person's
        posterior row) times the person's deviate.

        Args:
            params: the run's parameters before the offsets.
            overrides: the person's other draws (dotted path -> value).
            replicate: the person (replicate number).

        Returns:
            Dotted path -> the person's value.
        """
        dumped = (with_overrides(params, overrides) if overrides else params).model_dump()
        row = (
            self.posterior_draw(self.draw_of(replicate))[0] if self._posterior is not None else None
        )
        z = self.offset_z(replicate)
        out = {}
        for j, (path, off) in enumerate(self.population.offsets.items()):
            sd = (
                off.sd
                if off.sd is not None
                else float(self._posterior[off.sd_from_posterior].iat[row])
            )
            out[path] = float(value_at_path(dumped, path)) + sd * float(z[j])
        return out

    def draw_of(self, replicate: int) -> int:
        """The posterior draw of person ``replicate`` (``population.people_per_draw``
        people share one).

        Args:
            replicate: the person (replicate number).
        """
        m = self.population.people_per_draw if self.population is not None else 1
        return replicate // m

    def posterior_draw(self, draw: int) -> tuple[int, dict[str, float]]:
        """``(row, overrides)``: draw number ``draw`` from the posterior, by weight, from
        its own stream of the scenario seed (person ``r`` takes draw ``draw_of(r)``).

        Args:
            draw: the draw's number.
        """
        post = self._posterior
        ss = np.random.SeedSequence(self.seed, spawn_key=(stable_key("posterior"), draw))
        w = post["weight"].to_numpy(dtype=float)
        row = int(np.random.default_rng(ss).choice(len(post), p=w / w.sum()))
        names = [c for c in post.columns if c != "weight" and not c.startswith("cohort.")]
        return row, {c: float(post[c].iat[row]) for c in names}

    def attach_posterior(self, folder: Path) -> None:
        """Read ``posterior`` (relative to ``folder``) and check every row against every
        arm; raise ScenarioError (one line) when it cannot be used.

        Args:
            folder: the scenario file's folder.
        """
        if self.posterior is None:
            return
        import pandas as pd

        path = Path(self.posterior)
        path = path if path.is_absolute() else folder / path
        where = f"posterior = {self.posterior!r}"
        try:
            post = pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise ScenarioError(
                f"{where}: cannot read {str(path)!r} ({type(exc).__name__})"
            ) from None
        if "weight" not in post.columns or len(post) == 0:
            raise ScenarioError(f"{where}: not a posterior (needs rows and a 'weight' column)")
        w = post["weight"].to_numpy(dtype=float)
        if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
            raise ScenarioError(f"{where}: weights must be finite, >= 0 and not all 0")
        offsets = self.population.offsets if self.population else {}
        for path, off in offsets.items():
            if off.sd_from_posterior is not None and off.sd_from_posterior not in post.columns:
                raise ScenarioError(
                    f"population.offsets.{path}.sd_from_posterior = "
                    f"{off.sd_from_posterior!r}: not a column of the posterior "
                    f"(columns: {', '.join(map(str, post.columns))})"
                )
        both = sorted(
            set(post.columns) & set(self.population.parameters if self.population else {})
        )
        if both:
            raise ScenarioError(
                f"{where}: {both[0]!r} is both in the posterior and in population.parameters"
            )
        self._posterior = post
        for r in range(len(post)):
            ov = {
                c: float(post[c].iat[r])
                for c in post.columns
                if c != "weight" and not c.startswith("cohort.")
            }
            problem = self._refused(ov, f"row {r}")
            if problem:
                raise ScenarioError(f"{where}: {problem}")


def scaled(params: ModelParams, factors: dict[str, float]) -> ModelParams:
    """``params`` with each dotted path's value multiplied by its factor.

    Args:
        params: the parameters.
        factors: dotted path -> factor (>= 0).

    Returns:
        The validated copy.
    """
    dumped = params.model_dump()
    return with_overrides(
        params, {path: float(value_at_path(dumped, path)) * f for path, f in factors.items()}
    )


def find_scenario(name_or_path: str | Path) -> Path:
    """A scenario path: an existing file, or the name of a built-in scenario.

    Args:
        name_or_path: a file path, or a built-in scenario's name (``baseline``, ``body``).

    Returns:
        The file's path; ScenarioError (one line) when there is none.

    Example:
        >>> from cellsim.config.scenario import find_scenario
        >>> find_scenario("baseline").name
        'baseline.toml'
    """
    path = Path(name_or_path)
    if path.is_file():
        return path
    for folder in (BUILTIN_DIR, REPO_SCENARIOS):
        candidate = folder / f"{path.stem}.toml"
        if path.suffix in ("", ".toml") and path.parent == Path(".") and candidate.is_file():
            return candidate
    raise ScenarioError(f"scenario: file {str(name_or_path)!r} not found")


BASE_FROM_KEYS = ("seed", "posterior", "base", "population")
"""What ``base_from`` takes from the other scenario when this file does not set it."""


def read_with_base(path: Path) -> dict[str, Any]:
    """A scenario file's tables; with ``base_from = "other.toml"`` (relative to the
    file), the other scenario's ``seed``, ``posterior``, ``base`` and ``population``
    fill the tables this file does not have (one level: the other file has no
    ``base_from``), so that several studies share one model.

    Args:
        path: the scenario file.

    Returns:
        Its TOML tables, completed from ``base_from``.
    """
    data = read_toml(path, ScenarioError)
    ref = data.pop("base_from", None)
    if ref is None:
        return data
    where = f"{path}: base_from = {ref!r}"
    if not isinstance(ref, str) or not ref.endswith(".toml"):
        raise ScenarioError(f"{where}: give a scenario file (.toml) relative to this one")
    ref_path = path.parent / ref
    if not ref_path.is_file():
        raise ScenarioError(f"{where}: file {str(ref_path)!r} not found")
    other = read_toml(ref_path, ScenarioError)
    if "base_from" in other:
        raise ScenarioError(f"{where}: that file has its own base_from (one level only)")
    taken = [key for key in BASE_FROM_KEYS if key in other and key not in data]
    for key in taken:
        data[key] = other[key]
    post = other.get("posterior")
    if "posterior" in taken and isinstance(post, str) and not Path(post).is_absolute():
        data["posterior"] = os.path.relpath(ref_path.parent / post, path.parent)
    return data


def load_scenario(
    name_or_path: str | Path, with_posterior: bool = True, scale: float | None = None
) -> Scenario:
    """Read, parse and validate a scenario file (every arm resolved, a posterior read and
    checked) or raise ScenarioError. ``with_posterior=False`` leaves the posterior unread
    (the base and arms of a sweep or calibration, which do not draw from it). ``scale``
    multiplies every tissue's sample size (``n_cells``, at least 2; ``cells_in_body`` is
    kept, so each sample stands for the same real tissue: ``scale_samples``).

    Args:
        name_or_path: a scenario file, or a built-in scenario's name.
        with_posterior: read and check the ``posterior`` file (if any).
        scale: the factor for every tissue's ``n_cells`` (None: as written).

    Returns:
        The validated ``Scenario``.

    Example:
        >>> from cellsim.config.scenario import load_scenario
        >>> scenario = load_scenario("baseline", scale=0.1)
        >>> [arm.name for arm in scenario.arms]
        ['epidermis', 'fibroblast', 'hepatocyte', 'endothelium']
        >>> scenario.arms_resolved["hepatocyte"].tissues[0].n_cells
        1000
        >>> len(scenario.run_specs(replicates=2))
        8
    """
    path = find_scenario(name_or_path)
    data = read_with_base(path)
    if scale is not None:
        data = scale_samples(data, scale)
    scenario = load_toml_model(path, Scenario, ScenarioError, data=data)
    if not with_posterior:
        return scenario
    try:
        scenario.attach_posterior(path.parent)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    return scenario


def _default_n_cells(tissue: dict[str, Any]) -> Any:
    """A tissue table's sample size where it gives none: its preset's, else the
    ``TissueParams`` default."""
    from cellsim.engine.params import TissueParams
    from cellsim.engine.presets import PRESETS

    default = TissueParams.model_fields["n_cells"].default
    preset = PRESETS.get(tissue.get("preset")) if isinstance(tissue.get("preset"), str) else None
    return preset.fields.get("n_cells", default) if preset is not None else default


def scale_samples(data: dict[str, Any], factor: float) -> dict[str, Any]:
    """A scenario file's tables with every tissue's sample ``factor`` times larger: the
    base tissues' ``n_cells`` (where not given, the preset's or the default) and any
    arm's ``set`` of an ``n_cells``, rounded, at least 2. A lattice tissue (its size is
    its grid) is refused.

    Args:
        data: a scenario file's tables (as read).
        factor: the factor (> 0).

    Returns:
        A scaled copy of the tables.
    """
    if not (factor > 0 and math.isfinite(factor)):
        raise ScenarioError(f"--scale = {factor!r}: give a positive number")

    def scaled_n(n: Any, where: str) -> int:
        if isinstance(n, bool) or not isinstance(n, int):
            raise ScenarioError(f"{where} = {n!r}: --scale needs a whole number of cells")
        return max(2, round(n * factor))

    data = copy.deepcopy(data)
    for i, t in enumerate(data.get("base", {}).get("tissues", [])):
        if not isinstance(t, dict):
            continue
        if t.get("lattice") is not None:
            raise ScenarioError(
                f"base.tissues.{i}: --scale cannot resize a lattice tissue (its grid is "
                "its size); scale its width and height in the file"
            )
        t["n_cells"] = scaled_n(t.get("n_cells", _default_n_cells(t)), f"base.tissues.{i}.n_cells")
    for arm in data.get("arms", []):
        sets = arm.get("set", {}) if isinstance(arm, dict) else {}
        for key in [k for k in sets if str(k).split(".")[-1] == "n_cells"]:
            sets[key] = scaled_n(sets[key], f"arms.{arm.get('name')}.set.{key}")
    return data
