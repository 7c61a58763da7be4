"""The processes of a tissue as Numba kernels: the stress hazard, division and daughter fate,
refill of the vacancies present at a moment, stem supply.

A tissue's events in time (deaths, stress senescence, clearance, each vacancy refilled at
its instant) are kernels/events.py's; the kernels here are what those events, the refill
of vacancies left between steps (kernels/day.py) and culture (kernels/culture.py) call.
Work scales with the number of events, not of cells: cells are drawn from their state's
segment (see segments.py). Every kernel takes the model's ``numpy.random.Generator``.

A tissue's cells reach the division kernels as one tuple ``cells`` (a tissue's
``CellPopulation.arrays()``: ``state`` int8, ``telomere_bp`` float32, ``divisions`` int32,
``epi_origin_day`` float32 (epigenetic age = day - origin), ``clone`` int32, ``order`` /
``pos`` int32, ``seg`` int64); kernels that only move cells between states take the index
arrays (``state, order, pos, seg``). The order of a day's processes is kernels/day.py's.

Speed of the per-event code (here and in segments.py, lattice.py, interventions.py). A
compiled function increfs each array and Generator it receives (an ``inline="always"``
helper: each one it is given) and decrefs it where it dies: two atomic operations, which
LLVM's refcount pruning removes only when every path from the incref meets the decref and
no other decref. Helpers that kept them made a division cost several times its work. The
per-event helpers are written so that the pruning succeeds (``inspect_llvm()`` shows no
``NRT_incref`` in the kernels' event loops), by these rules:

- a helper that branches takes scalars and at most ``p`` and the Generator, reads ``p`` on
  its first lines, and draws as ``x = rng.random() < q if c else False`` (with its
  ``else``), not behind ``c and ...``: an argument last used on only some of the paths
  that then rejoin keeps its pair (``daughter_fate``, ``draw_parent_place``);
- a helper that takes arrays uses each on every path: a loop rather than an early return
  (``segments.move``), ``a[i] = x if c else t`` rather than ``if c: a[i] = x``;
- ``divide_into`` and what it calls with arrays (``division_loss_bp``) are
  ``inline="always"``: compiled into each kernel's loop, where the arrays stay alive, they
  need no pairs and no call;
- no integer division by a variable in a helper that takes arrays: the ZeroDivisionError
  branch it adds, in an unrolled loop, defeats the pruning (``lattice.neighbour`` takes a
  row and column, divided once by the kernel); nor float division (``/`` raises
  ZeroDivisionError too) where a kernel takes references on every event;
- a loop that picks among arrays on every event (a tuple of tissues indexed by a
  variable) takes references that no pruning removes: it runs on ``events.borrowed``
  copies, whose reference counts are a test of NULL (``continuous_events``).
"""

from __future__ import annotations

import numpy as np

from .jit import njit
from .layout import (
    C_DIVISIONS,
    C_REPLICATIVE,
    C_SUPPLIED_IN,
    C_SUPPLIED_OUT,
    C_TRANSFORMATIONS,
    CYCLING,
    DAYS_PER_YEAR,
    EMPTY,
    P_AMPLIFICATION_DIVISIONS,
    P_LOSS_LENGTH_SLOPE,
    P_LOSS_MEAN_BP,
    P_LOSS_REFERENCE_BP,
    P_LOSS_SD_BP,
    P_STEM_DIVISION_RATE_PER_DAY,
    P_STRESS_AGE_SLOPE,
    P_STRESS_EPI_SLOPE,
    P_STRESS_RATE_PER_DAY,
    P_TELOMERASE_PLURIPOTENT,
    P_TELOMERASE_STEM,
    P_TELOMERASE_TRANSFORMED,
    P_THRESHOLD_BP,
    P_TRANSFORMATION_PROBABILITY,
    P_TRANSFORMED_FITNESS,
    PLURIPOTENT,
    SENESCENT,
    STEM,
    TRANSFORMED,
)
from .segments import count, move, randint


@njit(cache=True)
def stress_hazard_per_day(p, day, epi_age_days):
    """Stress-senescence hazard of one CYCLING cell (process 3, without bystanders)."""
    age_years = day / DAYS_PER_YEAR
    return (
        p[P_STRESS_RATE_PER_DAY]
        + p[P_STRESS_AGE_SLOPE] * age_years
        + p[P_STRESS_EPI_SLOPE] * epi_age_days / DAYS_PER_YEAR
    )


@njit(cache=True)
def telomerase_of(p, s):
    """Telomerase activity of a cell in state ``s`` (scales its loss by 1 - a)."""
    if s == STEM:
        return p[P_TELOMERASE_STEM]
    if s == PLURIPOTENT:
        return p[P_TELOMERASE_PLURIPOTENT]
    if s == TRANSFORMED:
        return p[P_TELOMERASE_TRANSFORMED]
    return 0.0


@njit(cache=True, inline="always")
def division_loss_bp(p, s, telomere_bp, rng):
    """Telomere lost by one daughter of a cell of ``telomere_bp``: max(0, Normal(mean,
    sd)) * (1 - a), the mean ``P_LOSS_MEAN_BP + P_LOSS_LENGTH_SLOPE * (telomere_bp -
    P_LOSS_REFERENCE_BP)`` (longer telomeres lose more when the slope is > 0)."""
    mean = p[P_LOSS_MEAN_BP] + p[P_LOSS_LENGTH_SLOPE] * (telomere_bp - p[P_LOSS_REFERENCE_BP])
    loss = rng.normal(mean, p[P_LOSS_SD_BP])
    if loss < 0.0:
        loss = 0.0
    return loss * (1.0 - telomerase_of(p, s))


@njit(cache=True)
def daughter_fate(p, lineage_state, telomere_bp, rng):
    """State of a new daughter of a ``lineage_state`` cell whose telomere is ``telomere_bp``:
    TRANSFORMED if the lineage is, or by chance for a CYCLING lineage (the only draw, made
    for CYCLING lineages only), else SENESCENT below the threshold, else the lineage's."""
    q = p[P_TRANSFORMATION_PROBABILITY]
    threshold = p[P_THRESHOLD_BP]
    if lineage_state == TRANSFORMED:
        return TRANSFORMED
    transforms = rng.random() < q if lineage_state == CYCLING else False  # not `and`: see top
    if transforms:
        return TRANSFORMED
    if telomere_bp < threshold:
        return SENESCENT
    return lineage_state


@njit(cache=True)
def settle_daughter(state, telomere_bp, order, pos, seg, p, i, lineage_state, rng, counters):
    """Give daughter ``i`` its state (``daughter_fate``); a fate other than the lineage's
    counts as a transformation (TRANSFORMED) or a replicative senescence (SENESCENT)."""
    fate = daughter_fate(p, lineage_state, telomere_bp[i], rng)
    changed = fate != lineage_state
    counters[C_TRANSFORMATIONS] += changed & (fate == TRANSFORMED)
    counters[C_REPLICATIVE] += changed & (fate == SENESCENT)
    move(order, pos, seg, state, i, fate)


@njit(cache=True, inline="always")
def split_telomere(source, target, p, s, parent, child, clone_offset, rng):
    """Cell ``parent`` of the ``source`` cells (state ``s``) divides: it keeps one daughter
    and the other goes to slot ``child`` of the ``target`` cells (the same tissue, or the
    tissue a stem compartment supplies). Each daughter loses its own draw of telomere
    (``division_loss_bp`` at state ``s``); both count one more division; the new daughter
    inherits the epigenetic clock and the clone (plus ``clone_offset``)."""
    s_tel, s_div, s_epi, s_clone = source[1], source[2], source[3], source[4]
    t_tel, t_div, t_epi, t_clone = target[1], target[2], target[3], target[4]
    base = s_tel[parent]
    s_tel[parent] = base - division_loss_bp(p, s, base, rng)
    t_tel[child] = base - division_loss_bp(p, s, base, rng)
    s_div[parent] += 1
    t_div[child] = s_div[parent]
    t_epi[child] = s_epi[parent]
    t_clone[child] = clone_offset + s_clone[parent]


@njit(cache=True, inline="always")
def divide_into(cells, p, parent, child, rng, counters):
    """Process 6 for one vacancy: ``parent`` divides, one daughter stays, one fills ``child``
    (``split_telomere``); each daughter then settles into its state (``settle_daughter``)."""
    state, telomere_bp, _, _, _, order, pos, seg = cells
    s = np.int64(state[parent])
    split_telomere(cells, cells, p, s, parent, child, 0, rng)
    counters[C_DIVISIONS] += 1
    settle_daughter(state, telomere_bp, order, pos, seg, p, parent, s, rng, counters)
    settle_daughter(state, telomere_bp, order, pos, seg, p, child, s, rng, counters)


@njit(cache=True, inline="always")
def parent_place_at(seg, p, u):
    """Place in ``order`` of the competent parent that the uniform ``u`` in [0, 1) picks:
    CYCLING/STEM with weight 1, TRANSFORMED with weight fitness. -1 when no cell can
    divide."""
    lo = seg[CYCLING]
    n_norm = seg[TRANSFORMED] - lo
    n_tr = count(seg, TRANSFORMED)
    w = p[P_TRANSFORMED_FITNESS]
    total = n_norm + w * n_tr
    if total <= 0.0:
        return -1
    x = u * total
    if x < n_norm:
        return lo + min(np.int64(x), n_norm - 1)
    return lo + n_norm + min(np.int64((x - n_norm) / w), n_tr - 1)


@njit(cache=True)
def draw_parent_place(seg, p, rng):
    """Place in ``order`` of a random competent parent (``parent_place_at``; one draw, none
    when no cell can divide). Returns -1 when no cell can divide."""
    n_norm = seg[TRANSFORMED] - seg[CYCLING]
    if n_norm + p[P_TRANSFORMED_FITNESS] * count(seg, TRANSFORMED) <= 0.0:
        return -1
    return parent_place_at(seg, p, rng.random())


@njit(cache=True)
def replacement(cells, p, n_fill, rng, counters):
    """Process 6 (well-mixed): refill up to ``n_fill`` vacancies by divisions of any competent
    cell of the tissue. Returns the number filled (fewer when no cell can divide)."""
    order = cells[5]
    seg = cells[7]
    filled = 0
    while filled < n_fill and count(seg, EMPTY) > 0:
        place = draw_parent_place(seg, p, rng)
        if place < 0:
            break
        divide_into(cells, p, order[place], order[seg[EMPTY]], rng, counters)
        filled += 1
    return filled


@njit(cache=True, inline="always")
def amplify(tel, div, p, child, rng):
    """The ``P_AMPLIFICATION_DIVISIONS`` progenitor divisions between a stem cell's
    differentiating daughter and cell ``child`` of a supplied tissue (parameters ``p``):
    each costs a fresh ``division_loss_bp`` at the tissue's loss, without telomerase, and
    counts one division of the cell's lineage."""
    k = np.int64(p[P_AMPLIFICATION_DIVISIONS])
    lost = 0.0
    for _ in range(k):
        lost += division_loss_bp(p, CYCLING, tel[child] - lost, rng)
    tel[child] -= lost
    div[child] += k


@njit(cache=True, inline="always")
def supply_division(
    source, s_p, target, t_p, parent, child, clone_offset, rng, s_counters, t_counters
):
    """STEM cell ``parent`` of the ``source`` compartment supplies vacancy ``child`` of the
    ``target`` tissue (clone ``clone_offset + stem clone``), through the target's
    progenitor amplification (``amplify``), and the new cell settles
    (``settle_daughter``).

    Without a division clock of its own (``P_STEM_DIVISION_RATE_PER_DAY`` 0), the stem
    cell divides asymmetrically into the vacancy: it stays STEM, and both daughters lose
    telomere at the stem cells' rate (``split_telomere``). With a clock, the compartment
    divides on it (kernels/events.py) and is a sample of a larger pool: the new cell
    descends from a division of a cell like ``parent``, so it takes ``parent``'s fields
    less one stem-rate loss, and ``parent`` is not changed (sampled ancestry).
    """
    s_state, s_tel, s_div, s_epi, s_clone, s_order, s_pos, s_seg = source
    t_state, t_tel, t_div, t_epi, t_clone, t_order, t_pos, t_seg = target
    if s_p[P_STEM_DIVISION_RATE_PER_DAY] > 0.0:
        t_tel[child] = s_tel[parent] - division_loss_bp(s_p, STEM, s_tel[parent], rng)
        t_div[child] = s_div[parent] + 1
        t_epi[child] = s_epi[parent]
        t_clone[child] = clone_offset + s_clone[parent]
    else:
        split_telomere(source, target, s_p, STEM, parent, child, clone_offset, rng)
        s_counters[C_DIVISIONS] += 1
        s_counters[C_SUPPLIED_OUT] += 1
        settle_daughter(s_state, s_tel, s_order, s_pos, s_seg, s_p, parent, STEM, rng, s_counters)
    amplify(t_tel, t_div, t_p, child, rng)
    t_counters[C_SUPPLIED_IN] += 1
    settle_daughter(t_state, t_tel, t_order, t_pos, t_seg, t_p, child, CYCLING, rng, t_counters)


@njit(cache=True)
def supply(source, s_p, target, t_p, share, clone_offset, rng, s_counters, t_counters):
    """Stem supply (process 6): each vacancy of the ``target`` tissue's cells is, with
    probability ``share``, filled from a random STEM cell of the ``source`` compartment's
    cells (``supply_division``): the new cell enters as CYCLING (clone ``clone_offset +
    stem clone``), or SENESCENT below the target's threshold. Returns the number supplied.
    """
    s_order, s_seg = source[5], source[7]
    t_order, t_seg = target[5], target[7]
    n_vac = count(t_seg, EMPTY)
    if n_vac == 0 or share <= 0.0:
        return 0
    k = rng.binomial(n_vac, min(share, 1.0))
    done = 0
    for _ in range(k):
        n_stem = count(s_seg, STEM)
        if n_stem == 0:
            break
        parent = s_order[s_seg[STEM] + randint(rng, n_stem)]
        child = t_order[t_seg[EMPTY]]
        supply_division(
            source, s_p, target, t_p, parent, child, clone_offset, rng, s_counters, t_counters
        )
        done += 1
    return done
