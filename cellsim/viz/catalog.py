"""Scenarios and arms the page can show, which view each needs, and a model's parameters
in words (for the page's parameter list). No Solara, no model is built here."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from cellsim.config.scenario import (
    BUILTIN_DIR,
    REPO_SCENARIOS,
    Scenario,
    ScenarioError,
    find_scenario,
    load_scenario,
)
from cellsim.engine.params import DAYS_PER_YEAR, ModelParams, TissueParams

DEFAULT_SCENARIO = "lattice_bystander"
"""What ``cellsim viz`` shows without a scenario."""


@dataclass(frozen=True)
class ArmChoice:
    """One arm of one scenario, resolved: what the page builds a model from."""

    path: str
    """The scenario file (absolute)."""
    scenario: str
    arm: str
    arms: tuple[str, ...]
    description: str
    params: ModelParams
    body: bool
    """True for an organism (the body view), False for one tissue (the lattice view)."""
    considered: tuple[str, ...]
    """The tissues whose failure counts as the body's (``[body] tissues``, else the
    somatic ones)."""

    @property
    def title(self) -> str:
        return f"{self.scenario}: {self.arm}"


def builtin_scenarios() -> list[str]:
    """Names of the scenario files shipped with cellsim (top level of scenarios/)."""
    names: set[str] = set()
    for folder in (BUILTIN_DIR, REPO_SCENARIOS):
        if folder.is_dir():
            names |= {p.stem for p in folder.glob("*.toml")}
    return sorted(names)


def is_organism(params: ModelParams, scenario: Scenario | None = None) -> bool:
    """An organism (several somatic tissues, or a scenario with ``[body]``): the body
    view; else one tissue (with any stem compartment) on a lattice."""
    somatic = [t for t in params.tissues if t.kind == "somatic"]
    return len(somatic) > 1 or (scenario is not None and scenario.body is not None)


def choose(scenario: str | None = None, arm: str | None = None) -> ArmChoice:
    """The arm ``arm`` (default: the control arm) of ``scenario`` (a file or a built-in
    name; defaults: ``CELLSIM_VIZ_SCENARIO``, then ``DEFAULT_SCENARIO``; arm default
    ``CELLSIM_VIZ_ARM``). ScenarioError (one line) for a missing or bad file; ValueError
    naming the arms for an unknown arm."""
    scenario = scenario or os.environ.get("CELLSIM_VIZ_SCENARIO") or DEFAULT_SCENARIO
    arm = arm or os.environ.get("CELLSIM_VIZ_ARM") or None
    path = find_scenario(scenario).resolve()
    return _choose(path, path.stat().st_mtime_ns, arm)


@functools.lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> tuple[Scenario, dict[str, ModelParams]]:
    """A scenario file and its resolved arms, read once while the file is unchanged (a
    scenario with a posterior takes seconds to read)."""
    sc = load_scenario(path)
    return sc, sc.resolved()


@functools.lru_cache(maxsize=32)
def _choose(path: Path, mtime_ns: int, arm: str | None) -> ArmChoice:
    """``choose`` of a resolved file, cached while the file is unchanged (by arm as
    asked: None and the control arm's name share ``_load``)."""
    sc, arms = _load(path, mtime_ns)
    name = arm or sc.control_arm
    if name not in arms:
        raise ValueError(
            f"arm = {name!r}: not an arm of scenario {sc.name!r} (arms: {', '.join(arms)})"
        )
    params = arms[name]
    spec = next((a for a in sc.arms if a.name == name), None)
    description = (spec.description if spec is not None else "") or sc.description
    body = is_organism(params, sc)
    considered = (
        tuple(sc.body.tissues)
        if sc.body is not None and getattr(sc.body, "tissues", None)
        else tuple(params.somatic_tissues())
    )
    return ArmChoice(str(path), sc.name, name, tuple(arms), description, params, body, considered)


def scenario_choices(current: str | None = None) -> list[str]:
    """The scenario picker's entries: the built-in names, and ``current`` (a file path
    given on the command line) when it is not one of them."""
    names = builtin_scenarios()
    if current and Path(current).stem not in names and current not in names:
        names = [current, *names]
    return names


def arms_of(scenario: str) -> list[str]:
    """The arm names of a scenario (empty when it cannot be read)."""
    try:
        return [a for a in load_scenario(scenario, with_posterior=False).resolved()]
    except (ScenarioError, ValueError):
        return []


def _g(x: float) -> str:
    return f"{x:.4g}"


def tissue_line(t: TissueParams) -> str:
    """One tissue's parameters in words, with units."""
    tel = t.telomere
    parts = [f"{t.n_cells} cells"]
    if t.cells_in_body is not None:
        parts[0] += f" standing for {t.cells_in_body:.3g}"
    if t.lattice is not None:
        lat = t.lattice
        parts.append(
            f"lattice {lat.width} x {lat.height} ({'torus' if lat.torus else 'bounded'}), "
            f"bystander {_g(lat.bystander_per_day)}/day"
        )
    parts.append(f"cell lifespan {_g(t.lifespan_days)} d")
    parts.append(
        f"telomere {_g(tel.initial_mean_bp)} ± {_g(tel.initial_sd_bp)} bp at start, loss "
        f"{_g(tel.loss_mean_bp)} ± {_g(tel.loss_sd_bp)} bp/division, critical "
        f"{_g(tel.senescence_threshold_bp)} bp"
    )
    if t.kind == "stem":
        parts.append(f"stem telomerase {_g(tel.telomerase_stem)}")
        if t.stem_divisions is not None:
            parts.append(f"divides every {_g(t.stem_divisions.interval_days)} d")
    parts.append(
        f"stress {_g(t.stress.rate_per_day)}/day, clearance {_g(t.clearance.rate_per_day)}/day"
    )
    if t.supply_from is not None:
        parts.append(
            f"supplied by {t.supply_from} (share {_g(t.supply_share)}, "
            f"{t.amplification_divisions} transit divisions)"
        )
    parts.append(f"fails below {t.failure.functional_fraction_min:.0%} functional")
    return f"{t.name} ({t.kind}): " + "; ".join(parts)


def intervention_line(iv) -> str:
    """One intervention in words, ages in years."""
    d = iv.model_dump()
    kind = d.pop("kind")
    label = d.pop("label", "") or kind
    tissues = d.pop("tissues", None)
    bits = []
    for key, value in d.items():
        if value is None:
            continue
        if key.endswith("age_days"):
            bits.append(f"{key.removesuffix('_days')} {value / DAYS_PER_YEAR:.4g} y")
        elif isinstance(value, float):
            bits.append(f"{key} {_g(value)}")
        else:
            bits.append(f"{key} {value}")
    where = f" on {', '.join(tissues)}" if tissues else ""
    return f"{label}{where}: " + ", ".join(bits)


def parameter_lines(params: ModelParams) -> list[str]:
    """The model's parameters in words, one line per group, tissue and intervention."""
    run = params.run
    lines = [
        f"run: step {_g(run.dt_days)} d, from age {run.start_age_days / DAYS_PER_YEAR:.4g} y "
        f"to {(run.start_age_days + run.horizon_days) / DAYS_PER_YEAR:.4g} y, "
        f"recorded every {_g(run.record_interval_days)} d"
    ]
    im = params.immune
    if im.shared and len(params.tissues) > 1:
        counted = ", ".join(im.tissues) if im.tissues else "every tissue"
        lines.append(
            f"immune system: shared, half-saturated at {im.half_saturation_fraction:.3g} of "
            f"the body's cells senescent (burden of {counted})"
        )
    else:
        lines.append("immune system: each tissue's own")
    lines += [tissue_line(t) for t in params.tissues]
    lines += [intervention_line(iv) for iv in params.interventions] or ["interventions: none"]
    return lines
