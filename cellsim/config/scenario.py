"""Scenario files (TOML) -> validated arms x replicates -> RunSpecs.

A scenario holds base parameters, arms that override them, the number of replicates and
one seed; see scenarios/baseline.toml for the annotated format.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator

from cellsim.config.plan import RunSpec
from cellsim.config.toml import format_validation_error, load_toml_model
from cellsim.engine.params import (
    MAX_REPLICATES,
    MAX_RUNS,
    MAX_SEED,
    Intervention,
    ModelParams,
    _Strict,
    safe_name,
    with_overrides,
)

BUILTIN_DIR = Path(__file__).resolve().parents[1] / "scenarios"
"""Scenarios shipped in the wheel (a copy of the repository's scenarios/ folder)."""
REPO_SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
DEFAULT_SCENARIO = "hayflick_question"


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one line naming field and value."""


class Arm(_Strict):
    """One arm: a name, what it tests, and the parameters it changes from the base."""

    name: str = Field(min_length=1)
    description: str = ""
    set: dict[str, Any] = Field(default_factory=dict)
    """Dotted parameter paths and their values (see ``cellsim.engine.params.with_overrides``)."""
    interventions: list[Intervention] = Field(default_factory=list)
    """Interventions added to the base scenario's for this arm."""

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        return safe_name(value)


class Scenario(_Strict):
    """A validated scenario: base parameters, arms, replicates, seed.

    Validation also resolves every arm (``arms_resolved``), once: a bad override fails
    validation, and the runs and the written outputs use those same parameters.
    """

    name: str = "scenario"
    description: str = ""
    seed: int = Field(0, ge=0, le=MAX_SEED)
    """Root entropy of the scenario's SeedSequence."""
    replicates: int = Field(8, ge=1, le=MAX_REPLICATES)
    control: str | None = None
    """The arm the others are compared with (log-rank); default: the first arm."""
    base: ModelParams = Field(default_factory=ModelParams)
    arms: list[Arm] = Field(
        default_factory=lambda: [Arm(name="default")], min_length=1, max_length=1000
    )
    _arms_resolved: dict[str, ModelParams] = PrivateAttr(default_factory=dict)

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
        self._arms_resolved = resolved
        return self

    @property
    def control_arm(self) -> str:
        """Name of the control arm."""
        return self.control or self.arms[0].name

    @property
    def arms_resolved(self) -> Mapping[str, ModelParams]:
        """Every arm's full parameters, in arm order, resolved once at validation."""
        return MappingProxyType(self._arms_resolved)

    def arm_params(self, arm: Arm) -> ModelParams:
        """The base parameters with one arm's overrides and interventions, validated."""
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
        """Arms x replicates as RunSpecs sharing the scenario's root seed."""
        n = replicates or self.replicates
        return [
            RunSpec(arm=name, replicate=r, params=params, entropy=self.seed)
            for name, params in self.arms_resolved.items()
            for r in range(n)
        ]


def find_scenario(name_or_path: str | Path) -> Path:
    """A scenario path: an existing file, or the name of a built-in scenario."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    for folder in (BUILTIN_DIR, REPO_SCENARIOS):
        candidate = folder / f"{path.stem}.toml"
        if path.suffix in ("", ".toml") and path.parent == Path(".") and candidate.is_file():
            return candidate
    raise ScenarioError(f"scenario: file {str(name_or_path)!r} not found")


def load_scenario(name_or_path: str | Path) -> Scenario:
    """Read, parse and validate a scenario file (every arm resolved) or raise ScenarioError."""
    return load_toml_model(find_scenario(name_or_path), Scenario, ScenarioError)
