"""Named switches for the special cases: constant clearance, age-independent stress.

Each is checked against the closed form of the process over one step in continuous time
(the engine's scheme), not against the code's own output: a count within 4.5 binomial
standard deviations of its expectation, at fixed seeds.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from cellsim.engine.model import AgingModel
from cellsim.engine.params import CellState, ModelParams, RunParams
from cellsim.kernels.layout import C_CLEARED_IMMUNE, C_STRESS

from .conftest import tissue

N = 40_000
STILL = {  # no turnover and no telomere loss: only the process under test acts
    "lifespan_days": 1e9,
    "telomere": {"loss_mean_bp": 0.0, "loss_sd_bp": 0.0},
}


def _model(**kw) -> AgingModel:
    run = RunParams(start_age_days=60 * 365.25, horizon_days=10.0, dt_days=1.0)
    return AgingModel(ModelParams(tissues=[tissue(n_cells=N, **STILL, **kw)], run=run), rng=5)


def _within(k: int, n: int, q: float) -> bool:
    """k is a plausible Binomial(n, q) draw (within 4.5 sd)."""
    return abs(k - n * q) <= 4.5 * math.sqrt(n * q * (1 - q)) + 1


def _cleared_from_half_senescent(saturating: bool) -> int:
    """One step (1 day) of a tissue whose every other slot is SENESCENT, no stress."""
    no_stress = {"rate_per_day": 0.0, "epigenetic_slope_per_day_per_year": 0.0}
    m = _model(clearance={"rate_per_day": 0.2, "saturating": saturating}, stress=no_stress)
    t = m.primary
    t.cells.state[:] = np.where(np.arange(N) % 2 == 0, CellState.SENESCENT, CellState.CYCLING)
    t.cells.rebuild_index()
    m.step()
    return int(t.counters[C_CLEARED_IMMUNE])


def _saturating_survivors(x0: float, r0: float, k: float, days: float) -> float:
    """Senescent fraction after ``days`` of pure saturating removal from ``x0``:
    dx/dt = -r0 x / (1 + x / K) integrates to ln x + x / K = ln x0 + x0 / K - r0 t."""
    target = math.log(x0) + x0 / k - r0 * days
    return optimize.brentq(lambda x: math.log(x) + x / k - target, 1e-12, x0)


def test_constant_clearance_removes_at_r0_whatever_the_burden():
    """Half the slots senescent, K = 0.5, no production: constant clearance removes each
    senescent cell within a day with probability 1 - exp(-r0); saturating clearance follows
    dx/dt = -r0 x / (1 + x / K), its rate rising as the burden falls within the day."""
    n_sen = N // 2
    k_const = _cleared_from_half_senescent(saturating=False)
    k_sat = _cleared_from_half_senescent(saturating=True)
    assert _within(k_const, n_sen, 1 - math.exp(-0.2))
    q_sat = 1 - _saturating_survivors(0.5, 0.2, 0.5, 1.0) / 0.5
    assert _within(k_sat, n_sen, q_sat)
    assert not _within(k_const, n_sen, q_sat)


def _stressed_old_cells(age_dependent: bool) -> int:
    """One step (1 day) of 60-year-old cells whose slopes would add 0.06/day if used."""
    stress = {
        "rate_per_day": 0.01,
        "age_slope_per_day_per_year": 5e-4,
        "epigenetic_slope_per_day_per_year": 5e-4,
        "age_dependent": age_dependent,
    }
    m = _model(stress=stress, clearance={"rate_per_day": 0.0})
    m.primary.cells.epi_origin_day[:] = 0.0  # epigenetic age 60 years
    m.step()
    return int(m.primary.counters[C_STRESS])


def test_age_independent_stress_uses_the_base_rate_alone():
    """age_dependent = false: hazard 0.01/day at 60 years, whatever the slopes; with them
    the hazard 0.01 + 2 x 5e-4 x age_years rises through the day, and a cell senesces
    with probability 1 - exp(-integral), the integral being the hazard at mid-day."""
    assert _within(_stressed_old_cells(False), N, 1 - math.exp(-0.01))
    years_mid = (60 * 365.25 + 0.5) / 365.25
    h_mid = 0.01 + 5e-4 * years_mid + 5e-4 * years_mid
    assert _within(_stressed_old_cells(True), N, 1 - math.exp(-h_mid))


def test_switches_survive_a_parameter_round_trip():
    """The switches are plain fields: dumped and validated again, overridden by name."""
    p = ModelParams(tissues=[tissue(clearance={"saturating": False})])
    again = ModelParams.model_validate(p.model_dump())
    assert again == p and again.tissues[0].clearance.saturating is False
    m = AgingModel(p, rng=1, age_dependent=False)
    assert m.params.tissues[0].stress.age_dependent is False
