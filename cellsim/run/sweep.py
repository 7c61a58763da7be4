"""A sweep from plan to folder: run the missing runs, compact the store, analyse, report.

``run_sweep`` runs the runs of a plan (``cellsim.config.sweep``) that the output folder
does not hold yet on Dask distributed (``cellsim.run.dask``: a LocalCluster of worker
processes, one thread each, Numba/BLAS threads pinned to 1, or any running scheduler),
appends finished runs in batches to the store of ``cellsim.run.store`` (atomic Parquet parts;
rerunning the same command skips completed runs and retries failed ones), compacts it and
writes ``summary.csv``, figures and ``report.md`` (``analysis.sweep``).
"""

from __future__ import annotations

import json
import os
import platform
from contextlib import ExitStack, suppress
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from cellsim import __version__
from cellsim.config.sweep import SweepPlan
from cellsim.io import (
    MANIFEST,
    OutputError,
    WriteError,
    preflight_output,
    write_csv,
    write_json,
    write_parquet,
)
from cellsim.run.dask import client_for, connected_workers, execute_plan
from cellsim.run.errors import RunsFailed
from cellsim.run.local import cap_workers
from cellsim.run.store import SweepStore, mark_interrupted
from cellsim.run.workflow import progress_task

# --------------------------------------------------------------------------------------
# the output folder
# --------------------------------------------------------------------------------------


def is_sweep_folder(folder: str | Path) -> bool:
    """True when ``folder`` is a sweep output folder (manifest kind "sweep")."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return False
    try:
        return json.loads(path.read_text()).get("kind") == "sweep"
    except (OSError, ValueError):
        return False


def check_sweep_folder(plan: SweepPlan, out_dir: Path) -> bool:
    """Refuse an ``--out`` that is not this sweep's folder, or cannot be written, or lacks
    the disk space (``preflight_output``); True when resuming one."""
    preflight_output(out_dir, "sweep", estimate_sweep_bytes(plan))
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        return False
    data = json.loads(manifest.read_text())
    if data.get("kind") != "sweep":
        raise OutputError(
            f"--out: {str(out_dir)!r} holds a cellsim {data.get('kind', 'scenario')} output, "
            "not a sweep; choose a new folder"
        )
    if data.get("fingerprint") != plan.fingerprint:
        raise OutputError(
            f"--out: {str(out_dir)!r} holds a different sweep ({data.get('name')!r}, "
            f"fingerprint {data.get('fingerprint')} != {plan.fingerprint}); rerun its own "
            "sweep file to resume it, or choose a new folder"
        )
    return True


def estimate_sweep_bytes(plan: SweepPlan) -> int:
    """A rough lower bound of a sweep folder's size (stored trajectory records, figures)."""
    from cellsim.run.workflow import TRAJECTORY_RECORD_BYTES

    figures = 4 << 20
    if not plan.sweep.store_trajectories or plan.n_runs == 0:
        return figures
    params = plan.spec(0, 0).params
    every = max(params.run.record_interval_days, plan.sweep.trajectory_interval_days or 0.0)
    records = (int(params.run.horizon_days / every) + 1) * len(params.tissues)
    return plan.n_runs * records * TRAJECTORY_RECORD_BYTES + figures


def _manifest(plan: SweepPlan, status: str, **extra: Any) -> dict[str, Any]:
    import dask

    if status == "running":
        extra = {"pid": os.getpid(), "host": platform.node(), **extra}
    return {
        "kind": "sweep",
        "name": plan.sweep.name,
        "description": plan.sweep.description,
        "fingerprint": plan.fingerprint,
        "status": status,
        "parameters": plan.parameters,
        "grid_parameters": plan.grid_parameters,
        "sample_parameters": plan.sample_parameters,
        "n_points": plan.n_points,
        "replicates": plan.sweep.replicates,
        "n_runs": plan.n_runs,
        "seed_entropy": plan.sweep.seed,
        "cellsim_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "dask": dask.__version__,
        **extra,
    }


def read_results(folder: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The ``runs``, ``trajectories`` and ``failures`` tables of a sweep folder (also of one
    still running or killed: compacted tables plus parts), sorted by point and replicate,
    with the parameter columns taken from ``points.parquet`` (one dtype per column)."""
    folder = Path(folder)
    runs, traj, failures = SweepStore(folder).read()
    points = pd.read_parquet(folder / "points.parquet")
    manifest = json.loads((folder / MANIFEST).read_text())
    names = list(manifest["parameters"])
    return _with_points(runs, points, names), traj, _with_points(failures, points, names)


def _with_points(df: pd.DataFrame, points: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    if df.empty or "point" not in df.columns:
        return df
    cols = [c for c in df.columns if c not in names]
    at = cols.index("point") + 1
    merged = df[cols].merge(points[["point", *names]], on="point", how="left", sort=False)
    return merged[[*cols[:at], *names, *cols[at:]]]


def run_sweep(
    plan: SweepPlan,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    flush_runs: int = 32,
    flush_seconds: float = 30.0,
    console: Console | None = None,
    progress: bool = True,
    report: bool = True,
    print_summary: bool = True,
) -> dict[str, Any]:
    """Run the sweep's missing runs into ``out_dir``, compact, analyse, report.

    ``client`` (a ``distributed.Client``) overrides ``workers``/``scheduler``. Finished runs
    are stored in batches of ``flush_runs`` runs or every ``flush_seconds``, whichever
    comes first (a kill loses at most one unflushed batch). ``report=False`` skips the
    figures and report.md (so does a rerun that had nothing to run and finds a report);
    summary.csv is always written; ``print_summary=False`` leaves the per-point table off
    the console (a sensitivity study prints its own). Returns ``{"runs", "trajectories", "failures",
    "summary", "out_dir", "ran", "skipped"}``.
    """
    console = console or Console()
    out_dir = Path(out_dir)
    resuming = check_sweep_folder(plan, out_dir)  # before anything is written
    store = SweepStore(out_dir)
    todo = _missing_runs(plan, store)
    with ExitStack() as stack:
        cl, where = None, ""
        if todo and workers is not None and client is None and scheduler is None:
            workers = cap_workers(workers, len(todo), lambda m: console.print(m, markup=False))
        if todo:  # connect (or start the cluster) before writing anything
            cl, where = stack.enter_context(client_for(client, workers, scheduler))
        was_interrupted = resuming and mark_interrupted(out_dir)
        stack.enter_context(store.lock())
        store.remove_temporaries()
        workers_seen = _start_folder(plan, out_dir, resuming)
        todo = _missing_runs(plan, store) if todo else todo
        skipped = plan.n_runs - len(todo)
        console.print(
            f"{plan.sweep.name}: {plan.n_points} points x {plan.sweep.replicates} replicates "
            f"= {plan.n_runs} runs; "
            + (f"{skipped} already done (resuming), " if resuming else "")
            + ("the last run was interrupted, " if was_interrupted else "")
            + f"{len(todo)} to run",
            markup=False,
        )
        if todo and cl is not None:
            workers_seen = _run_missing(
                cl,
                where,
                plan,
                todo,
                store,
                flush_runs=max(1, flush_runs),
                flush_seconds=flush_seconds,
                console=console,
                progress=progress,
            )
        runs, traj, failures = _finish_store(store, out_dir)
        _finish_manifest(plan, out_dir, runs, failures, workers_seen)
    if runs.empty and len(failures):
        first = failures["error"].iloc[0]
        raise RunsFailed(f"all {len(failures)} runs failed; first error: {first}")
    figures = report and (bool(todo) or not (out_dir / "report.md").is_file())
    summary = analyse_sweep(out_dir, runs, failures, figures=figures)
    if print_summary:
        print_sweep_summary(console, summary, plan.parameters, out_dir)
    for _, row in failures.iterrows():
        console.print(f"run {row['run_id']} failed: {row['error']}", markup=False, style="red")
    return {
        "runs": runs,
        "trajectories": traj,
        "failures": failures,
        "summary": summary,
        "out_dir": out_dir,
        "ran": len(todo),
        "skipped": skipped,
    }


def _missing_runs(plan: SweepPlan, store: SweepStore) -> list[tuple[int, int]]:
    """(point, replicate) of the plan's runs that the store does not hold, in run-id order."""
    done = store.completed_ids() if store.root.is_dir() else set()
    return [(i, r) for i, r in plan.all_runs() if plan.run_id(i, r) not in done]


def _start_folder(plan: SweepPlan, out_dir: Path, resuming: bool) -> list[dict[str, Any]]:
    """Write the running manifest, the resolved sweep and its points; return the workers
    that ran the stored runs (kept in the manifest if none run now)."""
    workers_seen = []
    if resuming:
        workers_seen = json.loads((out_dir / MANIFEST).read_text()).get("workers", [])
    write_json(out_dir / MANIFEST, _manifest(plan, "running"))
    write_json(out_dir / "sweep.resolved.json", plan.resolved())
    write_parquet(out_dir / "points.parquet", plan.points)
    write_csv(out_dir / "points.csv", plan.points)
    return workers_seen


def _run_missing(
    client: Any,
    where: str,
    plan: SweepPlan,
    todo: list[tuple[int, int]],
    store: SweepStore,
    *,
    flush_runs: int,
    flush_seconds: float,
    console: Console,
    progress: bool,
) -> list[dict[str, Any]]:
    """Run ``todo`` on the client's cluster with a progress bar; return its workers. An
    interruption (Ctrl-C, a lost scheduler, ...) marks the manifest and keeps stored runs."""
    workers_seen = connected_workers(client, where, lambda m: console.print(m, markup=False))
    console.print(
        f"running on {where}: {len(workers_seen)} worker(s), "
        f"{sum(client.nthreads().values())} thread(s)",
        markup=False,
    )
    errors: list[tuple[str, str]] = []
    with progress_task(f"{plan.sweep.name}: runs", len(todo), enabled=progress) as advance:

        def on_done(ok: bool, err: tuple[str, str] | None) -> None:
            if err is not None:
                errors.append(err)
            advance(len(errors))

        try:
            execute_plan(
                client,
                plan,
                todo,
                store,
                flush_runs=flush_runs,
                flush_seconds=flush_seconds,
                on_done=on_done,
            )
        except BaseException:
            with suppress(WriteError):  # a full disk: the next run marks it (mark_interrupted)
                write_json(store.root / MANIFEST, _manifest(plan, "interrupted"))
            raise
    return workers_seen


def _finish_manifest(
    plan: SweepPlan,
    out_dir: Path,
    runs: pd.DataFrame,
    failures: pd.DataFrame,
    workers_seen: list[dict[str, Any]],
) -> None:
    """The final manifest: complete or incomplete, counts, the workers."""
    write_json(
        out_dir / MANIFEST,
        _manifest(
            plan,
            "complete" if len(runs) == plan.n_runs else "incomplete",
            completed_runs=len(runs),
            failed_runs=len(failures),
            workers=workers_seen,
        ),
    )


def _finish_store(
    store: SweepStore, out_dir: Path
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Compact the parts into the top-level tables (normalised by points.parquet)."""
    runs, traj, failures = read_results(out_dir)
    store.compact((runs, traj, failures))
    return runs, traj, failures


# --------------------------------------------------------------------------------------
# analysis and report
# --------------------------------------------------------------------------------------


def analyse_sweep(
    folder: Path,
    runs: pd.DataFrame | None = None,
    failures: pd.DataFrame | None = None,
    figures: bool = True,
) -> pd.DataFrame:
    """summary.csv, and unless ``figures`` is False figures/ and report.md, of a sweep
    folder; returns the summary."""
    from analysis.sweep import (
        format_sweep_stops,
        make_sweep_figures,
        sweep_summary,
        write_sweep_report,
    )

    manifest = json.loads((folder / MANIFEST).read_text())
    if not (folder / "points.parquet").is_file():
        raise OutputError(f"folder = {str(folder)!r}: the sweep stored nothing yet (no points)")
    if runs is None or failures is None:
        runs, _, failures = read_results(folder)
    points = pd.read_parquet(folder / "points.parquet")
    params = list(manifest["parameters"])
    summary = sweep_summary(runs, params, points=points, failures=failures)
    write_csv(folder / "summary.csv", summary)
    if not figures:
        return summary
    paths = make_sweep_figures(
        summary,
        folder / "figures",
        grid_parameters=list(manifest.get("grid_parameters", params)),
        sample_parameters=list(manifest.get("sample_parameters", [])),
    )
    write_sweep_report(
        folder,
        summary,
        paths,
        parameters=params,
        failures=failures,
        title=f"cellsim sweep: {manifest['name']}",
        description=manifest.get("description", ""),
        overview=[
            f"- Points: {manifest['n_points']} x {manifest['replicates']} replicates = "
            f"{manifest['n_runs']} runs; stored: {len(runs)}; failed: {len(failures)}; "
            f"status: {manifest.get('status', 'unknown')}",
            f"- Seed entropy: {manifest.get('seed_entropy')}; cellsim "
            f"{manifest.get('cellsim_version')}; fingerprint {manifest.get('fingerprint')}",
            "- " + format_sweep_stops(summary).replace("runs stopped at", "Runs stopped at", 1),
        ],
    )
    return summary


def rewrite_sweep_report(folder: Path, console: Console | None = None) -> Path:
    """Recompute summary.csv, figures and report.md of a sweep folder (complete or not); a
    sweep whose process was killed is marked "interrupted" first (``mark_interrupted``)."""
    interrupted = mark_interrupted(folder)
    summary = analyse_sweep(folder)
    if console is not None:
        if interrupted:
            console.print(
                f"{folder}: the sweep was interrupted (its process is gone); rerun the same "
                "command to resume it",
                markup=False,
            )
        manifest = json.loads((folder / MANIFEST).read_text())
        print_sweep_summary(console, summary, list(manifest["parameters"]), folder)
    return folder / "report.md"


def print_sweep_summary(
    console: Console, summary: pd.DataFrame, parameters: list[str], out_dir: Path
) -> None:
    """The per-point table (first rows): median years to exhaustion [95% CI]."""
    from analysis.sweep import format_sweep_stops, format_sweep_summary

    console.print(
        "median age at replicative-pool exhaustion in years [95% CI] per point "
        "(Kaplan-Meier; runs that did not reach it are censored at their end)",
        markup=False,
    )
    for line in format_sweep_summary(summary, parameters, max_rows=40):
        console.print(line, markup=False, highlight=False)
    console.print(format_sweep_stops(summary), markup=False, highlight=False)
    console.print(
        f"results in {out_dir}/: runs.parquet, trajectories.parquet, failures.parquet, "
        "points.parquet, summary.csv, report.md, figures/",
        markup=False,
    )
