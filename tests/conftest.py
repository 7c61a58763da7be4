"""Shared fixtures: small, seeded models."""

from __future__ import annotations

import pytest

from cellsim.engine.params import (
    ClearanceParams,
    ModelParams,
    RunParams,
    StressParams,
    TelomereParams,
    TissueParams,
    TransformationParams,
)


def tissue(**kw) -> TissueParams:
    """TissueParams with keyword groups given as dicts."""
    groups = {
        "telomere": TelomereParams,
        "stress": StressParams,
        "clearance": ClearanceParams,
        "transformation": TransformationParams,
    }
    for g, cls in groups.items():
        if isinstance(kw.get(g), dict):
            kw[g] = cls(**kw[g])
    return TissueParams(**kw)


def model_params(run: dict | None = None, **tissue_kw) -> ModelParams:
    """One-tissue ModelParams."""
    return ModelParams(tissues=[tissue(**tissue_kw)], run=RunParams(**(run or {})))


@pytest.fixture
def small_params() -> ModelParams:
    """A 2000-cell fast-turnover tissue that exhausts within a few hundred days."""
    return model_params(
        run={"stop_at": "all_events", "horizon_days": 3000},
        n_cells=2000,
        lifespan_days=10.0,
        telomere={"loss_mean_bp": 200.0, "loss_sd_bp": 50.0},
    )
