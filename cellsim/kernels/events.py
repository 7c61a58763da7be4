"""The events of a step, in continuous time: exact for any step length.

Within a step, from ``t0`` to ``t1``, the tissues of a model are a continuous-time Markov
chain (the direct method of Gillespie 1977): the waiting time to the next event is
exponential at the total rate of every possible event of every tissue, the event is drawn
in proportion to its rate, applied, and the rates updated. The processes (docs/MODEL.md):

- turnover (process 2): each PLURIPOTENT, CYCLING and STEM cell dies at
  ``P_DEATH_RATE_PER_DAY``, each TRANSFORMED cell at ``P_TRANSFORMED_DEATH_RATE_PER_DAY``;
- stress senescence (3): each CYCLING cell becomes SENESCENT at ``stress_hazard_per_day``
  of the organism's age and the cell's epigenetic age *at the instant of the event* (plus,
  on a lattice, ``P_BYSTANDER_PER_DAY * m / 8`` for its ``m`` senescent neighbours at that
  instant); the hazard varies within the step, so candidates come at a bound that holds
  over the whole step (``stress_bound_per_day``) and each is kept with probability
  hazard / bound (thinning: exact, Lewis & Shedler 1979);
- immune clearance (4): each SENESCENT cell is removed at ``r0 / (1 + s / K)``, ``s`` the
  senescent fraction of the slots *at that instant* (updated after every event), or at
  ``r0`` when clearance does not saturate (``K`` infinite);
- a stem compartment's own divisions (``P_STEM_DIVISION_RATE_PER_DAY`` > 0): each STEM
  cell divides asymmetrically at ``r * (1 + (F - 1) * exp(-age / tau))`` (its daughter
  leaves the sample for the progenitors) and, while the pool grows after birth,
  symmetrically at ``g * exp(-age / tau)``, the daughter taking the place of another
  random STEM cell (a fixed-size sample of a growing pool: ``stem_division_event``);
  both hazards vary within the step, so they are thinned like stress; with selection, an
  asymmetric division gives the stem cell a driver with ``P_DRIVER_PROBABILITY`` (a new
  clone id from ``P_DRIVER_CLONE_BASE`` on), and each driver (fit) STEM cell divides
  symmetrically at ``P_SELECTION_PER_DAY`` more, its daughter replacing another random
  STEM cell; that rate enters every STEM cell's candidate bound (any may be fit) and a
  candidate that picks an unfit cell does nothing (thinning: no count of fit cells);
- replacement (6): the vacancy a death or a clearance leaves is filled at the same instant
  (in ``continuous_events``): with the probability ``share`` of a supplied tissue by an asymmetric
  division of a random STEM cell of its stem compartment, else by the division of a
  competent cell of the tissue (well-mixed: any, weighted by fitness; lattice: a Moore
  neighbour, else the slot stays vacant: a defect).

So a cell may die, be replaced and its replacement die again within one step; a cell may
senesce and be cleared within the step; nothing depends on the order of the processes or
on ``dt`` except the times at which interventions and records happen (step boundaries).
Work is proportional to the events, with one exponential and one uniform draw per event
on top of the event's own draws. Tissues advance together (one clock for the model), so
a stem compartment and the tissue it supplies interleave their events exactly.

The joint loop (``continuous_events``) picks a tissue per event, an index into the tuple
of tissues that costs an atomic reference count per array wherever Numba copies one;
refcount pruning removes none of those in a loop this branchy. It runs on ``borrowed``
copies of its arguments (no reference counting), with the filling of a vacancy written
out in it (``supply_one`` or ``local_fill``).
"""

from __future__ import annotations

import math

import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic

from .grid import MAX_NEIGHBOURS, senescent_neighbours
from .jit import njit
from .lattice import neighbour_parent, neighbour_weights
from .layout import (
    C_CLEARED_IMMUNE,
    C_DEATHS,
    C_DIVISIONS,
    C_DRIVER_CLONES,
    C_REPLICATIVE,
    C_STRESS,
    C_SUPPLIED_OUT,
    C_TRANSFORMATIONS,
    CYCLING,
    EMPTY,
    P_BYSTANDER_PER_DAY,
    P_CHILDHOOD_FACTOR,
    P_CHILDHOOD_TIMESCALE_DAYS,
    P_CLEARANCE_HALF_SATURATION,
    P_CLEARANCE_RATE_PER_DAY,
    P_DEATH_RATE_PER_DAY,
    P_DRIVER_CLONE_BASE,
    P_DRIVER_PROBABILITY,
    P_EPI_ORIGIN_FLOOR_DAY,
    P_POOL_GROWTH_PER_DAY,
    P_SELECTION_PER_DAY,
    P_STEM_DIVISION_RATE_PER_DAY,
    P_TRANSFORMED_DEATH_RATE_PER_DAY,
    PLURIPOTENT,
    SEG_PLACED,
    SENESCENT,
    STEM,
    TRANSFORMED,
)
from .prefetch import prefetch
from .processes import (
    daughter_fate,
    divide_into,
    division_loss_bp,
    draw_parent_place,
    parent_place_at,
    settle_daughter,
    stress_hazard_per_day,
    supply_division,
)
from .segments import count, move, move_record, place_in_order, randint, uniform_index


def _borrow(context, builder, ty, value):
    """``value`` (of Numba type ``ty``) with every array's and Generator's memory-info
    pointer NULL (tuples member by member); other values get a reference of their own."""
    if isinstance(ty, types.BaseTuple):
        out = value
        for i, member in enumerate(ty):
            part = _borrow(context, builder, member, builder.extract_value(value, i))
            out = builder.insert_value(out, part, i)
        return out
    if isinstance(ty, (types.Array, types.NumPyRandomGeneratorType)):
        proxy = cgutils.create_struct_proxy(ty)(context, builder, value=value)
        proxy.meminfo = cgutils.get_null_value(proxy.meminfo.type)
        return proxy._getvalue()
    context.nrt.incref(builder, ty, value)
    return value


@intrinsic
def borrowed(typingctx, value):
    """``value`` (arrays, a Generator, tuples of them) as borrowed references: the same
    data with no memory-info pointer, so that the reference counting of every copy Numba
    makes of it is a test of NULL instead of an atomic operation (processes.py, "Speed").
    Only for a value its owner keeps alive meanwhile (a kernel's own argument) and that
    nothing keeps or returns."""

    def codegen(context, builder, signature, args):
        return _borrow(context, builder, signature.args[0], args[0])

    return value(value), codegen


@njit(cache=True, inline="always")
def clearance_hazard_per_day(p, n_senescent, n_slots):
    """Per-cell immune clearance hazard ``r0 / (1 + s / K)`` at senescent fraction
    ``s = n_senescent / n_slots`` (Karin 2019; ``K`` infinite: constant ``r0``)."""
    s = n_senescent / n_slots
    return p[P_CLEARANCE_RATE_PER_DAY] / (1.0 + s / p[P_CLEARANCE_HALF_SATURATION])


@njit(cache=True)
def stress_bound_per_day(p, t0, t1, lattice):
    """An upper bound of a CYCLING cell's stress hazard from day ``t0`` to ``t1``: the
    hazard is linear in organism age and in epigenetic age (from 0 to ``t - floor``), so
    its maximum sits at a corner; plus the full bystander term on a lattice."""
    floor = p[P_EPI_ORIGIN_FLOOR_DAY]
    h = 0.0
    for t in (t0, t1):
        for epi in (0.0, max(t - floor, 0.0)):
            h = max(h, stress_hazard_per_day(p, t, epi))
    if lattice:
        h += p[P_BYSTANDER_PER_DAY]
    return h


@njit(cache=True, inline="always")
def stem_division_hazards_per_day(p, t):
    """(asymmetric, pool-growth) division hazards of one STEM cell of a compartment with
    a division clock at organism age ``t`` days: ``r * (1 + (F - 1) * e)`` and ``g * e``,
    ``e = exp(-t / tau)`` (both 0 without a clock)."""
    e = math.exp(-t / p[P_CHILDHOOD_TIMESCALE_DAYS])
    r = p[P_STEM_DIVISION_RATE_PER_DAY]
    return r * (1.0 + (p[P_CHILDHOOD_FACTOR] - 1.0) * e), p[P_POOL_GROWTH_PER_DAY] * e


@njit(cache=True)
def stem_bound_per_day(p, t0, t1):
    """An upper bound of a STEM cell's division hazard from day ``t0`` to ``t1``: the sum
    of ``stem_division_hazards_per_day`` is ``r + c * exp(-t / tau)``, monotone in ``t``,
    so its maximum sits at an end of the step, plus the selective divisions'
    ``P_SELECTION_PER_DAY`` (every STEM cell counts as possibly fit; 0 without a clock)."""
    if p[P_STEM_DIVISION_RATE_PER_DAY] <= 0.0:
        return 0.0
    a0, g0 = stem_division_hazards_per_day(p, t0)
    a1, g1 = stem_division_hazards_per_day(p, t1)
    return max(a0 + g0, a1 + g1) + p[P_SELECTION_PER_DAY]


@njit(cache=True, inline="always")
def tissue_rate_per_day(seg, p, n_slots, stress_bound, stem_bound):
    """Total rate of the next event of one tissue: deaths, stress candidates, clearances,
    stem-division candidates (last)."""
    n_sen = count(seg, SENESCENT)
    return tissue_rate_at_clearance(
        seg, p, stress_bound, stem_bound, clearance_hazard_per_day(p, n_sen, n_slots)
    )


@njit(cache=True, inline="always")
def tissue_rate_at_clearance(seg, p, stress_bound, stem_bound, clearance_per_day):
    """``tissue_rate_per_day`` with the per-cell clearance hazard given (0 for the rate
    without clearance that ``note_tissue`` keeps under a shared immune system)."""
    n_mortal = count(seg, PLURIPOTENT) + count(seg, CYCLING) + count(seg, STEM)
    return (
        p[P_DEATH_RATE_PER_DAY] * n_mortal
        + p[P_TRANSFORMED_DEATH_RATE_PER_DAY] * count(seg, TRANSFORMED)
        + stress_bound * count(seg, CYCLING)
        + clearance_per_day * count(seg, SENESCENT)
        + stem_bound * count(seg, STEM)
    )


@njit(cache=True, inline="always")
def note_tissue(seg, p, stress_bound, stem_bound, k, r0, n_sen, base):
    """Keep tissue ``k``'s clearance rate ``r0``, SENESCENT count and rate without
    clearance (``base``) in the shared immune system's arrays (``shared_rates``)."""
    r0[k] = p[P_CLEARANCE_RATE_PER_DAY]
    n_sen[k] = count(seg, SENESCENT)
    base[k] = tissue_rate_at_clearance(seg, p, stress_bound, stem_bound, 0.0)


@njit(cache=True, inline="always")
def shared_rates(immune, r0, n_sen, base, rate):
    """Every tissue's total rate (``rate``, in place) under a shared immune system
    (``immune``: per-tissue weights and saturation flags, the body's K), from each
    tissue's ``note_tissue`` entries: its rate without clearance plus its SENESCENT cells
    at ``r0 / (1 + S / K)``, ``S`` the body's burden: each tissue's SENESCENT count times
    its weight (its scale factor over the body's weighted slots; 0 outside the burden),
    summed (``r0`` where the tissue's clearance does not saturate: its flag 0)."""
    weight, saturates, half = immune
    s = 0.0
    for k in range(rate.shape[0]):
        s += weight[k] * n_sen[k]
    for k in range(rate.shape[0]):
        rate[k] = base[k] + r0[k] / (1.0 + saturates[k] * s / half) * n_sen[k]


@njit(cache=True, inline="always")
def stem_division_event(cells, p, counters, bound, t, rng):
    """A stem-division candidate of a compartment with a clock at day ``t``, proposed at
    ``bound`` per STEM cell: a random STEM cell divides asymmetrically with probability
    ``asymmetric(t) / bound`` (it loses a stem-rate division loss and counts a division;
    the other daughter leaves the sample: ``supplied_out``), or symmetrically with
    probability ``growth(t) / bound``, its daughter replacing another random STEM cell
    (``divide_into``), or, if it is a driver (fit) cell, symmetrically in the same way
    with probability ``P_SELECTION_PER_DAY / bound``; else nothing happens (thinning).

    An asymmetric division gives the stem cell a driver with ``P_DRIVER_PROBABILITY``
    (drawn only when that is > 0): unless it carries one already, it takes the next
    driver clone id, ``P_DRIVER_CLONE_BASE`` + the tissue's ``C_DRIVER_CLONES`` counter,
    which its daughters inherit; ids from the base on are fit."""
    state, tel, div, _, clone, order, pos, seg = cells
    n_stem = count(seg, STEM)
    asymmetric, growth = stem_division_hazards_per_day(p, t)
    selection = p[P_SELECTION_PER_DAY]
    q = p[P_DRIVER_PROBABILITY]
    base = np.int64(p[P_DRIVER_CLONE_BASE])
    if n_stem > 0:  # (not an early return: see processes.py, "Speed")
        v = rng.random() * bound
        i = pick(order, seg, STEM, rng)
        if v < asymmetric:
            tel[i] -= division_loss_bp(p, STEM, tel[i], rng)
            div[i] += 1
            counters[C_DIVISIONS] += 1
            counters[C_SUPPLIED_OUT] += 1
            settle_daughter(state, tel, order, pos, seg, p, i, STEM, rng, counters)
            driver = rng.random() < q if q > 0.0 else False
            if driver and clone[i] < base:
                clone[i] = base + counters[C_DRIVER_CLONES]
                counters[C_DRIVER_CLONES] += 1
        elif v < asymmetric + growth + selection and n_stem >= 2:
            if v < asymmetric + growth or clone[i] >= base:
                j = i
                while j == i:
                    j = pick(order, seg, STEM, rng)
                divide_into(cells, p, i, j, rng, counters)


@njit(cache=True, inline="always")
def pick(order, seg, s, rng):
    """A uniformly random slot among the cells of state ``s`` (which must have one)."""
    return order[seg[s] + randint(rng, count(seg, s))]


@njit(cache=True, inline="always")
def event(
    state, epi_origin_day, order, pos, seg, p, width, height, torus, bound, t, u, rng, counters
):
    """Apply one event of a tissue (its index arrays) at day ``t``; ``u`` is uniform on
    [0, ``tissue_rate_per_day``) and chooses the event: a death, a stress candidate kept
    with probability hazard / ``bound`` (with the bystander term on a lattice,
    ``width > 0``), or a clearance. Returns the slot left vacant (now EMPTY) or -1."""
    n_pluri = count(seg, PLURIPOTENT)
    n_norm = count(seg, CYCLING) + count(seg, STEM)
    n_tr = count(seg, TRANSFORMED)
    n_cyc = count(seg, CYCLING)
    r_death = p[P_DEATH_RATE_PER_DAY] * (n_pluri + n_norm)
    r_tr = p[P_TRANSFORMED_DEATH_RATE_PER_DAY] * n_tr
    r_stress = bound * n_cyc
    child = -1
    if u < r_death:  # death of a PLURIPOTENT, CYCLING or STEM cell
        j = randint(rng, n_pluri + n_norm)
        k = seg[PLURIPOTENT] + j if j < n_pluri else seg[CYCLING] + j - n_pluri
        child = order[k]
        counters[C_DEATHS] += 1
    elif u < r_death + r_tr:
        child = pick(order, seg, TRANSFORMED, rng)
        counters[C_DEATHS] += 1
    elif u < r_death + r_tr + r_stress or count(seg, SENESCENT) == 0:
        if n_cyc > 0:  # a stress candidate (rounding lands here too)
            i = pick(order, seg, CYCLING, rng)
            h = stress_hazard_per_day(p, t, t - epi_origin_day[i])
            if width > 0:
                row = i // width
                m = senescent_neighbours(state, row, i - row * width, width, height, torus)
                h += p[P_BYSTANDER_PER_DAY] * m / MAX_NEIGHBOURS
            if rng.random() * bound < h:
                move(order, pos, seg, state, i, SENESCENT)
                counters[C_STRESS] += 1
    else:
        child = pick(order, seg, SENESCENT, rng)  # clearance
        counters[C_CLEARED_IMMUNE] += 1
    if child >= 0:
        move(order, pos, seg, state, child, EMPTY)
    return child


@njit(cache=True, inline="always")
def supply_one(source, s_p, target, t_p, child, clone_offset, rng, s_counters, t_counters):
    """Vacancy ``child`` of the ``target`` cells is filled by an asymmetric division of a
    random STEM cell of the ``source`` compartment (which must have one): the stem cell
    stays STEM, the other daughter enters as CYCLING (clone ``clone_offset + stem clone``);
    both lose telomere at the stem cells' rate and settle (``settle_daughter``)."""
    parent = pick(source[5], source[7], STEM, rng)
    supply_division(
        source, s_p, target, t_p, parent, child, clone_offset, rng, s_counters, t_counters
    )


@njit(cache=True, inline="always")
def local_division(cells, p, width, height, torus, mark, child, nb, w, rng, counters):
    """Vacancy ``child`` is filled by the division of a competent cell of its tissue
    (well-mixed: ``draw_parent_place``; lattice: a Moore neighbour, weighted as in
    ``lattice.neighbour_weights`` with every present cell eligible: ``mark`` is the
    lattice's pass stamp, read at epoch -1, which no pass uses). Returns False when there
    is none (the slot stays vacant)."""
    order = cells[5]
    if width == 0:
        place = draw_parent_place(cells[7], p, rng)
        if place < 0:
            return False
        divide_into(cells, p, order[place], child, rng, counters)
        return True
    row = child // width
    total = neighbour_weights(
        cells[0], p, row, child - row * width, width, height, torus, mark, -1, nb, w
    )
    if total <= 0.0:
        return False
    divide_into(cells, p, neighbour_parent(nb, w, total, rng), child, rng, counters)
    return True


@njit(cache=True)
def geometry_of(geometry):
    """``(width, height, torus)`` of a tissue's geometry (``(0, 0, False)``: well-mixed)."""
    if geometry is None:
        return 0, 0, False
    width, height, torus, _, _ = geometry
    return width, height, torus


@njit(cache=True)
def lattice_mark(geometry, fallback):
    """The lattice's pass stamps (read at epoch -1 by ``neighbour_weights``: every
    present cell may divide), or ``fallback`` for a well-mixed tissue (never read)."""
    if geometry is None:
        return fallback
    return geometry[3]


@njit(cache=True)
def local_fill(cells, p, geometry, child, nb, w, rng, counters):
    """``local_division`` with the tissue's geometry unpacked."""
    if geometry is None:
        return local_division(cells, p, 0, 0, False, nb, child, nb, w, rng, counters)
    width, height, torus, mark, _ = geometry
    return local_division(cells, p, width, height, torus, mark, child, nb, w, rng, counters)


@njit(cache=True)
def wellmixed_events(cells, p, counters, t0, t1, rng):
    """``wellmixed_loop`` on a tissue's cell tuple."""
    state, tel, div, epi, clone, order, pos, seg = cells
    wellmixed_loop(state, tel, div, epi, clone, order, pos, seg, p, counters, t0, t1, rng)


LOOKAHEAD = 4
"""Events ahead whose uniforms ``wellmixed_loop`` draws and whose records it prefetches
(benchmarks/README.md: one event ahead is too short to hide a miss at 1e6 cells; 2, 3
and 4 ahead measured alike at 1e6, 3 and 4 alike at 1e7)."""


@njit(cache=True, inline="always")
def wellmixed_event_place(seg, x, u_cell, r_death, r_tr, r_stress):
    """The event of a well-mixed tissue that ``x`` (a uniform times the total rate)
    picks, and the place of the cell the uniform ``u_cell`` picks for it: ``(kind,
    place)``, kind 0 the death of a PLURIPOTENT, CYCLING or STEM cell, 1 of a TRANSFORMED
    cell, 2 a stress candidate (a CYCLING cell; place -1 when there is none; rounding
    lands here too), 3 the clearance of a SENESCENT cell."""
    n_pluri = seg[PLURIPOTENT + 1] - seg[PLURIPOTENT]
    n_norm = seg[TRANSFORMED] - seg[CYCLING]  # CYCLING + STEM
    n_sen = seg[SENESCENT + 1] - seg[SENESCENT]
    if x < r_death:
        j = uniform_index(u_cell, n_pluri + n_norm)
        return 0, seg[PLURIPOTENT] + j if j < n_pluri else seg[CYCLING] + j - n_pluri
    if x < r_death + r_tr:
        return 1, seg[TRANSFORMED] + uniform_index(u_cell, seg[TRANSFORMED + 1] - seg[TRANSFORMED])
    if x < r_death + r_tr + r_stress or n_sen == 0:
        n_cyc = seg[CYCLING + 1] - seg[CYCLING]
        return 2, seg[CYCLING] + uniform_index(u_cell, n_cyc) if n_cyc > 0 else -1
    return 3, seg[SENESCENT] + uniform_index(u_cell, n_sen)


@njit(cache=True)
def wellmixed_loop(state, tel, div, epi, clone, order, pos, seg, p, counters, t0, t1, rng):
    """``tissue_events`` for a well-mixed tissue, as one flat loop over arrays held in
    local variables (the fast path: issue 14, benchmarks/README.md).

    The cells are kept stored at their places (``segments.place_in_order`` first if
    anything has reordered ``order`` since the last call): a cell of a state is the
    record at a random place of its segment, and a change of state moves the record
    (``segments.move_record``). Slots are only storage in a well-mixed tissue, so this
    is the chain of ``event`` and ``continuous_events``' vacancy filling.

    Look-ahead: the four uniforms that decide an event (its waiting time, its kind, its
    cell, the first draw of its parent) are drawn ``LOOKAHEAD`` events early, and the
    records they will pick under the counts of then are prefetched (``prefetch``) while
    the events in between run; the picks themselves are made with the counts at the
    event. Each uniform is independent of everything that happens before it is used, so
    the law is that of the chain; the random stream differs from ``event``'s (which draws
    them at the event), and the uniforms drawn ahead at the end of a call are not used.

    One difference of bookkeeping, not of law: a cell that dies or is cleared is
    replaced *in place*, its slot taking the new daughter's fields, instead of moving
    to EMPTY and back; a slot changes segment only when the daughter's state differs
    from the dead cell's. The parent is drawn among the competent cells other than the
    dead one (rejection of the dead cell itself, exact), as when the dead cell had left
    its segment first. With no other competent cell the slot becomes EMPTY, a vacancy
    that stays.
    """
    if seg[SEG_PLACED] == 0:
        place_in_order(state, tel, div, epi, clone, order, pos, seg)
    n_slots = state.shape[0]
    bound = stress_bound_per_day(p, t0, t1, False)
    death = p[P_DEATH_RATE_PER_DAY]
    death_tr = p[P_TRANSFORMED_DEATH_RATE_PER_DAY]
    r0 = p[P_CLEARANCE_RATE_PER_DAY]
    half = p[P_CLEARANCE_HALF_SATURATION]
    t = t0
    # the uniforms of the next LOOKAHEAD events (waiting time, kind, cell, parent), a ring
    # (drawn at the first event: a tissue where nothing can happen draws nothing)
    ring = np.empty((LOOKAHEAD, 4))
    primed = False
    k = 0
    while True:
        n_pluri = seg[PLURIPOTENT + 1] - seg[PLURIPOTENT]
        n_sen = seg[SENESCENT + 1] - seg[SENESCENT]
        n_cyc = seg[CYCLING + 1] - seg[CYCLING]
        n_norm = seg[TRANSFORMED] - seg[CYCLING]  # CYCLING + STEM
        n_tr = seg[TRANSFORMED + 1] - seg[TRANSFORMED]
        r_death = death * (n_pluri + n_norm)
        r_tr = death_tr * n_tr
        r_stress = bound * n_cyc
        r_clear = r0 / (1.0 + (n_sen / n_slots) / half) * n_sen
        total = r_death + r_tr + r_stress + r_clear
        if total <= 0.0:
            return
        if not primed:
            for j in range(LOOKAHEAD):
                for q in range(4):
                    ring[j, q] = rng.random()
            primed = True
        t += -math.log(1.0 - ring[k, 0]) / total
        if t > t1:
            return
        kind, child = wellmixed_event_place(
            seg, ring[k, 1] * total, ring[k, 2], r_death, r_tr, r_stress
        )
        u_parent = ring[k, 3]
        # this slot now holds the uniforms of the event LOOKAHEAD events on; the records
        # they will most likely pick (under the present counts) load meanwhile
        for q in range(4):
            ring[k, q] = rng.random()
        _, ahead = wellmixed_event_place(
            seg, ring[k, 1] * total, ring[k, 2], r_death, r_tr, r_stress
        )
        if ahead >= 0:
            prefetch(tel, ahead)
        ahead = parent_place_at(seg, p, ring[k, 3])
        if ahead >= 0:
            prefetch(tel, ahead)
        k = k + 1 if k + 1 < LOOKAHEAD else 0
        if kind == 2:  # a stress candidate
            if child >= 0 and rng.random() * bound < stress_hazard_per_day(p, t, t - epi[child]):
                move_record(state, tel, div, epi, clone, seg, child, SENESCENT, -1)
                counters[C_STRESS] += 1
            continue
        if kind == 3:
            counters[C_CLEARED_IMMUNE] += 1
        else:
            counters[C_DEATHS] += 1
        # the parent: a competent cell other than the dead one
        n_competent = n_norm + n_tr
        if n_competent < 2 and (n_competent == 0 or state[child] >= CYCLING):
            move_record(state, tel, div, epi, clone, seg, child, EMPTY, -1)  # a vacancy
            continue
        parent = parent_place_at(seg, p, u_parent)
        while parent == child:
            parent = draw_parent_place(seg, p, rng)
        lineage = np.int64(state[parent])
        base = tel[parent]
        tel[parent] = base - division_loss_bp(p, lineage, base, rng)
        tel[child] = base - division_loss_bp(p, lineage, base, rng)
        div[parent] += 1
        div[child] = div[parent]
        epi[child] = epi[parent]
        clone[child] = clone[parent]
        counters[C_DIVISIONS] += 1
        # each daughter's fate, the parent's first; only a change of state moves a cell,
        # and the parent's move may carry the child's record along: follow it
        fate = daughter_fate(p, lineage, tel[parent], rng)
        counters[C_TRANSFORMATIONS] += (fate == TRANSFORMED) & (lineage != TRANSFORMED)
        counters[C_REPLICATIVE] += fate == SENESCENT
        if state[parent] != fate:
            child = move_record(state, tel, div, epi, clone, seg, parent, fate, child)
        fate = daughter_fate(p, lineage, tel[child], rng)
        counters[C_TRANSFORMATIONS] += (fate == TRANSFORMED) & (lineage != TRANSFORMED)
        counters[C_REPLICATIVE] += fate == SENESCENT
        if state[child] != fate:
            move_record(state, tel, div, epi, clone, seg, child, fate, -1)


@njit(cache=True)
def tissue_events(cells, p, counters, geometry, t0, t1, rng):
    """Every event of one tissue that no other tissue supplies or draws on, from day
    ``t0`` to ``t1``: the chain of ``continuous_events`` for one tissue, written out in
    loops over arrays held in local variables (``wellmixed_events``; here for a lattice),
    calling the prune-safe helpers of processes.py ("Speed"); ``continuous_events`` serves
    the linked tissues."""
    width, height, torus = geometry_of(geometry)
    if width == 0:
        wellmixed_events(cells, p, counters, t0, t1, rng)
        return
    state, _, _, epi_origin_day, _, order, pos, seg = cells
    n_slots = state.shape[0]
    bound = stress_bound_per_day(p, t0, t1, True)
    nb = np.empty(MAX_NEIGHBOURS, dtype=np.int64)
    w = np.empty(MAX_NEIGHBOURS)
    mark = lattice_mark(geometry, np.empty(0, dtype=np.int32))
    t = t0
    while True:
        total = tissue_rate_per_day(seg, p, n_slots, bound, 0.0)
        if total <= 0.0:
            break
        t += -math.log(1.0 - rng.random()) / total
        if t > t1:
            break
        u = rng.random() * total
        child = event(
            state, epi_origin_day, order, pos, seg, p, width, height, torus, bound, t, u, rng,
            counters,
        )  # fmt: skip
        if child < 0:
            continue
        row = child // width
        wsum = neighbour_weights(
            state, p, row, child - row * width, width, height, torus, mark, -1, nb, w
        )
        if wsum > 0.0:
            divide_into(cells, p, neighbour_parent(nb, w, wsum, rng), child, rng, counters)


@njit(cache=True)
def continuous_events(tissues, links, immune, t0, t1, rng):
    """Every event of every tissue from day ``t0`` to day ``t1`` (see the module text).
    Tissues that no stem compartment links and no shared immune system couples
    (``immune`` None) are independent processes: each runs its own loop
    (``tissue_events``), which is the same chain. (A model with a stem division clock
    always has ``links``: the clock's events are this loop's.) With ``immune`` (a tuple
    of per-tissue weights, per-tissue saturation flags and the body's half-saturation
    fraction), every clearance hazard follows the body's senescent burden, so every
    tissue's rate is renewed after each event (``shared_rates``).

    Per event, the tissue is indexed once and unpacked, the vacancy filled at once (from
    the stem compartment with the probability ``share``, when it has a STEM cell, else
    by a local division), and a source's rate renewed only when it
    supplied (else it has not changed). The loop works on ``borrowed`` copies of its
    arguments (the caller keeps them alive): a copy's reference count is a test of NULL,
    not an atomic operation (processes.py, "Speed")."""
    n = len(tissues)
    if immune is None:
        if links is None:
            for k in range(n):
                cells, p, counters, geometry = tissues[k]
                tissue_events(cells, p, counters, geometry, t0, t1, rng)
            return
    # the arguments live until this call returns: copies of them need no reference counts
    tissues = borrowed(tissues)
    rng = borrowed(rng)
    bound = np.empty(n)
    sbound = np.empty(n)
    rate = np.empty(n)
    widths = np.zeros(n, dtype=np.int64)
    heights = np.zeros(n, dtype=np.int64)
    tori = np.zeros(n, dtype=np.bool_)
    for k in range(n):
        cells, p, _, geometry = tissues[k]
        widths[k], heights[k], tori[k] = geometry_of(geometry)
        bound[k] = stress_bound_per_day(p, t0, t1, widths[k] > 0)
        sbound[k] = stem_bound_per_day(p, t0, t1)
        rate[k] = tissue_rate_per_day(cells[7], p, cells[0].shape[0], bound[k], sbound[k])
    r0 = np.zeros(n)
    n_sen = np.zeros(n)
    base = np.zeros(n)
    if immune is not None:
        for k in range(n):
            cells, p, _, _ = tissues[k]
            note_tissue(cells[7], p, bound[k], sbound[k], k, r0, n_sen, base)
        shared_rates(immune, r0, n_sen, base, rate)
    if links is not None:
        source, share, clone_offset = borrowed(links)
    if immune is not None:
        coupling = borrowed(immune)
    nb = np.empty(MAX_NEIGHBOURS, dtype=np.int64)
    w = np.empty(MAX_NEIGHBOURS)
    t = t0
    while True:
        total = 0.0
        for k in range(n):
            total += rate[k]
        if total <= 0.0:
            break
        t += -math.log(1.0 - rng.random()) / total
        if t > t1:
            break
        u = rng.random() * total
        k = 0
        while k < n - 1 and u >= rate[k]:
            u -= rate[k]
            k += 1
        tissue = tissues[k]  # indexed once per event (each index costs reference counts)
        cells = tissue[0]
        p = tissue[1]
        counters = tissue[2]
        state, _, _, epi_origin_day, _, order, pos, seg = cells
        r_stem = sbound[k] * count(seg, STEM)
        if r_stem > 0.0 and u >= rate[k] - r_stem:
            stem_division_event(cells, p, counters, sbound[k], t, rng)
        else:
            child = event(
                state, epi_origin_day, order, pos, seg, p, widths[k], heights[k], tori[k],
                bound[k], t, u, rng, counters,
            )  # fmt: skip
            if child >= 0:  # the vacancy is filled at once (stem supply, else a local division)
                supplied = False
                if links is not None:
                    src = source[k]
                    q = share[k]
                    drawn = rng.random() < q if src >= 0 and q > 0.0 else False
                    if drawn:
                        s_tissue = tissues[src]
                        s_cells = s_tissue[0]
                        s_p = s_tissue[1]
                        s_seg = s_cells[7]
                        if count(s_seg, STEM) > 0:
                            supply_one(
                                s_cells, s_p, cells, p, child, clone_offset[k], rng,
                                s_tissue[2], counters,
                            )  # fmt: skip
                            supplied = True
                            # the source's rate changes only when it supplies
                            if immune is not None:
                                note_tissue(
                                    s_seg, s_p, bound[src], sbound[src], src, r0, n_sen, base
                                )
                            else:
                                rate[src] = tissue_rate_per_day(
                                    s_seg, s_p, s_cells[0].shape[0], bound[src], sbound[src]
                                )
                if not supplied:
                    if widths[k] == 0:
                        place = draw_parent_place(seg, p, rng)
                        if place >= 0:
                            divide_into(cells, p, order[place], child, rng, counters)
                    else:
                        local_fill(cells, p, tissue[3], child, nb, w, rng, counters)
        if immune is not None:  # a burden anywhere changes every tissue's clearance
            note_tissue(seg, p, bound[k], sbound[k], k, r0, n_sen, base)
            shared_rates(coupling, r0, n_sen, base, rate)
        else:
            rate[k] = tissue_rate_per_day(seg, p, state.shape[0], bound[k], sbound[k])
