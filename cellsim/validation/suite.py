"""`cellsim validate-biology`: the simulator against published biology.

Each check runs the simulator with parameter values from docs/MODEL.md's sources (or marked
*chosen*; never fitted to the check's own target), compares one simulated number with the
published one (:mod:`cellsim.validation.published`) and writes a figure (drawn by
``analysis.validation_figures``). The report (report.md in the output folder) holds a
table of published vs simulated values with pass/fail, one section per check and a
discussion of what the numbers mean. Settings live in scenarios/validation/validation.toml
(``--quick`` uses its reduced ``[*.quick]`` tables).

Checks, one module per group:
  * :mod:`~cellsim.validation.culture_checks`: fibroblast strains in culture
    (cellsim/engine/culture.py) reach replicative senescence at 40-60 PD (Hayflick &
    Moorhead 1961) and gain 7-10 PD per kb of initial telomere (Allsopp 1992; Allsopp &
    Harley 1995); the growth curve bends (phase III): the last ~10 PD are clearly slower than
    phase II, and the non-dividing fraction rises smoothly, not as a step; the spread of
    telomere length across strains is smaller at senescence than at early passage (a
    critical length acts; Allsopp & Harley 1995);
  * :mod:`~cellsim.validation.turnover`: the whole-body preset set turns over ~3.3e11
    cells/day, ~86% of them blood cells (Sender & Milo 2021), computed from the presets and
    confirmed by simulating each preset tissue's sample;
  * :mod:`~cellsim.validation.blood`: the blood preset's HSCs divide about once per 40
    weeks (Catlin 2011) and lose ~30 bp/year (Mitchell 2022); adult leukocytes lose 23-38
    bp/year (cross-sectional 23-25, longitudinal 31-38: Muezzinler 2013; Chen 2011; Ye
    2023);
  * :mod:`~cellsim.validation.body`: the whole body (scenarios/body.toml, its control arm)
    replaces ~3.3e11 cells a day, 86% blood, 12% gut and 1.1% skin (Sender & Milo 2021),
    and its senescent burden rises with age, faster and faster, as its clearance
    saturates (Karin 2019; Herbig 2006);
  * :mod:`~cellsim.validation.karin`: a well-mixed tissue with Karin 2019's saturating
    removal of senescent cells follows the continuous-time equation at every step size,
    and the half-life of an insult's excess matches the equation's at a young and an old
    age and is longer at the old one.

The runs of all groups are independent tasks on the local executor (``cellsim.run.local``);
the blood population's and the body's scenario runs follow them (``cellsim.run.single``).
"""

from __future__ import annotations

import platform
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from cellsim import __version__
from cellsim.io import MANIFEST, MB, atomic_dir, preflight_output, write_csv, write_json
from cellsim.run.errors import RunsFailed
from cellsim.run.local import cap_workers
from cellsim.validation.blood import blood_checks, blood_params, run_blood
from cellsim.validation.blood_population import (
    BloodPopulationRuns,
    blood_population_checks,
    run_blood_population,
)
from cellsim.validation.body import BodyRuns, body_checks, run_body
from cellsim.validation.config import ValidationConfig, load_config
from cellsim.validation.culture import CultureAnalysis, analyse_culture, culture_tasks
from cellsim.validation.culture_checks import culture_checks
from cellsim.validation.karin import karin_checks, karin_tasks
from cellsim.validation.report import CheckResult, write_report
from cellsim.validation.tasks import Task, run_tasks
from cellsim.validation.turnover import turnover_checks, turnover_tasks

__all__ = ["ChecksFailed", "run_validation"]


class ChecksFailed(RunsFailed):
    """One or more biological checks failed (the report was written; exit code 1)."""


def _tasks(cfg: ValidationConfig) -> list[Task]:
    """Every run of every check: the Karin tissues (the longest runs first, so the pool
    stays busy), the blood scenario, the culture strains, the turnover samples."""
    return [
        *karin_tasks(cfg),
        Task("blood", run_blood, blood_params(cfg), cfg.seed),
        *culture_tasks(cfg),
        *turnover_tasks(cfg),
    ]


def _write_folder(
    folder: Path,
    cfg: ValidationConfig,
    results: dict[str, Any],
    population: BloodPopulationRuns,
    body: BodyRuns,
    t0: float,
) -> list[CheckResult]:
    """Evaluate the checks and write figures, tables, checks.json, report.md and the
    manifest into ``folder``; ``t0``: the run's start (``time.perf_counter``)."""
    figs = folder / "figures"
    figs.mkdir(parents=True, exist_ok=True)
    ca: CultureAnalysis = analyse_culture(cfg, results)
    checks = culture_checks(cfg, ca, figs)
    tchecks, ttable = turnover_checks(cfg, results, figs)
    checks += tchecks
    checks += blood_checks(cfg, results["blood"], figs)
    checks += blood_population_checks(cfg, population, figs)
    bchecks, body_turnover, body_burden = body_checks(cfg, body, figs)
    checks += bchecks
    kchecks, ktable, kcurves = karin_checks(cfg, results, figs)
    checks += kchecks
    for c in checks:
        c.figure = Path(c.figure).name if c.figure else ""
    seconds = time.perf_counter() - t0
    write_csv(folder / "culture_strains.csv", ca.strains)
    write_csv(folder / "culture_growth.csv", ca.growth)
    write_csv(folder / "culture_sensitivity.csv", ca.sensitivity)
    write_csv(folder / "turnover.csv", ttable)
    write_csv(folder / "blood_trajectories.csv", results["blood"].trajectories)
    write_csv(folder / "blood_population_predictive.csv", population.bands)
    if population.engine_bands is not None:
        write_csv(folder / "blood_population_engine.csv", population.engine_bands)
    write_csv(
        folder / "telomere_syndrome_runs.csv",
        population.families.drop(columns=["params_json"], errors="ignore"),
    )
    write_csv(folder / "body_turnover.csv", body_turnover)
    write_csv(folder / "body_burden.csv", body_burden)
    write_csv(folder / "karin_step_size.csv", ktable)
    write_csv(folder / "karin_insult.csv", kcurves)
    write_json(folder / "checks.json", [asdict(c) for c in checks])
    write_report(folder, cfg, checks, ca, seconds)
    write_json(
        folder / MANIFEST,
        {
            "kind": "validate-biology",
            "mode": "quick" if cfg.quick_mode else "full",
            "cellsim_version": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "seed_entropy": cfg.seed,
            "seconds": round(seconds, 1),
            "passed": sum(c.passed for c in checks),
            "failed": [c.key for c in checks if not c.passed],
        },
    )
    return checks


def run_validation(
    out_dir: str | Path,
    *,
    quick: bool = False,
    workers: int = 2,
    config: str | Path | None = None,
    console: Any = None,
) -> tuple[list[CheckResult], Path]:
    """Run every check, write the report folder (atomically); raise ChecksFailed after
    writing when a check fails. Returns the checks and the report path."""
    t0 = time.perf_counter()
    out_dir = preflight_output(out_dir, "validate-biology", 8 * MB)
    cfg = load_config(config, quick=quick)
    tasks = _tasks(cfg)
    say = None if console is None else (lambda m: console.print(m, markup=False))
    workers = cap_workers(workers, len(tasks), say, what="tasks")
    done = [0]

    def progress(name: str) -> None:
        done[0] += 1
        if console is not None:
            console.print(f"[{done[0]}/{len(tasks)}] {name}", markup=False, highlight=False)

    results = run_tasks(tasks, workers=workers, progress=progress)
    population = run_blood_population(cfg, workers)
    progress("blood population: predictive check, carrier families, people")
    body = run_body(cfg, workers)
    progress(f"the body: {cfg.body.people} people (control arm)")
    with atomic_dir(out_dir) as tmp:
        checks = _write_folder(tmp, cfg, results, population, body, t0)
    report = Path(out_dir) / "report.md"
    if console is not None:
        for c in checks:
            mark = "pass" if c.passed else "FAIL"
            console.print(f"{mark:4}  {c.title}: {c.simulated}", markup=False, highlight=False)
        console.print(f"wrote {report} ({time.perf_counter() - t0:.0f} s)", markup=False)
    failed = [c.key for c in checks if not c.passed]
    if failed:
        raise ChecksFailed(
            f"validate-biology: {len(failed)} of {len(checks)} checks failed "
            f"({', '.join(failed)}); see {report}"
        )
    return checks, report
