"""A scenario from file to folder: run the arms, store the tables, analyse, report.

A population's scenario (``[population]``, a ``posterior`` or ``[generations]``), or any
scenario run with ``scheduler`` (``cellsim run --scheduler``), is resumable like a sweep:
its runs are appended as they finish to the store of ``cellsim.run.store`` kept in the
output folder (``parts/``, manifest kind "scenario", status "running", the scenario's
``fingerprint``). Rerunning the same command with the same ``--out`` runs only the runs
not stored yet (each run's seed depends only on its ``RunSpec``, so the tables are those of
an uninterrupted run); at the end the folder is replaced, in one rename, by the same
output folder as any scenario's (manifest status "complete", or "incomplete" when runs
failed; a rerun retries those). Other scenarios run in memory and write their folder
once, at the end, as before.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cellsim import __version__
from cellsim.config.plan import RunSpec
from cellsim.config.scenario import Scenario, ScenarioError
from cellsim.io import (
    MANIFEST,
    MB,
    WriteError,
    atomic_dir,
    preflight_output,
    write_csv,
    write_json,
    write_parquet,
)
from cellsim.run.body_report import body_section, print_body_answer
from cellsim.run.errors import RunsFailed
from cellsim.run.generations import expand, run_chain
from cellsim.run.local import cap_workers
from cellsim.run.scenario_store import (
    GENERATIONS_LOCAL_ONLY,
    check_scenario_folder,
    in_arm_order,
    is_resumable,
    progress_manifest,
    refuse_unfinished,
    scenario_fingerprint,
    store_chain,
    store_on_dask,
    store_outcomes,
)
from cellsim.run.single import RunResult, collect, run_many
from cellsim.run.store import SweepStore, mark_interrupted


def progress_bar() -> Progress:
    """A rich progress bar for runs: done/total, failures, elapsed and ETA."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("failed {task.fields[failed]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    )


@contextmanager
def progress_task(
    description: str, total: int, enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """A progress bar of ``total`` runs while the block runs (none unless ``enabled``);
    yields ``advance(failed)``: one more run done, ``failed`` of them failed so far."""
    if not enabled:
        yield lambda failed: None
        return
    bar = progress_bar()
    bar.start()
    task = bar.add_task(description, total=total, failed=0)
    try:
        yield lambda failed: bar.update(task, advance=1, failed=failed)
    finally:
        bar.stop()


def run_scenario(
    scenario: Scenario,
    out_dir: Path,
    *,
    replicates: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    client: Any = None,
    console: Console | None = None,
    progress: bool = True,
    flush_runs: int = 32,
    flush_seconds: float = 30.0,
) -> dict[str, Any]:
    """Run all arms x replicates, write the output folder atomically, print the table.

    On the local pool of ``workers`` processes, or with ``scheduler`` (a Dask scheduler's
    address) or ``client`` (a ``distributed.Client``) on Dask. A population's scenario and
    any run on Dask are resumable (``is_resumable``; the module doc): finished runs are
    stored in batches of ``flush_runs`` runs or every ``flush_seconds``.
    Returns ``{"runs", "trajectories", "summary", "out_dir", "errors"}`` (and, when
    resumable, ``"ran"`` and ``"skipped"``: the runs run now, failed ones included, and
    those found stored).
    """
    console = console or Console()
    on_dask = scheduler is not None or client is not None
    if on_dask and scenario.generations is not None:
        raise ScenarioError(GENERATIONS_LOCAL_ONLY)
    base_arms = [a.name for a in scenario.arms]
    scenario = expand(scenario)  # a chain of generations: one arm per generation
    specs = scenario.run_specs(replicates)
    if on_dask or is_resumable(scenario):
        return _run_stored(
            scenario,
            base_arms,
            specs,
            Path(out_dir),
            replicates=replicates,
            workers=workers,
            scheduler=scheduler,
            client=client,
            console=console,
            progress=progress,
            flush_runs=max(1, flush_runs),
            flush_seconds=flush_seconds,
        )
    preflight_output(out_dir, "scenario", estimate_bytes(specs))  # fail before any work
    refuse_unfinished(out_dir)
    workers = cap_workers(workers, len(specs), lambda m: console.print(m, markup=False))
    outcomes = (
        run_many(specs, workers=workers)
        if scenario.generations is None
        else run_chain(scenario, base_arms, replicates, workers)
    )
    results: list[RunResult] = []
    errors: list[dict[str, str]] = []
    with progress_task(f"{scenario.name}: runs", len(specs), enabled=progress) as advance:
        for spec, result, error in outcomes:
            if result is not None:
                results.append(result)
            else:
                errors.append({"run_id": spec.run_id, "error": error or ""})
            advance(len(errors))
    if not results:
        raise RunsFailed(f"all {len(specs)} runs failed; first error: {errors[0]['error']}")
    runs, traj = collect(results, arm_order=[a.name for a in scenario.arms])
    return _write_folder(scenario, out_dir, runs, traj, errors, replicates, console)


def _write_folder(
    scenario: Scenario,
    out_dir: Path,
    runs: pd.DataFrame,
    traj: pd.DataFrame,
    errors: list[dict[str, str]],
    replicates: int | None,
    console: Console,
    manifest_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The output folder, written atomically (replacing ``out_dir``), then the printout."""
    with atomic_dir(out_dir) as tmp:
        write_outputs(tmp, scenario, runs, traj, errors, replicates, manifest_extra)
        summary = analyse(tmp, scenario.name, scenario.description, scenario.control_arm)
    if scenario.body is None:  # a body's answer replaces its first tissue's table
        print_summary(console, summary, scenario.name, out_dir)
    print_answer(console, out_dir)
    for e in errors:
        console.print(f"[red]run {e['run_id']} failed:[/red] {e['error']}")
    return {
        "runs": runs,
        "trajectories": traj,
        "summary": summary,
        "out_dir": out_dir,
        "errors": errors,
    }


# --------------------------------------------------------------------------------------
# resumable scenarios: runs stored as they finish (cellsim.run.scenario_store)
# --------------------------------------------------------------------------------------


def _run_stored(
    scenario: Scenario,
    base_arms: list[str],
    specs: list[RunSpec],
    out_dir: Path,
    *,
    replicates: int | None,
    workers: int,
    scheduler: str | None,
    client: Any,
    console: Console,
    progress: bool,
    flush_runs: int,
    flush_seconds: float,
) -> dict[str, Any]:
    """A resumable scenario (the module doc): check the folder, connect, store the missing
    runs as they finish, then write the output folder from the store."""
    fingerprint = scenario_fingerprint(scenario, specs)
    resuming = check_scenario_folder(out_dir, fingerprint, estimate_bytes(specs))
    store = SweepStore(out_dir, sort_by=("run_id",), kind="scenario")
    done = store.completed_ids() if resuming else set()
    todo = [s for s in specs if s.run_id not in done]
    on_dask = scheduler is not None or client is not None
    with ExitStack() as stack:
        cl, where = None, ""
        if todo and on_dask:  # connect before anything is written
            from cellsim.run.dask import client_for

            cl, where = stack.enter_context(client_for(client, None, scheduler))
        elif todo:
            workers = cap_workers(workers, len(todo), lambda m: console.print(m, markup=False))
        was_interrupted = resuming and mark_interrupted(out_dir)
        stack.enter_context(store.lock())
        store.remove_temporaries()
        if todo:
            write_json(
                out_dir / MANIFEST,
                progress_manifest(scenario, fingerprint, len(specs), "running"),
            )
        if resuming:
            console.print(
                f"{scenario.name}: {len(specs)} runs; {len(specs) - len(todo)} already done "
                "(resuming), "
                + ("the last run was interrupted, " if was_interrupted else "")
                + f"{len(todo)} to run",
                markup=False,
            )
        try:
            with progress_task(
                f"{scenario.name}: runs", len(todo), enabled=progress and bool(todo)
            ) as advance:
                if scenario.generations is not None and todo:
                    store_chain(
                        scenario,
                        base_arms,
                        replicates,
                        workers,
                        store,
                        done,
                        flush_runs,
                        flush_seconds,
                        advance,
                    )
                elif todo and cl is not None:
                    store_on_dask(
                        cl, where, todo, store, flush_runs, flush_seconds, advance, console
                    )
                elif todo:
                    outcomes = run_many(todo, workers=workers)
                    store_outcomes(outcomes, store, flush_runs, flush_seconds, advance)
        except BaseException:
            with suppress(WriteError):  # a full disk: the next run marks it (mark_interrupted)
                write_json(
                    out_dir / MANIFEST,
                    progress_manifest(scenario, fingerprint, len(specs), "interrupted"),
                )
            raise
        runs, traj, failures = store.read()
        errors = [
            {"run_id": str(r), "error": str(e)}
            for r, e in zip(failures.get("run_id", []), failures.get("error", []), strict=True)
        ]
        if runs.empty:  # the store is kept: a rerun retries the failed runs
            write_json(
                out_dir / MANIFEST,
                progress_manifest(scenario, fingerprint, len(specs), "failed"),
            )
            first = errors[0]["error"] if errors else "none stored"
            raise RunsFailed(f"all {len(specs)} runs failed; first error: {first}")
        runs, traj = in_arm_order(runs, traj, [a.name for a in scenario.arms])
        # every run stored (in a chain: every child whose parent lived to conceive it)
        status = "complete" if failures.empty else "incomplete"
        result = _write_folder(
            scenario,
            out_dir,
            runs,
            traj,
            errors,
            replicates,
            console,
            {"status": status, "fingerprint": fingerprint},
        )
    ran = len(runs) - len(done) + len(failures)  # run now (a chain skips some of todo)
    return {**result, "ran": ran, "skipped": len(done)}


TRAJECTORY_RECORD_BYTES = 64
"""Rough stored size of one trajectory record (one tissue, one recording day, compressed)."""


def estimate_bytes(specs: list[Any], figures_bytes: int = 4 * MB) -> int:
    """A rough lower bound of an output folder's size: trajectory records plus figures."""
    records = 0
    for spec in specs:
        run = spec.params.run
        per_tissue = run.horizon_days / run.record_interval_days + 1
        records += int(per_tissue) * len(spec.params.tissues)
    return records * TRAJECTORY_RECORD_BYTES + figures_bytes


def write_outputs(
    folder: Path,
    scenario: Scenario,
    runs: pd.DataFrame,
    traj: pd.DataFrame,
    errors: list[dict[str, str]],
    replicates: int | None = None,
    manifest_extra: dict[str, Any] | None = None,
) -> None:
    """The tables and the resolved scenario (with version and seed entropy);
    ``manifest_extra`` (a resumable scenario's status and fingerprint) is added to the
    manifest."""
    write_parquet(folder / "runs.parquet", runs)
    write_parquet(folder / "trajectories.parquet", traj)
    resolved = {
        "scenario": scenario.model_dump(mode="json"),
        "arms_resolved": {k: v.model_dump(mode="json") for k, v in scenario.arms_resolved.items()},
        "replicates": replicates or scenario.replicates,
        "seed_entropy": scenario.seed,
        "cellsim_version": __version__,
    }
    write_json(folder / "scenario.resolved.json", resolved)
    write_json(
        folder / MANIFEST,
        {
            "kind": "scenario",
            "name": scenario.name,
            "control": scenario.control_arm,
            "description": scenario.description,
            "cellsim_version": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "n_runs": len(runs),
            "failed_runs": errors,
            **(manifest_extra or {}),
        },
    )


def analyse(folder: Path, name: str, description: str, control: str) -> pd.DataFrame:
    """Summary table, figures and report.md of an output folder; returns the summary."""
    from analysis.exhaustion import summary_table
    from analysis.plots import make_standard_figures
    from analysis.report import write_report

    runs = pd.read_parquet(folder / "runs.parquet")
    traj = pd.read_parquet(folder / "trajectories.parquet")
    summary = summary_table(runs, control=control)
    write_csv(folder / "summary.csv", summary)
    figures = make_standard_figures(runs, traj, folder / "figures")
    extra = population_section(folder, runs, traj) + body_section(folder, runs, traj)
    write_report(
        folder,
        runs,
        summary,
        figures,
        title=f"cellsim: {name}",
        description=description,
        extra_lines=extra or None,
    )
    return summary


def population_section(folder: Path, runs: pd.DataFrame, traj: pd.DataFrame) -> list[str]:
    """For a scenario with ``[population]``: population.csv and population_events.csv (per
    arm and age, analysis/population.py) and the report's lines; else nothing."""
    from analysis.population import (
        event_fractions,
        format_draw_fractions,
        format_population,
        population_by_age,
        values_at_ages,
    )

    resolved = folder / "scenario.resolved.json"
    if not resolved.is_file():
        return []
    population = json.loads(resolved.read_text())["scenario"].get("population")
    if not population:
        return []
    rep = population["report"]
    tissues = [rep["tissue"]] if isinstance(rep["tissue"], str | None) else rep["tissue"]
    by_age = pd.concat(
        [
            population_by_age(
                values_at_ages(runs, traj, rep["column"], rep["ages_years"], tissue),
                rep["below"],
            ).assign(tissue=tissue or str(runs["tissue"].iloc[0]))
            for tissue in tissues
        ],
        ignore_index=True,
    )
    event_tissue = rep.get("event_tissue")
    primary = str(runs["tissue"].iloc[0])
    prefix = "" if event_tissue in (None, primary) else f"{event_tissue}."
    events = event_fractions(
        runs, rep["event_ages_years"], (f"{prefix}exhaustion", f"{prefix}failure")
    )
    write_csv(folder / "population.csv", by_age)
    write_csv(folder / "population_events.csv", events)
    lines = [
        "### The population (replicates are people)",
        "",
        *format_population(by_age, events, rep["column"], rep["below"]),
    ]
    if "posterior_draw" in runs.columns:
        answer = population_answer(runs, traj, rep, tissues, prefix)
        write_csv(folder / ANSWER_CSV, answer)
        lines += ["", "### The answer, with the parameters' uncertainty", ""]
        lines += format_draw_fractions(answer, ANSWER_LEVEL)
        lines += [
            "",
            "Each posterior draw is a population of people who share its parameters "
            "(`people_per_draw`); the interval is the spread of the per-draw fractions, "
            "which also carries each draw's sampling noise (conservative).",
        ]
    return lines


ANSWER_CSV = "population_answer.csv"
ANSWER_LEVEL = 0.9


def population_answer(
    runs: pd.DataFrame,
    traj: pd.DataFrame,
    rep: dict[str, Any],
    tissues: list[str | None],
    prefix: str,
) -> pd.DataFrame:
    """The population's answer table (analysis/population.py ``draw_fractions``): per arm,
    the fraction of people past the event tissue's exhaustion and failure, and with
    ``below``, each report tissue's value below it, by each of ``event_ages_years``."""
    from analysis.population import draw_fractions, person_indicators, values_at_ages

    ages = rep["event_ages_years"]
    parts = [person_indicators(runs, ages, (f"{prefix}exhaustion", f"{prefix}failure"))]
    if rep["below"] is not None:
        for tissue in tissues:
            name = tissue or str(runs["tissue"].iloc[0])
            values = values_at_ages(runs, traj, rep["column"], ages, tissue)
            label = f"{name}.{rep['column']} < {rep['below']:g}"
            parts.append(person_indicators(runs, ages, (), values, rep["below"], label))
    indicators = pd.concat(parts, ignore_index=True)
    return draw_fractions(indicators, runs[["run_id", "posterior_draw"]], ANSWER_LEVEL)


def rewrite_report(folder: Path, console: Console | None = None) -> Path:
    """Recompute the summary, figures and report of an existing scenario output folder."""
    manifest = json.loads((folder / MANIFEST).read_text())
    summary = analyse(
        folder, manifest["name"], manifest.get("description", ""), manifest["control"]
    )
    if console is not None:
        print_summary(console, summary, manifest["name"], folder)
    return folder / "report.md"


def print_answer(console: Console, out_dir: Path) -> None:
    """A population's answer table (``population_answer.csv``) and a body's
    (``body_answer.csv``), when the run made them."""
    print_body_answer(console, out_dir)
    path = out_dir / ANSWER_CSV
    if not path.is_file():
        return
    from analysis.population import format_draw_fractions

    for line in format_draw_fractions(pd.read_csv(path), ANSWER_LEVEL):
        console.print(line, markup=False, highlight=False)


def print_summary(console: Console, summary: pd.DataFrame, name: str, out_dir: Path) -> None:
    """The per-arm table: median age at each failure with 95% CIs (Kaplan-Meier), then
    which rule stopped the runs of each arm (a run stopped at failure is censored for
    exhaustion, not exhausted)."""
    from analysis.exhaustion import format_stop_reasons, format_summary

    console.print(
        f"{name}: median age in years [95% CI] (Kaplan-Meier; runs that did not reach an "
        "event are censored at their end)",
        markup=False,
    )
    for line in format_summary(summary):
        console.print(line, markup=False, highlight=False)
    for line in format_stop_reasons(summary):
        console.print(line, markup=False, highlight=False)
    console.print(
        f"results in {out_dir}/: runs.parquet, trajectories.parquet, summary.csv, report.md, "
        "figures/",
        markup=False,
    )
