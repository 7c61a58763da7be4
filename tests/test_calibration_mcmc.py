"""`cellsim calibrate` with [mcmc]: MCMC (emcee) on a likelihood of the summary statistics
(cellsim/run/calibration_mcmc.py), on the hierarchy's mean field at small sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cellsim.config.calibration import CalibrationError, load_calibration
from cellsim.run.calibration import CohortSimulator, run_calibration
from cellsim.run.calibration_mcmc import PercentileLikelihood, log_prior, posterior_from_chain

from .test_blood_population import HIERARCHY

pytest.importorskip("emcee")

CALIBRATION = """
name = "mcmc"
seed = 5
simulator = "hierarchy_meanfield"
scenario = "h.toml"

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
age_bins_years = [0, 5, 10, 20, 31]
statistics = ["p10", "median", "p90"]

[mcmc]
walkers = 8
steps = 240
burn_in_steps = 80
thin = 4
checkpoint_steps = 60
start = { "hsc.telomere.telomerase_stem" = 0.7 }
people_per_person = 20
bootstrap_resamples = 200
posterior_predictive_draws = 10

[parameters]
"hsc.telomere.telomerase_stem" = { low = 0.5, high = 0.95 }
"cohort.between_person_sd_bp" = { low = 300, high = 1200 }
"""

TRUTH = {"hsc.telomere.telomerase_stem": 0.77, "cohort.between_person_sd_bp": 700.0}
SPREAD = {**TRUTH, "cohort.between_person_sd_bp": float(np.hypot(700.0, 150.0))}


def _study(folder: Path, text: str = CALIBRATION) -> Path:
    """The calibration in ``folder`` with data simulated at ``TRUTH`` (1200 people aged
    0-30: the model's curves plus each person's offset, one draw, plus a measurement error
    of SD 150 bp on each cell type: the people's spread is then sqrt(700^2 + 150^2) = 716
    bp, ``SPREAD``)."""
    (folder / "h.toml").write_text(HIERARCHY)
    ages = np.linspace(0.0, 30.0, 1200)
    pd.DataFrame({"age_years": ages, "gran_kb": 10.0, "lymph_kb": 10.0}).to_csv(
        folder / "data.csv", index=False
    )
    (folder / "cal.toml").write_text(text)
    plan = load_calibration(folder / "cal.toml")
    people = CohortSimulator(plan).people(TRUTH)
    people = (people + np.random.default_rng(8).normal(0.0, 150.0, people.shape)) / 1000.0
    pd.DataFrame({"age_years": ages, "gran_kb": people[:, 0], "lymph_kb": people[:, 1]}).to_csv(
        folder / "data.csv", index=False
    )
    return folder / "cal.toml"


def test_likelihood_peaks_near_the_truth_and_its_errors_are_the_bootstrap_sds(tmp_path):
    """At the truth the statistics' misfits are about one standard error each (sum of
    squares near the number of statistics: within 4 SDs of chi-square); a telomerase 0.05
    off costs far more (the telomeres at 30 differ by ~0.3 kb)."""
    like = PercentileLikelihood(load_calibration(_study(tmp_path)))
    n = like.observed.size
    assert n == 2 * 4 * 3
    at_truth = -2.0 * like.log_likelihood(SPREAD)
    assert abs(at_truth - n) < 4.0 * np.sqrt(2.0 * n)
    off = {**SPREAD, "hsc.telomere.telomerase_stem": 0.72}
    assert -2.0 * like.log_likelihood(off) > at_truth + 50.0
    # the bootstrap SE of a median of n people of spread ~0.7 kb: ~1.25 x 700 / sqrt(n)
    _j, mask = like.cells[0]
    assert like.se[0, 1] == pytest.approx(1.2533 * 716.0 / np.sqrt(mask.sum()), rel=0.35)


def test_mcmc_recovers_the_truth_writes_a_posterior_and_resumes_exactly(tmp_path):
    """A short chain (8 walkers x 240 steps) concentrates (posterior SD under 5% of the
    prior's width) around the truth (the people's spread for the between-person SD):
    within 4 posterior SDs of the median (the maximum-likelihood estimate scatters by ~1
    SD over data sets: 6 tried, 2026-12-04); the posterior has the columns
    the scenarios read; a run stopped after 120 steps and continued to 240, both on two
    worker processes, gives the same chain as one of 240 in one process."""
    path = _study(tmp_path)
    plan = load_calibration(path)
    run_calibration(plan, tmp_path / "out", workers=1)
    post = pd.read_parquet(tmp_path / "out" / "posterior.parquet")
    assert list(post.columns) == [*plan.study.parameters, "weight"]
    assert len(post) == (240 - 80) // 4 * 8
    assert post["weight"].sum() == pytest.approx(1.0)
    width = {"hsc.telomere.telomerase_stem": 0.45, "cohort.between_person_sd_bp": 900.0}
    for name, truth in SPREAD.items():
        sd = float(post[name].std())
        assert abs(float(post[name].median()) - truth) < 4.0 * sd, name
        assert sd < 0.05 * width[name], name  # concentrated: the prior is 20+ SDs wide
    for name in ("report.md", "diagnostics.csv", "predictive.csv", "figures/trace.png"):
        assert (tmp_path / "out" / name).is_file(), name
    assert "MCMC (emcee" in (tmp_path / "out" / "report.md").read_text()

    again = tmp_path / "resume"
    again.mkdir()
    half = CALIBRATION.replace("steps = 240", "steps = 120")
    run_calibration(load_calibration(_study(again, half)), again / "out", workers=2)
    (again / "cal.toml").write_text(CALIBRATION)  # more steps: the chain continues
    run_calibration(load_calibration(again / "cal.toml"), again / "out", workers=2)
    with (
        np.load(tmp_path / "out" / "chain.npz") as whole,
        np.load(again / "out" / "chain.npz") as resumed,
    ):
        assert np.array_equal(whole["chain"], resumed["chain"])
        assert np.array_equal(whole["log_prob"], resumed["log_prob"])


def test_posterior_from_chain_keeps_every_thin_th_step_after_burn_in():
    chain = np.arange(10 * 3 * 2, dtype=float).reshape(10, 3, 2)
    post = posterior_from_chain(chain, ["a", "b"], burn_in_steps=4, thin=3)
    assert len(post) == 2 * 3  # steps 4 and 7, 3 walkers each
    assert post["a"].tolist() == chain[[4, 7], :, 0].ravel().tolist()


def test_log_prior_of_each_distribution():
    from cellsim.config.distributions import Distribution

    log_u = Distribution(distribution="loguniform", low=1.0, high=100.0)
    assert log_prior(log_u, 10.0) == pytest.approx(-np.log(10.0))
    assert log_prior(log_u, 0.5) == -np.inf
    normal = Distribution(distribution="normal", mean=1.0, sd=2.0)
    assert log_prior(normal, 3.0) == pytest.approx(-0.5)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda t: t.replace("[mcmc]", "[abc]\npopulation_size = 20\n\n[mcmc]"), "not both"),
        (lambda t: t.replace('"hierarchy_meanfield"', '"agent"'), "hierarchy_meanfield"),
        (lambda t: t.replace("walkers = 8", "walkers = 3"), "walkers"),
        (lambda t: t.replace("= 0.7 }", "= 0.99 }"), "outside its prior"),
        (lambda t: t.replace("burn_in_steps = 80", "burn_in_steps = 240"), "burn_in_steps"),
        (lambda t: t.replace('start = { "hsc', 'start = { "x'), "not a calibrated parameter"),
    ],
)
def test_bad_mcmc_settings_name_the_field(tmp_path, edit, words):
    (tmp_path / "h.toml").write_text(HIERARCHY)
    pd.DataFrame({"age_years": np.linspace(0, 30, 50), "gran_kb": 10.0, "lymph_kb": 10.0}).to_csv(
        tmp_path / "data.csv", index=False
    )
    (tmp_path / "cal.toml").write_text(edit(CALIBRATION))
    with pytest.raises(CalibrationError, match=words):
        load_calibration(tmp_path / "cal.toml")
