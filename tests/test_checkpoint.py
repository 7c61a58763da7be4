"""Checkpoints: a model saved at any step and run on ends exactly as the uninterrupted run
(cells, counters, events, records, Generator state, pending interventions)."""

from __future__ import annotations

import os
import pickle
import struct

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
from cellsim.io import CHECKPOINT_MAGIC, CheckpointError, write_checkpoint

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


@pytest.mark.parametrize("split_day", [0.0, 51.0, 95.5, 121.0, 201.0, 340.0])
def test_resume_between_pending_intervention_events(tmp_path, split_day):
    """Saved with a senolytic course's second dose, a reprogramming on-day or a course
    pending: the events re-scheduled on load fire as in the uninterrupted run."""
    p = params("interventions", 0.5)
    whole = AgingModel(p, rng=7).run()
    path = tmp_path / "m.ckpt"
    AgingModel(p, rng=7).run(until_day=split_day).save_checkpoint(path)
    assert_same(AgingModel.load_checkpoint(path).run(), whole)


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


def one_line_error(path) -> str:
    """The CheckpointError of loading ``path`` (fails if loading succeeds)."""
    with pytest.raises(CheckpointError) as info:
        AgingModel.load_checkpoint(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real checkpoint (interventions pending, records, mid-run) and its model."""
    path = tmp_path_factory.mktemp("ckpt") / "saved.ckpt"
    model = AgingModel(params("interventions", 1.0), rng=11).run(until_day=161.0)
    model.save_checkpoint(path)
    return path, path.read_bytes()


def test_bad_checkpoint_files_give_one_line_errors(tmp_path, saved):
    _, good = saved
    assert "no such file" in one_line_error(tmp_path / "missing.ckpt")
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    assert "not a cellsim checkpoint" in one_line_error(junk)
    old = tmp_path / "old.ckpt"  # format 1 was a pickle
    old.write_bytes(pickle.dumps({"format": "cellsim-checkpoint/1", "object": None}))
    assert "not a cellsim checkpoint" in one_line_error(old)
    npz = tmp_path / "arrays.ckpt"
    with open(npz, "wb") as f:
        np.savez(f, x=np.arange(3))
    assert "not a cellsim checkpoint" in one_line_error(npz)
    empty = tmp_path / "empty.ckpt"
    empty.write_bytes(b"")
    assert "not a cellsim checkpoint" in one_line_error(empty)
    for cut in (len(CHECKPOINT_MAGIC) + 3, len(good) // 2, len(good) - 1):
        short = tmp_path / f"short{cut}.ckpt"
        short.write_bytes(good[:cut])
        assert "truncated" in one_line_error(short)
    longer = tmp_path / "longer.ckpt"
    longer.write_bytes(good + b"\0")
    assert "extended" in one_line_error(longer)
    other = tmp_path / "other.ckpt"
    write_checkpoint(other, {"kind": "Culture"}, {})
    assert "holds a Culture" in one_line_error(other)
    nonsense = tmp_path / "nonsense.ckpt"  # a valid checksum over contents no model has
    write_checkpoint(nonsense, {"kind": "AgingModel", "params": {"tissues": 3}}, {})
    assert "do not describe a model" in one_line_error(nonsense)


@pytest.mark.parametrize("version", [1, 3, 2**32 - 1])
def test_other_format_versions_are_refused(tmp_path, saved, version):
    _, good = saved
    head = len(CHECKPOINT_MAGIC)
    path = tmp_path / "version.ckpt"
    path.write_bytes(good[:head] + struct.pack(">I", version) + good[head + 4 :])
    assert f"format version {version}" in one_line_error(path)


CORRUPTIONS = int(os.environ.get("CELLSIM_CHECKPOINT_CORRUPTIONS", "40"))
"""Random bit flips and as many byte overwrites per run of the test (the suite samples 40 of
each; ``CELLSIM_CHECKPOINT_CORRUPTIONS=300`` runs the full profile of issue 13)."""


def test_corrupted_bytes_are_always_detected(tmp_path, saved):
    """Random single-bit flips and byte overwrites anywhere in a real checkpoint (fixed
    seed): each is a one-line CheckpointError, never a model (the checksum covers every
    byte that is read)."""
    _, good = saved
    rng = np.random.default_rng(2024)
    path = tmp_path / "bad.ckpt"
    n = CORRUPTIONS
    cases = [
        (int(i), 1 << int(b))
        for i, b in zip(rng.integers(0, len(good), n), rng.integers(0, 8, n), strict=True)
    ]
    cases += [  # overwrite: XOR with a nonzero byte, so the new byte always differs
        (int(i), int(x))
        for i, x in zip(rng.integers(0, len(good), n), rng.integers(1, 256, n), strict=True)
    ]
    # and the header, which random positions in a large file seldom hit
    cases += [(i, 1 << (i % 8)) for i in range(len(CHECKPOINT_MAGIC) + 44)]
    for where, xor in cases:
        bad = bytearray(good)
        bad[where] ^= xor
        path.write_bytes(bytes(bad))
        one_line_error(path)


def test_loading_never_unpickles(monkeypatch, saved):
    """No pickle is read: pickle's loaders fail if called, and np.load is only ever asked
    for allow_pickle=False."""
    path, _ = saved
    # Numba's on-disk cache unpickles a kernel the first time this process calls it (the
    # state-index check of loading may not have run yet here): load once before the trap,
    # so that what is tested is the checkpoint's own reading
    AgingModel.load_checkpoint(path)

    def refuse(*args, **kwargs):
        raise AssertionError("pickle used while loading a checkpoint")

    for name in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    real_load = np.load
    calls = []

    def checked_load(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", checked_load)
    model = AgingModel.load_checkpoint(path)
    assert calls == [False]
    assert model.interventions and model.step_count == 161


def test_writing_is_atomic_and_leaves_no_temporary_files(tmp_path):
    model = AgingModel(params("wellmixed", 1.0), rng=2).run(until_day=40.0)
    path = tmp_path / "m.ckpt"
    path.write_bytes(b"previous")
    model.save_checkpoint(path)
    assert [p.name for p in tmp_path.iterdir()] == ["m.ckpt"]
    assert path.read_bytes().startswith(CHECKPOINT_MAGIC)
    assert_same(AgingModel.load_checkpoint(path), model)
