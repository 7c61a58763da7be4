"""Interventions against expectations derived independently of the code."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from cellsim.engine.model import AgingModel
from cellsim.engine.params import (
    CellState,
    FullReprogramming,
    Insult,
    ModelParams,
    PartialReprogramming,
    RunParams,
    Senolytic,
)
from cellsim.engine.population import CellPopulation
from cellsim.kernels import interventions as intervention_kernels
from cellsim.kernels.layout import (
    C_CLEARED_SENOLYTIC,
    C_DEDIFFERENTIATED,
    C_DIVISIONS,
    C_SUPPLIED_IN,
    C_SUPPLIED_OUT,
    C_TERATOMAS,
    N_COUNTERS,
)

from .conftest import model_params, tissue

QUIET = {
    "stress": {"rate_per_day": 0.0, "epigenetic_slope_per_day_per_year": 0.0},
    "transformation": {"probability_per_division": 0.0},
}


def test_one_dose_removes_a_binomial_number_of_senescent_cells():
    """A dose of efficacy e kills each of n senescent cells independently with
    probability e, so the number removed is Binomial(n, e): chi-square goodness of fit of
    3000 doses (alpha 0.001), and the mean and variance within 4 standard errors."""
    n_sen, e, reps = 200, 0.3, 3000
    rng = np.random.default_rng(2026)
    pop = CellPopulation.founded(tissue(n_cells=1000), rng)
    removed = np.empty(reps, dtype=np.int64)
    for r in range(reps):
        pop.state[:] = CellState.CYCLING
        pop.state[rng.choice(1000, n_sen, replace=False)] = CellState.SENESCENT
        pop.rebuild_index()
        counters = np.zeros(N_COUNTERS, dtype=np.int64)
        intervention_kernels.senolytic_dose(
            pop.state, pop.order, pop.pos, pop.seg, e, 0.0, rng, counters, C_CLEARED_SENOLYTIC
        )
        removed[r] = counters[C_CLEARED_SENOLYTIC]
        assert pop.count(CellState.SENESCENT) == n_sen - removed[r]
        assert pop.count(CellState.EMPTY) == removed[r]
        assert pop.is_consistent()
    lo, hi = stats.binom.ppf([0.001, 0.999], n_sen, e).astype(int)
    edges = np.arange(lo, hi + 1)
    observed = np.array(
        [(removed < lo).sum(), *[(removed == k).sum() for k in edges[:-1]], (removed >= hi).sum()]
    )
    probs = np.array(
        [
            stats.binom.cdf(lo - 1, n_sen, e),
            *stats.binom.pmf(edges[:-1], n_sen, e),
            stats.binom.sf(hi - 1, n_sen, e),
        ]
    )
    keep = probs * reps >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(probs[keep], probs[~keep].sum()) * reps
    assert stats.chisquare(obs, exp).pvalue > 0.001
    mean, var = n_sen * e, n_sen * e * (1 - e)
    assert abs(removed.mean() - mean) < 4 * np.sqrt(var / reps)
    assert abs(removed.var() - var) < 4 * var * np.sqrt(2 / reps)


def _senolytic_params(senolytic: bool) -> ModelParams:
    ivs = [Senolytic(interval_days=10, efficacy_per_dose=0.6)] if senolytic else []
    p = model_params(
        run={"stop_at": "all_events", "horizon_days": 5000},
        n_cells=1000,
        lifespan_days=8.0,
        clearance={"rate_per_day": 0.0},  # senescent cells would otherwise persist
        telomere={"loss_mean_bp": 200.0},
        **QUIET,
    )
    return p.model_copy(update={"interventions": ivs})


@pytest.mark.slow
def test_senolytics_spend_divisions_and_bring_exhaustion_earlier():
    """Cleared senescent cells must be replaced by divisions of the survivors, so with
    persistent senescent cells a senolytic regimen raises cumulative divisions and brings
    pool exhaustion earlier. Asserted over 12 seeded replicates per arm with one-sided
    Mann-Whitney tests at alpha = 0.01."""
    out = {}
    for arm in (False, True):
        days, divs = [], []
        for seed in range(12):
            m = AgingModel(_senolytic_params(arm), rng=1000 + seed).run()
            days.append(m.primary.event_days["exhaustion"])
            divs.append(m.primary.counters[C_DIVISIONS])
            if arm:
                assert m.primary.counters[C_CLEARED_SENOLYTIC] > 0
        out[arm] = (np.array(days), np.array(divs))
    assert stats.mannwhitneyu(out[True][0], out[False][0], alternative="less").pvalue < 0.01
    assert stats.mannwhitneyu(out[True][1], out[False][1], alternative="greater").pvalue < 0.01


def _reprogramming_model(efficiency: float, teratoma: float, seed: int) -> AgingModel:
    p = model_params(
        run={"stop_at": "all_events", "horizon_days": 4000},
        n_cells=1000,
        lifespan_days=8.0,
        telomere={"loss_mean_bp": 200.0},
        **QUIET,
    )
    t = p.tissues[0].model_copy(
        update={
            "pluripotency": p.tissues[0].pluripotency.model_copy(
                update={"teratoma_probability": teratoma, "redifferentiation_delay_days": 5.0}
            )
        }
    )
    ivs = [FullReprogramming(start_age_days=20, interval_days=20, efficiency_per_course=efficiency)]
    return AgingModel(
        ModelParams(tissues=[t], interventions=ivs if efficiency > 0 else [], run=p.run),
        rng=seed,
    )


@pytest.mark.slow
def test_full_reprogramming_restores_telomeres_and_delays_exhaustion():
    """Reprogrammed cells reset telomeres to the embryonic length (13.3 kb > any somatic
    cell), so the mean telomere is higher after courses than without; with no teratoma
    risk the pool lasts longer (one-sided Mann-Whitney, alpha 0.01, 8 replicates)."""
    exhaustion = {0.0: [], 0.02: []}
    for seed in range(8):
        for eff in exhaustion:
            m = _reprogramming_model(eff, 0.0, seed)
            for _ in range(100):
                m.step()
            tel = m.primary.cells.frame(m.age_days)["telomere_bp"].mean()
            exhaustion[eff].append((m.run().primary.event_days["exhaustion"] or 4000, tel))
    no = np.array(exhaustion[0.0])
    yes = np.array(exhaustion[0.02])
    assert np.all(yes[:, 1] > no[:, 1])
    assert stats.mannwhitneyu(yes[:, 0], no[:, 0], alternative="greater").pvalue < 0.01
    m = _reprogramming_model(0.02, 0.5, 1)
    m.run()
    traj = m.trajectories()
    assert traj["n_transformed"].max() > 0
    assert m.primary.counters[C_TERATOMAS] > 0


def test_continuous_induction_lowers_the_functional_fraction():
    """Continuous OSKM (no off-days) makes the dedifferentiation risk grow day after day,
    so within a month most cells leave their identity; 2-on/5-off cycles do not."""
    results = {}
    for name, off in (("none", None), ("cyclic", 5), ("continuous", 0)):
        ivs = [] if off is None else [PartialReprogramming(start_age_days=10, off_days=off)]
        p = ModelParams(
            tissues=[tissue(n_cells=3000, lifespan_days=100.0)],
            interventions=ivs,
            run=RunParams(stop_at="horizon", horizon_days=45),
        )
        m = AgingModel(p, rng=9).run()
        results[name] = m.trajectories()["functional_fraction"].iloc[-1]
    assert results["continuous"] < 0.5
    assert results["cyclic"] > 0.95 and results["none"] > 0.95


def test_partial_reprogramming_sets_back_the_epigenetic_clock():
    """2-on/5-off from day 400: on-days 400, 401, 407 and 408 each set every clock back 30
    days, and daughters inherit their parent's clock, so on day 410 every cell reads
    410 - 4 x 30 = 290 days, except cells that dedifferentiated fully (PLURIPOTENT, clock
    restarted at 0 on that on-day)."""
    p = ModelParams(
        tissues=[tissue(n_cells=500)],
        interventions=[PartialReprogramming(start_age_days=400, off_days=5)],
        run=RunParams(stop_at="horizon", horizon_days=410, start_age_days=0),
    )
    m = AgingModel(p, rng=1).run()
    cells = m.cells_frame()
    slipped = cells["state"] == "PLURIPOTENT"
    assert np.allclose(cells.loc[~slipped, "epigenetic_age_days"], 290.0, atol=1e-3)
    assert cells.loc[slipped, "epigenetic_age_days"].isin([2.0, 3.0, 9.0, 10.0]).all()
    assert slipped.sum() == m.primary.counters[C_DEDIFFERENTIATED]


@pytest.mark.parametrize("activity", [0.0, 0.5, 0.9])
def test_stem_compartment_loss_scales_with_one_minus_telomerase(activity):
    """A STEM cell loses max(0, N(m, s)) * (1 - a) bp per division: with founders at an
    exact length, (initial - current) / divisions per stem cell averages (1 - a) times the
    loss of a compartment without telomerase, E[max(0, N(100, 20))] = 100.0 bp (the
    truncation adds < 1e-6). Tolerance 2% (thousands of divisions)."""
    stem = tissue(
        name="stem",
        kind="stem",
        n_cells=300,
        lifespan_days=1e6,
        telomere={
            "initial_sd_bp": 0.0,
            "loss_sd_bp": 20.0,
            "telomerase_stem": activity,
            "senescence_threshold_bp": 1000.0,
        },
        **QUIET,
    )
    skin = tissue(
        name="skin", n_cells=2000, lifespan_days=10.0, supply_from="stem", supply_share=1.0, **QUIET
    )
    p = ModelParams(tissues=[skin, stem], run=RunParams(stop_at="horizon", horizon_days=60))
    m = AgingModel(p, rng=4).run()
    cells = m.by_name["stem"].cells
    divided = np.flatnonzero((cells.state != CellState.EMPTY) & (cells.divisions > 0))
    per_division = (9500.0 - cells.telomere_bp[divided]) / cells.divisions[divided]
    expected = (1 - activity) * 100.0
    assert divided.size > 250
    assert abs(per_division.mean() - expected) <= 0.02 * 100.0
    # supplied cells arrived in the tissue and were counted on both sides
    supplied = m.by_name["skin"].counters[C_SUPPLIED_IN]
    assert supplied == m.by_name["stem"].counters[C_SUPPLIED_OUT] > 0


def test_stem_exhaustion_is_detected_and_reported():
    """A small compartment without telomerase runs out of divisions and its exhaustion day
    reaches the runs row; the somatic tissue then refills locally."""
    from cellsim.config.plan import RunSpec
    from cellsim.run.single import run_one

    stem = tissue(
        name="stem",
        kind="stem",
        n_cells=50,
        lifespan_days=1e6,
        telomere={"telomerase_stem": 0.0, "loss_mean_bp": 400.0},
        **QUIET,
    )
    skin = tissue(
        name="skin", n_cells=1000, lifespan_days=5.0, supply_from="stem", supply_share=0.5, **QUIET
    )
    p = ModelParams(tissues=[skin, stem], run=RunParams(stop_at="horizon", horizon_days=300))
    res = run_one(RunSpec(arm="a", replicate=0, params=p, entropy=1))
    assert res.row["stem.exhaustion_day"] > 0
    assert res.row["tissue"] == "skin"
    assert set(res.trajectories["tissue"]) == {"skin", "stem"}


# --- when scheduled interventions fire ----------------------------------------------------
# The rule (docs/MODEL.md, "The order of one step"): an event at age a fires at the end of
# the step that contains it, after step k = ceil((a - start) / dt), the first boundary at or
# after a; at or before the start, before the first step. The expected k below are worked
# out by hand from that formula, not by calling the model's clock.


def _firing_steps(ivs, *, dt: float, steps: int, start: float = 0.0, skip_to: int = 0):
    """For each firing of the model's interventions, in order, the step k after which it
    fired: the model is stepped one step at a time, and a firing seen during the call that
    runs step k + 1 happened at the boundary between steps k and k + 1. The first
    ``skip_to`` steps are fast-forwarded by ``run(until_day=...)``, during which nothing
    may fire."""
    run = RunParams(
        start_age_days=start,
        dt_days=dt,
        horizon_days=(steps + 10) * dt,
        record_interval_days=7e4,
        stop_at="horizon",
    )
    p = ModelParams(
        tissues=[tissue(n_cells=50, lifespan_days=1e9, **QUIET)], interventions=ivs, run=run
    )
    m = AgingModel(p, rng=1)

    def fired() -> int:
        return sum(a.fired for a in m.interventions)

    if skip_to:
        m.run(until_day=start + skip_to * dt)
        assert m.step_count == skip_to and fired() == 0, "fired before its step"
    out: list[int] = []
    while m.step_count < steps:
        k, before = m.step_count, fired()
        m.step()
        out += [k] * (fired() - before)
    return out


@pytest.mark.parametrize(
    ("start", "dt", "age", "k"),
    [
        (0.0, 0.1, 10.05, 101),  # 100.5 steps: the end of step 101, day 10.1
        (0.0, 0.25, 10.05, 41),  # 40.2 -> 41 (the nearest boundary would be 40)
        (0.0, 1.0, 10.05, 11),
        (0.0, 3.0, 10.05, 4),  # 3.35 -> 4, day 12
        (0.0, 0.25, 0.3, 2),  # 1.2 -> 2
        (0.0, 0.1, 25567.5, 255675),  # on a boundary: fires at it
        (0.0, 0.25, 25567.5, 102270),  # on a boundary
        (0.0, 1.0, 25567.5, 25568),  # 25567.5 -> 25568
        (0.0, 3.0, 25567.5, 8523),  # 8522.5 -> 8523
        (25567.5, 0.1, 25568.2, 7),  # a boundary up to rounding: (a - start) / dt = 7.000000000007
        (25567.5, 3.0, 25570.5, 1),  # start + dt exactly
        (25567.5, 1.0, 25567.5, 0),  # at the start: before the first step
        (25567.5, 1.0, 50.0, 0),  # before the start: before the first step
        (25567.5, 3.0, 25567.6, 1),  # just after the start: the end of the first step
    ],
)
def test_a_one_off_event_fires_at_the_end_of_the_step_containing_it(start, dt, age, k):
    ivs = [Insult(age_days=age, fraction=0.0)]
    assert _firing_steps(ivs, dt=dt, steps=k + 3, start=start, skip_to=max(0, k - 3)) == [k]


@pytest.mark.parametrize(
    ("ivs", "dt", "start", "steps", "expected"),
    [
        # every 7.5 d at dt = 1: ages 0, 7.5, 15, 22.5, 30, 37.5
        ([Senolytic(interval_days=7.5)], 1.0, 0.0, 40, [0, 8, 15, 23, 30, 38]),
        # every 7.4 d: 0, 7.4, 14.8, 22.2, 29.6, 37.0 (the nearest boundary would give 7, 22)
        ([Senolytic(interval_days=7.4)], 1.0, 0.0, 40, [0, 8, 15, 23, 30, 37]),
        # the end age is inclusive: 22.5 is the fourth course; 22.4 stops after the third
        ([Senolytic(interval_days=7.5, end_age_days=22.5)], 1.0, 0.0, 40, [0, 8, 15, 23]),
        ([Senolytic(interval_days=7.5, end_age_days=22.4)], 1.0, 0.0, 40, [0, 8, 15]),
        # courses from 0.5 every 7.5 d of 3 daily doses at dt = 3: doses at 0.5, 1.5, 2.5
        # (step 1), 8, 9 (step 3), 10 (step 4), 15.5, 16.5, 17.5 (step 6)
        (
            [Senolytic(start_age_days=0.5, interval_days=7.5, course_days=3)],
            3.0,
            0.0,
            7,
            [1, 1, 1, 3, 3, 4, 6, 6, 6],
        ),
        # a yearly course, 365.25 d, at dt = 1: no drift over four years
        (
            [FullReprogramming(interval_days=365.25, efficiency_per_course=0.0)],
            1.0,
            0.0,
            1462,
            [0, 366, 731, 1096, 1461],
        ),
        # 2 on / 5 off from 0.5 at dt = 3: on-days 0.5, 1.5 | 7.5, 8.5 | 14.5, 15.5
        (
            [PartialReprogramming(start_age_days=0.5, dedifferentiation_probability_per_on_day=0)],
            3.0,
            0.0,
            7,
            [1, 1, 3, 3, 5, 6],
        ),
        # continuous induction from 0.3 at dt = 0.25: on-days 0.3, 1.3, 2.3
        (
            [
                PartialReprogramming(
                    start_age_days=0.3, off_days=0, dedifferentiation_probability_per_on_day=0
                )
            ],
            0.25,
            0.0,
            11,
            [2, 6, 10],
        ),
        # a schedule begun before the run's start starts with the run: 25567.5, 25575, 25582.5
        ([Senolytic(interval_days=7.5)], 1.0, 25567.5, 16, [0, 8, 15]),
    ],
)
def test_each_occurrence_of_a_schedule_fires_at_the_end_of_its_step(
    ivs, dt, start, steps, expected
):
    assert _firing_steps(ivs, dt=dt, steps=steps, start=start) == expected
