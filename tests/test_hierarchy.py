"""The stem-cell hierarchy (issue 16, item 1): a stem compartment's own division clock with
childhood and pool growth, progenitor amplification, pools founded from supply.

Checked against the mean field of analysis/hierarchy_meanfield.py (derived from the
model's laws, not from the engine), an exact deterministic case, conservation and
telomere monotonicity over random parameters, and run == stepping."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from analysis.hierarchy_meanfield import (
    PoolMeanField,
    StemMeanField,
    asymmetric_divisions_per_cell,
    expected_loss_bp,
    growth_efolds,
    hierarchy_means_bp,
    pool_mean_bp,
)
from cellsim.engine.model import AgingModel
from cellsim.engine.params import DAYS_PER_YEAR, CellState, ModelParams, TissueParams
from cellsim.kernels.layout import C_DEATHS, C_DIVISIONS, C_SUPPLIED_IN, C_SUPPLIED_OUT
from cellsim.run.calibration import hierarchy_meanfield_model

QUIET = {"rate_per_day": 0.0, "epigenetic_slope_per_day_per_year": 0.0}


def hierarchy(
    *,
    years: float = 30.0,
    n_stem: int = 2000,
    n_pool: int = 500,
    clock: dict | None = None,
    stem_loss: tuple[float, float] = (100.0, 30.0),
    telomerase: float = 0.77,
    pool_loss: tuple[float, float] = (50.0, 15.0),
    k_gran: int = 6,
    k_lymph: int = 3,
    lymph_share: float = 0.5,
    dt_days: float = 1.0,
    initial_sd_bp: float = 300.0,
    slope: float = 0.0,
    lymph_childhood: dict | None = None,
    n_lymph: int | None = None,
) -> ModelParams:
    """HSC-like stem compartment with a clock, a short-lived pool supplied entirely
    (granulocyte-like) and a long-lived one partly dividing locally (lymphocyte-like),
    with ``lymph_childhood`` its childhood turnover (None: the key left out) and
    ``n_lymph`` cells (None: ``n_pool``)."""
    lymph_extra = {} if lymph_childhood is None else {"childhood_turnover": lymph_childhood}
    clock = clock if clock is not None else {}
    pool_tel = {
        "initial_mean_bp": 11000.0,
        "loss_mean_bp": pool_loss[0],
        "loss_sd_bp": pool_loss[1],
        "senescence_threshold_bp": 2000.0,
        "loss_length_slope": slope,
    }
    return ModelParams.model_validate(
        {
            "run": {
                "dt_days": dt_days,
                "horizon_days": years * DAYS_PER_YEAR,
                "record_interval_days": DAYS_PER_YEAR,
                "stop_at": "horizon",
            },
            "tissues": [
                {
                    "name": "hsc",
                    "kind": "stem",
                    "n_cells": n_stem,
                    "lifespan_days": 1e9,
                    "telomere": {
                        "initial_mean_bp": 11000.0,
                        "initial_sd_bp": initial_sd_bp,
                        "loss_mean_bp": stem_loss[0],
                        "loss_sd_bp": stem_loss[1],
                        "telomerase_stem": telomerase,
                        "senescence_threshold_bp": 2000.0,
                        "loss_length_slope": slope,
                    },
                    "stress": QUIET,
                    "stem_divisions": {"interval_days": 280.0, **clock},
                },
                {
                    "name": "gran",
                    "n_cells": n_pool,
                    "lifespan_days": 6.6,
                    "supply_from": "hsc",
                    "supply_share": 1.0,
                    "amplification_divisions": k_gran,
                    "initial_from_supply": True,
                    "telomere": pool_tel,
                    "stress": QUIET,
                    "transformation": {"probability_per_division": 0.0},
                },
                {
                    "name": "lymph",
                    "n_cells": n_pool if n_lymph is None else n_lymph,
                    "lifespan_days": 200.0,
                    "supply_from": "hsc",
                    "supply_share": lymph_share,
                    "amplification_divisions": k_lymph,
                    "initial_from_supply": True,
                    "telomere": pool_tel,
                    "stress": QUIET,
                    "transformation": {"probability_per_division": 0.0},
                    **lymph_extra,
                },
            ],
        }
    )


def assert_runs_follow_the_mean_field(
    p: ModelParams, seed: int, tolerance_bp: float = 60.0
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Run ``p`` and check every compartment's yearly mean telomere against the mean
    field within ``tolerance_bp``; return the trajectories, the ages and the stem mean."""
    tr = AgingModel(p, rng=seed).run().trajectories()
    stem, pools = meanfield(p)
    ages = np.sort(tr["age_years"].unique())
    stem_bp, pool_bp = hierarchy_means_bp(ages, 0.0, stem, pools)
    want = {"hsc": stem_bp, **pool_bp}
    for name in ("hsc", "gran", "lymph"):
        got = tr[tr["tissue"] == name].sort_values("age_years")["telomere_mean_bp"].to_numpy()
        assert np.max(np.abs(got - want[name])) < tolerance_bp, name
    return tr, ages, stem_bp


def meanfield(p: ModelParams) -> tuple[StemMeanField, dict[str, PoolMeanField]]:
    """The mean-field description of ``hierarchy``'s parameters."""
    _, stem, pools = hierarchy_meanfield_model(p)
    return stem, pools


def test_expected_loss_is_the_truncated_normal_mean():
    """Against a direct Monte Carlo of max(0, Normal) at a fixed seed (10^6 draws)."""
    rng = np.random.default_rng(3)
    draws = np.maximum(rng.normal(40.0, 50.0, size=1_000_000), 0.0)
    assert expected_loss_bp(40.0, 50.0) == pytest.approx(draws.mean(), rel=2e-3)
    assert expected_loss_bp(100.0, 0.0, telomerase=0.77) == pytest.approx(23.0)


def test_amplification_is_exact_with_deterministic_losses():
    """Exact case: every stem cell at T0 and no stem division in the run (interval of
    10^9 days): every supplied cell carries T0 - (1 - a) L_s - k L exactly, and 1 + k
    divisions; its clone is the offset plus a stem clone."""
    p = hierarchy(years=1.0, stem_loss=(100.0, 0.0), pool_loss=(50.0, 0.0), initial_sd_bp=0.0)
    p = p.model_copy(deep=True)
    p.tissues[0].stem_divisions.interval_days = 1e9
    m = AgingModel(p, rng=5).run()
    for name, k in (("gran", 6), ("lymph", 3)):
        t = m.by_name[name]
        cells = t.cells
        supplied = cells.slots_of(CellState.CYCLING)
        local = cells.divisions[supplied] != 1 + k  # lymph's local divisions change these
        exact = supplied[~local]
        assert exact.size > 100
        assert np.all(cells.telomere_bp[exact] == np.float32(11000.0 - 23.0 - k * 50.0))
        assert np.all(cells.clone[exact] >= t.clone_offset)
    assert m.by_name["gran"].counters[C_SUPPLIED_IN] > 0
    assert m.by_name["hsc"].counters[C_DIVISIONS] == 0  # sampled ancestry: no stem division


def test_stem_clock_division_count_follows_the_childhood_hazard():
    """The stem cells' divisions over ages 0-10 (asymmetric, plus growth divisions) are
    Poisson with mean N * (A(10 y) + G(10 y)) (each growth division is one division):
    within 4 SDs at a fixed seed."""
    clock = {
        "childhood_factor": 15.0,
        "childhood_timescale_years": 1.5,
        "pool_at_birth_fraction": 0.2,
    }
    p = hierarchy(years=10.0, n_stem=1000, n_pool=20, clock=clock)
    m = AgingModel(p, rng=11).run()
    stem, _ = meanfield(p)
    day = 10.0 * DAYS_PER_YEAR
    expected = 1000 * (asymmetric_divisions_per_cell(day, stem) + growth_efolds(day, stem))
    got = m.by_name["hsc"].counters[C_DIVISIONS]
    assert abs(got - expected) < 4.0 * math.sqrt(expected)
    asymmetric = 1000 * asymmetric_divisions_per_cell(day, stem)
    out = m.by_name["hsc"].counters[C_SUPPLIED_OUT]
    assert abs(out - asymmetric) < 4.0 * math.sqrt(asymmetric)


@pytest.mark.parametrize(
    "clock",
    [
        {},
        {
            "childhood_factor": 20.0,
            "childhood_timescale_years": 1.0,
            "pool_at_birth_fraction": 0.05,
        },
    ],
    ids=["adult", "childhood"],
)
def test_hierarchy_means_agree_with_the_mean_field(clock):
    """Mean telomere of the stem cells and of both pools, yearly over 30 years, against
    the mean field (analysis/hierarchy_meanfield.py). Tolerance: 60 bp, about 4 standard
    errors of a 500-cell pool's mean here (cells spread ~250 bp, plus the sampling of
    ancestors), and far below the effect tested (childhood: ~0.7 kb by age 5)."""
    p = hierarchy(years=30.0, clock=clock)
    tr, ages, _ = assert_runs_follow_the_mean_field(p, seed=2026)
    _, pools = meanfield(p)
    if clock:  # childhood: (F - 1) r tau = 24.6 extra divisions plus 2 ln 20 growth
        # e-folds, at 23.9 bp each: ~0.73 kb more lost by age 5 than at adult rates
        got5 = tr[(tr["tissue"] == "hsc") & (tr["age_years"].round() == 5)]
        adult, _ = hierarchy_means_bp(ages, 0.0, meanfield(hierarchy(years=30.0))[0], pools)
        assert adult[5] - float(got5["telomere_mean_bp"].iloc[0]) > 650.0


def test_length_dependent_hierarchy_agrees_with_the_mean_field():
    """With length-dependent loss in every compartment (slope 0.02: a division of a cell
    1 kb above the 10 kb reference loses 20 bp more, before telomerase), the stem mean
    relaxes and the pools follow it: yearly over 30 years with a childhood clock, within
    60 bp as above. What the slope is for: two people born 1 kb apart are ~0.74 kb apart
    at 30 in the mean field (exp(-0.02 x 0.23 x ~64 division-equivalents)), in the engine
    too (same seed, within 60 bp), where a constant loss keeps them 1 kb apart."""
    clock = {"childhood_factor": 20.0, "childhood_timescale_years": 1.0}
    p = hierarchy(years=30.0, clock=clock, slope=0.02)
    tr, ages, stem_bp = assert_runs_follow_the_mean_field(p, seed=2027)
    longer = p.model_copy(deep=True)
    longer.tissues[0].telomere.initial_mean_bp = 12000.0
    stem_hi, _ = hierarchy_means_bp(ages, 0.0, *meanfield(longer))
    gap = stem_hi[-1] - stem_bp[-1]
    assert 650.0 < gap < 850.0
    tr_hi = AgingModel(longer, rng=2027).run().trajectories()
    hsc = [
        t[t["tissue"] == "hsc"].sort_values("age_years")["telomere_mean_bp"] for t in (tr, tr_hi)
    ]
    assert float(hsc[1].iloc[-1] - hsc[0].iloc[-1]) == pytest.approx(gap, abs=60.0)


# --- lymphocytes in infancy: a supplied pool's childhood turnover ------------------------

LYMPH_CHILDHOOD = {"factor": 6.0, "timescale_years": 2.0}


def test_lymphocyte_childhood_turnover_agrees_with_the_mean_field():
    """A lymphocyte-like pool (supply share 0.1, 4000 cells) turning over 6x faster at
    birth, the excess decaying over 2 years, beside an HSC childhood: every compartment's
    yearly mean over 30 years, averaged over 4 runs, follows the mean field within 90 bp.
    Faster turnover makes a pool's mean drift (its lineages coalesce faster): the
    lymphocytes' seed-to-seed SD reached ~45 bp at some ages (6 seeds, 2026-12-04), so
    90 bp is ~4 standard errors of the 4-run average. The effect tested is several times
    that: the pool falls toward its offset below the supply, ``(1 - s) 2 l / s`` = 900 bp,
    on the timescale ``L / s`` (5.5 years) of turnover time, of which the childhood adds
    (F - 1) tau = 10 years: ~0.53 kb lower at age 2 in the mean field than without it,
    and in the runs; the granulocyte-like pool does not change."""
    clock = {"childhood_factor": 10.0, "childhood_timescale_years": 1.0}
    kw = {"years": 30.0, "clock": clock, "lymph_share": 0.1, "n_lymph": 4000}
    p = hierarchy(**kw, lymph_childhood=LYMPH_CHILDHOOD)
    runs = [AgingModel(p, rng=seed).run().trajectories() for seed in (2031, 2032, 2033, 2034)]
    ages = np.sort(runs[0]["age_years"].unique())
    stem_bp, pool_bp = hierarchy_means_bp(ages, 0.0, *meanfield(p))
    want = {"hsc": stem_bp, **pool_bp}

    def mean_of_runs(name: str) -> np.ndarray:
        per_run = [
            tr[tr["tissue"] == name].sort_values("age_years")["telomere_mean_bp"].to_numpy()
            for tr in runs
        ]
        return np.mean(per_run, axis=0)

    got = {name: mean_of_runs(name) for name in ("hsc", "gran", "lymph")}
    for name in got:
        assert np.max(np.abs(got[name] - want[name])) < 90.0, name
    _, without = hierarchy_means_bp(ages, 0.0, *meanfield(hierarchy(**kw)))
    assert 450.0 < without["lymph"][2] - want["lymph"][2] < 600.0
    assert np.allclose(without["gran"], want["gran"])
    assert without["lymph"][2] - got["lymph"][2] > 400.0


def test_lymphocyte_childhood_turnover_deaths_follow_the_hazard():
    """The pool's deaths over ages 0-5 are Poisson with mean N (t + (F - 1) tau (1 -
    exp(-t / tau))) / L (every death refilled at once, so N cells at risk throughout):
    within 4 SDs at a fixed seed, and ~2.8x the count without a childhood."""
    p = hierarchy(years=5.0, n_stem=200, n_pool=400, lymph_childhood=LYMPH_CHILDHOOD, dt_days=7.0)
    m = AgingModel(p, rng=17).run()
    t, tau = 5.0 * DAYS_PER_YEAR, 2.0 * DAYS_PER_YEAR
    expected = 400 * (t + 5.0 * tau * (1.0 - math.exp(-t / tau))) / 200.0
    got = int(m.by_name["lymph"].counters[C_DEATHS])
    assert abs(got - expected) < 4.0 * math.sqrt(expected)
    assert expected / (400 * t / 200.0) > 2.5


def test_childhood_turnover_of_factor_one_changes_nothing():
    """Exact limiting case: ``childhood_turnover = {factor = 1}`` (any timescale) is the
    model without it, bit for bit in the engine and exactly in the mean field; a factor
    a hair above 1 takes the mean field's time-varying path and agrees with it to 1e-6 bp."""
    clock = {"childhood_factor": 5.0, "pool_at_birth_fraction": 0.3}
    off = hierarchy(years=3.0, n_stem=200, n_pool=100, clock=clock)
    one = hierarchy(
        years=3.0, n_stem=200, n_pool=100, clock=clock,
        lymph_childhood={"factor": 1.0, "timescale_years": 7.0},
    )  # fmt: skip
    a, b = AgingModel(off, rng=3).run(), AgingModel(one, rng=3).run()
    for ta, tb in zip(a.tissues, b.tissues, strict=True):
        for x, y in zip(ta.cells.arrays(), tb.cells.arrays(), strict=True):
            assert np.array_equal(x, y)
    pd.testing.assert_frame_equal(a.trajectories(), b.trajectories())
    ages = np.arange(0.0, 40.0, 0.5)
    stem, pools = meanfield(off)
    _, base = hierarchy_means_bp(ages, 0.0, stem, pools)
    _, same = hierarchy_means_bp(ages, 0.0, *meanfield(one))
    assert all(np.array_equal(base[k], same[k]) for k in base)
    hair = {
        k: dataclasses.replace(v, childhood_turnover_factor=1.0 + 1e-12) for k, v in pools.items()
    }
    _, near = hierarchy_means_bp(ages, 0.0, stem, hair)
    assert all(np.max(np.abs(base[k] - near[k])) < 1e-6 for k in base)


def test_childhood_turnover_mean_field_against_its_closed_form():
    """Exact case of the mean field's time-varying path: a pool supplied entirely (s = 1)
    from a constant source x relaxes as ``x + (m0 - x) exp(-U(t) / L)`` with ``U(t) = t +
    (F - 1) tau (1 - exp(-t / tau))`` (the turnover's integral): to 1e-9 bp on its grid."""
    stem = StemMeanField(initial_mean_bp=10000.0, loss_bp=0.0, interval_days=280.0)
    pool = PoolMeanField(
        lifespan_days=100.0, supply_share=1.0, loss_bp=40.0, amplification_divisions=5,
        initial_mean_bp=12000.0, childhood_turnover_factor=8.0,
        childhood_turnover_timescale_years=1.5,
    )  # fmt: skip
    grid = np.arange(0.0, 20 * DAYS_PER_YEAR, 3.0)
    got = pool_mean_bp(grid, np.full(grid.shape, 10000.0), stem, pool)
    tau = 1.5 * DAYS_PER_YEAR
    u = grid + 7.0 * tau * (1.0 - np.exp(-grid / tau))
    x = 10000.0 - 5 * 40.0
    assert np.max(np.abs(got - (x + (12000.0 - x) * np.exp(-u / 100.0)))) < 1e-9


def test_run_is_bit_identical_to_stepping_with_a_childhood_turnover():
    """Fast-forward equals stepping one step at a time while a pool's turnover changes
    step by step (and after it settles to the adult rate)."""
    p = hierarchy(
        years=3.0, n_stem=200, n_pool=100, dt_days=5.0,
        lymph_childhood={"factor": 4.0, "timescale_years": 0.05},
    )  # fmt: skip
    assert_run_equals_stepping(p, rng=8)


def assert_run_equals_stepping(p, rng: int) -> None:
    """``AgingModel.run()`` (fast-forward) and stepping one step at a time give the same
    cells, counters and trajectories in every tissue."""
    fast = AgingModel(p, rng=rng).run()
    slow = AgingModel(p, rng=rng)
    while slow.running:
        slow.step()
    for tf, ts in zip(fast.tissues, slow.tissues, strict=True):
        for a, b in zip(tf.cells.arrays(), ts.cells.arrays(), strict=True):
            assert np.array_equal(a, b)
        assert np.array_equal(tf.counters, ts.counters)
    pd.testing.assert_frame_equal(fast.trajectories(), slow.trajectories())


def test_run_is_bit_identical_to_stepping_with_a_clock():
    """Fast-forward over three linked tissues equals stepping one step at a time."""
    clock = {"childhood_factor": 5.0, "pool_at_birth_fraction": 0.3}
    assert_run_equals_stepping(hierarchy(years=3.0, n_stem=200, n_pool=100, clock=clock), rng=8)


@settings(max_examples=15, deadline=None)
@given(
    factor=st.floats(0.0, 30.0),
    tau=st.floats(0.1, 5.0),
    f=st.floats(0.01, 1.0),
    telomerase=st.floats(0.0, 1.0),
    k=st.integers(0, 8),
    share=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_slots_conserved_and_stem_telomeres_never_grow(factor, tau, f, telomerase, k, share, seed):
    """Over random clocks: every slot is in exactly one state, no compartment changes
    size, and no stem cell's telomere grows (no telomerase > 1, no reprogramming)."""
    clock = {
        "childhood_factor": factor,
        "childhood_timescale_years": tau,
        "pool_at_birth_fraction": f,
    }
    p = hierarchy(
        years=2.0, n_stem=60, n_pool=40, clock=clock, telomerase=telomerase, k_gran=k,
        lymph_share=share, dt_days=7.0,
    )  # fmt: skip
    m = AgingModel(p, rng=seed)
    hsc = m.by_name["hsc"].cells
    for _ in range(10):
        # a stem cell keeps its slot unless a growth division overwrites it with a
        # daughter of another, shorter-or-equal cell: the maximum never grows
        before = float(hsc.telomere_bp.max())
        m.step()
        assert float(hsc.telomere_bp.max()) <= before
        for t in m.tissues:
            c = t.cells
            assert sum(c.counts().values()) == c.n_slots == t.params.n_cells
            assert c.is_consistent()


def test_bad_hierarchy_inputs_name_the_field():
    with pytest.raises(ValidationError, match="stem_divisions needs kind = 'stem'"):
        TissueParams(name="x", stem_divisions={})
    with pytest.raises(ValidationError, match="amplification_divisions=3 needs supply_from"):
        TissueParams(name="x", amplification_divisions=3)
    with pytest.raises(ValidationError, match="initial_from_supply=True needs supply_from"):
        TissueParams(name="x", initial_from_supply=True)
    with pytest.raises(ValidationError, match="pool_at_birth_fraction"):
        TissueParams(name="x", kind="stem", stem_divisions={"pool_at_birth_fraction": 0.0})
    with pytest.raises(ValidationError, match=r"childhood_turnover\.factor"):
        TissueParams(name="x", childhood_turnover={"factor": -1.0})
    with pytest.raises(ValidationError, match=r"childhood_turnover\.timescale_years"):
        TissueParams(name="x", childhood_turnover={"timescale_years": 0.0})


# --- stem-cell therapies: a telomerase activator and a transplant -----------------------


def _stem_only(
    interventions: list[dict], years: float = 4.0, interval_days: float = 100.0
) -> ModelParams:
    """One stem compartment with a clock (one division per cell per ``interval_days``),
    exact losses of 100 bp x (1 - 0.5) per division, founders all at 11 kb."""
    return ModelParams.model_validate(
        {
            "run": {"horizon_days": years * DAYS_PER_YEAR, "stop_at": "horizon", "dt_days": 5.0},
            "tissues": [
                {
                    "name": "hsc",
                    "kind": "stem",
                    "n_cells": 300,
                    "lifespan_days": 1e9,
                    "telomere": {
                        "initial_mean_bp": 11000.0,
                        "initial_sd_bp": 0.0,
                        "loss_sd_bp": 0.0,
                        "telomerase_stem": 0.5,
                        "senescence_threshold_bp": 1000.0,
                    },
                    "stress": QUIET,
                    "stem_divisions": {"interval_days": interval_days},
                }
            ],
            "interventions": interventions,
        }
    )


def test_telomerase_therapy_halves_the_loss_from_its_start_exactly():
    """Deterministic losses: 50 bp per division before the therapy, 25 after (a: 0.5 ->
    0.75), so the telomere lost in the compartment is exactly 50 D1 + 25 D2 with D1 and
    D2 the divisions before and after (counted), and each cell sits on that lattice."""
    therapy = {"kind": "telomerase_therapy", "start_age_days": 730.5, "loss_reduction": 0.5,
               "tissues": ["hsc"]}  # fmt: skip
    m = AgingModel(_stem_only([therapy]), rng=4)
    m.run(until_day=730.5)
    before = int(m.tissues[0].counters[C_DIVISIONS])
    m.run()
    after = int(m.tissues[0].counters[C_DIVISIONS]) - before
    assert before > 1000 and after > 1000
    lost = 11000.0 * 300 - float(m.tissues[0].cells.telomere_bp.astype(np.float64).sum())
    assert lost == pytest.approx(50.0 * before + 25.0 * after, abs=1.0)
    assert np.all(np.isin(np.mod(11000.0 - m.tissues[0].cells.telomere_bp, 25.0), [0.0]))


def test_a_checkpoint_after_the_therapy_resumes_with_it(tmp_path):
    from .test_checkpoint import assert_same

    therapy = {"kind": "telomerase_therapy", "start_age_days": 365.25, "tissues": ["hsc"]}
    whole = AgingModel(_stem_only([therapy]), rng=9).run()
    path = tmp_path / "ck.bin"
    AgingModel(_stem_only([therapy]), rng=9).run(until_day=800.0).save_checkpoint(path)
    assert_same(AgingModel.load_checkpoint(path).run(), whole)


@pytest.mark.parametrize("fraction", [1.0, 0.3])
def test_a_transplant_puts_young_donor_cells_in_the_engrafted_share(fraction):
    """At the transplant, each slot holds a donor cell with probability ``fraction``:
    their count is Binomial(n, fraction) (within 4 SD), their telomeres Normal(12 kb,
    400) (KS), no divisions, new clones (no stem division in the run: a long interval)."""
    tx = {"kind": "transplant", "age_days": 365.25, "fraction": fraction,
          "donor_telomere_mean_bp": 12000.0, "donor_telomere_sd_bp": 400.0,
          "tissues": ["hsc"]}  # fmt: skip
    m = AgingModel(_stem_only([tx], years=2.0, interval_days=1e9), rng=21)
    m.run()
    cells = m.tissues[0].cells
    donor = cells.clone >= 2 * cells.n_slots
    n = cells.n_slots
    assert abs(donor.sum() - n * fraction) <= 4 * math.sqrt(n * fraction * (1 - fraction)) + 1e-9
    assert np.all(cells.divisions[donor] == 0)
    from scipy import stats

    assert stats.kstest(cells.telomere_bp[donor], stats.norm(12000, 400).cdf).pvalue > 0.01
    assert sum(cells.counts().values()) == n
