"""In vitro culture (docs/MODEL.md process 7, the Hayflick experiment), as Numba kernels.

A dish is a ``CellPopulation`` whose slots are the dish's capacity: EMPTY slots are free
space. Every CYCLING (and TRANSFORMED) cell divides into free space at a constant hazard,
simulated in continuous time within each step together with stress senescence and cell
death (as competing events), so results do not depend on the step length. A division is
``processes.divide_into``: both daughters lose their own draw of telomere and
``settle_daughter`` makes a daughter below the critical length SENESCENT, so the division
and senescence rules are the tissue's own code, not a copy. Divisions stop at confluence
(contact inhibition) and resume, from that moment, once the caller has passaged the dish.
The stress hazard is the tissue's (``processes.stress_hazard_per_day``, thinned from
``events.stress_bound_per_day``); passaging thins the dish binomially.

A constant division hazard makes cell-cycle times exponential (memoryless). In such a
growing population a random cell has divided 2 ln 2 = 1.39 times per population doubling on
average (cells from lineages that happened to divide often are over-represented), so a PD
costs ~1.39 divisions' worth of telomere, not one.

A dish's cells reach ``grow`` as one tuple ``cells`` (``CellPopulation.arrays()``).
"""

from __future__ import annotations

import math

from .events import stress_bound_per_day
from .jit import njit
from .layout import (
    C_DEATHS,
    C_STRESS,
    CYCLING,
    EMPTY,
    P_DEATH_RATE_PER_DAY,
    PLURIPOTENT,
    SENESCENT,
    STEM,
    TRANSFORMED,
)
from .processes import divide_into, draw_parent_place, stress_hazard_per_day
from .segments import count, move, randint, remove_fraction


@njit(cache=True)
def grow(cells, p, division_rate_per_day, day0, t_start, t_end, max_occupied, rng, counters):
    """Divisions into free space, stress senescence and deaths from time ``t_start`` to
    ``t_end`` (days within a step that began on day ``day0``), in continuous time: exact
    for any step length.

    Every competent cell (CYCLING; TRANSFORMED if any) divides at hazard
    ``division_rate_per_day`` while the dish is below ``max_occupied`` occupied slots;
    CYCLING cells senesce at the stress hazard of their epigenetic age at that instant
    (thinned from the step's bound, as in kernels/events.py); CYCLING and TRANSFORMED
    cells die at ``p[P_DEATH_RATE_PER_DAY]``, leaving free space. The next event comes
    after an exponential wait at the total rate. A division is by a uniformly drawn
    competent cell into a free slot, so a daughter may divide again within the step.
    Returns the time reached: ``t_end``, or the moment of confluence (the caller
    passages and continues from it).
    """
    state, _, _, epi_origin_day, _, order, pos, seg = cells
    n_slots = state.shape[0]
    death = p[P_DEATH_RATE_PER_DAY]
    bound = stress_bound_per_day(p, day0 + t_start, day0 + t_end, False)
    t = t_start
    while True:
        n_occupied = n_slots - count(seg, EMPTY)
        if n_occupied >= max_occupied:
            return t
        n_comp = seg[TRANSFORMED + 1] - seg[CYCLING]
        n_cyc = count(seg, CYCLING)
        r_div = division_rate_per_day * n_comp if count(seg, EMPTY) > 0 else 0.0
        r_stress = bound * n_cyc
        r_death = death * (n_cyc + count(seg, TRANSFORMED))
        total = r_div + r_stress + r_death
        if total <= 0.0:
            return t_end
        t += -math.log(1.0 - rng.random()) / total
        if t > t_end:
            return t_end
        u = rng.random() * total
        if u < r_div:
            parent = order[draw_parent_place(seg, p, rng)]
            child = order[seg[EMPTY]]
            divide_into(cells, p, parent, child, rng, counters)
        elif u < r_div + r_stress:
            i = order[seg[CYCLING] + randint(rng, n_cyc)]
            day = day0 + t
            if rng.random() * bound < stress_hazard_per_day(p, day, day - epi_origin_day[i]):
                move(order, pos, seg, state, i, SENESCENT)
                counters[C_STRESS] += 1
        else:
            j = randint(rng, n_cyc + count(seg, TRANSFORMED))
            i = order[seg[CYCLING] + j] if j < n_cyc else order[seg[TRANSFORMED] + j - n_cyc]
            move(order, pos, seg, state, i, EMPTY)
            counters[C_DEATHS] += 1


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
