"""In vitro culture (docs/MODEL.md process 7, the Hayflick experiment), as Numba kernels.

A dish is a ``CellPopulation`` whose slots are the dish's capacity: EMPTY slots are free
space. Every CYCLING (and TRANSFORMED) cell divides into free space at a constant hazard,
simulated in continuous time within each step, so results do not depend on the step
length. A division is ``processes.divide_into``: both daughters lose their own draw of
telomere and ``settle_daughter`` makes a daughter below the critical length SENESCENT, so
the division and senescence rules are the tissue's own code, not a copy. Divisions stop
at confluence (contact inhibition) and resume, from that moment, once the caller has
passaged the dish. Stress senescence and cell death are the tissue kernels as well;
passaging thins the dish binomially.

A constant division hazard makes cell-cycle times exponential (memoryless). In such a
growing population a random cell has divided 2 ln 2 = 1.39 times per population doubling
on average (cells from lineages that happened to divide often are over-represented), so
a PD costs ~1.39 divisions' worth of telomere, not one.

A dish's cells reach ``grow`` as one tuple ``cells`` (``CellPopulation.arrays()``).
"""

from __future__ import annotations

import math

from numba import njit

from .layout import (
    CYCLING,
    EMPTY,
    P_DEATH_RATE_PER_DAY,
    P_DT_DAYS,
    PLURIPOTENT,
    SENESCENT,
    STEM,
    TRANSFORMED,
)
from .processes import divide_into, draw_parent_place, prob, stress_senescence
from .segments import count, remove_fraction


@njit(cache=True)
def grow(cells, p, division_rate_per_day, t_start, t_end, max_occupied, rng, counters):
    """Divisions into free space from time ``t_start`` to ``t_end`` (days within a step),
    in continuous time: exact for any step length.

    Every competent cell (CYCLING; TRANSFORMED if any) divides at hazard
    ``division_rate_per_day``: the next division comes after an exponential wait at the
    total rate, by a uniformly drawn competent cell, into a free slot, so a daughter may
    divide again within the step. Growth stops when ``max_occupied`` slots are occupied
    (confluence; the caller passages and continues from the returned time) or at
    ``t_end``. Returns the time reached: ``t_end``, or the moment of confluence.
    """
    order = cells[5]
    seg = cells[7]
    t = t_start
    n_slots = cells[0].shape[0]
    while n_slots - count(seg, EMPTY) < max_occupied and count(seg, EMPTY) > 0:
        n = seg[TRANSFORMED + 1] - seg[CYCLING]
        rate = division_rate_per_day * n
        if rate <= 0.0:
            return t_end
        t += -math.log(1.0 - rng.random()) / rate
        if t > t_end:
            return t_end
        parent = order[draw_parent_place(seg, p, rng)]
        child = order[seg[EMPTY]]
        divide_into(cells, p, parent, child, rng, counters)
    return t


@njit(cache=True)
def losses(state, epi_origin_day, order, pos, seg, p, day, rng, counters):
    """The step's losses of dividing cells: stress senescence (process 3), then death at
    ``p[P_DEATH_RATE_PER_DAY]`` (0 = none). Returns the cells that died."""
    stress_senescence(state, epi_origin_day, order, pos, seg, p, day, rng, counters, 0, 0, False)
    q_death = prob(p[P_DEATH_RATE_PER_DAY], p[P_DT_DAYS])
    if q_death <= 0.0:
        return 0
    k = remove_fraction(state, order, pos, seg, CYCLING, q_death, rng)
    k += remove_fraction(state, order, pos, seg, TRANSFORMED, q_death, rng)
    return k


@njit(cache=True)
def thin(state, order, pos, seg, keep_probability, rng):
    """Keep each cell (of every occupied state) with probability ``keep_probability``;
    the others leave the dish (their slots become EMPTY). Returns the cells kept.

    Passaging 1:N is ``keep_probability = 1/N`` (each cell lands in the kept flask with
    probability 1/N); plating losses are a second thinning."""
    q = 1.0 - keep_probability
    for s in (PLURIPOTENT, SENESCENT, CYCLING, STEM, TRANSFORMED):
        remove_fraction(state, order, pos, seg, s, q, rng)
    return state.shape[0] - count(seg, EMPTY)
