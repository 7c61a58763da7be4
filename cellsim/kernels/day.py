"""One day of an organism's tissues: the order of the processes, written once.

Every path that advances a model (a single ``AgingModel.step``, the fast-forward over
quiet stretches, well-mixed and lattice tissues, tissues supplied by a stem compartment)
calls ``advance_days`` here, so the sequence of a day exists in this one place:

1. the clock moves on by ``dt``: step ``k`` runs from day ``start + (k - 1) * dt`` to
   ``start + k * dt`` (a count, not a running sum);
2. pluripotent cells whose redifferentiation delay is over at the start of the step
   redifferentiate (``interventions.redifferentiate``);
3. vacancies present at the start of the step (left by interventions at the step
   boundary, or lattice defects) are filled at once (``close_vacancies``): a supplied
   tissue's by its stem compartment with probability ``share``, the rest by local
   divisions (``refill``);
4. the step's turnover, stress senescence, immune clearance and replacement happen as
   events in continuous time (``events.continuous_events``): every vacancy a death or a
   clearance leaves is filled at that instant, so the result does not depend on ``dt``.

Interventions (Mesa events) act between steps, after step 4; failures are detected after
each step.

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

from . import lattice, processes
from .events import continuous_events
from .interventions import redifferentiate
from .jit import njit
from .layout import CYCLING, EMPTY, PLURIPOTENT, TRANSFORMED
from .segments import count


@njit(cache=True)
def refill(cells, p, geometry, n_fill, rng, counters):
    """Refill up to ``n_fill`` of the vacancies present now by local divisions (process 6):
    well-mixed, one after another; on a lattice, by passes of Moore neighbours repeated
    until a pass fills nothing, so a hole closes at once, ring by ring from its rim.
    Returns the number filled."""
    if geometry is None:
        return processes.replacement(cells, p, n_fill, rng, counters)
    width, height, torus, mark, epoch = geometry
    if width == 0:
        return processes.replacement(cells, p, n_fill, rng, counters)
    filled = 0
    while filled < n_fill:
        epoch[0] += 1
        k = lattice.replacement(
            cells, p, n_fill - filled, rng, counters, width, height, torus, mark, epoch[0]
        )
        if k == 0:
            break
        filled += k
    return filled


@njit(cache=True)
def close_vacancies(tissues, links, rng):
    """Fill the vacancies present at the start of a step (left by interventions at the
    step boundary, or defects): stem supply first (each vacancy with the probability
    ``share``), then local divisions (``refill``)."""
    n = len(tissues)
    if links is not None:
        source, share, clone_offset = links
        for k in range(n):
            if source[k] >= 0:
                cells, p, counters, _ = tissues[k]
                s_cells, s_p, s_counters, _ = tissues[source[k]]
                processes.supply(
                    s_cells, s_p, cells, p, share[k], clone_offset[k], rng, s_counters, counters
                )
    for k in range(n):
        cells, p, counters, geometry = tissues[k]
        n_empty = count(cells[7], EMPTY)
        if n_empty > 0:
            refill(cells, p, geometry, n_empty, rng, counters)


@njit(cache=True)
def one_day(tissues, links, t0, t1, rng, immune=None):
    """The step from day ``t0`` to day ``t1`` for every tissue (see the module text)."""
    for k in range(len(tissues)):
        cells, p, counters, _ = tissues[k]
        state, _, _, epi_origin_day, _, order, pos, seg = cells
        redifferentiate(state, epi_origin_day, order, pos, seg, p, t0, rng, counters)
    close_vacancies(tissues, links, rng)
    continuous_events(tissues, links, immune, t0, t1, rng)


@njit(cache=True)
def failure_reached(seg, watch, failure_pool_below, neoplasia_above):
    """Whether a watched failure holds (``watch``: exhaustion, failure, neoplasia, no
    change): the pool (CYCLING + STEM) is empty, below ``failure_pool_below``, the
    TRANSFORMED cells exceed ``neoplasia_above``, or no cell is left that can change by
    itself (no CYCLING, STEM, TRANSFORMED or PLURIPOTENT cell: ``Tissue.can_change``)."""
    pool = seg[TRANSFORMED] - seg[CYCLING]
    return (
        (watch[0] and pool == 0)
        or (watch[1] and pool < failure_pool_below)
        or (watch[2] and count(seg, TRANSFORMED) > neoplasia_above)
        or (watch[3] and pool + count(seg, TRANSFORMED) + count(seg, PLURIPOTENT) == 0)
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
    immune=None,
):
    """Run up to ``n_days`` steps of ``dt`` days after the ``steps_done`` already taken
    from organism age ``start_day``, stopping after the first step on which a watched
    failure of any tissue is reached (``watch[k]``, ``failure_pool_below[k]``,
    ``neoplasia_above[k]``: see ``failure_reached``). Step ``k`` (from 1) ends on day
    ``start_day + k * dt``, computed from the count, as the caller's clock is. Returns the
    number of steps run."""
    for j in range(n_days):
        t0 = start_day + (steps_done + j) * dt
        t1 = start_day + (steps_done + j + 1) * dt
        one_day(tissues, links, t0, t1, rng, immune)
        for k in range(len(tissues)):
            if failure_reached(
                tissues[k][0][7], watch[k], failure_pool_below[k], neoplasia_above[k]
            ):
                return j + 1
    return n_days
