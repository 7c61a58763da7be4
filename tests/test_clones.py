"""Clonal structure (issue 16, item 5): the measures, and neutral drift in a tissue
against the coalescent's expectation."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.clones import clone_structure, neutral_clone_count

from .conftest import model_params


def test_clone_structure_counts_lineages_half_and_largest():
    ids = np.array([7] * 50 + [3] * 30 + [9] * 15 + [1] * 5)
    got = clone_structure(ids)
    assert got == {"n_clones": 4, "clones_for_half": 1, "largest_share": 0.5}
    got = clone_structure(np.array([7] * 40 + [3] * 30 + [9] * 30))
    assert got["clones_for_half"] == 2 and got["largest_share"] == pytest.approx(0.4)
    assert clone_structure(np.arange(10))["clones_for_half"] == 5
    assert clone_structure(np.array([], dtype=int))["n_clones"] == 0


@pytest.mark.slow
def test_neutral_turnover_loses_lineages_as_the_coalescent_says():
    """A tissue whose cells neither senesce nor transform is a Moran model: the founders
    with descendants after t days follow 1 / (1/N + t / (L (N - 1))). The mean over 8
    seeds at two ages is within 10% of it (seeds spread by ~10% at 16-32 lineages, so
    that is about 3 standard errors of the mean; measured: 32.4 and 16.0 lineages against
    32.2 and 16.4 expected)."""
    from cellsim.engine.model import AgingModel

    n, lifespan = 1000, 10.0
    counts = {300.0: [], 600.0: []}
    for seed in range(8):
        params = model_params(
            run={"horizon_days": 700.0, "stop_at": "horizon"},
            n_cells=n,
            lifespan_days=lifespan,
            telomere={"loss_mean_bp": 0.0, "loss_sd_bp": 0.0},
            stress={"rate_per_day": 0.0, "epigenetic_slope_per_day_per_year": 0.0},
            transformation={"probability_per_division": 0.0},
        )
        model = AgingModel(params, rng=seed)
        for day in sorted(counts):
            model.run(until_day=day)
            counts[day].append(clone_structure(model.cells_frame()["clone"])["n_clones"])
    for day, got in counts.items():
        expected = neutral_clone_count(n, lifespan, day)
        assert np.mean(got) == pytest.approx(expected, rel=0.10), (day, got, expected)
