"""analysis/karin_ode.py: the continuous-time senescent fraction against closed forms.

With a constant stress hazard sigma and constant clearance r0 (not saturating) the equation
is linear: s(t) = s* + (s0 - s*) exp(-(sigma + r0) t), s* = sigma / (sigma + r0), and an
insult's excess decays as exp(-(sigma + r0) t), so its half-life is ln 2 / (sigma + r0).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis.karin_ode import (
    KarinParams,
    half_life_days,
    insult_excess,
    insult_half_life_days,
    senescent_fraction,
)

YEAR = 365.25
SIGMA, R0 = 0.01, 0.3


def linear(**kw) -> KarinParams:
    """Constant stress ``SIGMA`` and constant clearance ``R0`` (per day)."""
    return KarinParams(stress_rate_per_day=SIGMA, clearance_rate_per_day=R0, saturating=False, **kw)


def test_constant_rates_approach_the_steady_state_exponentially():
    days = np.linspace(0.0, 60.0, 61)
    rate, star = SIGMA + R0, SIGMA / (SIGMA + R0)
    for s0 in (0.0, 0.2, 0.9):
        s = senescent_fraction(linear(), days, s0=s0)
        np.testing.assert_allclose(s, star + (s0 - star) * np.exp(-rate * days), atol=1e-10)
    # the same from a later start
    s = senescent_fraction(linear(), 1000.0 + days, start_day=1000.0, s0=0.0)
    np.testing.assert_allclose(s, star * (1 - np.exp(-rate * days)), atol=1e-10)


def test_saturating_clearance_settles_where_production_equals_removal():
    """sigma (1 - s) = r0 s / (1 + s/K): a quadratic in s."""
    p = KarinParams(
        stress_rate_per_day=0.05, clearance_rate_per_day=R0, half_saturation_fraction=0.5
    )
    a, k = p.stress_rate_per_day, p.half_saturation_fraction
    # a (1 - s)(1 + s/K) = r0 s  ->  (a/K) s^2 + (r0 + a - a/K) s - a = 0
    qa, qb, qc = a / k, R0 + a - a / k, -a
    star = (-qb + math.sqrt(qb * qb - 4 * qa * qc)) / (2 * qa)
    s = senescent_fraction(p, [0.0, 2000.0])
    assert s[0] == 0.0
    assert s[1] == pytest.approx(star, rel=1e-9)
    assert p.ds_dt(0.0, star) == pytest.approx(0.0, abs=1e-15)


def test_insult_excess_decays_at_sigma_plus_r0():
    a0, f = 400.0, 0.3
    rel = np.linspace(0.0, 20.0, 41)
    ex = insult_excess(linear(), a0, f, rel)
    s_control = senescent_fraction(linear(), [a0])[0]
    e0 = f * (1 - s_control)
    np.testing.assert_allclose(ex["day"], a0 + rel)
    np.testing.assert_allclose(ex["excess"], e0 * np.exp(-(SIGMA + R0) * rel), atol=1e-10)
    assert ex["insult"].iloc[0] == pytest.approx(s_control + e0, abs=1e-12)


def test_half_life_of_the_linear_model_is_ln2_over_sigma_plus_r0():
    expected = math.log(2) / (SIGMA + R0)
    assert insult_half_life_days(linear(), 400.0, 0.3) == pytest.approx(expected, rel=1e-8)
    # from the excess on a daily grid: log-linear interpolation is exact for an exponential
    ex = insult_excess(linear(), 400.0, 0.3, np.arange(0.0, 15.0))
    assert half_life_days(ex["days_after"], ex["excess"]) == pytest.approx(expected, rel=1e-8)


def test_half_life_interpolates_log_linearly_and_reports_nan_when_not_reached():
    t = np.arange(0.0, 10.0)
    assert half_life_days(t, 5.0 * np.exp(-0.2 * t)) == pytest.approx(math.log(2) / 0.2)
    assert half_life_days(t, 0.2 * np.exp(-0.7 * t), level=1 / math.e) == pytest.approx(1 / 0.7)
    assert math.isnan(half_life_days(t, np.ones_like(t)))
    assert math.isnan(half_life_days(t, np.zeros_like(t)))
    # a fall to 0 between two points: linear interpolation there
    assert half_life_days([0.0, 1.0, 2.0], [1.0, 0.8, 0.0]) == pytest.approx(1.0 + 0.3 / 0.8)


def test_saturation_and_rising_production_lengthen_the_half_life():
    """Saturating removal: a larger insult (a larger burden) is cleared more slowly; the
    linear model's half-life does not depend on the insult."""
    sat = KarinParams(stress_rate_per_day=SIGMA, clearance_rate_per_day=R0)
    small, large = (insult_half_life_days(sat, 400.0, f) for f in (0.001, 0.5))
    assert small < large
    # a small insult decays at the linearised rate sigma + r0 / (1 + s/K)^2
    s = senescent_fraction(sat, [400.0])[0]
    assert small == pytest.approx(math.log(2) / -sat.d_rate_ds(400.0, s), rel=0.003)


def test_production_rises_with_organism_and_epigenetic_age():
    """sigma(t) = rate + age_slope t/365.25 + epi_slope (t - epi_origin)/365.25; clocks
    that start at birth make the two slopes interchangeable."""
    by_age = KarinParams(age_slope_per_day_per_year=0.00135)
    by_epi = KarinParams(epigenetic_slope_per_day_per_year=0.00135)
    assert by_age.production_per_day(70 * YEAR) == pytest.approx(0.00135 * 70)
    days = np.arange(0.0, 30 * YEAR, 100.0)
    np.testing.assert_allclose(
        senescent_fraction(by_age, days), senescent_fraction(by_epi, days), rtol=1e-12
    )
    late = KarinParams(epigenetic_slope_per_day_per_year=0.00135, epi_origin_day=10 * YEAR)
    assert late.production_per_day(30 * YEAR) == pytest.approx(0.00135 * 20)


def test_the_insult_day_holds_the_value_before_the_insult():
    s = senescent_fraction(linear(), [0.0, 10.0, 10.0, 20.0], insult_day=10.0, insult_fraction=0.5)
    s_plain = senescent_fraction(linear(), [0.0, 10.0, 20.0])
    assert s[1] == s[2] == pytest.approx(s_plain[1], abs=1e-11)
    assert s[3] > s_plain[2]
    with pytest.raises(ValueError, match="insult_day"):
        senescent_fraction(linear(), [10.0, 20.0], start_day=5.0, insult_day=1.0)
    with pytest.raises(ValueError, match="sorted"):
        senescent_fraction(linear(), [20.0, 10.0])


def test_from_tissue_reads_the_switches():
    tissue = {
        "stress": {
            "rate_per_day": 1e-4,
            "age_slope_per_day_per_year": 0.00135,
            "epigenetic_slope_per_day_per_year": 1e-6,
            "age_dependent": True,
        },
        "clearance": {"rate_per_day": 0.3, "half_saturation_fraction": 0.25, "saturating": True},
    }
    p = KarinParams.from_tissue(tissue)
    assert (p.stress_rate_per_day, p.age_slope_per_day_per_year) == (1e-4, 0.00135)
    assert (p.clearance_rate_per_day, p.half_saturation_fraction, p.saturating) == (0.3, 0.25, True)
    tissue["stress"]["age_dependent"] = False
    tissue["clearance"]["saturating"] = False
    q = KarinParams.from_tissue(tissue)
    assert q.age_slope_per_day_per_year == q.epigenetic_slope_per_day_per_year == 0.0
    assert q.removal_per_day(0.9) == 0.3
