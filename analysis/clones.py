"""Clonal structure of a tissue: how many founding lineages make up its cells.

Every cell carries the id of the founder it descends from (``clone``; a supplied cell,
the id of its stem cell offset by the supplying compartment's ``clone_offset``). Under
neutral turnover (each death replaced by the division of a uniformly chosen cell: a Moran
model) lineages are lost by drift: with N cells of lifespan L, two lineages of the
current cells merge, going back in time, at rate 2 / (L (N - 1)) per pair, so after t days
about ``neutral_clone_count`` = 1 / (1 - (1 - 1/N) exp(-t / (L (N - 1)))) founders still
have descendants (the mean-field solution of the coalescent, dk/dt = -k (k - 1) /
(L (N - 1)); within 1-2% of the coalescent's exact expectation once tens of lineages
remain: 16.60 against 16.44 for N = 500, L = 10 d, t = 300 d).

Mitchell et al. 2022 (Nature 606:343) read the HSC output this way: polyclonal under 65
(tens of thousands of HSCs contributing evenly), 12-18 clones making up 30-60% of it over
75. ``clone_structure`` gives the numbers to compare: lineages present, the fewest that
make up half of the cells, and the largest one's share. A stem compartment with a
division clock records the same measures in its trajectory rows (``n_clones``,
``clones_for_half``, ``largest_clone_share``; computed by the engine's own kernel).

Under selection (a driver clone whose cells divide at an extra rate s per year, each
daughter replacing a random other cell), the clone's share follows the logistic
``df/dt = s f (1 - f)`` in the mean field: ``logistic_share``.
"""

from __future__ import annotations

import math

import numpy as np


def clone_structure(clone_ids: np.ndarray) -> dict[str, float]:
    """``n_clones`` (distinct lineages among the cells), ``clones_for_half`` (the fewest
    lineages whose cells make up at least half of them) and ``largest_share`` (the largest
    lineage's fraction of the cells); NaN fractions for no cells.

    Args:
        clone_ids: the clone id of each competent cell.

    Returns:
        ``n_clones``, ``clones_for_half`` and ``largest_share``.

    Example:
        >>> from analysis.clones import clone_structure
        >>> clone_structure([1, 1, 1, 2, 3, 4])
        {'n_clones': 4, 'clones_for_half': 1, 'largest_share': 0.5}
    """
    ids = np.asarray(clone_ids)
    if ids.size == 0:
        return {"n_clones": 0, "clones_for_half": 0, "largest_share": float("nan")}
    _, counts = np.unique(ids, return_counts=True)
    sizes = np.sort(counts)[::-1]
    cumulative = np.cumsum(sizes)
    half = int(np.searchsorted(cumulative, ids.size / 2.0) + 1)
    return {
        "n_clones": int(sizes.size),
        "clones_for_half": half,
        "largest_share": float(sizes[0] / ids.size),
    }


def neutral_clone_count(n_cells: int, lifespan_days: float, days: float) -> float:
    """Lineages left after ``days`` of neutral turnover of ``n_cells`` cells, each its own
    founder at day 0 (the mean-field coalescent of the module doc).

    Args:
        n_cells: the compartment's cells.
        lifespan_days: the cell lifespan (days): each death is replaced by a division.
        days: the time since founding (days).
    """
    if n_cells <= 1:
        return float(n_cells)
    decay = math.exp(-days / (lifespan_days * (n_cells - 1)))
    return 1.0 / (1.0 - (1.0 - 1.0 / n_cells) * decay)


def logistic_share(initial_share: float, advantage_per_year: float, years: float) -> float:
    """Share of a driver clone of selective advantage ``advantage_per_year`` after
    ``years`` from ``initial_share``: ``1 / (1 + (1 / f0 - 1) exp(-s t))``.

    Args:
        initial_share: the clone's share at time 0 (0-1).
        advantage_per_year: its selective advantage s (per year).
        years: the time (years).

    Example:
        >>> from analysis.clones import logistic_share
        >>> round(float(logistic_share(0.5, 0.1, 0.0)), 3)
        0.5
    """
    return 1.0 / (1.0 + (1.0 / initial_share - 1.0) * math.exp(-advantage_per_year * years))
