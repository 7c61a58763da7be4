"""Daily processes of a tissue on a lattice (MODEL.md processes 2-4 and 6), as Numba kernels.

Geometry: a ``width`` x ``height`` grid of slots; slot ``i`` sits at row ``i // width``,
column ``i % width``; its neighbours are the 8 slots of its Moore neighbourhood. On a torus
the edges wrap (every slot has 8 distinct neighbours: width, height >= 3); on a bounded
grid the slots at an edge have 5 neighbours and the corners 3. No per-site object or
neighbour table is built: neighbours are computed from the index when needed, so memory
is the population's arrays plus one int32 mark per slot.

What differs from the well-mixed tissue (kernels/wellmixed.py), and nothing else:

- Stress senescence (process 3): a CYCLING cell's hazard gains the bystander term
  ``P_BYSTANDER_PER_DAY * (senescent neighbours / 8)`` (the denominator is 8 on bounded
  grids too: a missing neighbour is not senescent). Candidates are drawn at the upper
  bound (oldest possible clock, 8 senescent neighbours) and thinned, as in
  ``wellmixed.stress_senescence``. Hazards are evaluated on the pattern as it stands
  when the process starts; the accepted cells then become SENESCENT together, so the
  order of candidates does not matter.
- Replacement (process 6): the vacancies are visited once per day in a uniformly random
  order. Each is refilled by the division of one of its competent Moore neighbours, drawn
  with weight 1 for CYCLING and STEM and the transformation fitness for TRANSFORMED (the
  weights of ``wellmixed.draw_parent_place``), through ``wellmixed.divide_into``, so telomere
  loss, transformation and replicative senescence are the well-mixed code. Parents are
  the cells present when the pass starts: a slot that was vacant then (filled in this
  pass or not) cannot be a parent until the next day, so a hole closes from its rim by
  one ring a day instead of in one sweep. A parent may divide more than once in a pass
  (into several adjacent vacancies). A vacancy with no competent neighbour stays empty
  (a tissue defect) and is tried again the next day.

Turnover (2), immune clearance (4), interventions (5) and stem supply into any vacancy are
not spatial and use the well-mixed kernels unchanged. Per day the work is proportional to
the events (deaths, senescence candidates, vacancies) times at most 8 neighbours. Defects
are vacancies too: each is retried every day (about 0.2 us each), which is at most one
pass over the vacant slots, and none once no competent cell is left in the tissue.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .layout import (
    C_STRESS,
    CYCLING,
    EMPTY,
    P_BYSTANDER_PER_DAY,
    P_DT_DAYS,
    P_EPI_ORIGIN_FLOOR_DAY,
    P_TRANSFORMED_FITNESS,
    SENESCENT,
    STEM,
    TRANSFORMED,
)
from .segments import count, move, sample_distinct
from .wellmixed import divide_into, prob, stress_hazard_per_day

MAX_NEIGHBOURS = 8


@njit(cache=True, inline="always")
def neighbour(r, c, q, width, height, torus):
    """Slot of Moore neighbour ``q`` (0-7: the 3x3 offsets in row-major order, centre
    skipped) of the slot at row ``r``, column ``c``; -1 where it falls off a bounded grid."""
    k = q + 1 if q >= 4 else q
    rr = r + k // 3 - 1
    cc = c + k % 3 - 1
    if rr < 0 or rr >= height:
        if not torus:
            return -1
        rr = rr + height if rr < 0 else rr - height
    if cc < 0 or cc >= width:
        if not torus:
            return -1
        cc = cc + width if cc < 0 else cc - width
    return rr * width + cc


@njit(cache=True, inline="always")
def neighbours(i, width, height, torus, out):
    """Write the Moore neighbours of slot ``i`` into ``out`` (length >= 8); return how many."""
    r = i // width
    c = i - r * width
    k = 0
    for q in range(MAX_NEIGHBOURS):
        u = neighbour(r, c, q, width, height, torus)
        if u >= 0:
            out[k] = u
            k += 1
    return k


@njit(cache=True)
def senescent_neighbours(state, r, c, width, height, torus):
    """Number of SENESCENT cells among the Moore neighbours of the slot at row ``r``,
    column ``c``."""
    m = 0
    for q in range(MAX_NEIGHBOURS):
        u = neighbour(r, c, q, width, height, torus)
        if u >= 0 and state[u] == SENESCENT:
            m += 1
    return m


@njit(cache=True)
def neighbour_counts(state, width, height, torus, target):
    """For every slot, how many of its neighbours are in state ``target`` (a full pass:
    for analysis and tests, not for the daily step)."""
    n = state.shape[0]
    out = np.zeros(n, dtype=np.int8)
    nb = np.empty(MAX_NEIGHBOURS, dtype=np.int64)
    for i in range(n):
        k = neighbours(i, width, height, torus, nb)
        m = 0
        for j in range(k):
            if state[nb[j]] == target:
                m += 1
        out[i] = m
    return out


@njit(cache=True)
def stress_senescence(
    state, epi_origin_day, order, pos, seg, p, day, rng, counters, width, height, torus
):
    """Process 3 on a lattice: hazard = base(age, epigenetic age) + bystander * m / 8, with
    ``m`` the cell's senescent neighbours. Thinned from the bound at m = 8 and the oldest
    possible clock; decided on the pattern at the start, applied together."""
    n = count(seg, CYCLING)
    if n == 0:
        return
    dt = p[P_DT_DAYS]
    bystander = p[P_BYSTANDER_PER_DAY]
    h_max = stress_hazard_per_day(p, day, day - p[P_EPI_ORIGIN_FLOOR_DAY]) + bystander
    if h_max <= 0.0:
        return
    q_max = prob(h_max, dt)
    k = rng.binomial(n, q_max)
    if k == 0:
        return
    cand = sample_distinct(order, pos, seg, CYCLING, k, rng)
    kept = 0
    for j in range(cand.shape[0]):
        i = cand[j]
        h = stress_hazard_per_day(p, day, day - epi_origin_day[i])
        if bystander > 0.0:
            r = i // width
            m = senescent_neighbours(state, r, i - r * width, width, height, torus)
            h += bystander * m / MAX_NEIGHBOURS
        if rng.random() * q_max < prob(h, dt):
            cand[kept] = i
            kept += 1
    for j in range(kept):
        move(order, pos, seg, state, cand[j], SENESCENT)
    counters[C_STRESS] += kept


@njit(cache=True)
def neighbour_weights(state, p, r, c, width, height, torus, mark, epoch, nb, w):
    """Weights as parents of the Moore neighbours of the slot at row ``r``, column ``c``,
    written to ``w`` (their slots to ``nb``, -1 off a bounded grid, as ``neighbour``):
    CYCLING/STEM 1, TRANSFORMED the fitness, 0 for other states, missing neighbours and
    slots that were vacant when the pass started (``mark == epoch``). Returns the total."""
    fitness = p[P_TRANSFORMED_FITNESS]
    total = 0.0
    for q in range(MAX_NEIGHBOURS):
        u = neighbour(r, c, q, width, height, torus)
        x = 0.0
        if u >= 0 and mark[u] != epoch:
            s = state[u]
            if s == CYCLING or s == STEM:
                x = 1.0
            elif s == TRANSFORMED:
                x = fitness
        nb[q] = u
        w[q] = x
        total += x
    return total


@njit(cache=True)
def replacement(cells, p, n_fill, rng, counters, width, height, torus, mark, epoch):
    """Process 6 on a lattice: visit the vacancies in random order and refill each (up to
    ``n_fill``) by the division of a competent Moore neighbour present at the start of the
    pass; ``mark`` (int32 per slot) is stamped with ``epoch``, which must differ from every
    earlier pass's. Returns the number filled; the rest stay empty (defects)."""
    state = cells[0]
    order = cells[5]
    pos = cells[6]
    seg = cells[7]
    n_vac = count(seg, EMPTY)
    if n_vac == 0 or n_fill <= 0 or state.shape[0] - seg[CYCLING] == 0:
        return 0  # nothing to fill, or no competent cell left anywhere
    vac = sample_distinct(order, pos, seg, EMPTY, n_vac, rng)  # all of them, random order
    for j in range(n_vac):
        mark[vac[j]] = epoch
    nb = np.empty(MAX_NEIGHBOURS, dtype=np.int64)
    w = np.empty(MAX_NEIGHBOURS)
    filled = 0
    for j in range(n_vac):
        if filled >= n_fill:
            break
        v = vac[j]
        r = v // width
        total = neighbour_weights(
            state, p, r, v - r * width, width, height, torus, mark, epoch, nb, w
        )
        if total <= 0.0:
            continue
        u = rng.random() * total
        parent = -1
        acc = 0.0
        for q in range(MAX_NEIGHBOURS):
            if w[q] > 0.0:
                parent = nb[q]
                acc += w[q]
                if u < acc:
                    break
        divide_into(cells, p, parent, v, rng, counters)
        filled += 1
    return filled
