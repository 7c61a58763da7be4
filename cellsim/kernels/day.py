"""One day of an organism's tissues: the order of the processes, written once.

Every path that advances a model (a single ``AgingModel.step``, the fast-forward over
quiet stretches, well-mixed and lattice tissues, tissues supplied by a stem compartment)
calls ``advance_days`` here, so the sequence of a day exists in this one place:

1. the clock moves on by ``dt``: step ``k`` ends on day ``start + k * dt`` (a count, not a
   running sum), and every process of the step reads that day;
2. every tissue, in the model's order, loses cells (``losses``): pluripotent cells whose
   delay is over redifferentiate, then turnover, stress senescence and immune clearance;
3. stem compartments fill their share of each supplied tissue's vacancies (``supply``);
4. every tissue refills its remaining vacancies by local divisions (``refill``).

When no tissue is supplied, steps 2 and 4 run tissue by tissue (losses then refill of the
first tissue, then of the second, ...): tissues are then independent, and this is the
order in which their draws have always been made, which keeps results reproducible.

A tissue, as these kernels see it, is a tuple ``(cells, p, counters, geometry)``:

- ``cells``: its eight arrays, ``CellPopulation.arrays()`` (state, telomere_bp,
  divisions, epi_origin_day, clone, order, pos, seg);
- ``p``: its parameter vector (``pack.parameter_vector``);
- ``counters``: its cumulative event counters (``layout.COUNTER_NAMES``);
- ``geometry``: ``None`` in a model of well-mixed tissues only; otherwise
  ``(width, height, torus, mark, epoch)``, with ``width == 0`` for a well-mixed tissue;
  on a lattice ``mark`` is the per-slot stamp of the replacement pass and ``epoch`` a
  one-element int64 array, the number of passes so far.

The tissues of a model are a tuple of such tuples (one compiled specialisation per
number of tissues). ``links`` is ``None`` when no tissue is supplied, else three arrays
over the tissues: ``source[k]`` the index of the stem compartment supplying tissue ``k``
(-1: none), ``share[k]`` the fraction of its vacancies offered to it, ``clone_offset[k]``
added to the stem cells' clone ids. ``None`` is decided when Numba compiles (its
branches are pruned), so a model without lattices or supply does not compile their code.
"""

from __future__ import annotations

from numba import njit

from . import lattice, processes
from .interventions import redifferentiate
from .layout import CYCLING, EMPTY, TRANSFORMED
from .segments import count


@njit(cache=True)
def losses(cells, p, geometry, day, rng, counters):
    """Step 2 for one tissue: redifferentiation of pluripotent cells, turnover (process
    2), stress senescence (3; with the bystander term on a lattice), immune clearance (4)."""
    state, _, _, epi_origin_day, _, order, pos, seg = cells
    redifferentiate(state, epi_origin_day, order, pos, seg, p, day, rng, counters)
    processes.turnover(state, order, pos, seg, p, rng, counters)
    if geometry is None:
        width, height, torus = 0, 0, False
    else:
        width, height, torus, _, _ = geometry
    processes.stress_senescence(
        state, epi_origin_day, order, pos, seg, p, day, rng, counters, width, height, torus
    )
    processes.immune_clearance(state, order, pos, seg, p, rng, counters)


@njit(cache=True)
def refill(cells, p, geometry, n_fill, rng, counters):
    """Step 4 for one tissue: refill up to ``n_fill`` vacancies by local divisions (process
    6; on a lattice by Moore neighbours, in a new replacement pass). Returns the number."""
    if geometry is None:
        return processes.replacement(cells, p, n_fill, rng, counters)
    width, height, torus, mark, epoch = geometry
    if width == 0:
        return processes.replacement(cells, p, n_fill, rng, counters)
    epoch[0] += 1
    return lattice.replacement(
        cells, p, n_fill, rng, counters, width, height, torus, mark, epoch[0]
    )


@njit(cache=True)
def one_day(tissues, links, day, rng):
    """Steps 2-4 of the day that ends at ``day``, for every tissue (see the module text)."""
    n = len(tissues)
    if links is None:  # no supply: each tissue's losses, then its refill
        for k in range(n):
            cells, p, counters, geometry = tissues[k]
            losses(cells, p, geometry, day, rng, counters)
            refill(cells, p, geometry, count(cells[7], EMPTY), rng, counters)
        return
    source, share, clone_offset = links
    for k in range(n):
        cells, p, counters, geometry = tissues[k]
        losses(cells, p, geometry, day, rng, counters)
    for k in range(n):
        if source[k] >= 0:
            cells, p, counters, _ = tissues[k]
            s_cells, s_p, s_counters, _ = tissues[source[k]]
            processes.supply(
                s_cells, s_p, cells, p, share[k], clone_offset[k], rng, s_counters, counters
            )
    for k in range(n):
        cells, p, counters, geometry = tissues[k]
        refill(cells, p, geometry, count(cells[7], EMPTY), rng, counters)


@njit(cache=True)
def failure_reached(seg, watch, failure_pool_below, neoplasia_above):
    """Whether a watched failure holds (``watch``: exhaustion, failure, neoplasia): the
    pool (CYCLING + STEM) is empty, below ``failure_pool_below``, or the TRANSFORMED cells
    exceed ``neoplasia_above``."""
    pool = seg[TRANSFORMED] - seg[CYCLING]
    return (
        (watch[0] and pool == 0)
        or (watch[1] and pool < failure_pool_below)
        or (watch[2] and count(seg, TRANSFORMED) > neoplasia_above)
    )


@njit(cache=True)
def advance_days(
    tissues,
    links,
    start_day,
    steps_done,
    dt,
    n_days,
    watch,
    failure_pool_below,
    neoplasia_above,
    rng,
):
    """Run up to ``n_days`` steps of ``dt`` days after the ``steps_done`` already taken
    from organism age ``start_day``, stopping after the first step on which a watched
    failure of any tissue is reached (``watch[k]``, ``failure_pool_below[k]``,
    ``neoplasia_above[k]``: see ``failure_reached``). Step ``k`` (from 1) ends on day
    ``start_day + k * dt``, computed from the count, as the caller's clock is. Returns the
    number of steps run."""
    for j in range(n_days):
        day = start_day + (steps_done + j + 1) * dt
        one_day(tissues, links, day, rng)
        for k in range(len(tissues)):
            if failure_reached(
                tissues[k][0][7], watch[k], failure_pool_below[k], neoplasia_above[k]
            ):
                return j + 1
    return n_days
