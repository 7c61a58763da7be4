"""Index bookkeeping: every cell's slot sits in one contiguous segment per state.

``order`` is a permutation of the slots, grouped by state: the slots of state ``s`` are
``order[seg[s]:seg[s + 1]]``; ``pos[i]`` is slot ``i``'s place in ``order``. Moving a cell to
another state costs at most ``N_STATES - 1`` swaps, so sampling a cell of a given state, or
``k`` distinct ones, costs O(1) per cell and never scans the population. Competent states
(CYCLING, STEM, TRANSFORMED) are the last codes, so "any competent cell" is one range.
"""

from __future__ import annotations

import numpy as np

from .jit import njit
from .layout import EMPTY


@njit(cache=True, inline="always")
def _swap(order, pos, a, b):
    ia = order[a]
    ib = order[b]
    order[a] = ib
    order[b] = ia
    pos[ib] = a
    pos[ia] = b


@njit(cache=True, inline="always")
def randint(rng, n):
    """Uniform integer in [0, n): one double draw (bias below 2**-53 per draw); several
    times cheaper in Numba than ``Generator.integers``."""
    j = np.int64(rng.random() * n)
    return j if j < n else n - 1


@njit(cache=True, inline="always")
def move(order, pos, seg, state, i, new_state):
    """Move slot ``i`` from its state's segment to ``new_state``'s; sets ``state[i]``."""
    s = np.int64(state[i])
    t = np.int64(new_state)
    # Walk right: at each boundary, put i at the end of its segment, then shift the
    # boundary left so that i becomes the first element of the next segment.
    while s < t:
        last = seg[s + 1] - 1
        _swap(order, pos, pos[i], last)
        seg[s + 1] -= 1
        s += 1
    # Or walk left, symmetrically. At most one loop runs; no early return when s == t
    # (it would cost reference counting per move: processes.py, "Speed").
    while s > t:
        first = seg[s]
        _swap(order, pos, pos[i], first)
        seg[s] += 1
        s -= 1
    state[i] = new_state


@njit(cache=True)
def sample_distinct(order, pos, seg, s, k, rng):
    """Return ``k`` distinct slots drawn uniformly from state ``s`` (partial Fisher-Yates)."""
    lo = seg[s]
    n = seg[s + 1] - lo
    if k > n:
        k = n
    out = np.empty(k, dtype=np.int64)
    for j in range(k):
        r = j + randint(rng, n - j)
        _swap(order, pos, lo + j, lo + r)
        out[j] = order[lo + j]
    return out


@njit(cache=True, inline="always")
def count(seg, s):
    """Number of cells in state ``s``."""
    return seg[s + 1] - seg[s]


@njit(cache=True)
def check(order, pos, seg, state):
    """Consistency of the bookkeeping (for tests): returns True when it holds."""
    n = order.shape[0]
    if seg[0] != 0 or seg[seg.shape[0] - 1] != n:
        return False
    for s in range(seg.shape[0] - 1):
        if seg[s + 1] < seg[s]:
            return False
        for j in range(seg[s], seg[s + 1]):
            i = order[j]
            if pos[i] != j or state[i] != s:
                return False
    return True


@njit(cache=True)
def draw_fraction(order, pos, seg, s, p, rng):
    """Each cell of state ``s`` drawn with probability ``p``: a Binomial(n_s, p) count of
    distinct cells, uniformly (no draw at all when ``n_s`` or ``p`` is 0)."""
    n = count(seg, s)
    if n == 0 or p <= 0.0:
        return np.empty(0, dtype=np.int64)
    return sample_distinct(order, pos, seg, s, rng.binomial(n, min(p, 1.0)), rng)


@njit(cache=True)
def remove_fraction(state, order, pos, seg, s, p, rng):
    """Each cell of state ``s`` is removed (slot emptied) with probability ``p``
    (``draw_fraction``). Returns the count. Turnover, clearance, senolytic doses and
    culture thinning all remove cells this way."""
    victims = draw_fraction(order, pos, seg, s, p, rng)
    for j in range(victims.shape[0]):
        move(order, pos, seg, state, victims[j], EMPTY)
    return victims.shape[0]


@njit(cache=True)
def index_by_state(state, order, pos, seg):
    """Group the slots by state (a stable counting sort, no temporaries beyond ``seg``):
    ``order`` lists the slots of state 0, then 1, ..., each in increasing slot order;
    ``pos`` is its inverse and ``seg`` the segment boundaries."""
    seg[:] = 0
    for i in range(state.shape[0]):
        seg[state[i] + 1] += 1
    for s in range(1, seg.shape[0]):
        seg[s] += seg[s - 1]
    fill = seg[:-1].copy()
    for i in range(state.shape[0]):
        s = state[i]
        order[fill[s]] = i
        pos[i] = fill[s]
        fill[s] += 1


@njit(cache=True)
def fill_arange(a):
    """``a[i] = i`` in place (no temporary array)."""
    for i in range(a.shape[0]):
        a[i] = i
