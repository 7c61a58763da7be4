"""Speed and memory of the engine against the naive one-agent-per-cell Mesa reference.

One command (see benchmarks/README.md)::

    .venv/bin/python benchmarks/bench.py [--quick] [--out benchmarks/results] [--rounds 3]

For a well-mixed tissue (defaults of ``cellsim.engine.params.TissueParams``, ``lifespan_days=140``)
of N = 10^3 ... 10^7 cells (``--quick``: up to 10^5), and the same tissue on a square torus
lattice of 100^2, 300^2 and 1000^2 sites (``LatticeParams`` defaults; ``--quick``: up to
300^2), it times, from a freshly founded tissue, a fixed number of simulated days of

- ``engine_bare``: the day kernel ``kernels.day.one_day`` (well-mixed, or
  cellsim.kernels.lattice with its per-site mark array) called directly in a Python loop,
  one call per day, with the model's Generator;
- ``engine_model``: ``AgingModel.step()`` (detection, stopping rule, a trajectory record
  every 30 days through Mesa's DataCollector);
- ``naive_mesa``: reference/naive_mesa.py (``NaiveTissueModel``, N <= 10^5;
  ``NaiveLatticeModel`` on Mesa's OrthogonalMooreGrid, up to 300^2 sites).

Each round measures the implementations one after the other at the same geometry and N
(engine bare, engine model, naive), on a fresh tissue each, and the reported time is the
median over the rounds, so a change of machine load hits all of them alike. Wall time
(``perf_counter``) is the headline; the process's CPU time (``process_time``) is reported
beside it, as it is less disturbed by other jobs on a shared machine. Numba compilation is
warmed up (and the cache loaded) before any timing; timing is ``time.perf_counter`` around the
day loop only (construction excluded).

Memory is measured in a separate subprocess per (geometry, implementation, N), so one
measurement does not inherit another's heap or high-water mark: construction plus 30 days
under ``tracemalloc``, and the process's peak resident set (``VmHWM``, reset through
``/proc/self/clear_refs`` after the imports and warm-up) minus its resident set before
construction.

Also: the recorded-model over bare-kernel time at 10^6 cells (and 1000^2 sites); the
start-up of `cellsim run` (benchmarks/startup.py: time to the first simulated step of a
tiny scenario, cold with an empty Numba cache and warm, against the target of 2 s for a
second run, plus the end-to-end times); a CSV, a JSON summary, a Markdown table and a
log-log plot of cost per simulated day against N with fitted exponents.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import mesa  # noqa: E402
import numba  # noqa: E402
import startup  # noqa: E402

from cellsim.engine.model import AgingModel  # noqa: E402
from cellsim.engine.params import LatticeParams, ModelParams, RunParams, TissueParams  # noqa: E402
from cellsim.kernels import day as day_kernels  # noqa: E402
from cellsim.kernels.layout import C_DIVISIONS  # noqa: E402
from reference.naive_mesa import NaiveLatticeModel, NaiveTissueModel  # noqa: E402

LIFESPAN_DAYS = 140.0
RECORD_INTERVAL_DAYS = 30.0
SIZES = (10**3, 10**4, 10**5, 10**6, 10**7)
QUICK_MAX = 10**5
NAIVE_MAX = 10**5
MODEL_VS_BARE_N = 10**6
MEMORY_DAYS = 30
# Simulated days per measurement, from a freshly founded tissue. The engine's windows are
# long enough (>= ~0.1 s) not to be a snapshot of the machine's load; the naive model's are
# what it finishes in reasonable time. Both stay within the first two years, long before
# the pool runs low (~1.4 bp/day of attrition against a 4.5 kb budget), where the cost per
# cell-day is steady, so rates over different windows compare.
ENGINE_DAYS = {10**3: 730, 10**4: 730, 10**5: 365, 10**6: 365, 10**7: 60}
NAIVE_DAYS = {10**3: 365, 10**4: 60, 10**5: 30}
QUICK_ENGINE_DAYS = {10**3: 365, 10**4: 365, 10**5: 120}
QUICK_NAIVE_DAYS = {10**3: 120, 10**4: 30, 10**5: 10}
# The lattice: square tori of side 100, 300, 1000 (N = side^2 sites, all occupied at the
# start). The naive model builds Mesa's OrthogonalMooreGrid (~3.5 s at 300^2; ~50 s and
# ~1.2 GB at 1000^2 measured here), so it stops at 300^2; its steps cost per event
# (~0.5-1 us per cell-day at lifespan 140 d).
LATTICE_SIDES = (100, 300, 1000)
LATTICE_SIZES = tuple(side * side for side in LATTICE_SIDES)
LATTICE_QUICK_MAX = 300**2
LATTICE_NAIVE_MAX = 300**2
LATTICE_MODEL_VS_BARE_N = 1000**2
LATTICE_ENGINE_DAYS = {100**2: 730, 300**2: 365, 1000**2: 365}
LATTICE_NAIVE_DAYS = {100**2: 60, 300**2: 30}
QUICK_LATTICE_ENGINE_DAYS = {100**2: 365, 300**2: 120}
QUICK_LATTICE_NAIVE_DAYS = {100**2: 30, 300**2: 10}
GEOMETRIES = ("wellmixed", "lattice")
IMPLEMENTATIONS = ("engine_bare", "engine_model", "naive_mesa")
TARGETS = {
    "ratio_vs_naive_at_1e5": 300.0,
    "model_over_bare_at_1e6": 1.5,
    "peak_bytes_per_cell_at_1e7": 40.0,
    "warm_start_first_step_s": 2.0,
}
STARTUP_WARM = 5
QUICK_STARTUP_WARM = 3


# --- building the tissues --------------------------------------------------------------
def lattice_side(n: int) -> int:
    side = math.isqrt(n)
    assert side * side == n, f"a benchmark lattice is square: {n} sites"
    return side


def tissue_params(n: int, geometry: str = "wellmixed") -> TissueParams:
    if geometry == "lattice":
        side = lattice_side(n)
        return TissueParams(
            n_cells=n,
            lifespan_days=LIFESPAN_DAYS,
            lattice=LatticeParams(width=side, height=side),
        )
    return TissueParams(n_cells=n, lifespan_days=LIFESPAN_DAYS)


def run_params() -> RunParams:
    return RunParams(
        horizon_days=100 * 365.25, stop_at="horizon", record_interval_days=RECORD_INTERVAL_DAYS
    )


def engine_model(n: int, seed: int, geometry: str = "wellmixed") -> AgingModel:
    return AgingModel(ModelParams(tissues=[tissue_params(n, geometry)], run=run_params()), rng=seed)


def naive_model(n: int, seed: int, geometry: str = "wellmixed") -> NaiveTissueModel:
    if geometry == "lattice":
        return NaiveLatticeModel(tissue_params(n, geometry), run_params(), rng=seed)
    return NaiveTissueModel(tissue_params(n), run_params(), rng=seed)


# --- one timed measurement -------------------------------------------------------------
def timed(loop: Callable[[], None]) -> tuple[float, float]:
    """Wall and CPU seconds of ``loop()``, after a garbage collection."""
    gc.collect()
    c0 = time.process_time()
    t0 = time.perf_counter()
    loop()
    return time.perf_counter() - t0, time.process_time() - c0


def step_days(model: Any, days: int) -> None:
    """``days`` calls of ``model.step()`` (an AgingModel or a naive model)."""
    for _ in range(days):
        model.step()


def time_engine_bare(
    n: int, days: int, seed: int, geometry: str = "wellmixed"
) -> tuple[float, float, int]:
    """Wall and CPU seconds for ``days`` calls of the day kernel (``kernels.day.one_day``),
    and divisions: the Tissue's kernel with nothing around it (on a lattice, the tissue's
    geometry carries the replacement pass's stamp and epoch)."""
    model = engine_model(n, seed, geometry)
    tissue = model.primary
    tissues = (tissue.kernel_view(),)
    rng, counters = model.rng, tissue.counters
    d0 = int(counters[C_DIVISIONS])

    def kernel_days() -> None:
        one_day = day_kernels.one_day
        for day in range(1, days + 1):
            one_day(tissues, None, float(day - 1), float(day), rng)

    seconds, cpu = timed(kernel_days)
    return seconds, cpu, int(counters[C_DIVISIONS]) - d0


def time_engine_model(
    n: int, days: int, seed: int, geometry: str = "wellmixed"
) -> tuple[float, float, int]:
    """Wall and CPU seconds for ``days`` AgingModel steps (a record every 30 days), divisions."""
    model = engine_model(n, seed, geometry)
    d0 = int(model.primary.counters[C_DIVISIONS])
    seconds, cpu = timed(lambda: step_days(model, days))
    assert model.running, "the benchmark tissue stopped early"
    return seconds, cpu, int(model.primary.counters[C_DIVISIONS]) - d0


def time_naive(
    n: int, days: int, seed: int, geometry: str = "wellmixed"
) -> tuple[float, float, int]:
    """Wall and CPU seconds for ``days`` steps of the one-agent-per-cell model, and divisions."""
    model = naive_model(n, seed, geometry)
    d0 = model.counters["divisions"]
    seconds, cpu = timed(lambda: step_days(model, days))
    return seconds, cpu, model.counters["divisions"] - d0


TIMERS = {
    "engine_bare": time_engine_bare,
    "engine_model": time_engine_model,
    "naive_mesa": time_naive,
}


def warm_up() -> None:
    """Compile (or load from the cache) every kernel the timed loops use."""
    model = engine_model(1000, 0)
    for _ in range(int(RECORD_INTERVAL_DAYS) + 5):
        model.step()
    time_engine_bare(1000, 5, 0)
    time_naive(500, 3, 0)
    time_engine_model(32**2, int(RECORD_INTERVAL_DAYS) + 5, 0, "lattice")
    time_engine_bare(32**2, 5, 0, "lattice")
    time_naive(20**2, 3, 0, "lattice")


# --- memory (in a subprocess) ----------------------------------------------------------
def _proc_status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def memory_child(impl: str, n: int, geometry: str = "wellmixed") -> dict[str, Any]:
    """Run in a fresh interpreter: memory of constructing and running one tissue.

    The engine's ``arrays_bytes_per_cell`` is its CellPopulation's arrays, plus on a lattice
    the Tissue's int32 mark per site (the replacement pass's stamp)."""
    warm_up()
    gc.collect()
    reset_ok = _reset_peak_rss()
    rss0 = _proc_status_kb("VmRSS") * 1024
    tracemalloc.start()
    traced0 = tracemalloc.get_traced_memory()[0]
    if impl == "naive_mesa":
        model: Any = naive_model(n, 1, geometry)
        for _ in range(MEMORY_DAYS):
            model.step()
        arrays = float("nan")
    else:
        model = engine_model(n, 1, geometry)
        for _ in range(MEMORY_DAYS):
            model.step()
        mark = getattr(model.primary, "_mark", None)
        arrays = (model.primary.cells.nbytes() + (0 if mark is None else mark.nbytes)) / n
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    hwm = _proc_status_kb("VmHWM") * 1024
    return {
        "geometry": geometry,
        "implementation": impl,
        "n_cells": n,
        "arrays_bytes_per_cell": arrays,
        "live_traced_bytes_per_cell": (current - traced0) / n,
        "peak_traced_bytes_per_cell": (peak - traced0) / n,
        "peak_rss_bytes_per_cell": (hwm - rss0) / n if reset_ok else float("nan"),
    }


def measure_memory(impl: str, n: int, geometry: str = "wellmixed") -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--_memory", impl, str(n), geometry],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- CLI start-up ----------------------------------------------------------------------
def cli_startup(warm: int) -> dict[str, Any]:
    """`cellsim run` start-up, measured by benchmarks/startup.py: seconds to the first
    simulated step of a tiny scenario, once with an empty Numba cache (cold) and ``warm``
    times with the cache it filled, with the end-to-end times beside them; plus the time of
    ``python -c "import cellsim.engine.model"``. Verdict on the target "a second `cellsim run`
    starts simulating within 2 s": the warm median (``verdict``) and every warm start
    (``verdict_every_warm_start``)."""
    try:
        import cellsim.cli  # noqa: F401
    except ImportError:
        return {"cli": "absent"}
    target = TARGETS["warm_start_first_step_s"]
    try:
        result: dict[str, Any] = startup.measure(
            warm, log=lambda line: print(f"  {line}", flush=True)
        )
    except startup.StartupError as e:
        return {"cli": "failed", "error": str(e)[-2000:]}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import cellsim.engine.model"], check=True)
    import_s = time.perf_counter() - t0
    median, worst = result["warm_first_step_median_s"], result["warm_first_step_max_s"]
    return {
        "cli": "cellsim.cli.main, run by benchmarks/startup.py",
        "target": "second cellsim run starts simulating within 2 s",
        "target_s": target,
        "verdict": "not measured" if median is None else ("met" if median <= target else "MISSED"),
        "verdict_every_warm_start": (
            "not measured" if worst is None else ("met" if worst <= target else "MISSED")
        ),
        "warm_starts": warm,
        **result,
        "python_import_cellsim_model_s": import_s,
    }


# --- machine ---------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": cpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "mesa": mesa.__version__,
        "loadavg_start": os.getloadavg(),
    }


# --- the run ---------------------------------------------------------------------------
def fit_exponent(ns: list[int], seconds_per_day: list[float]) -> float:
    if len(ns) < 2:
        return float("nan")
    slope, _ = np.polyfit(np.log10(ns), np.log10(seconds_per_day), 1)
    return float(slope)


def plan(quick: bool) -> list[tuple[str, int, dict[str, int]]]:
    """(geometry, N, simulated days per implementation) of every measured size."""
    out = []
    geometries = (
        ("wellmixed", SIZES, QUICK_MAX, NAIVE_MAX, ENGINE_DAYS, NAIVE_DAYS, QUICK_ENGINE_DAYS,
         QUICK_NAIVE_DAYS),
        ("lattice", LATTICE_SIZES, LATTICE_QUICK_MAX, LATTICE_NAIVE_MAX, LATTICE_ENGINE_DAYS,
         LATTICE_NAIVE_DAYS, QUICK_LATTICE_ENGINE_DAYS, QUICK_LATTICE_NAIVE_DAYS),
    )  # fmt: skip
    for geometry, sizes, quick_max, naive_max, e_days, n_days, qe_days, qn_days in geometries:
        engine_days, naive_days = (qe_days, qn_days) if quick else (e_days, n_days)
        for n in sizes:
            if quick and n > quick_max:
                continue
            days = {"engine_bare": engine_days[n], "engine_model": engine_days[n]}
            if n <= naive_max:
                days["naive_mesa"] = naive_days[n]
            out.append((geometry, n, days))
    return out


def size_label(geometry: str, n: int) -> str:
    """``1e5`` (well-mixed cells) or ``300x300`` (lattice sites)."""
    if geometry == "lattice":
        side = lattice_side(n)
        return f"{side}x{side}"
    return f"1e{round(math.log10(n))}"


def time_size(geometry: str, n: int, days_of: dict[str, int], rounds: int) -> list[dict[str, Any]]:
    """Time every implementation at one size, alternating them round by round; one row
    per implementation with the median wall and CPU times and the derived rates."""
    rows: list[dict[str, Any]] = []
    impls = list(days_of)
    walls: dict[str, list[float]] = {i: [] for i in impls}
    cpus: dict[str, list[float]] = {i: [] for i in impls}
    divs: dict[str, list[int]] = {i: [] for i in impls}
    label = size_label(geometry, n)
    for r in range(rounds):
        for impl in impls:  # alternate: bare, model, naive, bare, model, naive, ...
            wall, cpu, d = TIMERS[impl](n, days_of[impl], 1000 * r + 1, geometry)
            walls[impl].append(wall)
            cpus[impl].append(cpu)
            divs[impl].append(d)
            print(
                f"  {geometry:9s} N={label:>10s} {impl:13s} round {r}: {days_of[impl]:4d} "
                f"days in {wall:8.3f} s wall, {cpu:8.3f} s CPU  "
                f"(load {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    for impl in impls:
        sec = statistics.median(walls[impl])
        days = days_of[impl]
        rows.append(
            {
                "geometry": geometry,
                "implementation": impl,
                "n_cells": n,
                "days": days,
                "rounds": rounds,
                "seconds": sec,
                "seconds_min": min(walls[impl]),
                "seconds_max": max(walls[impl]),
                "cpu_seconds": statistics.median(cpus[impl]),
                "seconds_per_day": sec / days,
                "cpu_seconds_per_day": statistics.median(cpus[impl]) / days,
                "cell_days_per_s": n * days / sec,
                "cpu_cell_days_per_s": n * days / statistics.median(cpus[impl]),
                "divisions_per_s": statistics.median(divs[impl]) / sec,
            }
        )
    return rows


def run(out: Path, quick: bool, rounds: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    info = machine()
    print(f"machine: {info}", flush=True)
    t_start = time.perf_counter()
    warm_up()
    measured = plan(quick)

    rows: list[dict[str, Any]] = []
    for geometry, n, days_of in measured:
        rows += time_size(geometry, n, days_of, rounds)

    print("memory (one subprocess each) ...", flush=True)
    memory: dict[tuple[str, str, int], dict[str, Any]] = {}
    for geometry, n, days_of in measured:
        for impl in ("engine_model", "naive_mesa"):
            if impl not in days_of:
                continue
            memory[(geometry, impl, n)] = measure_memory(impl, n, geometry)
            print(f"  {memory[(geometry, impl, n)]}", flush=True)

    def by_size(impl: str, key: str) -> dict[tuple[str, int], float]:
        return {
            (row["geometry"], row["n_cells"]): row[key]
            for row in rows
            if row["implementation"] == impl
        }

    naive_rate = by_size("naive_mesa", "cell_days_per_s")
    naive_cpu_rate = by_size("naive_mesa", "cpu_cell_days_per_s")
    bare_seconds = by_size("engine_bare", "seconds")
    bare_cpu = by_size("engine_bare", "cpu_seconds")
    for row in rows:
        n, impl = row["n_cells"], row["implementation"]
        size = (row["geometry"], n)
        mem = memory[(row["geometry"], "naive_mesa" if impl == "naive_mesa" else "engine_model", n)]
        row["bytes_per_cell"] = (
            mem["live_traced_bytes_per_cell"]
            if impl == "naive_mesa"
            else mem["arrays_bytes_per_cell"]
        )
        row["peak_traced_bytes_per_cell"] = mem["peak_traced_bytes_per_cell"]
        row["peak_rss_bytes_per_cell"] = mem["peak_rss_bytes_per_cell"]
        row["ratio_vs_naive"] = (
            row["cell_days_per_s"] / naive_rate[size] if size in naive_rate else None
        )
        row["ratio_vs_naive_cpu"] = (
            row["cpu_cell_days_per_s"] / naive_cpu_rate[size] if size in naive_cpu_rate else None
        )
        # per simulated day: the windows are the same for both engine rows
        row["model_over_bare"] = (
            row["seconds"] / bare_seconds[size] if impl == "engine_model" else None
        )
        row["model_over_bare_cpu"] = (
            row["cpu_seconds"] / bare_cpu[size] if impl == "engine_model" else None
        )

    exponents: dict[str, float] = {}
    for key, suffix in (("seconds_per_day", ""), ("cpu_seconds_per_day", ", CPU")):
        for geometry in GEOMETRIES:
            prefix = "lattice " if geometry == "lattice" else ""
            for impl in IMPLEMENTATIONS:
                pts = [
                    (r["n_cells"], r[key])
                    for r in rows
                    if r["implementation"] == impl and r["geometry"] == geometry
                ]
                exponents[f"{prefix}{impl}{suffix}"] = fit_exponent(
                    [p[0] for p in pts], [p[1] for p in pts]
                )
                if geometry == "wellmixed":
                    big = [p for p in pts if p[0] >= 10**4]
                    exponents[f"{impl} (N>=1e4{suffix})"] = fit_exponent(
                        [p[0] for p in big], [p[1] for p in big]
                    )

    print("cellsim run start-up (benchmarks/startup.py) ...", flush=True)
    startup_result = cli_startup(QUICK_STARTUP_WARM if quick else STARTUP_WARM)
    info["loadavg_end"] = os.getloadavg()

    summary = summarize(rows, exponents, startup_result, info, quick)
    summary["wall_seconds"] = time.perf_counter() - t_start
    write_outputs(out, rows, summary)


def pick(
    rows: list[dict[str, Any]], impl: str, n: int, key: str, geometry: str = "wellmixed"
) -> Any:
    for r in rows:
        if r["implementation"] == impl and r["n_cells"] == n and r["geometry"] == geometry:
            return r[key]
    return None


def summarize(
    rows: list[dict[str, Any]],
    exponents: dict[str, float],
    startup_result: dict[str, Any],
    info: dict[str, Any],
    quick: bool,
) -> dict[str, Any]:
    ratio = pick(rows, "engine_bare", 10**5, "ratio_vs_naive")
    ratio_model = pick(rows, "engine_model", 10**5, "ratio_vs_naive")
    ratio_cpu = pick(rows, "engine_bare", 10**5, "ratio_vs_naive_cpu")
    model_over_bare = pick(rows, "engine_model", MODEL_VS_BARE_N, "model_over_bare")
    model_over_bare_cpu = pick(rows, "engine_model", MODEL_VS_BARE_N, "model_over_bare_cpu")
    peak_traced = pick(rows, "engine_model", 10**7, "peak_traced_bytes_per_cell")
    peak_rss = pick(rows, "engine_model", 10**7, "peak_rss_bytes_per_cell")
    arrays = pick(rows, "engine_model", 10**7, "bytes_per_cell")

    def verdict(value: float | None, target: float, higher_is_better: bool) -> str:
        if value is None:
            return "not measured"
        ok = value >= target if higher_is_better else value <= target
        return "met" if ok else "MISSED"

    return {
        "quick": quick,
        "machine": info,
        "ratio_vs_naive_at_1e5": {
            "engine_bare": ratio,
            "engine_model": ratio_model,
            "engine_bare_by_cpu_time": ratio_cpu,
            "target": TARGETS["ratio_vs_naive_at_1e5"],
            "verdict": verdict(ratio, TARGETS["ratio_vs_naive_at_1e5"], True),
        },
        "model_over_bare_at_1e6": {
            "value": model_over_bare,
            "by_cpu_time": model_over_bare_cpu,
            "days": ENGINE_DAYS[MODEL_VS_BARE_N],
            "record_interval_days": RECORD_INTERVAL_DAYS,
            "target": TARGETS["model_over_bare_at_1e6"],
            "verdict": verdict(model_over_bare, TARGETS["model_over_bare_at_1e6"], False),
        },
        "bytes_per_cell_at_1e7": {
            "arrays": arrays,
            "peak_traced": peak_traced,
            "peak_rss": peak_rss,
            "target": TARGETS["peak_bytes_per_cell_at_1e7"],
            "verdict": verdict(
                None if peak_traced is None else max(peak_traced, peak_rss),
                TARGETS["peak_bytes_per_cell_at_1e7"],
                False,
            ),
        },
        "lattice": lattice_summary(rows),
        "cost_per_day_exponent": exponents,
        "cellsim_run_startup": startup_result,
    }


def lattice_summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The lattice rows' headline numbers (no targets are set for the lattice)."""
    ratios = {}
    for n in LATTICE_SIZES:
        if pick(rows, "naive_mesa", n, "cell_days_per_s", "lattice") is None:
            continue
        ratios[size_label("lattice", n)] = {
            "engine_bare": pick(rows, "engine_bare", n, "ratio_vs_naive", "lattice"),
            "engine_model": pick(rows, "engine_model", n, "ratio_vs_naive", "lattice"),
            "engine_bare_by_cpu_time": pick(
                rows, "engine_bare", n, "ratio_vs_naive_cpu", "lattice"
            ),
        }
    n = LATTICE_MODEL_VS_BARE_N
    label = size_label("lattice", n)
    return {
        "geometry": "square torus, LatticeParams defaults (Moore neighbourhood, bystander "
        "1e-4/day), lifespan 140 d",
        "ratio_vs_naive": ratios,
        f"model_over_bare_at_{label}": {
            "value": pick(rows, "engine_model", n, "model_over_bare", "lattice"),
            "by_cpu_time": pick(rows, "engine_model", n, "model_over_bare_cpu", "lattice"),
            "days": LATTICE_ENGINE_DAYS[n],
            "record_interval_days": RECORD_INTERVAL_DAYS,
        },
        f"bytes_per_cell_at_{label}": {
            "arrays": pick(rows, "engine_model", n, "bytes_per_cell", "lattice"),
            "peak_traced": pick(rows, "engine_model", n, "peak_traced_bytes_per_cell", "lattice"),
            "peak_rss": pick(rows, "engine_model", n, "peak_rss_bytes_per_cell", "lattice"),
        },
    }


COLUMNS = (
    "geometry",
    "implementation",
    "n_cells",
    "days",
    "rounds",
    "seconds",
    "seconds_min",
    "seconds_max",
    "cpu_seconds",
    "seconds_per_day",
    "cpu_seconds_per_day",
    "cell_days_per_s",
    "cpu_cell_days_per_s",
    "divisions_per_s",
    "bytes_per_cell",
    "peak_traced_bytes_per_cell",
    "peak_rss_bytes_per_cell",
    "ratio_vs_naive",
    "ratio_vs_naive_cpu",
    "model_over_bare",
    "model_over_bare_cpu",
)


def fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    cols = (
        ("geometry", "geometry"),
        ("implementation", "implementation"),
        ("n_cells", "N"),
        ("days", "days"),
        ("seconds", "s (median)"),
        ("seconds_per_day", "s/day"),
        ("cell_days_per_s", "cell-days/s"),
        ("cpu_cell_days_per_s", "cell-days/CPU-s"),
        ("divisions_per_s", "divisions/s"),
        ("bytes_per_cell", "B/cell"),
        ("peak_traced_bytes_per_cell", "peak traced B/cell"),
        ("peak_rss_bytes_per_cell", "peak RSS B/cell"),
        ("ratio_vs_naive", "x naive"),
        ("ratio_vs_naive_cpu", "x naive (CPU)"),
        ("model_over_bare", "model/bare"),
        ("model_over_bare_cpu", "model/bare (CPU)"),
    )
    lines = [
        "| " + " | ".join(h for _, h in cols) + " |",
        "|" + "|".join("---" for _ in cols) + "|",
    ]
    order = sorted(
        rows,
        key=lambda r: (
            GEOMETRIES.index(r["geometry"]),
            r["n_cells"],
            IMPLEMENTATIONS.index(r["implementation"]),
        ),
    )
    for r in order:
        cells = []
        for key, _ in cols:
            v = r[key]
            if key == "n_cells":
                cells.append(size_label(r["geometry"], v))
            elif key in ("bytes_per_cell", "peak_traced_bytes_per_cell", "peak_rss_bytes_per_cell"):
                cells.append("" if v is None or math.isnan(v) else f"{v:.0f}")
            elif key in (
                "ratio_vs_naive",
                "ratio_vs_naive_cpu",
                "model_over_bare",
                "model_over_bare_cpu",
            ):
                cells.append("" if v is None else f"{v:.3g}")
            elif key == "seconds_per_day":
                cells.append(f"{v:.3g}")
            else:
                cells.append(fmt(v) if not isinstance(v, float) else f"{v:.3g}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_outputs(out: Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> None:
    import csv

    with open(out / "bench.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        for r in rows:
            w.writerow({k: fmt(r[k]) for k in COLUMNS})
    (out / "bench_summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
    table = markdown_table(rows)
    (out / "bench.md").write_text(table + "\n")
    plot(out / "cost_per_day.png", rows, summary["cost_per_day_exponent"])
    print()
    print(table)
    print()
    print(json.dumps({k: v for k, v in summary.items() if k != "machine"}, indent=2, default=str))
    print(
        f"wrote {out / 'bench.csv'}, {out / 'bench_summary.json'}, {out / 'bench.md'}, "
        f"{out / 'cost_per_day.png'}"
    )


def plot(path: Path, rows: list[dict[str, Any]], exponents: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    markers = {"engine_bare": "o", "engine_model": "s", "naive_mesa": "^"}
    colours = {"engine_bare": "C0", "engine_model": "C1", "naive_mesa": "C2"}
    ns_all = sorted({r["n_cells"] for r in rows if r["geometry"] == "wellmixed"})
    for ax, key, suffix, label in (
        (axes[0], "seconds_per_day", "", "wall seconds per simulated day"),
        (axes[1], "cpu_seconds_per_day", ", CPU", "CPU seconds per simulated day"),
    ):
        for geometry in GEOMETRIES:
            lattice = geometry == "lattice"
            prefix = "lattice " if lattice else ""
            for impl in IMPLEMENTATIONS:
                pts = sorted(
                    (r["n_cells"], r[key])
                    for r in rows
                    if r["implementation"] == impl and r["geometry"] == geometry
                )
                if not pts:
                    continue
                ns, cost = zip(*pts, strict=True)
                slope = exponents[f"{prefix}{impl}{suffix}"]
                ax.loglog(
                    ns,
                    cost,
                    marker=markers[impl],
                    linestyle=":" if lattice else ("--" if impl == "engine_model" else "-"),
                    color=colours[impl],
                    markerfacecolor="none" if lattice else colours[impl],
                    label=f"{prefix}{impl} (slope {slope:.2f})",
                )
        if ns_all:
            top = pick(rows, "engine_bare", ns_all[-1], key)
            ax.loglog(
                ns_all,
                [top * n / ns_all[-1] for n in ns_all],
                "-.",
                color="grey",
                label="linear in N (slope 1)",
            )
        ax.set_xlabel("cells N (well-mixed: filled; lattice sites: open, dotted); lifespan 140 d")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("cellsim: cost per simulated day (median of alternating rounds)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--quick", action="store_true", help="N up to 1e5 (lattice 300x300), fewer days"
    )
    ap.add_argument("--out", type=Path, default=HERE / "results", help="output folder")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds per N")
    ap.add_argument("--_memory", nargs=3, metavar=("IMPL", "N", "GEOMETRY"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._memory:
        impl, n, geometry = args._memory
        print(json.dumps(memory_child(impl, int(n), geometry)))
        return
    run(args.out, args.quick, args.rounds)


if __name__ == "__main__":
    main()
