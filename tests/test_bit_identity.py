"""Reorganising the code must not change a single number.

The two scenarios in tests/fixtures/bit_identity/ exercise every path of the engine (the
well-mixed step and fast-forward, a supplied pair, lattices bounded and on a torus with
bystander senescence, every intervention, a fractional step). Their ``runs``,
``trajectories`` and ``summary`` tables, as produced by the code before the 2026-12
reorganisation, are committed beside them; running the scenarios now must reproduce them
exactly (only wall-clock time may differ). A change that is meant to alter results
regenerates the fixtures in the same commit and says why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from cellsim.config.scenario import load_scenario
from cellsim.run.workflow import run_scenario

FIXTURES = Path(__file__).parent / "fixtures" / "bit_identity"
VOLATILE = ["wall_seconds"]  # the only column that may differ between two runs
# Parameters added after the fixture was made, at defaults that keep the old behaviour:
# they appear in a run's params_json and are dropped before comparing with the fixture.
ADDED_AT_DEFAULT = {("stress", "age_dependent"): True, ("clearance", "saturating"): True}


def _without_added(params_json: str) -> str:
    """``params_json`` without the later parameters at their defaults."""
    params = json.loads(params_json)
    for t in params["tissues"]:
        for (group, key), default in ADDED_AT_DEFAULT.items():
            if t[group].get(key, default) == default:
                t[group].pop(key, None)
    return json.dumps(params, sort_keys=True)


@pytest.mark.parametrize("name", ["scenario", "lattice"])
def test_outputs_are_bit_identical_to_the_committed_fixture(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(FIXTURES / f"{name}.toml")
    out = tmp_path / name
    run_scenario(scenario, out, workers=1, progress=False)
    expected = FIXTURES / "expected" / name
    for table in ("runs.parquet", "trajectories.parquet"):
        got = pd.read_parquet(out / table)
        want = pd.read_parquet(expected / table)
        if table == "runs.parquet":
            got, want = got.drop(columns=VOLATILE), want.drop(columns=VOLATILE)
            for df in (got, want):
                df["params_json"] = df["params_json"].map(_without_added)
        assert_frame_equal(got, want, check_exact=True)
    # the summary as a person opens it: the same text, byte for byte
    assert (out / "summary.csv").read_bytes() == (expected / "summary.csv").read_bytes()
