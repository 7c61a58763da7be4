"""Telomere syndromes and the population's answer (issue 16): a chain of generations
passing telomeres on, arms that scale a person's own value, scenarios sharing a model
(``base_from``), people sharing posterior draws and the credible intervals across them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.population import draw_fractions, person_indicators
from cellsim.config.scenario import ScenarioError, load_scenario
from cellsim.run.generations import expand, inherited_value
from cellsim.run.workflow import run_scenario

DAYS_PER_YEAR = 365.25

# One well-mixed tissue with deterministic loss and no spread: its mean telomere falls by
# exactly loss_mean_bp per division, and every cell divides once per lifespan on average.
FAMILY = """
name = "family"
seed = 7
replicates = 3
posterior = "post.parquet"

[base.run]
dt_days = 10.0
horizon_days = 3652.5
record_interval_days = 365.25

[[base.tissues]]
name = "t"
n_cells = 2000
lifespan_days = 100.0

[base.tissues.telomere]
initial_mean_bp = 9000.0
initial_sd_bp = 0.0
loss_mean_bp = 50.0
loss_sd_bp = 0.0
senescence_threshold_bp = 1000.0

[base.tissues.stress]
rate_per_day = 0.0

[population]
people_per_draw = 1

[generations]
count = 3
conception_age_years = 5.0
tissue = "t"
inherit = "t.telomere.initial_mean_bp"
germline_restoration = RESTORE

[[arms]]
name = "carrier"
scale = { "t.telomere.loss_mean_bp" = 2.0 }
"""


def _posterior(folder: Path, loss_bp: list[float]) -> None:
    pd.DataFrame(
        {"t.telomere.loss_mean_bp": loss_bp, "weight": np.full(len(loss_bp), 1.0)}
    ).to_parquet(folder / "post.parquet")


def _family(tmp_path: Path, restore: float = 0.0) -> Path:
    _posterior(tmp_path, [40.0, 60.0])
    path = tmp_path / "family.toml"
    path.write_text(FAMILY.replace("RESTORE", repr(restore)))
    return path


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("chain")
    sc = load_scenario(_family(folder))
    out = folder / "out"
    run_scenario(sc, out, workers=1, progress=False)
    return sc, pd.read_parquet(out / "runs.parquet"), pd.read_parquet(out / "trajectories.parquet")


def test_each_child_is_born_with_its_parents_telomere_at_conception(chain):
    """Generation g + 1, person r: its initial mean is exactly the mean of generation g's
    person r at the conception age, and its first record starts there (no spread)."""
    sc, runs, traj = chain
    gen = sc.generations
    assert sorted(runs["arm"].unique()) == ["carrier_gen1", "carrier_gen2", "carrier_gen3"]
    for g in (1, 2):
        for r in range(3):
            parent = traj[traj["run_id"] == f"carrier_gen{g}/r{r:03d}"]
            child = runs[runs["run_id"] == f"carrier_gen{g + 1}/r{r:03d}"].iloc[0]
            expected = inherited_value(parent, gen)
            at = parent[parent["day"] <= 5 * DAYS_PER_YEAR + 1e-6].iloc[-1]["telomere_mean_bp"]
            assert expected == pytest.approx(at)
            assert child["t.telomere.initial_mean_bp"] == pytest.approx(expected)
            first = traj[traj["run_id"] == child["run_id"]].sort_values("day").iloc[0]
            assert first["telomere_mean_bp"] == pytest.approx(expected, abs=1e-3)


def test_the_chain_loses_what_the_divisions_cost(chain):
    """With deterministic loss, the mean falls by 2 x loss per lifespan (both daughters of
    a division lose it; one division per death, deaths at 1 / lifespan): a parent read at
    its last record before the conception age (day d) passes on its birth value less
    2 x loss x d / 100 days, at twice the posterior loss (the carrier's scale), within 5%
    (about 4 SD: the mean's random walk, ~1.2% of the drop at 2000 cells)."""
    _, runs, traj = chain
    for r in range(3):
        rows = runs[runs["replicate"] == r].sort_values("arm")
        loss = float(rows["t.telomere.loss_mean_bp"].iloc[0])
        assert loss in (80.0, 120.0)  # 2 x the posterior's 40 or 60
        births = rows["t.telomere.initial_mean_bp"].to_numpy()
        assert births[0] == 9000.0
        for g in (1, 2):
            parent = traj[traj["run_id"] == f"carrier_gen{g}/r{r:03d}"]
            day = parent[parent["day"] <= 5 * DAYS_PER_YEAR + 1e-6]["day"].max()
            expected = 2 * loss * day / 100.0
            assert births[g - 1] - births[g] == pytest.approx(expected, rel=0.05)


def test_full_germline_restoration_keeps_the_lineage_where_it_started(tmp_path):
    """``germline_restoration = 1``: every generation starts at the founder's length."""
    sc = load_scenario(_family(tmp_path, restore=1.0))
    out = tmp_path / "out"
    run_scenario(sc, out, replicates=1, workers=1, progress=False)
    runs = pd.read_parquet(out / "runs.parquet")
    np.testing.assert_allclose(runs["t.telomere.initial_mean_bp"], 9000.0, atol=1e-6)


def test_expanding_twice_changes_nothing(tmp_path):
    sc = expand(load_scenario(_family(tmp_path)))
    assert [a.name for a in expand(sc).arms] == [a.name for a in sc.arms]
    assert [a.name for a in sc.arms] == ["carrier_gen1", "carrier_gen2", "carrier_gen3"]


def test_scale_multiplies_each_persons_own_draw(tmp_path):
    """The carrier's loss is twice the person's posterior draw, recorded in the row."""
    sc = load_scenario(_family(tmp_path))
    for spec in expand(sc).run_specs():
        drawn = 40.0 if spec.extra["posterior_row"] == 0 else 60.0
        assert spec.params.tissues[0].telomere.loss_mean_bp == 2 * drawn
        assert spec.extra["t.telomere.loss_mean_bp"] == 2 * drawn


def test_people_share_posterior_draws_in_groups(tmp_path):
    """``people_per_draw = m``: people r share the draw r // m, recorded as posterior_draw."""
    path = _family(tmp_path)
    path.write_text(path.read_text().replace("people_per_draw = 1", "people_per_draw = 2"))
    sc = load_scenario(path)
    specs = [s for s in sc.run_specs(6)]
    assert [s.extra["posterior_draw"] for s in specs] == [0, 0, 1, 1, 2, 2]
    rows = [s.extra["posterior_row"] for s in specs]
    assert rows[0] == rows[1] and rows[2] == rows[3] and rows[4] == rows[5]


def test_base_from_shares_a_model_and_its_posterior(tmp_path):
    """A study file takes the other scenario's base, seed, posterior and population; the
    posterior path stays right from another folder."""
    _family(tmp_path)
    study = tmp_path / "studies" / "study.toml"
    study.parent.mkdir()
    study.write_text(
        'base_from = "../family.toml"\nreplicates = 2\n\n[[arms]]\nname = "x"\n'
        'scale = { "t.lifespan_days" = 0.5 }\n'
    )
    sc = load_scenario(study)
    assert sc.seed == 7 and sc.generations is None
    assert Path(sc.posterior) == Path("../post.parquet")
    spec = sc.run_specs()[0]
    assert spec.params.tissues[0].lifespan_days == 50.0
    assert spec.params.tissues[0].telomere.loss_mean_bp in (40.0, 60.0)


@pytest.mark.parametrize(
    ("old", "new", "words"),
    [
        ('tissue = "t"', 'tissue = "nope"', ["generations.tissue", "'nope'", "not a tissue"]),
        (
            'inherit = "t.telomere.initial_mean_bp"',
            'inherit = "t.nope"',
            ["generations.inherit", "t.nope"],
        ),
        ("conception_age_years = 5.0", "conception_age_years = 50.0", ["conception_age", "50"]),
        ("count = 3", "count = 1", ["generations.count", "1"]),
        ('"t.telomere.loss_mean_bp" = 2.0', '"t.nope" = 2.0', ["arms.0.scale", "'nope'"]),
        ('"t.telomere.loss_mean_bp" = 2.0', '"t.telomere.loss_mean_bp" = -1.0', ["scale", "-1"]),
        ("people_per_draw = 1", "people_per_draw = 0", ["people_per_draw", "0"]),
    ],
)
def test_bad_generations_and_scales_are_one_line_errors(tmp_path, old, new, words):
    path = _family(tmp_path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    msg = str(err.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


def test_base_from_errors(tmp_path):
    (tmp_path / "a.toml").write_text('base_from = "missing.toml"\n')
    with pytest.raises(ScenarioError, match=r"missing\.toml.*not found"):
        load_scenario(tmp_path / "a.toml")
    (tmp_path / "b.toml").write_text('base_from = "a.toml"\n')
    with pytest.raises(ScenarioError, match="one level only"):
        load_scenario(tmp_path / "b.toml")
    (tmp_path / "c.toml").write_text("base_from = 3\n")
    with pytest.raises(ScenarioError, match="give a scenario file"):
        load_scenario(tmp_path / "c.toml")


def test_cli_bad_generation_exits_2_with_one_line(tmp_path):
    path = _family(tmp_path)
    path.write_text(path.read_text().replace('tissue = "t"', 'tissue = "nope"'))
    proc = subprocess.run(
        [sys.executable, "-m", "cellsim", "run", str(path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "generations.tissue" in proc.stderr + proc.stdout
    assert not (tmp_path / "o").exists()


def test_person_indicators_follow_censoring():
    """Reached by the age: 1; not yet (followed past the age): 0; stopped before it
    without the event: not observed."""
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "arm": ["x", "x", "x"],
            "end_day": [100 * DAYS_PER_YEAR, 100 * DAYS_PER_YEAR, 50 * DAYS_PER_YEAR],
            "failure_day": [70 * DAYS_PER_YEAR, np.nan, np.nan],
        }
    )
    ind = person_indicators(runs, [60.0, 80.0], ("failure",))
    got = ind.pivot(index="run_id", columns="age_years", values="reached")
    assert got.loc["a"].tolist() == [0.0, 1.0]
    assert got.loc["b"].tolist() == [0.0, 0.0]
    assert got.loc["c", 60.0] != got.loc["c", 60.0]  # NaN: not followed to 60
    assert got.loc["c", 80.0] != got.loc["c", 80.0]


def test_draw_fractions_recover_the_spread_of_the_parameters():
    """200 draws with fractions p_k uniform on [0.2, 0.4], 4000 people each: the 90%
    interval across draws is the uniform's [0.21, 0.39] within 0.01, and the fraction over
    everyone its mean 0.3 within 0.005 (sampling noise ~0.007 per draw)."""
    rng = np.random.default_rng(3)
    p = rng.uniform(0.2, 0.4, 200)
    people = 4000
    draw = np.repeat(np.arange(200), people)
    reached = (rng.random(draw.size) < p[draw]).astype(float)
    ids = np.arange(draw.size).astype(str)
    ind = pd.DataFrame(
        {"arm": "x", "run_id": ids, "outcome": "o", "age_years": 80.0, "reached": reached}
    )
    table = draw_fractions(ind, pd.DataFrame({"run_id": ids, "posterior_draw": draw}), 0.9)
    row = table.iloc[0]
    assert row["n_draws"] == 200 and row["n_people"] == draw.size
    assert row["fraction"] == pytest.approx(0.3, abs=0.005)
    assert row["ci_low"] == pytest.approx(0.21, abs=0.01)
    assert row["ci_high"] == pytest.approx(0.39, abs=0.01)


def test_a_posterior_row_that_a_scale_pushes_out_of_range_is_refused(tmp_path):
    """A factor valid on the base value (0.3 x 2) but not on a posterior row (0.8 x 2 > 1):
    one line at load, naming the row."""
    path = _family(tmp_path)
    pd.DataFrame({"t.telomere.telomerase_stem": [0.4, 0.8], "weight": [1.0, 1.0]}).to_parquet(
        tmp_path / "post.parquet"
    )
    text = path.read_text()
    text = text.replace('"t.telomere.loss_mean_bp" = 2.0', '"t.telomere.telomerase_stem" = 2.0')
    text = text.replace(
        "initial_mean_bp = 9000.0", "initial_mean_bp = 9000.0\ntelomerase_stem = 0.3"
    )
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    msg = str(err.value)
    assert "\n" not in msg and "row 1" in msg and "telomerase_stem" in msg
