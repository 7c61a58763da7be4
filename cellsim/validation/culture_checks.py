"""Checks on fibroblast strains in culture (Hayflick & Moorhead 1961; Allsopp 1992; Allsopp &
Harley 1995): the Hayflick limit, PD per kb of initial telomere, the phase-III slowdown and
smooth rise of non-dividing cells, and the strains' telomere spread at senescence.

Each check is a function of the settings, the culture's analysis and the figures' folder
that returns one :class:`CheckResult`; its published value comes from
:mod:`cellsim.validation.published`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import stats

from analysis import validation_figures
from cellsim.validation.config import ValidationConfig
from cellsim.validation.culture import REFERENCE_STRAIN_BP, CultureAnalysis
from cellsim.validation.published import (
    HAYFLICK_LIMIT_PD,
    PD_PER_KB,
    PHASE3_SLOWDOWN,
    PHASE3_SMOOTH_RISE,
    TELOMERE_SPREAD,
)
from cellsim.validation.report import CheckResult, against

__all__ = [
    "culture_checks",
    "hayflick_limit_check",
    "pd_per_kb_check",
    "phase3_slowdown_check",
    "phase3_smooth_check",
    "telomere_spread_check",
]

MIN_SLOWDOWN = 1.5
"""Chosen: 'clearly slower' = days per PD over the last 10 PD / phase II at least this."""
MIN_RISE_WIDTH_PD = 5.0
"""Chosen: the non-dividing fraction's 10% -> 90% rise spans at least this many PD..."""
MAX_RISE_PER_PD = 0.25
"""...and no single PD adds more than this fraction (chosen)."""
MAX_SPREAD_P = 0.05
"""The F-test's significance level for the smaller spread at senescence."""


def _chosen_values(cfg: ValidationConfig) -> str:
    """The culture's parameter values and where each comes from."""
    cp = cfg.culture.params
    tel = cp.telomere
    return (
        f"Values: initial telomere {tel.initial_sd_bp:g} bp cell-to-cell SD around each strain's "
        f"mean (Factor-Litvak 2016's between-person SD, used cell-to-cell: chosen); loss "
        f"{tel.loss_mean_bp:g} +- {tel.loss_sd_bp:g} bp per daughter per division (Harley "
        f"1990's 50-200 bp range; SD chosen); critical length {tel.senescence_threshold_bp:g} "
        f"bp (chosen); dish {cp.dish_cells} cells split 1:{cp.split_ratio:g} (Hayflick & "
        f"Moorhead 1961); division hazard {cp.division_rate_per_day:.3f}/day, stress "
        f"senescence {cp.stress_rate_per_day:g}/day, senescent after "
        f"{cp.max_days_without_doubling:g} days without a doubling (all chosen)."
    )


def hayflick_limit_check(cfg: ValidationConfig, ca: CultureAnalysis, figs: Path) -> CheckResult:
    """The median PD at senescence of the reference strains is in the published range."""
    s = ca.strains
    ref = HAYFLICK_LIMIT_PD
    at_ref = s.loc[(s["initial_mean_bp"] - REFERENCE_STRAIN_BP).abs() < 1, "pd_at_senescence"]
    pds = at_ref if len(at_ref) else s["pd_at_senescence"]
    med = float(np.median(pds))
    kb = f"{REFERENCE_STRAIN_BP / 1000:g}"
    key = "hayflick_limit"
    title = f"Fibroblast strains reach replicative senescence at {ref.statement}"
    simulated = (
        f"{med:.1f} PD (median of {len(pds)} strain{'s' * (len(pds) != 1)} starting at "
        f"{kb} kb; all strains "
        f"{s['pd_at_senescence'].min():.0f}-{s['pd_at_senescence'].max():.0f} PD)"
    )
    passed = bool(ref.low <= med <= ref.high and s["senescent"].all())
    criterion = (
        f"median PD at senescence of the {kb}-kb strains within {ref.low:g}-{ref.high:g}, "
        "every strain senescent"
    )
    figure = validation_figures.plot_growth_curves(
        ca.growth, ref.range, ref.label, figs / "hayflick_growth_curves.png"
    )
    notes = [
        _chosen_values(cfg),
        "The critical length of 5 kb is the model default, set in params.py so that "
        "(9500 - 5000) / 100 = 45 divisions; this check is therefore not independent of "
        "Hayflick's range for the mean lineage. What it does test is that the population "
        "process (stochastic loss, spread of lengths, passaging, stress senescence, "
        "counting PD from cell numbers) lands in the range; see the discussion for why "
        "the culture's PD differs from the lineage's division count.",
    ]
    return against(ref, key, title, simulated, passed, criterion, figure, notes)


def pd_per_kb_check(cfg: ValidationConfig, ca: CultureAnalysis, figs: Path) -> CheckResult:
    """The 95% CI of the PD-per-kb slope overlaps the published range."""
    ref = PD_PER_KB
    lo, hi = ca.slope_ci
    key = "pd_per_kb"
    title = f"PD at senescence rises by {ref.low:g}-{ref.high:g} PD per kb of initial telomere"
    simulated = f"{ca.slope:.1f} PD/kb (95% CI {lo:.1f}-{hi:.1f}; {len(ca.strains)} strains)"
    passed = bool(hi >= ref.low and lo <= ref.high)
    criterion = f"the 95% CI of the regression slope overlaps {ref.statement}"
    figure = validation_figures.plot_pd_per_kb(
        ca.strains,
        ca.sensitivity_strains,
        ca.slope,
        ca.loss_bp,
        ref.range,
        ref.label,
        HAYFLICK_LIMIT_PD.range,
        HAYFLICK_LIMIT_PD.label,
        figs / "pd_per_kb.png",
    )
    notes = [
        "Strains differ only in their initial mean telomere (a grid around "
        f"{REFERENCE_STRAIN_BP / 1000:g} kb); PD at senescence is regressed on it (least "
        "squares).",
        "Other losses per division (sensitivity, not a check) are in the discussion.",
    ]
    return against(ref, key, title, simulated, passed, criterion, figure, notes)


def phase3_slowdown_check(cfg: ValidationConfig, ca: CultureAnalysis, figs: Path) -> CheckResult:
    """The last 10 PD take clearly more days per PD than phase II."""
    s = ca.strains
    slow = s["slowdown"].dropna()
    med_slow = float(np.median(slow)) if len(slow) else math.nan
    ref = PHASE3_SLOWDOWN
    key = "phase3_slowdown"
    title = "Growth over the last ~10 PD is clearly slower than exponential (phase III)"
    simulated = (
        f"last 10 PD take {med_slow:.2f}x the days per PD of phase II (median of "
        f"{len(slow)} strains; phase II {np.median(s['days_per_pd_phase2'].dropna()):.2f} "
        f"d/PD, last 10 PD {np.median(s['days_per_pd_last10'].dropna()):.2f} d/PD)"
    )
    passed = bool(len(slow) > 0 and med_slow >= MIN_SLOWDOWN)
    criterion = (
        f"median ratio of days per PD (last 10 PD / PD 2-22) >= {MIN_SLOWDOWN:g} (chosen threshold)"
    )
    figure = validation_figures.plot_phase3(ca.growth, figs / "phase3_growth.png")
    notes = [
        "Hayflick & Moorhead give no number for the slowdown: 'clearly slower' is taken "
        f"as at least {MIN_SLOWDOWN:g}x the phase-II days per PD (chosen before running).",
    ]
    return against(ref, key, title, simulated, passed, criterion, figure, notes)


def phase3_smooth_check(cfg: ValidationConfig, ca: CultureAnalysis, figs: Path) -> CheckResult:
    """The non-dividing fraction rises over several PD, without a step."""
    s = ca.strains
    width = (
        float(np.median(s["rise_width_pd"].dropna()))
        if s["rise_width_pd"].notna().any()
        else math.nan
    )
    jump = float(s["max_rise_per_pd"].max())
    ref = PHASE3_SMOOTH_RISE
    key = "phase3_smooth"
    title = "The non-dividing fraction rises smoothly, not as a step"
    simulated = (
        f"10% -> 90% non-dividing over {width:.1f} PD (median); largest rise within one "
        f"PD {jump:.2f}"
    )
    passed = bool(width >= MIN_RISE_WIDTH_PD and jump <= MAX_RISE_PER_PD)
    criterion = (
        f"median 10%->90% rise spans >= {MIN_RISE_WIDTH_PD:g} PD and no single PD adds > "
        f"{MAX_RISE_PER_PD:g} (chosen)"
    )
    figure = validation_figures.plot_nondividing(ca.growth, figs / "phase3_nondividing.png")
    notes = [
        "A step would be a rise from ~0 to ~1 within one PD. The smooth rise comes from "
        "the spread of initial lengths, the stochastic loss per division, the spread of "
        "division counts among cells (memoryless cell cycles) and stress senescence.",
    ]
    return against(ref, key, title, simulated, passed, criterion, figure, notes)


def telomere_spread_check(cfg: ValidationConfig, ca: CultureAnalysis, figs: Path) -> CheckResult:
    """The SD of mean telomere across strains is smaller at senescence (one-sided F-test)."""
    s = ca.strains
    sd_early = float(s["early_telomere_bp"].std(ddof=1))
    sd_final = float(s["final_telomere_bp"].std(ddof=1))
    n = len(s)
    f = (sd_early / sd_final) ** 2 if sd_final > 0 else math.inf
    p = float(stats.f.sf(f, n - 1, n - 1)) if math.isfinite(f) else 0.0
    ref = TELOMERE_SPREAD
    key = "telomere_spread"
    title = "Telomere spread across strains is smaller at senescence than at early passage"
    simulated = (
        f"SD across strains {sd_early:.0f} bp at the first passage, {sd_final:.0f} bp at "
        f"senescence (F-test p = {p:.1g})"
    )
    passed = bool(sd_final < sd_early and p < MAX_SPREAD_P)
    criterion = f"SD at senescence < SD at first passage, one-sided F-test p < {MAX_SPREAD_P:g}"
    figure = validation_figures.plot_spread(s, figs / "telomere_spread.png")
    notes = [
        "Mean telomere of all cells in the dish (dividing and not) per strain. In the "
        "model a single critical telomere per cell sets senescence, so the senescent "
        "strains converge on the critical length almost exactly; real TRF means keep a "
        "wider spread (they average all chromosome ends), so this check confirms the "
        "direction, not the size, of the effect.",
    ]
    return against(ref, key, title, simulated, passed, criterion, figure, notes)


CULTURE_CHECKS = (
    hayflick_limit_check,
    pd_per_kb_check,
    phase3_slowdown_check,
    phase3_smooth_check,
    telomere_spread_check,
)
"""The culture's checks, in the report's order."""


def culture_checks(cfg: ValidationConfig, ca: CultureAnalysis, figs: Path) -> list[CheckResult]:
    """Every culture check, in the report's order; figures are written to ``figs``."""
    return [check(cfg, ca, figs) for check in CULTURE_CHECKS]
