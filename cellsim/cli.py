"""The ``cellsim`` command: run | validate | sweep | report | validate-biology | viz.

Bad input ends in one line on stderr naming the field, the value and what is allowed, with
exit code 2, before anything is written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

try:  # recent typer vendors click; older releases depend on it
    from typer._click import exceptions as click_exc
except ImportError:  # pragma: no cover
    from click import exceptions as click_exc
from rich.console import Console

from cellsim import __version__
from cellsim.deferred_imports import STARTUP_DEFERRED, defer

# Before anything imports Mesa: its grids, networks and pandas load on first use, not at
# start-up (~1 s of each `cellsim` command; see cellsim/deferred_imports.py).
defer(*STARTUP_DEFERRED)

from cellsim.config.scenario import DEFAULT_SCENARIO  # noqa: E402

app = typer.Typer(
    name="cellsim",
    help="Agent-based simulation of replicative aging, senescence, senolytics and reprogramming.",
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    no_args_is_help=True,
)
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True, highlight=False)


class UserError(Exception):
    """Bad input: reported as one line, exit code 2."""


def fail(message: str) -> None:
    """Raise a UserError (one line on stderr, exit 2)."""
    raise UserError(message)


def _positive(name: str, value: int | None, most: int | None = None) -> None:
    if value is not None and value < 1:
        fail(f"{name} = {value}: must be a whole number >= 1")
    if value is not None and most is not None and value > most:
        fail(f"{name} = {value}: must be a whole number <= {most} (the file field's bound)")


def _dask_options(workers: int | None, scheduler: str | None) -> None:
    """``--workers`` (>= 1) or ``--scheduler``, not both."""
    _positive("--workers", workers)
    if workers is not None and scheduler is not None:
        fail(f"--workers = {workers} and --scheduler = {scheduler!r}: give one of them")


def _out_dir(out: str | None, name: str, what: str) -> Path:
    """``--out`` as given (an empty string is refused), else ``runs/<name>``; then the
    preflight of ``cellsim.io.preflight_output`` runs where the kind and size are known."""
    from cellsim.io import OutputError, default_out_dir

    if out is None:
        return default_out_dir(name, what)
    if not out.strip():
        raise OutputError(f"--out = {out!r}: give a folder name")
    return Path(out)


MAX_SCALE = 10_000.0
"""Upper bound of ``--scale`` (the tissues' own ``n_cells`` bound applies after it)."""


@app.command()
def run(
    scenario: Annotated[
        str,
        typer.Argument(help="Scenario TOML file, or the name of a built-in scenario."),
    ] = DEFAULT_SCENARIO,
    out: Annotated[
        str | None, typer.Option("--out", help="Output folder (default: runs/<scenario>).")
    ] = None,
    replicates: Annotated[
        int | None, typer.Option("--replicates", help="Replicates per arm (overrides file).")
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Worker processes (default: 2).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            help="Address of a running Dask scheduler (tcp://host:8786); rerun to resume.",
        ),
    ] = None,
    flush_runs: Annotated[
        int,
        typer.Option("--flush-runs", help="Runs per stored part file (resumable runs)."),
    ] = 32,
    scale: Annotated[
        float | None,
        typer.Option(
            "--scale",
            help="Multiply every tissue's sample size (n_cells) by this factor; each sample "
            "still stands for the same real tissue (cells_in_body).",
        ),
    ] = None,
) -> None:
    """Run every arm of a scenario, print the exhaustion table, write results and figures.

    A population's scenario ([population], a posterior or [generations]) and any run on
    --scheduler store their runs as they finish: rerun the same command to resume."""
    from cellsim.config.scenario import ScenarioError, load_scenario
    from cellsim.engine.params import MAX_REPLICATES, MAX_RUNS
    from cellsim.run.workflow import GENERATIONS_LOCAL_ONLY, run_scenario

    _positive("--replicates", replicates, MAX_REPLICATES)
    _dask_options(workers, scheduler)
    _positive("--flush-runs", flush_runs)
    if scale is not None and not (0 < scale <= MAX_SCALE):
        fail(f"--scale = {scale:g}: give a factor above 0 and at most {MAX_SCALE:g}")
    try:
        sc = load_scenario(scenario, scale=scale)
    except ScenarioError as exc:
        fail(str(exc))
    if scheduler is not None and sc.generations is not None:
        fail(GENERATIONS_LOCAL_ONLY)
    if replicates is not None and len(sc.arms) * replicates > MAX_RUNS:
        fail(
            f"--replicates = {replicates}: {len(sc.arms)} arms x {replicates} = "
            f"{len(sc.arms) * replicates} runs; at most {MAX_RUNS} runs per scenario"
        )
    out_dir = _out_dir(out, sc.name, "scenario")
    run_scenario(
        sc,
        out_dir,
        replicates=replicates,
        workers=2 if workers is None else workers,
        scheduler=scheduler,
        flush_runs=flush_runs,
        console=console,
    )


@app.command()
def validate(
    scenario: Annotated[str, typer.Argument(help="Scenario TOML file to check.")],
) -> None:
    """Check a scenario file (every arm resolved and validated) without running it."""
    from cellsim.config.scenario import ScenarioError, load_scenario

    try:
        sc = load_scenario(scenario)
    except ScenarioError as exc:
        fail(str(exc))
    n = len(sc.arms) * sc.replicates
    console.print(
        f"{scenario}: ok: scenario {sc.name!r}, {len(sc.arms)} arms x {sc.replicates} "
        f"replicates = {n} runs"
    )


StudyOut = Annotated[
    str | None,
    typer.Option("--out", help="Output folder (default: runs/<name>); rerun to resume."),
]
DaskWorkers = Annotated[
    int | None,
    typer.Option("--workers", help="Local Dask worker processes (default: all CPUs)."),
]
DaskScheduler = Annotated[
    str | None,
    typer.Option("--scheduler", help="Address of a running Dask scheduler (tcp://host:8786)."),
]


@app.command()
def sweep(
    sweep_file: Annotated[
        Path, typer.Argument(help="Sweep TOML file (see cellsim/config/sweep_file.py).")
    ],
    out: StudyOut = None,
    workers: DaskWorkers = None,
    scheduler: DaskScheduler = None,
    flush_runs: Annotated[
        int, typer.Option("--flush-runs", help="Runs per stored part file (at most).")
    ] = 32,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and list the points; run nothing.")
    ] = False,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write figures and report.md at the end.")
    ] = True,
) -> None:
    """Run a parameter sweep on Dask (resumable; failed runs are recorded and retried)."""
    from cellsim.config.sweep import SweepError, load_sweep

    _dask_options(workers, scheduler)
    _positive("--flush-runs", flush_runs)
    try:
        plan = load_sweep(sweep_file)
    except SweepError as exc:
        fail(str(exc))
    if dry_run:
        console.print(plan.points.to_string(index=False), markup=False, highlight=False)
        console.print(
            f"{sweep_file}: ok: sweep {plan.sweep.name!r}, {plan.n_points} points x "
            f"{plan.sweep.replicates} replicates = {plan.n_runs} runs",
            markup=False,
        )
        return
    from cellsim.run.sweep import run_sweep

    out_dir = _out_dir(out, plan.sweep.name, "sweep")
    run_sweep(
        plan,
        out_dir,
        workers=workers,
        scheduler=scheduler,
        flush_runs=flush_runs,
        console=console,
        report=report,
    )


@app.command()
def sensitivity(
    study_file: Annotated[
        Path,
        typer.Argument(help="Sensitivity TOML file (see cellsim/config/sensitivity_file.py)."),
    ],
    out: StudyOut = None,
    workers: DaskWorkers = None,
    scheduler: DaskScheduler = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and count the runs; run nothing.")
    ] = False,
) -> None:
    """Global sensitivity (Sobol or Morris, SALib) of outputs to uncertain inputs, run as a
    resumable sweep on Dask."""
    from cellsim.config.sensitivity import SensitivityError, load_sensitivity

    _dask_options(workers, scheduler)
    try:
        plan = load_sensitivity(study_file)
    except SensitivityError as exc:
        fail(str(exc))
    study = plan.study
    console.print(
        f"{study_file}: ok: {study.method} study {study.name!r} of {len(study.parameters)} "
        f"inputs, {plan.sweep.n_points} points x {study.replicates} replicate(s) = "
        f"{plan.sweep.n_runs} runs; outputs: {', '.join(study.outputs)}",
        markup=False,
    )
    if dry_run:
        return
    from cellsim.run.sensitivity import run_sensitivity

    out_dir = _out_dir(out, study.name, "sweep")
    try:
        run_sensitivity(plan, out_dir, workers=workers, scheduler=scheduler, console=console)
    except SensitivityError as exc:
        fail(str(exc))


@app.command()
def calibrate(
    calibration_file: Annotated[
        Path,
        typer.Argument(help="Calibration TOML file (see cellsim/config/calibration_file.py)."),
    ],
    out: StudyOut = None,
    workers: DaskWorkers = None,
    scheduler: DaskScheduler = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file and the data; run nothing.")
    ] = False,
) -> None:
    """Bayesian calibration by ABC-SMC (pyabc) of model parameters to observed data, on
    Dask, or, with an [mcmc] table, by MCMC (emcee) on a likelihood of the statistics;
    rerun to continue after a kill."""
    from cellsim.config.calibration import CalibrationError, load_calibration

    _dask_options(workers, scheduler)
    try:
        plan = load_calibration(calibration_file)
    except CalibrationError as exc:
        fail(str(exc))
    study = plan.study
    console.print(
        f"{calibration_file}: ok: calibration {study.name!r} of {len(study.parameters)} "
        f"parameter(s) to {len(plan.ages_years)} people ({len(plan.observed)} statistics)",
        markup=False,
    )
    if dry_run:
        return
    package = "emcee" if study.mcmc is not None else "pyabc"
    try:
        __import__(package)
    except ImportError:
        fail(
            f'cellsim calibrate needs {package}: pip install -e ".[calibrate]" (or pip install '
            f"{package})"
        )
    from cellsim.run.calibration import run_calibration

    out_dir = _out_dir(out, study.name, "calibration")
    try:
        run_calibration(plan, out_dir, workers=workers, scheduler=scheduler, console=console)
    except CalibrationError as exc:
        fail(str(exc))


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="An output folder of `cellsim run` or `sweep`.")],
) -> None:
    """Rewrite the summary, figures and report.md of an output folder."""
    from cellsim.io import is_temporary
    from cellsim.run.sweep import is_sweep_folder, rewrite_sweep_report
    from cellsim.run.workflow import rewrite_report

    if is_temporary(folder.resolve()):
        fail(
            f"folder = {str(folder)!r}: a temporary folder left by an interrupted cellsim "
            "command, not a result; rerun that command (it removes it)"
        )
    if is_sweep_folder(folder):
        console.print(f"wrote {rewrite_sweep_report(folder, console=console)}")
        return
    if not (folder / "runs.parquet").is_file():
        fail(f"folder = {str(folder)!r}: not a cellsim output folder (no runs.parquet)")
    path = rewrite_report(folder, console=console)
    console.print(f"wrote {path}")


@app.command("validate-biology")
def validate_biology(
    out: Annotated[
        str, typer.Option("--out", help="Output folder for report.md, figures and tables.")
    ] = "runs/validation",
    quick: Annotated[
        bool, typer.Option("--quick", help="Reduced checks (smaller samples, fewer strains).")
    ] = False,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 2,
) -> None:
    """Check the simulator against published biology; exit 1 if a check fails."""
    from cellsim.io import preflight_output
    from cellsim.validation import ValidationConfigError, load_config, run_validation

    _positive("--workers", workers)
    preflight_output(out, "validate-biology")
    try:
        load_config(quick=quick)
    except ValidationConfigError as exc:
        fail(str(exc))
    run_validation(out, quick=quick, workers=workers, console=console)


@app.command()
def viz(
    target: Annotated[
        str,
        typer.Argument(
            metavar="SCENARIO_OR_DIR",
            help="Scenario TOML file or built-in scenario name (a live model), or an output "
            "folder of `cellsim run`, `sweep`, `sensitivity` or `calibrate` (its results).",
        ),
    ] = "lattice_bystander",
    arm: Annotated[
        str | None,
        typer.Option("--arm", help="Arm to show first (default: the control arm / all arms)."),
    ] = None,
    port: Annotated[int, typer.Option("--port", help="Port to serve on (0: a free one).")] = 8765,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "localhost",
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open a browser tab.")
    ] = False,
) -> None:
    """Serve the browser view: a scenario arm live (the body view for an organism, the
    lattice view for one tissue), or the results view of a finished output folder.

    Same as `solara run cellsim/viz/app.py` with CELLSIM_VIZ_SCENARIO, CELLSIM_VIZ_ARM or
    CELLSIM_VIZ_RESULTS set; runs until interrupted (Ctrl-C).
    """
    import importlib.util
    import os
    import subprocess

    from cellsim.config.scenario import ScenarioError, find_scenario, load_scenario

    if not 0 <= port <= 65535:
        fail(f"--port = {port}: must be between 0 and 65535")
    env = {**os.environ, "CELLSIM_VIZ_SCENARIO": "", "CELLSIM_VIZ_ARM": arm or "",
           "CELLSIM_VIZ_RESULTS": ""}  # fmt: skip
    path = Path(target)
    if path.is_dir():
        from cellsim.viz.results import ResultsError, find_results, open_results

        try:
            found = [open_results(p) for p in find_results(path)]
            arms = [a for r in found for a in r.arms]
            if arm is not None and arm not in arms:
                found[0].check_arm(arm)  # names the arms (of the only or the first result)
        except ResultsError as exc:
            fail(str(exc))
        env["CELLSIM_VIZ_RESULTS"] = str(path.resolve())
        what = ", ".join(f"{r.kind} {r.name}" for r in found) + f" ({path})"
    else:
        try:
            sc = load_scenario(target)
        except ScenarioError as exc:
            if not path.exists():
                fail(
                    f"SCENARIO_OR_DIR = {target!r}: not found (give a scenario file, a "
                    "built-in scenario name or an output folder of cellsim run, sweep, "
                    "sensitivity or calibrate)"
                )
            fail(str(exc))
        names = [a.name for a in sc.arms]
        if arm is not None and arm not in names:
            fail(f"--arm = {arm!r}: not an arm of scenario {sc.name!r} (arms: {', '.join(names)})")
        env["CELLSIM_VIZ_SCENARIO"] = str(find_scenario(target).resolve())
        what = f"{sc.name}, arm {arm or sc.control_arm}"
    if importlib.util.find_spec("solara") is None:
        fail("the browser view needs Solara: pip install 'cellsim[viz]'")
    # Solara's page assets: cache them from the npm registry where its CDN is unreachable
    # (a subprocess: nothing imports cellsim.viz's page); without npm the page uses the CDN.
    assets = [sys.executable, "-m", "cellsim.viz.assets"]
    if subprocess.run(assets, check=False).returncode != 0:
        err_console.print("cellsim viz: warning: page assets not cached; using Solara's CDN")
    app_file = Path(__file__).resolve().parent / "viz" / "app.py"
    flag = "--open" if open_browser else "--no-open"
    cmd = [sys.executable, "-m", "solara", "run", str(app_file), "--host", host]
    cmd += ["--port", str(port), flag, "--production"]
    console.print(f"cellsim viz: {what}; Ctrl-C stops the server")
    sys.stdout.flush()
    os.execve(sys.executable, cmd, env)  # the server replaces this process


@app.command()
def version() -> None:
    """Print the package version."""
    console.print(__version__)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors with exit code 2 for bad input."""
    from cellsim.config.scenario import ScenarioError
    from cellsim.io import OutputError, WriteError
    from cellsim.run.errors import RunsFailed

    try:
        # typer turns Ctrl-C into Exit(130), which non-standalone mode returns as a code
        code = app(args=argv, prog_name="cellsim", standalone_mode=False)
    except (UserError, ScenarioError, OutputError) as exc:
        err_console.print(f"cellsim: error: {exc}", markup=False)
        sys.exit(2)
    except RunsFailed as exc:
        err_console.print(f"cellsim: {exc}", markup=False)
        sys.exit(1)
    except WriteError as exc:
        err_console.print(f"cellsim: error: {exc}", markup=False)
        sys.exit(1)
    except click_exc.NoArgsIsHelpError as exc:
        console.print(exc.ctx.get_help() if exc.ctx else "cellsim --help", markup=False)
        sys.exit(0)
    except click_exc.UsageError as exc:
        cmd = f" {exc.ctx.info_name}" if exc.ctx and exc.ctx.info_name != "cellsim" else ""
        err_console.print(f"cellsim{cmd}: error: {exc.format_message()}", markup=False)
        sys.exit(2)
    except typer.Abort:
        err_console.print("cellsim: interrupted", markup=False)
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    if isinstance(code, int) and not isinstance(code, bool) and code:
        if code == 130:
            err_console.print("cellsim: interrupted", markup=False)
        sys.exit(code)


if __name__ == "__main__":
    main()
