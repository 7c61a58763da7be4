"""The result schema (cellsim/engine/schema.py) is what the tables hold, and what analysis/
reads agrees with it."""

from __future__ import annotations

import numpy as np

import analysis.exhaustion as ax
import analysis.meanfield as amf
from cellsim.config.plan import RunSpec
from cellsim.engine import schema
from cellsim.engine.model import AgingModel
from cellsim.engine.params import ModelParams
from cellsim.run.single import run_one

from .conftest import model_params, tissue


def test_a_tissue_record_has_exactly_the_schema_columns_in_order() -> None:
    model = AgingModel(model_params(n_cells=200, lifespan_days=20.0), rng=1)
    model.run(until_day=60)
    assert list(model.primary.last_record) == list(schema.TRAJECTORY_COLUMNS)
    traj = model.trajectories()
    assert list(traj.columns) == ["tissue", *schema.TRAJECTORY_COLUMNS]


def test_a_runs_row_has_exactly_the_schema_columns_in_order() -> None:
    params = ModelParams(
        tissues=[
            tissue(name="t", n_cells=200, lifespan_days=20.0, supply_from="s"),
            tissue(name="s", kind="stem", n_cells=20),
        ],
        run={"horizon_days": 100.0, "stop_at": "horizon"},
    )
    result = run_one(RunSpec(arm="a", replicate=0, params=params, entropy=3))
    assert list(result.row) == schema.run_columns(other_tissues=("s",))
    assert list(result.trajectories.columns) == schema.trajectory_columns()
    assert np.isnan(result.row["exhaustion_day"])  # not reached: NaN, censored at end_day
    assert result.row["stop_reason"] == "horizon"
    assert result.row["failure_functional_fraction_min"] == 0.5  # the default rule
    assert result.row["s.failure_neoplasia_fraction"] == 0.01


def test_analysis_reads_the_same_events_and_year_as_the_schema() -> None:
    assert ax.EVENTS == schema.EVENTS
    assert ax.STOP_REASONS == tuple(schema.STOP_REASONS)
    assert set(ax.FAILURE_RULES) == set(schema.FAILURE_RULE_COLUMNS) <= set(schema.RUN_COLUMNS)
    assert ax.DAYS_PER_YEAR == schema.DAYS_PER_YEAR == amf.DAYS_PER_YEAR
