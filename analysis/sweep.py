"""Sweep results per parameter point: Kaplan-Meier medians, figures and the report.

Pure functions over the result tables of a sweep (no simulator imports). A sweep's
``runs`` table is the usual one (docs/ARCHITECTURE.md, "Result schema") plus, per run,
``point`` (the point's index) and one column per swept parameter, named by its dotted path
(``interventions.0.interval_days``); ``arm`` holds the point id (``p00012``). The optional
``points`` table lists every point (``point``, ``point_id``, the parameter columns), so
points whose runs all failed still get a row; ``failures`` lists failed runs (``run_id``,
``point``, ``error``).

Per point, the time to each event (``analysis.exhaustion.EVENTS``) is summarised by the
Kaplan-Meier median (organism age in years) and its 95% CI (``kaplan_meier``, runs that
did not reach the event are right-censored at ``end_day``), and by the censored fraction
(runs that stopped before the event / stored runs of the point).

Figures (seaborn on an explicit Agg canvas, written atomically as in ``analysis.plots``):

- ``plot_sweep_heatmap``: the median over two parameters, one cell per (x, y) value pair,
  annotated ``median`` and ``[CI]``; ``> T`` where the median is not reached by the last
  follow-up T. If other parameters vary too, a cell shows the median of the point medians
  over them (said in the title) and no CI.
- ``plot_sweep_lines``: the median (with its 95% CI band) against one parameter, one line
  per value of a second (``hue``) parameter; medians over any further parameters as above.
- ``plot_sweep_scatter``: for sampled (Latin hypercube / Sobol) parameters, the point
  medians against each parameter.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.exhaustion import (
    EVENTS,
    FAILURE_RULES,
    STOP_REASONS,
    event_times,
    kaplan_meier,
    stop_cell,
    stop_columns,
)
from analysis.report import _atomic_write_text, _relative_link

__all__ = [
    "SWEEP_FIGURES",
    "format_sweep_stops",
    "format_sweep_summary",
    "make_sweep_figures",
    "plot_sweep_heatmap",
    "plot_sweep_lines",
    "plot_sweep_scatter",
    "sweep_summary",
    "write_sweep_report",
]

#: File names of ``make_sweep_figures`` (``{x}``/``{y}`` are parameter names).
SWEEP_FIGURES = {
    "heatmap": "heatmap_{event}.png",
    "lines": "lines_{event}_{x}.png",
    "scatter": "scatter_{event}.png",
}

_MAX_LEVELS_FOR_HUE = 10

SWEEP_METHODS = (
    "Each point is one combination of parameter values (the cartesian product of the grid "
    "parameters, and/or a Latin hypercube or Sobol sample); each run of a point has its "
    "own seed, derived from the sweep seed and the run id, so results do not depend on "
    "the number of workers or the order runs finish. Event times are organism ages in "
    "years (day / 365.25); a run that stopped (tissue failure or the horizon) before an "
    "event is right-censored at the age it stopped (`end_day`). Per point, the median age "
    "at the event is the Kaplan-Meier median (`scipy.stats.ecdf` on right-censored data) "
    "with a 95% CI read from the pointwise log(-log) band (Brookmeyer-Crowley style, as R's "
    "`survfit`); `> T` means not reached by the last follow-up T, and a CI bound that is "
    "not reached is shown the same way. With few replicates per point the CIs are wide or "
    "open: compare neighbouring points, not single cells. Failed runs (the run raised) are "
    "listed apart and left out of the estimates."
)


# --------------------------------------------------------------------------------------
# the summary table
# --------------------------------------------------------------------------------------


def sweep_summary(
    runs: pd.DataFrame,
    parameters: Sequence[str],
    points: pd.DataFrame | None = None,
    failures: pd.DataFrame | None = None,
    events: Sequence[str] = EVENTS,
) -> pd.DataFrame:
    """One row per parameter point, in point order.

    Columns: ``point``, ``point_id``, the ``parameters``, ``n_runs`` (stored runs),
    ``n_failed`` (runs in ``failures``); per event ``e``: ``e_median_years``,
    ``e_ci_low_years``, ``e_ci_high_years`` (Kaplan-Meier median and 95% CI, NaN when not
    reached), ``e_n_events``, ``e_censored_fraction`` (NaN without runs) and
    ``e_followup_max_years``; then ``divisions_per_cell_mean``; then why the point's runs
    stopped, ``stopped_at_<reason>`` per ``STOP_REASONS``, and its failure rules
    (``analysis.exhaustion.stop_columns``).

    Args:
        runs: a sweep's ``runs`` table (with ``point`` and the parameter columns).
        parameters: the swept parameters (dotted paths).
        points: the plan's points table (points without runs get a row too).
        failures: the ``failures`` table (runs that raised).
        events: the events summarised.
    """
    parameters = list(parameters)
    key = "point" if "point" in runs.columns or runs.empty else "arm"
    if points is None:
        cols = [c for c in ("point", "point_id", "arm", *parameters) if c in runs.columns]
        points = runs[cols].drop_duplicates(key).sort_values(key, kind="stable")
        if "point_id" not in points.columns and "arm" in points.columns:
            points = points.rename(columns={"arm": "point_id"})
    points = points.reset_index(drop=True)
    failed_per_point: dict[object, int] = {}
    if failures is not None and len(failures) and key in failures.columns:
        failed_per_point = failures.groupby(key).size().to_dict()
    times = {e: event_times(runs, e) for e in events} if len(runs) else {}
    run_key = runs[key].to_numpy() if len(runs) else np.empty(0)
    rows: list[dict[str, object]] = []
    for _, p in points.iterrows():
        pkey = p[key] if key in p.index else p.get("point_id")
        sel = run_key == pkey
        row: dict[str, object] = {
            "point": p.get("point", pkey),
            "point_id": p.get("point_id", str(pkey)),
        }
        for name in parameters:
            row[name] = p.get(name, np.nan)
        n = int(sel.sum())
        row["n_runs"] = n
        row["n_failed"] = int(failed_per_point.get(pkey, 0))
        for e in events:
            if n:
                t = times[e][sel]
                km = kaplan_meier(t["time_years"], t["observed"])
                median, low, high = km.median_years, km.median_ci_low_years, km.median_ci_high_years
                n_events, followup = km.n_events, km.followup_max_years
                censored = (n - n_events) / n
            else:
                median = low = high = followup = censored = math.nan
                n_events = 0
            row[f"{e}_median_years"] = median
            row[f"{e}_ci_low_years"] = low
            row[f"{e}_ci_high_years"] = high
            row[f"{e}_n_events"] = n_events
            row[f"{e}_censored_fraction"] = censored
            row[f"{e}_followup_max_years"] = followup
        if n and "divisions_per_cell" in runs.columns:
            row["divisions_per_cell_mean"] = float(
                runs.loc[sel, "divisions_per_cell"].astype(float).mean()
            )
        else:
            row["divisions_per_cell_mean"] = math.nan
        row.update(stop_columns(runs.loc[sel] if len(runs) else runs))
        rows.append(row)
    return pd.DataFrame(rows)


def _years(v: float) -> str:
    """Years with one decimal, two below one year."""
    return f"{v:.2f}" if abs(v) < 1 else f"{v:.1f}"


def _cell_text(row: pd.Series, event: str, ci: bool = True) -> str:
    median = float(row[f"{event}_median_years"])
    followup = float(row[f"{event}_followup_max_years"])
    if int(row["n_runs"]) == 0:
        return "no runs"
    if not math.isfinite(median):
        return f"> {_years(followup)}"
    if not ci:
        return _years(median)
    low = float(row[f"{event}_ci_low_years"])
    high = float(row[f"{event}_ci_high_years"])
    lo = _years(low) if math.isfinite(low) else "?"
    hi = _years(high) if math.isfinite(high) else f"> {_years(followup)}"
    return f"{_years(median)} [{lo}, {hi}]"


def _fmt_value(v: object) -> str:
    if isinstance(v, float | np.floating):
        return f"{float(v):.4g}"
    return str(v)


def format_sweep_summary(
    summary: pd.DataFrame,
    parameters: Sequence[str],
    event: str = "exhaustion",
    max_rows: int | None = None,
) -> list[str]:
    """The summary as aligned text lines: point, parameter values, runs, failed,
    ``median [95% CI]`` years to ``event`` and the censored fraction.

    Args:
        summary: a ``sweep_summary``.
        parameters: the swept parameters.
        event: the event shown.
        max_rows: at most this many points (None: all).

    Returns:
        The lines of the printed table.
    """
    headers = ["point", *parameters, "runs", "failed", f"{event} (years)", "censored"]
    body = []
    shown = summary if max_rows is None else summary.head(max_rows)
    for _, row in shown.iterrows():
        cens = float(row[f"{event}_censored_fraction"])
        body.append(
            [
                str(row["point_id"]),
                *[_fmt_value(row[p]) for p in parameters],
                str(int(row["n_runs"])),
                str(int(row["n_failed"])),
                _cell_text(row, event),
                f"{cens:.0%}" if math.isfinite(cens) else "n/a",
            ]
        )
    widths = [
        max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    if max_rows is not None and len(summary) > max_rows:
        lines.append(f"... {len(summary) - max_rows} more points in summary.csv")
    return lines


def format_sweep_stops(summary: pd.DataFrame) -> str:
    """One line: which rule stopped the sweep's runs, over all points, e.g. ``runs stopped
    at: exhaustion (no CYCLING or STEM cell left) 110/120, horizon 10/120``.

    Args:
        summary: a ``sweep_summary``.

    Returns:
        The ``runs stopped at:`` line over all points.
    """
    total: dict[str, object] = {}
    for reason in STOP_REASONS:
        column = f"stopped_at_{reason}"
        values = summary[column] if column in summary.columns else pd.Series([math.nan])
        total[column] = float(values.sum(min_count=1)) if values.notna().all() else math.nan
    for rule in FAILURE_RULES:
        values = summary[rule].dropna().unique() if rule in summary.columns else []
        total[rule] = float(values[0]) if len(values) == 1 else math.nan
    n = int(summary["n_runs"].sum()) if "n_runs" in summary.columns else 0
    return f"runs stopped at: {stop_cell(pd.Series(total), n=n)}"


# --------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------


def _plotting():
    """seaborn, matplotlib's Figure and the atomic PNG writer (imported on first use)."""
    import seaborn as sns
    from matplotlib.figure import Figure

    from analysis.plots import _save

    return sns, Figure, _save


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _log_axis(values: pd.Series) -> bool:
    if not _is_numeric(values):
        return False
    v = values.astype(float).to_numpy()
    v = v[np.isfinite(v)]
    return bool(v.size) and v.min() > 0 and v.max() / v.min() >= 20


def _collapse(summary: pd.DataFrame, keys: list[str], event: str) -> tuple[pd.DataFrame, bool]:
    """One row per value combination of ``keys``: the row itself when unique, else the
    median over the other parameters of the point medians (and no CI)."""
    med = f"{event}_median_years"
    if not summary.duplicated(keys).any():
        return summary.copy(), False
    agg = summary.groupby(keys, sort=True, dropna=False).agg(
        **{
            med: (med, "median"),
            "n_runs": ("n_runs", "sum"),
            f"{event}_followup_max_years": (f"{event}_followup_max_years", "max"),
        }
    )
    agg = agg.reset_index()
    agg[f"{event}_ci_low_years"] = np.nan
    agg[f"{event}_ci_high_years"] = np.nan
    return agg, True


def plot_sweep_heatmap(
    summary: pd.DataFrame,
    x: str,
    y: str,
    path: str | os.PathLike[str],
    event: str = "exhaustion",
    title: str | None = None,
) -> Path:
    """Heatmap of the median age at ``event`` over parameters ``x`` (columns) and ``y``
    (rows, increasing upwards); cells annotated ``median`` and ``[95% CI]``.

    Args:
        summary: a ``sweep_summary``.
        x: the parameter along x.
        y: the parameter along y.
        path: the PNG file to write.
        event: the event whose median age (years) is shown.
        title: the figure's title (None: made from the names).

    Returns:
        The path written.
    """
    sns, Figure, _save = _plotting()
    table, collapsed = _collapse(summary, [x, y], event)
    med = f"{event}_median_years"
    xs = sorted(pd.unique(table[x]), key=_sort_key)
    ys = sorted(pd.unique(table[y]), key=_sort_key, reverse=True)
    values = np.full((len(ys), len(xs)), np.nan)
    text = np.full((len(ys), len(xs)), "", dtype=object)
    for _, row in table.iterrows():
        i, j = ys.index(row[y]), xs.index(row[x])
        values[i, j] = float(row[med])
        cell = _cell_text(row, event, ci=False)
        if not collapsed and math.isfinite(float(row[med])):
            low = float(row[f"{event}_ci_low_years"])
            high = float(row[f"{event}_ci_high_years"])
            followup = float(row[f"{event}_followup_max_years"])
            lo = _years(low) if math.isfinite(low) else "?"
            hi = _years(high) if math.isfinite(high) else f"> {_years(followup)}"
            cell += f"\n[{lo}, {hi}]"
        text[i, j] = cell
    frame = pd.DataFrame(
        values, index=[_fmt_value(v) for v in ys], columns=[_fmt_value(v) for v in xs]
    )
    with sns.axes_style("white"):
        fig = Figure(figsize=(1.25 * len(xs) + 3.2, 0.75 * len(ys) + 2.2), layout="constrained")
        ax = fig.subplots()
        if np.isfinite(values).any():
            sns.heatmap(
                frame,
                annot=text,
                fmt="",
                cmap="viridis",
                linewidths=0.5,
                linecolor="white",
                annot_kws={"fontsize": 8},
                cbar_kws={"label": f"median age at {event} (years)"},
                ax=ax,
            )
        else:
            ax.text(0.5, 0.5, f"no {event} reached", ha="center", va="center")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        note = (
            "median of point medians over the other parameters"
            if collapsed
            else "Kaplan-Meier median [95% CI]; > T: not reached by T"
        )
        ax.set_title(title or f"Age at {event} (years)\n({note})", fontsize=10)
    return _save(fig, path)


def _sort_key(v: object) -> tuple[int, float, str]:
    if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
        return (0, float(v), "")
    return (1, 0.0, str(v))


def plot_sweep_lines(
    summary: pd.DataFrame,
    x: str,
    path: str | os.PathLike[str],
    hue: str | None = None,
    event: str = "exhaustion",
) -> Path:
    """Median age at ``event`` (95% CI band) against parameter ``x``, one line per value
    of ``hue``; log x axis when ``x`` spans a factor of 20 or more.

    Args:
        summary: a ``sweep_summary``.
        x: the parameter along x.
        path: the PNG file to write.
        hue: the parameter of the lines' colours (None: one line).
        event: the event whose median age (years) is shown.

    Returns:
        The path written.
    """
    sns, Figure, _save = _plotting()
    keys = [x] if hue is None else [x, hue]
    table, collapsed = _collapse(summary, keys, event)
    med = f"{event}_median_years"
    numeric = _is_numeric(table[x])
    levels = sorted(pd.unique(table[hue]), key=_sort_key) if hue else [None]
    palette = sns.color_palette("viridis", max(len(levels), 1))
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(8.0, 4.8), layout="constrained")
        ax = fig.subplots()
        xs_all = sorted(pd.unique(table[x]), key=_sort_key)
        for color, level in zip(palette, levels, strict=False):
            sel = table if level is None else table[table[hue] == level]
            sel = sel.assign(_k=[_sort_key(v) for v in sel[x]]).sort_values("_k")
            xv = sel[x].astype(float).to_numpy() if numeric else [xs_all.index(v) for v in sel[x]]
            label = None if level is None else f"{hue} = {_fmt_value(level)}"
            ax.plot(xv, sel[med].astype(float), marker="o", color=color, lw=2, label=label)
            low = sel[f"{event}_ci_low_years"].astype(float).to_numpy()
            high = sel[f"{event}_ci_high_years"].astype(float).to_numpy()
            ok = np.isfinite(low) & np.isfinite(high)
            if ok.any():
                ax.fill_between(
                    np.asarray(xv, dtype=float)[ok],
                    low[ok],
                    high[ok],
                    color=color,
                    alpha=0.15,
                    lw=0,
                )
        if numeric and _log_axis(table[x]):
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(range(len(xs_all)), [_fmt_value(v) for v in xs_all])
        ax.set_xlabel(x)
        ax.set_ylabel(f"median age at {event} (years)")
        note = (
            "median of point medians over the other parameters"
            if collapsed
            else "Kaplan-Meier median, band: 95% CI"
        )
        ax.set_title(f"Age at {event} vs {x}\n({note})", fontsize=10)
        if hue is not None:
            ax.legend(fontsize="small", loc="best")
    return _save(fig, path)


def plot_sweep_scatter(
    summary: pd.DataFrame,
    parameters: Sequence[str],
    path: str | os.PathLike[str],
    event: str = "exhaustion",
) -> Path:
    """Point medians of ``event`` against each (sampled) parameter, one panel each.

    Args:
        summary: a ``sweep_summary``.
        parameters: the sampled parameters (one panel each).
        path: the PNG file to write.
        event: the event whose median age (years) is shown.

    Returns:
        The path written.
    """
    sns, Figure, _save = _plotting()
    params = list(parameters)
    med = f"{event}_median_years"
    with sns.axes_style("whitegrid"):
        ncols = min(3, max(1, len(params)))
        nrows = math.ceil(len(params) / ncols) if params else 1
        fig = Figure(figsize=(4.2 * ncols, 3.4 * nrows + 0.6), layout="constrained")
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False)).ravel()
        for ax, p in zip(axes, params, strict=False):
            ax.scatter(summary[p], summary[med].astype(float), s=18, color="#2a9d8f")
            if _log_axis(summary[p]):
                ax.set_xscale("log")
            ax.set_xlabel(p)
            ax.set_ylabel(f"median age at {event} (years)")
        for ax in axes[len(params) :]:
            ax.set_visible(False)
        fig.suptitle(f"Age at {event} per sampled point (Kaplan-Meier median)", fontsize=10)
    return _save(fig, path)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def make_sweep_figures(
    summary: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    grid_parameters: Sequence[str],
    sample_parameters: Sequence[str] = (),
    event: str = "exhaustion",
    heatmap_events: Sequence[str] = ("exhaustion", "failure"),
) -> dict[str, Path]:
    """The standard sweep figures; returns ``{name: path}``.

    Grid parameters with more than one value: a heatmap over the first two (x = first)
    for each of ``heatmap_events`` that some run reached (``heatmap_<event>``), and a line
    plot of ``event`` over each parameter (hue = the other one when there are two or more:
    ``lines_<parameter>``). Sampled parameters: one scatter figure of ``event``
    (``scatter``). Nothing when ``summary`` is empty.

    Args:
        summary: a ``sweep_summary``.
        out_dir: the sweep's folder (figures go to ``out_dir/figures/``).
        grid_parameters: the parameters of the grid.
        sample_parameters: the parameters of the sample.
        event: the event of the line and scatter plots.
        heatmap_events: the events of the heatmaps.
    """
    out = Path(out_dir)
    figures: dict[str, Path] = {}
    if summary.empty:
        return figures
    varied = [p for p in grid_parameters if summary[p].nunique(dropna=False) > 1]
    if len(varied) >= 2:
        x, y = varied[0], varied[1]
        for e in dict.fromkeys([event, *heatmap_events]):
            if f"{e}_n_events" not in summary.columns or not summary[f"{e}_n_events"].any():
                continue
            figures[f"heatmap_{e}"] = plot_sweep_heatmap(
                summary, x, y, out / SWEEP_FIGURES["heatmap"].format(event=e), event=e
            )
    for p in varied:
        others = [q for q in varied if q != p]
        hue = None
        if len(others) >= 1 and summary[others[0]].nunique() <= _MAX_LEVELS_FOR_HUE:
            hue = others[0]
        name = SWEEP_FIGURES["lines"].format(event=event, x=_safe(p))
        figures[f"lines_{p}"] = plot_sweep_lines(summary, p, out / name, hue=hue, event=event)
    if sample_parameters:
        figures["scatter"] = plot_sweep_scatter(
            summary, sample_parameters, out / SWEEP_FIGURES["scatter"].format(event=event), event
        )
    return figures


# --------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------


def _escape(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def write_sweep_report(
    out_dir: str | os.PathLike[str],
    summary: pd.DataFrame,
    figures: Mapping[str, Path],
    parameters: Sequence[str],
    failures: pd.DataFrame | None = None,
    title: str = "cellsim sweep",
    description: str = "",
    overview: Sequence[str] = (),
    max_rows: int = 300,
) -> Path:
    """Write ``out_dir/report.md`` (atomically) and return its path: overview, the
    per-point table (exhaustion, failure), the method, the figures and failed runs.

    Args:
        out_dir: the sweep's folder.
        summary: a ``sweep_summary``.
        figures: figure name -> path.
        parameters: the swept parameters.
        failures: the ``failures`` table (None: none).
        title: the report's title.
        description: the sweep's description.
        overview: Markdown lines put first.
        max_rows: at most this many points in the table.
    """
    out = Path(out_dir)
    parts = [f"# {title.strip()}", ""]
    if description.strip():
        parts += [description.strip(), ""]
    if overview:
        parts += ["## Sweep", "", *overview, ""]
    parts += ["## Summary per point", ""]
    headers = [
        "point",
        *[f"`{p}`" for p in parameters],
        "runs",
        "failed",
        "exhaustion age (years)",
        "censored",
        "failure age (years)",
    ]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] * len(headers)) + "|"]
    for _, row in summary.head(max_rows).iterrows():
        cens = float(row["exhaustion_censored_fraction"])
        cells = [
            row["point_id"],
            *[_fmt_value(row[p]) for p in parameters],
            int(row["n_runs"]),
            int(row["n_failed"]),
            _cell_text(row, "exhaustion"),
            f"{cens:.0%}" if math.isfinite(cens) else "n/a",
            _cell_text(row, "failure") if "failure_median_years" in row.index else "n/a",
        ]
        lines.append("| " + " | ".join(_escape(c) for c in cells) + " |")
    parts += lines
    if len(summary) > max_rows:
        parts += ["", f"{len(summary) - max_rows} more points: see summary.csv."]
    parts += [
        "",
        "Cells read `median [95% CI]` of the age (years) at the event over the point's runs; "
        "`> T` when the median is not reached by the last follow-up T. Censored: the fraction "
        "of the point's runs that stopped before exhaustion.",
        "",
        "## Method",
        "",
        SWEEP_METHODS,
        "",
    ]
    if figures:
        parts += ["## Figures", ""]
        for name, fig_path in figures.items():
            parts += [
                f"### {name.replace('_', ' ')}",
                "",
                f"![{name}]({_relative_link(Path(fig_path), out)})",
                "",
            ]
    if failures is not None and len(failures):
        parts += ["## Failed runs", "", "Rerunning the same sweep command retries them.", ""]
        for _, f in failures.head(max_rows).iterrows():
            parts.append(f"- `{f['run_id']}`: {_escape(f.get('error', ''))}")
        parts.append("")
    path = out / "report.md"
    _atomic_write_text(path, "\n".join(parts).rstrip() + "\n")
    return path
