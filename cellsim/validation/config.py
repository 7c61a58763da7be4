"""The settings of `cellsim validate-biology`: scenarios/validation/validation.toml.

Each group of checks has its table (``[culture]``, ``[turnover]``, ``[blood]``) and a
reduced ``[*.quick]`` table that ``--quick`` applies.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cellsim.engine.culture import CultureParams

__all__ = [
    "BloodCheckConfig",
    "CultureCheckConfig",
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


class ValidationConfig(_Cfg):
    """scenarios/validation/validation.toml."""

    seed: int = Field(0, ge=0)
    culture: CultureCheckConfig
    turnover: TurnoverCheckConfig = Field(default_factory=TurnoverCheckConfig)
    blood: BloodCheckConfig = Field(default_factory=BloodCheckConfig)
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
            update={"culture": culture, "turnover": turnover, "blood": b, "quick_mode": True}
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
