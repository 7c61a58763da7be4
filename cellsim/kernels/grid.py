"""The Moore neighbourhood of a lattice slot, computed from its index (no tables).

Slot ``i`` of a ``width`` x ``height`` grid sits at row ``i // width``, column
``i % width``; its neighbours are the 8 slots around it. On a torus the edges wrap (every
slot has 8 distinct neighbours: width, height >= 3); on a bounded grid the slots at an
edge have 5 neighbours and the corners 3.
"""

from __future__ import annotations

import numpy as np

from .jit import njit
from .layout import SENESCENT

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
