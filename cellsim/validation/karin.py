"""Senescent cells' production and saturating removal (Karin et al. 2019) against the
continuous-time equation of :mod:`analysis.karin_ode`.

One well-mixed tissue with Karin's human rates: stress senescence at ``eta * age`` per
cycling cell, clearance ``r0 / (1 + s/K)`` per senescent cell, no telomere loss (so no
replicative senescence) and no transformation. Every vacancy is refilled by a division of
a cycling cell, so the senescent fraction ``s`` follows
``ds/dt = eta t (1 - s) - r0 s / (1 + s/K)`` exactly in continuous time. Two checks:

* **step size**: the mean senescent fraction over seeds agrees with the equation within
  2% at every age where the equation's fraction exceeds 0.005, at every step size
  (results must not depend on ``dt_days``);
* **insult, young vs old**: after an insult that makes a fraction of the cycling cells
  senescent, the half-life of the excess (insult arm minus control arm) agrees with the
  equation's at a young and an old age, and is longer at the old one.

Each check is a function returning one :class:`CheckResult`, its published value from
:mod:`cellsim.validation.published`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import validation_figures
from analysis.karin_ode import (
    HALF,
    KarinParams,
    half_life_days,
    insult_excess,
    insult_half_life_days,
    senescent_fraction,
)
from cellsim.engine.params import DAYS_PER_YEAR, Insult, ModelParams, RunParams, TissueParams
from cellsim.validation.config import ValidationConfig
from cellsim.validation.published import (
    KARIN_CONTINUOUS_TIME,
    KARIN_HALF_LIFE_RISES,
    KARIN_HALF_SATURATION,
    KARIN_PRODUCTION_SLOPE_HUMAN,
    KARIN_REMOVAL_PER_CELL_PER_DAY,
)
from cellsim.validation.report import CheckResult, against
from cellsim.validation.tasks import Task

__all__ = [
    "ConvergenceAnalysis",
    "ConvergenceRun",
    "InsultAnalysis",
    "InsultPair",
    "InsultTiming",
    "analyse_convergence",
    "analyse_insult",
    "convergence_params",
    "convergence_runs",
    "insult_check",
    "insult_params",
    "insult_timing",
    "karin_checks",
    "karin_ode_params",
    "karin_tasks",
    "karin_tissue",
    "run_insult_pair",
    "run_senescent_fraction",
    "step_size_check",
]

STEP_TOLERANCE = 0.02
"""Chosen: at every step size and compared age, the mean simulated senescent fraction
within this fraction of the equation's."""
N_SE_INSULT = 3.0
"""Chosen: each simulated half-life within this many standard errors (jackknife over the
pairs of runs) of the equation's."""


# --- the tissue ---------------------------------------------------------------------------
def karin_tissue(cfg: ValidationConfig, n_cells: int) -> TissueParams:
    """The well-mixed tissue of the checks: Karin's human rates (published.py), no telomere
    loss, every founder cycling (no spread of initial telomeres, so none starts below the
    critical length), no transformation; turnover at the chosen ``lifespan_days``."""
    return TissueParams.model_validate(
        {
            "name": "tissue",
            "n_cells": n_cells,
            "lifespan_days": cfg.karin.lifespan_days,
            "telomere": {"initial_sd_bp": 0.0, "loss_mean_bp": 0.0, "loss_sd_bp": 0.0},
            "stress": {
                "rate_per_day": 0.0,
                "age_slope_per_day_per_year": KARIN_PRODUCTION_SLOPE_HUMAN.value,
                "epigenetic_slope_per_day_per_year": 0.0,
                "age_dependent": True,
            },
            "clearance": {
                "rate_per_day": KARIN_REMOVAL_PER_CELL_PER_DAY.value,
                "half_saturation_fraction": KARIN_HALF_SATURATION.value,
                "saturating": True,
            },
            "transformation": {"probability_per_division": 0.0},
        }
    )


def karin_ode_params(tissue: TissueParams) -> KarinParams:
    """The equation's parameters, read from the simulated tissue's (so both use the same
    numbers). Every epigenetic clock starts at birth (``epi_origin_day = 0``): founders
    read the organism's age and daughters inherit their parent's clock."""
    return KarinParams.from_tissue(tissue.model_dump())


# --- runs ---------------------------------------------------------------------------------
def _records(params: ModelParams, seed: Any) -> pd.DataFrame:
    from cellsim.engine.model import AgingModel

    m = AgingModel(params, rng=np.random.default_rng(seed)).run()
    tr = m.trajectories()
    return tr.loc[tr["tissue"] == m.primary.name].reset_index(drop=True)


def run_senescent_fraction(params: ModelParams, seed: Any) -> pd.DataFrame:
    """One run's records: ``day`` and ``senescent_fraction``."""
    return _records(params, seed)[["day", "senescent_fraction"]]


@dataclass
class InsultPair:
    """A control run and an insult run from one seed (identical up to the insult):
    ``days`` recorded, the senescent fraction of each, the cells the insult made senescent
    and the tissue's slots."""

    days: np.ndarray
    control: np.ndarray
    insult: np.ndarray
    insulted: int
    n_cells: int


def run_insult_pair(payload: tuple[ModelParams, ModelParams], seed: Any) -> InsultPair:
    """Run ``(control, insult)`` with the same seed."""
    control_params, insult_params = payload
    c = _records(control_params, seed)
    i = _records(insult_params, seed)
    if not np.array_equal(c["day"].to_numpy(), i["day"].to_numpy()):
        raise RuntimeError("control and insult runs recorded different days")
    return InsultPair(
        days=c["day"].to_numpy(),
        control=c["senescent_fraction"].to_numpy(),
        insult=i["senescent_fraction"].to_numpy(),
        insulted=int(i["insult_senescence_cumulative"].iloc[-1]),
        n_cells=insult_params.tissues[0].n_cells,
    )


@dataclass(frozen=True)
class ConvergenceRun:
    """One run of the step-size check: its task ``name``, step ``dt_days``, cells and
    horizon (years from birth)."""

    name: str
    dt_days: float
    n_cells: int
    horizon_years: float


def convergence_runs(cfg: ValidationConfig) -> list[ConvergenceRun]:
    """Per step size: ``seeds`` runs to the horizon, and ``young_seeds`` runs of
    ``young_n_cells`` over the first ``young_years`` (where the fraction is smallest and
    its relative noise largest; they cost little)."""
    c = cfg.karin.convergence
    young = min(c.young_years, c.horizon_years)
    runs = []
    for dt in c.dt_days:
        runs += [
            ConvergenceRun(f"karin-dt/{dt:g}/r{r}", dt, c.n_cells, c.horizon_years)
            for r in range(c.seeds)
        ]
        runs += [
            ConvergenceRun(f"karin-dt/{dt:g}/young{r}", dt, c.young_n_cells, young)
            for r in range(c.young_seeds)
        ]
    return runs


def convergence_params(cfg: ValidationConfig, run: ConvergenceRun) -> ModelParams:
    """The step-size check's ``run``, from birth to its horizon."""
    c = cfg.karin.convergence
    settings = RunParams(
        dt_days=run.dt_days,
        horizon_days=run.horizon_years * DAYS_PER_YEAR,
        record_interval_days=c.record_interval_days,
        stop_at="horizon",
    )
    return ModelParams(tissues=[karin_tissue(cfg, run.n_cells)], run=settings)


@dataclass(frozen=True)
class InsultTiming:
    """Organism ages (days) of an insult check's run: founded at ``start_day``, insult at
    ``insult_day``, end at ``end_day``; all on the record grid."""

    age_years: float
    start_day: float
    insult_day: float
    end_day: float


def insult_timing(cfg: ValidationConfig, age_years: float) -> InsultTiming:
    """The insult at ``age_years`` rounded to the record grid; warm-up and follow-up whole
    records long."""
    i = cfg.karin.insult
    grid = i.record_interval_days
    insult_day = round(age_years * DAYS_PER_YEAR / grid) * grid
    start = insult_day - math.ceil(i.warmup_days / grid - 1e-9) * grid
    end = insult_day + math.ceil(i.follow_days / grid - 1e-9) * grid
    return InsultTiming(age_years, start, insult_day, end)


def insult_params(cfg: ValidationConfig, timing: InsultTiming) -> tuple[ModelParams, ModelParams]:
    """The control and insult runs of one age."""
    i = cfg.karin.insult
    run = RunParams(
        dt_days=i.dt_days,
        start_age_days=timing.start_day,
        horizon_days=timing.end_day - timing.start_day,
        record_interval_days=i.record_interval_days,
        stop_at="horizon",
    )
    tissue = karin_tissue(cfg, i.n_cells)
    control = ModelParams(tissues=[tissue], run=run)
    hit = Insult(age_days=timing.insult_day, fraction=i.fraction)
    return control, ModelParams(tissues=[tissue], run=run, interventions=[hit])


def karin_tasks(cfg: ValidationConfig) -> list[Task]:
    """Every step size x seed of the step-size check; every age x pair of the insult check."""
    i = cfg.karin.insult
    tasks = [
        Task(run.name, run_senescent_fraction, convergence_params(cfg, run), cfg.seed)
        for run in convergence_runs(cfg)
    ]
    for age in i.ages_years:
        payload = insult_params(cfg, insult_timing(cfg, age))
        tasks += [
            Task(f"karin-insult/{age:g}y/r{r}", run_insult_pair, payload, cfg.seed)
            for r in range(i.seeds)
        ]
    return tasks


# --- the step-size check's numbers ------------------------------------------------------
@dataclass
class ConvergenceAnalysis:
    """``table``: one row per step size and window (``dt_days``, ``age_years`` at the
    window's end, ``runs`` covering it and their ``records`` each, the equation's mean
    ``ode`` and the simulated ``sim_mean`` +- ``sim_se`` over runs, ``rel_error`` +-
    ``rel_se`` (relative to the equation), ``compared``); ``worst``: per step size, the
    compared window with the largest |relative error|."""

    table: pd.DataFrame
    worst: pd.DataFrame


def _window_index(days: np.ndarray, window_days: float) -> np.ndarray:
    """Window k holds the days in ((k - 1) w, k w]; day 0 (the founding) is window 0."""
    return np.ceil(days / window_days - 1e-9).astype(np.int64)


def _window_means(
    records: pd.DataFrame, ode_at: Mapping[float, float], window_days: float, last: int
) -> pd.DataFrame:
    """One run's window means (``sim``, ``ode`` on the same days) and record counts, for
    the whole windows 1..``last`` (the run's final record, at the first step past its
    horizon, would otherwise make a window of one)."""
    d = records["day"].to_numpy()
    frame = pd.DataFrame(
        {
            "k": _window_index(d, window_days),
            "sim": records["senescent_fraction"].to_numpy(),
            "ode": [ode_at[x] for x in d],
        }
    )
    g = frame[(frame["k"] > 0) & (frame["k"] <= last)].groupby("k")
    return g.mean().assign(records=g.size())


def _weighted(sim: pd.DataFrame, cells: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """Per window (rows), the mean of the runs' window means (columns; NaN: not covered)
    weighted by their cells, and its standard error: a run of N cells has variance c / N,
    c estimated from the spread (equal cells: the plain mean and sd / sqrt(runs))."""
    w = np.where(sim.notna(), cells[None, :], 0.0)
    total = w.sum(axis=1)
    mean = (sim.fillna(0.0) * w).sum(axis=1) / total
    n = (w > 0).sum(axis=1)
    resid = sim.sub(mean, axis=0).fillna(0.0)
    c = (w * resid**2).sum(axis=1) / np.maximum(n - 1, 1)
    se = np.sqrt(c / total).where(n > 1)
    return mean, se


def analyse_convergence(cfg: ValidationConfig, results: Mapping[str, Any]) -> ConvergenceAnalysis:
    """Window means of every run's records (whole windows within its horizon), their
    cell-weighted mean and standard error over the runs covering each window, and the
    equation's mean over the same record days."""
    c = cfg.karin.convergence
    p = karin_ode_params(karin_tissue(cfg, c.n_cells))
    runs = convergence_runs(cfg)
    all_days = np.unique(np.concatenate([results[r.name]["day"].to_numpy() for r in runs]))
    ode_at = dict(zip(all_days, senescent_fraction(p, all_days), strict=True))
    window = c.window_years * DAYS_PER_YEAR
    rows = []
    for dt in c.dt_days:
        mine = [r for r in runs if r.dt_days == dt]
        means = [
            _window_means(
                results[r.name], ode_at, window, math.floor(r.horizon_years / c.window_years + 1e-9)
            )
            for r in mine
        ]
        sim = pd.concat([m["sim"] for m in means], axis=1)
        ode = pd.concat([m["ode"] for m in means], axis=1).mean(axis=1)
        mean, se = _weighted(sim, np.array([r.n_cells for r in mine], dtype=float))
        rows.append(
            pd.DataFrame(
                {
                    "dt_days": dt,
                    "age_years": sim.index.to_numpy() * c.window_years,
                    "runs": sim.notna().sum(axis=1).to_numpy(),
                    "records": means[0]["records"].reindex(sim.index).to_numpy(),
                    "ode": ode.to_numpy(),
                    "sim_mean": mean.to_numpy(),
                    "sim_se": se.to_numpy(),
                    "rel_error": (mean / ode - 1).to_numpy(),
                    "rel_se": (se / ode).to_numpy(),
                    "compared": (ode > c.min_fraction).to_numpy(),
                }
            )
        )
    table = pd.concat(rows, ignore_index=True)
    cmp = table[table["compared"]]
    worst = cmp.loc[cmp["rel_error"].abs().groupby(cmp["dt_days"], sort=False).idxmax()]
    n_cmp = cmp.groupby("dt_days").size().rename("compared_windows")
    worst = worst.merge(n_cmp, left_on="dt_days", right_index=True)
    return ConvergenceAnalysis(table, worst.reset_index(drop=True))


# --- the insult check's numbers -----------------------------------------------------------
@dataclass
class InsultAnalysis:
    """``curves``: per age and day after the insult, the simulated mean excess +- SE over
    pairs and the equation's excess on the same days (0 days after: right after the
    insult); ``fine``: the equation's excess on a fine grid (for the figure);
    ``half_lives``: per age, the simulated half-life +- SE (jackknife over pairs), the
    equation's on the record days (same estimator) and its exact value (days)."""

    curves: pd.DataFrame
    fine: pd.DataFrame
    half_lives: pd.DataFrame
    pairs: int
    n_cells: int


def _jackknife_se(rows: np.ndarray, days_after: np.ndarray) -> float:
    """Jackknife standard error of the half-life of the mean excess over ``rows``
    (pairs x times)."""
    n = rows.shape[0]
    total = rows.sum(axis=0)
    loo = np.array([half_life_days(days_after, (total - rows[j]) / (n - 1)) for j in range(n)])
    if not np.all(np.isfinite(loo)):
        return math.nan
    return float(math.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))


def _insult_age(
    cfg: ValidationConfig, p: KarinParams, timing: InsultTiming, pairs: list[InsultPair]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    f = cfg.karin.insult.fraction
    days = pairs[0].days
    after = days >= timing.insult_day - 1e-9
    days_after = days[after] - timing.insult_day
    # row j: pair j's excess; at 0 days after, the cells the insult made senescent (the
    # record on the insult day precedes it, and both runs are identical up to it)
    rows = np.array([pr.insult[after] - pr.control[after] for pr in pairs])
    rows[:, 0] = [pr.insulted / pr.n_cells for pr in pairs]
    mean = rows.mean(axis=0)
    se = rows.std(axis=0, ddof=1) / math.sqrt(rows.shape[0])
    kw = {"start_day": timing.start_day, "s0": 0.0}
    ode = insult_excess(p, timing.insult_day, f, days_after, **kw)["excess"].to_numpy()
    fine_days = np.linspace(0.0, float(days_after[-1]), 301)
    fine = insult_excess(p, timing.insult_day, f, fine_days, **kw)
    curves = pd.DataFrame(
        {
            "age_years": timing.age_years,
            "insult_day": timing.insult_day,
            "days_after": days_after,
            "sim_excess": mean,
            "sim_se": se,
            "ode_excess": ode,
        }
    )
    half = {
        "age_years": timing.age_years,
        "insult_day": timing.insult_day,
        "sim": half_life_days(days_after, mean),
        "sim_se": _jackknife_se(rows, days_after),
        "ode": half_life_days(days_after, ode),
        "ode_exact": insult_half_life_days(p, timing.insult_day, f, **kw),
        "excess0_sim": float(mean[0]),
        "excess0_ode": float(ode[0]),
    }
    fine_frame = pd.DataFrame(
        {"age_years": timing.age_years, "days_after": fine_days, "excess": fine["excess"]}
    )
    return curves, fine_frame, half


def analyse_insult(cfg: ValidationConfig, results: Mapping[str, Any]) -> InsultAnalysis:
    """The mean excess and its half-life at each age, simulated and from the equation."""
    i = cfg.karin.insult
    p = karin_ode_params(karin_tissue(cfg, i.n_cells))
    curves, fine, halves = [], [], []
    for age in i.ages_years:
        pairs = [results[f"karin-insult/{age:g}y/r{r}"] for r in range(i.seeds)]
        c, f, h = _insult_age(cfg, p, insult_timing(cfg, age), pairs)
        curves.append(c)
        fine.append(f)
        halves.append(h)
    return InsultAnalysis(
        pd.concat(curves, ignore_index=True),
        pd.concat(fine, ignore_index=True),
        pd.DataFrame(halves),
        i.seeds,
        i.n_cells,
    )


# --- checks -------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{100 * x:+.1f}%"


def _ode_levels(table: pd.DataFrame, ages_years: tuple[float, ...]) -> str:
    """'x% at a years, ...': the equation's window means at the given ages (if simulated)."""
    first = table[table["dt_days"] == table["dt_days"].iloc[0]].set_index("age_years")["ode"]
    return ", ".join(f"{100 * first[a]:.1f}% at {a:g} years" for a in ages_years if a in first)


def step_size_check(cfg: ValidationConfig, ca: ConvergenceAnalysis, figs: Path) -> CheckResult:
    """At every step size, the mean senescent fraction is within 2% of the equation's at
    every age where the equation's exceeds the smallest compared fraction."""
    c = cfg.karin.convergence
    ref = KARIN_CONTINUOUS_TIME
    w = ca.worst
    key = "karin_step_size"
    title = "The senescent fraction follows the continuous-time equation at every step size"
    per_dt = "; ".join(
        f"dt {r.dt_days:g} d: {_pct(r.rel_error)} +- {100 * r.rel_se:.1f}% (age {r.age_years:g})"
        for r in w.itertuples()
    )
    simulated = f"worst relative error per step: {per_dt}"
    passed = bool(
        len(w) == len(c.dt_days)
        and (w["compared_windows"] > 0).all()
        and (w["rel_error"].abs() <= STEP_TOLERANCE).all()
    )
    criterion = (
        f"at every step size ({', '.join(f'{d:g}' for d in c.dt_days)} d) and every age "
        f"whose equation fraction exceeds {c.min_fraction:g}: within "
        f"{100 * STEP_TOLERANCE:g}% (chosen) of the equation"
    )
    figure = validation_figures.plot_karin_convergence(
        ca.table,
        STEP_TOLERANCE,
        c.min_fraction,
        f"equation ({ref.source})",
        figs / "karin_step_size.png",
    )
    big = ca.table[ca.table["compared"]]
    young = min(c.young_years, c.horizon_years)
    notes = [
        f"Per step size: {c.seeds} runs of {c.n_cells} cells from birth to "
        f"{c.horizon_years:g} years, and {c.young_seeds} of {c.young_n_cells} cells to "
        f"{young:g} years (the first years' small fraction is the noisiest relative to "
        "itself). Compared values: the mean of each "
        f"{c.window_years:g}-year window's records (every {c.record_interval_days:g} days), "
        "simulated and from the equation on the same days; the simulated value is the mean "
        "over the runs covering the window, weighted by their cells, +- one standard "
        "error. Largest standard error of a compared window: "
        f"{100 * big['rel_se'].max():.2f}% of the equation's value.",
        "Inputs (cellsim/validation/published.py): Karin 2019's human production slope "
        f"eta = {KARIN_PRODUCTION_SLOPE_HUMAN.value:g} per day per year as the stress "
        "hazard's age slope; removal r0 = beta / kappa = "
        f"{KARIN_REMOVAL_PER_CELL_PER_DAY.value:.2f} per day, saturating with "
        f"K = kappa = {KARIN_HALF_SATURATION.value:g}. Chosen: Karin's X (arbitrary units) "
        "read as the senescent fraction of the slots, production as a hazard of each "
        "cycling cell (so it is eta t (1 - s)), the tissue's lifespan "
        f"({cfg.karin.lifespan_days:g} d; turnover replaces a cycling cell by a cycling "
        "daughter and does not enter the equation). No telomere loss and no "
        "transformation: no other way in or out of senescence.",
        "With this mapping the fraction is large: the equation gives "
        + _ode_levels(ca.table, (10.0, 40.0, 70.0, 100.0))
        + ". The check is of the numerics (does the answer depend on the step?), not of "
        "the size of the senescent burden in human tissue.",
    ]
    return against(ref, key, title, simulated, passed, criterion, figure, notes)


def insult_check(cfg: ValidationConfig, ia: InsultAnalysis, figs: Path) -> CheckResult:
    """At both ages the simulated half-life of an insult's excess is within 3 SE of the
    equation's, and it is longer at the old age than at the young one."""
    i = cfg.karin.insult
    ref = KARIN_HALF_LIFE_RISES
    h = ia.half_lives
    young, old = h.iloc[0], h.iloc[-1]
    key = "karin_insult_half_life"
    title = "Senescent cells from an insult are cleared more slowly in old age"
    simulated = "; ".join(
        f"age {r.age_years:g}: {r.sim:.2f} +- {r.sim_se:.2f} d (equation {r.ode:.2f} d)"
        for r in h.itertuples()
    )
    within = (h["sim"] - h["ode"]).abs() <= N_SE_INSULT * h["sim_se"]
    passed = bool(within.all() and old["sim"] > young["sim"])
    criterion = (
        f"at ages {young.age_years:g} and {old.age_years:g} years the simulated half-life "
        f"of the excess within {N_SE_INSULT:g} standard errors (chosen; jackknife over "
        f"{ia.pairs} pairs of runs) of the equation's, and longer at "
        f"{old.age_years:g} than at {young.age_years:g}"
    )
    figure = validation_figures.plot_karin_insult(
        ia.curves, ia.fine, h, HALF, figs / "karin_insult.png"
    )
    notes = [
        f"An insult makes {100 * i.fraction:g}% of the cycling cells senescent at once "
        "(cellsim's `insult` intervention), at the end of the day "
        + " and ".join(f"{r.insult_day:g} (age {r.age_years:g})" for r in h.itertuples())
        + f". Each pair of runs (control and insult, {ia.n_cells} cells, step "
        f"{i.dt_days:g} d, records every {i.record_interval_days:g} d) shares its seed, so "
        "the two are identical up to the insult; each run starts from a tissue founded "
        f"{i.warmup_days:g} days before it (the equation starts there too). The excess "
        "right after the insult is the count of cells it made senescent over the slots; "
        "the half-life is the time for the excess to fall to half of that, from the "
        "records by log-linear interpolation, and the equation's on the same days by the "
        "same rule (exact values: "
        + ", ".join(f"{r.ode_exact:.3f} d at {r.age_years:g}" for r in h.itertuples())
        + ").",
        "Karin et al. measured half-lives of days in young mice and weeks in old ones. In "
        "this model the removal of each senescent cell slows as the burden grows "
        "(saturation), but production also rises with age, and an excess of senescent "
        "cells lowers production (it is per cycling cell), which speeds the excess's "
        "decay: with the human rates the equation's half-life rises only from "
        f"{young.ode_exact:.2f} to {old.ode_exact:.2f} days between these ages, not from "
        "days to weeks. The check holds the simulator to the equation, not to that "
        "published contrast.",
    ]
    return against(ref, key, title, simulated, passed, criterion, figure, notes)


def karin_checks(
    cfg: ValidationConfig, results: Mapping[str, Any], figs: Path
) -> tuple[list[CheckResult], pd.DataFrame, pd.DataFrame]:
    """Both checks (figures written to ``figs``), the step-size table and the insult's
    curves."""
    ca = analyse_convergence(cfg, results)
    ia = analyse_insult(cfg, results)
    curves = ia.curves.merge(
        ia.half_lives[["age_years", "sim", "sim_se", "ode", "ode_exact"]].rename(
            columns=lambda c: c if c == "age_years" else f"half_life_{c}"
        ),
        on="age_years",
    )
    return [step_size_check(cfg, ca, figs), insult_check(cfg, ia, figs)], ca.table, curves
