"""Exact cases with closed forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cellsim.engine.model import AgingModel
from cellsim.engine.params import CellState

from .conftest import model_params


@pytest.mark.parametrize(
    ("initial_bp", "loss_bp", "threshold_bp"),
    [(9500.0, 100.0, 5000.0), (9550.0, 100.0, 5000.0), (6000.0, 250.0, 4100.0)],
)
def test_deterministic_loss_gives_the_closed_form_division_count(initial_bp, loss_bp, threshold_bp):
    """Threshold rule: a daughter whose telomere is strictly below the threshold senesces.

    With every founder at T0, a loss of exactly L per division (sd 0) and no stress,
    clearance or transformation, a cell after k divisions has T0 - k L, so it senesces at
    the first k with T0 - k L < T_thr:

        k* = floor((T0 - T_thr) / L) + 1

    Every replicatively senescent cell has made exactly k* divisions, no cycling cell ever
    exceeds k* - 1, and the pool is exhausted once every lineage got there.
    """
    k_star = math.floor((initial_bp - threshold_bp) / loss_bp) + 1
    params = model_params(
        run={"stop_at": "first_event", "horizon_days": 20000},
        n_cells=500,
        lifespan_days=5.0,
        telomere={
            "initial_mean_bp": initial_bp,
            "initial_sd_bp": 0.0,
            "loss_mean_bp": loss_bp,
            "loss_sd_bp": 0.0,
            "senescence_threshold_bp": threshold_bp,
        },
        stress={"rate_per_day": 0.0, "epigenetic_slope_per_day_per_year": 0.0},
        clearance={"rate_per_day": 0.0},
        transformation={"probability_per_division": 0.0},
    )
    params = params.model_copy(
        update={"run": params.run.model_copy(update={"stop_at": "all_events"})}
    )
    model = AgingModel(params, rng=7)
    cells = model.primary.cells
    while model.running:
        model.step()
        cyc = cells.slots_of(CellState.CYCLING)
        assert cells.divisions[cyc].max(initial=0) <= k_star - 1
    sen = cells.slots_of(CellState.SENESCENT)
    assert model.primary.event_days["exhaustion"] is not None
    assert len(sen) == cells.n_slots  # no clearance: every slot ends senescent
    assert np.all(cells.divisions[sen] == k_star)
    assert np.allclose(cells.telomere_bp[sen], initial_bp - k_star * loss_bp)


def test_turnover_deaths_are_a_poisson_process_at_n_over_lifespan():
    """With no senescence every slot holds a mortal cell at every instant (a vacancy is
    refilled when it appears), so deaths are a Poisson process of rate N / lifespan: over
    D days the total is Poisson(N D / lifespan), checked within 4 sd, at any step length
    (the old per-step Binomial(N, 1 - exp(-dt/lifespan)) would be 2.5% low at dt = 1 d,
    ~8 sd here)."""
    n, days, lifespan = 5000, 400, 20.0
    for dt in (1.0, 0.25):
        params = model_params(
            run={"stop_at": "horizon", "horizon_days": days, "dt_days": dt},
            n_cells=n,
            lifespan_days=lifespan,
            telomere={"loss_mean_bp": 0.0, "loss_sd_bp": 0.0},
            stress={"rate_per_day": 0.0, "epigenetic_slope_per_day_per_year": 0.0},
            transformation={"probability_per_division": 0.0},
        )
        model = AgingModel(params, rng=11).run()
        mean = n * days / lifespan
        deaths = model.primary.counters[0]
        assert abs(deaths - mean) < 4 * math.sqrt(mean)
        # every death was refilled by exactly one division
        assert model.primary.record(model.age_days)["divisions_cumulative"] == deaths
