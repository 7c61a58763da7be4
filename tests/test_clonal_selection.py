"""Clonal drift and selection in a stem compartment with a division clock (issue 16,
item 5): neutral drift against the coalescent, a driver clone against the logistic, the
driver probability against its Poisson expectation, invariants, the recorded clone
columns, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from analysis.clones import clone_structure, logistic_share, neutral_clone_count
from cellsim.engine import schema
from cellsim.engine.model import AgingModel
from cellsim.engine.params import DAYS_PER_YEAR, CellState, ModelParams, TissueParams
from cellsim.kernels.layout import C_DRIVER_CLONES, C_SUPPLIED_OUT, DRIVER_CLONE_BASE

QUIET = {"rate_per_day": 0.0, "epigenetic_slope_per_day_per_year": 0.0}
COMPETENT = (CellState.CYCLING, CellState.STEM, CellState.TRANSFORMED)


def stem_compartment(
    *,
    n_cells: int,
    years: float,
    lifespan_days: float = 1e9,
    selection: dict | None = None,
    interval_days: float = 280.0,
    loss_mean_bp: float = 100.0,
    dt_days: float = 1.0,
    supplied: bool = False,
) -> ModelParams:
    """One HSC-like compartment with a clock (telomerase 0.77: ~23 bp per division), and
    optionally a short-lived pool it supplies entirely."""
    clock: dict = {"interval_days": interval_days}
    if selection is not None:
        clock["selection"] = selection
    tissues = [
        {
            "name": "hsc",
            "kind": "stem",
            "n_cells": n_cells,
            "lifespan_days": lifespan_days,
            "telomere": {
                "initial_mean_bp": 11000.0,
                "initial_sd_bp": 300.0,
                "loss_mean_bp": loss_mean_bp,
                "loss_sd_bp": 0.3 * loss_mean_bp,
                "telomerase_stem": 0.77,
                "senescence_threshold_bp": 2000.0,
            },
            "stress": QUIET,
            "stem_divisions": clock,
        }
    ]
    if supplied:
        tissues.append(
            {
                "name": "gran",
                "n_cells": 200,
                "lifespan_days": 6.6,
                "supply_from": "hsc",
                "supply_share": 1.0,
                "initial_from_supply": True,
                "stress": QUIET,
                "transformation": {"probability_per_division": 0.0},
            }
        )
    return ModelParams.model_validate(
        {
            "run": {
                "dt_days": dt_days,
                "horizon_days": years * DAYS_PER_YEAR,
                "record_interval_days": DAYS_PER_YEAR,
                "stop_at": "horizon",
            },
            "tissues": tissues,
        }
    )


def competent_clones(model: AgingModel, tissue: str = "hsc") -> np.ndarray:
    c = model.by_name[tissue].cells
    return c.clone[np.isin(c.state, COMPETENT)]


def test_neutral_drift_loses_lineages_as_the_coalescent_says():
    """No selection, finite lifespan: each death is refilled by the division of a random
    other stem cell (well-mixed replacement in a compartment with a clock; the clock's
    asymmetric divisions change no clone), a Moran model. The mean of 24 seeds at two
    ages is within 10% of ``neutral_clone_count`` (31.7 and 16.6 lineages; one run spreads
    by ~12% and 16%, so 10% is about 3 standard errors of the mean; over 60 other seeds
    the engine gave 31.6 +- 0.5 and 15.8 +- 0.3, the coalescent's exact expectation is
    31.5 and 16.4)."""
    n, lifespan = 500, 10.0
    days = (150.0, 300.0)
    counts: dict[float, list[int]] = {d: [] for d in days}
    for seed in range(24):
        m = AgingModel(stem_compartment(n_cells=n, years=1.0, lifespan_days=lifespan), rng=seed)
        for d in days:
            m.run(until_day=d)
            counts[d].append(clone_structure(competent_clones(m))["n_clones"])
        assert m.by_name["hsc"].counters[C_SUPPLIED_OUT] > 0  # the clock ran
    for d in days:
        expected = neutral_clone_count(n, lifespan, d)
        assert np.mean(counts[d]) == pytest.approx(expected, rel=0.10), (d, counts[d], expected)


@pytest.mark.parametrize("lifespan_days", [1e9, 3000.0])
def test_a_planted_driver_clone_grows_along_the_logistic(lifespan_days):
    """A driver clone of share f0 = 0.1 planted at day 0 (``Tissue.plant_driver``) with
    s = 0.5 per year: its mean share over 6 seeds at 2, 4 and 6 years is within 0.03 of
    ``1 / (1 + (1/f0 - 1) exp(-s t))`` (the birth noise of 100 cells gives each run a ~8%
    relative spread, so 0.03 is about 3 standard errors of the mean). Without deaths
    (lifespan 1e9) the clone can only grow; with a finite lifespan neutral drift adds
    noise, and a clone lost by drift would be left out (none is at these sizes)."""
    n, f0, s = 1000, 0.1, 0.5
    years = (2.0, 4.0, 6.0)
    shares: dict[float, list[float]] = {y: [] for y in years}
    for seed in range(6):
        p = stem_compartment(
            n_cells=n,
            years=6.0,
            lifespan_days=lifespan_days,
            selection={"advantage_per_year": s},
        )
        m = AgingModel(p, rng=100 + seed)
        hsc = m.by_name["hsc"]
        cid = hsc.plant_driver(np.arange(int(f0 * n)))
        assert cid == DRIVER_CLONE_BASE
        for y in years:
            m.run(until_day=y * DAYS_PER_YEAR)
            ids = competent_clones(m)
            share = float(np.mean(ids == cid))
            assert share > 0.0  # not lost
            shares[y].append(share)
        assert hsc.counters[C_DRIVER_CLONES] == 1  # no drivers but the planted one
    for y in years:
        expected = logistic_share(f0, s, y)
        assert np.mean(shares[y]) == pytest.approx(expected, abs=0.03), (y, shares[y], expected)


def test_driver_count_is_the_probability_times_the_asymmetric_divisions():
    """Drivers arise at asymmetric divisions with probability q: over 4 seeds of 2000 stem
    cells and 10 years (~26,000 asymmetric divisions each), the driver clones founded are
    q x (asymmetric divisions) within 3 Poisson standard deviations. A driver cell draws
    too but keeps its one driver, so the expectation is lower by the mean driver fraction,
    ~1%, well inside the Poisson spread (~7%). Without selection and without deaths every
    driver clone is exactly the one cell that got it, with ids base, base + 1, ..."""
    q, n = 0.002, 2000
    drivers = asymmetric = 0
    for seed in range(4):
        p = stem_compartment(
            n_cells=n,
            years=10.0,
            selection={"driver_probability_per_division": q, "advantage_per_year": 0.0},
        )
        m = AgingModel(p, rng=200 + seed)
        m.run()
        hsc = m.by_name["hsc"]
        d = int(hsc.counters[C_DRIVER_CLONES])
        drivers += d
        asymmetric += int(hsc.counters[C_SUPPLIED_OUT])
        fit = np.sort(hsc.cells.clone[hsc.cells.clone >= DRIVER_CLONE_BASE])
        assert np.array_equal(fit, DRIVER_CLONE_BASE + np.arange(d))
        assert m.trajectories()["driver_clones_cumulative"].iloc[-1] == d
    mu = q * asymmetric
    assert abs(drivers - mu) < 3.0 * math.sqrt(mu), (drivers, mu)


def test_invariants_slots_telomeres_and_clone_ids():
    """With drivers, selection and a supplied pool, step by step: every slot is in one
    state and no compartment changes size; no stem telomere exceeds the longest before
    (cells divide only into other slots, at a loss); a cell's clone id either stays or
    becomes a driver id (>= the base, below the base plus the drivers so far), so founder
    ids are never made up; supplied cells carry their stem cell's id plus the offset."""
    p = stem_compartment(
        n_cells=300,
        years=20.0,
        selection={"driver_probability_per_division": 0.01, "advantage_per_year": 2.0},
        dt_days=30.0,
        supplied=True,
    )
    m = AgingModel(p, rng=7)
    hsc, gran = m.by_name["hsc"], m.by_name["gran"]
    for _ in range(60):
        before_clone = hsc.cells.clone.copy()
        before_max = float(hsc.cells.telomere_bp.max())
        m.step()
        c = hsc.cells
        n_drivers = int(hsc.counters[C_DRIVER_CLONES])
        changed = c.clone != before_clone
        assert np.all(c.clone[changed] >= DRIVER_CLONE_BASE)
        assert np.all(c.clone < DRIVER_CLONE_BASE + n_drivers)
        assert np.all((c.clone < c.n_slots) | (c.clone >= DRIVER_CLONE_BASE))
        assert float(c.telomere_bp.max()) <= before_max
        for t in m.tissues:
            assert sum(t.cells.counts().values()) == t.cells.n_slots == t.params.n_cells
            assert t.cells.is_consistent()
    assert n_drivers > 0
    g = gran.cells.clone - gran.clone_offset
    assert np.all((g < hsc.cells.n_slots) | (g >= DRIVER_CLONE_BASE))
    assert np.any(g >= DRIVER_CLONE_BASE)  # driver clones reach the blood


def test_recorded_clone_columns_match_the_analysis_measures():
    """The clone columns of a stem compartment with a clock equal
    ``analysis.clones.clone_structure`` of its competent cells' ids; other tissues' rows
    do not have them; the columns follow ``schema.TRAJECTORY_COLUMNS`` in the schema's
    order."""
    p = stem_compartment(
        n_cells=400,
        years=3.0,
        lifespan_days=30.0,
        selection={"driver_probability_per_division": 0.02, "advantage_per_year": 1.0},
        supplied=True,
    )
    m = AgingModel(p, rng=3).run()
    hsc, gran = m.by_name["hsc"], m.by_name["gran"]
    assert list(hsc.last_record) == [*schema.TRAJECTORY_COLUMNS, *schema.CLONE_COLUMNS]
    assert list(gran.last_record) == list(schema.TRAJECTORY_COLUMNS)
    want = clone_structure(competent_clones(m))
    rec = hsc.last_record
    assert rec["n_clones"] == want["n_clones"]
    assert rec["clones_for_half"] == want["clones_for_half"]
    assert rec["largest_clone_share"] == pytest.approx(want["largest_share"])
    traj = m.trajectories()
    assert traj.loc[traj["tissue"] == "gran", "n_clones"].isna().all()
    assert traj.loc[traj["tissue"] == "hsc", "n_clones"].iloc[0] == 400  # founders
    with pytest.raises(ValueError, match="STEM"):
        gran.plant_driver(np.arange(3))


def test_selection_runs_like_stepping_and_resumes_from_a_checkpoint(tmp_path):
    """Fast-forward equals stepping with drivers and selection, and a checkpoint taken
    half-way (the driver counter is one of the saved counters) resumes bit-identically."""
    p = stem_compartment(
        n_cells=200,
        years=4.0,
        lifespan_days=500.0,
        selection={"driver_probability_per_division": 0.02, "advantage_per_year": 1.0},
        dt_days=5.0,
    )
    fast = AgingModel(p, rng=11).run()
    slow = AgingModel(p, rng=11)
    while slow.running:
        slow.step()
    half = AgingModel(p, rng=11).run(until_day=2 * DAYS_PER_YEAR)
    path = tmp_path / "half.ckpt"
    half.save_checkpoint(path)
    resumed = AgingModel.load_checkpoint(path).run()
    want = fast.by_name["hsc"]
    for other in (slow, resumed):
        got = other.by_name["hsc"]
        for a, b in zip(want.cells.arrays(), got.cells.arrays(), strict=True):
            assert np.array_equal(a, b)
        assert np.array_equal(want.counters, got.counters)
        pd.testing.assert_frame_equal(fast.trajectories(), other.trajectories())
    assert fast.by_name["hsc"].counters[C_DRIVER_CLONES] > 0


def test_bad_selection_inputs_name_the_field():
    def stem(**selection: float) -> TissueParams:
        return TissueParams(name="x", kind="stem", stem_divisions={"selection": selection})

    with pytest.raises(ValidationError, match="advantage_per_year"):
        stem(advantage_per_year=-0.1)
    with pytest.raises(ValidationError, match="driver_probability_per_division"):
        stem(driver_probability_per_division=1.5)
    with pytest.raises(ValidationError, match="driver_probability_per_division"):
        stem(driver_probability_per_division=-1e-3)
    with pytest.raises(ValidationError, match="not_a_field"):
        stem(not_a_field=1.0)
    assert stem().stem_divisions.selection.advantage_per_year == 0.05  # Fabre 2022
