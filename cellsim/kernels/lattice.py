"""Replacement on a lattice (process 6, spatial): vacancies refilled by Moore neighbours.

A lattice tissue is a ``width`` x ``height`` grid of slots (kernels/grid.py). What differs
from a well-mixed tissue, and nothing else:

- Stress senescence gains the bystander term of senescent neighbours (kernels/events.py
  given the grid, ``width > 0``).
- Replacement of the vacancies present at the start of a step (here; kernels/day.py
  repeats passes until one fills nothing): the vacancies are visited in a uniformly
  random order. Each is refilled by the division of one of its competent Moore
  neighbours, drawn with weight 1 for CYCLING and STEM and the transformation fitness for
  TRANSFORMED (the weights of ``processes.draw_parent_place``), through
  ``processes.divide_into``, so telomere loss, transformation and replicative senescence
  are the well-mixed code. Parents are the cells present when the pass starts: a slot
  that was vacant then (filled in this pass or not) cannot be a parent until the next
  pass, so a hole closes from its rim one ring per pass. A parent's competence is judged
  when its vacancy is visited: a parent made SENESCENT by an earlier division in the same
  pass no longer divides. A parent may divide more than once in a pass (into several
  adjacent vacancies). A vacancy with no competent neighbour stays empty (a tissue
  defect). A vacancy that appears during a step (a death, a clearance) is filled at that
  instant by ``events`` with the same weights (``neighbour_weights`` at epoch -1).

Turnover, immune clearance, interventions and stem supply into any vacancy are not
spatial and use the same kernels as a well-mixed tissue. No per-site object or neighbour
table is built: memory is the population's arrays plus one int32 mark per slot. Per day
the work is proportional to the events (deaths, senescence candidates, vacancies) times
at most 8 neighbours. Defects are vacancies too: each is retried at the start of every
step (about 0.2 us each), which is one pass over the vacant slots, and none once no
competent cell is left in the tissue.
"""

from __future__ import annotations

import numpy as np

from .grid import MAX_NEIGHBOURS, neighbour
from .jit import njit
from .layout import (
    CYCLING,
    EMPTY,
    P_TRANSFORMED_FITNESS,
    STEM,
    TRANSFORMED,
)
from .processes import divide_into
from .segments import count, sample_distinct


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
def neighbour_parent(nb, w, total, rng):
    """A Moore neighbour drawn with the weights ``w`` of ``neighbour_weights`` (slots
    ``nb``, sum ``total > 0``)."""
    u = rng.random() * total
    parent = -1
    acc = 0.0
    for q in range(MAX_NEIGHBOURS):
        if w[q] > 0.0:
            parent = nb[q]
            acc += w[q]
            if u < acc:
                break
    return parent


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
        divide_into(cells, p, neighbour_parent(nb, w, total, rng), v, rng, counters)
        filled += 1
    return filled
