"""The store of a resumable scenario (``cellsim run`` of a population's scenario, or of any
scenario with ``--scheduler``): which scenarios resume, the fingerprint that ties a folder
to its scenario, the checks of an existing ``--out``, the manifest while runs are stored,
and storing the outcomes of the local pool, of a Dask cluster and of a chain of
generations as they finish (``cellsim.run.store``). ``run.workflow`` drives it."""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from cellsim import __version__
from cellsim.config.plan import RunSpec
from cellsim.config.scenario import Scenario
from cellsim.io import MANIFEST, OutputError, preflight_output
from cellsim.run.generations import run_chain
from cellsim.run.single import RunResult
from cellsim.run.store import Batch, SpecList, SweepStore

GENERATIONS_LOCAL_ONLY = (
    "--scheduler: a scenario with [generations] runs on the local pool only (each "
    "generation is made from its parents' results); drop --scheduler"
)
UNFINISHED = ("running", "interrupted", "failed")
"""Manifest statuses of a resumable scenario folder that still holds its store (parts):
its process is at work, was killed or stopped, or every run so far failed. A finished
folder reads "complete" (every run stored) or "incomplete" (some runs failed)."""


def is_resumable(scenario: Scenario) -> bool:
    """A population's scenario (``[population]``, a ``posterior`` or ``[generations]``):
    its runs are stored as they finish, and a killed run resumes."""
    return (
        scenario.population is not None
        or scenario.posterior is not None
        or scenario.generations is not None
    )


def scenario_fingerprint(scenario: Scenario, specs: list[RunSpec]) -> str:
    """A hash of everything that determines a scenario's runs: every spec's identity, seed,
    parameters and extra columns, the chain of generations, the cellsim version (not the
    scenario's name or description)."""
    payload = {
        "runs": [
            [s.run_id, str(s.entropy), list(s.spawn_key), s.params.model_dump(mode="json"), s.extra]
            for s in specs
        ],
        "generations": None
        if scenario.generations is None
        else scenario.generations.model_dump(mode="json"),
        "cellsim_version": __version__,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_manifest(out_dir: Path) -> dict[str, Any] | None:
    path = out_dir / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def refuse_unfinished(out_dir: Path) -> None:
    """An in-memory scenario run must not replace an unfinished resumable folder (its
    stored runs would be lost): one line naming the scenario to rerun."""
    data = read_manifest(Path(out_dir))
    if data is not None and data.get("status") in UNFINISHED:
        raise OutputError(
            f"--out: {str(out_dir)!r} holds an unfinished run of scenario "
            f"{data.get('name')!r} ({data.get('status')}); rerun its own scenario file to "
            "resume it, or choose a new folder"
        )


def check_scenario_folder(out_dir: Path, fingerprint: str, need_bytes: int) -> bool:
    """Refuse an ``--out`` that cannot be written or lacks the disk space
    (``preflight_output``), that holds another scenario's runs (another fingerprint), or a
    scenario output without a fingerprint (written in memory, so not resumable); True when
    resuming this scenario's folder. Nothing is written."""
    preflight_output(out_dir, "scenario", need_bytes)
    data = read_manifest(out_dir)
    if data is None:
        return False
    found = data.get("fingerprint")
    if found is None:
        raise OutputError(
            f"--out: {str(out_dir)!r} holds a scenario output that cannot be resumed "
            f"({data.get('name')!r}, written without a run store); choose a new folder"
        )
    if found != fingerprint:
        raise OutputError(
            f"--out: {str(out_dir)!r} holds a different scenario ({data.get('name')!r}, "
            f"fingerprint {found} != {fingerprint}); rerun its own scenario file to resume "
            "it, or choose a new folder"
        )
    return True


def progress_manifest(
    scenario: Scenario, fingerprint: str, n_runs: int, status: str
) -> dict[str, Any]:
    """The manifest of a resumable folder while its runs are stored (no tables yet)."""
    extra = {"pid": os.getpid(), "host": platform.node()} if status == "running" else {}
    return {
        "kind": "scenario",
        "name": scenario.name,
        "control": scenario.control_arm,
        "description": scenario.description,
        "fingerprint": fingerprint,
        "status": status,
        "n_runs": n_runs,
        "cellsim_version": __version__,
        **extra,
    }


def in_arm_order(
    runs: pd.DataFrame, traj: pd.DataFrame, arm_order: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The stored tables in ``collect``'s order: by arm (in ``arm_order``) and replicate,
    each run's trajectory rows together, in the order they were recorded."""
    rank = {a: i for i, a in enumerate(arm_order)}
    key = pd.DataFrame(
        {
            "rank": runs["arm"].map(lambda a: rank.get(a, len(rank))),
            "arm": runs["arm"],
            "replicate": runs["replicate"],
        }
    )
    runs = runs.iloc[key.sort_values(list(key.columns), kind="stable").index]
    runs = runs.reset_index(drop=True)
    if len(traj):
        order = pd.Series(range(len(runs)), index=runs["run_id"].astype(str))
        at = order.reindex(traj["run_id"].astype(str)).to_numpy()
        traj = traj.iloc[pd.Series(at).argsort(kind="stable").to_numpy()]
        traj = traj.reset_index(drop=True)
    return runs, traj


def outcome_record(result: RunResult | None, error: str | None) -> dict[str, Any]:
    """A local run's outcome as the Dask executor's record (``Batch.add``)."""
    if result is not None:
        return {"ok": True, "row": result.row, "trajectories": result.trajectories}
    return {"ok": False, "error": error or "", "traceback": ""}


def store_outcomes(
    outcomes: Iterable[tuple[RunSpec, RunResult | None, str | None]],
    store: SweepStore,
    flush_runs: int,
    flush_seconds: float,
    advance: Callable[[int], None],
    keep: Callable[[RunSpec, RunResult], None] | None = None,
    failed: int = 0,
) -> int:
    """Append the local pool's ``(spec, result, error)`` to ``store`` in batches (and what is
    left at the end, also after an error); ``keep(spec, result)`` sees each success.
    Returns ``failed`` plus the runs that failed here."""
    batch = Batch()
    try:
        for spec, result, error in outcomes:
            batch.add(
                outcome_record(result, error),
                {"run_id": spec.run_id, "arm": spec.arm, "replicate": spec.replicate},
            )
            if result is None:
                failed += 1
            elif keep is not None:
                keep(spec, result)
            advance(failed)
            if batch.due(flush_runs, flush_seconds):
                batch.flush(store)
    finally:
        if len(batch):
            batch.flush(store)
    return failed


def store_on_dask(
    client: Any,
    where: str,
    todo: list[RunSpec],
    store: SweepStore,
    flush_runs: int,
    flush_seconds: float,
    advance: Callable[[int], None],
    console: Console,
) -> None:
    """The runs of ``todo`` on the client's cluster (``cellsim.run.dask.execute_plan``)."""
    from cellsim.run.dask import connected_workers, execute_plan

    seen = connected_workers(client, where, lambda m: console.print(m, markup=False))
    console.print(
        f"running on {where}: {len(seen)} worker(s), {sum(client.nthreads().values())} thread(s)",
        markup=False,
    )
    plan = SpecList(todo)
    failed = 0

    def on_done(ok: bool, err: tuple[str, str] | None) -> None:
        nonlocal failed
        failed += not ok
        advance(failed)

    execute_plan(
        client,
        plan,
        plan.all_runs(),
        store,
        flush_runs=flush_runs,
        flush_seconds=flush_seconds,
        on_done=on_done,
    )


def store_chain(
    expanded: Scenario,
    base_arms: list[str],
    replicates: int | None,
    workers: int,
    store: SweepStore,
    done: set[str],
    flush_runs: int,
    flush_seconds: float,
    advance: Callable[[int], None],
) -> None:
    """``run_chain`` of ``cellsim.run.generations`` with a store: the runs not stored yet
    run on the local pool and are stored as they finish; a stored parent's child is made
    from its stored trajectories, so no run is run twice and the children are those of an
    uninterrupted chain."""
    stored = store.read()[1] if done else pd.DataFrame()
    by_run = dict(tuple(stored.groupby("run_id", sort=False))) if len(stored) else {}
    by_run = {k: v for k, v in by_run.items() if k in done}
    outcomes = run_chain(expanded, base_arms, replicates, workers, stored=by_run)
    store_outcomes(outcomes, store, flush_runs, flush_seconds, advance)
