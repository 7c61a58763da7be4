"""Index bookkeeping: every cell's slot sits in one contiguous segment per state.

``order`` is a permutation of the slots, grouped by state: the slots of state ``s`` are
``order[seg[s]:seg[s + 1]]``; ``pos[i]`` is slot ``i``'s place in ``order``. Moving a cell to
another state costs at most ``N_STATES - 1`` swaps, so sampling a cell of a given state, or
``k`` distinct ones, costs O(1) per cell and never scans the population. Competent states
(CYCLING, STEM, TRANSFORMED) are the last codes, so "any competent cell" is one range.

A well-mixed tissue's slots carry no meaning (no neighbours), so its cells may also be
stored *at their places*: ``order`` the identity, the cells of state ``s`` in slots
``seg[s]:seg[s + 1]`` themselves, ``seg[SEG_PLACED] == 1``. Its event loop keeps them so
(``place_in_order`` on entry when anything else has reordered ``order``, then
``move_record``, which moves the record itself), and so reads one record where the index
costs two dependent memory accesses (issue 14, benchmarks/README.md). Every other kernel
works through ``order`` and clears the flag when it reorders it.
"""

from __future__ import annotations

import numpy as np

from .jit import njit
from .layout import EMPTY, N_STATES, SEG_PLACED


@njit(cache=True, inline="always")
def _swap(order, pos, a, b):
    ia = order[a]
    ib = order[b]
    order[a] = ib
    order[b] = ia
    pos[ib] = a
    pos[ia] = b


@njit(cache=True, inline="always")
def uniform_index(u, n):
    """The integer in [0, n) that the uniform ``u`` in [0, 1) picks: ``floor(u * n)``
    (``n - 1`` where rounding reaches ``n``)."""
    j = np.int64(u * n)
    return j if j < n else n - 1


@njit(cache=True, inline="always")
def randint(rng, n):
    """Uniform integer in [0, n): one double draw (bias below 2**-53 per draw); several
    times cheaper in Numba than ``Generator.integers``."""
    return uniform_index(rng.random(), n)


@njit(cache=True, inline="always")
def move(order, pos, seg, state, i, new_state):
    """Move slot ``i`` from its state's segment to ``new_state``'s; sets ``state[i]``."""
    s = np.int64(state[i])
    t = np.int64(new_state)
    seg[SEG_PLACED] = 0
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
    seg[SEG_PLACED] = 0
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
    if seg[0] != 0 or seg[N_STATES] != n:
        return False
    for j in range(n):
        if seg[SEG_PLACED] == 1 and order[j] != j:
            return False
    for s in range(N_STATES):
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
    ``pos`` is its inverse, ``seg`` the segment boundaries and its flag
    ``seg[SEG_PLACED]`` whether ``order`` came out the identity."""
    seg[:] = 0
    for i in range(state.shape[0]):
        seg[state[i] + 1] += 1
    for s in range(1, N_STATES + 1):
        seg[s] += seg[s - 1]
    fill = seg[:N_STATES].copy()
    placed = 1
    for i in range(state.shape[0]):
        s = state[i]
        order[fill[s]] = i
        pos[i] = fill[s]
        if fill[s] != i:
            placed = 0
        fill[s] += 1
    seg[SEG_PLACED] = placed


@njit(cache=True, inline="always")
def swap_items(a, i, j):
    """Exchange ``a[i]`` and ``a[j]``."""
    x = a[i]
    a[i] = a[j]
    a[j] = x


@njit(cache=True, inline="always")
def swap_records(state, tel, div, epi, clone, a, b):
    """Exchange the cells stored in slots ``a`` and ``b`` (every field but ``pos``)."""
    swap_items(state, a, b)
    swap_items(tel, a, b)
    swap_items(div, a, b)
    swap_items(epi, a, b)
    swap_items(clone, a, b)


@njit(cache=True, inline="always")
def move_record(state, tel, div, epi, clone, seg, i, new_state, watch):
    """``move`` for cells stored at their places (``seg[SEG_PLACED] == 1``): the cell in
    slot ``i`` goes to ``new_state``'s segment by the same boundary swaps, of records
    instead of index entries, so it and the cells it passes change slots. Returns where
    the cell that was in slot ``watch`` is now (``watch`` itself if it did not move)."""
    s = np.int64(state[i])
    t = np.int64(new_state)
    while s < t:
        last = seg[s + 1] - 1
        swap_records(state, tel, div, epi, clone, i, last)
        watch = i if watch == last else watch
        i = last
        seg[s + 1] -= 1
        s += 1
    while s > t:
        first = seg[s]
        swap_records(state, tel, div, epi, clone, i, first)
        watch = i if watch == first else watch
        i = first
        seg[s] += 1
        s -= 1
    state[i] = new_state
    return watch


@njit(cache=True)
def place_in_order(state, tel, div, epi, clone, order, pos, seg):
    """Store every cell at its place in ``order`` (slot ``j`` takes the cell of slot
    ``order[j]``), in place by following the permutation's cycles; ``order`` and ``pos``
    become the identity and ``seg[SEG_PLACED]`` 1. O(n) reads of ``order``, plus one
    record move per cell that changes slot."""
    n = order.shape[0]
    for j in range(n):
        if order[j] == j:
            continue
        s0, t0, d0, e0, c0 = state[j], tel[j], div[j], epi[j], clone[j]
        k = j
        while True:
            src = order[k]
            order[k] = k
            pos[k] = k
            if src == j:
                state[k], tel[k], div[k], epi[k], clone[k] = s0, t0, d0, e0, c0
                break
            state[k], tel[k], div[k], epi[k], clone[k] = (
                state[src], tel[src], div[src], epi[src], clone[src],
            )  # fmt: skip
            k = src
    seg[SEG_PLACED] = 1


@njit(cache=True)
def fill_arange(a):
    """``a[i] = i`` in place (no temporary array)."""
    for i in range(a.shape[0]):
        a[i] = i
