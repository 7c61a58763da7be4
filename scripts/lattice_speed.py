"""Site-days per second of the lattice tissue at 100x100, 300x300 and 1000x1000 sites.

    .venv/bin/python scripts/lattice_speed.py            # all sizes, ~1 minute
    .venv/bin/python scripts/lattice_speed.py --sides 100 300 --turnover-days 140

For each size, one tissue with the package defaults (dermal fibroblast lifespan 140 d,
default bystander rate) is built and warmed up (Numba compilation, 20 days), then timed
two ways, best of ``--repeats``: ``AgingModel.run`` (quiet stretches in one kernel call:
the batch path) and a ``model.step()`` loop (one Python call per day: the browser view's
path). The well-mixed tissue of the same size is timed alongside for comparison. Work per
day is proportional to the events (about sites / lifespan deaths and refills), so
site-days/s depends on turnover. At most 1000 days are timed: a young tissue, before
replicative senescence sets in.
"""

from __future__ import annotations

import argparse
import platform
import time

from cellsim.engine.model import AgingModel
from cellsim.engine.params import LatticeParams, ModelParams, RunParams, TissueParams


def build(side: int, lattice: bool, lifespan_days: float, days: int, seed: int) -> AgingModel:
    geometry = LatticeParams(width=side, height=side) if lattice else None
    tissue = TissueParams(n_cells=side * side, lifespan_days=lifespan_days, lattice=geometry)
    run = RunParams(horizon_days=days + 20, stop_at="horizon", record_interval_days=30.0)
    model = AgingModel(ModelParams(tissues=[tissue], run=run), rng=seed)
    for _ in range(20):  # compile and warm up
        model.step()
    return model


def measure(
    side: int, lattice: bool, lifespan_days: float, days: int, repeats: int
) -> tuple[float, float]:
    """Best of ``repeats`` (site-days/s through run(), through a step() loop)."""
    build(3, lattice, lifespan_days, 30, seed=0).run()  # compile the run() path too
    sites = side * side
    run_rate = step_rate = 0.0
    for r in range(repeats):
        model = build(side, lattice, lifespan_days, days, seed=1 + r)
        t = time.perf_counter()
        model.run()
        run_rate = max(run_rate, sites * days / (time.perf_counter() - t))
        model = build(side, lattice, lifespan_days, days, seed=1 + r)
        t = time.perf_counter()
        for _ in range(days):
            model.step()
        step_rate = max(step_rate, sites * days / (time.perf_counter() - t))
    return run_rate, step_rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sides", type=int, nargs="+", default=[100, 300, 1000])
    ap.add_argument("--turnover-days", type=float, default=140.0, help="cell lifespan, days")
    ap.add_argument("--site-days", type=float, default=2e8, help="work per measurement")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many timings")
    args = ap.parse_args()
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"# cell lifespan {args.turnover_days:g} d; site-days/s (higher is better)")
    print(f"{'sites':>12} {'days':>6} {'geometry':>10} {'run()':>10} {'step() loop':>12}")
    for side in args.sides:
        days = max(20, min(1000, int(args.site_days / side**2)))
        for lattice in (True, False):
            run_rate, step_rate = measure(side, lattice, args.turnover_days, days, args.repeats)
            geometry = "lattice" if lattice else "well-mixed"
            print(
                f"{f'{side}x{side}':>12} {days:>6} {geometry:>10} "
                f"{run_rate:>10.3g} {step_rate:>12.3g}",
                flush=True,
            )


if __name__ == "__main__":
    main()
