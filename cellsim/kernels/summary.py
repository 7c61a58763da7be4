"""One pass over a tissue's slots for the recorded trajectory columns.

Percentiles come from a fixed-width histogram (``HIST_BIN_BP`` wide), so a record costs one
cheap pass however many cells there are; the percentile error is at most one bin.
"""

from __future__ import annotations

import numpy as np

from .jit import njit
from .layout import CYCLING, EMPTY, STEM

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
    for i in range(state.shape[0]):
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
