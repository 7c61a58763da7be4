"""Many small runs: a Dask sweep against a plain loop in one process per core.

    .venv/bin/python benchmarks/small_runs.py              # 2000 runs (a few minutes)
    .venv/bin/python benchmarks/small_runs.py --quick      # 200 runs
    .venv/bin/python benchmarks/small_runs.py --runs 600 --out /tmp/small

The study (issue 14, item 3): N runs of a 1000-cell tissue over 20 years, default
parameters otherwise, as 10 points (``tissues.0.telomere.loss_mean_bp`` 50..95 bp) x N/10
replicates, on 2 cores, measured side by side in the same invocation:

(a) sweep: ``cellsim.run.sweep.run_sweep`` of that plan into a fresh folder on a new
    2-worker LocalCluster, ``report=False``, no progress bar; wall time from the call to
    its return (cluster start, imports and Numba cache loading in the workers, the store,
    compaction and summary.csv included).
(b) plain: the same N RunSpecs by ``cellsim.run.single.run_one`` in a plain loop split over
    2 freshly spawned processes (each does half; wall time from process start to the
    last result, imports and kernel loading included; results are discarded).

The ratio ``plain_s / sweep_s`` is the sweep's throughput as a fraction of the plain
loop's (the target is >= 0.7). Process CPU time of this process (the sweep's client) is
reported beside. Results go to ``--out`` (default benchmarks/results/):
small_runs.csv (one row per measurement, appended) and small_runs.md (the last run).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

POINTS = 10


def make_plan(n_runs: int):
    """The study's plan: 10 points x n_runs/10 replicates of a 1000-cell, 20-year tissue."""
    from cellsim.config.sweep import plan_sweep
    from cellsim.config.sweep_file import Sweep

    sweep = Sweep.model_validate(
        {
            "name": "small_runs",
            "seed": 14,
            "replicates": max(1, n_runs // POINTS),
            "base": {
                "run": {"horizon_days": 7305.0},
                "tissues": [{"name": "tissue", "n_cells": 1000}],
            },
            "parameters": {
                "tissues.0.telomere.loss_mean_bp": {
                    "values": [50.0 + 5.0 * i for i in range(POINTS)]
                }
            },
        }
    )
    return plan_sweep(sweep)


def _plain_worker(n_runs: int, share: int, n_shares: int, out: mp.Queue) -> None:
    """One plain process: its share of the runs, one after the other."""
    os.environ.update({"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"})
    from cellsim.run.single import run_one

    plan = make_plan(n_runs)
    todo = list(plan.all_runs())[share::n_shares]
    cpu0 = time.process_time()
    for point, rep in todo:
        run_one(plan.spec(point, rep))
    out.put((len(todo), time.process_time() - cpu0))


def time_plain(n_runs: int, procs: int) -> tuple[float, int, float]:
    """(wall seconds, runs, summed worker CPU seconds) of the plain loop over ``procs``
    spawned processes."""
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    t0 = time.perf_counter()
    ps = [ctx.Process(target=_plain_worker, args=(n_runs, i, procs, q)) for i in range(procs)]
    for p in ps:
        p.start()
    got = [q.get() for _ in ps]
    for p in ps:
        p.join()
    wall = time.perf_counter() - t0
    return wall, sum(g[0] for g in got), sum(g[1] for g in got)


def time_sweep(n_runs: int, workers: int, folder: Path) -> tuple[float, int, float]:
    """(wall seconds, runs stored, client CPU seconds) of ``run_sweep`` into ``folder``."""
    from rich.console import Console

    from cellsim.run.sweep import run_sweep

    plan = make_plan(n_runs)
    shutil.rmtree(folder, ignore_errors=True)
    quiet = Console(file=open(os.devnull, "w"))
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    out = run_sweep(plan, folder, workers=workers, console=quiet, progress=False, report=False)
    wall = time.perf_counter() - t0
    return wall, len(out["runs"]), time.process_time() - cpu0


def main() -> None:
    """Measure the sweep and the plain loop side by side, print and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2000)
    ap.add_argument("--quick", action="store_true", help="200 runs")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    ap.add_argument("--plain-first", action="store_true", help="run (b) before (a)")
    args = ap.parse_args()
    n = 200 if args.quick else args.runs
    n = max(POINTS, n // POINTS * POINTS)

    # warm the Numba on-disk cache once, so neither side pays a compile
    from cellsim.run.single import run_one

    run_one(make_plan(POINTS).spec(0, 0))

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "sweep"
        if args.plain_first:
            plain = time_plain(n, args.workers)
            sweep = time_sweep(n, args.workers, folder)
        else:
            sweep = time_sweep(n, args.workers, folder)
            plain = time_plain(n, args.workers)
    ratio = plain[0] / sweep[0]
    load = os.getloadavg()[0]
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    print(f"{n} runs of a 1000-cell, 20-year tissue on {args.workers} workers ({when})")
    for label, (wall, runs, cpu), who in (
        ("(a) sweep", sweep, "client"),
        ("(b) plain", plain, "workers"),
    ):
        print(f"{label}  {wall:8.2f} s  {runs / wall:7.1f} runs/s  {who} CPU {cpu:.2f} s")
    print(f"sweep / plain throughput = {ratio:.3f} (target >= 0.70); load average {load:.2f}")

    args.out.mkdir(parents=True, exist_ok=True)
    csv = args.out / "small_runs.csv"
    header = "utc,runs,workers,sweep_s,plain_s,ratio,sweep_client_cpu_s,plain_cpu_s,load1\n"
    if not csv.is_file():
        csv.write_text(header)
    with csv.open("a") as f:
        f.write(
            f"{when},{n},{args.workers},{sweep[0]:.3f},{plain[0]:.3f},{ratio:.4f},"
            f"{sweep[2]:.3f},{plain[2]:.3f},{load:.2f}\n"
        )
    (args.out / "small_runs.md").write_text(
        f"# Many small runs ({when})\n\n"
        f"{n} runs of a 1000-cell, 20-year tissue (10 points x {n // POINTS} replicates), "
        f"{args.workers} workers; `benchmarks/small_runs.py`.\n\n"
        "| | wall s | runs/s | CPU s |\n|---|---:|---:|---:|\n"
        f"| (a) `run_sweep`, LocalCluster | {sweep[0]:.2f} | {sweep[1] / sweep[0]:.1f} | "
        f"{sweep[2]:.2f} (client) |\n"
        f"| (b) plain loop, {args.workers} processes | {plain[0]:.2f} | "
        f"{plain[1] / plain[0]:.1f} | {plain[2]:.2f} (workers) |\n\n"
        f"**sweep / plain throughput = {ratio:.3f}** (target >= 0.70); "
        f"load average {load:.2f}.\n"
    )


if __name__ == "__main__":
    main()
