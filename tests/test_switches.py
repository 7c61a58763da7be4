"""Named switches for the special cases: constant clearance, age-independent stress.

Each is checked against the closed-form one-step probability of the process, not against
the code's own output: a binomial count within 4.5 standard deviations of its
expectation, at fixed seeds.
"""

from __future__ import annotations

import math

import numpy as np

from cellsim.engine.model import AgingModel
from cellsim.engine.params import CellState, ModelParams, RunParams
from cellsim.kernels import processes
from cellsim.kernels.layout import C_CLEARED_IMMUNE, C_STRESS, N_COUNTERS

from .conftest import tissue

N = 40_000


def _model(**kw) -> AgingModel:
    run = RunParams(start_age_days=60 * 365.25, horizon_days=10.0, dt_days=1.0)
    return AgingModel(ModelParams(tissues=[tissue(n_cells=N, **kw)], run=run), rng=5)


def _within(k: int, n: int, q: float) -> bool:
    """k is a plausible Binomial(n, q) draw (within 4.5 sd)."""
    return abs(k - n * q) <= 4.5 * math.sqrt(n * q * (1 - q)) + 1


def _cleared_from_half_senescent(saturating: bool) -> tuple[int, int]:
    """One clearance step of a tissue whose every other slot is SENESCENT."""
    m = _model(clearance={"rate_per_day": 0.2, "saturating": saturating})
    t = m.primary
    t.cells.state[:] = np.where(np.arange(N) % 2 == 0, CellState.SENESCENT, CellState.CYCLING)
    t.cells.rebuild_index()
    counters = np.zeros(N_COUNTERS, dtype=np.int64)
    c = t.cells
    processes.immune_clearance(c.state, c.order, c.pos, c.seg, t.kernel_params, m.rng, counters)
    return int(counters[C_CLEARED_IMMUNE]), N // 2


def test_constant_clearance_removes_at_r0_whatever_the_burden():
    """Half the slots senescent, K = 0.5: saturating clearance removes at r0 / (1 + 1) per
    cell, constant clearance at r0."""
    k_const, n_sen = _cleared_from_half_senescent(saturating=False)
    k_sat, _ = _cleared_from_half_senescent(saturating=True)
    assert _within(k_const, n_sen, 1 - math.exp(-0.2))
    assert _within(k_sat, n_sen, 1 - math.exp(-0.2 / (1 + 0.5 / 0.5)))
    assert not _within(k_const, n_sen, 1 - math.exp(-0.1))


def _stressed_old_cells(age_dependent: bool) -> int:
    """One stress step of 60-year-old cells whose slopes would add 0.06/day if used."""
    stress = {
        "rate_per_day": 0.01,
        "age_slope_per_day_per_year": 5e-4,
        "epigenetic_slope_per_day_per_year": 5e-4,
        "age_dependent": age_dependent,
    }
    m = _model(stress=stress)
    t = m.primary
    c = t.cells
    c.epi_origin_day[:] = 0.0  # epigenetic age 60 years
    counters = np.zeros(N_COUNTERS, dtype=np.int64)
    day = m.age_days + 1.0
    processes.stress_senescence(
        c.state, c.epi_origin_day, c.order, c.pos, c.seg, t.kernel_params, day, m.rng,
        counters, 0, 0, False,
    )  # fmt: skip
    return int(counters[C_STRESS])


def test_age_independent_stress_uses_the_base_rate_alone():
    """age_dependent = false: hazard 0.01/day at 60 years, whatever the slopes; with them,
    0.01 + 2 x 5e-4 x ~60 = ~0.07/day."""
    years = (60 * 365.25 + 1.0) / 365.25
    assert _within(_stressed_old_cells(False), N, 1 - math.exp(-0.01))
    h_aged = 0.01 + 5e-4 * years + 5e-4 * years
    assert _within(_stressed_old_cells(True), N, 1 - math.exp(-h_aged))


def test_switches_survive_a_parameter_round_trip():
    """The switches are plain fields: dumped and validated again, overridden by name."""
    p = ModelParams(tissues=[tissue(clearance={"saturating": False})])
    again = ModelParams.model_validate(p.model_dump())
    assert again == p and again.tissues[0].clearance.saturating is False
    m = AgingModel(p, rng=1, age_dependent=False)
    assert m.params.tissues[0].stress.age_dependent is False
