"""The Mesa model: fast-forwarded runs equal step-by-step runs, batch_run, recording."""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd
import pytest

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

from .conftest import tissue


def _params(ivs, dt=1.0):
    return ModelParams(
        tissues=[tissue(n_cells=1500, lifespan_days=20.0, telomere={"loss_mean_bp": 150.0})],
        interventions=ivs,
        run=RunParams(
            stop_at="all_events", horizon_days=3000, dt_days=dt, record_interval_days=25.0
        ),
    )


@pytest.mark.parametrize(
    "ivs",
    [
        [],
        [Senolytic(start_age_days=100, interval_days=17, course_days=3)],
        [Insult(age_days=250.0, fraction=0.3), PartialReprogramming(start_age_days=40)],
        [FullReprogramming(start_age_days=60, interval_days=90, efficiency_per_course=0.05)],
        # ages off the step boundaries: fractional start, interval and insult age
        [
            Senolytic(start_age_days=100.3, interval_days=7.4, course_days=2),
            Insult(age_days=250.05, fraction=0.3),
            PartialReprogramming(start_age_days=40.7),
        ],
    ],
)
@pytest.mark.parametrize("dt", [1.0, 0.5])
def test_run_is_bit_identical_to_stepping(ivs, dt):
    """run() fast-forwards quiet stretches in one kernel call; stepping day by day through
    Mesa must give the same cells, counters, events, records and clock."""
    fast = AgingModel(_params(ivs, dt), rng=42).run()
    slow = AgingModel(_params(ivs, dt), rng=42)
    while slow.running:
        slow.step()
    assert fast.steps == slow.steps and fast.time == slow.time
    assert fast.age_days == slow.age_days
    assert fast.event_days() == slow.event_days()
    for a, b in zip(fast.primary.cells.arrays(), slow.primary.cells.arrays(), strict=True):
        assert np.array_equal(a, b)
    assert np.array_equal(fast.primary.counters, slow.primary.counters)
    pd.testing.assert_frame_equal(fast.trajectories(), slow.trajectories())
    for a, b in zip(fast.interventions, slow.interventions, strict=True):
        assert a.fired == b.fired


def test_records_at_the_interval_and_at_the_end():
    m = AgingModel(_params([]), rng=1).run()
    days = m.trajectories()["day"].to_numpy()
    assert days[0] == 0.0
    assert np.all(np.diff(days) > 0)
    on_grid = days[:-1]
    assert np.allclose(on_grid % 25.0, 0.0)
    assert days[-1] == m.age_days == m.primary.event_days["exhaustion"]
    model_df = m.datacollector.get_model_vars_dataframe()
    assert list(model_df["day"]) == list(days)


def test_cells_frame_matches_the_state_counts():
    m = AgingModel(_params([]), rng=3)
    for _ in range(200):
        m.step()
    frame = m.cells_frame()
    counts = frame["state"].value_counts()
    for s, n in m.primary.cells.counts().items():
        if s.name != "EMPTY":
            assert counts.get(s.name, 0) == n
    assert (frame["epigenetic_age_days"] >= 0).all()


def test_batch_run_varies_flat_parameters():
    """mesa.batch_run passes flat keyword parameters; each lands on its field."""
    results = mesa.batch_run(
        AgingModel,
        parameters={
            "n_cells": 400,
            "lifespan_days": [5.0, 50.0],
            "horizon_days": 200.0,
            "stop_at": "horizon",
        },
        rng=[1, 2],
        max_steps=200,
        number_processes=1,
        data_collection_period=-1,
        display_progress=False,
    )
    df = pd.DataFrame(results)
    assert len(df) == 4
    fast = df[df["lifespan_days"] == 5.0]["divisions_cumulative"].mean()
    slow = df[df["lifespan_days"] == 50.0]["divisions_cumulative"].mean()
    assert fast > 5 * slow  # ten times the turnover, about ten times the divisions


def test_unknown_override_is_rejected():
    with pytest.raises(KeyError):
        AgingModel(rng=1, lifespan_dayz=3)


def test_supplied_tissue_run_is_bit_identical_to_stepping():
    """The two-tissue fast path (a tissue and its stem compartment, in either order)."""
    stem = tissue(
        name="stem",
        kind="stem",
        n_cells=200,
        lifespan_days=300.0,
        telomere={"telomerase_stem": 0.5},
    )
    skin = tissue(
        name="skin", n_cells=1000, lifespan_days=10.0, supply_from="stem", supply_share=0.6
    )
    for order in ([skin, stem], [stem, skin]):
        p = ModelParams(
            tissues=order,
            interventions=[Senolytic(start_age_days=50, interval_days=40)],
            run=RunParams(stop_at="horizon", horizon_days=900),
        )
        fast = AgingModel(p, rng=8).run()
        slow = AgingModel(p, rng=8)
        while slow.running:
            slow.step()
        assert fast.steps == slow.steps
        assert fast.event_days() == slow.event_days()
        for tf, ts in zip(fast.tissues, slow.tissues, strict=True):
            for a, b in zip(tf.cells.arrays(), ts.cells.arrays(), strict=True):
                assert np.array_equal(a, b)
            assert np.array_equal(tf.counters, ts.counters)
        pd.testing.assert_frame_equal(fast.trajectories(), slow.trajectories())


def test_epigenetic_clocks_start_at_the_start_age():
    """A model started at age A: founders' epigenetic age is A, and n days later A + n."""
    p = ModelParams(
        tissues=[tissue(n_cells=300)],
        run=RunParams(start_age_days=3652.5, stop_at="horizon", horizon_days=10),
    )
    m = AgingModel(p, rng=1)
    assert np.allclose(m.cells_frame()["epigenetic_age_days"], 3652.5)
    m.run()
    assert m.age_days == 3662.5
    assert np.allclose(m.cells_frame()["epigenetic_age_days"], 3662.5, atol=1e-3)
    assert m.trajectories()["epigenetic_age_mean_years"].iloc[0] == pytest.approx(10.0, rel=1e-6)


def test_kernel_state_codes_match_cellstate():
    from cellsim.engine.params import CellState
    from cellsim.kernels import layout

    for s in CellState:
        assert getattr(layout, s.name) == s.value


@pytest.mark.parametrize("dt", [1.0, 0.5, 0.25, 0.1, 0.3, 1 / 3])
@pytest.mark.parametrize("start", [0.0, 7305.0, 25567.5])
def test_the_clock_is_a_step_count(dt, start):
    """After k steps of any dt the day is start + k * dt exactly (a count, not a running
    sum, which at dt = 0.1 drifts by a step over 80 years), however the steps were taken;
    run(until_day=X) ends at X when X is a whole number of steps from the start."""
    run = RunParams(start_age_days=start, horizon_days=7e4, dt_days=dt, record_interval_days=1e4)
    params = ModelParams(tissues=[tissue(n_cells=200, lifespan_days=1e9)], run=run)
    m = AgingModel(params, rng=1)
    for k in range(1, 8):
        m.step()
        assert m.age_days == start + k * dt
    k_end = 3007  # a long fast-forwarded stretch, then single steps
    until = start + k_end * dt
    m.run(until_day=until)
    assert m.step_count == k_end
    assert m.age_days == start + k_end * dt == until
    m.step()
    assert m.age_days == start + (k_end + 1) * dt
    naive = start
    for _ in range(30000):
        naive += 0.1
    drift = abs(naive - (start + 30000 * 0.1))
    assert dt != 0.1 or drift > 1e-9  # the running sum the clock no longer uses drifts


def _quick_params(stop_at: str, horizon: float = 5000.0, **groups) -> ModelParams:
    """A 500-cell tissue that fails near day 48 and is exhausted near day 64 (seed 3)."""
    quiet = {
        "stress": {"rate_per_day": 0.0, "epigenetic_slope_per_day_per_year": 0.0},
        "transformation": {"probability_per_division": 0.0},
    }
    quiet.update(groups)
    return ModelParams(
        tissues=[tissue(n_cells=500, lifespan_days=5.0, telomere={"loss_mean_bp": 300.0}, **quiet)],
        run=RunParams(stop_at=stop_at, horizon_days=horizon),
    )


def _all_senescent_but_five_pluripotent(model: AgingModel) -> None:
    cells = model.primary.cells
    cells.state[:] = CellState.SENESCENT
    cells.state[:5] = CellState.PLURIPOTENT
    cells.rebuild_index()


@pytest.mark.parametrize(
    ("params", "hook", "reason", "ended_by"),
    [
        # the default rule stops at tissue failure, before the pool is exhausted
        (_quick_params("first_event"), None, "failure", "failure"),
        # with no failure rule the first event is exhaustion
        (
            _quick_params("first_event", failure={"functional_fraction_min": 0.0}),
            None,
            "exhaustion",
            "exhaustion",
        ),
        (_quick_params("all_events"), None, "exhaustion", "exhaustion"),
        (
            _quick_params(
                "first_event",
                transformation={"probability_per_division": 0.02},
                failure={"neoplasia_fraction": 0.002},
            ),
            None,
            "neoplasia",
            "neoplasia",
        ),
        # events do not stop a horizon run; a horizon before the events ends the run
        (_quick_params("horizon", horizon=100.0), None, "horizon", None),
        (_quick_params("all_events", horizon=40.0), None, "horizon", None),
        # failure on the horizon's own step: the failure names the stop
        (_quick_params("first_event", horizon=48.0), None, "failure", "failure"),
        # exhausted and failed on the first step; the PLURIPOTENT cells die out later
        (
            _quick_params(
                "all_events",
                clearance={"rate_per_day": 0.0},
                pluripotency={"redifferentiation_delay_days": 7e4},
            ),
            _all_senescent_but_five_pluripotent,
            "no_change",
            None,
        ),
    ],
)
def test_the_runs_row_says_why_the_run_stopped(params, hook, reason, ended_by):
    """``stop_reason`` names the rule that ended the run, so a run stopped at tissue failure
    (exhaustion censored) is not read as one that ran to exhaustion; the failure rules in
    force are in the row."""
    from cellsim.config.plan import RunSpec
    from cellsim.run.single import run_one

    row = run_one(RunSpec(arm="a", replicate=0, params=params, entropy=3), model_hook=hook).row
    assert row["stop_reason"] == reason
    if ended_by is not None:  # the event that names the stop happened on the last step
        assert row[f"{ended_by}_day"] == row["end_day"]
    if reason == "failure":
        assert np.isnan(row["exhaustion_day"])
    if reason == "horizon":
        assert row["end_day"] == row["horizon_day"]
    if reason == "no_change":
        assert row["exhaustion_day"] == row["failure_day"] < row["end_day"] < row["horizon_day"]
    fail = params.tissues[0].failure
    assert row["failure_functional_fraction_min"] == fail.functional_fraction_min
    assert row["failure_neoplasia_fraction"] == fail.neoplasia_fraction
