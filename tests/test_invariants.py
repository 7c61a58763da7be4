"""Invariants of the engine over random parameters (hypothesis).

- slots are conserved: every slot is in exactly one state, every step;
- the state index (order/pos/seg) matches the state array;
- counts are never negative;
- telomeres never grow without telomerase or reprogramming: with all telomerase activities
  0, the longest telomere of each clone never increases from one step to the next (a
  daughter starts from its parent's length minus a non-negative loss).
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellsim.engine.model import AgingModel
from cellsim.engine.params import CellState

from .conftest import model_params

params_strategy = st.fixed_dictionaries(
    {
        "n_cells": st.integers(1, 400),
        "lifespan_days": st.floats(1.0, 400.0),
        "telomere": st.fixed_dictionaries(
            {
                "initial_mean_bp": st.floats(3000.0, 12000.0),
                "initial_sd_bp": st.floats(0.0, 2000.0),
                "loss_mean_bp": st.floats(0.0, 500.0),
                "loss_sd_bp": st.floats(0.0, 300.0),
                "senescence_threshold_bp": st.floats(0.0, 2900.0),
                "telomerase_stem": st.just(0.0),
                "telomerase_pluripotent": st.just(0.0),
                "telomerase_transformed": st.just(0.0),
            }
        ),
        "stress": st.fixed_dictionaries(
            {
                "rate_per_day": st.floats(0.0, 0.05),
                "age_slope_per_day_per_year": st.floats(0.0, 0.01),
                "epigenetic_slope_per_day_per_year": st.floats(0.0, 0.01),
            }
        ),
        "clearance": st.fixed_dictionaries(
            {
                "rate_per_day": st.floats(0.0, 2.0),
                "half_saturation_fraction": st.floats(0.01, 5.0),
            }
        ),
        "transformation": st.fixed_dictionaries(
            {
                "probability_per_division": st.floats(0.0, 0.2),
                "fitness": st.floats(0.1, 5.0),
                "lifespan_factor": st.floats(0.1, 10.0),
            }
        ),
    }
)


def clone_max_telomere(model: AgingModel) -> np.ndarray:
    cells = model.primary.cells
    occupied = cells.state != CellState.EMPTY
    out = np.full(cells.n_slots, -np.inf)
    np.maximum.at(out, cells.clone[occupied], cells.telomere_bp[occupied].astype(np.float64))
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tp=params_strategy,
    dt=st.sampled_from([0.5, 1.0, 3.0]),
    seed=st.integers(0, 2**32 - 1),
    steps=st.integers(1, 120),
)
def test_invariants_hold_every_step(tp, dt, seed, steps):
    params = model_params(run={"stop_at": "horizon", "dt_days": dt}, **tp)
    model = AgingModel(params, rng=seed)
    cells = model.primary.cells
    n = cells.n_slots
    previous = clone_max_telomere(model)
    for _ in range(steps):
        model.step()
        counts = cells.counts()
        assert sum(counts.values()) == n  # slots conserved
        assert min(counts.values()) >= 0
        assert cells.is_consistent()
        assert np.array_equal(
            np.bincount(cells.state, minlength=len(CellState)), [counts[s] for s in CellState]
        )
        current = clone_max_telomere(model)
        # A clone may vanish (-inf) but never gains length.
        assert np.all(current <= previous + 1e-3)
        previous = current
        assert np.all(cells.divisions >= 0)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 300))
def test_vacancies_are_refilled_while_cells_can_divide(seed, n):
    """Process 6: after a step, a vacancy remains only if no competent cell is left."""
    params = model_params(
        run={"stop_at": "horizon"},
        n_cells=n,
        lifespan_days=5.0,
        clearance={"rate_per_day": 0.5},
    )
    model = AgingModel(params, rng=seed)
    cells = model.primary.cells
    for _ in range(60):
        model.step()
        competent = (
            cells.count(CellState.CYCLING)
            + cells.count(CellState.STEM)
            + cells.count(CellState.TRANSFORMED)
        )
        assert cells.count(CellState.EMPTY) == 0 or competent == 0
