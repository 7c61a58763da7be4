"""Mean telomere length of a stem-cell hierarchy by age, in closed form (the mean field).

A stem compartment with its own division clock supplies well-mixed pools through a
progenitor amplification (cellsim's blood system; docs/MODEL.md, "The blood system").
While no cell reaches the critical length (no senescence, no transformation, no
interventions), the expected mean telomere of each compartment follows from the laws of
the model alone:

- stem cells: each asymmetric division costs the dividing cell ``l_s`` (the stem loss per
  division net of telomerase); each growth division and each turnover replacement (death
  and a symmetric division in its place) costs the compartment's mean ``2 l_s`` per event
  (two daughters lose, the cell replaced was a random one). So

      H(t) = H(t0) - l_s * [A(t) - A(t0)] - 2 l_s * [G(t) - G(t0)] - 2 l_s (t - t0) / L_s

  with ``A(t) = r t + r (F - 1) tau (1 - exp(-t / tau))`` the expected asymmetric divisions
  per cell since birth, ``G(t) = ln(1 / f) (1 - exp(-t / tau))`` the pool's growth in
  e-folds and ``L_s`` the stem cells' lifespan (turnover);
- a supplied pool (cell lifespan ``L``, supply share ``s``): a death is refilled with
  probability ``s`` by a cell carrying a random stem cell's telomere less ``c = l_s + k l``
  (one supply division, ``k`` amplification divisions at the pool's loss ``l``), else by a
  local division costing the pool's mean ``2 l``. Its mean ``m`` obeys

      dm/dt = [s (H(t) - c - m) - (1 - s) 2 l] / L

  solved here exactly for ``H`` held constant over each step of a fine grid.

The loss per division is ``max(0, Normal(mean, sd))``, whose mean is the truncated-normal
mean (``expected_loss_bp``).

With length-dependent loss (a division of a cell of length ``x`` loses ``l + c (x - ref)``
on average, net of telomerase; ``loss_slope_per_bp`` ``c`` > 0) the equations stay linear
(the truncation at 0 is neglected: valid while the mean loss stays several SDs above 0 at
the lengths reached): the stem mean relaxes, ``H = F + (H(t0) - F) exp(-c D)`` with ``F =
ref - l / c`` and ``D`` the division-equivalents ``A + 2 G + 2 t / L_s`` since ``t0``; a
supplied cell's ``k`` amplification divisions follow ``x_{j+1} = x_j - l - c (x_j - ref)``;
the pool's local divisions cost ``2 (l + c (m - ref))``.

A pool with a childhood turnover (its rate ``F_p`` times the adult's at birth, the excess
decaying over ``tau_p``: lymphocytes in infancy) follows the same equation with ``1 / L``
replaced by ``(1 + (F_p - 1) exp(-t / tau_p)) / L``: exact for ``H`` constant over a step,
each step's decay integrating the rate over it. Pure functions of numbers and arrays;
units in the names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.signal import lfilter
from scipy.stats import norm

DAYS_PER_YEAR = 365.25

__all__ = [
    "PoolMeanField",
    "StemMeanField",
    "asymmetric_divisions_per_cell",
    "expected_loss_bp",
    "growth_efolds",
    "hierarchy_means_bp",
    "pool_mean_bp",
    "stem_mean_bp",
]


def expected_loss_bp(loss_mean_bp: float, loss_sd_bp: float, telomerase: float = 0.0) -> float:
    """Mean telomere lost by one daughter: ``E[max(0, Normal(mean, sd))] * (1 - a)``.

    Args:
        loss_mean_bp: the mean of the normal draw (bp per division).
        loss_sd_bp: its standard deviation (bp).
        telomerase: the telomerase activity a (the loss is scaled by 1 - a).

    Returns:
        ``E[max(0, Normal(mean, sd))] * (1 - a)`` in bp.

    Example:
        >>> from analysis.hierarchy_meanfield import expected_loss_bp
        >>> round(expected_loss_bp(100.0, 0.0, telomerase=0.9), 9)
        10.0
    """
    if loss_sd_bp <= 0.0:
        return max(loss_mean_bp, 0.0) * (1.0 - telomerase)
    z = loss_mean_bp / loss_sd_bp
    truncated = loss_mean_bp * norm.cdf(z) + loss_sd_bp * norm.pdf(z)
    return float(truncated) * (1.0 - telomerase)


@dataclass(frozen=True)
class StemMeanField:
    """A stem compartment: telomere at the start, loss per division net of telomerase,
    its division clock (``interval_days`` in adults; ``childhood_factor``,
    ``childhood_timescale_years``, ``pool_at_birth_fraction``) and its turnover
    (``lifespan_days``; ``math.inf``: none)."""

    initial_mean_bp: float
    """The stem cells' mean telomere at the start (bp)."""
    loss_bp: float
    """Mean telomere lost by a stem daughter per division, net of telomerase (bp; see
    ``expected_loss_bp``)."""
    interval_days: float
    """Days between two asymmetric divisions of a stem cell in adults (the clock's rate is
    its inverse, per day)."""
    childhood_factor: float = 1.0
    """The division rate at birth relative to the adult's (1: no faster childhood)."""
    childhood_timescale_years: float = 1.0
    """The e-folding time (years) of the childhood excess in division rate and of the
    pool's growth to its adult size."""
    pool_at_birth_fraction: float = 1.0
    """The stem pool's size at birth as a fraction of its adult size (0-1]."""
    lifespan_days: float = math.inf
    """Mean lifespan of a stem cell under turnover (days; ``math.inf``: no turnover)."""
    loss_slope_per_bp: float = 0.0
    """Length-dependent loss, net of telomerase: ``loss_bp`` at ``reference_bp``, plus
    this much per bp above it (0: a constant loss)."""
    reference_bp: float = 0.0
    """The telomere length (bp) at which a division loses ``loss_bp``."""

    def loss_at_bp(self, length_bp: np.ndarray | float) -> np.ndarray | float:
        """Mean loss of a division of a cell of ``length_bp``.

        Args:
            length_bp: the stem cell's telomere (bp).
        """
        return self.loss_bp + self.loss_slope_per_bp * (length_bp - self.reference_bp)


@dataclass(frozen=True)
class PoolMeanField:
    """A pool the stem compartment supplies: cell lifespan, supply share, the pool's own
    loss per division (local and amplification divisions), the amplification divisions,
    and its telomere at the start (None: founded from supply, ``H(t0) - c``)."""

    lifespan_days: float
    """Mean lifespan of a pool cell (days): a death is refilled every ``lifespan_days``
    per cell."""
    supply_share: float
    """The share (0-1) of the pool's deaths refilled by the stem compartment; the rest by
    a local division."""
    loss_bp: float
    """Mean telomere lost by a pool daughter per division, local or amplification (bp)."""
    amplification_divisions: int = 0
    """Progenitor divisions between a supplied stem daughter and the pool."""
    initial_mean_bp: float | None = None
    """The pool's mean telomere at the start (bp); None: founded from supply,
    ``H(t0) - c``."""
    loss_slope_per_bp: float = 0.0
    """Length-dependent loss of the pool's divisions (as ``StemMeanField``'s)."""
    reference_bp: float = 0.0
    """The telomere length (bp) at which a pool division loses ``loss_bp``."""
    childhood_turnover_factor: float = 1.0
    """The pool's turnover rate at birth relative to adults' (1: no childhood; cellsim's
    ``TissueParams.childhood_turnover.factor``)."""
    childhood_turnover_timescale_years: float = 1.0
    """The e-folding time (years) of that excess."""

    def turnover_integral_days(self, grid_days: np.ndarray) -> np.ndarray:
        """Per step of the grid (organism ages, days), ``integral of (1 + (F - 1)
        exp(-t / tau)) dt`` over the step: the step's length in adult turnover time.

        Args:
            grid_days: the evenly spaced organism ages (days).
        """
        t = np.asarray(grid_days, dtype=float)
        tau = self.childhood_turnover_timescale_years * DAYS_PER_YEAR
        decay = np.exp(-t / tau)
        return np.diff(t) + (self.childhood_turnover_factor - 1.0) * tau * (decay[:-1] - decay[1:])

    def amplified_bp(self, length_bp: np.ndarray) -> np.ndarray:
        """The length after the ``amplification_divisions`` of a cell of ``length_bp``.

        Args:
            length_bp: the supplied cell's telomere before amplification (bp).
        """
        k, c = self.amplification_divisions, self.loss_slope_per_bp
        if c == 0.0:
            return length_bp - k * self.loss_bp
        fixed = self.reference_bp - self.loss_bp / c
        return fixed + (length_bp - fixed) * (1.0 - c) ** k


def asymmetric_divisions_per_cell(age_days: np.ndarray, stem: StemMeanField) -> np.ndarray:
    """``A(t)``: expected asymmetric divisions per stem cell from birth to age ``t`` days.

    Args:
        age_days: organism ages (days).
        stem: the stem compartment.
    """
    t = np.asarray(age_days, dtype=float)
    r = 1.0 / stem.interval_days
    tau = stem.childhood_timescale_years * DAYS_PER_YEAR
    return r * t + r * (stem.childhood_factor - 1.0) * tau * (1.0 - np.exp(-t / tau))


def growth_efolds(age_days: np.ndarray, stem: StemMeanField) -> np.ndarray:
    """``G(t)``: the pool's growth from birth to age ``t`` days, in e-folds (``ln N(t)/N(0)``).

    Args:
        age_days: organism ages (days).
        stem: the stem compartment.
    """
    t = np.asarray(age_days, dtype=float)
    tau = stem.childhood_timescale_years * DAYS_PER_YEAR
    return math.log(1.0 / stem.pool_at_birth_fraction) * (1.0 - np.exp(-t / tau))


def stem_mean_bp(age_days: np.ndarray, start_day: float, stem: StemMeanField) -> np.ndarray:
    """``H(t)``: the stem cells' expected mean telomere at ages ``age_days`` (>= start).

    Args:
        age_days: organism ages (days).
        start_day: the start's age (days).
        stem: the stem compartment.
    """
    t = np.asarray(age_days, dtype=float)
    divisions = asymmetric_divisions_per_cell(t, stem) - asymmetric_divisions_per_cell(
        start_day, stem
    )
    growth = growth_efolds(t, stem) - growth_efolds(start_day, stem)
    turnover = (t - start_day) / stem.lifespan_days
    equivalents = divisions + 2.0 * growth + 2.0 * turnover
    c = stem.loss_slope_per_bp
    if c == 0.0:
        return stem.initial_mean_bp - stem.loss_bp * equivalents
    fixed = stem.reference_bp - stem.loss_bp / c
    return fixed + (stem.initial_mean_bp - fixed) * np.exp(-c * equivalents)


def pool_mean_bp(
    grid_days: np.ndarray, stem_bp: np.ndarray, stem: StemMeanField, pool: PoolMeanField
) -> np.ndarray:
    """``m(t)`` on an evenly spaced grid of days (from the start), given the stem mean
    ``stem_bp`` on it: the exact solution of the pool's linear equation

        dm/dt = [s (x(H) - m) - (1 - s) 2 (l + c (m - ref))] / L

    (``x(H)``: a supplied cell's length, the stem cell's less one stem division and the
    amplification) for ``H`` constant over each step (its value at the step's start).

    Args:
        grid_days: the evenly spaced days from the start.
        stem_bp: the stem mean on that grid (bp).
        stem: the stem compartment.
        pool: the pool.
    """
    dt = float(grid_days[1] - grid_days[0])
    s, life, loss = pool.supply_share, pool.lifespan_days, pool.loss_bp
    c, ref = pool.loss_slope_per_bp, pool.reference_bp
    supplied = pool.amplified_bp(stem_bp - stem.loss_at_bp(stem_bp))
    m0 = supplied[0] if pool.initial_mean_bp is None else pool.initial_mean_bp
    b = s + 2.0 * (1.0 - s) * c  # dm/dt = (s x - 2 (1 - s) (l - c ref) - b m) / L
    source = s * supplied - 2.0 * (1.0 - s) * (loss - c * ref)
    if pool.childhood_turnover_factor != 1.0:  # time-varying turnover (childhood)
        steps = pool.turnover_integral_days(grid_days)
        if b <= 0.0:
            return m0 + source[0] / life * np.concatenate([[0.0], np.cumsum(steps)])
        return _varying_recursion(np.exp(-b / life * steps), source[:-1] / b, m0)
    if b <= 0.0:  # no supply, constant loss: a straight line
        return m0 + source[0] / life * (grid_days - grid_days[0])
    a = math.exp(-b / life * dt)
    target = source / b  # the step's fixed point: m_{n+1} = a m_n + (1 - a) target_n
    out = np.empty_like(stem_bp)
    out[0] = m0
    out[1:], _ = lfilter([1.0 - a], [1.0, -a], target[:-1], zi=[a * m0])
    return out


@njit(cache=True)
def _varying_recursion(a: np.ndarray, target: np.ndarray, m0: float) -> np.ndarray:
    """``m_{n+1} = a_n m_n + (1 - a_n) target_n`` from ``m_0 = m0`` (a pool with a
    turnover rate that changes from step to step)."""
    out = np.empty(a.shape[0] + 1)
    out[0] = m0
    for n in range(a.shape[0]):
        out[n + 1] = a[n] * out[n] + (1.0 - a[n]) * target[n]
    return out


def hierarchy_means_bp(
    ages_years: np.ndarray,
    start_age_years: float,
    stem: StemMeanField,
    pools: dict[str, PoolMeanField],
    step_days: float = 0.5,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Expected mean telomere (bp) at ``ages_years`` (>= the start) of the stem
    compartment and of each pool (by name), from the start age on.

    Args:
        ages_years: the ages (years) at which to report.
        start_age_years: the start's age (years).
        stem: the stem compartment.
        pools: pool name -> pool.
        step_days: the integration grid's step (days).

    Returns:
        ``(stem_bp, {pool: pool_bp})`` at ``ages_years``.
    """
    ages = np.asarray(ages_years, dtype=float)
    start_day = start_age_years * DAYS_PER_YEAR
    end_day = max(float(ages.max()) * DAYS_PER_YEAR, start_day) + step_days
    grid = np.arange(start_day, end_day + step_days, step_days)
    stem_grid = stem_mean_bp(grid, start_day, stem)
    days = ages * DAYS_PER_YEAR
    pool_means = {
        name: np.interp(days, grid, pool_mean_bp(grid, stem_grid, stem, pool))
        for name, pool in pools.items()
    }
    return np.interp(days, grid, stem_grid), pool_means
