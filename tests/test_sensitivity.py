"""Sensitivity studies: distributions, the indices against known answers (Ishigami, a
linear function, a tissue with deterministic loss against its closed form), outputs and
censoring, bad files, and a killed study that resumes."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.sensitivity import indices_tables, point_outputs, run_outputs
from cellsim.config.sensitivity import load_sensitivity, make_design
from cellsim.config.sensitivity_file import Distribution, Sensitivity

from .conftest import kill_after_first_part

CELLSIM = [sys.executable, "-m", "cellsim.cli"]


# --------------------------------------------------------------------------------------
# distributions
# --------------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["uniform", "loguniform", "truncnormal"]),
    low=st.floats(0.01, 1e4),
    width=st.floats(0.01, 1e4),
    integer=st.booleans(),
)
def test_bounded_distributions_map_quantiles_monotonically_into_their_bounds(
    kind, low, width, integer
):
    high = low + width
    extra = {"mean": low + 0.3 * width, "sd": width / 2} if kind == "truncnormal" else {}
    dist = Distribution(distribution=kind, low=low, high=high, integer=integer, **extra)
    u = np.linspace(0.0, 1.0, 101)
    x = dist.ppf(u)
    assert np.all(np.diff(x) >= 0)
    lo, hi = (math.floor(low), math.ceil(high)) if integer else (low, high)
    assert np.all(x >= lo * (1 - 1e-12)) and np.all(x <= hi * (1 + 1e-12))
    if integer:
        assert np.all(x == np.rint(x))


def test_distribution_quantiles_are_the_named_laws():
    assert Distribution(distribution="loguniform", low=1.0, high=100.0).ppf(0.5) == pytest.approx(
        10.0
    )
    assert Distribution(distribution="uniform", low=2.0, high=4.0).ppf(0.25) == pytest.approx(2.5)
    normal = Distribution(distribution="normal", mean=10.0, sd=2.0)
    assert normal.ppf(0.5) == pytest.approx(10.0)
    assert normal.ppf(0.8413447) == pytest.approx(12.0, abs=1e-5)
    assert np.isfinite(normal.ppf(np.array([0.0, 1.0]))).all()  # cut at UNIT_MARGIN


# --------------------------------------------------------------------------------------
# the estimators, through the study's own design and analysis code
# --------------------------------------------------------------------------------------


def _ishigami_theory(a: float = 7.0, b: float = 0.1) -> tuple[np.ndarray, np.ndarray, float]:
    """Analytic S1, ST and S13 of the Ishigami function (Ishigami & Homma 1990)."""
    v1 = 0.5 * (1 + b * math.pi**4 / 5) ** 2
    v2 = a**2 / 8
    v13 = b**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v, v13 / v


def test_ishigami_sobol_indices_match_the_analytic_values_within_their_intervals():
    study = Sensitivity(
        method="sobol",
        n=1024,
        second_order=True,
        seed=5,
        confidence_level=0.99,
        parameters={
            f"x{i}": {"distribution": "uniform", "low": -math.pi, "high": math.pi}
            for i in (1, 2, 3)
        },
    )
    design = make_design(study)
    assert design.values.shape == (1024 * 8, 3)
    x1, x2, x3 = design.values.T
    y = np.sin(x1) + 7.0 * np.sin(x2) ** 2 + 0.1 * x3**4 * np.sin(x1)
    indices, second = indices_tables(
        "sobol",
        design.names,
        design.unit,
        pd.DataFrame({"y": y}),
        second_order=True,
        resamples=500,
        confidence_level=0.99,
        seed=5,
    )
    s1, st_, s13 = _ishigami_theory()
    assert np.all(np.abs(indices["S1"] - s1) <= indices["S1_conf"]), indices
    assert np.all(np.abs(indices["ST"] - st_) <= indices["ST_conf"]), indices
    pair = second.set_index(["parameter", "parameter_2"]).loc[("x1", "x3")]
    assert abs(pair["S2"] - s13) <= pair["S2_conf"]


def test_morris_effects_of_a_linear_function_are_its_slopes_times_the_ranges():
    ranges = {"a": (0.0, 2.0), "b": (10.0, 30.0), "c": (-1.0, 1.0)}
    slopes = {"a": 3.0, "b": -0.5, "c": 0.0}
    study = Sensitivity(
        method="morris",
        n=20,
        levels=4,
        seed=2,
        parameters={k: {"low": lo, "high": hi} for k, (lo, hi) in ranges.items()},
    )
    design = make_design(study)
    assert design.values.shape == (20 * 4, 3)
    y = design.values @ np.array([slopes[k] for k in design.names])
    indices, _ = indices_tables(
        "morris", design.names, design.unit, pd.DataFrame({"y": y}), levels=4, resamples=100
    )
    got = indices.set_index("parameter")
    for k, (lo, hi) in ranges.items():
        assert got.loc[k, "mu_star"] == pytest.approx(abs(slopes[k]) * (hi - lo), abs=1e-9)
        assert got.loc[k, "mu"] == pytest.approx(slopes[k] * (hi - lo), abs=1e-9)
        assert got.loc[k, "sigma"] == pytest.approx(0.0, abs=1e-9)


# --------------------------------------------------------------------------------------
# outputs, censoring, replicate noise
# --------------------------------------------------------------------------------------


def test_outputs_flag_censored_event_ages_and_read_trajectories_at_an_age():
    y = 365.25
    runs = pd.DataFrame(
        {
            "run_id": ["p0/r0", "p0/r1", "p1/r0", "p1/r1"],
            "point": [0, 0, 1, 1],
            "replicate": [0, 1, 0, 1],
            "tissue": "t",
            "end_day": [50 * y, 50 * y, 30 * y, 60 * y],
            "exhaustion_day": [10 * y, np.nan, np.nan, 20 * y],
            "divisions_per_cell": [1.0, 3.0, 5.0, 7.0],
        }
    )
    traj = pd.DataFrame(
        {
            "run_id": ["p0/r0"] * 3 + ["p1/r1"] * 2,
            "tissue": "t",
            "day": [0.0, 9 * y, 11 * y, 0.0, 10 * y],
            "functional_fraction": [1.0, 0.8, 0.5, 1.0, 0.9],
        }
    )
    outputs = ["exhaustion_age_years", "divisions_per_cell", "functional_fraction@10y"]
    per_run = run_outputs(runs, traj, outputs)
    assert per_run["exhaustion_age_years"].tolist() == pytest.approx([10, 50, 30, 20])
    assert per_run["exhaustion_age_years__censored"].tolist() == [False, True, True, False]
    got = per_run["functional_fraction@10y"].to_numpy()
    assert got[0] == 0.8 and got[3] == 0.9 and np.isnan(got[1]) and np.isnan(got[2])
    yp, stats = point_outputs(per_run, outputs[:2], n_points=2)
    assert yp["divisions_per_cell"].tolist() == [2.0, 6.0]
    row = stats.set_index("output").loc["divisions_per_cell"]
    # within-point variance 2 (both points) over the runs' variance 20/3
    assert row["noise_fraction"] == pytest.approx(2.0 / (20.0 / 3.0))
    assert stats.set_index("output").loc["exhaustion_age_years", "censored_fraction"] == 0.5


# --------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------

STUDY = """
name = "det"
seed = 3
method = "sobol"
n = 128
outputs = ["exhaustion_age_years"]
censored = "error"

[base.run]
horizon_days = 36525.0
stop_at = "all_events"

[[base.tissues]]
name = "t"
n_cells = 500
lifespan_days = 10.0
stress = { rate_per_day = 0.0, epigenetic_slope_per_day_per_year = 0.0 }
transformation = { probability_per_division = 0.0 }

[base.tissues.telomere]
initial_mean_bp = 10000.0
initial_sd_bp = 0.0
loss_mean_bp = 100.0
loss_sd_bp = 0.0
senescence_threshold_bp = 5000.0

[parameters]
"t.lifespan_days" = { low = 8.0, high = 12.0 }
"t.telomere.loss_mean_bp" = { low = 80.0, high = 120.0 }
"t.telomere.initial_mean_bp" = { low = 9500.0, high = 10500.0 }
"t.failure.functional_fraction_min" = { low = 0.2, high = 0.8 }
"""

BAD = [
    (("n = 128", "n = 100"), ["n = 100", "power of 2"]),
    (('outputs = ["exhaustion_age_years"]', 'outputs = ["age"]'), ["'age'", "not an output"]),
    (
        ('outputs = ["exhaustion_age_years"]', 'outputs = ["telomere_mean_bp@40y"]'),
        ["telomere_mean_bp@40y", "stop_at", "horizon"],
    ),
    (
        ('"t.lifespan_days" = { low = 8.0, high = 12.0 }', '"t.nope" = { low = 8.0, high = 12.0 }'),
        ["t.nope", "unknown parameter"],
    ),
    (
        ('"t.lifespan_days" = { low = 8.0, high = 12.0 }', '"t.lifespan_days" = { low = 12.0 }'),
        ["t.lifespan_days", "needs low and high"],
    ),
    (
        (
            '"t.lifespan_days" = { low = 8.0, high = 12.0 }',
            '"t.lifespan_days" = { distribution = "normal", mean = 10, sd = 1, low = 5 }',
        ),
        ["truncnormal"],
    ),
    (
        (
            '"t.lifespan_days" = { low = 8.0, high = 12.0 }',
            '"t.lifespan_days" = { low = -8.0, high = 12.0 }',
        ),
        ["point p0", "lifespan_days"],
    ),
    (('censored = "error"', 'censored = "drop"'), ["censored", "drop"]),
    (('method = "sobol"', 'method = "morris"\nsecond_order = true'), ["second_order"]),
]


@pytest.mark.parametrize(("edit", "must_name"), BAD)
def test_bad_study_file_one_line_exit_2_nothing_written(cli, tmp_path, edit, must_name):
    old, new = edit
    assert old in STUDY
    path = tmp_path / "bad.toml"
    path.write_text(STUDY.replace(old, new, 1))
    out = tmp_path / "out"
    for command in (["--dry-run"], ["--out", str(out)]):
        res = cli("sensitivity", str(path), *command)
        assert res.returncode == 2, (res.stdout, res.stderr)
        lines = res.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr
        for word in must_name:
            assert word in lines[0], (word, lines[0])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


def test_points_of_one_saltelli_row_share_their_random_numbers(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(STUDY)
    plan = load_sensitivity(path)
    assert plan.design.group_size == 4 + 2
    keys = [plan.sweep.spec(i, 0).spawn_key for i in range(12)]
    assert len(set(keys[:6])) == 1 and len(set(keys[6:])) == 1 and keys[0] != keys[6]
    assert plan.sweep.spec(0, 0).spawn_key != plan.sweep.spec(0, 1).spawn_key


# --------------------------------------------------------------------------------------
# a tissue against its closed form, killed and resumed (slow)
# --------------------------------------------------------------------------------------


def _closed_form_indices(design_names: list[str], n: int = 8192) -> pd.DataFrame:
    """Sobol indices of the closed form T = lifespan x (T0 - Tc) / loss (exhaustion age is
    proportional to the turnover time and to the divisions a lineage has left, when loss
    is deterministic), through the same design and estimator at a large n."""
    study = Sensitivity.model_validate(
        {
            "n": n,
            "seed": 1,
            "parameters": {
                "L": {"low": 8.0, "high": 12.0},
                "loss": {"low": 80.0, "high": 120.0},
                "T0": {"low": 9500.0, "high": 10500.0},
            },
        }
    )
    design = make_design(study)
    lifespan, loss, t0 = design.values.T
    y = lifespan * (t0 - 5000.0) / loss
    indices, _ = indices_tables("sobol", design.names, design.unit, pd.DataFrame({"T": y}))
    return indices.assign(parameter=design_names)


@pytest.mark.slow
def test_deterministic_tissue_indices_follow_the_closed_form_after_a_kill_and_resume(tmp_path):
    path = tmp_path / "det.toml"
    path.write_text(STUDY)
    out = tmp_path / "out"
    args = [*CELLSIM, "sensitivity", str(path), "--out", str(out), "--workers", "2"]
    kill_after_first_part(args, out)
    assert not (out / "sensitivity").exists()
    res = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert "already done (resuming)" in res.stdout
    indices = pd.read_parquet(out / "sensitivity" / "indices.parquet").set_index("parameter")
    assert len(pd.read_parquet(out / "runs.parquet")) == 128 * 6
    # the input without effect on exhaustion (it only sets when "failure" is declared)
    dummy = indices.loc["t.failure.functional_fraction_min"]
    assert dummy["S1"] == 0.0 and dummy["ST"] == 0.0  # common random numbers: exact
    theory = _closed_form_indices(
        ["t.lifespan_days", "t.telomere.loss_mean_bp", "t.telomere.initial_mean_bp"]
    ).set_index("parameter")
    for name, row in theory.iterrows():
        for col in ("S1", "ST"):
            # within the 95% interval, plus 0.05 for what the closed form leaves out
            # (divisions come in whole numbers; clearance runs at its own clock)
            gap = abs(indices.loc[name, col] - row[col])
            assert gap <= indices.loc[name, f"{col}_conf"] + 0.05, (name, col, gap)
    assert 0.85 <= indices["S1"].sum() <= 1.15  # nearly additive, as the closed form
    report = (out / "sensitivity" / "report.md").read_text()
    assert "t.telomere.loss_mean_bp" in report and "Sum of S1" in report
    for fig in ("tornado", "bars"):
        assert (out / "sensitivity" / "figures" / f"{fig}_exhaustion_age_years.png").is_file()
