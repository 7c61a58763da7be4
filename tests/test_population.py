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
