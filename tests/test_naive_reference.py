"""The engine against the naive one-agent-per-cell Mesa reference (reference/naive_mesa.py).

The two implementations share only the parameter models: the engine draws events per state
segment from a numpy Generator inside Numba kernels, the reference visits every cell as a
``mesa.Agent`` with Python's ``random``. If both implement docs/MODEL.md's processes 1-4, 6 and
8 the same way, the day of replicative-pool exhaustion has the same distribution.

A small, fast-turnover tissue with a short telomere budget (about 25 doublings), stress
senescence rising with epigenetic age and Karin-style immune clearance all active, so every
process of the well-mixed day shapes the result: 30 seeded runs of each, a two-sided
two-sample Kolmogorov-Smirnov test at alpha = 0.01 must not reject. The check is not
vacuous: the same test must reject the reference against an engine whose loss per
division is 30% larger (a power check).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import stats

from cellsim.engine.model import AgingModel
from cellsim.engine.params import CellState, ModelParams, RunParams, TissueParams
from cellsim.kernels.layout import C_STRESS
from reference.naive_mesa import NaiveLatticeModel, NaiveTissueModel

ALPHA = 0.01
RUNS = 30
MAX_DAYS = 2000


def small_tissue(loss_mean_bp: float = 100.0, **fields: Any) -> TissueParams:
    """The small fast-turnover tissue; ``fields`` override or add top-level fields."""
    return TissueParams.model_validate(
        {
            "n_cells": 300,
            "lifespan_days": 5.0,
            "telomere": {
                "initial_mean_bp": 9500.0,
                "initial_sd_bp": 700.0,
                "loss_mean_bp": loss_mean_bp,
                "loss_sd_bp": 30.0,
                "senescence_threshold_bp": 7000.0,
            },
            "stress": {
                "rate_per_day": 1e-3,
                "age_slope_per_day_per_year": 1e-3,
                "epigenetic_slope_per_day_per_year": 2e-3,
            },
            "clearance": {"rate_per_day": 0.15, "half_saturation_fraction": 0.5},
            "transformation": {"probability_per_division": 0.0},
            **fields,
        }
    )


RUN = RunParams(horizon_days=MAX_DAYS, stop_at="horizon")


def engine_exhaustion_days(tissue: TissueParams, seeds: range) -> np.ndarray:
    days = []
    for seed in seeds:
        model = AgingModel(ModelParams(tissues=[tissue], run=RUN), rng=seed)
        while model.primary.event_days["exhaustion"] is None and model.age_days < MAX_DAYS:
            model.step()
        assert model.primary.event_days["exhaustion"] is not None
        days.append(model.primary.event_days["exhaustion"])
    return np.array(days)


def naive_exhaustion_days(tissue: TissueParams, seeds: range) -> np.ndarray:
    days = []
    for seed in seeds:
        day = NaiveTissueModel(tissue, RUN, rng=seed).run_until_exhaustion(MAX_DAYS)
        assert day is not None
        days.append(day)
    return np.array(days)


@pytest.mark.slow
def test_engine_and_naive_reference_agree_on_exhaustion_day():
    """Same distribution of exhaustion day (KS, alpha 0.01), and the test has power:
    it rejects when the engine's loss per division is 30% larger."""
    naive = naive_exhaustion_days(small_tissue(), range(1000, 1000 + RUNS))
    engine = engine_exhaustion_days(small_tissue(), range(2000, 2000 + RUNS))
    same = stats.ks_2samp(engine, naive)
    faster = engine_exhaustion_days(small_tissue(loss_mean_bp=130.0), range(3000, 3000 + RUNS))
    power = stats.ks_2samp(faster, naive)
    print(
        f"\nexhaustion day, mean +- sd over {RUNS} runs: engine {engine.mean():.1f} +- "
        f"{engine.std(ddof=1):.1f}, naive {naive.mean():.1f} +- {naive.std(ddof=1):.1f}, "
        f"engine with loss +30% {faster.mean():.1f} +- {faster.std(ddof=1):.1f}\n"
        f"KS engine vs naive: D={same.statistic:.3f} p={same.pvalue:.3g}; "
        f"KS engine(loss +30%) vs naive: D={power.statistic:.3f} p={power.pvalue:.3g}"
    )
    assert same.pvalue > ALPHA, f"engine and naive reference differ: {same}"
    assert power.pvalue < ALPHA, f"the comparison cannot tell a 30% change in loss: {power}"


# --- the lattice ------------------------------------------------------------------------
# The same tissue on a 20 x 20 torus with a bystander term (SASP: 0.03/day with all 8
# neighbours senescent, 30x the base stress rate), observed for its first 70 days: the
# pool runs low from day ~60 (failure ~75, exhaustion ~100), so senescent patches and
# unfilled vacancies form. Two statistics, each sensitive to one lattice rule:
# - stress senescence events by day 70 (~65; the base rate alone gives ~25): the
#   bystander term, i.e. the senescent-neighbour count m / 8 on the pattern at the start
#   of the process;
# - defect-days by day 70 (~20): vacant sites summed over the days (after each day's
#   replacement), set by which neighbours may refill a vacancy and by the edges.
LATTICE_DAYS = 70
LATTICE_SIDE = 20
LATTICE_BYSTANDER_PER_DAY = 0.03
# Two KS tests: alpha 0.005 each, 0.01 for the pair (Bonferroni).
LATTICE_ALPHA = ALPHA / 2


def small_lattice(
    bystander_per_day: float = LATTICE_BYSTANDER_PER_DAY, torus: bool = True
) -> TissueParams:
    side = LATTICE_SIDE
    return small_tissue(
        n_cells=side * side,
        lattice={
            "width": side,
            "height": side,
            "torus": torus,
            "bystander_per_day": bystander_per_day,
        },
    )


def engine_lattice_stats(tissue: TissueParams, seeds: range) -> np.ndarray:
    """(stress senescence events, defect-days) by LATTICE_DAYS, one row per seed."""
    rows = []
    for seed in seeds:
        model = AgingModel(ModelParams(tissues=[tissue], run=RUN), rng=seed)
        cells, defect_days = model.primary.cells, 0
        for _ in range(LATTICE_DAYS):
            model.step()
            defect_days += cells.count(CellState.EMPTY)
        rows.append((model.primary.counters[C_STRESS], defect_days))
    return np.array(rows, dtype=float)


def naive_lattice_stats(tissue: TissueParams, seeds: range) -> np.ndarray:
    rows = []
    for seed in seeds:
        model, defect_days = NaiveLatticeModel(tissue, RUN, rng=seed), 0
        for _ in range(LATTICE_DAYS):
            model.step()
            defect_days += model.counts()["EMPTY"]
        rows.append((model.counters["stress_senescence"], defect_days))
    return np.array(rows, dtype=float)


@pytest.mark.slow
def test_engine_and_naive_reference_agree_on_a_lattice():
    """Same distributions of stress senescence and defect-days on a 20 x 20 torus (KS,
    alpha 0.005 each), and each test has power: the first rejects an engine with half the
    bystander rate, the second an engine on a bounded grid instead of a torus."""
    naive = naive_lattice_stats(small_lattice(), range(1000, 1000 + RUNS))
    engine = engine_lattice_stats(small_lattice(), range(2000, 2000 + RUNS))
    half = engine_lattice_stats(
        small_lattice(bystander_per_day=LATTICE_BYSTANDER_PER_DAY / 2), range(3000, 3000 + RUNS)
    )
    bounded = engine_lattice_stats(small_lattice(torus=False), range(4000, 4000 + RUNS))
    names = ("stress senescence", "defect-days")
    lines = []
    for j, name in enumerate(names):
        lines.append(
            f"{name} by day {LATTICE_DAYS}, mean +- sd over {RUNS} runs: engine "
            f"{engine[:, j].mean():.1f} +- {engine[:, j].std(ddof=1):.1f}, naive "
            f"{naive[:, j].mean():.1f} +- {naive[:, j].std(ddof=1):.1f}, engine bystander/2 "
            f"{half[:, j].mean():.1f} +- {half[:, j].std(ddof=1):.1f}, engine bounded "
            f"{bounded[:, j].mean():.1f} +- {bounded[:, j].std(ddof=1):.1f}"
        )
    same = [stats.ks_2samp(engine[:, j], naive[:, j]) for j in range(2)]
    power_bystander = stats.ks_2samp(half[:, 0], naive[:, 0])
    power_torus = stats.ks_2samp(bounded[:, 1], naive[:, 1])
    for j, name in enumerate(names):
        lines.append(
            f"KS engine vs naive, {name}: D={same[j].statistic:.3f} p={same[j].pvalue:.3g}"
        )
    lines.append(
        f"KS engine(bystander/2) vs naive, stress senescence: D={power_bystander.statistic:.3f}"
        f" p={power_bystander.pvalue:.3g}; KS engine(bounded) vs naive, defect-days: "
        f"D={power_torus.statistic:.3f} p={power_torus.pvalue:.3g}"
    )
    print("\n" + "\n".join(lines))
    for j, name in enumerate(names):
        assert same[j].pvalue > LATTICE_ALPHA, f"engine and naive lattice differ in {name}"
    assert power_bystander.pvalue < LATTICE_ALPHA, "cannot tell the bystander rate halved"
    assert power_torus.pvalue < LATTICE_ALPHA, "cannot tell a bounded grid from a torus"
