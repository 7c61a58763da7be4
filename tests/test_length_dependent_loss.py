"""Length-dependent telomere loss (``telomere.loss_length_slope``): a division's mean loss is
``loss_mean_bp + slope x (telomere - loss_reference_bp)``, so longer telomeres shorten
faster. Exact cases with deterministic losses, the mean of a well-mixed tissue against the
solution of its mean-field equation, invariants over random slopes, and the mean field of
the calibration refusing what it cannot describe."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cellsim.engine.model import AgingModel
from cellsim.engine.params import CellState, ModelParams, TelomereParams
from cellsim.engine.tissue import parameter_vector
from cellsim.kernels.processes import amplify, division_loss_bp
from cellsim.run.calibration import meanfield_holds

QUIET = {"rate_per_day": 0.0, "epigenetic_slope_per_day_per_year": 0.0}


def tissue(
    *, slope: float, ref: float = 10000.0, loss: float = 100.0, sd: float = 0.0,
    n: int = 4000, lifespan: float = 50.0, years: float = 2.0, initial_sd: float = 0.0,
    k: int = 0,
) -> ModelParams:  # fmt: skip
    """One well-mixed tissue (a supplied pool with ``k`` amplification divisions when
    ``k`` > 0) with length-dependent loss."""
    tel = {
        "initial_mean_bp": 12000.0,
        "initial_sd_bp": initial_sd,
        "loss_mean_bp": loss,
        "loss_sd_bp": sd,
        "senescence_threshold_bp": 1000.0,
        "loss_length_slope": slope,
        "loss_reference_bp": ref,
    }
    return ModelParams.model_validate(
        {
            "run": {
                "dt_days": 5.0,
                "horizon_days": years * 365.25,
                "record_interval_days": 365.25 / 4,
                "stop_at": "horizon",
            },
            "tissues": [
                {
                    "name": "t",
                    "n_cells": n,
                    "lifespan_days": lifespan,
                    "telomere": tel,
                    "stress": QUIET,
                    "transformation": {"probability_per_division": 0.0},
                },
            ],
        }
    )


def test_one_division_loses_the_mean_at_its_length_exactly():
    """sd 0: a daughter of a cell at L loses (mean + slope (L - ref)) (1 - a), and nothing
    below 0 (a cell far below the reference loses nothing, not a gain)."""
    p = parameter_vector(tissue(slope=0.02).tissues[0], tissue(slope=0.02).run)
    rng = np.random.default_rng(0)
    assert division_loss_bp(p, CellState.CYCLING, 12000.0, rng) == pytest.approx(140.0)
    assert division_loss_bp(p, CellState.CYCLING, 10000.0, rng) == pytest.approx(100.0)
    assert division_loss_bp(p, CellState.CYCLING, 4000.0, rng) == 0.0  # 100 - 120 < 0


def test_k_amplification_divisions_follow_the_linear_recursion_exactly():
    """sd 0: L_{j+1} = L_j - (l + c (L_j - ref)), so L_k = ref - l/c + (L_0 - ref + l/c)
    (1 - c)^k, the closed form of the recursion (float32 storage: 0.01 bp)."""
    c, ref, loss, k = 0.03, 10000.0, 50.0, 7
    params = tissue(slope=c, ref=ref, loss=loss)
    p = parameter_vector(params.tissues[0], params.run).copy()
    from cellsim.kernels.layout import P_AMPLIFICATION_DIVISIONS

    p[P_AMPLIFICATION_DIVISIONS] = k
    tel = np.array([11500.0], dtype=np.float32)
    div = np.zeros(1, dtype=np.int32)
    amplify(tel, div, p, 0, np.random.default_rng(1))
    fixed = ref - loss / c
    expected = fixed + (11500.0 - fixed) * (1.0 - c) ** k
    assert float(tel[0]) == pytest.approx(expected, abs=0.01)
    assert int(div[0]) == k


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_tissue_mean_relaxes_as_its_mean_field_equation_says(seed):
    """A well-mixed tissue: each death is refilled by the division of a random cell, both
    daughters losing l + c (L - ref), so the mean obeys dm/dt = -2 (l + c (m - ref)) / L:
    m(t) = ref - l/c + (m0 - ref + l/c) exp(-2 c t / L). 20,000 cells, 2 years at L = 50 d
    (~29 divisions per cell), within 80 bp at every record: the mean's random walk has an
    SD of ~18 bp here (292,000 events, cells spread by ~650 bp, over 20,000 cells), so 80
    is ~4.5 SD; the truncation at 0 never acts (cells stay above 5 kb)."""
    c, ref, loss, lifespan = 0.02, 10000.0, 100.0, 50.0
    params = tissue(
        slope=c, ref=ref, loss=loss, sd=5.0, lifespan=lifespan, initial_sd=200.0, n=20000
    )
    m = AgingModel(params, rng=seed).run()
    traj = m.trajectories()
    days = traj["day"].to_numpy(dtype=float)
    fixed = ref - loss / c
    expected = fixed + (12000.0 - fixed) * np.exp(-2.0 * c * days / lifespan)
    np.testing.assert_allclose(traj["telomere_mean_bp"].to_numpy(), expected, atol=80.0)
    # and it is not the line of a constant loss (the loss at birth): ~1 kb apart at the end
    linear = 12000.0 - 2.0 * (loss + c * 2000.0) * days / lifespan
    assert abs(float(traj["telomere_mean_bp"].iloc[-1]) - linear[-1]) > 500.0


def test_the_spread_between_people_narrows():
    """Two people 1 kb apart at birth: the gap decays by exp(-2 c t / L) (deterministic
    losses, so exactly up to the sampling of which cell divides), while with slope 0 it
    stays 1 kb."""
    gaps = {}
    for slope in (0.0, 0.004):
        means = []
        for start in (11500.0, 12500.0):
            p = tissue(slope=slope, lifespan=50.0, years=2.0, n=4000)
            p = p.model_copy(deep=True)
            p.tissues[0].telomere.initial_mean_bp = start
            traj = AgingModel(p, rng=7).run().trajectories()
            means.append(float(traj["telomere_mean_bp"].iloc[-1]))
        gaps[slope] = means[1] - means[0]
    t_days = 2.0 * 365.25
    assert gaps[0.0] == pytest.approx(1000.0, abs=20.0)
    assert gaps[0.004] == pytest.approx(1000.0 * math.exp(-2 * 0.004 * t_days / 50.0), abs=20.0)


@settings(max_examples=12, deadline=None)
@given(
    slope=st.floats(0.0, 0.05),
    ref=st.floats(2000.0, 15000.0),
    sd=st.floats(0.0, 60.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_slots_conserved_and_telomeres_never_grow(slope, ref, sd, seed):
    """Over random slopes and references (losses far below the reference truncated at 0):
    every slot is in one state and the longest telomere never grows."""
    m = AgingModel(tissue(slope=slope, ref=ref, sd=sd, n=80, years=0.5), rng=seed)
    cells = m.by_name["t"].cells
    for _ in range(8):
        before = float(cells.telomere_bp.max())
        m.step()
        assert float(cells.telomere_bp.max()) <= before
        assert sum(cells.counts().values()) == cells.n_slots == 80
        assert cells.is_consistent()


def test_the_closed_forms_of_the_calibration_do_not_claim_length_dependent_loss():
    params = tissue(slope=0.001)
    mean = np.full(10, 11000.0)
    assert not meanfield_holds(params, "t", mean)
    assert meanfield_holds(tissue(slope=0.0), "t", mean)


def test_bad_slopes_name_the_field():
    with pytest.raises(ValidationError, match="loss_length_slope"):
        TelomereParams(loss_length_slope=-0.1)
    with pytest.raises(ValidationError, match="loss_length_slope"):
        TelomereParams(loss_length_slope=0.5)
    assert CellState.CYCLING  # the state codes the kernels take
