"""cellsim/validation/karin.py: the two Karin checks' verdicts on stand-in results.

No simulation: each run's records are replaced by the equation's values (plus a small
seed-to-seed offset, so standard errors are not zero), so the checks must pass; scaled
down by 10% (the first-order step's bias at dt = 1 day), the step-size check must fail.
The real runs are in tests/test_validation.py's reduced suite.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.karin_ode import senescent_fraction
from cellsim.engine.params import DAYS_PER_YEAR
from cellsim.validation import load_config
from cellsim.validation.karin import (
    STEP_TOLERANCE,
    InsultPair,
    _weighted,
    analyse_convergence,
    convergence_params,
    convergence_runs,
    insult_params,
    insult_timing,
    karin_checks,
    karin_ode_params,
    karin_tasks,
    karin_tissue,
)


@pytest.fixture(scope="module")
def cfg():
    """The quick settings, shortened further: 3 years, 2 step sizes, 3 seeds and pairs."""
    base = load_config(quick=True)
    k = base.karin
    karin = k.model_copy(
        update={
            "convergence": k.convergence.model_copy(
                update={"dt_days": [1.0, 0.25], "seeds": 3, "horizon_years": 3.0}
            ),
            "insult": k.insult.model_copy(update={"seeds": 3}),
        }
    )
    return base.model_copy(update={"karin": karin})


def _record_days(cfg, run) -> np.ndarray:
    """A convergence run's record days: every record interval, and the horizon's step."""
    horizon, dt = run.horizon_days, run.dt_days
    days = np.arange(0.0, horizon + 1e-9, cfg.karin.convergence.record_interval_days)
    return np.append(days, math.ceil(horizon / dt - 1e-9) * dt)


def stand_in_results(cfg, scale: float = 1.0) -> dict:
    """Every task's result from the equation (times ``scale`` for the step-size runs)."""
    tissue = karin_tissue(cfg, cfg.karin.convergence.n_cells)
    p = karin_ode_params(tissue)
    results = {}
    seen: dict[str, int] = {}
    for task in karin_tasks(cfg):
        group = task.name.rsplit("/", 1)[0]
        r = seen[group] = seen.get(group, -1) + 1
        wobble = 1.0 + 1e-3 * (r % 3 - 1)
        if task.name.startswith("karin-dt/"):
            days = _record_days(cfg, task.payload.run)
            s = senescent_fraction(p, days) * scale * wobble
            results[task.name] = pd.DataFrame({"day": days, "senescent_fraction": s})
        else:
            control, insult = task.payload
            hit = insult.interventions[0]
            run = control.run
            days = np.arange(run.start_age_days, run.start_age_days + run.horizon_days + 1e-9)
            kw = {"start_day": run.start_age_days, "s0": 0.0}
            s_c = senescent_fraction(p, days, **kw)
            s_i = senescent_fraction(
                p, days, insult_day=hit.age_days, insult_fraction=hit.fraction, **kw
            )
            at = senescent_fraction(p, [hit.age_days], **kw)[0]
            n = control.tissues[0].n_cells
            # pair r's excess decays a little faster or slower (its half-life differs)
            tilt = 1.0 + 1e-3 * (r - 1) * (days - hit.age_days)
            results[task.name] = InsultPair(
                days=days,
                control=s_c,
                insult=s_c + (s_i - s_c) * wobble * tilt,
                insulted=round(n * hit.fraction * (1 - at) * wobble),
                n_cells=n,
            )
    return results


def test_the_equation_itself_passes_both_checks(cfg, tmp_path):
    checks, table, curves = karin_checks(cfg, stand_in_results(cfg), tmp_path)
    step, insult = checks
    assert step.key == "karin_step_size" and insult.key == "karin_insult_half_life"
    assert step.passed, step.simulated
    assert insult.passed, insult.simulated
    compared = table[table["compared"]]
    assert set(compared["dt_days"]) == {1.0, 0.25}
    assert compared["rel_error"].abs().max() < 2e-3
    # whole windows only: 3 years, ages 1-3 (age 1 is below the compared fraction)
    assert sorted(table["age_years"].unique()) == [1.0, 2.0, 3.0]
    assert not table.loc[table["age_years"] == 1.0, "compared"].any()
    h = curves.groupby("age_years")[["half_life_sim", "half_life_ode"]].first()
    np.testing.assert_allclose(h["half_life_sim"], h["half_life_ode"], rtol=5e-3)
    assert h["half_life_ode"].iloc[1] > h["half_life_ode"].iloc[0]
    for c in checks:
        assert (tmp_path / c.figure).is_file()


def test_a_ten_percent_bias_fails_the_step_size_check(cfg, tmp_path):
    checks, _, _ = karin_checks(cfg, stand_in_results(cfg, scale=0.9), tmp_path)
    assert not checks[0].passed
    assert "-10.0%" in checks[0].simulated
    ca = analyse_convergence(cfg, stand_in_results(cfg, scale=1 + STEP_TOLERANCE / 2))
    assert (ca.worst["rel_error"] < STEP_TOLERANCE).all()


def test_runs_are_set_up_as_the_equation_assumes(cfg):
    t = karin_tissue(cfg, 1000)
    assert t.telomere.loss_mean_bp == t.telomere.loss_sd_bp == t.telomere.initial_sd_bp == 0
    assert t.transformation.probability_per_division == 0
    assert t.clearance.saturating and t.lattice is None and t.supply_from is None
    p = karin_ode_params(t)
    assert p.age_slope_per_day_per_year == pytest.approx(0.00135)
    assert p.clearance_rate_per_day == pytest.approx(0.30)
    assert p.half_saturation_fraction == pytest.approx(0.5)
    assert p.epi_origin_day == 0.0 and p.epigenetic_slope_per_day_per_year == 0.0
    runs = convergence_runs(cfg)
    c = cfg.karin.convergence
    assert len(runs) == len(c.dt_days) * (c.seeds + c.young_seeds)
    params = convergence_params(cfg, runs[-1])
    assert (params.run.dt_days, params.run.stop_at, params.run.start_age_days) == (
        0.25,
        "horizon",
        0.0,
    )
    assert params.tissues[0].n_cells == c.young_n_cells
    young = min(c.young_years, c.horizon_years)
    assert params.run.horizon_days == pytest.approx(young * DAYS_PER_YEAR)
    timing = insult_timing(cfg, 70.0)
    assert timing.insult_day == round(70 * DAYS_PER_YEAR)
    control, insult = insult_params(cfg, timing)
    assert control.run == insult.run and not control.interventions
    assert insult.interventions[0].age_days == timing.insult_day
    assert control.run.start_age_days == timing.insult_day - cfg.karin.insult.warmup_days


def test_runs_of_unequal_size_are_weighted_by_their_cells():
    """Equal cells: the plain mean and sd / sqrt(runs); a run of 4x the cells counts 4x;
    a window covered by one run has no standard error."""
    sim = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, np.nan], "c": [5.0, np.nan]}, index=[1, 2])
    mean, se = _weighted(sim, np.array([1.0, 1.0, 1.0]))
    assert mean.tolist() == [3.0, 2.0]
    assert se.iloc[0] == pytest.approx(np.std([1.0, 3.0, 5.0], ddof=1) / math.sqrt(3))
    assert math.isnan(se.iloc[1])
    mean, _ = _weighted(sim, np.array([4.0, 1.0, 1.0]))
    assert mean.iloc[0] == pytest.approx((4 * 1 + 3 + 5) / 6)
