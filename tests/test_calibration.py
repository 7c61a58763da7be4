"""Calibration by ABC: cohort statistics, the linear mean field against runs, coverage of
the credible intervals on synthetic data, bad files, resuming, and posteriors in
scenarios."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.calibration import cohort_summaries, posterior_summary, weighted_quantiles
from cellsim.config.calibration import load_calibration
from cellsim.config.scenario import ScenarioError, load_scenario
from cellsim.run.calibration import (
    CohortSimulator,
    linear_meanfield_curve,
    meanfield_holds,
    posterior_table,
    run_abc,
)

CELLSIM = [sys.executable, "-m", "cellsim.cli"]

CALIBRATION = """
name = "synthetic"
seed = 5
simulator = "linear_meanfield"

[base.run]
start_age_days = 7305.0
horizon_days = 25567.5
record_interval_days = 365.25
stop_at = "horizon"

[[base.tissues]]
name = "pool"
n_cells = 1000
lifespan_days = 280.0

[base.tissues.telomere]
initial_mean_bp = 8000.0
initial_sd_bp = 500.0
loss_mean_bp = 20.0
loss_sd_bp = 0.0
senescence_threshold_bp = 500.0

[base.tissues.stress]
rate_per_day = 0.0
epigenetic_slope_per_day_per_year = 0.0

[base.tissues.transformation]
probability_per_division = 0.0

[data]
file = "data.csv"
value_column = "tl_kb"
value_to_bp = 1000.0
min_age_years = 20.0

[summary]
age_bins_years = [20, 40, 60, 80, 91]
statistics = ["median", "sd"]

[abc]
population_size = 60
max_populations = 5
epsilon_quantile = 0.2
min_acceptance_rate = 0.05

[parameters]
"pool.telomere.initial_mean_bp" = { low = 7000, high = 10000 }
"pool.telomere.loss_mean_bp" = { low = 5, high = 25 }
"cohort.between_person_sd_bp" = { low = 200, high = 1500 }
"""
TRUTH = {
    "pool.telomere.initial_mean_bp": 8000.0,
    "pool.telomere.loss_mean_bp": 20.0,
    "cohort.between_person_sd_bp": 700.0,
}


def _write_data(folder: Path, ages: np.ndarray, values_bp: np.ndarray) -> None:
    pd.DataFrame({"age_years": ages, "tl_kb": values_bp / 1000.0}).to_csv(
        folder / "data.csv", index=False
    )


def _study(folder: Path, text: str = CALIBRATION, seed_data: int = 0):
    """A calibration of synthetic people (400, ages 20-90) made by the model at TRUTH."""
    rng = np.random.default_rng(seed_data)
    ages = np.sort(rng.uniform(20.0, 90.0, 400)).round(1)
    _write_data(folder, ages, np.full(len(ages), 7000.0))  # placeholder to load the plan
    path = folder / "cal.toml"
    path.write_text(text)
    plan = load_calibration(path)
    sim = CohortSimulator(plan)
    sim.seed = 10_000 + seed_data  # the data's own noise, not the calibration's
    _write_data(folder, ages, sim.people(TRUTH)[:, 0])
    return load_calibration(path)


# --------------------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------------------


def test_cohort_summaries_per_age_bin():
    ages = np.array([20, 25, 29.9, 30, 35, 50])
    values = np.array([1.0, 2.0, 3.0, 10.0, 20.0, 99.0])
    got = cohort_summaries(ages, values, [20, 30, 40], ["median", "sd", "mean", "p10"])
    assert got["median_20_30"] == 2.0 and got["mean_30_40"] == 15.0
    assert got["sd_20_30"] == pytest.approx(1.0) and got["sd_30_40"] == pytest.approx(50**0.5)
    assert got["p10_20_30"] == pytest.approx(1.2)
    assert "median_40_50" not in got  # 50 is past the last edge


def test_weighted_quantiles_and_credible_intervals():
    x = np.arange(1.0, 101.0)
    assert weighted_quantiles(x, np.ones(100), [0.5])[0] == pytest.approx(50.5)
    w = np.where(x <= 50, 3.0, 1.0)  # three quarters of the weight on 1..50
    assert weighted_quantiles(x, w, [0.75])[0] == pytest.approx(50.5, abs=0.6)
    post = pd.DataFrame({"a": x, "weight": np.ones(100) / 100})
    row = posterior_summary(post, ["a"]).iloc[0]
    assert row["ci90_low"] == pytest.approx(5.5, abs=0.6)
    assert row["ci90_high"] == pytest.approx(95.5, abs=0.6)


# --------------------------------------------------------------------------------------
# the linear mean field against runs
# --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_linear_meanfield_follows_the_runs_mean_telomere_where_it_holds(tmp_path):
    from cellsim.engine.params import with_overrides

    plan = _study(tmp_path)
    sim = CohortSimulator(plan)
    sim.simulator = "agent"
    n = 10_000
    sim.base = with_overrides(plan.base, {"pool.n_cells": n})
    for pars in (TRUTH, {**TRUTH, "pool.telomere.loss_mean_bp": 30.0}):
        ((ages, run_mean),) = sim.curves(pars)
        params = with_overrides(sim.base, {k: pars[k] for k in sim.model_parameters})
        mf_ages, mf = linear_meanfield_curve(params, "pool")
        assert meanfield_holds(params, "pool", mf)
        expected = np.interp(ages, mf_ages, mf)
        # The run's mean also drifts: each of the N t / L replacements moves it by
        # (T_parent - T_dead) / N, SD sqrt(2) 500 / N, so by t it has wandered
        # SD ~ 500 sqrt(2 t / (L N)) (an upper bound: the spread between cells shrinks as
        # lineages coalesce), plus the founders' sampling error 500 / sqrt(N).
        years = ages - ages[0]
        drift_sd = 500.0 * np.sqrt(2 * years * 365.25 / (280.0 * n)) + 500.0 / np.sqrt(n)
        assert np.all(np.abs(run_mean - expected) <= 4 * drift_sd), np.max(
            np.abs(run_mean - expected) / drift_sd
        )
        slope = -np.polyfit(ages, run_mean, 1)[0]
        theory = 2 * pars["pool.telomere.loss_mean_bp"] * 365.25 / 280.0  # bp per year
        assert slope == pytest.approx(theory, abs=4 * drift_sd[-1] / years[-1])
    # near the threshold it does not hold (the simulator then makes a run instead)
    low = {**TRUTH, "pool.telomere.initial_mean_bp": 6000.0, "pool.telomere.loss_mean_bp": 35.0}
    params = with_overrides(plan.base, {k: low[k] for k in sim.model_parameters})
    assert not meanfield_holds(params, "pool", linear_meanfield_curve(params, "pool")[1])


# --------------------------------------------------------------------------------------
# ABC recovers known parameters
# --------------------------------------------------------------------------------------


def _coverage_one(k: int) -> dict[str, tuple[bool, float]]:
    """One synthetic data set (its own people and seed): per parameter, whether the 90%
    credible interval covers the truth, and the interval's width."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plan = _study(folder, CALIBRATION.replace("seed = 5", f"seed = {100 + k}"), seed_data=k)
        post = posterior_table(run_abc(plan, None), list(TRUTH))
    summary = posterior_summary(post, list(TRUTH)).set_index("parameter")
    return {
        name: (
            bool(summary.loc[name, "ci90_low"] <= true <= summary.loc[name, "ci90_high"]),
            float(summary.loc[name, "ci90_high"] - summary.loc[name, "ci90_low"]),
        )
        for name, true in TRUTH.items()
    }


@pytest.mark.slow
def test_credible_intervals_cover_the_truth_on_synthetic_data():
    """20 synthetic data sets made by the model at TRUTH (each its own people's noise):
    the 90% credible interval covers the true value at least 16 times per parameter, and
    is informative (under half the prior's central 90%), so coverage is not trivial."""
    from cellsim.run.local import map_unordered

    results = list(map_unordered(_coverage_one, range(20), workers=2))
    prior_90 = {
        "pool.telomere.initial_mean_bp": 0.9 * 3000,
        "pool.telomere.loss_mean_bp": 0.9 * 20,
        "cohort.between_person_sd_bp": 0.9 * 1300,
    }
    for name in TRUTH:
        covered = sum(r[name][0] for r in results)
        width = np.mean([r[name][1] for r in results])
        assert covered >= 16, (name, covered)
        assert width < 0.5 * prior_90[name], (name, width)


# --------------------------------------------------------------------------------------
# files, resuming, outputs
# --------------------------------------------------------------------------------------

BAD = [
    (('file = "data.csv"', 'file = "nope.csv"'), ["data.file", "nope.csv", "not found"]),
    (('value_column = "tl_kb"', 'value_column = "x"'), ["data.value_column", "'x'"]),
    (('stop_at = "horizon"', 'stop_at = "all_events"'), ["stop_at", "horizon"]),
    (("horizon_days = 25567.5", "horizon_days = 3650.0"), ["run", "ages", "horizon_days"]),
    (
        ('"cohort.between_person_sd_bp" = { low = 200, high = 1500 }', ""),
        ["cohort.between_person_sd_bp"],
    ),
    (
        (
            '"pool.telomere.loss_mean_bp" = { low = 5, high = 25 }',
            '"pool.nope" = { low = 5, high = 25 }',
        ),
        ["pool.nope", "unknown parameter"],
    ),
    (
        (
            '"pool.telomere.loss_mean_bp" = { low = 5, high = 25 }',
            '"pool.lifespan_days" = { low = -5, high = 35 }',
        ),
        ["priors", "lifespan_days"],
    ),
    (("age_bins_years = [20, 40, 60, 80, 91]", "age_bins_years = [20, 40, 30]"), ["increase"]),
    (('simulator = "linear_meanfield"', 'simulator = "exact"'), ["simulator", "exact"]),
    (
        (
            'simulator = "linear_meanfield"',
            'simulator = "linear_meanfield"\nset = { "pool.nope" = 1 }',
        ),
        ["set", "pool.nope"],
    ),
    (
        (
            'simulator = "linear_meanfield"',
            'simulator = "linear_meanfield"\nset = { "pool.n_cells" = 0 }',
        ),
        ["set", "n_cells"],
    ),
]


@pytest.mark.parametrize(("edit", "must_name"), BAD)
def test_bad_calibration_file_one_line_exit_2_nothing_written(cli, tmp_path, edit, must_name):
    old, new = edit
    assert old in CALIBRATION
    _write_data(tmp_path, np.linspace(20, 90, 50), np.linspace(8000, 5000, 50))
    path = tmp_path / "bad.toml"
    path.write_text(CALIBRATION.replace(old, new, 1))
    for command in (["--dry-run"], ["--out", str(tmp_path / "out")]):
        res = cli("calibrate", str(path), *command)
        assert res.returncode == 2, (res.stdout, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
        for word in must_name:
            assert word in lines[0], (word, lines[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml", "data.csv"]


@pytest.mark.slow
def test_a_killed_calibration_resumes_and_writes_its_outputs(tmp_path):
    plan = _study(tmp_path)
    out = tmp_path / "out"
    args = [*CELLSIM, "calibrate", str(plan.path), "--out", str(out), "--workers", "1"]
    # killed once the first generation is stored (pyabc writes it to abc.db)
    import sqlite3
    import subprocess
    import time

    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            db = out / "abc.db"
            if db.is_file():
                try:
                    with sqlite3.connect(db) as con:
                        n = con.execute("select count(*) from populations where t >= 0").fetchone()
                    if n and n[0] >= 1:
                        break
                except sqlite3.Error:
                    pass
            time.sleep(0.05)
        proc.kill()
    finally:
        proc.wait(timeout=30)
    res = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    if proc.returncode != 0:  # it was killed before the end: the rerun resumed
        assert "resuming after" in res.stdout, res.stdout
    pops = pd.read_csv(out / "populations.csv")
    assert pops["t"].tolist() == list(range(len(pops))) and 1 <= len(pops) <= 5
    post = pd.read_parquet(out / "posterior.parquet")
    assert len(post) == 60 and post["weight"].sum() == pytest.approx(1.0)
    for f in ("pairs.png", "predictive_check.png", "epsilon.png"):
        assert (out / "figures" / f).stat().st_size > 10_000
    bands = pd.read_csv(out / "predictive.csv")
    assert (bands["sim_p10"] < bands["sim_p50"]).all() and (
        bands["sim_p50"] < bands["sim_p90"]
    ).all()
    assert "Posterior-predictive check" in (out / "report.md").read_text()
    # another calibration may not write into this folder
    other = plan.path.with_name("other.toml")
    other.write_text(plan.path.read_text().replace("seed = 5", "seed = 6"))
    res = subprocess.run(
        [*CELLSIM, "calibrate", str(other), "--out", str(out)], capture_output=True, text=True
    )
    assert res.returncode == 2 and "different calibration" in res.stderr


def test_a_posterior_drives_a_scenarios_replicates(tmp_path, cli):
    post = pd.DataFrame(
        {
            "t.telomere.loss_mean_bp": [10.0, 50.0, 90.0],
            "cohort.between_person_sd_bp": [1.0, 2.0, 3.0],
            "weight": [0.0, 0.5, 0.5],
        }
    )
    post.to_parquet(tmp_path / "posterior.parquet")
    text = """
name = "p"
seed = 3
replicates = 40
posterior = "posterior.parquet"
[[base.tissues]]
name = "t"
n_cells = 100
[[arms]]
name = "a"
[[arms]]
name = "b"
set = { "t.lifespan_days" = 30.0 }
"""
    (tmp_path / "s.toml").write_text(text)
    sc = load_scenario(tmp_path / "s.toml")
    specs = sc.run_specs()
    losses = [s.params.tissues[0].telomere.loss_mean_bp for s in specs]
    assert set(losses) == {50.0, 90.0}  # never the zero-weight row
    a = [s for s in specs if s.arm == "a"]
    b = [s for s in specs if s.arm == "b"]
    # replicate r of every arm takes the same draw (paired arms), recorded in the row
    assert [s.extra["posterior_row"] for s in a] == [s.extra["posterior_row"] for s in b]
    assert all(s.params.tissues[0].lifespan_days == 30.0 for s in b)
    assert sc.run_specs()[5].extra == specs[5].extra  # deterministic
    # a posterior naming an unknown parameter, or a missing file: one line, exit 2
    post.rename(columns={"t.telomere.loss_mean_bp": "t.nope"}).to_parquet(tmp_path / "bad.parquet")
    (tmp_path / "bad.toml").write_text(text.replace("posterior.parquet", "bad.parquet"))
    with pytest.raises(ScenarioError, match=r"t\.nope"):
        load_scenario(tmp_path / "bad.toml")
    (tmp_path / "gone.toml").write_text(text.replace("posterior.parquet", "gone.parquet"))
    res = cli("validate", str(tmp_path / "gone.toml"))
    assert res.returncode == 2 and "gone.parquet" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
