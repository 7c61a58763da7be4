"""The limit kernel of benchmarks/limit_kernel.py against mean-field theory (small, fast).

The kernel is the speed reference of benchmarks/limit.py (issue 14); these checks make
sure it simulates the model it claims to, independently of the engine. Speed is not
tested.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from limit_kernel import N_CYCLING, N_SENESCENT, LimitTissue

from cellsim.engine.params import (
    ClearanceParams,
    StressParams,
    TelomereParams,
    TissueParams,
    TransformationParams,
)

N = 10_000
NO_TRANSFORMATION = TransformationParams(probability_per_division=0.0)


def test_telomere_mean_declines_by_two_losses_per_division_per_cell():
    # Death only: each division removes a random cell (telomere x) and turns a random
    # parent's b into two daughters of b - loss: the mean falls by 2 * loss per lifespan.
    lifespan, loss, days = 10.0, 100.0, 100
    tissue = TissueParams(
        n_cells=N,
        lifespan_days=lifespan,
        telomere=TelomereParams(loss_mean_bp=loss, loss_sd_bp=30.0),
        stress=StressParams(rate_per_day=0.0, epigenetic_slope_per_day_per_year=0.0),
        transformation=NO_TRANSFORMATION,
    )
    limit = LimitTissue(tissue, np.random.default_rng(1))
    limit.advance(days)
    n = limit.counts[N_CYCLING]
    assert n > 0.999 * N  # hardly a lineage reached the threshold
    expected = 9500.0 - 2.0 * loss * days / lifespan
    assert abs(limit.cells[:n, 0].mean() - expected) < 100.0
    # one division per death: Poisson(N * days / lifespan)
    assert abs(limit.divisions - N * days / lifespan) < 5 * np.sqrt(N * days / lifespan)


def test_senescent_count_reaches_the_stress_clearance_balance():
    # No telomere loss, constant stress r and constant clearance r0: S* = N r / (r + r0).
    r, r0 = 0.01, 0.09
    tissue = TissueParams(
        n_cells=N,
        telomere=TelomereParams(loss_mean_bp=0.0, loss_sd_bp=0.0),
        stress=StressParams(rate_per_day=r, age_dependent=False),
        clearance=ClearanceParams(rate_per_day=r0, saturating=False),
        transformation=NO_TRANSFORMATION,
    )
    limit = LimitTissue(tissue, np.random.default_rng(2))
    limit.advance(100)  # ten relaxation times 1 / (r + r0)
    s = []
    for _ in range(100):
        limit.advance(1)
        s.append(limit.counts[N_SENESCENT])
        assert limit.counts[N_CYCLING] + limit.counts[N_SENESCENT] == N  # no vacancy
    assert abs(np.mean(s) - N * r / (r + r0)) < 0.05 * N * r / (r + r0)
