"""The speed limit of cellsim's well-mixed one-tissue model: a minimal event-driven kernel.

It simulates the same Markov chain as the engine's well-mixed tissue (docs/MODEL.md;
cellsim/kernels/events.py), written independently of cellsim's kernels: it reads only
``cellsim.engine.params`` for the parameter values. What it leaves out is everything the
engine keeps for its features (records, interventions, lattices, stem supply, clones,
division counts, senescent cells' telomeres, a slot per cell), so its cost per division is
the practical limit of any implementation of this model on one core
(benchmarks/limit.py compares the two; issue 14).

State. Only the competent CYCLING cells are stored, as one compact array of records
``cells[i] = (telomere_bp, epi_origin_day)`` (float32 pairs: 8 bytes, one cache line per
cell touched) in ``cells[:n_cycling]``; a cell that dies or senesces is swap-removed (the
last record moves into its place), a new CYCLING daughter is appended. SENESCENT and
TRANSFORMED cells and vacancies are only counted: nothing about a senescent cell matters
until it is cleared (uniformly at random), and a TRANSFORMED lineage stays TRANSFORMED
whatever its telomere, dies at a constant rate and is drawn as a parent by weight only.

Dynamics, per step ``[t0, t1)`` (the Gillespie direct method, exact for any step length):
events come at the total rate

    death_rate * n_cycling + transformed_death_rate * n_transformed
    + stress_bound * n_cycling + r0 / (1 + s / K) * n_senescent,   s = n_senescent / n_slots

and one is drawn in proportion to its term:

- death of a random CYCLING cell, or of a TRANSFORMED cell: a vacancy;
- a stress candidate: a random CYCLING cell becomes SENESCENT with probability
  ``hazard / stress_bound`` (thinning), ``hazard = rate + age_slope * t / 365.25 +
  epi_slope * (t - epi_origin) / 365.25`` at the event's time ``t``; ``stress_bound`` is
  the hazard's maximum over the step and over every possible epigenetic origin;
- clearance of a SENESCENT cell: a vacancy.

A vacancy is filled at once by the division of a competent parent (CYCLING weight 1,
TRANSFORMED weight ``fitness``). A CYCLING parent's two daughters each lose their own
``max(0, Normal(loss_mean, loss_sd))`` bp of the parent's telomere; each (the parent's
record first, then the new one) becomes TRANSFORMED with probability ``q``, else SENESCENT
if its telomere (as float32) is below the threshold, else stays CYCLING, and both keep the
parent's epigenetic origin. A TRANSFORMED parent adds a TRANSFORMED cell. With no
competent cell left, vacancies stay empty. Founders: telomeres ``max(0, Normal(mean,
sd))`` as float32, SENESCENT below the threshold; epigenetic origin ``start_day -
start_age_days`` (the engine's ``CellPopulation.founded``).

The draws are those of the chain at each event, as the engine made them before its
look-ahead (issue 14), except those that pick which SENESCENT cell is cleared or which
TRANSFORMED cell dies (they are only counted here) and the two telomere losses of a
TRANSFORMED parent, which the engine draws and never reads. The engine now draws each
event's four uniforms a few events early (``cellsim.kernels.events.LOOKAHEAD``) and one
more per stress candidate (a parent uniform it does not use), so it uses a little more of
the random stream, not less: the comparison measures memory layout, bookkeeping and
latency hiding, not a cleverer use of the random stream.
Every kernel takes a ``numpy.random.Generator``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from cellsim.engine.params import TissueParams

DAYS_PER_YEAR = 365.25
"""Organism and epigenetic ages in years are days / 365.25 (as in cellsim)."""

# Parameter vector (float64) of the limit kernel: its own layout, filled by ``parameters``.
DEATH = 0  # per day, each CYCLING cell: 1 / lifespan_days
TR_DEATH = 1  # per day, each TRANSFORMED cell: 1 / (lifespan_days * lifespan_factor)
STRESS_RATE = 2  # per day
AGE_SLOPE = 3  # per day per year of organism age
EPI_SLOPE = 4  # per day per year of epigenetic age
CLEAR_R0 = 5  # per day, each SENESCENT cell at low burden
CLEAR_K = 6  # half-saturation senescent fraction (inf: constant clearance)
LOSS_MEAN = 7  # bp per daughter
LOSS_SD = 8
THRESHOLD = 9  # bp
Q = 10  # transformation probability per CYCLING daughter
FITNESS = 11  # weight of a TRANSFORMED parent
EPI_FLOOR = 12  # earliest epigenetic origin of any cell (day)
N_PARAMS = 13

# Counters (int64): the population by state, and cumulative event counts.
N_CYCLING = 0
N_SENESCENT = 1
N_TRANSFORMED = 2
N_EMPTY = 3
DIVISIONS = 4
STRESS = 5
N_COUNTS = 6


def parameters(tissue: TissueParams, epi_floor_day: float = 0.0) -> np.ndarray:
    """The limit kernel's parameter vector for a well-mixed somatic ``tissue``, mapped as
    the engine maps it (death rate 1 / lifespan, stress slopes 0 when age-independent,
    K infinite for non-saturating clearance)."""
    if tissue.kind != "somatic" or tissue.lattice is not None or tissue.supply_from:
        raise ValueError("the limit kernel simulates one well-mixed somatic tissue")
    age_slope, epi_slope = tissue.stress.slopes_per_day_per_year()
    tr = tissue.transformation
    p = np.empty(N_PARAMS)
    p[DEATH] = 1.0 / tissue.lifespan_days
    p[TR_DEATH] = 1.0 / (tissue.lifespan_days * tr.lifespan_factor)
    p[STRESS_RATE] = tissue.stress.rate_per_day
    p[AGE_SLOPE] = age_slope
    p[EPI_SLOPE] = epi_slope
    p[CLEAR_R0] = tissue.clearance.rate_per_day
    p[CLEAR_K] = tissue.clearance.half_saturation_for_kernels()
    p[LOSS_MEAN] = tissue.telomere.loss_mean_bp
    p[LOSS_SD] = tissue.telomere.loss_sd_bp
    p[THRESHOLD] = tissue.telomere.senescence_threshold_bp
    p[Q] = tr.probability_per_division
    p[FITNESS] = tr.fitness
    p[EPI_FLOOR] = epi_floor_day
    return p


@njit(cache=True, inline="always")
def stress_hazard(p, t, epi_age_days):
    """Stress-senescence hazard (per day) of a CYCLING cell at day ``t``."""
    return (
        p[STRESS_RATE]
        + p[AGE_SLOPE] * (t / DAYS_PER_YEAR)
        + p[EPI_SLOPE] * (epi_age_days / DAYS_PER_YEAR)
    )


@njit(cache=True)
def stress_bound(p, t0, t1):
    """Upper bound of every CYCLING cell's stress hazard over ``[t0, t1]``: the hazard is
    linear in ``t`` and in the epigenetic age (0 to ``t - EPI_FLOOR``), so a corner holds
    the maximum."""
    h = 0.0
    for t in (t0, t1):
        for epi in (0.0, max(t - p[EPI_FLOOR], 0.0)):
            h = max(h, stress_hazard(p, t, epi))
    return h


@njit(cache=True, inline="always")
def randint(rng, n):
    """Uniform integer in [0, n) from one double draw."""
    j = np.int64(rng.random() * n)
    return j if j < n else n - 1


@njit(cache=True, inline="always")
def daughter_loss(p, rng):
    """Telomere lost by one daughter of a CYCLING cell (no telomerase)."""
    loss = rng.normal(p[LOSS_MEAN], p[LOSS_SD])
    return loss if loss > 0.0 else 0.0


@njit(cache=True)
def found(cells, counts, p, mean_bp, sd_bp, epi_origin_day, n_slots, rng):
    """Fill a fresh tissue of ``n_slots`` founders: telomere ``max(0, Normal(mean_bp,
    sd_bp))`` as float32, SENESCENT (counted) below the threshold, else a CYCLING record
    with epigenetic origin ``epi_origin_day``. One draw per cell, no temporary array."""
    n = 0
    n_sen = 0
    threshold = p[THRESHOLD]
    for _ in range(n_slots):
        tel = np.float32(max(rng.normal(mean_bp, sd_bp), 0.0))
        if tel < threshold:
            n_sen += 1
        else:
            cells[n, 0] = tel
            cells[n, 1] = epi_origin_day
            n += 1
    counts[:] = 0
    counts[N_CYCLING] = n
    counts[N_SENESCENT] = n_sen


@njit(cache=True, inline="always")
def swap_remove(cells, j, n):
    """Remove record ``j`` of the ``n`` live ones (the last moves into its place); returns
    the new count."""
    n -= 1
    cells[j, 0] = cells[n, 0]
    cells[j, 1] = cells[n, 1]
    return n


@njit(cache=True, inline="always")
def divide(cells, p, j, n_cyc, rng):
    """CYCLING cell ``j`` (of ``n_cyc``) divides: each daughter loses its own draw of its
    telomere; the parent's record is settled first, then the new daughter's (TRANSFORMED
    with probability ``q``, else SENESCENT below the threshold, else CYCLING: kept in
    place, or appended). Returns ``(n_cycling, new TRANSFORMED, new SENESCENT)``."""
    q = p[Q]
    threshold = p[THRESHOLD]
    base = np.float64(cells[j, 0])
    origin = cells[j, 1]
    kept = np.float32(base - daughter_loss(p, rng))
    born = np.float32(base - daughter_loss(p, rng))
    kept_tr = rng.random() < q
    born_tr = rng.random() < q
    new_tr = np.int64(kept_tr) + np.int64(born_tr)
    new_sen = np.int64(not kept_tr and kept < threshold)
    new_sen += np.int64(not born_tr and born < threshold)
    if kept_tr or kept < threshold:
        n_cyc = swap_remove(cells, j, n_cyc)
    else:
        cells[j, 0] = kept
    if not (born_tr or born < threshold):
        cells[n_cyc, 0] = born
        cells[n_cyc, 1] = origin
        n_cyc += 1
    return n_cyc, new_tr, new_sen


@njit(cache=True)
def step(cells, counts, p, n_slots, t0, t1, rng):
    """Every event of the tissue from day ``t0`` to ``t1`` (see the module text). The
    counts live in local variables within the step and are written back at its end."""
    n_cyc = counts[N_CYCLING]
    n_sen = counts[N_SENESCENT]
    n_tr = counts[N_TRANSFORMED]
    n_empty = counts[N_EMPTY]
    divisions = counts[DIVISIONS]
    stressed = counts[STRESS]
    death = p[DEATH]
    tr_death = p[TR_DEATH]
    r0 = p[CLEAR_R0]
    k = p[CLEAR_K]
    fitness = p[FITNESS]
    bound = stress_bound(p, t0, t1)
    t = t0
    while True:
        r_death = death * n_cyc
        r_tr = tr_death * n_tr
        r_stress = bound * n_cyc
        r_clear = r0 / (1.0 + (n_sen / n_slots) / k) * n_sen
        total = r_death + r_tr + r_stress + r_clear
        if total <= 0.0:
            break
        t += -math.log(1.0 - rng.random()) / total
        if t > t1:
            break
        u = rng.random() * total
        if u < r_death:  # a CYCLING cell dies: swap-remove its record
            n_cyc = swap_remove(cells, randint(rng, n_cyc), n_cyc)
        elif u < r_death + r_tr:  # a TRANSFORMED cell dies
            n_tr -= 1
        elif u < r_death + r_tr + r_stress or n_sen == 0:  # a stress candidate
            if n_cyc > 0:
                j = randint(rng, n_cyc)
                h = stress_hazard(p, t, t - cells[j, 1])
                if rng.random() * bound < h:
                    n_cyc = swap_remove(cells, j, n_cyc)
                    n_sen += 1
                    stressed += 1
            continue  # no vacancy
        else:  # a SENESCENT cell is cleared
            n_sen -= 1
        # the vacancy is filled at once by a competent parent, or stays empty
        w = n_cyc + fitness * n_tr
        if w <= 0.0:
            n_empty += 1
            continue
        divisions += 1
        u = rng.random() * w
        if u >= n_cyc:  # a TRANSFORMED parent: one more TRANSFORMED cell
            n_tr += 1
            continue
        n_cyc, new_tr, new_sen = divide(cells, p, min(np.int64(u), n_cyc - 1), n_cyc, rng)
        n_tr += new_tr
        n_sen += new_sen
    counts[N_CYCLING] = n_cyc
    counts[N_SENESCENT] = n_sen
    counts[N_TRANSFORMED] = n_tr
    counts[N_EMPTY] = n_empty
    counts[DIVISIONS] = divisions
    counts[STRESS] = stressed


@njit(cache=True)
def advance(cells, counts, p, n_slots, start_day, steps_done, dt, n_steps, stop_exhausted, rng):
    """Run up to ``n_steps`` steps of ``dt`` days after ``steps_done`` from ``start_day``
    (step ``k`` from 1 ends on day ``start_day + k * dt``, from the count); with
    ``stop_exhausted``, stop after the first step that ends with no CYCLING cell
    (exhaustion: this tissue has no STEM cells). Returns the number of steps run."""
    for j in range(n_steps):
        t0 = start_day + (steps_done + j) * dt
        t1 = start_day + (steps_done + j + 1) * dt
        step(cells, counts, p, n_slots, t0, t1, rng)
        if stop_exhausted and counts[N_CYCLING] == 0:
            return j + 1
    return n_steps


class LimitTissue:
    """One well-mixed tissue in the limit kernel, on the engine's clock: ``n_slots`` slots,
    ``cells`` (n_slots x 2 float32: telomere, epigenetic origin) of which the first
    ``counts[N_CYCLING]`` are live, and ``counts``.

    Args:
        tissue: the tissue's parameters (as given to the engine).
        rng: the Generator every draw comes from.
        start_age_days: organism age at the start (``RunParams.start_age_days``).
        dt_days: step length (``RunParams.dt_days``).
    """

    def __init__(
        self,
        tissue: TissueParams,
        rng: np.random.Generator,
        start_age_days: float = 0.0,
        dt_days: float = 1.0,
    ) -> None:
        self.rng = rng
        self.n_slots = tissue.n_cells
        self.start_day = start_age_days
        self.dt_days = dt_days
        self.steps = 0
        origin = 0.0  # founders' clocks read the start age: origin = start - start age
        self.p = parameters(tissue, epi_floor_day=origin)
        self.cells = np.empty((self.n_slots, 2), dtype=np.float32)
        self.counts = np.zeros(N_COUNTS, dtype=np.int64)
        tel = tissue.telomere
        found(
            self.cells,
            self.counts,
            self.p,
            tel.initial_mean_bp,
            tel.initial_sd_bp,
            origin,
            self.n_slots,
            rng,
        )
        self.exhaustion_day: float | None = None

    @property
    def day(self) -> float:
        """Organism age now (days)."""
        return self.start_day + self.steps * self.dt_days

    @property
    def divisions(self) -> int:
        """Divisions so far."""
        return int(self.counts[DIVISIONS])

    def advance(self, n_steps: int, stop_exhausted: bool = False) -> int:
        """Run ``n_steps`` steps (fewer if ``stop_exhausted`` and the tissue exhausts);
        records the exhaustion day. Returns the steps run."""
        done = int(
            advance(
                self.cells,
                self.counts,
                self.p,
                self.n_slots,
                self.start_day,
                self.steps,
                self.dt_days,
                n_steps,
                stop_exhausted,
                self.rng,
            )
        )
        self.steps += done
        if self.exhaustion_day is None and self.counts[N_CYCLING] == 0:
            self.exhaustion_day = self.day
        return done

    def run_to_exhaustion(self, max_days: float) -> float | None:
        """Step until the first step that ends with no CYCLING cell, or ``max_days``;
        returns that day (None if not reached)."""
        n = math.ceil(max_days / self.dt_days)
        self.advance(n, stop_exhausted=True)
        return self.exhaustion_day
