"""Checkpoints: a model saved at any step and run on ends exactly as the uninterrupted run
(cells, counters, events, records, Generator state, pending interventions)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cellsim.engine.model import AgingModel
from cellsim.engine.params import (
    FullReprogramming,
    LatticeParams,
    ModelParams,
    PartialReprogramming,
    RunParams,
    Senolytic,
)
from cellsim.io import CheckpointError, write_checkpoint

from .conftest import tissue

SETUPS = ("wellmixed", "interventions", "supplied", "lattice")


def params(setup: str, dt: float) -> ModelParams:
    """Small fast-turnover models that reach exhaustion within the horizon."""
    run = RunParams(stop_at="horizon", horizon_days=700, dt_days=dt, record_interval_days=30.0)
    fast = {"lifespan_days": 15.0, "telomere": {"loss_mean_bp": 150.0}}
    if setup == "wellmixed":
        return ModelParams(tissues=[tissue(n_cells=600, **fast)], run=run)
    if setup == "interventions":
        ivs = [
            # off the step boundaries: the schedule's place in its occurrences is saved too
            Senolytic(start_age_days=50.3, interval_days=44.6, course_days=2),
            PartialReprogramming(start_age_days=120),
            FullReprogramming(start_age_days=200, interval_days=150, efficiency_per_course=0.05),
        ]
        return ModelParams(tissues=[tissue(n_cells=600, **fast)], interventions=ivs, run=run)
    if setup == "supplied":
        stem = tissue(name="stem", kind="stem", n_cells=100, lifespan_days=200.0)
        skin = tissue(name="skin", n_cells=500, supply_from="stem", supply_share=0.5, **fast)
        return ModelParams(tissues=[skin, stem], run=run)
    geometry = LatticeParams(width=25, height=24, torus=False, bystander_per_day=0.01)
    return ModelParams(tissues=[tissue(n_cells=600, lattice=geometry, **fast)], run=run)


def assert_same(a: AgingModel, b: AgingModel) -> None:
    """Every observable of two models is identical."""
    assert a.steps == b.steps and a.time == b.time and a.age_days == b.age_days
    assert a.running == b.running
    assert a.event_days() == b.event_days()
    assert a.rng.bit_generator.state == b.rng.bit_generator.state
    for ta, tb in zip(a.tissues, b.tissues, strict=True):
        for xa, xb in zip(ta.cells.arrays(), tb.cells.arrays(), strict=True):
            assert np.array_equal(xa, xb)
        assert np.array_equal(ta.counters, tb.counters)
    for ia, ib in zip(a.interventions, b.interventions, strict=True):
        assert ia.fired == ib.fired
    pd.testing.assert_frame_equal(a.trajectories(), b.trajectories())


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    setup=st.sampled_from(SETUPS),
    dt=st.sampled_from([1.0, 0.5]),
    split_day=st.floats(min_value=0.0, max_value=650.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_resumed_run_equals_the_uninterrupted_run(tmp_path, setup, dt, split_day, seed):
    """Run to an arbitrary day, save, load, run on: the same model as never stopping."""
    whole = AgingModel(params(setup, dt), rng=seed).run()
    first = AgingModel(params(setup, dt), rng=seed).run(until_day=split_day)
    assert first.age_days >= split_day - 1e-9 or not first.running
    path = tmp_path / f"{setup}.ckpt"
    first.save_checkpoint(path)
    resumed = AgingModel.load_checkpoint(path)
    assert resumed is not first
    assert_same(resumed.run(), whole)
    assert_same(first.run(), whole)  # the saved model itself is unchanged by saving


def test_periodic_checkpoints_during_run(tmp_path):
    """run(checkpoint=..., checkpoint_every_days=...) keeps the result and leaves the last
    state on disk; an earlier checkpoint, resumed, reaches the same end."""
    p = params("interventions", 1.0)
    whole = AgingModel(p, rng=5).run()
    path = tmp_path / "run.ckpt"
    model = AgingModel(p, rng=5).run(until_day=333.0, checkpoint=path, checkpoint_every_days=100)
    saved = AgingModel.load_checkpoint(path)
    assert saved.age_days == model.age_days == 333.0  # the final save, at the stop
    model.run(checkpoint=path, checkpoint_every_days=100)
    assert_same(model, whole)
    assert_same(AgingModel.load_checkpoint(path), whole)
    assert_same(saved.run(), whole)


def test_checkpoint_arguments_are_checked():
    m = AgingModel(params("wellmixed", 1.0), rng=1)
    with pytest.raises(ValueError, match="both"):
        m.run(checkpoint="x.ckpt")
    with pytest.raises(ValueError, match="checkpoint_every_days = 0"):
        m.run(checkpoint="x.ckpt", checkpoint_every_days=0)


def test_bad_checkpoint_files_give_one_line_errors(tmp_path):
    missing = tmp_path / "missing.ckpt"
    with pytest.raises(CheckpointError, match="no such file"):
        AgingModel.load_checkpoint(missing)
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(CheckpointError, match="not a readable cellsim checkpoint"):
        AgingModel.load_checkpoint(junk)
    other = tmp_path / "other.ckpt"
    other.write_bytes(pickle.dumps({"something": 1}))
    with pytest.raises(CheckpointError, match="not a cellsim checkpoint"):
        AgingModel.load_checkpoint(other)
    wrong = tmp_path / "wrong.ckpt"
    write_checkpoint(wrong, [1, 2, 3])
    with pytest.raises(CheckpointError, match="holds a list"):
        AgingModel.load_checkpoint(wrong)
    for path in (junk, other, wrong):
        with pytest.raises(CheckpointError) as info:
            AgingModel.load_checkpoint(path)
        assert "\n" not in str(info.value)
