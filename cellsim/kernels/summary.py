"""One pass over a tissue's slots for the recorded trajectory columns.

Percentiles come from a fixed-width histogram (``HIST_BIN_BP`` wide), so a record costs one
cheap pass however many cells there are; the percentile error is at most one bin. The
clonal structure of a compartment (``clone_summary``) sorts its competent cells' clone ids
(n log n, at records only).
"""

from __future__ import annotations

import numpy as np

from .jit import njit
from .layout import CYCLING, EMPTY, STEM, TRANSFORMED
from .prefetch import prefetch

PREFETCH_AHEAD = 64
"""Slots ahead that a pass over a tissue prefetches: the hardware's own prefetch did not
keep up with the strided record fields on this project's machine (a record pass over 1e6
cells fresh from memory took ~8 ms, ~2 ms with this; benchmarks/README.md)."""

HIST_BIN_BP = 10.0
HIST_BINS = 4000  # 0 .. 40 kb; longer telomeres land in the last bin

# Output vector layout of ``summarize``.
S_OCCUPIED = 0
S_TELOMERE_MEAN = 1
S_TELOMERE_P10 = 2
S_TELOMERE_P50 = 3
S_TELOMERE_P90 = 4
S_DIVISIONS_LEFT_MEAN = 5  # over the replicative pool (CYCLING + STEM)
S_EPI_AGE_MEAN = 6  # over occupied slots, days
S_DIVISIONS_MEAN = 7  # population doublings per occupied slot
N_SUMMARY = 8

# Output vector layout of ``clone_summary``.
K_CELLS = 0  # competent cells (CYCLING + STEM + TRANSFORMED)
K_CLONES = 1  # distinct clone ids among them
K_CLONES_FOR_HALF = 2  # the fewest clones whose cells make up at least half of them
K_LARGEST_SHARE = 3  # the largest clone's fraction of them (NaN without cells)
N_CLONE_SUMMARY = 4


@njit(cache=True)
def _percentile(hist, total, q):
    target = q * total
    acc = 0.0
    for b in range(hist.shape[0]):
        acc += hist[b]
        if acc >= target:
            return (b + 0.5) * HIST_BIN_BP
    return (hist.shape[0] - 0.5) * HIST_BIN_BP


@njit(cache=True)
def summarize(state, telomere_bp, divisions, epi_origin_day, day, threshold_bp, loss_mean_bp):
    """Telomere mean and percentiles, divisions left, epigenetic age over a tissue."""
    out = np.full(N_SUMMARY, np.nan)
    hist = np.zeros(HIST_BINS, dtype=np.int64)
    n_occ = 0
    n_pool = 0
    tel_sum = 0.0
    left_sum = 0.0
    origin_sum = 0.0
    div_sum = 0.0
    n = state.shape[0]
    for i in range(n):
        if i + PREFETCH_AHEAD < n:
            prefetch(telomere_bp, i + PREFETCH_AHEAD)
        s = state[i]
        if s == EMPTY:
            continue
        n_occ += 1
        t = telomere_bp[i]
        tel_sum += t
        b = np.int64(t / HIST_BIN_BP)
        if b < 0:
            b = 0
        elif b >= HIST_BINS:
            b = HIST_BINS - 1
        hist[b] += 1
        origin_sum += epi_origin_day[i]
        div_sum += divisions[i]
        if s == CYCLING or s == STEM:
            n_pool += 1
            room = t - threshold_bp
            if room > 0.0:
                left_sum += room
    out[S_OCCUPIED] = n_occ
    if n_occ > 0:
        out[S_TELOMERE_MEAN] = tel_sum / n_occ
        out[S_TELOMERE_P10] = _percentile(hist, n_occ, 0.10)
        out[S_TELOMERE_P50] = _percentile(hist, n_occ, 0.50)
        out[S_TELOMERE_P90] = _percentile(hist, n_occ, 0.90)
        out[S_EPI_AGE_MEAN] = day - origin_sum / n_occ
        out[S_DIVISIONS_MEAN] = div_sum / n_occ
    if n_pool > 0 and loss_mean_bp > 0.0:
        out[S_DIVISIONS_LEFT_MEAN] = left_sum / n_pool / loss_mean_bp
    return out


@njit(cache=True)
def telomere_histogram(state, telomere_bp):
    """Counts of occupied slots' telomere lengths in ``HIST_BIN_BP`` bins."""
    hist = np.zeros(HIST_BINS, dtype=np.int64)
    for i in range(state.shape[0]):
        if state[i] != EMPTY:
            b = np.int64(telomere_bp[i] / HIST_BIN_BP)
            b = min(max(b, 0), HIST_BINS - 1)
            hist[b] += 1
    return hist


@njit(cache=True)
def clone_summary(state, clone):
    """The clonal structure of a tissue's competent cells (CYCLING, STEM, TRANSFORMED):
    their number, the distinct clone ids among them, the fewest clones that make up at
    least half of them, and the largest clone's share (``K_*``; the same measures as
    ``analysis.clones.clone_structure``)."""
    out = np.zeros(N_CLONE_SUMMARY)
    n = 0
    for i in range(state.shape[0]):
        if state[i] >= CYCLING and state[i] <= TRANSFORMED:
            n += 1
    out[K_CELLS] = n
    if n == 0:
        out[K_LARGEST_SHARE] = np.nan
        return out
    ids = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(state.shape[0]):
        if state[i] >= CYCLING and state[i] <= TRANSFORMED:
            ids[k] = clone[i]
            k += 1
    ids.sort()
    sizes = np.empty(n, dtype=np.int64)
    m = 0
    run = 1
    for k in range(1, n):
        if ids[k] == ids[k - 1]:
            run += 1
        else:
            sizes[m] = run
            m += 1
            run = 1
    sizes[m] = run
    m += 1
    sizes = np.sort(sizes[:m])[::-1]
    acc = 0
    half = 0
    for k in range(m):
        acc += sizes[k]
        if acc >= n / 2.0:
            half = k + 1
            break
    out[K_CLONES] = m
    out[K_CLONES_FOR_HALF] = half
    out[K_LARGEST_SHARE] = sizes[0] / n
    return out
