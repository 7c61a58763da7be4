"""People differ: a scenario's person-level parameter distributions (issue 16)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from cellsim.config.scenario import load_scenario

SCENARIO = """
name = "people"
seed = 9
replicates = 400

[base.run]
horizon_days = 30.0
record_interval_days = 10.0

[[base.tissues]]
name = "t"
n_cells = 2000

[base.tissues.telomere]
initial_sd_bp = 300.0

[population.parameters]
"t.telomere.initial_mean_bp" = { distribution = "normal", mean = 9500, sd = 700 }
"t.lifespan_days" = { distribution = "loguniform", low = 50, high = 200 }

[[arms]]
name = "control"

[[arms]]
name = "faster"
set = { "t.telomere.loss_mean_bp" = 150.0 }
"""


def test_each_person_draws_their_own_values_the_same_in_every_arm(tmp_path):
    (tmp_path / "s.toml").write_text(SCENARIO)
    sc = load_scenario(tmp_path / "s.toml")
    specs = sc.run_specs()
    control = [s for s in specs if s.arm == "control"]
    faster = [s for s in specs if s.arm == "faster"]
    t0 = np.array([s.params.tissues[0].telomere.initial_mean_bp for s in control])
    life = np.array([s.params.tissues[0].lifespan_days for s in control])
    # the drawn values follow the named laws (fixed seed; KS against the distributions)
    assert stats.kstest(t0, stats.norm(9500, 700).cdf).pvalue > 0.01
    assert stats.kstest(np.log(life), stats.uniform(np.log(50), np.log(4)).cdf).pvalue > 0.01
    assert len(set(t0)) == len(t0)  # every person their own
    # person r is the same person in every arm, and the arm's own settings still apply
    assert [s.extra for s in control] == [s.extra for s in faster]
    assert all(s.params.tissues[0].telomere.loss_mean_bp == 150.0 for s in faster)
    assert control[7].extra["t.telomere.initial_mean_bp"] == t0[7]
    assert load_scenario(tmp_path / "s.toml").run_specs()[3].extra == specs[3].extra


def test_a_run_starts_from_each_persons_own_telomere(tmp_path):
    from cellsim.run.single import run_one

    (tmp_path / "s.toml").write_text(SCENARIO.replace("replicates = 400", "replicates = 4"))
    sc = load_scenario(tmp_path / "s.toml")
    for spec in sc.run_specs()[:4]:
        result = run_one(spec)
        first = result.trajectories.iloc[0]
        drawn = spec.extra["t.telomere.initial_mean_bp"]
        # founders ~ Normal(drawn, 300): the tissue's mean is within 4 SE of the draw
        assert first["telomere_mean_bp"] == pytest.approx(drawn, abs=4 * 300 / 2000**0.5)
        assert result.row["t.telomere.initial_mean_bp"] == drawn


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (('"t.lifespan_days" =', '"t.nope" ='), ["population.parameters", "t.nope"]),
        (("low = 50, high = 200", "low = -50, high = 200"), ["population.parameters", "lifespan"]),
        (('distribution = "normal", mean = 9500, sd = 700', "mean = 9500"), ["low and high"]),
    ],
)
def test_bad_population_one_line_exit_2(cli, tmp_path, edit, words):
    old, new = edit
    assert old in SCENARIO
    (tmp_path / "bad.toml").write_text(SCENARIO.replace(old, new, 1))
    res = cli("validate", str(tmp_path / "bad.toml"))
    assert res.returncode == 2, res.stdout
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


def test_population_and_posterior_may_not_set_the_same_parameter(tmp_path, cli):
    pd.DataFrame({"t.lifespan_days": [60.0], "weight": [1.0]}).to_parquet(tmp_path / "p.parquet")
    text = SCENARIO.replace('name = "people"', 'name = "people"\nposterior = "p.parquet"')
    (tmp_path / "s.toml").write_text(text)
    res = cli("validate", str(tmp_path / "s.toml"))
    assert res.returncode == 2 and "both in the posterior" in res.stderr


# --------------------------------------------------------------------------------------
# the population's report (analysis/population.py)
# --------------------------------------------------------------------------------------


def _tables():
    y = 365.25
    runs = pd.DataFrame(
        {
            "run_id": [f"a/r{i}" for i in range(4)] + ["b/r0"],
            "arm": ["a"] * 4 + ["b"],
            "tissue": "t",
            "end_day": [100 * y, 100 * y, 50 * y, 100 * y, 100 * y],
            "exhaustion_day": [60 * y, np.nan, np.nan, 90 * y, np.nan],
            "failure_day": np.nan,
        }
    )
    rows = []
    for i, run_id in enumerate(runs["run_id"]):
        end = runs["end_day"].iloc[i]
        for day in np.arange(0, end + 1, 10 * y):
            rows.append(
                {
                    "run_id": run_id,
                    "tissue": "t",
                    "day": day,
                    "tel": 10_000 - i * 1000 - day / y * 50,
                }
            )
    return runs, pd.DataFrame(rows)


def test_population_percentiles_fractions_below_and_events_by_age():
    from analysis.population import event_fractions, population_by_age, values_at_ages

    runs, traj = _tables()
    values = values_at_ages(runs, traj, "tel", [20.0, 55.0, 80.0])
    got = values.set_index(["run_id", "age_years"])["value"]
    assert got[("a/r1", 20.0)] == 10_000 - 1000 - 20 * 50
    assert got[("a/r1", 55.0)] == 10_000 - 1000 - 50 * 50  # the last record at or before 55
    assert np.isnan(got[("a/r2", 80.0)])  # ended at 50: not observed at 80
    by_age = population_by_age(values, below=6000.0).set_index(["arm", "age_years"])
    a20 = by_age.loc[("a", 20.0)]
    assert a20["n_people"] == 4 and a20["p50"] == pytest.approx(np.median([9000, 8000, 7000, 6000]))
    assert a20["fraction_below"] == 0.0  # 6000 is not below 6000
    a80 = by_age.loc[("a", 80.0)]
    assert a80["n_people"] == 3 and a80["fraction_below"] == pytest.approx(2 / 3)
    assert a80["fraction_below_ci_low"] < 2 / 3 < a80["fraction_below_ci_high"]
    ev = event_fractions(runs, [50.0, 70.0, 95.0, 120.0]).set_index(["arm", "age_years"])
    # arm a: exhaustion at 60 and 90, one censored at 50, two followed to 100 (KM)
    assert ev.loc[("a", 50.0), "fraction"] == 0.0
    assert ev.loc[("a", 70.0), "fraction"] == pytest.approx(1 / 3)  # 1 of 3 at risk at 60
    assert ev.loc[("a", 95.0), "fraction"] == pytest.approx(1 - (2 / 3) * (1 / 2))
    assert np.isnan(ev.loc[("a", 120.0), "fraction"])  # past the last follow-up
    assert ev.loc[("b", 95.0), "fraction"] == 0.0


def test_a_population_scenario_reports_its_people(tmp_path):
    text = SCENARIO.replace("replicates = 400", "replicates = 6").replace(
        "horizon_days = 30.0", "horizon_days = 730.5"
    )
    text += """
[population.report]
column = "telomere_mean_bp"
ages_years = [0, 1, 2]
below = 9500
event_ages_years = [1, 2]
"""
    (tmp_path / "s.toml").write_text(text)
    from cellsim.config.scenario import load_scenario
    from cellsim.run.workflow import run_scenario

    out = tmp_path / "out"
    run_scenario(load_scenario(tmp_path / "s.toml"), out, workers=1)
    pop = pd.read_csv(out / "population.csv")
    assert len(pop) == 2 * 3 and (pop["n_people"] == 6).all()
    at0 = pop[pop["age_years"] == 0].iloc[0]
    runs = pd.read_parquet(out / "runs.parquet")
    drawn = runs[runs["arm"] == "control"]["t.telomere.initial_mean_bp"].to_numpy()
    # at age 0 the people's tissues hold their own draws (within the founders' sampling)
    assert at0["p50"] == pytest.approx(np.median(drawn), abs=4 * 300 / 2000**0.5)
    assert at0["fraction_below"] == pytest.approx(np.mean(drawn < 9500), abs=1 / 6 + 1e-9)
    events = pd.read_csv(out / "population_events.csv")
    assert set(events["event"]) == {"exhaustion", "failure"}
    assert "The population (replicates are people)" in (out / "report.md").read_text()
