"""Experiment (issue 14): the well-mixed event loop on records kept physically sorted by
state, against the engine's loop (``events.wellmixed_loop``: records by slot, ``order``
and ``pos`` as the index), in one process on the same tissue and the same random stream.

    .venv/bin/python benchmarks/sorted_layout.py          # 24-byte records
    M16=1 .venv/bin/python benchmarks/sorted_layout.py    # 16-byte records, state apart

In a well-mixed tissue a slot's identity carries no information, so the cells can live
in ``order``'s place order: a random cell of a state is one record read, a change of
state a swap of two records. Both loops make the same draws and end with the same
segment counts (printed). Prints ns of kernel CPU time per division, per round.
Not part of the engine: what a layout change would buy, measured before it is made.
"""

import math
import os
import sys
import time

import numpy as np
from numba import njit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from limit import engine_model, speed_tissue

from cellsim.kernels.events import stress_bound_per_day, wellmixed_loop
from cellsim.kernels.layout import (
    C_CLEARED_IMMUNE,
    C_DEATHS,
    C_DIVISIONS,
    C_REPLICATIVE,
    C_STRESS,
    C_TRANSFORMATIONS,
    CYCLING,
    EMPTY,
    P_CLEARANCE_HALF_SATURATION,
    P_CLEARANCE_RATE_PER_DAY,
    P_DEATH_RATE_PER_DAY,
    P_TRANSFORMED_DEATH_RATE_PER_DAY,
    PLURIPOTENT,
    SENESCENT,
    TRANSFORMED,
)
from cellsim.kernels.processes import (
    daughter_fate,
    division_loss_bp,
    draw_parent_place,
    stress_hazard_per_day,
)
from cellsim.kernels.segments import randint


@njit(inline="always")
def swap_rec(state, tel, div, epi, clone, a, b):
    s = state[a]
    state[a] = state[b]
    state[b] = s
    x = tel[a]
    tel[a] = tel[b]
    tel[b] = x
    d = div[a]
    div[a] = div[b]
    div[b] = d
    e = epi[a]
    epi[a] = epi[b]
    epi[b] = e
    c = clone[a]
    clone[a] = clone[b]
    clone[b] = c


@njit(inline="always")
def move_rec(state, tel, div, epi, clone, seg, i, t, watch=-1):
    """Move the record at place ``i`` to state ``t``'s segment by swaps at the segment
    boundaries; returns where the record at place ``watch`` is afterwards."""
    s = np.int64(state[i])
    while s < t:
        last = seg[s + 1] - 1
        swap_rec(state, tel, div, epi, clone, i, last)
        watch = i if watch == last else watch
        i = last
        seg[s + 1] -= 1
        s += 1
    while s > t:
        first = seg[s]
        swap_rec(state, tel, div, epi, clone, i, first)
        watch = i if watch == first else watch
        i = first
        seg[s] += 1
        s -= 1
    state[i] = t
    return watch


@njit
def sorted_loop(state, tel, div, epi, clone, seg, p, counters, t0, t1, rng):  # noqa: C901
    n_slots = state.shape[0]
    bound = stress_bound_per_day(p, t0, t1, False)
    death = p[P_DEATH_RATE_PER_DAY]
    death_tr = p[P_TRANSFORMED_DEATH_RATE_PER_DAY]
    r0 = p[P_CLEARANCE_RATE_PER_DAY]
    half = p[P_CLEARANCE_HALF_SATURATION]
    t = t0
    while True:
        n_pluri = seg[PLURIPOTENT + 1] - seg[PLURIPOTENT]
        n_sen = seg[SENESCENT + 1] - seg[SENESCENT]
        n_cyc = seg[CYCLING + 1] - seg[CYCLING]
        n_norm = seg[TRANSFORMED] - seg[CYCLING]
        n_tr = seg[TRANSFORMED + 1] - seg[TRANSFORMED]
        r_death = death * (n_pluri + n_norm)
        r_tr = death_tr * n_tr
        r_stress = bound * n_cyc
        r_clear = r0 / (1.0 + (n_sen / n_slots) / half) * n_sen
        total = r_death + r_tr + r_stress + r_clear
        if total <= 0.0:
            return
        t += -math.log(1.0 - rng.random()) / total
        if t > t1:
            return
        u = rng.random() * total
        if u < r_death:
            j = randint(rng, n_pluri + n_norm)
            child = seg[PLURIPOTENT] + j if j < n_pluri else seg[CYCLING] + j - n_pluri
            counters[C_DEATHS] += 1
        elif u < r_death + r_tr:
            child = seg[TRANSFORMED] + randint(rng, n_tr)
            counters[C_DEATHS] += 1
        elif u < r_death + r_tr + r_stress or n_sen == 0:
            if n_cyc > 0:
                i = seg[CYCLING] + randint(rng, n_cyc)
                if rng.random() * bound < stress_hazard_per_day(p, t, t - epi[i]):
                    move_rec(state, tel, div, epi, clone, seg, i, SENESCENT)
                    counters[C_STRESS] += 1
            continue
        else:
            child = seg[SENESCENT] + randint(rng, n_sen)
            counters[C_CLEARED_IMMUNE] += 1
        n_competent = n_norm + n_tr
        if n_competent < 2 and (n_competent == 0 or state[child] >= CYCLING):
            move_rec(state, tel, div, epi, clone, seg, child, EMPTY)
            continue
        parent = child
        while parent == child:
            parent = draw_parent_place(seg, p, rng)
        lineage = np.int64(state[parent])
        base = tel[parent]
        tel[parent] = base - division_loss_bp(p, lineage, rng)
        tel[child] = base - division_loss_bp(p, lineage, rng)
        div[parent] += 1
        div[child] = div[parent]
        epi[child] = epi[parent]
        clone[child] = clone[parent]
        counters[C_DIVISIONS] += 1
        # parent's fate, then child's (moves may swap the child's record)
        fate = daughter_fate(p, lineage, tel[parent], rng)
        counters[C_TRANSFORMATIONS] += (fate == TRANSFORMED) & (lineage != TRANSFORMED)
        counters[C_REPLICATIVE] += fate == SENESCENT
        if state[parent] != fate:  # the swaps may move the child's record: follow it
            child = move_rec(state, tel, div, epi, clone, seg, parent, fate, child)
        fate = daughter_fate(p, lineage, tel[child], rng)
        counters[C_TRANSFORMATIONS] += (fate == TRANSFORMED) & (lineage != TRANSFORMED)
        counters[C_REPLICATIVE] += fate == SENESCENT
        if state[child] != fate:
            move_rec(state, tel, div, epi, clone, seg, child, fate)


def run(n, days, rounds=3):
    model = engine_model(speed_tissue(n), 7, 36525.0)
    model.step()
    t = model.primary
    c = t.cells
    p = t.kernel_params
    # sorted copy
    rec2 = c.records[c.order].copy()
    seg2 = c.seg.copy()
    cnt2 = t.counters.copy()
    st, te, dv, ep, cl = (
        rec2[f] for f in ("state", "telomere_bp", "divisions", "epi_origin_day", "clone")
    )
    if MODE16:
        dt16 = np.dtype(
            [
                ("telomere_bp", "<f4"),
                ("divisions", "<i4"),
                ("epi_origin_day", "<f4"),
                ("clone", "<i4"),
            ]
        )
        r16 = np.zeros(n, dt16)
        for f in dt16.names:
            r16[f] = rec2[f]
        st = st.copy()
        te, dv, ep, cl = (r16[f] for f in dt16.names)
    rng2 = np.random.default_rng(99)
    rng1 = np.random.default_rng(99)
    day = float(model.age_days)
    # warm
    sorted_loop(st, te, dv, ep, cl, seg2, p, cnt2, day, day + 1, rng2)
    wellmixed_loop(
        c.state,
        c.telomere_bp,
        c.divisions,
        c.epi_origin_day,
        c.clone,
        c.order,
        c.pos,
        c.seg,
        p,
        t.counters,
        day,
        day + 1,
        rng1,
    )
    day += 1
    res = {
        "old": [],
        "sorted": [],
    }
    for _ in range(rounds):
        d0 = t.counters[C_DIVISIONS]
        c0 = time.process_time()
        for k in range(days):
            wellmixed_loop(
                c.state,
                c.telomere_bp,
                c.divisions,
                c.epi_origin_day,
                c.clone,
                c.order,
                c.pos,
                c.seg,
                p,
                t.counters,
                day + k,
                day + k + 1,
                rng1,
            )
        res["old"].append((time.process_time() - c0) / (t.counters[C_DIVISIONS] - d0) * 1e9)
        d0 = cnt2[C_DIVISIONS]
        c0 = time.process_time()
        for k in range(days):
            sorted_loop(st, te, dv, ep, cl, seg2, p, cnt2, day + k, day + k + 1, rng2)
        res["sorted"].append((time.process_time() - c0) / (cnt2[C_DIVISIONS] - d0) * 1e9)
        day += days
    print(n, {k: [round(x) for x in v] for k, v in res.items()}, "seg", c.seg, seg2, flush=True)


MODE16 = bool(os.environ.get("M16"))
if __name__ == "__main__":
    run(100_000, 300)
    run(1_000_000, 60)
    run(10_000_000, 8)
