"""The blood population's machinery (issue 16): person offsets around a posterior draw,
the report of several tissues and another tissue's events, calibration to several
observables with the hierarchy's mean field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.calibration import bootstrap_quantile_ci, predictive_bands, series_summaries
from cellsim.config.calibration import load_calibration
from cellsim.config.scenario import load_scenario
from cellsim.engine.params import with_overrides
from cellsim.run.calibration import CohortSimulator, hierarchy_meanfield_curves

BASE = """
name = "people"
seed = 4
replicates = 300
posterior = "post.parquet"

[base.run]
horizon_days = 30.0
record_interval_days = 10.0

[[base.tissues]]
name = "t"
n_cells = 100

[population.offsets]
"t.telomere.initial_mean_bp" = { sd_from_posterior = "cohort.between_person_sd_bp" }

[[arms]]
name = "control"

[[arms]]
name = "other"
set = { "t.lifespan_days" = 50.0 }
"""


def _posterior(folder: Path, means: list[float], sds: list[float]) -> None:
    pd.DataFrame(
        {
            "t.telomere.initial_mean_bp": means,
            "cohort.between_person_sd_bp": sds,
            "weight": np.full(len(means), 1.0 / len(means)),
        }
    ).to_parquet(folder / "post.parquet")


def test_a_persons_offset_adds_to_their_posterior_draw_with_the_rows_sd(tmp_path):
    """Person r: the posterior row's mean plus (that row's SD) x z_r, z_r standard normal
    (KS at a fixed seed), the same person in every arm."""
    _posterior(tmp_path, [9000.0, 11000.0], [100.0, 1000.0])
    (tmp_path / "s.toml").write_text(BASE)
    sc = load_scenario(tmp_path / "s.toml")
    specs = sc.run_specs()
    control = [s for s in specs if s.arm == "control"]
    other = [s for s in specs if s.arm == "other"]
    z = []
    for s in control:
        row = s.extra["posterior_row"]
        mean, sd = (9000.0, 100.0) if row == 0 else (11000.0, 1000.0)
        z.append((s.params.tissues[0].telomere.initial_mean_bp - mean) / sd)
    assert stats.kstest(z, "norm").pvalue > 0.01
    for a, b in zip(control, other, strict=True):
        assert a.params.tissues[0].telomere == b.params.tissues[0].telomere
        assert b.params.tissues[0].lifespan_days == 50.0


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (("sd_from_posterior = \"cohort.between_person_sd_bp\"", 'sd_from_posterior = "nope"'),
         ["sd_from_posterior", "'nope'", "not a column"]),
        (('"t.telomere.initial_mean_bp" = {', '"t.nope" = {'), ["population.offsets", "t.nope"]),
        (("sd_from_posterior = \"cohort.between_person_sd_bp\"",
          "sd = 1, sd_from_posterior = \"x\""), ["sd or sd_from_posterior"]),
    ],
)  # fmt: skip
def test_bad_offsets_one_line_exit_2(cli, tmp_path, edit, words):
    _posterior(tmp_path, [9000.0], [100.0])
    (tmp_path / "s.toml").write_text(BASE.replace(*edit))
    res = cli("validate", str(tmp_path / "s.toml"))
    assert res.returncode == 2, res.stderr
    line = res.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    for w in words:
        assert w in line, (w, line)


def test_report_of_several_tissues_and_the_stem_compartments_events(tmp_path):
    """[population.report] with tissue = [...] and event_tissue: population.csv has one
    block per tissue; the events are those of the named tissue."""
    from cellsim.run.workflow import run_scenario

    text = """
name = "blood"
seed = 3
replicates = 4

[base]
run = { horizon_days = 1461.0, record_interval_days = 365.25, stop_at = "horizon" }

[[base.tissues]]
name = "hsc"
kind = "stem"
n_cells = 50
lifespan_days = 1e9
stem_divisions = { interval_days = 280.0 }

[[base.tissues]]
name = "gran"
n_cells = 30
lifespan_days = 6.6
supply_from = "hsc"
supply_share = 1.0
amplification_divisions = 4
initial_from_supply = true

[population.parameters]
"hsc.telomere.initial_mean_bp" = { distribution = "normal", mean = 9500, sd = 700 }

[population.report]
tissue = ["gran", "hsc"]
event_tissue = "hsc"
ages_years = [1, 4]
event_ages_years = [4]

[[arms]]
name = "control"
"""
    (tmp_path / "s.toml").write_text(text)
    out = tmp_path / "out"
    run_scenario(load_scenario(tmp_path / "s.toml"), out, workers=1)
    pop = pd.read_csv(out / "population.csv")
    assert sorted(set(pop["tissue"])) == ["gran", "hsc"]
    gran = pop[pop["tissue"] == "gran"].set_index("age_years")
    hsc = pop[pop["tissue"] == "hsc"].set_index("age_years")
    # granulocytes carry their HSCs' telomeres less 1 + 4 divisions (~23 + 4 x 100 bp)
    assert (hsc["p50"] - gran["p50"]).between(300, 550).all()
    events = pd.read_csv(out / "population_events.csv")
    assert set(events["event"]) == {"hsc.exhaustion", "hsc.failure"}
    assert "| control | gran |" in (out / "report.md").read_text()


def test_series_summaries_prefix_each_observable_and_skip_missing_values():
    ages = np.array([1.0, 2.0, 3.0, 4.0])
    values = np.array([[1.0, 10.0], [2.0, np.nan], [3.0, 30.0], [4.0, 40.0]])
    got = series_summaries(ages, values, ["a", "b"], [0, 5], ["median"])
    assert got == {"a:median_0_5": 2.5, "b:median_0_5": 30.0}
    one = series_summaries(ages, values[:, :1], ["a"], [0, 5], ["median"])
    assert one == {"median_0_5": 2.5}


def test_bootstrap_interval_of_a_quantile_covers_it_at_its_level():
    """Over 200 normal samples of 80 (fixed seed), the 95% interval of the median covers
    the true median in 88-99% of them (binomial spread around the bootstrap's coverage)."""
    rng = np.random.default_rng(12)
    hits = [
        lo <= 0.0 <= hi
        for lo, hi in (
            bootstrap_quantile_ci(rng.normal(size=80), 0.5, n_boot=400, seed=k) for k in range(200)
        )
    ]
    assert 0.88 <= np.mean(hits) <= 0.99
    data = rng.normal(size=80)
    same = predictive_bands(np.arange(80.0), [data], [0, 40, 80], data, ["x"], n_boot=200)
    assert list(same["within_ci"]) == [True, True]  # the data's own percentiles
    off = predictive_bands(np.arange(80.0), [data + 2], [0, 40, 80], data, ["x"], n_boot=200)
    assert list(off["within_ci"]) == [False, False]  # shifted by 2 SD


def test_percentile_misses_of_a_right_model_follow_the_binomial():
    """A model equal to the truth: 30 data sets of 12 bins x 80 people drawn from a
    standard normal (fixed seed), the model's percentiles the normal's own. They miss the
    data's 95% intervals in 5-12% of comparisons (measured 8.9%: the percentile bootstrap
    undercovers the 10th and 90th percentiles of 80 people), and the reported chance of at
    least that many misses is the binomial tail at the nominal level."""
    from scipy.stats import binom, norm

    from analysis.calibration import percentile_misses

    rng = np.random.default_rng(5)
    ages = np.repeat(np.arange(12.0), 80)
    rates = []
    for k in range(30):
        data = rng.normal(size=len(ages))
        b = predictive_bands(ages, [data], list(range(13)), data, ["x"], n_boot=200, seed=k)
        for q, x in (("p10", norm.ppf(0.1)), ("p50", 0.0), ("p90", norm.ppf(0.9))):
            b[f"sim_{q}"] = x
        misses, n, p = percentile_misses(b)
        assert n == 36
        assert p == pytest.approx(binom.sf(misses - 1, 36, 0.05))
        rates.append(misses / n)
    assert 0.05 <= np.mean(rates) <= 0.12
    none_missed = predictive_bands(ages, [data], list(range(13)), data, ["x"], n_boot=200)
    assert percentile_misses(none_missed)[::2] == (0, 1.0)


CALIBRATION = """
name = "two"
seed = 3
simulator = "hierarchy_meanfield"

[data]
file = "data.csv"
value_to_bp = 1000.0

[[observables]]
tissue = "gran"
value_column = "gran_kb"

[[observables]]
tissue = "lymph"
value_column = "lymph_kb"

[summary]
age_bins_years = [0, 10, 20, 31]
statistics = ["median", "p90"]

[parameters]
"hsc.telomere.telomerase_stem" = { low = 0.6, high = 0.9 }
"cohort.between_person_sd_bp" = { low = 300, high = 900 }
"""


HIERARCHY = """
name = "h"
[base.run]
horizon_days = 10957.5
record_interval_days = 365.25
stop_at = "horizon"

[[base.tissues]]
name = "hsc"
kind = "stem"
n_cells = 200
lifespan_days = 1e9
stem_divisions = { interval_days = 280.0, childhood_factor = 10.0 }
telomere = { initial_mean_bp = 11000.0, telomerase_stem = 0.77, senescence_threshold_bp = 2000.0 }
stress = { rate_per_day = 0.0, epigenetic_slope_per_day_per_year = 0.0 }
transformation = { probability_per_division = 0.0 }

[[base.tissues]]
name = "gran"
n_cells = 50
lifespan_days = 6.6
supply_from = "hsc"
supply_share = 1.0
amplification_divisions = 6
initial_from_supply = true
telomere = { initial_mean_bp = 11000.0, loss_mean_bp = 50.0, senescence_threshold_bp = 2000.0 }
stress = { rate_per_day = 0.0, epigenetic_slope_per_day_per_year = 0.0 }
transformation = { probability_per_division = 0.0 }

[[base.tissues]]
name = "lymph"
n_cells = 50
lifespan_days = 200.0
supply_from = "hsc"
supply_share = 0.5
amplification_divisions = 3
initial_from_supply = true
telomere = { initial_mean_bp = 11000.0, loss_mean_bp = 50.0, senescence_threshold_bp = 2000.0 }
stress = { rate_per_day = 0.0, epigenetic_slope_per_day_per_year = 0.0 }
transformation = { probability_per_division = 0.0 }
"""


def _two_observable_study(tmp_path: Path):
    (tmp_path / "h.toml").write_text(HIERARCHY)
    ages = np.arange(0.0, 30.0, 0.25)
    data = pd.DataFrame({"age_years": ages, "gran_kb": 10.0, "lymph_kb": 10.0})
    data.loc[::7, "lymph_kb"] = np.nan  # some people without a lymphocyte value
    data.to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "cal.toml").write_text(
        CALIBRATION.replace("[data]", 'scenario = "h.toml"\n\n[data]')
    )
    return load_calibration(tmp_path / "cal.toml")


def test_two_observables_share_each_persons_offset_and_use_the_mean_field(tmp_path):
    plan = _two_observable_study(tmp_path)
    assert plan.tissues == ["gran", "lymph"] and plan.values_bp.shape[1] == 2
    assert len(plan.observed) == 2 * 3 * 2  # observables x bins x statistics
    sim = CohortSimulator(plan)
    pars = {"hsc.telomere.telomerase_stem": 0.77, "cohort.between_person_sd_bp": 500.0}
    people = sim.people(pars)
    assert np.isnan(people[::7, 1]).all() and np.isfinite(people[:, 0]).all()
    # one offset per person: the difference between cell types is the curves' difference
    curves = hierarchy_meanfield_curves(sim.base)
    ages = plan.ages_years
    diff = np.interp(ages, *curves["gran"]) - np.interp(ages, *curves["lymph"])
    ok = np.isfinite(people[:, 1])
    assert np.allclose(people[ok, 0] - people[ok, 1], diff[ok])
    stats_ = sim(pars)
    assert set(stats_) == set(plan.observed)


def test_hierarchy_meanfield_refuses_a_model_without_a_clock(tmp_path):
    from cellsim.config.calibration import CalibrationError
    from cellsim.run.calibration import check_hierarchy_meanfield

    plan = _two_observable_study(tmp_path)
    check_hierarchy_meanfield(plan)  # the good one passes
    plan.base.tissues[0].stem_divisions = None
    with pytest.raises(CalibrationError, match="exactly one stem compartment"):
        check_hierarchy_meanfield(plan)


def test_a_persons_birth_offset_is_carried_as_the_model_carries_it(tmp_path):
    """Each simulated person's value is the curve plus their birth offset times the
    model's response to the birth length: 1 at every age without length-dependent loss;
    with it, the response at 30 equals the gap the engine keeps between two people born
    1 kb apart (same seed; within 0.06: 60 bp of 1 kb, as the mean-field tests)."""
    plan = _two_observable_study(tmp_path)
    pars = {"hsc.telomere.telomerase_stem": 0.77, "cohort.between_person_sd_bp": 500.0}
    flat = CohortSimulator(plan).responses(pars)
    assert flat is not None
    for _, r in flat:
        np.testing.assert_allclose(r, 1.0, atol=1e-9)
    slope = {"hsc.telomere.loss_length_slope": 0.02, "gran.telomere.loss_length_slope": 0.02}
    sim = CohortSimulator(plan)
    sim.base = with_overrides(sim.base, slope)
    responses = sim.responses(pars)
    assert responses is not None
    from cellsim.engine.model import AgingModel

    params = with_overrides(sim.base, {"hsc.telomere.telomerase_stem": 0.77})
    born_later = with_overrides(params, {"hsc.telomere.initial_mean_bp": 12000.0})
    gap = None
    for p in (params, born_later):
        tr = AgingModel(p, rng=31).run().trajectories()
        g = tr[tr["tissue"] == "gran"].sort_values("age_years")["telomere_mean_bp"]
        gap = float(g.iloc[-1]) if gap is None else float(g.iloc[-1]) - gap
    ages, r = responses[0]  # gran
    assert gap / 1000.0 == pytest.approx(float(np.interp(30.0, ages, r)), abs=0.06)
    assert float(np.interp(30.0, ages, r)) < 0.85  # and it is not 1: the people converge
