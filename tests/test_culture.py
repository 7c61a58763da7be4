"""The in vitro culture (docs/MODEL.md process 7) against exact bookkeeping and theory."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from cellsim.engine.culture import CultureModel, CultureParams, run_culture
from cellsim.engine.params import CellState, TelomereParams
from cellsim.engine.population import CellPopulation
from cellsim.kernels import culture as culture_kernels
from cellsim.kernels.layout import C_DIVISIONS, C_REPLICATIVE, C_STRESS

from .conftest import tissue


def _params(**kw) -> CultureParams:
    tel = kw.pop("telomere", {})
    return CultureParams(telomere=TelomereParams(**tel), **kw)


def test_divisions_add_one_cell_each_and_pd_is_log2_of_counts():
    """Without death or plating losses every division adds exactly one cell, so the
    division counter equals the cells grown over all passages; each passage adds exactly
    log2(harvested / seeded) PD; the state index stays consistent."""
    m = CultureModel(_params(dish_cells=2000, stress_rate_per_day=0.01), rng=11)
    for _ in range(200):
        m.step()
        if not m.running:
            break
    grown = sum(p["harvested"] - p["seeded"] for p in m.passages) + m.occupied() - m.seeded
    assert m.counters[C_DIVISIONS] == grown
    pd_sum = sum(math.log2(p["harvested"] / p["seeded"]) for p in m.passages)
    assert math.isclose(m.pd_at_passage, pd_sum, rel_tol=1e-12)
    assert m.cells.is_consistent()
    assert len(m.passages) > 5


def test_exact_losses_make_senescence_a_function_of_division_count():
    """With exact losses (sd 0) and identical founders, a cell that divided g times has
    L0 - g * loss bp and is SENESCENT iff that is below the threshold: the tissue's
    division rule (processes.divide_into / settle_daughter) acts unchanged in culture."""
    tel = {
        "initial_mean_bp": 6000.0,
        "initial_sd_bp": 0.0,
        "loss_mean_bp": 100.0,
        "loss_sd_bp": 0.0,
        "senescence_threshold_bp": 5000.0,
    }
    res = CultureModel(_params(dish_cells=1000, stress_rate_per_day=0.0, telomere=tel), rng=3)
    res.run()
    c = res.cells
    occ = c.state != CellState.EMPTY
    g = c.divisions[occ]
    assert np.allclose(c.telomere_bp[occ], 6000.0 - 100.0 * g, atol=0.01)
    senescent = c.state[occ] == CellState.SENESCENT
    assert np.array_equal(senescent, 6000.0 - 100.0 * g < 5000.0)
    assert res.senescent and res.counters[C_REPLICATIVE] > 0
    assert g.max() == 11  # the 11th division takes a lineage below 5000 bp


@pytest.mark.parametrize("dt", [0.25, 1.0])
def test_memoryless_divisions_cost_2ln2_divisions_per_pd(dt):
    """Cells dividing at a constant hazard r form a Yule process: the population grows as
    exp(r t) (1 PD per day at r = ln 2) and a random cell's division count grows at 2 r t,
    i.e. 2 ln 2 = 1.386 divisions per PD. The kernel simulates divisions in continuous
    time within a step and passages at the moment of confluence, so both hold for any
    step length. Tolerance 3% (thousands of cells, 15 PD)."""
    p = _params(dish_cells=20_000, stress_rate_per_day=0.0, dt_days=dt, record_interval_days=dt)
    m = CultureModel(p, rng=5)
    while m.pd < 15:
        m.step()
    g = m.growth_curve()
    g = g[g["pd_cumulative"] >= 2]
    per_pd = np.polyfit(g["pd_cumulative"], g["divisions_per_cell_mean"], 1)[0]
    pd_per_day = np.polyfit(g["day"], g["pd_cumulative"], 1)[0]
    assert abs(per_pd - 2 * math.log(2)) < 0.03 * 2 * math.log(2)
    assert abs(pd_per_day - 1.0) < 0.03


def test_thinning_keeps_a_binomial_number():
    """Passaging keeps each cell with probability 1/N: over 2000 splits of 400 cells at
    1/4, the kept count has the Binomial(400, 0.25) mean and variance (4 SE)."""
    rng = np.random.default_rng(8)
    pop = CellPopulation.founded(tissue(n_cells=400), rng)
    kept = np.empty(2000)
    for r in range(2000):
        pop.state[:] = CellState.CYCLING
        pop.state[:50] = CellState.SENESCENT
        pop.rebuild_index()
        kept[r] = culture_kernels.thin(pop.state, pop.order, pop.pos, pop.seg, 0.25, rng)
        assert pop.is_consistent()
    mean, var = 100.0, 400 * 0.25 * 0.75
    assert abs(kept.mean() - mean) < 4 * math.sqrt(var / kept.size)
    assert abs(kept.var() - var) < 4 * var * math.sqrt(2 / kept.size)


def test_stress_senescence_rate_in_culture():
    """CYCLING cells become SENESCENT at the stress hazard s (no division, no death): over
    half a day the count is Binomial(n, 1 - exp(-s dt))."""
    p = _params(dish_cells=5000, stress_rate_per_day=0.05, dt_days=0.5, confluence_fraction=1.0)
    m = CultureModel(p, rng=2)
    m.cells.state[:] = CellState.CYCLING
    m.cells.rebuild_index()
    before = m.cells.count(CellState.CYCLING)
    t = culture_kernels.grow(
        m.cells.arrays(), m.kernel_params, 0.0, 0.0, 0.0, 0.5, before + 1, m.rng, m.counters
    )
    assert t == 0.5
    k = int(m.counters[C_STRESS])
    assert k == before - m.cells.count(CellState.CYCLING)
    q = -math.expm1(-0.05 * 0.5)
    assert stats.binom.cdf(k, before, q) > 1e-4 and stats.binom.sf(k - 1, before, q) > 1e-4


def test_strain_reaches_senescence_and_stops():
    """A strain ends when it has not doubled for max_days_without_doubling days; its
    growth curve is non-decreasing and its final cells are nearly all non-dividing."""
    p = _params(dish_cells=2000, max_days_without_doubling=14.0)
    res = run_culture(p, seed=4, strain="s")
    assert res.senescent
    g = res.growth
    assert (np.diff(g["pd_cumulative"]) >= -1e-12).all()
    assert 20 < res.pd_at_senescence < 100
    assert g["nondividing_fraction"].iloc[-1] > 0.95
    # no whole doubling within the last 14 days
    before = g.loc[g["day"] <= res.days - 14.0 + 1e-9, "pd_cumulative"].iloc[-1]
    assert res.pd_at_senescence - before < 1.0


def test_same_seed_same_culture():
    """A culture is a function of its parameters and seed."""
    p = _params(dish_cells=1000)
    a = run_culture(p, seed=[1, 2], strain="a")
    b = run_culture(p, seed=[1, 2], strain="a")
    assert a.pd_at_senescence == b.pd_at_senescence
    assert a.growth.equals(b.growth)


def test_plating_losses_cost_divisions_per_counted_pd():
    """PD are counted from the cells seeded, so with a plating efficiency e each counted
    PD needs more divisions: per passage, log2(N) counted PD cost log2(N / e) doublings
    of the attached cells."""
    out = {}
    for e in (1.0, 0.5):
        p = _params(dish_cells=4000, stress_rate_per_day=0.0, plating_efficiency=e)
        m = CultureModel(p, rng=9)
        while m.pd < 12:
            m.step()
        out[e] = m.counters[C_DIVISIONS] / m.pd
    assert out[0.5] > 1.5 * out[1.0]
