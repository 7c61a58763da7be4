"""The engine against the naive one-agent-per-cell Mesa reference (benchmarks/naive_mesa.py).

The two implementations share only the parameter models: the engine draws events per state
segment from a numpy Generator inside Numba kernels, the reference visits every cell as a
``mesa.Agent`` with Python's ``random``. If both implement MODEL.md's processes 1-4, 6 and
8 the same way, the day of replicative-pool exhaustion has the same distribution.

A small, fast-turnover tissue with a short telomere budget (about 25 doublings), stress
senescence rising with epigenetic age and Karin-style immune clearance all active, so every
process of the well-mixed day shapes the result: 30 seeded runs of each, a two-sided
two-sample Kolmogorov-Smirnov test at alpha = 0.01 must not reject. The check is not
vacuous: the same test must reject the reference against an engine whose loss per
division is 30% larger (a power check).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from benchmarks.naive_mesa import NaiveTissueModel
from cellsim.model import AgingModel
from cellsim.params import ModelParams, RunParams, TissueParams

ALPHA = 0.01
RUNS = 30
MAX_DAYS = 2000


def small_tissue(loss_mean_bp: float = 100.0) -> TissueParams:
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
