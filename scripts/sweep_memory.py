"""Does a sweep worker's memory grow run over run? RSS after 20 runs vs after 200.

Starts cellsim's LocalCluster with one worker process (threads pinned as in a sweep) and
feeds it the runs of a sweep file (default: the README's senolytic sweep), exactly as
``cellsim sweep`` does (``cellsim.run.dask.execute_run``: model, run, subsampled trajectories
sent back). After each checkpoint the queue is drained and the worker's resident set size
(RSS, psutil) is read, so no run is in flight when it is measured.

    .venv/bin/python scripts/sweep_memory.py [SWEEP_FILE] [--runs 200]
        [--checkpoints 20,50,100,150,200]

Prints one line per checkpoint and the growth from the first to the last checkpoint, in
MB and per run. Runs cycle through the sweep's points (run k = point k mod n_points,
replicate k // n_points), so they differ in parameters like a real sweep.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def worker_rss() -> int:
    """RSS of the calling process in bytes (run on the worker)."""
    import psutil

    return psutil.Process().memory_info().rss


def main() -> None:
    from distributed import wait

    from cellsim.config.sweep import load_sweep
    from cellsim.run.dask import dask_client, execute_run

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "sweep", nargs="?", default=str(REPO / "scenarios/sweeps/senolytic_schedule.toml")
    )
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--checkpoints", default="20,50,100,150,200")
    args = ap.parse_args()
    checkpoints = sorted({int(c) for c in args.checkpoints.split(",") if int(c) <= args.runs})
    plan = load_sweep(args.sweep)
    n = plan.n_points
    print(f"sweep {plan.sweep.name!r}: {n} points; {args.runs} runs on one worker process")
    with dask_client(workers=1) as (client, _):
        (address,) = client.nthreads()
        print(f"worker RSS before any run: {client.run(worker_rss)[address] / 2**20:.1f} MB")
        done = 0
        results = []
        t0 = time.perf_counter()
        for target in checkpoints:
            futures = [
                client.submit(
                    execute_run,
                    plan.spec(k % n, k // n),
                    plan.sweep.trajectory_interval_days,
                    plan.sweep.store_trajectories,
                    pure=False,
                )
                for k in range(done, target)
            ]
            wait(futures)
            failed = sum(not f.result()["ok"] for f in futures)
            del futures
            done = target
            rss = client.run(worker_rss)[address] / 2**20
            results.append((done, rss))
            print(
                f"after {done:4d} runs: worker RSS {rss:7.1f} MB "
                f"({time.perf_counter() - t0:6.1f} s, {failed} failed)",
                flush=True,
            )
    (n0, r0), (n1, r1) = results[0], results[-1]
    per_run = (r1 - r0) / (n1 - n0) * 1024 if n1 > n0 else float("nan")
    print(
        f"growth from {n0} to {n1} runs: {r1 - r0:+.1f} MB ({per_run:+.1f} kB per run); "
        f"RSS after {n1} / after {n0} = {r1 / r0:.3f}"
    )


if __name__ == "__main__":  # the worker processes are spawned: guard the entry point
    main()
