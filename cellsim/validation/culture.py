"""Fibroblast strains in culture: the runs and what is measured on them.

Strains differ only in their initial mean telomere (a grid around :data:`REFERENCE_STRAIN_BP`);
sensitivity strains repeat a few of them with other losses per division. The checks on the
measurements are in :mod:`cellsim.validation.culture_checks`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.culture_growth import day_at_pd
from cellsim.engine.culture import CultureParams, CultureResult, run_culture
from cellsim.validation.config import ValidationConfig
from cellsim.validation.tasks import Task

__all__ = [
    "REFERENCE_STRAIN_BP",
    "CultureAnalysis",
    "analyse_culture",
    "culture_tasks",
    "phase2_loss",
    "phase3_metrics",
]

REFERENCE_STRAIN_BP = 9500.0
"""Initial mean telomere (bp) of the strains whose PD at senescence is the Hayflick limit."""


# --- runs -------------------------------------------------------------------------------
def _culture_params(
    base: CultureParams, initial_mean_bp: float, loss_bp: float | None = None
) -> CultureParams:
    tel = base.telomere.model_copy(update={"initial_mean_bp": initial_mean_bp})
    if loss_bp is not None:
        ratio = base.telomere.loss_sd_bp / base.telomere.loss_mean_bp
        tel = tel.model_copy(update={"loss_mean_bp": loss_bp, "loss_sd_bp": ratio * loss_bp})
    return base.model_copy(update={"telomere": tel})


def _strain_task(name: str, params: CultureParams, entropy: int) -> Task:
    return Task(name, functools.partial(run_culture, strain=name), params, entropy)


def culture_tasks(cfg: ValidationConfig) -> list[Task]:
    """The strain grid (loss as configured) and the sensitivity strains."""
    c = cfg.culture
    tasks = [
        _strain_task(f"culture/L{mean:.0f}/r{r}", _culture_params(c.params, mean), cfg.seed)
        for mean in c.strain_initial_means_bp
        for r in range(c.replicates)
    ]
    tasks += [
        _strain_task(
            f"sensitivity/loss{loss:g}/L{mean:.0f}/r{r}",
            _culture_params(c.params, mean, loss),
            cfg.seed,
        )
        for loss in c.sensitivity_losses_bp
        for mean in c.sensitivity_initial_means_bp
        for r in range(c.sensitivity_replicates)
    ]
    return tasks


# --- one strain -------------------------------------------------------------------------
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


# --- all strains ------------------------------------------------------------------------
@dataclass
class CultureAnalysis:
    """The culture's tables and the PD-per-kb regression of the checked strains.

    ``strains``: one row per checked strain (summary, phase II/III measures); ``growth``:
    their growth curves; ``sensitivity``: one row per loss per division;
    ``sensitivity_strains``: one row per strain of every loss. ``slope`` (PD per kb of
    initial telomere) with its SE and 95% CI; ``loss_bp``: the checked strains' loss per
    division (bp).
    """

    strains: pd.DataFrame
    growth: pd.DataFrame
    sensitivity: pd.DataFrame
    sensitivity_strains: pd.DataFrame
    slope: float
    slope_se: float
    slope_ci: tuple[float, float]
    loss_bp: float


def _strain_table(results: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The checked strains (``culture/...`` tasks): summary rows and growth curves."""
    rows, growth = [], []
    for name, res in results.items():
        if not name.startswith("culture/"):
            continue
        rows.append({**res.row(), **phase3_metrics(res), "phase2": phase2_loss(res)})
        growth.append(res.growth.assign(initial_mean_bp=res.initial_mean_bp))
    strains = pd.DataFrame(rows).sort_values(["initial_mean_bp", "strain"]).reset_index(drop=True)
    strains["phase2_bp_per_pd"] = [p[0] for p in strains.pop("phase2")]
    strains["phase2_divisions_per_pd"] = [phase2_loss(results[s])[1] for s in strains["strain"]]
    return strains, pd.concat(growth, ignore_index=True)


def _by_loss(
    results: Mapping[str, Any], checked: list[CultureResult], loss_bp: float
) -> dict[float, list[CultureResult]]:
    """Strains by loss per division (bp): the checked ones at ``loss_bp``, then the
    sensitivity strains (``sensitivity/loss<bp>/...`` tasks)."""
    by_loss: dict[float, list[CultureResult]] = {loss_bp: checked}
    for name, res in results.items():
        if name.startswith("sensitivity/"):
            loss = float(name.split("/")[1].removeprefix("loss"))
            by_loss.setdefault(loss, []).append(res)
    return by_loss


def _sensitivity_row(loss: float, group: list[CultureResult]) -> dict[str, Any]:
    """PD at senescence, PD per kb and phase-II measures of the strains at one loss (bp)."""
    xs = np.array([r.initial_mean_bp for r in group]) / 1000.0
    ys = np.array([r.pd_at_senescence for r in group])
    at_ref = [r.pd_at_senescence for r in group if abs(r.initial_mean_bp - REFERENCE_STRAIN_BP) < 1]
    p2 = [phase2_loss(r) for r in group]
    div_per_pd = float(np.nanmean([q[1] for q in p2]))
    slope = stats.linregress(xs, ys) if len(set(xs)) > 1 else None
    return {
        "loss_bp_per_division": loss,
        "strains": len(group),
        "pd_at_senescence_9500bp": float(np.median(at_ref)) if at_ref else math.nan,
        "pd_per_kb": float(slope.slope) if slope else math.nan,
        "pd_per_kb_se": float(slope.stderr) if slope and len(xs) > 2 else math.nan,
        "predicted_pd_per_kb": 1000.0 / (loss * div_per_pd),
        "naive_pd_per_kb": 1000.0 / loss,
        "phase2_bp_per_pd": float(np.nanmean([q[0] for q in p2])),
        "phase2_divisions_per_pd": div_per_pd,
    }


def analyse_culture(cfg: ValidationConfig, results: Mapping[str, Any]) -> CultureAnalysis:
    """The tables and regression of the culture runs in ``results`` (by task name)."""
    strains, growth = _strain_table(results)
    x = strains["initial_mean_bp"].to_numpy() / 1000.0
    y = strains["pd_at_senescence"].to_numpy()
    fit = stats.linregress(x, y)
    dof = max(len(x) - 2, 1)
    tq = stats.t.ppf(0.975, dof)
    ci = (fit.slope - tq * fit.stderr, fit.slope + tq * fit.stderr)
    loss_main = cfg.culture.params.telomere.loss_mean_bp
    checked = [results[s] for s in strains["strain"]]
    by_loss = _by_loss(results, checked, loss_main)
    sens = [_sensitivity_row(loss, group) for loss, group in sorted(by_loss.items())]
    sens_rows = [
        {
            "loss_bp_per_division": loss,
            "initial_mean_bp": r.initial_mean_bp,
            "pd_at_senescence": r.pd_at_senescence,
            "strain": r.strain,
        }
        for loss, group in sorted(by_loss.items())
        for r in group
    ]
    return CultureAnalysis(
        strains=strains,
        growth=growth,
        sensitivity=pd.DataFrame(sens),
        sensitivity_strains=pd.DataFrame(sens_rows),
        slope=float(fit.slope),
        slope_se=float(fit.stderr),
        slope_ci=(float(ci[0]), float(ci[1])),
        loss_bp=loss_main,
    )
