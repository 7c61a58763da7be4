"""Reorganising the code must not change a single number.

The two scenarios in tests/fixtures/bit_identity/ exercise every path of the engine (the
well-mixed step and fast-forward, a supplied pair, lattices bounded and on a torus with
bystander senescence, every intervention, a fractional step). Their ``runs``,
``trajectories`` and ``summary`` tables are committed beside them; running the scenarios
now must reproduce them exactly (only wall-clock time may differ). A change that is meant
to alter results regenerates the fixtures in the same commit
(``python tests/fixtures/bit_identity/regenerate.py``) and says why. History: written by
the code before the 2026-12 layered reorganisation (which reproduced them); regenerated
for the continuous-time step (kernels/events.py), the firing rule "end of the step
containing an age" and the runs' ``stop_reason`` and failure-rule columns (issue 12);
``wellmixed`` regenerated for the well-mixed loop's look-ahead (issue 14: each event's
uniforms drawn a few events early, the same law with a different random stream; the
naive-reference KS tests and the statistical tests checked it), and ``scenario`` for the
fast-forward's stop on "no cell left that can change" (one run of ``stop_at =
"all_events"`` had been fast-forwarded 4 days past that step: end day 395, now 391, as
stepping gives).
"""

from __future__ import annotations

import csv
import io
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
# they would appear in a run's params_json and are dropped before comparing. Keys are
# (group, field) of a tissue's parameters; group None: the tissue's own field.
ADDED_AT_DEFAULT: dict[tuple[str | None, str], object] = {
    (None, "amplification_divisions"): 0,  # issue 16: the blood hierarchy
    (None, "initial_from_supply"): False,
    (None, "stem_divisions"): None,
    ("telomere", "loss_length_slope"): 0.0,  # length-dependent loss (issue 16)
    ("telomere", "loss_reference_bp"): 10000.0,
    (None, "cells_in_body"): None,  # issue 17: the whole body
    (None, "childhood_turnover"): {"factor": 1.0, "timescale_years": 1.0},  # issue 16
}
MODEL_ADDED_AT_DEFAULT: dict[str, object] = {
    "immune": {"half_saturation_fraction": 0.5, "shared": False, "tissues": None},
}
"""Model-level parameters added later (issue 17's shared immune system), at their defaults."""


def _without_columns(df: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``df`` without ``columns`` (those it has: a regenerated fixture will have them)."""
    return df.drop(columns=[c for c in columns if c in df.columns])


def _csv_without_columns(text: str, columns: list[str]) -> list[list[str]]:
    """The cells of a CSV text, as written, without the named columns."""
    rows = list(csv.reader(io.StringIO(text, newline="")))
    keep = [i for i, name in enumerate(rows[0]) if name not in columns]
    return [[row[i] for i in keep] for row in rows]


def _without_added(params_json: str) -> str:
    """``params_json`` without the later parameters at their defaults."""
    params = json.loads(params_json)
    for t in params["tissues"]:
        for (group, key), default in ADDED_AT_DEFAULT.items():
            fields = t if group is None else t[group]
            if fields.get(key, default) == default:
                fields.pop(key, None)
    for key, default in MODEL_ADDED_AT_DEFAULT.items():
        if params.get(key, default) == default:
            params.pop(key, None)
    return json.dumps(params, sort_keys=True)


@pytest.mark.parametrize("name", ["scenario", "lattice", "wellmixed"])
def test_outputs_are_bit_identical_to_the_committed_fixture(name: str, tmp_path: Path) -> None:
    scenario = load_scenario(FIXTURES / f"{name}.toml")
    out = tmp_path / name
    run_scenario(scenario, out, workers=1, progress=False)
    expected = FIXTURES / "expected" / name
    for table in ("runs.parquet", "trajectories.parquet"):
        got = pd.read_parquet(out / table)
        want = pd.read_parquet(expected / table)
        if table == "runs.parquet":
            got, want = _without_columns(got, VOLATILE), _without_columns(want, VOLATILE)
            for df in (got, want):
                df["params_json"] = df["params_json"].map(_without_added)
        assert_frame_equal(got, want, check_exact=True)
    # the summary as a person opens it: the same text, cell for cell, byte for byte
    got_text = (out / "summary.csv").read_bytes().decode()
    want_text = (expected / "summary.csv").read_bytes().decode()
    assert got_text.endswith("\n") == want_text.endswith("\n")
    assert ("\r\n" in got_text) == ("\r\n" in want_text)  # the same line ends
    assert got_text == want_text
