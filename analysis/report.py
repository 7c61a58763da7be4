"""The written report: a Markdown file with the summary table, the methods and the figures.

Pure functions over the result tables and the summary of ``analysis.exhaustion``; no
simulator imports. The report is written atomically (temp file in the same folder, then
``os.replace``).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from analysis.exhaustion import (
    DAYS_PER_YEAR,
    EVENTS,
    arms_in_order,
    stop_reasons_by_arm,
    summary_display,
)

__all__ = ["METHODS_PARAGRAPH", "summary_markdown", "write_report"]

METHODS_PARAGRAPH = (
    "Event times are organism ages in years (day / 365.25). A run that stopped (tissue "
    "failure or the horizon) before reaching an event is right-censored at the age it "
    "stopped (`end_day`); what stopped each run is its `stop_reason`, counted per arm "
    "under Runs. Survival curves are Kaplan-Meier estimates (`scipy.stats.ecdf` on "
    "right-censored data) with pointwise 95% confidence bands on the log(-log) scale "
    "(Greenwood variance). The median is the first age at which the estimated survival is "
    "<= 0.5; its 95% CI runs from the first age at which the lower band is <= 0.5 to the "
    "first age at which the upper band is <= 0.5 (Brookmeyer-Crowley style, as R's "
    "`survfit`). A median not reached within follow-up is shown as `> T`, T the largest "
    "observed age; an open CI end likewise. Cells read `median [95% CI]`, with "
    "`(k/n censored)` when k of the n runs did not reach the event. The log-rank p-value "
    "(two-sided, `scipy.stats.logrank`) compares each arm's exhaustion ages with the "
    "control arm's. Divisions per cell is the mean over runs of the total divisions per "
    "cell slot."
)

_FIGURE_CAPTIONS = {
    "state_fractions": "Cell-state composition vs age, per arm.",
    "telomere_distribution": "Telomere length (median, p10-p90 of cells) vs age, per arm.",
    "survival_exhaustion": "Kaplan-Meier curves of time to replicative-pool exhaustion.",
    "functional_and_pool": "Functional fraction and replicative pool size vs age.",
}


def _escape_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def summary_markdown(summary: pd.DataFrame) -> str:
    """The summary table (from ``summary_table``) as a GitHub-flavoured Markdown table.

    Cells are formatted as in ``format_summary``: ``median [95% CI]`` ages in years, with the
    censored count when any, ``> T (k/n censored)`` when the median is not reached.

    Args:
        summary: a ``summary_table``.

    Returns:
        The Markdown lines.
    """
    display = summary_display(summary)
    headers = [_escape_cell(h) for h in display.columns]
    align = ["---"] + [
        "---:" if h in {"runs", "divisions per cell"} else "---" for h in headers[1:]
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    for rec in display.itertuples(index=False):
        lines.append("| " + " | ".join(_escape_cell(v) for v in rec) + " |")
    control = summary.attrs.get("control")
    if control is None and len(summary):
        control = str(summary["arm"].iloc[0])
    text = "\n".join(lines) + "\n"
    if control is not None:
        text += f"\nLog-rank p-values compare each arm with the control arm `{control}`.\n"
    return text


def _relative_link(target: Path, out_dir: Path) -> str:
    try:
        rel = os.path.relpath(Path(target).resolve(), Path(out_dir).resolve())
    except ValueError:  # another drive on Windows
        rel = str(Path(target).resolve())
    return Path(rel).as_posix()


def _run_overview(runs: pd.DataFrame) -> list[str]:
    """A few facts about the runs: counts per arm, follow-up, version."""
    lines = []
    arms = arms_in_order(runs)
    lines.append(f"- Runs: {len(runs)} in {len(arms)} arm(s): " + ", ".join(f"`{a}`" for a in arms))
    if "tissue" in runs.columns and len(runs):
        tissues = [str(t) for t in pd.unique(runs["tissue"].astype(str))]
        lines.append("- Tissue: " + ", ".join(f"`{t}`" for t in tissues))
    if "end_day" in runs.columns and len(runs):
        end_years = runs["end_day"].astype(float) / DAYS_PER_YEAR
        if end_years.notna().any():
            lines.append(
                f"- Follow-up (age at which runs stopped): {end_years.min():.1f} to "
                f"{end_years.max():.1f} years"
            )
    if "horizon_day" in runs.columns and len(runs):
        horizon = runs["horizon_day"].astype(float).max() / DAYS_PER_YEAR
        if math.isfinite(horizon):
            lines.append(f"- Horizon: {horizon:.1f} years of age")
    if "n_cells" in runs.columns and len(runs):
        sizes = sorted({int(n) for n in runs["n_cells"].dropna()})
        if sizes:
            lines.append("- Cells per tissue sample: " + ", ".join(f"{n:,}" for n in sizes))
    if "cellsim_version" in runs.columns and len(runs):
        versions = sorted({str(v) for v in runs["cellsim_version"].dropna()})
        if versions:
            lines.append("- cellsim version: " + ", ".join(versions))
    return lines


def _stop_overview(summary: pd.DataFrame) -> list[str]:
    """Which rule stopped the runs, per arm (``stop_reasons_by_arm``), as list items."""
    cells = stop_reasons_by_arm(summary)
    if not cells:
        return []
    items = [f"  - `{arm}`: {_escape_cell(text)}" for arm, text in cells]
    return ["- Runs stopped at (the primary tissue, by the run's `stop_at` rule):", *items]


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_report(
    out_dir: str | os.PathLike[str],
    runs: pd.DataFrame,
    summary: pd.DataFrame,
    figures: Mapping[str, Path],
    title: str,
    description: str = "",
    extra_lines: list[str] | None = None,
) -> Path:
    """Write ``out_dir/report.md`` and return its path.

    Sections: the title and ``description``; an overview of the runs; the summary table
    (``summary_markdown``); the methods (censoring, Kaplan-Meier, CIs, log-rank); the
    ``figures`` embedded with links relative to ``out_dir``; then ``extra_lines`` verbatim.

    Args:
        out_dir: the output folder.
        runs: the ``runs`` table.
        summary: its ``summary_table``.
        figures: figure name -> path (``make_standard_figures``).
        title: the report's title.
        description: the scenario's description.
        extra_lines: Markdown appended at the end (e.g. a population's section).

    Returns:
        The path of ``report.md``.
    """
    out = Path(out_dir)
    parts: list[str] = [f"# {title.strip()}", ""]
    if description.strip():
        parts += [description.strip(), ""]
    parts += ["## Runs", "", *_run_overview(runs), *_stop_overview(summary), ""]
    parts += ["## Summary", "", summary_markdown(summary)]
    events = ", ".join(EVENTS)
    parts += [
        "## Method",
        "",
        f"Events: {events} (replicative-pool exhaustion: no cell left that can divide; "
        "failure: functional fraction below the threshold; neoplasia: transformed fraction "
        "above the threshold).",
        "",
        METHODS_PARAGRAPH,
        "",
    ]
    if figures:
        parts += ["## Figures", ""]
        for name, fig_path in figures.items():
            caption = _FIGURE_CAPTIONS.get(name, name.replace("_", " ").capitalize())
            link = _relative_link(Path(fig_path), out)
            parts += [f"### {name.replace('_', ' ')}", "", f"![{caption}]({link})", "", caption, ""]
    if extra_lines:
        parts += ["## Notes", "", *[str(line) for line in extra_lines], ""]
    path = out / "report.md"
    _atomic_write_text(path, "\n".join(parts).rstrip() + "\n")
    return path
