"""Run a sensitivity study: its design through the sweep executor, then the indices.

``run_sensitivity`` runs the study's sweep plan (``cellsim.run.sweep.run_sweep``: Dask,
the resumable store, failures recorded and retried on a rerun), reads each run's outputs,
averages them per design point and estimates the indices (``analysis.sensitivity``).
Written to the study's folder, beside the sweep's own tables::

    sensitivity/indices.parquet, indices.csv   one row per (output, input)
    sensitivity/second_order.parquet           S2 per (output, pair), with second_order
    sensitivity/outputs.parquet                per point: the inputs and the outputs
    sensitivity/stats.csv                      per output: runs, censoring, noise
    sensitivity/figures/                       tornado_<output>.png, bars_<output>.png
    sensitivity/report.md                      the report section
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console

from cellsim.config.sensitivity import SensitivityError, SensitivityPlan
from cellsim.io import write_csv, write_json, write_parquet, write_text
from cellsim.run.sweep import run_sweep

FOLDER = "sensitivity"


def run_sensitivity(
    plan: SensitivityPlan,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    console: Console | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the study's missing runs into ``out_dir`` and write its indices, figures and
    report (module doc). Returns ``{"indices", "second_order", "stats", "outputs",
    "out_dir"}``. Raises SensitivityError (one line) when the outputs cannot be analysed:
    censored event ages with ``censored = "error"``, or points whose runs all failed."""
    console = console or Console()
    out_dir = Path(out_dir)
    result = run_sweep(
        plan.sweep,
        out_dir,
        workers=workers,
        scheduler=scheduler,
        client=client,
        console=console,
        progress=progress,
        report=False,
        print_summary=False,
    )
    return analyse_sensitivity(plan, out_dir, result["runs"], result["trajectories"], console)


def analyse_sensitivity(
    plan: SensitivityPlan,
    out_dir: Path,
    runs: pd.DataFrame,
    trajectories: pd.DataFrame | None,
    console: Console,
) -> dict[str, Any]:
    """Outputs per point, indices, tables, figures and report of a study whose runs are
    stored (see ``run_sensitivity``)."""
    from analysis.sensitivity import (
        format_sensitivity_report,
        indices_tables,
        make_sensitivity_figures,
        point_outputs,
        run_outputs,
    )

    study, design = plan.study, plan.design
    n_points = len(design.values)
    per_run = run_outputs(runs, trajectories, study.outputs)
    y, stats = point_outputs(per_run, study.outputs, n_points)
    _check_analysable(study.censored, stats, y)
    indices, second = indices_tables(
        study.method,
        design.names,
        design.unit,
        y,
        second_order=study.second_order,
        levels=study.levels,
        resamples=study.bootstrap_resamples,
        confidence_level=study.confidence_level,
        seed=study.seed,
    )
    folder = out_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    outputs = pd.concat(
        [plan.sweep.points.reset_index(drop=True), y.reset_index(drop=True)], axis=1
    )
    write_parquet(folder / "indices.parquet", indices)
    write_csv(folder / "indices.csv", indices)
    if not second.empty:
        write_parquet(folder / "second_order.parquet", second)
    write_parquet(folder / "outputs.parquet", outputs)
    write_csv(folder / "stats.csv", stats)
    figures = make_sensitivity_figures(indices, folder / "figures", study.confidence_level)
    inputs = {name: dist.describe() for name, dist in study.parameters.items()}
    settings = study.settings()
    write_json(folder / "settings.json", {**settings, "inputs": inputs, "outputs": study.outputs})
    text = format_sensitivity_report(
        study.name,
        settings,
        inputs,
        stats,
        indices,
        second,
        n_points,
        [str(p.relative_to(folder)) for p in figures],
    )
    write_text(folder / "report.md", text)
    _print_indices(console, study.method, indices)
    console.print(f"wrote {folder}", markup=False)
    return {
        "indices": indices,
        "second_order": second,
        "stats": stats,
        "outputs": outputs,
        "out_dir": out_dir,
    }


def _check_analysable(policy: str, stats: pd.DataFrame, y: pd.DataFrame) -> None:
    have_runs = y.index.isin(y.dropna(how="all").index)
    for _, row in stats.iterrows():
        if row["n_undefined"]:
            raise SensitivityError(
                f"output {row['output']!r} is undefined (NaN) in {row['n_undefined']} of "
                f"{row['n_runs']} runs (e.g. a telomere mean at an age when the tissue has "
                "emptied): choose an earlier age or another output"
            )
        if row["n_points_missing"] or not have_runs.all():
            raise SensitivityError(
                f"output {row['output']!r}: {row['n_points_missing']} design point(s) have no "
                "successful run (see failures.parquet); rerun the same command to retry them"
            )
        if policy == "error" and row["censored_fraction"] > 0:
            raise SensitivityError(
                f"output {row['output']!r}: {row['censored_fraction']:.1%} of the runs ended "
                "before the event (censored = 'error'); raise run.horizon_days, or set "
                "censored = 'restricted' to analyse min(event age, end age)"
            )


def _print_indices(console: Console, method: str, indices: pd.DataFrame) -> None:
    key = "ST" if method == "sobol" else "mu_star"
    for output in pd.unique(indices["output"]):
        df = indices[indices["output"] == output].sort_values(key, ascending=False)
        console.print(f"{output}:", markup=False)
        for _, r in df.iterrows():
            if method == "sobol":
                console.print(
                    f"  {r['parameter']:<40} S1 {r['S1']:6.3f} ± {r['S1_conf']:.3f}   "
                    f"ST {r['ST']:6.3f} ± {r['ST_conf']:.3f}",
                    markup=False,
                    highlight=False,
                )
            else:
                console.print(
                    f"  {r['parameter']:<40} mu* {r['mu_star']:10.4g} ± {r['mu_star_conf']:.3g}"
                    f"   sigma {r['sigma']:.4g}",
                    markup=False,
                    highlight=False,
                )
