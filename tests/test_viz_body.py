"""The body view's model and switches, without a browser: the burden it shows is the one
analysis/body.py computes from the same model's records, and the interventions switched
on the page act as the engine's do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellsim.engine.params import CellState
from cellsim.kernels.layout import C_CLEARED_SENOLYTIC, P_TELOMERASE_STEM
from cellsim.viz.body import BodyModel
from cellsim.viz.catalog import choose, parameter_lines

ORGANISM = """
name = "tiny_body"
[base.run]
dt_days = 1.0
horizon_days = 3650.0
record_interval_days = 10.0
[base.immune]
shared = true
half_saturation_fraction = 0.05
[[base.tissues]]
name = "stem"
kind = "stem"
n_cells = 20
lifespan_days = 1e9
[base.tissues.stem_divisions]
interval_days = 20.0
[[base.tissues]]
name = "gut"
n_cells = 200
cells_in_body = 1e10
lifespan_days = 5.0
supply_from = "stem"
supply_share = 1.0
initial_from_supply = true
[[base.tissues]]
name = "liver"
n_cells = 300
cells_in_body = 2e11
lifespan_days = 50.0
[base.tissues.stress]
rate_per_day = 3e-3
[base.tissues.clearance]
rate_per_day = 0.01
[[arms]]
name = "control"
"""


@pytest.fixture
def organism(tmp_path):
    path = tmp_path / "tiny_body.toml"
    path.write_text(ORGANISM)
    return str(path)


def test_organisms_get_the_body_view_and_one_tissue_the_lattice(organism):
    assert choose(organism).body
    assert choose("body").body and choose("body").considered[0] == "lymphocytes"
    assert not choose("lattice_bystander").body
    assert not choose("stem_supply").body  # one tissue with its stem compartment
    lines = parameter_lines(choose(organism).params)
    assert any(s.startswith("liver (somatic): 300 cells standing for 2e+11") for s in lines)
    assert any("shared, half-saturated at 0.05" in s for s in lines)


def test_burden_is_analysis_body_burden_of_the_models_own_records(organism):
    """The page's burden (immune weights of the engine) equals analysis/body.py's, which
    weighs each tissue's recorded senescent count by cells_in_body / n_cells."""
    from analysis.body import body_burden
    from cellsim.run.body_report import body_tissues

    model = BodyModel(organism, rng=3)
    compared = 0
    while model.age_days < 200:
        model.advance(1)
        if model.age_days % 10 == 0:  # a record day (record_interval_days = 10)
            traj = model.trajectories().assign(run_id="r0", arm="control", replicate=0)
            assert traj["day"].max() == model.age_days
            tissues = body_tissues({"base": model.params.model_dump(mode="json")})
            expected = body_burden(traj, tissues)
            last = expected[expected["day"] == model.age_days]["senescent_burden_fraction"]
            assert model.burden() == pytest.approx(float(last.iloc[0]), rel=1e-12)
            compared += 1
    assert compared >= 15 and model.burden() > 0.01
    days, burden, counts = model.series()
    assert counts.shape == (days.size, 3, len(CellState)) and np.all(np.diff(days) == 1.0)
    # the stem compartment holds no scale factor: weight 1 per cell, like analysis/body.py
    relative = model.clearance_relative(burden[-1])
    assert relative == pytest.approx(1 / (1 + burden[-1] / 0.05))


def test_a_senolytic_switched_on_clears_what_is_there_and_stops_when_off(organism):
    """Efficacy 1: the first dose (at the end of the step in which it was switched on)
    removes every senescent cell of every somatic tissue; switched off, no more doses."""
    model = BodyModel(organism, rng=4)
    model.advance(150)
    tissues = [model.by_name["gut"], model.by_name["liver"]]
    senescent = [t.cells.count(CellState.SENESCENT) for t in tissues]
    cleared = [int(t.counters[C_CLEARED_SENOLYTIC]) for t in tissues]
    assert senescent[1] > 20
    model.live.set_senolytic(True, 30.0, 1.0)
    model.advance(1)
    for t, s, c in zip(tissues, senescent, cleared, strict=True):
        assert int(t.counters[C_CLEARED_SENOLYTIC]) - c == s
    model.advance(60)
    assert model.live.fired()["senolytic"] == 3  # days 150, 180 and 210
    model.live.set_senolytic(False, 30.0, 1.0)
    after = [int(t.counters[C_CLEARED_SENOLYTIC]) for t in tissues]
    model.advance(100)
    assert [int(t.counters[C_CLEARED_SENOLYTIC]) for t in tissues] == after
    assert [s.split(": ", 1)[1] for s in model.live.log] == [
        "senolytic every 30 d, 100% per dose",
        "senolytic off",
    ]


def test_stem_support_and_reprogramming_switch_on_and_off(organism):
    model = BodyModel(organism, rng=5)
    stem = model.by_name["stem"]
    before = float(stem.kernel_params[P_TELOMERASE_STEM])
    model.live.set_stem_support("telomerase")
    model.advance(1)
    assert stem.kernel_params[P_TELOMERASE_STEM] == pytest.approx(1 - (1 - before) * 0.5)
    model.live.set_stem_support("none")
    assert stem.kernel_params[P_TELOMERASE_STEM] == before
    model.live.set_reprogramming("full")
    model.advance(1)
    assert model.live.fired()["reprogramming"] == 1
    with pytest.raises(ValueError, match="stem support = 'x'"):
        model.live.set_stem_support("x")


def test_the_first_tissue_to_fail_is_the_earliest_considered_one(organism):
    model = BodyModel(organism, rng=6)
    assert model.first("failure") is None and "no tissue has failed" in model.status()
    model.by_name["liver"].event_days["failure"] = 400.0
    model.by_name["gut"].event_days["failure"] = 300.0
    model.by_name["stem"].event_days["failure"] = 100.0  # a stem compartment: not considered
    assert model.first("failure") == ("gut", 300.0)
    assert "first to fail: gut at 0.8 y" in model.status()


def test_a_tissue_histogram_counts_every_cell(organism):
    model = BodyModel(organism, rng=7)
    model.advance(20)
    liver = model.by_name["liver"]
    edges, hist = model.telomere_histogram(liver)
    assert hist.sum() == liver.cells.n_slots - liver.cells.count(CellState.EMPTY)
    assert edges.size == hist.size + 1 and edges[-1] == model.telomere_range_bp(liver)
    assert isinstance(model.trajectories(), pd.DataFrame)
