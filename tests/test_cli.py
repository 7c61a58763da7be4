"""The command line: bad input, reproducibility, worker-count independence."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

CELLSIM = [sys.executable, "-m", "cellsim.cli"]

SMALL = """
name = "small"
seed = 5
replicates = 3

[base.run]
horizon_days = 400.0
stop_at = "all_events"

[[base.tissues]]
name = "t"
n_cells = 300
lifespan_days = 5.0

[base.tissues.telomere]
loss_mean_bp = 300.0

[[arms]]
name = "a"

[[arms]]
name = "b"
set = { "t.lifespan_days" = 8.0 }
"""


def cellsim(*args: str) -> subprocess.CompletedProcess:
    """The real command in a subprocess (for runs)."""
    return subprocess.run([*CELLSIM, *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(
    ("edit", "must_name"),
    [
        (("[base.run]", "[base.run]\nfrobnicate = 3"), ["frobnicate", "unknown key"]),
        (("lifespan_days = 5.0", "lifespan_days = -5.0"), ["lifespan_days", "-5.0"]),
        (
            (
                "[base.tissues.telomere]",
                "[base.tissues.transformation]\n"
                "probability_per_division = 1.5\n[base.tissues.telomere]",
            ),
            ["probability_per_division", "1.5", "less than or equal to 1"],
        ),
        (
            ("loss_mean_bp = 300.0", "loss_mean_bp = 300.0\nsenescence_threshold_bp = 12000.0"),
            ["senescence_threshold_bp", "12000", "initial_mean_bp"],
        ),
        (("n_cells = 300", 'n_cells = "many"'), ["n_cells", "'many'", "integer"]),
        (
            ('set = { "t.lifespan_days" = 8.0 }', 'set = { "t.lifespan_dayz" = 8.0 }'),
            ["t.lifespan_dayz", "unknown parameter"],
        ),
        (
            ('set = { "t.lifespan_days" = 8.0 }', 'set = { "t.lifespan_days" = 0 }'),
            ["lifespan_days", "0", "greater than or equal to 0.0001"],
        ),
    ],
)
def test_bad_scenario_gives_one_line_error_exit_2_and_no_output(cli, tmp_path, edit, must_name):
    old, new = edit
    assert old in SMALL
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.replace(old, new, 1))
    out = tmp_path / "out"
    for command in (["validate", str(path)], ["run", str(path), "--out", str(out)]):
        res = cli(*command)
        assert res.returncode == 2, res.stderr
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1, res.stderr
        assert "Traceback" not in res.stderr
        for word in must_name:
            assert word in lines[0], (word, lines[0])
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_missing_file_and_bad_options(cli, tmp_path):
    res = cli("run", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "nope.toml" in res.stderr and "not found" in res.stderr
    path = tmp_path / "s.toml"
    path.write_text(SMALL)
    for opt, val in (("--workers", "0"), ("--replicates", "-1"), ("--workers", "two")):
        res = cli("run", str(path), opt, val, "--out", str(tmp_path / "o"))
        assert res.returncode == 2, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and opt in res.stderr
    assert not (tmp_path / "o").exists()
    res = cli("run", str(path), "--out", str(path))  # a file, not a cellsim folder
    assert res.returncode == 2 and "--out" in res.stderr


def test_bad_scenario_in_a_subprocess(tmp_path):
    """The installed entry point behaves the same outside pytest (one line, exit 2)."""
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.replace("n_cells = 300", "n_cells = -3"))
    res = cellsim("run", str(path), "--out", str(tmp_path / "o"))
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0 and "n_cells = -3" in res.stderr
    assert not (tmp_path / "o").exists()


def _runs_table(folder: Path) -> pd.DataFrame:
    runs = pd.read_parquet(folder / "runs.parquet")
    return runs.drop(columns=["wall_seconds"]).sort_values("run_id").reset_index(drop=True)


@pytest.mark.slow
def test_same_seed_same_output_and_workers_do_not_matter(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SMALL)
    outs = {}
    for name, workers in (("w1", "1"), ("w1_again", "1"), ("w2", "2")):
        res = cellsim("run", str(path), "--out", str(tmp_path / name), "--workers", workers)
        assert res.returncode == 0, res.stderr
        outs[name] = tmp_path / name
        for f in (
            "runs.parquet",
            "trajectories.parquet",
            "summary.csv",
            "report.md",
            "scenario.resolved.json",
            "manifest.json",
        ):
            assert (outs[name] / f).is_file(), f
        assert list((outs[name] / "figures").glob("*.png"))
    ref = _runs_table(outs["w1"])
    assert len(ref) == 6 and ref["exhaustion_day"].notna().all()
    pd.testing.assert_frame_equal(ref, _runs_table(outs["w1_again"]))
    pd.testing.assert_frame_equal(ref, _runs_table(outs["w2"]))
    t1 = pd.read_parquet(outs["w1"] / "trajectories.parquet")
    t2 = pd.read_parquet(outs["w2"] / "trajectories.parquet")
    pd.testing.assert_frame_equal(t1, t2)
    # a different seed changes the runs
    path.write_text(SMALL.replace("seed = 5", "seed = 6"))
    res = cellsim("run", str(path), "--out", str(tmp_path / "other"), "--workers", "1")
    assert res.returncode == 0
    assert not _runs_table(tmp_path / "other")["exhaustion_day"].equals(ref["exhaustion_day"])


def test_the_run_output_says_which_rule_stopped_the_runs(cli, tmp_path):
    """A run stopped at tissue failure is named so, with the rule that fired, in the printed
    table, the runs table, summary.csv and report.md; runs that go on to exhaustion say
    "exhaustion"."""
    path = tmp_path / "s.toml"
    stop_early = (
        '[[arms]]\nname = "early"\nset = { "run.stop_at" = "first_event", '
        '"t.failure.functional_fraction_min" = 0.8 }\n'
    )
    path.write_text(SMALL.replace("replicates = 3", "replicates = 2") + stop_early)
    out = tmp_path / "out"
    res = cli("run", str(path), "--out", str(out), "--workers", "1")  # in this process
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    at = lines.index("runs stopped at:")
    assert lines[at + 1].split() == ["a", *"exhaustion (no CYCLING or STEM cell left) 2/2".split()]
    assert lines[at + 3].split() == ["early", *"failure (functional fraction < 0.8) 2/2".split()]
    runs = pd.read_parquet(out / "runs.parquet").set_index("run_id")
    assert runs.loc[["a/r000", "a/r001", "b/r000", "b/r001"], "stop_reason"].eq("exhaustion").all()
    early = runs.loc[["early/r000", "early/r001"]]
    assert early["stop_reason"].eq("failure").all()
    assert early["failure_functional_fraction_min"].eq(0.8).all()
    assert early["exhaustion_day"].isna().all()  # censored at failure, not exhausted
    assert (early["failure_day"] == early["end_day"]).all()
    assert runs.loc["a/r000", "failure_functional_fraction_min"] == 0.5
    summary = pd.read_csv(out / "summary.csv").set_index("arm")
    assert summary.loc["early", "stopped_at_failure"] == 2
    assert summary.loc["early", "stopped_at_exhaustion"] == 0
    assert summary.loc["a", "stopped_at_exhaustion"] == 2
    report = (out / "report.md").read_text()
    assert "`early`: failure (functional fraction < 0.8) 2/2" in report
