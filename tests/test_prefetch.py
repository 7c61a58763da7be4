"""``kernels.prefetch``: a hint that compiles for the kernels' arrays and changes nothing."""

from __future__ import annotations

import numpy as np
from numba import njit

from cellsim.engine.population import CellPopulation
from cellsim.kernels.prefetch import prefetch


@njit
def _prefetch_every(a):
    total = 0.0
    for i in range(a.shape[0]):
        prefetch(a, i)
        total += a[i]
    return total


def test_prefetch_compiles_for_record_views_and_changes_nothing():
    """On the strided views of the cell records and on a plain array, a prefetch of
    every element leaves every value as it was and the loop's sum exact."""
    pop = CellPopulation.empty(1000)
    pop.telomere_bp[...] = np.arange(1000, dtype=np.float32)
    pop.clone[...] = np.arange(1000, dtype=np.int32)
    before = pop.records.copy()
    assert _prefetch_every(pop.telomere_bp) == float(np.arange(1000).sum())
    assert _prefetch_every(pop.clone) == float(np.arange(1000).sum())
    plain = np.arange(17.0)  # integers: every order of summation is exact
    assert _prefetch_every(plain) == plain.sum()
    assert (pop.records == before).all()
