"""Kernels of the interventions (docs/MODEL.md "Interventions") and of pluripotent cells' fate.

Each acts on one tissue's cells (the tuple of kernels/day.py, or its index arrays) and
draws event counts
from binomials, then the cells from their state's segment: the cost is proportional to the
cells affected, except the partial-reprogramming on-day, which touches every cell's clock.
"""

from __future__ import annotations

import math

from .jit import njit
from .layout import (
    C_DEDIFFERENTIATED,
    C_INSULT,
    C_OFF_TARGET,
    C_REDIFFERENTIATED,
    C_REPROGRAMMED,
    C_TERATOMAS,
    CYCLING,
    EMPTY,
    P_EMBRYONIC_TELOMERE_BP,
    P_REDIFFERENTIATION_DELAY_DAYS,
    P_TELOMERE_RESET_FRACTION,
    P_TERATOMA_PROBABILITY,
    P_THRESHOLD_BP,
    PLURIPOTENT,
    SENESCENT,
    STEM,
    TRANSFORMED,
)
from .segments import count, draw_fraction, move, remove_fraction, sample_distinct


@njit(cache=True)
def senolytic_dose(state, order, pos, seg, efficacy, off_target, rng, counters, cause_counter):
    """One dose: senescent cells die with ``efficacy``, competent ones with ``off_target``."""
    counters[cause_counter] += remove_fraction(state, order, pos, seg, SENESCENT, efficacy, rng)
    if off_target > 0.0:
        k = remove_fraction(state, order, pos, seg, CYCLING, off_target, rng)
        k += remove_fraction(state, order, pos, seg, STEM, off_target, rng)
        counters[C_OFF_TARGET] += k


@njit(cache=True)
def insult(state, order, pos, seg, fraction, rng, counters):
    """Each CYCLING or STEM cell becomes SENESCENT with probability ``fraction``."""
    for s in (CYCLING, STEM):
        n = count(seg, s)
        if n == 0:
            continue
        k = rng.binomial(n, fraction)
        hit = sample_distinct(order, pos, seg, s, k, rng)
        for j in range(hit.shape[0]):
            move(order, pos, seg, state, hit[j], SENESCENT)
        counters[C_INSULT] += k


@njit(cache=True)
def make_pluripotent(cells, p, i, day):
    """Reprogram cell ``i`` fully: telomere toward the embryonic length, epigenetic age 0
    (its clock restarts today, which also times its redifferentiation), divisions 0."""
    state, telomere_bp, divisions, epi_origin_day, _, order, pos, seg = cells
    target = p[P_EMBRYONIC_TELOMERE_BP]
    reset = p[P_TELOMERE_RESET_FRACTION]
    t = telomere_bp[i]
    telomere_bp[i] = t + reset * (target - t) if t < target else t  # not `if`: processes.py
    epi_origin_day[i] = day
    divisions[i] = 0
    move(order, pos, seg, state, i, PLURIPOTENT)


@njit(cache=True)
def convert_fraction(cells, p, s, prob, day, rng):
    """Each cell of state ``s`` becomes PLURIPOTENT with probability ``prob``; returns count."""
    hit = draw_fraction(cells[5], cells[6], cells[7], s, prob, rng)
    for j in range(hit.shape[0]):
        make_pluripotent(cells, p, hit[j], day)
    return hit.shape[0]


@njit(cache=True)
def full_reprogramming(cells, p, efficiency, day, rng, counters):
    """One OSKM course: CYCLING, STEM and SENESCENT cells convert with ``efficiency``."""
    k = 0
    for s in (CYCLING, STEM, SENESCENT):
        k += convert_fraction(cells, p, s, efficiency, day, rng)
    counters[C_REPROGRAMMED] += k


@njit(cache=True)
def partial_on_day(cells, p, day, setback_days, gain_bp, dediff_probability, rng, counters):
    """One on-day of partial reprogramming: clocks set back (not below 0), optional telomere
    gain, and full dedifferentiation of CYCLING/SENESCENT cells with ``dediff_probability``."""
    state, telomere_bp, _, epi_origin_day, _, _, _, _ = cells
    for i in range(state.shape[0]):
        if state[i] == EMPTY:
            continue
        origin = epi_origin_day[i] + setback_days
        epi_origin_day[i] = origin if origin < day else day
        if gain_bp > 0.0:
            telomere_bp[i] += gain_bp
    k = 0
    for s in (CYCLING, SENESCENT):
        k += convert_fraction(cells, p, s, dediff_probability, day, rng)
    counters[C_DEDIFFERENTIATED] += k


@njit(cache=True)
def redifferentiate(state, epi_origin_day, order, pos, seg, p, day, rng, counters):
    """PLURIPOTENT cells whose delay has passed become CYCLING, or TRANSFORMED (teratoma)
    with the teratoma probability. Their clock restarted at reprogramming, so the time
    since then is their epigenetic age."""
    n = count(seg, PLURIPOTENT)
    if n == 0:
        return
    lo = seg[PLURIPOTENT]
    ids = order[lo : lo + n].copy()
    delay = p[P_REDIFFERENTIATION_DELAY_DAYS]
    q = p[P_TERATOMA_PROBABILITY]
    for j in range(n):
        i = ids[j]
        if day - epi_origin_day[i] + 1e-9 >= delay:
            if q > 0.0 and rng.random() < q:
                move(order, pos, seg, state, i, TRANSFORMED)
                counters[C_TERATOMAS] += 1
            else:
                move(order, pos, seg, state, i, CYCLING)
                counters[C_REDIFFERENTIATED] += 1


@njit(cache=True)
def dedifferentiation_probability(p0, consecutive_on_days, identity_loss_days):
    """Per-on-day risk after ``k`` consecutive on-days: p0 * exp((k - 1) / tau), capped at 1."""
    x = p0 * math.exp((consecutive_on_days - 1) / identity_loss_days)
    return x if x < 1.0 else 1.0


@njit(cache=True)
def transplant(cells, p, fraction, donor_mean_bp, donor_sd_bp, founder_state, day, clone_base, rng):
    """Each slot, with probability ``fraction``, is given to a donor cell: its telomere
    ``max(0, Normal(donor_mean_bp, donor_sd_bp))``, no divisions, epigenetic age 0 at
    ``day``, clone ``clone_base + slot``, state ``founder_state`` (SENESCENT below the
    threshold). Whatever the slot held is gone (conditioning). Returns the count."""
    state, tel, div, epi, clone, order, pos, seg = cells
    n = state.shape[0]
    done = 0
    for i in range(n):
        if rng.random() < fraction:
            t = max(0.0, rng.normal(donor_mean_bp, donor_sd_bp))
            tel[i] = t
            div[i] = 0
            epi[i] = day
            clone[i] = clone_base + i
            move(order, pos, seg, state, i, founder_state if t >= p[P_THRESHOLD_BP] else SENESCENT)
            done += 1
    return done
