"""The engine against the speed limit of its model (issue 14): same model, same run.

One command (see benchmarks/README.md, "limit.py")::

    PYTHONPATH=. .venv/bin/python benchmarks/limit.py [--quick] [--big] [--out DIR]

``benchmarks/limit_kernel.py`` is a minimal event-driven Numba kernel of the engine's
well-mixed one-tissue model (only the competent cells, as float32 (telomere, epigenetic
origin) records in one compact array; senescent and transformed cells only counted). This
script runs it and the engine (``cellsim.engine.model.AgingModel``) on the same
parameters and reports:

1. *Same model*: the exhaustion day (first step, dt = 1 day, that ends with no CYCLING
   or STEM cell) of ``SEEDS`` seeds each at ``DIST_CELLS`` cells with ``dist_tissue``
   (fast turnover, strong stress, saturating clearance, rare transformation): the means
   with their standard errors and the two-sample KS test (``scipy.stats.ks_2samp``).
2. *Speed*: divisions per CPU second (``time.process_time``) of both at 1e5, 1e6 and
   1e7 cells (``--quick``: 1e5, 1e6) with ``speed_tissue`` (the default fibroblast-like
   tissue with a stress rate of 1e-3/day, so that stress senescence and clearance make
   ~12% of the events): both are founded once, warmed up for one day, then advanced in
   interleaved rounds (engine window, limit window, engine window, ...) of
   ``window_days(N)`` simulated days from day 1 on, well before exhaustion (the tissue's
   decline starts after ~2500 days). The engine runs "all features on": an
   ``AgingModel.step()`` loop with a trajectory record every 30 days. Reported: the
   median over the rounds of each, and ``engine / limit`` (the ratio of the medians).
3. *Memory*: peak resident set per cell of constructing each and running
   ``MEMORY_DAYS`` days at 1e7 cells (``--big``: also 1e8), each in a fresh
   subprocess: ``VmHWM`` (reset by writing "5" to /proc/self/clear_refs after the
   imports and the warm-up) minus ``VmRSS`` before construction, over N.

Writes ``limit.csv`` and ``limit.md`` to ``--out`` (default benchmarks/results) and prints
the Markdown. Speed is never asserted here or in the tests.
"""

from __future__ import annotations

import argparse
import csv
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from limit_kernel import LimitTissue  # noqa: E402

from cellsim.engine.model import AgingModel  # noqa: E402
from cellsim.engine.params import (  # noqa: E402
    ClearanceParams,
    FailureParams,
    ModelParams,
    RunParams,
    StressParams,
    TissueParams,
    TransformationParams,
)
from cellsim.kernels.layout import COUNTER_NAMES  # noqa: E402

DIVISIONS = COUNTER_NAMES.index("divisions")
SEEDS, SEEDS_QUICK = 100, 40
DIST_CELLS = 5000
DIST_MAX_DAYS = 5000.0
ROUNDS, ROUNDS_QUICK = 5, 3
SPEED_CELLS = (100_000, 1_000_000, 10_000_000)
SPEED_CELLS_QUICK = (100_000, 1_000_000)
MEMORY_CELLS = (10_000_000,)
MEMORY_CELLS_BIG = (10_000_000, 100_000_000)
MEMORY_DAYS = 31  # includes the trajectory record of day 30
RECORD_INTERVAL_DAYS = 30.0
NO_FAILURE = FailureParams(functional_fraction_min=0.0, neoplasia_fraction=1.0)
"""Only exhaustion stops a run (no "failure" or "neoplasia" event can be reached)."""


def dist_tissue(n_cells: int = DIST_CELLS) -> TissueParams:
    """The tissue of the distribution check: a 5-day cell lifespan (exhaustion in ~150
    days), stress rising with organism and epigenetic age (at day 150 the hazard is ~0.1
    /day, half the death rate), saturating clearance (defaults: r0 0.3/day, K 0.5),
    transformation 5e-7 per CYCLING daughter with fitness 1.5 (about one run in
    eight has one, and its clone then takes the tissue over)."""
    return TissueParams(
        n_cells=n_cells,
        lifespan_days=5.0,
        stress=StressParams(
            rate_per_day=0.005,
            age_slope_per_day_per_year=0.05,
            epigenetic_slope_per_day_per_year=0.2,
        ),
        clearance=ClearanceParams(),
        transformation=TransformationParams(probability_per_division=5e-7, fitness=1.5),
        failure=NO_FAILURE,
    )


def speed_tissue(n_cells: int) -> TissueParams:
    """The tissue of the speed rows: the defaults (fibroblast-like, lifespan 140 days,
    clearance r0 0.3/day K 0.5, transformation 1e-8 per daughter) with stress at
    1e-3/day plus the default epigenetic slope of 1e-6/day per year."""
    return TissueParams(n_cells=n_cells, stress=StressParams(rate_per_day=1e-3))


def engine_model(tissue: TissueParams, seed: int, horizon_days: float) -> AgingModel:
    """The engine on one tissue, recording every 30 days, stopping at exhaustion."""
    run = RunParams(
        horizon_days=horizon_days,
        record_interval_days=RECORD_INTERVAL_DAYS,
        stop_at="first_event",
    )
    return AgingModel(ModelParams(tissues=[tissue], run=run), rng=seed)


def engine_divisions(model: AgingModel) -> int:
    return int(model.primary.counters[DIVISIONS])


# --- 1. same model: the exhaustion-day distribution ---------------------------------------
def exhaustion_days(n_seeds: int) -> dict[str, Any]:
    """Exhaustion days of ``n_seeds`` engine runs (``AgingModel.run``) and as many limit
    runs (seeds offset by 10^6), with the KS test and the means' standard errors."""
    from scipy.stats import ks_2samp

    tissue = dist_tissue()
    eng, lim, eng_cpu, lim_cpu = [], [], 0.0, 0.0
    for seed in range(n_seeds):
        c0 = time.process_time()
        model = engine_model(tissue, seed, DIST_MAX_DAYS).run()
        c1 = time.process_time()
        limit = LimitTissue(tissue, np.random.default_rng(10**6 + seed))
        day = limit.run_to_exhaustion(DIST_MAX_DAYS)
        c2 = time.process_time()
        eng_cpu += c1 - c0
        lim_cpu += c2 - c1
        eng.append(model.primary.event_days["exhaustion"])
        lim.append(day)
        if eng[-1] is None or lim[-1] is None:
            raise RuntimeError(f"seed {seed}: no exhaustion within {DIST_MAX_DAYS:g} days")
    ks = ks_2samp(eng, lim)

    def mean_se(x: list[float]) -> tuple[float, float]:
        return statistics.fmean(x), statistics.stdev(x) / math.sqrt(len(x))

    (em, es), (lm, ls) = mean_se(eng), mean_se(lim)
    return {
        "n_cells": tissue.n_cells,
        "seeds": n_seeds,
        "engine_mean": em,
        "engine_se": es,
        "limit_mean": lm,
        "limit_se": ls,
        "ks_statistic": float(ks.statistic),
        "ks_pvalue": float(ks.pvalue),
        "engine_cpu_s": eng_cpu,
        "limit_cpu_s": lim_cpu,
        "engine_days": eng,
        "limit_days": lim,
    }


# --- 2. speed --------------------------------------------------------------------------------
def window_days(n_cells: int) -> int:
    """Simulated days per round: ~2e6 divisions (at 1/140 per cell-day), whole records of
    30 days, at most 300 days (so that 5 rounds end by day ~1500, before the decline)."""
    days = 2e6 * 140.0 / n_cells
    return int(min(300, max(30, round(days / 30) * 30)))


def speed(n_cells: int, rounds: int, seed: int = 7) -> dict[str, Any]:
    """Divisions per CPU second of the engine (``AgingModel.step()`` loop) and the limit
    kernel on ``speed_tissue(n_cells)``, in interleaved rounds (median of the rounds)."""
    tissue = speed_tissue(n_cells)
    days = window_days(n_cells)
    model = engine_model(tissue, seed, 100 * 365.25)
    limit = LimitTissue(tissue, np.random.default_rng(seed + 1))
    model.step()  # warm-up: the first day of each (kernels loaded, pages touched)
    limit.advance(1)
    eng, lim = [], []
    for _ in range(rounds):
        gc.collect()
        d0 = engine_divisions(model)
        c0 = time.process_time()
        for _ in range(days):
            model.step()
        c1 = time.process_time()
        eng.append((engine_divisions(model) - d0) / (c1 - c0))
        d0 = limit.divisions
        c0 = time.process_time()
        limit.advance(days)
        c1 = time.process_time()
        lim.append((limit.divisions - d0) / (c1 - c0))
        if not model.running:
            raise RuntimeError(f"the engine stopped ({model.stop_reason}) in the window")
    e, m = statistics.median(eng), statistics.median(lim)
    return {
        "n_cells": n_cells,
        "rounds": rounds,
        "days_per_round": days,
        "last_day": model.age_days,
        "engine_div_per_cpu_s": e,
        "limit_div_per_cpu_s": m,
        "engine_over_limit": e / m,
        "engine_rounds": eng,
        "limit_rounds": lim,
        "engine_functional_fraction": model.primary.last_record["functional_fraction"],
    }


# --- 3. memory (one subprocess per measurement) -------------------------------------------
def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def memory_child(impl: str, n_cells: int) -> dict[str, Any]:
    """In a fresh interpreter: peak RSS per cell of founding one tissue and running
    ``MEMORY_DAYS`` days (the engine: ``step()`` with its records)."""
    # warm-up: compile or load every kernel at a small size first
    small = speed_tissue(1000)
    warm = engine_model(small, 0, 1000.0) if impl == "engine" else None
    if warm is not None:
        for _ in range(31):
            warm.step()
    else:
        LimitTissue(small, np.random.default_rng(0)).advance(31)
    del warm
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    rss0 = _status_kb("VmRSS") * 1024
    tissue = speed_tissue(n_cells)
    if impl == "engine":
        model = engine_model(tissue, 1, 1000.0)
        for _ in range(MEMORY_DAYS):
            model.step()
        arrays = model.primary.cells.nbytes()
    else:
        limit = LimitTissue(tissue, np.random.default_rng(1))
        limit.advance(MEMORY_DAYS)
        arrays = limit.cells.nbytes + limit.counts.nbytes
    hwm = _status_kb("VmHWM") * 1024
    return {
        "implementation": impl,
        "n_cells": n_cells,
        "peak_rss_bytes_per_cell": (hwm - rss0) / n_cells,
        "arrays_bytes_per_cell": arrays / n_cells,
    }


def memory(impl: str, n_cells: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--_memory", impl, str(n_cells)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- output ------------------------------------------------------------------------------------
def tables(dist: dict[str, Any], speeds: list[dict], mems: list[dict]) -> tuple[list, str]:
    """The CSV rows (long form) and the Markdown report."""
    rows: list[dict[str, Any]] = []
    rows.append(
        {
            "metric": "exhaustion_day_mean",
            "n_cells": dist["n_cells"],
            "engine": dist["engine_mean"],
            "limit": dist["limit_mean"],
            "engine_over_limit": dist["engine_mean"] / dist["limit_mean"],
            "detail": f"se engine {dist['engine_se']:.3g} limit {dist['limit_se']:.3g}; "
            f"{dist['seeds']} seeds each; KS D {dist['ks_statistic']:.3g} "
            f"p {dist['ks_pvalue']:.3g}",
        }
    )
    for s in speeds:
        rows.append(
            {
                "metric": "divisions_per_cpu_s",
                "n_cells": s["n_cells"],
                "engine": s["engine_div_per_cpu_s"],
                "limit": s["limit_div_per_cpu_s"],
                "engine_over_limit": s["engine_over_limit"],
                "detail": f"median of {s['rounds']} interleaved rounds of "
                f"{s['days_per_round']} days, to day {s['last_day']:g}",
            }
        )
    by_n: dict[int, dict[str, dict]] = {}
    for m in mems:
        by_n.setdefault(m["n_cells"], {})[m["implementation"]] = m
    for n, pair in sorted(by_n.items()):
        e, m = pair["engine"], pair["limit"]
        rows.append(
            {
                "metric": "peak_rss_bytes_per_cell",
                "n_cells": n,
                "engine": e["peak_rss_bytes_per_cell"],
                "limit": m["peak_rss_bytes_per_cell"],
                "engine_over_limit": e["peak_rss_bytes_per_cell"] / m["peak_rss_bytes_per_cell"],
                "detail": f"founding + {MEMORY_DAYS} days; arrays engine "
                f"{e['arrays_bytes_per_cell']:.3g} limit {m['arrays_bytes_per_cell']:.3g} B/cell",
            }
        )
    lines = [
        "# Engine against the limit kernel (benchmarks/limit.py)",
        "",
        f"Same model ({dist['n_cells']} cells, `dist_tissue`): exhaustion day, "
        f"{dist['seeds']} seeds each",
        "",
        "| | engine | limit |",
        "|---|---:|---:|",
        f"| mean day (± se) | {dist['engine_mean']:.2f} ± {dist['engine_se']:.2f} | "
        f"{dist['limit_mean']:.2f} ± {dist['limit_se']:.2f} |",
        f"| KS two-sample | D = {dist['ks_statistic']:.3f} | p = {dist['ks_pvalue']:.3f} |",
        "",
        "Speed (`speed_tissue`; engine: `AgingModel.step()` loop, record every 30 days): "
        "divisions per CPU second, median of interleaved rounds",
        "",
        "| N cells | days/round | rounds | engine | limit | engine / limit |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for s in speeds:
        lines.append(
            f"| {s['n_cells']:.0e} | {s['days_per_round']} | {s['rounds']} | "
            f"{s['engine_div_per_cpu_s']:.3g} | {s['limit_div_per_cpu_s']:.3g} | "
            f"{s['engine_over_limit']:.2f} |"
        )
    lines += [
        "",
        f"Peak memory (founding + {MEMORY_DAYS} days, fresh subprocess each): "
        "peak RSS bytes per cell (arrays alone in brackets)",
        "",
        "| N cells | engine | limit | engine / limit |",
        "|---:|---:|---:|---:|",
    ]
    for n, pair in sorted(by_n.items()):
        e, m = pair["engine"], pair["limit"]
        lines.append(
            f"| {n:.0e} | {e['peak_rss_bytes_per_cell']:.1f} ({e['arrays_bytes_per_cell']:.1f}) "
            f"| {m['peak_rss_bytes_per_cell']:.1f} ({m['arrays_bytes_per_cell']:.1f}) | "
            f"{e['peak_rss_bytes_per_cell'] / m['peak_rss_bytes_per_cell']:.2f} |"
        )
    load = os.getloadavg()
    lines += [
        "",
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
        f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        "at the end; CPU time (`time.process_time`).",
    ]
    return rows, "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1e5 and 1e6 cells, fewer seeds")
    ap.add_argument("--big", action="store_true", help="also the memory of 1e8 cells")
    ap.add_argument("--out", type=Path, default=HERE / "results")
    ap.add_argument("--_memory", nargs=2, metavar=("IMPL", "N"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._memory:
        print(json.dumps(memory_child(args._memory[0], int(args._memory[1]))))
        return
    quick = args.quick
    t_start = time.perf_counter()
    dist = exhaustion_days(SEEDS_QUICK if quick else SEEDS)
    print(
        f"exhaustion day: engine {dist['engine_mean']:.2f} ± {dist['engine_se']:.2f}, "
        f"limit {dist['limit_mean']:.2f} ± {dist['limit_se']:.2f}, "
        f"KS p = {dist['ks_pvalue']:.3g}",
        flush=True,
    )
    speeds = []
    for n in SPEED_CELLS_QUICK if quick else SPEED_CELLS:
        s = speed(n, ROUNDS_QUICK if quick else ROUNDS)
        speeds.append(s)
        print(
            f"N={n:.0e}: engine {s['engine_div_per_cpu_s']:.3g}/s limit "
            f"{s['limit_div_per_cpu_s']:.3g}/s ratio {s['engine_over_limit']:.2f} "
            f"(rounds engine {[f'{x:.3g}' for x in s['engine_rounds']]}, "
            f"limit {[f'{x:.3g}' for x in s['limit_rounds']]})",
            flush=True,
        )
    mems = []
    for n in MEMORY_CELLS_BIG if args.big else MEMORY_CELLS:
        for impl in ("engine", "limit"):
            m = memory(impl, n)
            mems.append(m)
            print(
                f"memory {impl} N={n:.0e}: {m['peak_rss_bytes_per_cell']:.1f} B/cell peak",
                flush=True,
            )
    rows, md = tables(dist, speeds, mems)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "limit.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (args.out / "limit.md").write_text(md)
    print()
    print((args.out / "limit.csv").read_text())
    print(md)
    print(f"total {time.perf_counter() - t_start:.0f} s wall")


if __name__ == "__main__":
    main()
