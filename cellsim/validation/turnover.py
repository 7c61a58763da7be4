"""Whole-body turnover (Sender & Milo 2021): the preset set's cells replaced per day, the
blood cells' share of them, and each preset's simulated death rate.

The numbers come from the presets (counts x 1/lifespan) and from simulating a sample of
each preset tissue; each check is a function returning one :class:`CheckResult`, its
published value from :mod:`cellsim.validation.published`.
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
from cellsim.engine.params import ModelParams, RunParams, TissueParams
from cellsim.engine.presets import BodyTurnover, body_turnover, whole_body_set
from cellsim.kernels.layout import C_DEATHS
from cellsim.validation.config import ValidationConfig
from cellsim.validation.published import (
    BLOOD_SHARE_OF_TURNOVER,
    BODY_TURNOVER_CELLS_PER_DAY,
    DEATHS_PER_CELL_PER_DAY,
    TURNOVER_SHARE_BY_GROUP,
)
from cellsim.validation.report import CheckResult, against
from cellsim.validation.tasks import Task

__all__ = [
    "TurnoverAnalysis",
    "TurnoverRun",
    "analyse_turnover",
    "blood_share_check",
    "body_turnover_check",
    "turnover_checks",
    "turnover_simulated_check",
    "turnover_tasks",
]

N_SE = 2.0
"""Agreement with a published value: within this many (combined) standard errors."""
RATE_TOLERANCE = 0.05
"""Chosen: each preset's simulated death rate within this fraction of 1 / lifespan."""
SHORT_LIFESPAN_DAYS = 10.0
"""Presets living shorter than this are also run at a step of 1 day (the default)."""


# --- runs -------------------------------------------------------------------------------
@dataclass
class TurnoverRun:
    """One preset's simulated sample: ``deaths`` among ``n_cells`` over ``days``."""

    preset: str
    n_cells: int
    dt_days: float
    days: float
    deaths: int

    @property
    def rate_per_day(self) -> float:
        """Deaths per cell per day."""
        return self.deaths / (self.n_cells * self.days)


def run_turnover_sample(payload: tuple[str, int, float, float], seed: Any) -> TurnoverRun:
    """Simulate ``(preset, n_cells, dt_days, days)`` and count the deaths."""
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
        payload = (p.name, t.sample_cells, dt, days)
        tasks.append(Task(f"turnover/{p.name}", run_turnover_sample, payload, cfg.seed))
        if life < SHORT_LIFESPAN_DAYS:
            payload = (p.name, t.sample_cells, 1.0, float(max(math.ceil(days), 20)))
            tasks.append(Task(f"turnover-dt1/{p.name}", run_turnover_sample, payload, cfg.seed))
    return tasks


# --- the numbers ------------------------------------------------------------------------
@dataclass
class TurnoverAnalysis:
    """``table``: one row per preset (computed and simulated rates); ``computed``: the
    whole-body turnover from the presets (1/lifespan); ``simulated``: the same with the
    simulated rates."""

    table: pd.DataFrame
    computed: BodyTurnover
    simulated: BodyTurnover


def _preset_row(p: Any, run: TurnoverRun, dt1: TurnoverRun | None) -> dict[str, Any]:
    expected = 1.0 / p.lifespan_days
    return {
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


def analyse_turnover(results: Mapping[str, Any]) -> TurnoverAnalysis:
    """The per-preset table and whole-body totals of the turnover runs in ``results``."""
    rows = [
        _preset_row(p, results[f"turnover/{p.name}"], results.get(f"turnover-dt1/{p.name}"))
        for p in whole_body_set()
    ]
    table = pd.DataFrame(rows)
    simulated = body_turnover(
        dict(zip(table["preset"], table["rate_per_day_simulated"], strict=True))
    )
    return TurnoverAnalysis(table, body_turnover(), simulated)


def _e(x: float, exponent: int) -> str:
    """``x`` as '<mantissa>e<exponent>' (3.3e11)."""
    return f"{x / 10**exponent:g}e{exponent}"


def _all_within(target: float, tolerance: float, *values: float) -> bool:
    """Every value within ``tolerance`` of ``target`` (same units)."""
    return all(abs(v - target) <= tolerance for v in values)


# --- checks -----------------------------------------------------------------------------
def body_turnover_check(cfg: ValidationConfig, ta: TurnoverAnalysis, figs: Path) -> CheckResult:
    """The presets' cells replaced per day, computed and simulated, match the published
    total within 2 combined SE."""
    ref = BODY_TURNOVER_CELLS_PER_DAY
    computed, sim = ta.computed, ta.simulated
    tol = N_SE * math.hypot(computed.total_se_per_day, ref.se)
    key = "body_turnover"
    title = f"The whole-body preset set turns over ~{_e(ref.value, 11)} cells per day"
    simulated = (
        f"{computed.total_per_day:.3g} +- {computed.total_se_per_day:.2g} from the "
        "presets; "
        f"{sim.total_per_day:.3g} simulated"
    )
    passed = _all_within(ref.value, tol, computed.total_per_day, sim.total_per_day)
    criterion = (
        f"within {N_SE:g} combined SE of {_e(ref.value, 11)} (SE of the presets' sum from "
        f"Sender & Milo's published uncertainties, and their +-{_e(ref.se, 11)})"
    )
    figure = validation_figures.plot_turnover(
        ta.table, computed.total_per_day, ref.value, figs / "turnover_by_preset.png"
    )
    notes = [
        f"{len(ta.table)} presets: the cell types of Sender & Milo's human headline (their "
        "lifespans measured in humans), as published. The four presets with rodent "
        "lifespans (hepatocyte, dermal fibroblast, alveolar epithelium, lung interstitial "
        "cells) are left out, as in the paper. Counts x 1/lifespan; see "
        "cellsim/engine/presets.py for each value.",
    ]
    return against(ref, key, title, simulated, passed, criterion, figure, notes)


def blood_share_check(cfg: ValidationConfig, ta: TurnoverAnalysis, figs: Path) -> CheckResult:
    """The blood cells' share of the turnover, computed and simulated, matches the published
    share within 2 SE."""
    ref = BLOOD_SHARE_OF_TURNOVER
    computed, sim, table = ta.computed, ta.simulated, ta.table
    tol = N_SE * computed.blood_share_se
    gut = table.loc[table["group"] == "gut", "turnover_per_day_computed"].sum()
    gut_share = gut / computed.total_per_day
    key = "blood_share"
    title = "About 90% of the cells turned over are blood cells"
    simulated = (
        f"{100 * computed.blood_share:.1f}% +- {100 * computed.blood_share_se:.1f}% "
        "from the "
        f"presets; {100 * sim.blood_share:.1f}% simulated"
    )
    passed = _all_within(ref.value, tol, computed.blood_share, sim.blood_share)
    criterion = (
        f"within {N_SE:g} SE (propagated from the presets' published uncertainties) of "
        f"{100 * ref.value:.0f}%"
    )
    figure = validation_figures.plot_blood_share(
        table,
        computed.total_per_day,
        TURNOVER_SHARE_BY_GROUP,
        ref.source,
        figs / "blood_share.png",
    )
    notes = [
        "The gut presets take the published lifespans (small intestine 5.3 d, colon "
        "3.4 d, stomach 13 d); they give the gut "
        f"{100 * gut_share:.0f}% of the turnover, where the paper reports "
        f"~{100 * TURNOVER_SHARE_BY_GROUP['gut']:.0f}% for the GI tract and "
        f"{100 * TURNOVER_SHARE_BY_GROUP['blood']:.0f}% for blood. (With the data "
        "repository's pre-publication gut lifespans, 2.8 d, the blood share was 78%.)",
    ]
    return against(ref, key, title, simulated, passed, criterion, figure, notes)


def turnover_simulated_check(
    cfg: ValidationConfig, ta: TurnoverAnalysis, figs: Path
) -> CheckResult:
    """Every preset's simulated deaths per cell per day are within 5% of 1 / lifespan."""
    table = ta.table
    ratios = pd.concat([table["ratio"], table["ratio_dt1"].dropna()])
    worst = float((ratios - 1).abs().max())
    si = table.loc[table["preset"] == "small_intestine", "ratio_dt1"]
    si_dt1 = float(si.iloc[0]) if len(si) else math.nan
    ref = DEATHS_PER_CELL_PER_DAY
    key = "turnover_simulated"
    title = "Each preset's simulated sample dies at 1 / lifespan"
    simulated = (
        f"{len(table)} presets; simulated / expected {table['ratio'].min():.3f}-"
        f"{table['ratio'].max():.3f} (at dt = 1 d: {table['ratio_dt1'].min():.3f}-"
        f"{table['ratio_dt1'].max():.3f})"
    )
    passed = bool(worst <= RATE_TOLERANCE)
    criterion = (
        f"every preset within {100 * RATE_TOLERANCE:g}% with a step of lifespan / "
        f"{cfg.turnover.steps_per_lifespan} (at most 1 day), and every short-lived "
        "preset also at dt = 1 d"
    )
    figure = validation_figures.plot_turnover_ratio(
        table, RATE_TOLERANCE, figs / "turnover_simulated.png"
    )
    notes = [
        "Deaths are simulated in continuous time within each step, so the rate does not "
        "depend on the step: at the default step of 1 day (open markers in the figure) "
        "the small intestine (L = 5.3 d) dies at "
        + (f"{si_dt1:.3f} " if math.isfinite(si_dt1) else "(not run) ")
        + "times 1/L. The first-order step of the first version drew one death per step "
        "with probability 1 - exp(-dt/L), 9% too few for this tissue at dt = 1 d.",
    ]
    return against(ref, key, title, simulated, passed, criterion, figure, notes)


TURNOVER_CHECKS = (body_turnover_check, blood_share_check, turnover_simulated_check)
"""The turnover checks, in the report's order."""


def turnover_checks(
    cfg: ValidationConfig, results: Mapping[str, Any], figs: Path
) -> tuple[list[CheckResult], pd.DataFrame]:
    """Every turnover check (figures written to ``figs``) and the per-preset table."""
    ta = analyse_turnover(results)
    return [check(cfg, ta, figs) for check in TURNOVER_CHECKS], ta.table
