"""Deterministic mean-field prediction of a well-mixed tissue (a cross-check of the simulator).

Independent of ``cellsim``: the inputs are plain floats (:class:`MeanFieldParams`, which
:meth:`MeanFieldParams.from_tissue` reads from a dumped ``TissueParams`` dict), the outputs
are tables in the trajectory schema's units. The equations are derived from docs/MODEL.md's
description of one well-mixed tissue of ``N`` slots, not from the kernels.

API: :class:`MeanField` (the stepper) here; :mod:`analysis.meanfield_predictions` has
``meanfield_trajectory`` (expected counts day by day), ``predicted_exhaustion_day`` and
``predicted_failure_day`` (event days); :mod:`analysis.normal_grid` the discretisation.

State: the expected CYCLING cells on a grid of telomere lengths (nodes
``threshold + (i + 1/2) bin_bp``, so the threshold is a bin edge), the expected SENESCENT
count and their telomere sum (clearance is blind to length, so the sum is all the
telomere mean needs), and the expected EMPTY count. One step of ``dt`` in docs/MODEL.md's order,
``a`` the organism age at the end of the step (= every cell's epigenetic age here):

2. turnover: ``c <- (1 - q_d) c``, ``q_d = 1 - exp(-dt / lifespan)``; the dead leave EMPTY.
3. stress: ``c <- (1 - q_s) c``, ``q_s = 1 - exp(-h dt)``,
   ``h = rate + (age_slope + epi_slope) a / 365.25``; the senescing keep their telomeres.
4. clearance: ``S <- (1 - q_c) S``, ``q_c = 1 - exp(-dt r0 / (1 + s / K))``, ``s = S / N``
   (the expectation inside the saturating hazard: an O(1/N) error).

6. replacement: each of the ``V`` vacancies is filled by a division of a uniformly random
   CYCLING parent of the *current* pool, which changes within the day (parents senesce,
   cycling daughters join, and may divide again). A parent at ``x`` becomes two daughters
   at ``x - L1``, ``x - L2``, ``L ~ max(0, Normal(loss_mean, loss_sd))``, SENESCENT below
   the threshold. Let ``k`` count the day's divisions and ``K`` be "two daughters of every
   cell, cycling part" (a convolution with the loss law, cut at the threshold); then
   ``dc/dk = (K - 1) c / C(k)``, ``C = sum c``. In the internal time ``dtau = dk / C`` this
   is linear with a constant operator, so the day is integrated exactly::

       c(tau) = exp(tau (K - 1)) c0 = sum_n Pois(n; tau) K^n c0
       k(tau) = sum_n |K^n c0| P(Pois(tau) > n)          (divisions made by then)

   and ``tau`` solves ``k(tau) = V``. The senescent daughters follow by conservation (a
   division adds one occupied slot and ``x - L1 - L2`` bp). No first-order shortcut is
   taken: drawing every parent of the day from the start-of-replacement pool would make
   telomeres fall by ``2 L q_d`` instead of ``2 L dt / lifespan`` a day (relative error
   ``q_d / 2``). If the pool's remaining capacity ``sum_n |K^n c0|`` (all divisions its
   cells and their descendants can still make) is below ``V``, the pool is used up that
   day and the vacancies left stay EMPTY, as in the simulator.

Because turnover and stress are blind to telomere length and telomeres only shorten
(``K^n = P C^n`` with ``C`` the uncut convolution and ``P`` the cut), the days compose:
the cycling density is always ``A(t) sum_n Pois(n; T(t)) K^n c_init``, ``T`` the
cumulative divisions per cell and ``A`` the survival of turnover and stress. So a run is a
few vector operations a day over precomputed generations ``K^n c_init`` (the finite-N
cutoff below restarts them from each day's density instead). Closed forms it
must meet (tests/test_meanfield.py): far above the threshold ``T = t / lifespan``, the
mean telomere falls by exactly ``2 L / lifespan`` per day, generations are
``Poisson(2 t / lifespan)``; with no senescence at the threshold the stress and clearance
recursions for ``S`` are exact.

Discretisation: the loss law and the founders are put on the grid with linear ("hat")
weights, which keep mass and mean exactly (``loss_mean`` need not be a multiple of
``bin_bp``). Moving from 10 bp bins to 5 bp changes failure days, and exhaustion days
with the finite-N cutoff, by about 1 day in 3000 (the plain mean field's exhaustion day,
set by a tail of fractions of a cell, by ~1 %).

Finite N. The plain mean field is the ``N -> infinity`` limit of the simulator, and at
practical N it is late. Simulated mean failure days (lifespan 80 d, defaults otherwise)
are 2656, 2973, 3064 for N = 10^3, 10^4, 10^5 against 3335 from the mean field: the gap
times ``(ln N)^2`` stays ~3.3e4 days, the slow approach of a pulled front (Brunet &
Derrida 1997, Phys Rev E 56:2597). Late in life the pool is a front in telomere length
pulled by its longest-telomere cells: at N = 10^4 ~90 founder clones are left at day 2500,
a few dominating. In the mean field, fractions of a cell beyond the longest telomere a
real tissue has keep seeding descendants. ``tail_cells`` applies the Brunet-Derrida
cutoff: after every step, the cycling cells of the top bins, which together hold fewer
than ``tail_cells`` expected cells, are moved down to the highest bin below them, so no
cell is longer than the tissue's typical longest one; ``tail_cells = exp(-euler_gamma)``
(~0.56) puts that level at the mean of the maximum (Gumbel). Nothing is fitted; see
:func:`predicted_exhaustion_day` for how well it does. Before the pool shrinks, both
versions agree with the replicate mean trajectory to about one standard error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from analysis import DAYS_PER_YEAR
from analysis.normal_grid import hat_weights, loss_kernel, normal_cdf, truncated_normal_part

__all__ = [
    "DAYS_PER_YEAR",
    "MeanField",
    "MeanFieldParams",
    "loss_kernel",
]


@dataclass(frozen=True)
class MeanFieldParams:
    """One well-mixed tissue, in the units of ``cellsim.engine.params`` (defaults: its defaults).

    ``stress_*`` is the stress-senescence hazard ``rate + age_slope * age_years +
    epigenetic_slope * epigenetic_age_years`` (per day); ``clearance_*`` the immune
    hazard ``rate / (1 + s / half_saturation)``. Transformation is not modelled (set its
    probability to 0 in a simulation compared with this).
    """

    n_cells: float = 10_000
    """The tissue's slots (cells)."""
    lifespan_days: float = 140.0
    """Mean lifespan of a CYCLING cell under turnover (days)."""
    initial_mean_bp: float = 9500.0
    """Mean telomere length of the founders (bp)."""
    initial_sd_bp: float = 700.0
    """Standard deviation of the founders' telomere length (bp)."""
    loss_mean_bp: float = 100.0
    """Mean of the normal draw of a daughter's telomere loss per division (bp)."""
    loss_sd_bp: float = 30.0
    """Its standard deviation (bp); the loss is ``max(0, Normal(mean, sd))``."""
    senescence_threshold_bp: float = 5000.0
    """A cell whose telomere falls below this becomes SENESCENT (bp)."""
    stress_rate_per_day: float = 1e-5
    """The stress-senescence hazard of a CYCLING cell at age 0 (per day)."""
    stress_age_slope_per_day_per_year: float = 0.0
    """Its rise per year of organism age (per day per year)."""
    stress_epigenetic_slope_per_day_per_year: float = 1e-6
    """Its rise per year of epigenetic age, here equal to organism age (per day per year)."""
    clearance_rate_per_day: float = 0.30
    """The immune clearance hazard of a SENESCENT cell at a low burden (per day)."""
    clearance_half_saturation_fraction: float = 0.5
    """The senescent fraction of the slots at which clearance per cell is halved."""
    dt_days: float = 1.0
    """Step length (days)."""
    start_age_days: float = 0.0
    """The organism's age at the start (days)."""
    functional_fraction_min: float = 0.5
    """Tissue failure: the functional fraction of the slots below this (0-1)."""

    def __post_init__(self) -> None:
        if self.n_cells <= 0 or self.lifespan_days <= 0 or self.dt_days <= 0:
            raise ValueError("n_cells, lifespan_days and dt_days must be positive")
        if self.initial_sd_bp < 0 or self.loss_sd_bp < 0 or self.loss_mean_bp < 0:
            raise ValueError("standard deviations and the mean loss must be >= 0")
        if self.clearance_half_saturation_fraction <= 0:
            raise ValueError("clearance_half_saturation_fraction must be positive")

    @classmethod
    def from_tissue(
        cls, tissue: Mapping[str, Any], run: Mapping[str, Any] | None = None
    ) -> MeanFieldParams:
        """Read a tissue's parameters from their nested-dict form (``model_dump()``).

        ``tissue`` has the keys of ``cellsim.engine.params.TissueParams`` (``n_cells``,
        ``lifespan_days``, ``telomere``, ``stress``, ``clearance``, optional ``failure``);
        ``run`` those of ``RunParams`` (``dt_days``, ``start_age_days``). Missing groups
        keep this class's defaults.

        Args:
            tissue: a ``TissueParams.model_dump()``.
            run: a ``RunParams.model_dump()`` (None: the defaults).
        """
        tel = tissue.get("telomere", {})
        st = tissue.get("stress", {})
        cl = tissue.get("clearance", {})
        fail = tissue.get("failure", {})
        run = run or {}
        d = cls()
        return cls(
            n_cells=tissue.get("n_cells", d.n_cells),
            lifespan_days=tissue.get("lifespan_days", d.lifespan_days),
            initial_mean_bp=tel.get("initial_mean_bp", d.initial_mean_bp),
            initial_sd_bp=tel.get("initial_sd_bp", d.initial_sd_bp),
            loss_mean_bp=tel.get("loss_mean_bp", d.loss_mean_bp),
            loss_sd_bp=tel.get("loss_sd_bp", d.loss_sd_bp),
            senescence_threshold_bp=tel.get("senescence_threshold_bp", d.senescence_threshold_bp),
            stress_rate_per_day=st.get("rate_per_day", d.stress_rate_per_day),
            stress_age_slope_per_day_per_year=st.get(
                "age_slope_per_day_per_year", d.stress_age_slope_per_day_per_year
            ),
            stress_epigenetic_slope_per_day_per_year=st.get(
                "epigenetic_slope_per_day_per_year", d.stress_epigenetic_slope_per_day_per_year
            ),
            clearance_rate_per_day=cl.get("rate_per_day", d.clearance_rate_per_day),
            clearance_half_saturation_fraction=cl.get(
                "half_saturation_fraction", d.clearance_half_saturation_fraction
            ),
            dt_days=run.get("dt_days", d.dt_days),
            start_age_days=run.get("start_age_days", d.start_age_days),
            functional_fraction_min=fail.get("functional_fraction_min", d.functional_fraction_min),
        )


# --------------------------------------------------------------------------------------
# the engine: cycling cells = a(t) * sum_n Pois(n; T(t)) u_n
# --------------------------------------------------------------------------------------

_NEGLIGIBLE = 1e-30  # relative mass below which a generation (or a bin of one) is dropped
_T_MAX = 600.0  # cumulative divisions per cell beyond which float64 would overflow
_TAIL = 1e-10  # Poisson tail weight of the generations left out


def _clip_tail(c: np.ndarray, cells: float) -> None:
    """Move the cells of the top bins, which hold fewer than ``cells`` in all, down to the
    highest bin below them (in place): no cell longer than the longest a tissue of whole
    cells typically has."""
    tail = np.cumsum(c[::-1])
    k = int(np.searchsorted(tail, cells))  # the top k bins hold < cells
    if 0 < k < c.size:
        c[c.size - k - 1] += tail[k - 1]
        c[c.size - k :] = 0.0


def _trim_top(u: np.ndarray) -> np.ndarray:
    """``u`` without its top bins of negligible weight (mass only ever moves down)."""
    big = np.flatnonzero(u > _NEGLIGIBLE * float(u.max(initial=0.0)))
    return u[: big[-1] + 1] if big.size else u[:1] * 0.0


class _Generations:
    """``u_n = P C^n c_init``: where the cycling founders' descendants of generation ``n`` sit.

    ``C`` is "divide every cell once": two daughters, each shifted down by the loss law (a
    convolution); ``P`` keeps the nodes at or above the threshold. Because telomeres only
    shorten, a cell below the threshold never contributes above it again, so truncating
    once at the end equals truncating after every division: ``K^n = P C^n``.
    """

    def __init__(self, c_init: np.ndarray, kernel: np.ndarray, pos: np.ndarray) -> None:
        self.kernel2 = 2.0 * kernel  # two daughters
        self.J = kernel.size - 1
        self.pos = pos
        c_init = _trim_top(c_init)
        self.vecs: list[np.ndarray] = [c_init]
        self.M = np.zeros(64)  # cells of generation n
        self.tel = np.zeros(64)  # their telomere sum
        self.M[0] = float(c_init.sum())
        self.tel[0] = float(c_init @ pos[: c_init.size])
        self.n = 1  # generations computed
        self.scale = max(self.M[0], 1e-300)
        self.done = self.M[0] <= 0.0  # every further generation is negligible

    def ensure(self, length: int) -> None:
        """Compute generations ``n < length`` (fewer once they have become negligible)."""
        while self.n < length and not self.done:
            # out[m] is node m - J: the nodes below 0 (below the threshold) are dropped
            u = np.correlate(self.vecs[-1], self.kernel2, "full")[self.J :]
            if self.n % 16 == 0:
                u = _trim_top(u)
            m = float(u.sum())
            if self.n == self.M.size:
                self.M = np.concatenate([self.M, np.zeros(self.n)])
                self.tel = np.concatenate([self.tel, np.zeros(self.n)])
            self.vecs.append(u)
            self.M[self.n] = m
            self.tel[self.n] = float(u @ self.pos[: u.size])
            self.n += 1
            # masses first rise (x2 per generation) and then fall for good once the
            # founders' descendants reach the threshold
            if m < _NEGLIGIBLE * self.scale and m <= self.M[self.n - 2]:
                self.done = True
            self.scale = max(self.scale, m)

    def arrays(self, length: int) -> tuple[np.ndarray, np.ndarray]:
        """``M_n`` and telomere sums for ``n < length`` (zeros past the last generation)."""
        self.ensure(length)
        if length > self.M.size:
            extra = np.zeros(length - self.M.size)
            self.M = np.concatenate([self.M, extra])
            self.tel = np.concatenate([self.tel, extra])
        return self.M[:length], self.tel[:length]


class MeanField:
    """The mean-field tissue, advanced a step at a time (see the module docstring).

    The cycling density is ``a * sum_n Pois(n; T) u_n``: ``T`` counts the divisions per
    cell so far (the internal time of the replacement step, summed over days) and ``a``
    the survival of turnover and stress senescence, both telomere-blind. Each step is a
    handful of vector operations over the generations; the generations ``u_n`` are
    computed once, on demand.

    ``tail_cells``: after every step (and for the founders) move the cycling cells of the
    top bins, which together hold fewer than ``tail_cells`` expected cells, down to the
    highest bin below them (module docstring, "Finite N"); 0 keeps the plain mean field.
    The generations are then restarted from the clipped density each step.
    """

    def __init__(
        self, params: MeanFieldParams, *, bin_bp: float = 10.0, tail_cells: float = 0.0
    ) -> None:
        """Place the founders on a grid of telomere bins, at ``params.start_age_days``.

        Args:
            params: the tissue.
            bin_bp: the width of a telomere bin (bp).
            tail_cells: expected cells below which the top bins are moved down (0: none;
                see the class docstring).
        """
        p = self.params = params
        w = self.bin_bp = float(bin_bp)
        N = self.N = float(p.n_cells)
        thr = p.senescence_threshold_bp
        mu0, sd0 = p.initial_mean_bp, p.initial_sd_bp
        top = max(mu0 + 8.0 * sd0, thr) + 2.0 * w
        n_bins = math.ceil((top - thr) / w) + 1
        self.pos = thr + (np.arange(n_bins) + 0.5) * w
        kernel = loss_kernel(p.loss_mean_bp, p.loss_sd_bp, w)
        self.loss_mean_bp = float(np.arange(kernel.size) @ kernel) * w  # exact mean loss

        # founders: telomere max(0, Normal(mu0, sd0)); those below the threshold SENESCENT
        nodes = np.concatenate([[thr - 0.5 * w], self.pos])
        wts = hat_weights(nodes, w, mu0, sd0, thr, math.inf)
        c = N * wts[1:]
        c[0] += N * wts[0]  # founders in [thr, thr + w/2) sit on the first cycling node
        pn, ps_ = truncated_normal_part(mu0, sd0, 0.0, thr)
        p_atom = float(normal_cdf(np.array(-mu0 / sd0))) if sd0 > 0 else float(mu0 <= 0)
        self.S = N * (pn + (p_atom if thr > 0 else 0.0))
        self.S_sum = N * ps_
        if thr <= 0:
            c[0] += N * p_atom
        self.tail_cells = float(tail_cells)
        if self.tail_cells > 0:
            _clip_tail(c, self.tail_cells)
        self.kernel = kernel
        self.gen = _Generations(c, kernel, self.pos)
        self.divisions_per_cell = 0.0
        self.E = 0.0
        self.a = 1.0
        self.T = 0.0
        self.day = p.start_age_days
        self.exhausted = float(c.sum()) <= 0.0
        self._n = np.arange(256, dtype=float)
        self._lg = special.gammaln(self._n + 1.0)
        self._cache: tuple[float, float, float, float] | None = None
        self._lengths: dict[int, int] = {}

    # --- Poisson weights over the generations ---------------------------------------
    def _length(self, x: float) -> int:
        """Generations carrying weight at internal time ``x``.

        A generation at most doubles, so ``M_n Pois(n; x) <= M_0 e^x Pois(n; 2x)``: stop
        where ``P(Pois(2x) >= n) < 1e-10``; ``x``'s own Poisson tail (for the cumulative
        sums) ends before that. Once the generations have died out, fewer are needed.
        """
        key = math.ceil(x * 256.0)  # cached on a grid above x (the length grows with x)
        n = self._lengths.get(key)
        if n is None:
            n = self._lengths[key] = self._poisson_length(key / 128.0)
        if self.gen.done and self.gen.n < n:
            n = max(self.gen.n, int(x + 10.0 * math.sqrt(x) + 12.0))
        return n

    @staticmethod
    def _poisson_length(m: float) -> int:
        """Smallest ``n`` with ``P(Pois(m) >= n) < _TAIL`` (a bound, nearly tight)."""
        n = int(m) + 2
        if m > 0:
            # P(Pois(m) >= n) <= Pois(n; m) (n + 1) / (n + 1 - m) for n > m - 1
            step = max(1, int(0.5 * math.sqrt(m)))
            log_m = math.log(m)
            log_tail = math.log(_TAIL)
            while (
                -m + n * log_m - math.lgamma(n + 1.0) + math.log((n + 1.0) / (n + 1.0 - m))
                > log_tail
            ):
                n += step
        return n

    def _pmf(self, x: float, length: int) -> np.ndarray:
        if self._n.size < length:
            self._n = np.arange(2 * length, dtype=float)
            self._lg = special.gammaln(self._n + 1.0)
        if x <= 0.0:
            out = np.zeros(length)
            out[0] = 1.0
            return out
        return np.exp(self._n[:length] * math.log(x) - x - self._lg[:length])

    def cycling(self) -> tuple[float, float]:
        """Expected CYCLING cells and the sum of their telomeres now."""
        if self.exhausted:
            return 0.0, 0.0
        key = (self.T, self.a)
        if self._cache is not None and self._cache[:2] == key:
            return self._cache[2], self._cache[3]
        L = self._length(self.T)
        M, tel = self.gen.arrays(L)
        w = self._pmf(self.T, L)
        C, s = self.a * float(M @ w), self.a * float(tel @ w)
        self._cache = (self.T, self.a, C, s)
        return C, s

    def cycling_density(self) -> tuple[np.ndarray, np.ndarray]:
        """(node telomere lengths in bp, expected CYCLING cells per node) now."""
        c = np.zeros(self.pos.size)
        if self.exhausted:
            return self.pos.copy(), c
        L = self._length(self.T)
        self.gen.ensure(L)
        w = self._pmf(self.T, L)
        for wn, u in zip(w, self.gen.vecs, strict=False):
            c[: u.size] += wn * u
        return self.pos.copy(), self.a * c

    # --- one step --------------------------------------------------------------------
    def step(self) -> float:
        """Advance one step of ``dt``; return the number of divisions in it."""
        p = self.params
        dt = p.dt_days
        self.day = day = self.day + dt
        C, tel = self.cycling()
        # (2) turnover of CYCLING cells (telomere-blind: only the factor a changes)
        q_d = -math.expm1(-dt / p.lifespan_days)
        self.E += q_d * C
        self.a *= 1.0 - q_d
        C *= 1.0 - q_d
        tel *= 1.0 - q_d
        # (3) stress senescence: epigenetic age = organism age = day
        slope = p.stress_age_slope_per_day_per_year + p.stress_epigenetic_slope_per_day_per_year
        h = p.stress_rate_per_day + slope * day / DAYS_PER_YEAR
        if h > 0:
            q_s = -math.expm1(-h * dt)
            self.S += q_s * C
            self.S_sum += q_s * tel
            self.a *= 1.0 - q_s
            C *= 1.0 - q_s
            tel *= 1.0 - q_s
        # (4) immune clearance, saturating in the senescent fraction
        if self.S > 0 and p.clearance_rate_per_day > 0:
            hc = p.clearance_rate_per_day / (
                1.0 + (self.S / self.N) / p.clearance_half_saturation_fraction
            )
            q_c = -math.expm1(-hc * dt)
            self.E += q_c * self.S
            self.S *= 1.0 - q_c
            self.S_sum *= 1.0 - q_c
        self._cache = (self.T, self.a, C, tel)
        # (6) replacement of every vacancy by sequential divisions
        k = 0.0
        if self.E > 0 and C > 0 and not self.exhausted:
            k = self._refill(C, tel)
        if self.tail_cells > 0 and not self.exhausted:
            self._rebase()
        return k

    def _rebase(self) -> None:
        """Restart the generations from today's density, its longest tail clipped."""
        _, c = self.cycling_density()
        _clip_tail(c, self.tail_cells)
        self.gen = _Generations(c, self.kernel, self.pos)
        self.T = 0.0
        self.a = 1.0
        self._cache = (0.0, 1.0, self.gen.M[0], self.gen.tel[0])

    def _refill(self, C0: float, tel0: float) -> float:
        """Solve ``a * sum_n M_n [G_n(T + tau) - G_n(T)] = V`` for the day's ``tau``,
        ``G_n(x) = P(Pois(x) > n)``, and move the state to ``T + tau``."""
        V, a, T = self.E, self.a, self.T
        if T > _T_MAX:
            raise ValueError(
                f"the pool is still not exhausted after {_T_MAX:g} divisions per cell "
                "(telomere loss too small for this mean field)"
            )
        ell2 = 2.0 * self.loss_mean_bp
        base: dict[str, Any] = {}

        def prepare(length: int) -> None:
            # Poisson(T) weights: lower and upper cumulative sums, each exact where small
            M, tel = self.gen.arrays(length)
            p0 = self._pmf(T, length)
            nlow = min(math.ceil(T), length)  # n < T: use the lower sums
            base.update(L=length, M=M, tel=tel, p0=p0, nlow=nlow, Q0=p0.cumsum())
            base["G0"] = p0[nlow:][::-1].cumsum()[::-1]

        prepare(self._length(T + 1.25 * V / C0))
        # capacity left: every division the cells and their descendants can still make
        cap = a * float(base["M"] @ base["Q0"])
        while cap < V and not self.gen.done:
            prepare(2 * base["L"])
            cap = a * float(base["M"] @ base["Q0"])
        if cap <= V:
            # the pool is used up today: all its remaining divisions are made
            self.exhausted = True
            total = a * float((base["tel"] - ell2 * base["M"]) @ base["Q0"])
            self.a = 0.0
            self._cache = None
            self.S += cap + C0
            self.S_sum += total + tel0
            self.E -= cap
            return cap

        def evaluate(tau: float) -> tuple[float, float, np.ndarray, np.ndarray]:
            x = T + tau
            if self._length(x) > base["L"]:
                prepare(2 * self._length(x))
            L, M, nlow = base["L"], base["M"], base["nlow"]
            p1 = self._pmf(x, L)
            # dG_n = P(Pois(x) > n) - P(Pois(T) > n), from the lower sums where n < T
            # and from the upper sums above, so that no small difference cancels
            dG = np.zeros(L)
            dG[:nlow] = base["Q0"][:nlow] - p1[:nlow].cumsum()
            G1 = p1[nlow:][::-1].cumsum()[::-1]
            dG[nlow : L - 1] = G1[1:] - base["G0"][1:]
            return a * float(M @ dG) - V, a * float(M @ p1), dG, p1

        # second-order first guess: k(tau) ~ C0 tau + C0' tau^2 / 2
        M0, p0 = base["M"], base["p0"]
        dC = a * float((M0[1:] - M0[:-1]) @ p0[:-1])
        disc = C0 * C0 + 2.0 * dC * V
        tau = 2.0 * V / (C0 + math.sqrt(disc)) if disc > 0 else V / C0
        lo, hi = 0.0, math.inf
        f, d, dG, p1 = evaluate(tau)
        for _ in range(200):
            if abs(f) <= 1e-10 * V:
                break
            if f > 0:
                hi = tau
            else:
                lo = tau
            new = tau - f / d if d > 0 else math.nan
            if not lo < new < hi:
                new = 0.5 * (lo + hi) if math.isfinite(hi) else 2.0 * tau + 1.0
            if hi - lo <= 1e-15 * max(hi, 1e-300):
                break
            tau = new
            f, d, dG, p1 = evaluate(tau)
        k = f + V
        C1 = d
        tel1 = a * float(base["tel"] @ p1)
        total = a * float((base["tel"] - ell2 * base["M"]) @ dG)
        # each division adds one occupied slot and x - L1 - L2 bp of telomere
        self.S += k - (C1 - C0)
        self.S_sum += total - (tel1 - tel0)
        self.E -= k  # V to within 1e-10 (a few 1e-8 cells either side of 0)
        self.T = T + tau
        self.divisions_per_cell += tau
        self._cache = (self.T, self.a, C1, tel1)
        return k
