"""The senescent fraction of one well-mixed tissue in continuous time (Karin et al. 2019).

Independent of ``cellsim``: plain floats in, numpy arrays and pandas tables out. The
equation is derived from docs/MODEL.md's processes for one well-mixed tissue in which every
vacancy is refilled at once by a division of a competent cell, with no telomere loss (no
replicative senescence) and no transformation. Turnover then only swaps a CYCLING cell for
another, and the SENESCENT fraction ``s`` of the slots (the CYCLING fraction is ``1 - s``)
follows::

    ds/dt = sigma(t) (1 - s) - h(s) s                                        (per day)
    sigma(t) = rate + age_slope * t / 365.25 + epigenetic_slope * (t - epi_origin) / 365.25
    h(s)     = r0 / (1 + s / K)       (saturating removal; r0 when not saturating)

``t`` is the organism's age in days, ``sigma`` the stress-senescence hazard of a CYCLING
cell (per day) and ``h`` the immune clearance hazard of a SENESCENT one (per day). The
epigenetic age of every cell is ``t - epi_origin`` days: without reprogramming every
clock in the simulator starts at the organism's birth (``epi_origin = 0``; founders of a
run that starts at an older age read that age, and daughters inherit the parent's clock).

Karin's model (production ``eta t``, removal ``beta X / (kappa + X)``) is this equation
with ``sigma = eta t``, ``r0 = beta / kappa`` and ``K = kappa``, once their arbitrary
units of ``X`` are read as a fraction of slots (a choice) and production is taken per
CYCLING cell (so it stops when none is left).

An insult at age ``a0`` makes a fraction ``f`` of the CYCLING cells SENESCENT at once:
``s -> s + f (1 - s)``. Its *excess*, ``s_insult(t) - s_control(t)``, decays back; its
*apparent clearance time* here is the **half-life**: the time after the insult for the
excess to fall to half its value right after the insult (Karin et al. report half-lives:
days in young mice, weeks in old ones). Without saturation and with constant ``sigma``
the excess decays as ``exp(-(sigma + r0) t)``, so the half-life is ``ln 2 / (sigma + r0)``
at any age; saturation (a larger burden slows each cell's removal) and the rise of
``sigma`` with age make it longer in old age.

Integration: ``scipy.integrate.solve_ivp`` (LSODA with the exact Jacobian, relative
tolerance 1e-10, absolute 1e-13), which reproduces the closed forms of the constant-rate
case to ~1e-10 (tests/test_karin_ode.py).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

from analysis import DAYS_PER_YEAR

__all__ = [
    "KarinParams",
    "half_life_days",
    "insult_excess",
    "insult_half_life_days",
    "senescent_fraction",
]

RTOL = 1e-10
"""Relative tolerance of the integration."""
ATOL = 1e-13
"""Absolute tolerance of the integration (fraction of slots)."""
HALF = 0.5
"""The apparent clearance time is the time for the excess to fall to this fraction of its
value right after the insult (a half-life, as Karin 2019 reports)."""


@dataclass(frozen=True)
class KarinParams:
    """One well-mixed tissue's stress and clearance, in the units of
    ``cellsim.engine.params`` (``StressParams``, ``ClearanceParams``).

    ``stress_rate_per_day`` (1/day), ``age_slope_per_day_per_year`` and
    ``epigenetic_slope_per_day_per_year`` (1/day per year of organism and of epigenetic
    age), ``epi_origin_day`` (the organism age, days, at which every cell's epigenetic
    clock reads 0), ``clearance_rate_per_day`` r0 (1/day), ``half_saturation_fraction`` K
    (fraction of slots), ``saturating`` (False: removal at r0 whatever the burden).
    """

    stress_rate_per_day: float = 0.0
    """The stress-senescence hazard of a CYCLING cell at age 0 (per day)."""
    age_slope_per_day_per_year: float = 0.0
    """Its rise per year of organism age (per day per year)."""
    epigenetic_slope_per_day_per_year: float = 0.0
    """Its rise per year of the cells' epigenetic age (per day per year)."""
    epi_origin_day: float = 0.0
    """The organism age (days) at which every cell's epigenetic clock reads 0."""
    clearance_rate_per_day: float = 0.30
    """r0: the immune clearance hazard of a SENESCENT cell at a low burden (per day)."""
    half_saturation_fraction: float = 0.5
    """K: the senescent fraction of the slots at which clearance per cell is halved."""
    saturating: bool = True
    """Whether clearance saturates with the burden (False: removal at r0 whatever it is)."""

    def __post_init__(self) -> None:
        rates = (
            self.stress_rate_per_day,
            self.age_slope_per_day_per_year,
            self.epigenetic_slope_per_day_per_year,
            self.clearance_rate_per_day,
        )
        if min(rates) < 0:
            raise ValueError("rates and slopes must be >= 0")
        if self.half_saturation_fraction <= 0:
            raise ValueError("half_saturation_fraction must be positive")

    @classmethod
    def from_tissue(cls, tissue: Mapping[str, Any]) -> KarinParams:
        """Read a tissue's nested-dict parameters (``TissueParams.model_dump()``): its
        ``stress`` and ``clearance`` groups, the switches ``stress.age_dependent`` (False:
        both slopes are 0) and ``clearance.saturating`` included.

        Args:
            tissue: a ``TissueParams.model_dump()``.
        """
        st = tissue.get("stress", {})
        cl = tissue.get("clearance", {})
        d = cls()
        age_dependent = st.get("age_dependent", True)
        return cls(
            stress_rate_per_day=st.get("rate_per_day", d.stress_rate_per_day),
            age_slope_per_day_per_year=(
                st.get("age_slope_per_day_per_year", 0.0) if age_dependent else 0.0
            ),
            epigenetic_slope_per_day_per_year=(
                st.get("epigenetic_slope_per_day_per_year", 0.0) if age_dependent else 0.0
            ),
            clearance_rate_per_day=cl.get("rate_per_day", d.clearance_rate_per_day),
            half_saturation_fraction=cl.get("half_saturation_fraction", 0.5),
            saturating=cl.get("saturating", True),
        )

    def production_per_day(self, day: float | np.ndarray) -> float | np.ndarray:
        """sigma: the stress-senescence hazard of a CYCLING cell at organism age ``day``
        (per day).

        Args:
            day: organism age (days).
        """
        return (
            self.stress_rate_per_day
            + self.age_slope_per_day_per_year * day / DAYS_PER_YEAR
            + self.epigenetic_slope_per_day_per_year * (day - self.epi_origin_day) / DAYS_PER_YEAR
        )

    def removal_per_day(self, s: float | np.ndarray) -> float | np.ndarray:
        """h(s): the clearance hazard of a SENESCENT cell at senescent fraction ``s``
        (per day).

        Args:
            s: the senescent fraction of the slots.
        """
        if not self.saturating:
            return self.clearance_rate_per_day + 0.0 * s
        return self.clearance_rate_per_day / (1.0 + s / self.half_saturation_fraction)

    def ds_dt(self, day: float, s: float | np.ndarray) -> float | np.ndarray:
        """The right-hand side (fraction of slots per day).

        Args:
            day: organism age (days).
            s: the senescent fraction of the slots.
        """
        return self.production_per_day(day) * (1.0 - s) - self.removal_per_day(s) * s

    def d_rate_ds(self, day: float, s: float) -> float:
        """d(ds/dt)/ds (per day): minus the rate at which a small excess of senescent cells
        decays, ``sigma + d(h(s) s)/ds``.

        Args:
            day: organism age (days).
            s: the senescent fraction of the slots.
        """
        removal_slope = self.clearance_rate_per_day
        if self.saturating:
            removal_slope /= (1.0 + s / self.half_saturation_fraction) ** 2
        return -float(self.production_per_day(day)) - removal_slope


def _solve(p: KarinParams, t0: float, s0: float, t1: float, **kw: Any) -> Any:
    """``solve_ivp`` of the equation from ``s0`` at ``t0`` to ``t1`` (LSODA with the exact
    Jacobian: the equation relaxes in days over decades, and LSODA switches to an implicit
    method, with long steps, where it becomes stiff)."""

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        return np.asarray(p.ds_dt(t, y), dtype=float)

    def jac(t: float, y: np.ndarray) -> np.ndarray:
        return np.array([[p.d_rate_ds(t, float(y[0]))]])

    sol = solve_ivp(rhs, (t0, t1), [s0], method="LSODA", jac=jac, rtol=RTOL, atol=ATOL, **kw)
    if not sol.success:  # pragma: no cover - a smooth scalar equation
        raise RuntimeError(f"integration failed: {sol.message}")
    return sol


def _integrate(p: KarinParams, t0: float, s0: float, t1: float, days: np.ndarray) -> np.ndarray:
    """s on ``days`` (sorted, all within [t0, t1]) starting from ``s0`` at ``t0``."""
    if days.size == 0:
        return np.empty(0)
    if t1 <= t0:
        return np.full(days.size, s0, dtype=float)
    grid, back = np.unique(days, return_inverse=True)
    return _solve(p, t0, s0, t1, t_eval=grid).y[0][back]


def _check_start(start_day: float, s0: float, days: np.ndarray) -> None:
    if not 0.0 <= s0 <= 1.0:
        raise ValueError(f"s0 = {s0}: must be a fraction in [0, 1]")
    if days.size and (np.any(np.diff(days) < 0) or days[0] < start_day):
        raise ValueError("days must be sorted and not before start_day")


def senescent_fraction(
    p: KarinParams,
    days: np.ndarray | list[float],
    *,
    start_day: float = 0.0,
    s0: float = 0.0,
    insult_day: float | None = None,
    insult_fraction: float = 0.0,
) -> np.ndarray:
    """The senescent fraction of the slots on ``days`` (organism ages, days, sorted, none
    before ``start_day``), starting from ``s0`` at ``start_day`` (a tissue founded then has
    no senescent cell: ``s0 = 0``).

    With ``insult_day``, a fraction ``insult_fraction`` of the cycling cells becomes
    senescent at that age: ``s -> s + f (1 - s)``. On ``insult_day`` itself the value
    returned is the one *before* the insult (the left limit), as the simulator records it:
    an intervention at age d acts after the step that ends on day d and its record.

    Args:
        p: the tissue's rates (``KarinParams``).
        days: the organism ages (days) at which to report.
        start_day: the age (days) of ``s0``.
        s0: the senescent fraction at ``start_day``.
        insult_day: the age (days) of an insult (None: none).
        insult_fraction: the fraction of cycling cells it makes senescent.

    Returns:
        The senescent fraction at each of ``days``.
    """
    days = np.asarray(days, dtype=float)
    _check_start(start_day, s0, days)
    if not 0.0 <= insult_fraction <= 1.0:
        raise ValueError(f"insult_fraction = {insult_fraction}: must be in [0, 1]")
    if insult_day is not None and insult_day < start_day:
        raise ValueError("insult_day must not be before start_day")
    if insult_day is None:
        end = float(days[-1]) if days.size else start_day
        return _integrate(p, start_day, s0, end, days)
    before = days <= insult_day
    out = np.empty(days.size)
    grid = np.append(days[before], insult_day)
    s_before = _integrate(p, start_day, s0, insult_day, grid)
    out[before] = s_before[:-1]
    s_at = float(s_before[-1])
    s_after = s_at + insult_fraction * (1.0 - s_at)
    after = days[~before]
    if after.size:
        out[~before] = _integrate(p, insult_day, s_after, float(after[-1]), after)
    return out


def _state_at(p: KarinParams, day: float, start_day: float, s0: float) -> float:
    """s at organism age ``day`` (before any insult on that day)."""
    return float(senescent_fraction(p, [day], start_day=start_day, s0=s0)[0])


def insult_excess(
    p: KarinParams,
    insult_day: float,
    insult_fraction: float,
    days_after: np.ndarray | list[float],
    *,
    start_day: float = 0.0,
    s0: float = 0.0,
) -> pd.DataFrame:
    """The insult's excess at ``days_after`` the insult (days, sorted, >= 0): one row per
    time with ``days_after``, ``day`` (organism age, days), ``control`` and ``insult``
    (senescent fraction without and with the insult) and ``excess`` (their difference). At
    0 days after, the row holds the values right *after* the insult (its excess is
    ``f (1 - s_control)``).

    Args:
        p: the tissue's rates (``KarinParams``).
        insult_day: the insult's age (days).
        insult_fraction: the fraction of cycling cells it makes senescent.
        days_after: the days after the insult at which to report.
        start_day: the age (days) of ``s0``.
        s0: the senescent fraction at ``start_day``.
    """
    rel = np.asarray(days_after, dtype=float)
    if rel.size and (rel[0] < 0 or np.any(np.diff(rel) < 0)):
        raise ValueError("days_after must be sorted and >= 0")
    if not 0.0 <= insult_fraction <= 1.0:
        raise ValueError(f"insult_fraction = {insult_fraction}: must be in [0, 1]")
    if insult_day < start_day:
        raise ValueError("insult_day must not be before start_day")
    s_at = _state_at(p, insult_day, start_day, s0)
    day = insult_day + rel
    end = float(day[-1]) if day.size else insult_day
    control = _integrate(p, insult_day, s_at, end, day)
    insult = _integrate(p, insult_day, s_at + insult_fraction * (1.0 - s_at), end, day)
    return pd.DataFrame(
        {"days_after": rel, "day": day, "control": control, "insult": insult}
    ).assign(excess=lambda d: d["insult"] - d["control"])


def half_life_days(
    days_after: np.ndarray | list[float],
    excess: np.ndarray | list[float],
    *,
    level: float = HALF,
) -> float:
    """The apparent clearance time (days): the first time the excess falls to ``level``
    (default one half) of its value at the first point (``days_after[0]``, the time of the
    insult, where the excess is the value right after it), interpolating ``log(excess)``
    linearly between neighbouring points (exact for an exponential decay). NaN when the
    excess never falls that far, or when its first value is not positive.

    Applied in the same way to a simulated excess and to the equation's on the same
    times, the two are compared like with like: the interpolation errs on both alike.

    Args:
        days_after: the days after the insult.
        excess: the excess senescent fraction on those days.
    """
    t = np.asarray(days_after, dtype=float)
    e = np.asarray(excess, dtype=float)
    if t.size != e.size or t.size < 2:
        raise ValueError("days_after and excess need the same length, at least 2")
    e0 = e[0]
    if not e0 > 0 or not 0 < level < 1:
        return math.nan
    target = level * e0
    below = np.flatnonzero(e <= target)
    if below.size == 0:
        return math.nan
    j = int(below[0])
    t0, t1, e_a, e_b = t[j - 1], t[j], e[j - 1], e[j]
    if e_b > 0:
        frac = math.log(e_a / target) / math.log(e_a / e_b)
    else:  # fell to zero or below: interpolate linearly
        frac = (e_a - target) / (e_a - e_b)
    return float(t0 + frac * (t1 - t0))


def insult_half_life_days(
    p: KarinParams,
    insult_day: float,
    insult_fraction: float,
    *,
    start_day: float = 0.0,
    s0: float = 0.0,
    level: float = HALF,
    max_days: float = 3650.0,
) -> float:
    """The equation's exact apparent clearance time (days): the root of
    ``excess(t) = level * excess(0)`` after an insult at ``insult_day`` (the excess
    decreases monotonically), bracketed on a fine grid and refined by Brent's method on
    the integrator's dense output. NaN when it is not reached within ``max_days``.

    Args:
        p: the tissue's rates (``KarinParams``).
        insult_day: the insult's age (days).
        insult_fraction: the fraction of cycling cells it makes senescent.
        start_day: the age (days) of ``s0``.
        s0: the senescent fraction at ``start_day``.
        level: the fraction of the initial excess left (0.5: the half-life).
        max_days: how long to look (days).
    """
    s_at = _state_at(p, insult_day, start_day, s0)
    e0 = insult_fraction * (1.0 - s_at)
    if not e0 > 0 or not 0 < level < 1:
        return math.nan
    end = insult_day + max_days
    control = _solve(p, insult_day, s_at, end, dense_output=True).sol
    insult = _solve(p, insult_day, s_at + e0, end, dense_output=True).sol

    def gap(rel: float) -> float:
        t = insult_day + rel
        return float(insult(t)[0] - control(t)[0]) - level * e0

    grid = np.concatenate(([0.0], np.geomspace(1e-3, max_days, 2000)))
    gaps = insult(insult_day + grid)[0] - control(insult_day + grid)[0] - level * e0
    below = np.flatnonzero(gaps <= 0)
    if below.size == 0:
        return math.nan
    j = int(below[0])
    return float(brentq(gap, grid[j - 1], grid[j], xtol=1e-10, rtol=1e-13))
