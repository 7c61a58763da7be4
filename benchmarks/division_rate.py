"""Divisions per CPU second of ``AgingModel.run`` for three well-mixed tissues.

A quick A/B between two checkouts of cellsim (run it in each, alternately, on an idle
machine; the best of ``--rounds`` is printed, in process CPU time, so that a shared
machine's stolen time counts less):

    PYTHONPATH=. python benchmarks/division_rate.py --rounds 2
"""

from __future__ import annotations

import argparse
import time

from cellsim.engine.model import AgingModel
from cellsim.engine.params import ModelParams, RunParams, TissueParams
from cellsim.kernels.layout import C_DIVISIONS

CASES = ((100_000, 2000.0, 140.0), (1_000_000, 300.0, 140.0), (100_000, 300.0, 5.3))


def divisions_per_second(n_cells: int, days: float, lifespan_days: float) -> float:
    """Divisions per CPU second of one run of ``days`` days (after one warm-up step)."""
    params = ModelParams(
        tissues=[TissueParams(n_cells=n_cells, lifespan_days=lifespan_days)],
        run=RunParams(horizon_days=days, stop_at="horizon", record_interval_days=7e4),
    )
    model = AgingModel(params, rng=1)
    model.step()
    d0 = int(model.primary.counters[C_DIVISIONS])
    t0 = time.process_time()
    model.run()
    return (int(model.primary.counters[C_DIVISIONS]) - d0) / (time.process_time() - t0)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    for n, days, life in CASES:
        best = max(divisions_per_second(n, days, life) for _ in range(args.rounds))
        print(f"n_cells={n:.0e} days={days:g} lifespan_days={life:g}: {best:.3g} divisions/s")
