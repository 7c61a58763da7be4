"""`cellsim validate-biology`: the simulator against published biology.

Each check runs the simulator with parameter values from MODEL.md's sources (or marked
*chosen*; never fitted to the check's own target), compares one simulated number with the
published one and writes a figure. The report (report.md in the output folder) holds a
table of published vs simulated values with pass/fail, one section per check and a
discussion of what the numbers mean. Settings live in scenarios/validation/validation.toml
(``--quick`` uses its reduced ``[*.quick]`` tables).

Checks:
  * fibroblast strains in culture (cellsim/engine/culture.py) reach replicative senescence at
    40-60 PD (Hayflick & Moorhead 1961) and gain 7-10 PD per kb of initial telomere
    (Allsopp 1992; Allsopp & Harley 1995);
  * the growth curve bends (phase III): the last ~10 PD are clearly slower than phase II,
    and the non-dividing fraction rises smoothly, not as a step;
  * the spread of telomere length across strains is smaller at senescence than at early
    passage (a critical length acts; Allsopp & Harley 1995);
  * the whole-body preset set turns over ~3.3e11 cells/day, ~86% of them blood cells
    (Sender & Milo 2021), computed from the presets and confirmed by simulating each
    preset tissue's sample;
  * the blood preset's HSCs divide about once per 40 weeks (Catlin 2011) and lose ~30
    bp/year (Mitchell 2022); adult leukocytes lose 25-40 bp/year (Muezzinler 2013; Ye 2023).
"""

from __future__ import annotations

import math
import platform
import time
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy import stats

from analysis import validation_figures as vf
from analysis.culture_growth import day_at_pd
from cellsim import __version__
from cellsim.config.plan import stable_key
from cellsim.engine.culture import CultureParams, CultureResult, run_culture
from cellsim.engine.params import (
    DAYS_PER_YEAR,
    ModelParams,
    RunParams,
    TissueParams,
    with_overrides,
)
from cellsim.engine.presets import (
    HSC_DIVISION_INTERVAL_DAYS,
    PRESETS,
    body_turnover,
    whole_body_set,
)
from cellsim.io import MANIFEST, atomic_dir, check_output_dir, write_csv, write_json, write_text
from cellsim.kernels.layout import C_DEATHS, C_DIVISIONS
from cellsim.run.errors import RunsFailed
from cellsim.run.local import map_unordered

__all__ = ["CheckResult", "ChecksFailed", "ValidationConfig", "load_config", "run_validation"]


class ChecksFailed(RunsFailed):
    """One or more biological checks failed (the report was written; exit code 1)."""


class ValidationConfigError(ValueError):
    """An unusable validation settings file (one-line message)."""


# ======================================================================================
# settings
# ======================================================================================
class _Cfg(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CultureQuick(_Cfg):
    strain_initial_means_bp: list[float] | None = None
    replicates: int | None = Field(None, ge=1)
    dish_cells: int | None = Field(None, ge=4)
    sensitivity_losses_bp: list[float] | None = None


class CultureCheckConfig(_Cfg):
    strain_initial_means_bp: list[float] = Field(min_length=2)
    replicates: int = Field(3, ge=1)
    sensitivity_losses_bp: list[float] = Field(default_factory=list)
    sensitivity_initial_means_bp: list[float] = Field(default_factory=list)
    sensitivity_replicates: int = Field(1, ge=1)
    params: CultureParams = Field(default_factory=CultureParams)
    quick: CultureQuick = Field(default_factory=CultureQuick)


class TurnoverQuick(_Cfg):
    sample_cells: int | None = Field(None, ge=10)
    deaths_per_tissue: int | None = Field(None, ge=10)
    steps_per_lifespan: int | None = Field(None, ge=2)


class TurnoverCheckConfig(_Cfg):
    sample_cells: int = Field(10_000, ge=10)
    deaths_per_tissue: int = Field(10_000, ge=10)
    steps_per_lifespan: int = Field(100, ge=2)
    quick: TurnoverQuick = Field(default_factory=TurnoverQuick)


class BloodQuick(_Cfg):
    horizon_years: float | None = Field(None, gt=0)
    sample_scale: float | None = Field(None, gt=0, le=1)


class BloodCheckConfig(_Cfg):
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


# ======================================================================================
# tasks (independent runs, on a process pool; seeds depend on the task's name only)
# ======================================================================================
@dataclass(frozen=True)
class Task:
    kind: str  # "culture" | "turnover" | "blood"
    name: str
    payload: Any
    entropy: int

    def seed(self) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.entropy, spawn_key=(stable_key(self.name),))


def _run_task(task: Task) -> tuple[str, Any]:
    if task.kind == "culture":
        return task.name, run_culture(task.payload, task.seed(), strain=task.name)
    if task.kind == "turnover":
        return task.name, _turnover_run(task.payload, task.seed())
    if task.kind == "blood":
        return task.name, _blood_run(task.payload, task.seed())
    raise ValueError(task.kind)


def run_tasks(
    tasks: list[Task], workers: int = 1, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Run tasks on the local executor (``cellsim.run.local``); results by task name."""
    out: dict[str, Any] = {}
    for name, res in map_unordered(_run_task, tasks, workers=workers):
        out[name] = res
        if progress:
            progress(name)
    return out


# --- turnover of one preset's sample ----------------------------------------------------
@dataclass
class TurnoverRun:
    preset: str
    n_cells: int
    dt_days: float
    days: float
    deaths: int

    @property
    def rate_per_day(self) -> float:
        """Deaths per cell per day."""
        return self.deaths / (self.n_cells * self.days)


def _turnover_run(payload: tuple[str, int, float, float], seed: Any) -> TurnoverRun:
    from cellsim.engine.model import AgingModel

    name, n_cells, dt, days = payload
    tissue = TissueParams.model_validate({"preset": name, "n_cells": n_cells})
    run = RunParams(dt_days=dt, horizon_days=days, record_interval_days=days, stop_at="horizon")
    m = AgingModel(ModelParams(tissues=[tissue], run=run), rng=np.random.default_rng(seed)).run()
    return TurnoverRun(
        name, n_cells, dt, m.age_days - run.start_age_days, int(m.primary.counters[C_DEATHS])
    )


def turnover_tasks(cfg: ValidationConfig) -> list[Task]:
    """One run per whole-body preset (and one at dt = 1 day for lifespans under 10 days)."""
    t = cfg.turnover
    tasks = []
    for p in whole_body_set():
        life = p.lifespan_days
        dt = min(1.0, life / t.steps_per_lifespan)
        days = max(life * t.deaths_per_tissue / t.sample_cells, 20 * dt)
        days = math.ceil(days / dt) * dt
        tasks.append(
            Task("turnover", f"turnover/{p.name}", (p.name, t.sample_cells, dt, days), cfg.seed)
        )
        if life < 10:
            days1 = float(max(math.ceil(days), 20))
            tasks.append(
                Task(
                    "turnover",
                    f"turnover-dt1/{p.name}",
                    (p.name, t.sample_cells, 1.0, days1),
                    cfg.seed,
                )
            )
    return tasks


# --- the blood system -------------------------------------------------------------------
@dataclass
class BloodRun:
    trajectories: pd.DataFrame
    hsc_divisions: int
    hsc_cells: int
    years: float
    start_age_years: float


def _blood_run(params: ModelParams, seed: Any) -> BloodRun:
    from cellsim.engine.model import AgingModel

    m = AgingModel(params, rng=np.random.default_rng(seed)).run()
    hsc = m.by_name["hsc"]
    run = params.run
    return BloodRun(
        trajectories=m.trajectories(),
        hsc_divisions=int(hsc.counters[C_DIVISIONS]),
        hsc_cells=hsc.params.n_cells,
        years=(m.age_days - run.start_age_days) / DAYS_PER_YEAR,
        start_age_years=run.start_age_days / DAYS_PER_YEAR,
    )


def blood_params(cfg: ValidationConfig) -> ModelParams:
    """The blood scenario's parameters (reduced under ``--quick``)."""
    from cellsim.config.scenario import load_scenario

    sc = load_scenario(cfg.folder / cfg.blood.scenario)
    params = next(iter(sc.resolved().values()))
    if cfg.quick_mode:
        q = cfg.blood.quick
        over: dict[str, Any] = {}
        if q.horizon_years:
            over["run.horizon_days"] = q.horizon_years * DAYS_PER_YEAR
        if q.sample_scale:
            for t in params.tissues:
                over[f"{t.name}.n_cells"] = max(10, round(t.n_cells * q.sample_scale))
        params = with_overrides(params, over)
    return params


# --- culture ----------------------------------------------------------------------------
def _culture_params(
    base: CultureParams, initial_mean_bp: float, loss_bp: float | None = None
) -> CultureParams:
    tel = base.telomere.model_copy(update={"initial_mean_bp": initial_mean_bp})
    if loss_bp is not None:
        ratio = base.telomere.loss_sd_bp / base.telomere.loss_mean_bp
        tel = tel.model_copy(update={"loss_mean_bp": loss_bp, "loss_sd_bp": ratio * loss_bp})
    return base.model_copy(update={"telomere": tel})


def culture_tasks(cfg: ValidationConfig) -> list[Task]:
    """The strain grid (loss as configured) and the sensitivity strains."""
    c = cfg.culture
    tasks = []
    for mean in c.strain_initial_means_bp:
        for r in range(c.replicates):
            tasks.append(
                Task(
                    "culture",
                    f"culture/L{mean:.0f}/r{r}",
                    _culture_params(c.params, mean),
                    cfg.seed,
                )
            )
    for loss in c.sensitivity_losses_bp:
        for mean in c.sensitivity_initial_means_bp:
            for r in range(c.sensitivity_replicates):
                tasks.append(
                    Task(
                        "culture",
                        f"sensitivity/loss{loss:g}/L{mean:.0f}/r{r}",
                        _culture_params(c.params, mean, loss),
                        cfg.seed,
                    )
                )
    return tasks


# ======================================================================================
# checks
# ======================================================================================
@dataclass
class CheckResult:
    """One row of the report's table and its section."""

    key: str
    title: str
    published: str
    source: str
    simulated: str
    passed: bool
    criterion: str
    figure: str = ""
    notes: list[str] = field(default_factory=list)


def phase3_metrics(res: CultureResult) -> dict[str, float]:
    """Per strain: days per PD in phase II (PD 2-22) and over the last 10 PD; the
    non-dividing fraction's rise (PD from 10% to 90%, largest rise within one PD)."""
    g = res.growth
    pd_end = res.pd_at_senescence
    out = {"pd_end": pd_end}
    if pd_end >= 35:
        phase2 = (day_at_pd(g, 22.0) - day_at_pd(g, 2.0)) / 20.0
        last = (day_at_pd(g, pd_end) - day_at_pd(g, pd_end - 10.0)) / 10.0
        out.update(days_per_pd_phase2=phase2, days_per_pd_last10=last, slowdown=last / phase2)
    else:
        out.update(days_per_pd_phase2=math.nan, days_per_pd_last10=math.nan, slowdown=math.nan)
    grid = np.arange(0.0, math.floor(pd_end) + 1.0)
    frac = []
    for x in grid:
        row = g.loc[g["pd_cumulative"] >= x - 1e-9]
        frac.append(float(row["nondividing_fraction"].iloc[0]) if len(row) else math.nan)
    final = float(g["nondividing_fraction"].iloc[-1])
    frac = np.array([*frac, final])
    pds = np.append(grid, pd_end)
    above10 = pds[np.argmax(frac >= 0.10)] if np.any(frac >= 0.10) else math.nan
    above90 = pds[np.argmax(frac >= 0.90)] if np.any(frac >= 0.90) else math.nan
    out.update(
        pd_at_10pct_nondividing=float(above10),
        pd_at_90pct_nondividing=float(above90),
        rise_width_pd=float(above90 - above10),
        max_rise_per_pd=float(np.nanmax(np.diff(frac[:-1]))) if len(frac) > 2 else math.nan,
    )
    return out


def phase2_loss(res: CultureResult) -> tuple[float, float]:
    """Mean telomere lost per PD and divisions per cell per PD over PD 5-20 (phase II)."""
    g = res.growth
    sub = g[(g["pd_cumulative"] >= 5) & (g["pd_cumulative"] <= 20)]
    if len(sub) < 3:
        return math.nan, math.nan
    bp = -np.polyfit(sub["pd_cumulative"], sub["telomere_mean_bp"], 1)[0]
    div = np.polyfit(sub["pd_cumulative"], sub["divisions_per_cell_mean"], 1)[0]
    return float(bp), float(div)


@dataclass
class CultureAnalysis:
    strains: pd.DataFrame
    growth: pd.DataFrame
    sensitivity: pd.DataFrame
    sensitivity_strains: pd.DataFrame
    slope: float
    slope_se: float
    slope_ci: tuple[float, float]
    loss_bp: float


def analyse_culture(cfg: ValidationConfig, results: dict[str, Any]) -> CultureAnalysis:
    c = cfg.culture
    rows, growth = [], []
    for name, res in results.items():
        if not name.startswith("culture/"):
            continue
        rows.append({**res.row(), **phase3_metrics(res), "phase2": phase2_loss(res)})
        growth.append(res.growth.assign(initial_mean_bp=res.initial_mean_bp))
    strains = pd.DataFrame(rows).sort_values(["initial_mean_bp", "strain"]).reset_index(drop=True)
    strains["phase2_bp_per_pd"] = [p[0] for p in strains.pop("phase2")]
    strains["phase2_divisions_per_pd"] = [phase2_loss(results[s])[1] for s in strains["strain"]]
    x = strains["initial_mean_bp"].to_numpy() / 1000.0
    y = strains["pd_at_senescence"].to_numpy()
    fit = stats.linregress(x, y)
    dof = max(len(x) - 2, 1)
    tq = stats.t.ppf(0.975, dof)
    ci = (fit.slope - tq * fit.stderr, fit.slope + tq * fit.stderr)
    sens, sens_rows = [], []
    loss_main = c.params.telomere.loss_mean_bp
    by_loss: dict[float, list[CultureResult]] = {loss_main: [results[s] for s in strains["strain"]]}
    for name, res in results.items():
        if name.startswith("sensitivity/"):
            loss = float(name.split("/")[1].removeprefix("loss"))
            by_loss.setdefault(loss, []).append(res)
    for loss, group in sorted(by_loss.items()):
        xs = np.array([r.initial_mean_bp for r in group]) / 1000.0
        ys = np.array([r.pd_at_senescence for r in group])
        sens_rows += [
            {
                "loss_bp_per_division": loss,
                "initial_mean_bp": r.initial_mean_bp,
                "pd_at_senescence": r.pd_at_senescence,
                "strain": r.strain,
            }
            for r in group
        ]
        at95 = [r.pd_at_senescence for r in group if abs(r.initial_mean_bp - 9500) < 1]
        p2 = [phase2_loss(r) for r in group]
        div_per_pd = float(np.nanmean([q[1] for q in p2]))
        slope = stats.linregress(xs, ys) if len(set(xs)) > 1 else None
        sens.append(
            {
                "loss_bp_per_division": loss,
                "strains": len(group),
                "pd_at_senescence_9500bp": float(np.median(at95)) if at95 else math.nan,
                "pd_per_kb": float(slope.slope) if slope else math.nan,
                "pd_per_kb_se": float(slope.stderr) if slope and len(xs) > 2 else math.nan,
                "predicted_pd_per_kb": 1000.0 / (loss * div_per_pd),
                "naive_pd_per_kb": 1000.0 / loss,
                "phase2_bp_per_pd": float(np.nanmean([q[0] for q in p2])),
                "phase2_divisions_per_pd": div_per_pd,
            }
        )
    return CultureAnalysis(
        strains=strains,
        growth=pd.concat(growth, ignore_index=True),
        sensitivity=pd.DataFrame(sens),
        sensitivity_strains=pd.DataFrame(sens_rows),
        slope=float(fit.slope),
        slope_se=float(fit.stderr),
        slope_ci=(float(ci[0]), float(ci[1])),
        loss_bp=loss_main,
    )


def culture_checks(cfg: ValidationConfig, ca: CultureAnalysis, figs: Path) -> list[CheckResult]:

    s = ca.strains
    cp = cfg.culture.params
    tel = cp.telomere
    chosen = (
        f"Values: initial telomere {tel.initial_sd_bp:g} bp cell-to-cell SD around each strain's "
        f"mean (Factor-Litvak 2016's between-person SD, used cell-to-cell: chosen); loss "
        f"{tel.loss_mean_bp:g} +- {tel.loss_sd_bp:g} bp per daughter per division (Harley "
        f"1990's 50-200 bp range; SD chosen); critical length {tel.senescence_threshold_bp:g} "
        f"bp (chosen); dish {cp.dish_cells} cells split 1:{cp.split_ratio:g} (Hayflick & "
        f"Moorhead 1961); division hazard {cp.division_rate_per_day:.3f}/day, stress "
        f"senescence {cp.stress_rate_per_day:g}/day, senescent after "
        f"{cp.max_days_without_doubling:g} days without a doubling (all chosen)."
    )
    out = []
    # 1. Hayflick limit ------------------------------------------------------------------
    at95 = s.loc[(s["initial_mean_bp"] - 9500).abs() < 1, "pd_at_senescence"]
    ref = at95 if len(at95) else s["pd_at_senescence"]
    med = float(np.median(ref))
    out.append(
        CheckResult(
            key="hayflick_limit",
            title="Fibroblast strains reach replicative senescence at 40-60 PD",
            published="40-60 PD",
            source="Hayflick & Moorhead 1961",
            simulated=(
                f"{med:.1f} PD (median of {len(ref)} strain{'s' * (len(ref) != 1)} starting at "
                f"9.5 kb; all strains "
                f"{s['pd_at_senescence'].min():.0f}-{s['pd_at_senescence'].max():.0f} PD)"
            ),
            passed=bool(40.0 <= med <= 60.0 and s["senescent"].all()),
            criterion=(
                "median PD at senescence of the 9.5-kb strains within 40-60, every strain senescent"
            ),
            figure=vf.plot_growth_curves(
                ca.growth,
                (40.0, 60.0),
                "40-60 PD (Hayflick & Moorhead 1961)",
                figs / "hayflick_growth_curves.png",
            ),
            notes=[
                chosen,
                "The critical length of 5 kb is the model default, set in params.py so that "
                "(9500 - 5000) / 100 = 45 divisions; this check is therefore not independent of "
                "Hayflick's range for the mean lineage. What it does test is that the population "
                "process (stochastic loss, spread of lengths, passaging, stress senescence, "
                "counting PD from cell numbers) lands in the range; see the discussion for why "
                "the culture's PD differs from the lineage's division count.",
            ],
        )
    )
    # 2. PD per kb -----------------------------------------------------------------------
    lo, hi = ca.slope_ci
    out.append(
        CheckResult(
            key="pd_per_kb",
            title="PD at senescence rises by 7-10 PD per kb of initial telomere",
            published="7-10 PD/kb",
            source="Allsopp 1992; Allsopp & Harley 1995",
            simulated=f"{ca.slope:.1f} PD/kb (95% CI {lo:.1f}-{hi:.1f}; {len(s)} strains)",
            passed=bool(hi >= 7.0 and lo <= 10.0),
            criterion="the 95% CI of the regression slope overlaps 7-10 PD/kb",
            figure=vf.plot_pd_per_kb(
                s,
                ca.sensitivity_strains,
                ca.slope,
                ca.loss_bp,
                (7.0, 10.0),
                "7-10 PD/kb (Allsopp 1992; Allsopp & Harley 1995)",
                (40.0, 60.0),
                "40-60 PD (Hayflick & Moorhead 1961)",
                figs / "pd_per_kb.png",
            ),
            notes=[
                "Strains differ only in their initial mean telomere (a grid around 9.5 kb); PD "
                "at senescence is regressed on it (least squares).",
                "Other losses per division (sensitivity, not a check) are in the discussion.",
            ],
        )
    )
    # 3. phase III slowdown --------------------------------------------------------------
    slow = s["slowdown"].dropna()
    med_slow = float(np.median(slow)) if len(slow) else math.nan
    out.append(
        CheckResult(
            key="phase3_slowdown",
            title="Growth over the last ~10 PD is clearly slower than exponential (phase III)",
            published="phase III: growth slows before it stops",
            source="Hayflick & Moorhead 1961",
            simulated=(
                f"last 10 PD take {med_slow:.2f}x the days per PD of phase II (median of "
                f"{len(slow)} strains; phase II {np.median(s['days_per_pd_phase2'].dropna()):.2f} "
                f"d/PD, last 10 PD {np.median(s['days_per_pd_last10'].dropna()):.2f} d/PD)"
            ),
            passed=bool(len(slow) > 0 and med_slow >= 1.5),
            criterion=(
                "median ratio of days per PD (last 10 PD / PD 2-22) >= 1.5 (chosen threshold)"
            ),
            figure=vf.plot_phase3(ca.growth, figs / "phase3_growth.png"),
            notes=[
                "Hayflick & Moorhead give no number for the slowdown: 'clearly slower' is taken "
                "as at least 1.5x the phase-II days per PD (chosen before running).",
            ],
        )
    )
    # 4. smooth rise of the non-dividing fraction ----------------------------------------
    width = (
        float(np.median(s["rise_width_pd"].dropna()))
        if s["rise_width_pd"].notna().any()
        else math.nan
    )
    jump = float(s["max_rise_per_pd"].max())
    out.append(
        CheckResult(
            key="phase3_smooth",
            title="The non-dividing fraction rises smoothly, not as a step",
            published="a gradual rise of non-dividing cells over the last passages",
            source="Hayflick & Moorhead 1961; Allsopp & Harley 1995",
            simulated=(
                f"10% -> 90% non-dividing over {width:.1f} PD (median); largest rise within one "
                f"PD {jump:.2f}"
            ),
            passed=bool(width >= 5.0 and jump <= 0.25),
            criterion="median 10%->90% rise spans >= 5 PD and no single PD adds > 0.25 (chosen)",
            figure=vf.plot_nondividing(ca.growth, figs / "phase3_nondividing.png"),
            notes=[
                "A step would be a rise from ~0 to ~1 within one PD. The smooth rise comes from "
                "the spread of initial lengths, the stochastic loss per division, the spread of "
                "division counts among cells (memoryless cell cycles) and stress senescence.",
            ],
        )
    )
    # 5. spread across strains -----------------------------------------------------------
    sd_early = float(s["early_telomere_bp"].std(ddof=1))
    sd_final = float(s["final_telomere_bp"].std(ddof=1))
    n = len(s)
    f = (sd_early / sd_final) ** 2 if sd_final > 0 else math.inf
    p = float(stats.f.sf(f, n - 1, n - 1)) if math.isfinite(f) else 0.0
    out.append(
        CheckResult(
            key="telomere_spread",
            title="Telomere spread across strains is smaller at senescence than at early passage",
            published="spread at senescence < spread at early passage",
            source="Allsopp & Harley 1995",
            simulated=(
                f"SD across strains {sd_early:.0f} bp at the first passage, {sd_final:.0f} bp at "
                f"senescence (F-test p = {p:.1g})"
            ),
            passed=bool(sd_final < sd_early and p < 0.05),
            criterion="SD at senescence < SD at first passage, one-sided F-test p < 0.05",
            figure=vf.plot_spread(s, figs / "telomere_spread.png"),
            notes=[
                "Mean telomere of all cells in the dish (dividing and not) per strain. In the "
                "model a single critical telomere per cell sets senescence, so the senescent "
                "strains converge on the critical length almost exactly; real TRF means keep a "
                "wider spread (they average all chromosome ends), so this check confirms the "
                "direction, not the size, of the effect.",
            ],
        )
    )
    return out


def turnover_checks(
    cfg: ValidationConfig, results: dict[str, Any], figs: Path
) -> tuple[list[CheckResult], pd.DataFrame]:

    computed = body_turnover()
    rows = []
    for p in whole_body_set():
        run: TurnoverRun = results[f"turnover/{p.name}"]
        dt1: TurnoverRun | None = results.get(f"turnover-dt1/{p.name}")
        expected = 1.0 / p.lifespan_days
        rows.append(
            {
                "preset": p.name,
                "group": p.group,
                "cells_in_body": p.cells_in_body,
                "lifespan_days": p.lifespan_days,
                "turnover_per_day_computed": p.turnover_per_day(),
                "sample_cells": run.n_cells,
                "dt_days": run.dt_days,
                "days_simulated": run.days,
                "deaths": run.deaths,
                "rate_per_day_expected": expected,
                "rate_per_day_simulated": run.rate_per_day,
                "ratio": run.rate_per_day / expected,
                "ratio_se": 1.0 / math.sqrt(max(run.deaths, 1)),
                "ratio_dt1": (dt1.rate_per_day / expected) if dt1 else math.nan,
            }
        )
    table = pd.DataFrame(rows)
    simulated = body_turnover(
        dict(zip(table["preset"], table["rate_per_day_simulated"], strict=True))
    )
    pub_total, pub_total_se, pub_share = 3.3e11, 0.2e11, 0.86
    tol_total = 2 * math.hypot(computed.total_se_per_day, pub_total_se)
    tol_share = 2 * computed.blood_share_se
    worst = float((table["ratio"] - 1).abs().max())
    gut = table.loc[table["group"] == "gut", "turnover_per_day_computed"].sum()
    gut_share = gut / computed.total_per_day
    si = table.loc[table["preset"] == "small_intestine", "ratio_dt1"]
    si_dt1 = float(si.iloc[0]) if len(si) else math.nan
    fig_bar = vf.plot_turnover(
        table, computed.total_per_day, 3.3e11, figs / "turnover_by_preset.png"
    )
    checks = [
        CheckResult(
            key="body_turnover",
            title="The whole-body preset set turns over ~3.3e11 cells per day",
            published="(3.3 +- 0.2) x 10^11 cells/day",
            source="Sender & Milo 2021",
            simulated=(
                f"{computed.total_per_day:.3g} +- {computed.total_se_per_day:.2g} from the "
                "presets; "
                f"{simulated.total_per_day:.3g} simulated"
            ),
            passed=bool(
                abs(computed.total_per_day - pub_total) <= tol_total
                and abs(simulated.total_per_day - pub_total) <= tol_total
            ),
            criterion=(
                "within 2 combined SE of 3.3e11 (SE of the presets' sum from Sender & Milo's "
                "published uncertainties, and their +-0.2e11)"
            ),
            figure=fig_bar,
            notes=[
                f"{len(table)} presets: every cell type of Sender & Milo's source data with "
                "more than ~1e9 cells/day, plus MODEL.md's hepatocytes, endothelium and dermal "
                "fibroblasts. Counts x 1/lifespan; see cellsim/engine/presets.py for each value.",
            ],
        ),
        CheckResult(
            key="blood_share",
            title="About 90% of the cells turned over are blood cells",
            published="86% ('close to 90%')",
            source="Sender & Milo 2021",
            simulated=(
                f"{100 * computed.blood_share:.1f}% +- {100 * computed.blood_share_se:.1f}% "
                "from the "
                f"presets; {100 * simulated.blood_share:.1f}% simulated"
            ),
            passed=bool(
                abs(computed.blood_share - pub_share) <= tol_share
                and abs(simulated.blood_share - pub_share) <= tol_share
            ),
            criterion="within 2 SE (propagated from the presets' published uncertainties) of 86%",
            figure=vf.plot_blood_share(
                table,
                computed.total_per_day,
                {"blood": 0.86, "gut": 0.12, "skin": 0.011},
                "Sender & Milo 2021",
                figs / "blood_share.png",
            ),
            notes=[
                "The presets take MODEL.md's gut values (small intestine 1.2e11 cells, colon "
                "6e10, both 2.8 d), which are also Sender & Milo's source data; they give the gut "
                f"{100 * gut_share:.0f}% "
                "of the turnover, where the published paper reports ~12% for the GI tract and "
                "86% for blood. The gap is in the inputs (the published breakdown is not "
                "reproduced by the source-data values as listed), not in the simulation, which "
                "reproduces the presets' arithmetic.",
            ],
        ),
        CheckResult(
            key="turnover_simulated",
            title="Each preset's simulated sample dies at 1 / lifespan",
            published="deaths per cell per day = 1 / lifespan",
            source="Sender & Milo 2021 (lifespans)",
            simulated=(
                f"{len(table)} presets; simulated / expected {table['ratio'].min():.3f}-"
                f"{table['ratio'].max():.3f}"
            ),
            passed=bool(worst <= 0.05),
            criterion="every preset within 5% (with a step of lifespan / "
            f"{cfg.turnover.steps_per_lifespan}, at most 1 day)",
            figure=vf.plot_turnover_ratio(table, 0.05, figs / "turnover_simulated.png"),
            notes=[
                "The model draws a death per step with probability 1 - exp(-dt / lifespan), so "
                "its deaths per day are (1 - exp(-dt/L)) / dt, short of 1/L by ~dt/(2L). At the "
                "default step of 1 day the gut presets (L = 2.8 d) turn over "
                + (f"{100 * (1 - si_dt1):.0f}% " if math.isfinite(si_dt1) else "~16% ")
                + "too slowly (open markers in the figure): scenarios with short-lived cells "
                "need dt_days well below their lifespan.",
            ],
        ),
    ]
    return checks, table


def blood_checks(cfg: ValidationConfig, br: BloodRun, figs: Path) -> list[CheckResult]:

    tr = br.trajectories
    start = br.start_age_years + cfg.blood.fit_from_year
    slopes = {}
    for name in ("hsc", "blood"):
        d = tr[(tr["tissue"] == name) & (tr["age_years"] >= start - 1e-9)]
        slopes[name] = -float(np.polyfit(d["age_years"], d["telomere_mean_bp"], 1)[0])
    per_year = br.hsc_divisions / br.hsc_cells / br.years
    weeks = DAYS_PER_YEAR / per_year / 7.0 if per_year > 0 else math.inf
    ages = f"ages {br.start_age_years:.0f}-{br.start_age_years + br.years:.0f}"
    fig = vf.plot_blood(tr, slopes, start, 30.0, "Mitchell 2022", figs / "blood_telomeres.png")
    tel = PRESETS["hsc"].fields["telomere"]["telomerase_stem"]
    return [
        CheckResult(
            key="hsc_division_interval",
            title="HSCs divide about once per 40 weeks",
            published="~40 weeks between divisions",
            source="Catlin 2011",
            simulated=f"{weeks:.1f} weeks ({per_year:.2f} divisions per HSC per year, {ages})",
            passed=bool(abs(weeks / (HSC_DIVISION_INTERVAL_DAYS / 7) - 1) <= 0.10),
            criterion="within 10% of 40 weeks (chosen tolerance)",
            figure=vf.plot_hsc_divisions(
                tr,
                br.hsc_cells,
                br.start_age_years,
                HSC_DIVISION_INTERVAL_DAYS / 7,
                "Catlin 2011",
                figs / "hsc_divisions.png",
            ),
            notes=[
                "Not a free prediction: the presets size the blood sample and the HSC "
                "compartment so that supplying every new blood cell takes one HSC division per "
                "280 days. The check confirms the supply path delivers that rate (the residual "
                "is the step's discretisation, (1 - exp(-dt/6.6))/dt vs 1/6.6).",
            ],
        ),
        CheckResult(
            key="hsc_attrition",
            title="HSC telomeres shorten by about 30 bp per year",
            published="~30 bp/year",
            source="Mitchell 2022",
            simulated=f"{slopes['hsc']:.1f} bp/year ({ages})",
            passed=bool(25.0 <= slopes["hsc"] <= 35.0),
            criterion="25-35 bp/year (about 30; tolerance chosen)",
            figure=fig,
            notes=[
                f"Chosen, not sourced: HSC telomerase activity {tel} (loss scaled by 1 - a), "
                "set so that 100 bp per division x 1.30 divisions per year x (1 - a) = 30 "
                "bp/year. The check is thus a consistency check of the stem-supply machinery "
                "(division rate emerging from supply, telomerase scaling), not an independent "
                "test of Mitchell's number.",
            ],
        ),
        CheckResult(
            key="leukocyte_attrition",
            title="Adult leukocyte telomeres shorten by 25-40 bp per year",
            published="25-40 bp/year",
            source="Muezzinler 2013; Ye 2023",
            simulated=f"{slopes['blood']:.1f} bp/year ({ages})",
            passed=bool(25.0 <= slopes["blood"] <= 40.0),
            criterion="within 25-40 bp/year",
            figure=vf.plot_leukocytes(
                tr,
                slopes,
                start,
                (25.0, 40.0),
                "25-40 bp/year (Muezzinler 2013; Ye 2023)",
                figs / "leukocyte_telomeres.png",
            ),
            notes=[
                "In the blood preset every new leukocyte comes from an HSC division (mature "
                "blood cells do not divide), so leukocytes track their HSCs with a fixed offset "
                "and their attrition rate equals the HSCs': this check follows from the HSC one "
                "and tests that no local divisions add to it. The fast shortening of early "
                "childhood is not modelled (HSCs divide at one rate for life).",
            ],
        ),
    ]


# ======================================================================================
# report
# ======================================================================================
def _md_table(df: pd.DataFrame, floatfmt: str = ".3g") -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for _, row in df.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, float):
                cells.append("" if math.isnan(v) else format(v, floatfmt))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def discussion_lines(cfg: ValidationConfig, ca: CultureAnalysis) -> list[str]:
    """The discussion of PD versus divisions, with this run's numbers."""
    main = ca.sensitivity.loc[ca.sensitivity["loss_bp_per_division"] == ca.loss_bp].iloc[0]
    tel = cfg.culture.params.telomere
    d = float(main["phase2_divisions_per_pd"])
    loss = ca.loss_bp
    budget = (9500.0 - tel.senescence_threshold_bp) / (loss * d)
    sens = ca.sensitivity.dropna(subset=["pd_per_kb"])
    w = 1.0 / np.square(sens["pd_per_kb_se"].fillna(sens["pd_per_kb_se"].max()).to_numpy())
    prod = (sens["pd_per_kb"] * sens["loss_bp_per_division"]).to_numpy()
    k = float(np.sum(w * prod) / np.sum(w)) if np.isfinite(w).all() and len(w) else ca.slope * loss
    return [
        "## Discussion: population doublings versus divisions",
        "",
        "Allsopp's 7-10 PD per kb of initial telomere means that a PD costs 100-140 bp of the "
        "telomere that limits division, while the loss per division measured in culture is "
        "50-200 bp, often 50-100 (Harley 1990). In the simulated culture the two are related "
        "as follows.",
        "",
        "1. **PD counts cells, not divisions.** With a constant division hazard (memoryless "
        "cell cycles, MODEL.md's rate convention) a randomly picked cell of a growing culture "
        "has divided 2 ln 2 = 1.39 times per population doubling, because lineages that "
        "happened to divide often are over-represented. In phase II (PD 5-20) the simulated "
        f"cells gained {d:.2f} divisions per PD and the mean telomere fell "
        f"{main['phase2_bp_per_pd']:.0f} bp per PD at {loss:g} bp per division.",
        f"2. **So each extra kb buys at least 1000 / (loss x {d:.2f}) PD**: "
        f"{1000 / (loss * d):.1f} PD/kb at {loss:g} bp per division. The simulated slope is "
        f"steeper, {ca.slope:.1f} PD/kb, and it is steeper than this prediction at every loss "
        "in the table below: a strain that runs longer also reaches further into the tail of "
        "lineages that divided least (the spread of division counts among cells grows as a "
        f"culture runs). Across the losses simulated, PD/kb x bp/division is about {k:.0f}, so "
        f"7-10 PD/kb corresponds here to ~{k / 10:.0f}-{k / 7:.0f} bp per division: the top "
        "of the often-quoted 50-100 bp and above it, inside the 50-200 bp range. A cell cycle "
        "less variable than exponential moves the divisions per PD toward 1 and the matching "
        "loss up; the memoryless cycle is the model's assumption, not a measured fact.",
        "3. **The end of a culture is set by its last dividing lineages**, those that "
        "started longest and divided least often, so the PD at senescence "
        f"({main['pd_at_senescence_9500bp']:.0f} PD for a 9.5-kb strain) exceeds the mean "
        f"lineage's budget, (9500 - {tel.senescence_threshold_bp:g}) / ({loss:g} x {d:.2f}) "
        f"= {budget:.0f} PD. How far beyond depends on the cell-to-cell spread of initial "
        f"lengths ({tel.initial_sd_bp:g} bp) and the dish size "
        f"({cfg.culture.params.dish_cells} cells: how far into the tail the founders reach), "
        "both chosen values.",
        "",
        "Sensitivity (the same culture with other losses per division; not a check):",
        "",
    ]


def conclusion_lines(ca: CultureAnalysis) -> list[str]:
    """What the sensitivity runs say about the loss per division."""
    sens = ca.sensitivity
    low = sens.loc[sens["loss_bp_per_division"] < ca.loss_bp]
    text = (
        "With the 5-kb critical length (chosen), a loss near "
        f"{ca.loss_bp:g} bp per division puts both the Hayflick limit and the PD-per-kb slope "
        "inside their published ranges"
    )
    if len(low):
        parts = [
            f"{r.loss_bp_per_division:g} bp gives {r.pd_at_senescence_9500bp:.0f} PD and "
            f"{r.pd_per_kb:.1f} PD/kb"
            for r in low.itertuples()
        ]
        text += "; lower losses overshoot: " + "; ".join(parts)
    text += (
        ". Harley's 50 bp per PD is the loss of the mean TRF over all chromosome ends, while "
        "the model's single telomere per cell is the critical one; the published numbers fit "
        "together if the critical telomere shortens faster than the mean. That is an "
        "interpretation, not something these checks establish."
    )
    return [text, ""]


def write_report(
    folder: Path,
    cfg: ValidationConfig,
    checks: list[CheckResult],
    ca: CultureAnalysis,
    turnover: pd.DataFrame,
    seconds: float,
) -> Path:
    """report.md: the table, one section per check, the discussion."""
    n_fail = sum(not c.passed for c in checks)
    status = "all checks pass" if n_fail == 0 else f"{n_fail} of {len(checks)} checks FAIL"
    mode = "quick (reduced)" if cfg.quick_mode else "full"
    table = pd.DataFrame(
        {
            "check": [f"[{c.title}](#{c.key.replace('_', '-')})" for c in checks],
            "published": [f"{c.published} ({c.source})" for c in checks],
            "simulated": [c.simulated for c in checks],
            "result": ["pass" if c.passed else "**FAIL**" for c in checks],
        }
    )
    sens = ca.sensitivity.rename(
        columns={
            "loss_bp_per_division": "loss (bp/division)",
            "strains": "strains",
            "pd_at_senescence_9500bp": "PD at senescence (9.5 kb)",
            "pd_per_kb": "PD per kb (fit)",
            "pd_per_kb_se": "SE",
            "predicted_pd_per_kb": "1000 / (loss x divisions per PD)",
            "naive_pd_per_kb": "1000 / loss",
            "phase2_bp_per_pd": "phase II: bp lost per PD",
            "phase2_divisions_per_pd": "phase II: divisions per cell per PD",
        }
    )
    lines = [
        "# cellsim: validation against published biology",
        "",
        f"`cellsim validate-biology` ({mode} mode), cellsim {__version__}, Python "
        f"{platform.python_version()}, {seconds:.0f} s on this machine. Settings: "
        "`scenarios/validation/validation.toml` and `scenarios/validation/blood.toml`; seed "
        f"entropy {cfg.seed}. Result: **{status}**.",
        "",
        "Every parameter value comes from the sources in `docs/references.md` (via MODEL.md) or "
        "is marked *chosen* below; none was tuned to make a check pass. A failing check is "
        "reported as failing, with what is known about why.",
        "",
        _md_table(table),
        "",
    ]
    for c in checks:
        lines += [
            f"## {c.title}",
            f'<a id="{c.key.replace("_", "-")}"></a>',
            "",
            f"- Published: {c.published} ({c.source})",
            f"- Simulated: {c.simulated}",
            f"- Criterion: {c.criterion}",
            f"- Result: {'pass' if c.passed else '**FAIL**'}",
            "",
        ]
        if c.figure:
            lines += [f"![{c.key}](figures/{Path(c.figure).name})", ""]
        for note in c.notes:
            lines += [note, ""]
    lines += [
        *discussion_lines(cfg, ca),
        _md_table(sens),
        "",
        *conclusion_lines(ca),
        "## Values chosen (no published number)",
        "",
        "- Culture: dish size, split at full confluence, division hazard ln 2/day, stress "
        "senescence 0.01/day, 28 days without a doubling = senescent, plating efficiency 1, "
        "no death; cell-to-cell initial SD 700 bp and loss SD 30 bp; critical length 5 kb.",
        "- Presets: neutrophil count 4.0e11 derived from Sender & Milo's turnover x lifespan; "
        "HSC sample 100,000 (inside 20,000-200,000), HSC telomerase 0.77, HSC lifespan 1e9 d; "
        "blood sample 2357 cells (sized to the 40-week HSC division interval).",
        "- Check thresholds marked 'chosen' in their criteria.",
        "",
        "Tables: `culture_strains.csv`, `culture_growth.csv`, `culture_sensitivity.csv`, "
        "`turnover.csv`, `blood_trajectories.csv`, `checks.json`.",
        "",
    ]
    path = folder / "report.md"
    write_text(path, "\n".join(lines))
    return path


def run_validation(
    out_dir: str | Path,
    *,
    quick: bool = False,
    workers: int = 2,
    config: str | Path | None = None,
    console: Any = None,
) -> tuple[list[CheckResult], Path]:
    """Run every check, write the report folder (atomically); raise ChecksFailed after
    writing when a check fails. Returns the checks and the report path."""
    t0 = time.perf_counter()
    out_dir = check_output_dir(out_dir)
    cfg = load_config(config, quick=quick)
    bp = blood_params(cfg)
    tasks = [
        Task("blood", "blood", bp, cfg.seed),
        *culture_tasks(cfg),
        *turnover_tasks(cfg),
    ]
    done = [0]

    def progress(name: str) -> None:
        done[0] += 1
        if console is not None:
            console.print(f"[{done[0]}/{len(tasks)}] {name}", markup=False, highlight=False)

    results = run_tasks(tasks, workers=workers, progress=progress)
    with atomic_dir(out_dir) as tmp:
        figs = tmp / "figures"
        figs.mkdir(parents=True, exist_ok=True)
        ca = analyse_culture(cfg, results)
        checks = culture_checks(cfg, ca, figs)
        tchecks, ttable = turnover_checks(cfg, results, figs)
        checks += tchecks
        checks += blood_checks(cfg, results["blood"], figs)
        for c in checks:
            c.figure = Path(c.figure).name if c.figure else ""
        seconds = time.perf_counter() - t0
        write_csv(tmp / "culture_strains.csv", ca.strains)
        write_csv(tmp / "culture_growth.csv", ca.growth)
        write_csv(tmp / "culture_sensitivity.csv", ca.sensitivity)
        write_csv(tmp / "turnover.csv", ttable)
        write_csv(tmp / "blood_trajectories.csv", results["blood"].trajectories)
        write_json(tmp / "checks.json", [asdict(c) for c in checks])
        write_report(tmp, cfg, checks, ca, ttable, seconds)
        write_json(
            tmp / MANIFEST,
            {
                "kind": "validate-biology",
                "mode": "quick" if cfg.quick_mode else "full",
                "cellsim_version": __version__,
                "python": platform.python_version(),
                "numpy": np.__version__,
                "seed_entropy": cfg.seed,
                "seconds": round(seconds, 1),
                "passed": sum(c.passed for c in checks),
                "failed": [c.key for c in checks if not c.passed],
            },
        )
    report = Path(out_dir) / "report.md"
    if console is not None:
        for c in checks:
            mark = "pass" if c.passed else "FAIL"
            console.print(f"{mark:4}  {c.title}: {c.simulated}", markup=False, highlight=False)
        console.print(f"wrote {report} ({time.perf_counter() - t0:.0f} s)", markup=False)
    failed = [c.key for c in checks if not c.passed]
    if failed:
        raise ChecksFailed(
            f"validate-biology: {len(failed)} of {len(checks)} checks failed "
            f"({', '.join(failed)}); see {report}"
        )
    return checks, report


def checks_table(checks: Iterable[CheckResult]) -> pd.DataFrame:
    """The report's table as a DataFrame."""
    return pd.DataFrame(
        [
            {"check": c.key, "published": c.published, "simulated": c.simulated, "passed": c.passed}
            for c in checks
        ]
    )
