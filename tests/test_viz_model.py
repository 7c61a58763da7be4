"""The browser view's model and drawing functions, without a browser."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from cellsim.engine.params import CellState, PartialReprogramming, Senolytic
from cellsim.viz.model import KNOBS, VizModel, apply_knobs, knobs_of, scenario_arm


def test_knobs_round_trip_and_own_the_interventions():
    base, title = scenario_arm("lattice_bystander", "strong_bystander_senolytic")
    assert title == "lattice_bystander: strong_bystander_senolytic"
    knobs = knobs_of(base)
    assert set(knobs) == set(KNOBS)
    assert knobs["senolytic"] and knobs["senolytic_interval_days"] == 90.0
    assert knobs["bystander_per_day"] == 5e-3 and knobs["side"] == 100
    same = apply_knobs(base, knobs)
    assert same.tissues[0] == base.tissues[0]
    changed = apply_knobs(
        base, {**knobs, "side": 30, "senolytic": False, "reprogramming": "partial"}
    )
    t = changed.tissues[0]
    assert t.n_cells == 900 and t.lattice.width == t.lattice.height == 30
    assert not any(isinstance(iv, Senolytic) for iv in changed.interventions)
    assert any(isinstance(iv, PartialReprogramming) for iv in changed.interventions)
    assert changed.run.stop_at == "horizon"


def test_a_well_mixed_scenario_is_shown_on_a_lattice():
    model = VizModel("baseline", side=20, rng="3")
    assert model.primary.params.lattice is not None and model.width == 20
    assert model.primary.cells.n_slots == 400


def test_viz_model_notes_every_step_and_accepts_mesa_reset_arguments():
    """Mesa's Reset passes the controls, a string seed and its own ``scenario`` object."""
    model = VizModel(side=20, rng="7", scenario=object(), lifespan_days=5.0, reprogramming="full")
    for _ in range(30):
        model.step()
    days, counts = model.series()
    assert days.shape == (31,) and counts.shape == (31, len(CellState))
    assert np.all(counts.sum(axis=1) == 400)
    assert model.image("state").shape == (20, 20)
    edges, hist = model.telomere_histogram()
    assert sum(h.sum() for h in hist.values()) == 400 - model.primary.cells.count(CellState.EMPTY)
    assert edges.size == next(iter(hist.values())).size + 1
    with pytest.raises(TypeError, match="unknown controls"):
        VizModel(side=20, lifespan=3)


def test_drawing_functions_make_pngs():
    from cellsim.viz import draw as app

    model = VizModel(side=20, rng=1)
    for _ in range(5):
        model.step()
    for field in ("state", "telomere_bp", "epigenetic_age_days", "divisions", "clone"):
        rgb, value_range = app.lattice_rgb(model, field)
        assert rgb.shape == (20, 20, 3) and rgb.dtype == np.uint8
        assert (value_range is None) == (field in ("state", "clone"))
        assert app.png(rgb).startswith(b"\x89PNG")
    series = app.SeriesFigure(model.primary.cells.n_slots)
    histogram = app.HistogramFigure(model)
    assert series.draw(model).startswith(b"\x89PNG")
    assert histogram.draw(model).startswith(b"\x89PNG")
    assert [app.nice_ceiling(x) for x in (0.07, 1.0, 1.2, 3.0, 7.0)] == [0.1, 1, 2, 5, 10]


def test_advance_runs_whole_steps_and_notes_each():
    model = VizModel(side=20, rng=2)
    assert model.advance(2.5) == 3.0  # dt = 1 d: three steps, each noted
    assert model.series()[0].tolist() == [0.0, 1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--arm", "nope"], "not an arm of scenario 'lattice_bystander'"),
        (["no_such_scenario.toml"], "not found"),
        (["--port", "70000"], "--port = 70000"),
    ],
)
def test_viz_command_rejects_bad_input_in_one_line(args, message):
    out = subprocess.run(
        [sys.executable, "-m", "cellsim.cli", "viz", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert message in out.stderr and out.stderr.count("\n") == 1
