"""Shared fixtures: small, seeded models."""

from __future__ import annotations

import subprocess

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


@pytest.fixture
def cli(capsys):
    """The ``cellsim`` command in-process (fast, for error paths): returns a
    ``CompletedProcess`` with the exit code, stdout and stderr."""
    from cellsim.cli import main

    def call(*args: str) -> subprocess.CompletedProcess:
        code = 0
        try:
            main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return subprocess.CompletedProcess(args, code, out, err)

    return call


def kill_after_first_part(args: list[str], out, timeout_s: float = 120.0) -> int:
    """Start the command ``args`` (a sweep or study writing to ``out``) in its own session
    and SIGKILL it, with its Dask nannies and workers, once its first stored part appears;
    returns its pid."""
    import os
    import signal
    import time

    proc = subprocess.Popen(
        args, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + timeout_s
        while not list((out / "parts").glob("batch-*")) and proc.poll() is None:
            assert time.monotonic() < deadline, "no part was written in time"
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return proc.pid
