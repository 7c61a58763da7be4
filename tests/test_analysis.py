"""Tests of the analysis package against theory and textbook values, not its own output."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.exhaustion import (
    DAYS_PER_YEAR,
    EVENTS,
    event_times,
    format_stop_reasons,
    format_summary,
    kaplan_meier,
    logrank,
    summary_table,
)
from analysis.plots import STANDARD_FIGURES, make_standard_figures, plot_survival
from analysis.report import summary_markdown, write_report

REPO = Path(__file__).resolve().parents[1]

# Freireich et al. (1963) leukaemia remission data, as in Kleinbaum & Klein, "Survival
# Analysis", ch. 2: weeks in remission; the 6-MP arm with censoring flags, placebo all events.
SIX_MP_WEEKS = np.array(
    [6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35], float
)
SIX_MP_EVENT = np.array([1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0], bool)
PLACEBO_WEEKS = np.array(
    [1, 1, 2, 2, 3, 4, 4, 5, 5, 8, 8, 8, 8, 11, 11, 12, 12, 15, 17, 22, 23], float
)


def runs_table(arm_times: dict[str, tuple[np.ndarray, np.ndarray]], end_years: float = 100.0):
    """A runs table whose exhaustion ages (years) are given per arm; NaN where censored.

    A run with an event stops at the event (end_day = exhaustion_day), a censored one at its
    given time; failure and neoplasia are never reached.
    """
    rows = []
    for arm, (times, observed) in arm_times.items():
        for i, (t, obs) in enumerate(zip(times, observed, strict=True)):
            day = float(t) * DAYS_PER_YEAR
            rows.append(
                {
                    "run_id": f"{arm}/r{i:03d}",
                    "arm": arm,
                    "replicate": i,
                    "tissue": "tissue",
                    "n_cells": 100,
                    "start_day": 0.0,
                    "end_day": day,
                    "horizon_day": end_years * DAYS_PER_YEAR,
                    "exhaustion_day": day if obs else math.nan,
                    "failure_day": math.nan,
                    "neoplasia_day": math.nan,
                    "divisions_per_cell": 10.0 + i,
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------


def test_km_without_censoring_is_the_empirical_survival_function():
    rng = np.random.default_rng(1)
    n = 101  # odd: the median is one sample
    t = np.round(rng.exponential(20.0, n), 1)  # rounding makes ties
    km = kaplan_meier(t, np.ones(n, bool))

    grid = np.concatenate([np.unique(t), np.linspace(0, t.max(), 500)])
    expected = 1.0 - np.searchsorted(np.sort(t), grid, side="right") / n
    np.testing.assert_allclose(km.survival_at(grid), expected, atol=1e-12)
    # the stored step curve itself: S = 1 before the first time, 0 after the last
    np.testing.assert_allclose(km.survival[0], 1.0)
    np.testing.assert_allclose(km.survival[-1], 0.0, atol=1e-12)
    assert km.median_years == np.median(t)
    assert km.n == n and km.n_events == n and km.n_censored == 0


def test_km_matches_textbook_6mp_values_and_greenwood_loglog_band():
    km = kaplan_meier(SIX_MP_WEEKS, SIX_MP_EVENT)
    # Kleinbaum & Klein table 2.x: KM estimates of the 6-MP arm
    textbook = {6: 0.857, 7: 0.807, 10: 0.753, 13: 0.690, 16: 0.627, 22: 0.538, 23: 0.448}
    got = km.survival_at(np.array(list(textbook)))
    np.testing.assert_allclose(got, list(textbook.values()), atol=5e-4)
    assert km.median_years == 23.0

    # Pointwise band by hand: Greenwood V = sum d / (n (n - d)); log-log band
    # S ** exp(+-z sqrt(V) / log S) (Kalbfleisch & Prentice).
    z = stats.norm.ppf(0.975)
    event_weeks = np.unique(SIX_MP_WEEKS[SIX_MP_EVENT])
    surv, var_sum = 1.0, 0.0
    for w in event_weeks:
        at_risk = np.sum(SIX_MP_WEEKS >= w)
        deaths = np.sum((SIX_MP_WEEKS == w) & SIX_MP_EVENT)
        surv *= 1.0 - deaths / at_risk
        var_sum += deaths / (at_risk * (at_risk - deaths))
        half = z * math.sqrt(var_sum) / math.log(surv)
        low, high = surv ** math.exp(-half), surv ** math.exp(half)
        i = np.searchsorted(km.times_years, w)
        assert km.times_years[i] == w
        np.testing.assert_allclose([km.ci_low[i], km.ci_high[i]], [low, high], rtol=1e-9)

    # Median CI rule: lower band first <= 0.5 at week 13 (0.43; 0.50 at week 10); the upper
    # band never reaches 0.5 (0.68 at the end), so the CI is [13, not reached).
    assert km.median_ci_low_years == 13.0
    assert math.isnan(km.median_ci_high_years)
    assert km.followup_max_years == 35.0


def test_km_exponential_with_censoring_recovers_the_true_median():
    rng = np.random.default_rng(20261126)
    n, rate = 4000, 1.0 / 30.0  # per year
    true_median = math.log(2) / rate
    event = rng.exponential(1.0 / rate, n)
    censor = np.minimum(rng.exponential(60.0, n), 80.0)  # random + administrative
    t = np.minimum(event, censor)
    observed = event <= censor
    assert 0.2 < 1 - observed.mean() < 0.5  # censoring is substantial

    km = kaplan_meier(t, observed)
    assert abs(km.median_years - true_median) / true_median < 0.05
    assert km.median_ci_low_years <= true_median <= km.median_ci_high_years
    assert km.median_ci_low_years < km.median_years < km.median_ci_high_years
    # the whole curve, not just the median: within 0.03 of exp(-rate t) up to 60 years
    grid = np.linspace(0, 60, 61)
    np.testing.assert_allclose(km.survival_at(grid), np.exp(-rate * grid), atol=0.03)


def test_km_pointwise_band_and_median_ci_have_about_nominal_coverage():
    rng = np.random.default_rng(7)
    rate, t0 = 1.0 / 10.0, 8.0
    true_median, true_s0 = math.log(2) / rate, math.exp(-rate * t0)
    reps, n = 400, 60
    cover_s0 = cover_median = 0
    for _ in range(reps):
        event = rng.exponential(1.0 / rate, n)
        censor = rng.uniform(0, 40, n)
        km = kaplan_meier(np.minimum(event, censor), event <= censor)
        i = np.searchsorted(km.times_years, t0, side="right") - 1
        cover_s0 += km.ci_low[i] <= true_s0 <= km.ci_high[i]
        low, high = km.median_ci_low_years, km.median_ci_high_years
        cover_median += (low <= true_median) and (math.isnan(high) or true_median <= high)
    # nominal 95%; binomial sd with 400 reps is ~1.1%
    assert 0.91 <= cover_s0 / reps <= 0.99
    assert 0.90 <= cover_median / reps <= 0.995


def test_km_all_censored_and_empty():
    km = kaplan_meier(np.array([1.0, 2.0, 3.0]), np.zeros(3, bool))
    assert math.isnan(km.median_years) and math.isnan(km.median_ci_low_years)
    assert np.all(km.survival == 1.0) and np.all(km.ci_low == 1.0)
    assert km.n_censored == 3 and km.followup_max_years == 3.0
    empty = kaplan_meier(np.array([]), np.array([], bool))
    assert empty.n == 0 and math.isnan(empty.median_years)


# --------------------------------------------------------------------------------------
# event times, summaries, log-rank
# --------------------------------------------------------------------------------------


def test_event_times_uses_event_age_or_censors_at_end_day():
    runs = pd.DataFrame(
        {
            "run_id": ["a/r000", "a/r001"],
            "arm": ["a", "a"],
            "start_day": [0.0, 0.0],
            "end_day": [3652.5, 7305.0],
            "exhaustion_day": [3652.5, math.nan],
            "stem.exhaustion_day": [math.nan, 100.0],  # an extra tissue's column
        }
    )
    et = event_times(runs, "exhaustion")
    assert list(et.columns) == ["arm", "run_id", "time_years", "observed"]
    np.testing.assert_allclose(et["time_years"], [10.0, 20.0])
    assert et["observed"].tolist() == [True, False]
    # an absent standard event column: nothing reached, censored at end_day
    et = event_times(runs, "neoplasia")
    assert not et["observed"].any()
    np.testing.assert_allclose(et["time_years"], [10.0, 20.0])
    # extra event columns are usable by name
    assert event_times(runs, "stem.exhaustion")["observed"].tolist() == [False, True]


def test_summary_table_counts_censoring_and_handles_an_arm_without_events():
    arms = {
        # first appearing arm is the default control
        "control": (np.array([10.0, 20.0, 30.0]), np.array([True, True, True])),
        "treated": (np.array([40.0, 50.0, 100.0, 100.0]), np.array([True, True, False, False])),
        "nothing": (np.array([100.0, 100.0, 100.0]), np.array([False, False, False])),
    }
    runs = runs_table(arms)
    runs["some_unknown_column"] = "ignored"
    summary = summary_table(runs)

    assert summary["arm"].tolist() == ["control", "treated", "nothing"]
    assert summary["n_runs"].tolist() == [3, 4, 3]
    for e in EVENTS:
        for col in ("median_years", "ci_low_years", "ci_high_years", "censored"):
            assert f"{e}_{col}" in summary.columns
    assert summary["exhaustion_censored"].tolist() == [0, 2, 3]
    # failure and neoplasia never happened: every run censored, medians NaN
    assert summary["failure_censored"].tolist() == [3, 4, 3]
    assert summary["neoplasia_median_years"].isna().all()

    row = summary.set_index("arm")
    assert row.loc["control", "exhaustion_median_years"] == 20.0  # middle of 10, 20, 30
    # treated: S = 3/4 after 40, 1/2 after 50: the median is 50
    assert row.loc["treated", "exhaustion_median_years"] == 50.0
    assert math.isnan(row.loc["nothing", "exhaustion_median_years"])
    assert row.loc["nothing", "exhaustion_censored"] == row.loc["nothing", "n_runs"]
    np.testing.assert_allclose(row["divisions_per_cell_mean"], [11.0, 11.5, 11.0])
    assert math.isnan(row.loc["control", "exhaustion_logrank_p"])
    assert 0.0 < row.loc["treated", "exhaustion_logrank_p"] < 1.0

    # an explicit control
    other = summary_table(runs, control="treated").set_index("arm")
    assert math.isnan(other.loc["treated", "exhaustion_logrank_p"])
    assert not math.isnan(other.loc["control", "exhaustion_logrank_p"])
    with pytest.raises(ValueError):
        summary_table(runs, control="no-such-arm")

    lines = format_summary(summary)
    assert len(lines) == 2 + 3
    text = "\n".join(lines)
    assert "20.0 [" in text
    assert "> 100.0 (3/3 censored)" in text
    assert "(2/4 censored)" in text
    markdown = summary_markdown(summary)
    assert markdown.count("\n|") >= 4 and "> 100.0 (3/3 censored)" in markdown


def test_summary_counts_why_runs_stopped_and_names_the_failure_rule():
    """Each arm's runs are counted by ``stop_reason``, and the printed lines name the rule
    that fired: a run stopped at tissue failure reads "failure (functional fraction <
    threshold)", never as exhaustion."""
    runs = runs_table(
        {
            "early": (np.array([5.0, 6.0, 7.0]), np.array([False, False, False])),
            "full": (np.array([30.0, 40.0, 100.0]), np.array([True, True, False])),
        }
    )
    runs["stop_reason"] = ["failure", "failure", "failure", "exhaustion", "exhaustion", "horizon"]
    runs["failure_functional_fraction_min"] = [0.7, 0.7, 0.7, 0.5, 0.5, 0.5]
    runs["failure_neoplasia_fraction"] = 0.01
    summary = summary_table(runs).set_index("arm")
    assert summary.loc["early", "stopped_at_failure"] == 3
    assert summary.loc["early", "stopped_at_exhaustion"] == 0
    assert summary.loc["full", "stopped_at_exhaustion"] == 2
    assert summary.loc["full", "stopped_at_horizon"] == 1
    assert summary.loc["early", "failure_functional_fraction_min"] == 0.7
    lines = format_stop_reasons(summary.reset_index())
    assert lines == [
        "runs stopped at:",
        "  early  failure (functional fraction < 0.7) 3/3",
        "  full   exhaustion (no CYCLING or STEM cell left) 2/3, horizon 1/3",
    ]
    # a table written before stop_reason existed: said, not guessed
    old = summary_table(runs.drop(columns=["stop_reason"]))
    assert old["stopped_at_failure"].isna().all()
    assert "not recorded" in format_stop_reasons(old)[1]


def test_logrank_matches_the_textbook_6mp_versus_placebo_statistic():
    runs = runs_table(
        {
            "6-MP": (SIX_MP_WEEKS, SIX_MP_EVENT),
            "placebo": (PLACEBO_WEEKS, np.ones(PLACEBO_WEEKS.size, bool)),
        }
    )
    # Kleinbaum & Klein: log-rank chi-square 16.79 on 1 df
    expected = stats.chi2.sf(16.79, 1)
    assert logrank(runs, "exhaustion", "6-MP", "placebo") == pytest.approx(expected, rel=0.01)
    assert math.isnan(logrank(runs, "exhaustion", "6-MP", "6-MP"))
    assert math.isnan(logrank(runs, "failure", "6-MP", "placebo"))  # no events at all


def test_logrank_same_versus_different_distributions():
    rng = np.random.default_rng(3)
    n = 300

    def arm(rate: float) -> tuple[np.ndarray, np.ndarray]:
        event = rng.exponential(1.0 / rate, n)
        censor = rng.uniform(0, 60, n)
        return np.minimum(event, censor), event <= censor

    same = runs_table({"a": arm(1 / 20), "b": arm(1 / 20)})
    assert logrank(same, "exhaustion", "b", "a") > 0.01
    different = runs_table({"a": arm(1 / 20), "b": arm(1 / 10)})
    assert logrank(different, "exhaustion", "b", "a") < 1e-6


# --------------------------------------------------------------------------------------
# figures and report
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic_results() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two arms x three runs; runs stop at different (partly off-grid) days; a second
    tissue ('stem') per run; one arm never reaches exhaustion."""
    rng = np.random.default_rng(11)
    end_days = {"ctrl": [900.0, 1000.0, 1075.0], "senolytic": [2000.0, 2000.0, 2000.0]}
    n_cells = 200
    run_rows, traj_rows = [], []
    for arm, ends in end_days.items():
        for r, end in enumerate(ends):
            run_id = f"{arm}/r{r:03d}"
            exhausted = arm == "ctrl"
            run_rows.append(
                {
                    "run_id": run_id,
                    "arm": arm,
                    "replicate": r,
                    "tissue": "tissue",
                    "n_cells": n_cells,
                    "start_day": 0.0,
                    "end_day": end,
                    "horizon_day": 2000.0,
                    "exhaustion_day": end if exhausted else math.nan,
                    "failure_day": end - 30 if exhausted else math.nan,
                    "neoplasia_day": math.nan,
                    "divisions_per_cell": 30.0,
                    "cellsim_version": "test",
                }
            )
            days = np.unique(np.append(np.arange(0.0, end, 30.0), end))
            for tissue in ("tissue", "stem"):
                for day in days:
                    x = day / end
                    senescent = int(n_cells * min(1.0, x**3 + rng.uniform(0, 0.02)))
                    cycling = n_cells - senescent
                    traj_rows.append(
                        {
                            "run_id": run_id,
                            "arm": arm,
                            "replicate": r,
                            "tissue": tissue,
                            "day": day,
                            "age_years": day / DAYS_PER_YEAR,
                            "n_pluripotent": 0,
                            "n_senescent": senescent,
                            "n_empty": 0,
                            "n_cycling": cycling,
                            "n_stem": 0,
                            "n_transformed": 0,
                            "functional_fraction": cycling / n_cells,
                            "senescent_fraction": senescent / n_cells,
                            "transformed_fraction": 0.0,
                            "pool_size": cycling,
                            "telomere_p10_bp": 9000 - 4000 * x - 500,
                            "telomere_p50_bp": 9000 - 4000 * x,
                            "telomere_p90_bp": 9000 - 4000 * x + 500,
                        }
                    )
    return pd.DataFrame(run_rows), pd.DataFrame(traj_rows)


def test_standard_figures_and_report(tmp_path, synthetic_results):
    runs, traj = synthetic_results
    figures = make_standard_figures(runs, traj, tmp_path / "figs")
    assert set(figures) == set(STANDARD_FIGURES)
    for name, path in figures.items():
        assert path == tmp_path / "figs" / STANDARD_FIGURES[name]
        data = path.read_bytes()
        assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(
        STANDARD_FIGURES.values()
    )  # no temporary files left behind

    summary = summary_table(runs)
    report = write_report(
        tmp_path,
        runs,
        summary,
        figures,
        title="Synthetic",
        description="A test.",
        extra_lines=["extra line 1"],
    )
    assert report == tmp_path / "report.md"
    text = report.read_text()
    assert text.startswith("# Synthetic")
    for arm in runs["arm"].unique():
        assert arm in text
    for file_name in STANDARD_FIGURES.values():
        assert f"](figs/{file_name})" in text  # relative links
    assert "extra line 1" in text and "censored" in text
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["report.md"]


def test_survival_plot_handles_all_censored_and_empty_tables(tmp_path):
    runs = runs_table({"none": (np.array([5.0, 6.0]), np.array([False, False]))})
    assert plot_survival(runs, tmp_path / "a.png").stat().st_size > 0
    assert plot_survival(runs.iloc[:0], tmp_path / "b.png").stat().st_size > 0


def test_analysis_does_not_import_cellsim():
    code = (
        "import analysis.exhaustion, analysis.plots, analysis.report; import sys; "
        "bad = [m for m in sys.modules if m.startswith('cellsim')]; assert not bad, bad"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
