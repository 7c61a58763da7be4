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

from . import __version__
from .scenario import DEFAULT_SCENARIO

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


def _positive(name: str, value: int | None) -> None:
    if value is not None and value < 1:
        fail(f"{name} = {value}: must be a whole number >= 1")


@app.command()
def run(
    scenario: Annotated[
        str,
        typer.Argument(help="Scenario TOML file, or the name of a built-in scenario."),
    ] = DEFAULT_SCENARIO,
    out: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: runs/<scenario>).")
    ] = None,
    replicates: Annotated[
        int | None, typer.Option("--replicates", help="Replicates per arm (overrides file).")
    ] = None,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes.")] = 2,
) -> None:
    """Run every arm of a scenario, print the exhaustion table, write results and figures."""
    from .scenario import ScenarioError, load_scenario
    from .workflow import run_scenario

    _positive("--replicates", replicates)
    _positive("--workers", workers)
    try:
        sc = load_scenario(scenario)
    except ScenarioError as exc:
        fail(str(exc))
    out_dir = out or Path("runs") / sc.name
    run_scenario(sc, out_dir, replicates=replicates, workers=workers, console=console)


@app.command()
def validate(
    scenario: Annotated[str, typer.Argument(help="Scenario TOML file to check.")],
) -> None:
    """Check a scenario file (every arm resolved and validated) without running it."""
    from .scenario import ScenarioError, load_scenario

    try:
        sc = load_scenario(scenario)
    except ScenarioError as exc:
        fail(str(exc))
    n = len(sc.arms) * sc.replicates
    console.print(
        f"{scenario}: ok: scenario {sc.name!r}, {len(sc.arms)} arms x {sc.replicates} "
        f"replicates = {n} runs"
    )


@app.command()
def report(
    folder: Annotated[Path, typer.Argument(help="An output folder of `cellsim run`.")],
) -> None:
    """Rewrite the summary, figures and report.md of an output folder."""
    from .workflow import rewrite_report

    if not (folder / "runs.parquet").is_file():
        fail(f"folder = {str(folder)!r}: not a cellsim output folder (no runs.parquet)")
    path = rewrite_report(folder, console=console)
    console.print(f"wrote {path}")


@app.command()
def version() -> None:
    """Print the package version."""
    console.print(__version__)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one-line errors with exit code 2 for bad input."""
    from .io import OutputError
    from .scenario import ScenarioError
    from .workflow import RunsFailed

    try:
        app(args=argv, prog_name="cellsim", standalone_mode=False)
    except (UserError, ScenarioError, OutputError) as exc:
        err_console.print(f"cellsim: error: {exc}", markup=False)
        sys.exit(2)
    except RunsFailed as exc:
        err_console.print(f"cellsim: {exc}", markup=False)
        sys.exit(1)
    except click_exc.NoArgsIsHelpError as exc:
        console.print(exc.ctx.get_help() if exc.ctx else "cellsim --help", markup=False)
        sys.exit(0)
    except click_exc.UsageError as exc:
        cmd = f" {exc.ctx.info_name}" if exc.ctx and exc.ctx.info_name != "cellsim" else ""
        err_console.print(f"cellsim{cmd}: error: {exc.format_message()}", markup=False)
        sys.exit(2)
    except click_exc.Abort:
        err_console.print("cellsim: interrupted", markup=False)
        sys.exit(130)
    except click_exc.Exit as exc:
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    main()
