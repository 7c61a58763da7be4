"""`cellsim viz` on bad input: one line naming what and what is allowed, exit 2, no
traceback (no browser, no server: every case stops before the server starts)."""

from __future__ import annotations

import json

import pandas as pd
import pytest


@pytest.fixture
def finished_run(tmp_path):
    """A folder laid out as `cellsim run` leaves it: a manifest of kind "scenario" and a
    runs table with two arms."""
    folder = tmp_path / "done"
    folder.mkdir()
    (folder / "manifest.json").write_text(
        json.dumps({"kind": "scenario", "name": "tiny", "status": "complete"})
    )
    pd.DataFrame(
        {
            "run_id": ["control/r000", "senolytic/r000"],
            "arm": ["control", "senolytic"],
            "tissue": ["tissue", "tissue"],
            "end_day": [100.0, 120.0],
            "exhaustion_day": [100.0, 120.0],
        }
    ).to_parquet(folder / "runs.parquet")
    return folder


def one_line_exit_2(out, *needles: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stderr.startswith("cellsim: error: ") and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    for needle in needles:
        assert needle in out.stderr, out.stderr


def test_a_missing_folder_is_named_with_what_is_allowed(cli, tmp_path):
    out = cli("viz", str(tmp_path / "runs" / "gone"))
    one_line_exit_2(out, "gone", "not found", "scenario file", "output folder of cellsim run")


def test_a_folder_that_holds_no_result_is_refused(cli, tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("not a result")
    out = cli("viz", str(tmp_path / "notes"))
    one_line_exit_2(out, "notes", "not a result", "output folder of cellsim run, sweep")


def test_a_bad_arm_of_a_result_names_its_arms(cli, finished_run):
    out = cli("viz", str(finished_run), "--arm", "nope")
    one_line_exit_2(out, "--arm = 'nope'", "arms: control, senolytic")


def test_a_bad_arm_of_a_scenario_names_its_arms(cli):
    out = cli("viz", "lattice_bystander", "--arm", "nope")
    one_line_exit_2(out, "--arm = 'nope'", "not an arm of scenario 'lattice_bystander'", "arms:")


def test_a_missing_scenario_is_named(cli):
    out = cli("viz", "no_such_scenario.toml")
    one_line_exit_2(out, "no_such_scenario.toml", "not found")


def test_a_bad_scenario_names_the_field(cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[[base.tissues]]\nname = "t"\nn_cells = -5\n')
    out = cli("viz", str(bad))
    one_line_exit_2(out, "n_cells", "-5")


def test_a_bad_port_is_refused(cli):
    out = cli("viz", "--port", "70000")
    one_line_exit_2(out, "--port = 70000", "between 0 and 65535")
