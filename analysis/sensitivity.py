"""Variance-based sensitivity: outputs of a study's runs, Sobol and Morris indices, figures.

Pure functions over data (no simulator imports): a design's unit-cube sample and the
outputs at its points in, tables and figures out. Estimators are SALib's:

- ``sobol_indices``: first-order ``S1`` (the share of the output's variance explained by
  one input alone), total ``ST`` (by the input with all its interactions) and optionally
  second-order ``S2``, with bootstrap confidence intervals (Saltelli 2002, 2010; Jansen
  1999), from a Saltelli sample;
- ``morris_indices``: elementary effects, ``mu_star`` (mean absolute effect of moving an
  input across its whole quantile range), ``sigma`` (their spread: interactions or
  non-linearity) and a bootstrap interval for ``mu_star`` (Morris 1991; Campolongo 2007).

Study outputs (``run_outputs``): event ages in years (the runs table's ``<event>_day`` /
365.25); a run that ends before the event is *censored*, flagged, and given its end age
(the restricted age, ``min(T, end)``); numeric runs columns as they are; trajectory
columns at an organism age (the last record at or before it). ``point_outputs`` averages
over a point's replicates and reports, per output, the censored fraction and the
``noise_fraction``: the within-point share of the run-to-run variance (stochasticity of
the model at fixed inputs; the indices are those of the replicate mean).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

DAYS_PER_YEAR = 365.25
EVENT_DAY = {
    "exhaustion_age_years": "exhaustion_day",
    "failure_age_years": "failure_day",
    "neoplasia_age_years": "neoplasia_day",
}
TRAJECTORY_AT = re.compile(r"^(?P<column>[a-z0-9_]+)@(?P<age>[0-9]+(\.[0-9]*)?)y$")


def _censored_column(output: str) -> str:
    return f"{output}__censored"


def run_outputs(
    runs: pd.DataFrame, trajectories: pd.DataFrame | None, outputs: list[str]
) -> pd.DataFrame:
    """One row per run (``point``, ``replicate``) with each output's value and, for event
    ages, ``<output>__censored`` (True where the run ended before the event; the value is
    then the run's end age).

    Args:
        runs: the study's ``runs`` table (with ``point`` and ``replicate``).
        trajectories: its ``trajectories`` table (needed for ``column@Ay`` outputs only).
        outputs: the output names (``exhaustion_age_years``, a runs column,
            ``telomere_mean_bp@40y``).
    """
    out = runs[["point", "replicate"]].copy()
    end_years = runs["end_day"].to_numpy(dtype=float) / DAYS_PER_YEAR
    for name in outputs:
        if name in EVENT_DAY:
            days = runs[EVENT_DAY[name]].to_numpy(dtype=float)
            censored = np.isnan(days)
            out[name] = np.where(censored, end_years, days / DAYS_PER_YEAR)
            out[_censored_column(name)] = censored
        elif (m := TRAJECTORY_AT.match(name)) is not None:
            out[name] = _trajectory_at(runs, trajectories, m["column"], float(m["age"]))
        else:
            out[name] = runs[name].to_numpy(dtype=float)
    return out.reset_index(drop=True)


def _trajectory_at(
    runs: pd.DataFrame, traj: pd.DataFrame | None, column: str, age_years: float
) -> np.ndarray:
    """Each run's primary-tissue ``column`` at the last record at or before ``age_years``
    (NaN for a run without such a record)."""
    if traj is None or traj.empty:
        return np.full(len(runs), np.nan)
    primary = runs[["run_id", "tissue"]]
    t = traj.merge(primary, on=["run_id", "tissue"], how="inner")
    t = t[t["day"] <= age_years * DAYS_PER_YEAR + 1e-6]
    last = t.sort_values("day").groupby("run_id", sort=False).tail(1).set_index("run_id")
    return runs["run_id"].map(last[column]).to_numpy(dtype=float)


def point_outputs(
    per_run: pd.DataFrame, outputs: list[str], n_points: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(Y, stats)``: ``Y`` has one row per point 0..n_points-1 (the replicate mean of
    each output; NaN for a point without runs); ``stats`` one row per output: ``n_runs``,
    ``n_undefined`` (runs where the output is NaN, e.g. a telomere mean of an emptied
    tissue), ``n_points_missing`` (points with a NaN mean), ``censored_fraction``,
    ``mean``, ``sd`` (over runs) and ``noise_fraction`` (within-point variance / total
    variance, NaN with one replicate).

    Args:
        per_run: a ``run_outputs`` table.
        outputs: the output names.
        n_points: the design's points.
    """
    grouped = per_run.groupby("point")
    y = grouped[outputs].mean().reindex(range(n_points))
    rows = []
    for name in outputs:
        values = per_run[name].to_numpy(dtype=float)
        cens = _censored_column(name)
        total_var = float(np.nanvar(values, ddof=1)) if len(values) > 1 else math.nan
        noise = math.nan
        if grouped.size().min() > 1 and total_var > 0:
            within = grouped[name].var(ddof=1).mean()
            noise = float(within / total_var)
        rows.append(
            {
                "output": name,
                "n_runs": len(values),
                "n_undefined": int(np.isnan(values).sum()),
                "n_points_missing": int(y[name].isna().sum()),
                "censored_fraction": float(per_run[cens].mean()) if cens in per_run else 0.0,
                "mean": float(np.nanmean(values)) if len(values) else math.nan,
                "sd": math.sqrt(total_var) if total_var == total_var else math.nan,
                "noise_fraction": noise,
            }
        )
    return y, pd.DataFrame(rows)


def _unit_problem(names: list[str]) -> dict[str, Any]:
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def sobol_indices(
    names: list[str],
    y: np.ndarray,
    *,
    second_order: bool = False,
    resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sobol indices of the outputs ``y`` at a Saltelli sample of ``names`` (SALib's
    ``sobol.analyze``): one row per input with ``S1``, ``S1_conf``, ``ST``, ``ST_conf``
    (half-widths of the ``confidence_level`` bootstrap intervals), and the pairwise
    ``S2``/``S2_conf`` table (empty without ``second_order``). A constant output gives NaN
    indices (there is no variance to share).

    Args:
        names: the inputs, in design order.
        y: the output at each point of the Saltelli sample.
        second_order: the sample has the second-order mixes (and ``S2`` is wanted).
        resamples: bootstrap resamples of the confidence intervals.
        confidence_level: the level of the intervals.
        seed: the bootstrap's seed.
    """
    from SALib.analyze import sobol

    y = np.asarray(y, dtype=float)
    first = pd.DataFrame({"parameter": names})
    pairs = pd.DataFrame(columns=["parameter", "parameter_2", "S2", "S2_conf"])
    if not np.all(np.isfinite(y)) or np.var(y) == 0:
        for col in ("S1", "S1_conf", "ST", "ST_conf"):
            first[col] = math.nan
        return first, pairs
    res = sobol.analyze(
        _unit_problem(names),
        y,
        calc_second_order=second_order,
        num_resamples=resamples,
        conf_level=confidence_level,
        print_to_console=False,
        seed=seed,
    )
    for col in ("S1", "S1_conf", "ST", "ST_conf"):
        first[col] = np.asarray(res[col], dtype=float)
    if second_order:
        rows = []
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                rows.append(
                    {
                        "parameter": names[i],
                        "parameter_2": names[j],
                        "S2": float(res["S2"][i, j]),
                        "S2_conf": float(res["S2_conf"][i, j]),
                    }
                )
        pairs = pd.DataFrame(rows)
    return first, pairs


def morris_indices(
    names: list[str],
    unit: np.ndarray,
    y: np.ndarray,
    *,
    levels: int = 4,
    resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Morris elementary-effect statistics of ``y`` at the unit-cube Morris sample
    ``unit`` (SALib's ``morris.analyze``): ``mu``, ``mu_star``, ``mu_star_conf``
    (bootstrap half-width), ``sigma``, per input, in the output's units per full
    quantile range of the input.

    Args:
        names: the inputs, in design order.
        unit: the Morris sample in the unit cube (points x inputs).
        y: the output at each point.
        levels: the grid levels of the sample.
        resamples: bootstrap resamples of ``mu_star_conf``.
        confidence_level: the level of the interval.
        seed: the bootstrap's seed.
    """
    from SALib.analyze import morris

    y = np.asarray(y, dtype=float)
    table = pd.DataFrame({"parameter": names})
    if not np.all(np.isfinite(y)):
        for col in ("mu", "mu_star", "mu_star_conf", "sigma"):
            table[col] = math.nan
        return table
    res = morris.analyze(
        _unit_problem(names),
        np.asarray(unit, dtype=float),
        y,
        num_resamples=resamples,
        conf_level=confidence_level,
        print_to_console=False,
        num_levels=levels,
        seed=seed,
    )
    for col in ("mu", "mu_star", "mu_star_conf", "sigma"):
        table[col] = np.asarray(res[col], dtype=float)
    return table


def indices_tables(
    method: str,
    names: list[str],
    unit: np.ndarray,
    y: pd.DataFrame,
    *,
    second_order: bool = False,
    levels: int = 4,
    resamples: int = 1000,
    confidence_level: float = 0.95,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Indices of every output column of ``y`` (rows in design order): ``(indices,
    second_order_pairs)``, each with an ``output`` column first.

    Args:
        method: ``"sobol"`` or ``"morris"``.
        names: the inputs, in design order.
        unit: the design's unit-cube sample (points x inputs).
        y: one column per output, one row per point.
        second_order: Sobol only: the sample has the second-order mixes.
        levels: Morris only: the grid levels.
        resamples: bootstrap resamples.
        confidence_level: the level of the intervals.
        seed: the bootstrap's seed.
    """
    first, pairs = [], []
    for output in y.columns:
        values = y[output].to_numpy(dtype=float)
        if method == "sobol":
            f, p = sobol_indices(
                names,
                values,
                second_order=second_order,
                resamples=resamples,
                confidence_level=confidence_level,
                seed=seed,
            )
            pairs.append(p.assign(output=output))
        else:
            f = morris_indices(
                names,
                unit,
                values,
                levels=levels,
                resamples=resamples,
                confidence_level=confidence_level,
                seed=seed,
            )
        first.append(f.assign(output=output))
    indices = pd.concat(first, ignore_index=True)
    indices = indices[["output", *[c for c in indices.columns if c != "output"]]]
    second = pd.concat(pairs, ignore_index=True) if pairs else pd.DataFrame()
    if not second.empty:
        second = second[["output", *[c for c in second.columns if c != "output"]]]
    return indices, second


# --------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def plot_tornado(
    indices: pd.DataFrame, output: str, path: str | Path, confidence_level: float = 0.95
) -> Path:
    """Horizontal bars, largest first: ``ST`` with ``S1`` inside it (Sobol), or
    ``mu_star`` (Morris), each with its confidence interval.

    Args:
        indices: an ``indices_tables`` table.
        output: the output shown.
        path: the PNG file to write.
        confidence_level: the level of the intervals drawn.

    Returns:
        The path written.
    """
    from matplotlib.figure import Figure

    from analysis.plots import _save

    df = indices[indices["output"] == output]
    sobol = "ST" in df.columns
    key = "ST" if sobol else "mu_star"
    df = df.sort_values(key, ascending=True, na_position="first")
    fig = Figure(figsize=(7.0, 1.2 + 0.45 * len(df)))
    ax = fig.subplots()
    ypos = np.arange(len(df))
    if sobol:
        ax.barh(ypos, df["ST"], xerr=df["ST_conf"], color="#9ecae1", label="total (ST)")
        ax.barh(
            ypos, df["S1"], xerr=df["S1_conf"], height=0.45, color="#08519c", label="first (S1)"
        )
        ax.set_xlabel(f"share of variance ({confidence_level:.0%} bootstrap intervals)")
        ax.axvline(0.0, color="black", linewidth=0.8)
        ax.legend(loc="lower right", frameon=False)
    else:
        ax.barh(ypos, df["mu_star"], xerr=df["mu_star_conf"], color="#08519c", label="mu*")
        ax.plot(df["sigma"], ypos, "o", color="#e6550d", label="sigma")
        ax.set_xlabel(f"elementary effect on {output} (per full range of the input)")
        ax.legend(loc="lower right", frameon=False)
    ax.set_yticks(ypos, df["parameter"])
    ax.set_title(f"Sensitivity of {output}")
    fig.tight_layout()
    return _save(fig, path)


def plot_index_bars(
    indices: pd.DataFrame, output: str, path: str | Path, confidence_level: float = 0.95
) -> Path:
    """Grouped bars per input with confidence intervals: ``S1`` and ``ST`` (Sobol) or
    ``mu_star`` and ``sigma`` (Morris), inputs in file order.

    Args:
        indices: an ``indices_tables`` table.
        output: the output shown.
        path: the PNG file to write.
        confidence_level: the level of the intervals drawn.

    Returns:
        The path written.
    """
    from matplotlib.figure import Figure

    from analysis.plots import _save

    df = indices[indices["output"] == output]
    sobol = "ST" in df.columns
    pairs = [("S1", "S1_conf"), ("ST", "ST_conf")] if sobol else [("mu_star", "mu_star_conf")]
    if not sobol:
        pairs.append(("sigma", None))
    fig = Figure(figsize=(1.6 + 1.1 * len(df), 4.2))
    ax = fig.subplots()
    x = np.arange(len(df))
    width = 0.8 / len(pairs)
    for k, (col, conf) in enumerate(pairs):
        err = df[conf] if conf else None
        ax.bar(
            x + (k - (len(pairs) - 1) / 2) * width, df[col], width, yerr=err, capsize=3, label=col
        )
    ax.set_xticks(x, df["parameter"], rotation=30, ha="right")
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_ylabel("Sobol index" if sobol else f"effect on {output}")
    ax.set_title(f"{output}: indices, {confidence_level:.0%} bootstrap intervals")
    ax.legend(frameon=False)
    fig.tight_layout()
    return _save(fig, path)


def make_sensitivity_figures(
    indices: pd.DataFrame, folder: str | Path, confidence_level: float = 0.95
) -> list[Path]:
    """A tornado plot and a bar plot per output, in ``folder``.

    Args:
        indices: an ``indices_tables`` table.
        folder: the folder to write into.
        confidence_level: the level of the intervals drawn.

    Returns:
        The paths written.
    """
    folder = Path(folder)
    made = []
    for output in pd.unique(indices["output"]):
        name = _safe(output)
        made.append(plot_tornado(indices, output, folder / f"tornado_{name}.png", confidence_level))
        made.append(plot_index_bars(indices, output, folder / f"bars_{name}.png", confidence_level))
    return made


# --------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------


def _f(v: float, digits: int = 3) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def format_sensitivity_report(
    title: str,
    settings: dict[str, Any],
    inputs: dict[str, str],
    stats: pd.DataFrame,
    indices: pd.DataFrame,
    second: pd.DataFrame,
    n_points: int,
    figures: list[str],
) -> str:
    """The study's report section (Markdown): design, per-output statistics and censoring,
    the indices with their intervals, and the figures.

    Args:
        title: the report's title.
        settings: the study's settings (method, n, seed, ...), shown as a list.
        inputs: input -> its distribution, as text.
        stats: the ``point_outputs`` statistics.
        indices: the ``indices_tables`` table.
        second: the second-order table (empty without).
        n_points: the design's points.
        figures: the figures' file names, relative to the report.

    Returns:
        The Markdown text.
    """
    level = settings.get("confidence_level", 0.95)
    lines = [f"# Sensitivity: {title}", ""]
    lines.append(
        f"Method: {settings['method']}, base sample n = {settings['n']}, {n_points} points x "
        f"{settings['replicates']} replicate(s); intervals: {level:.0%} bootstrap "
        f"({settings['bootstrap_resamples']} resamples). Censored event ages: "
        f"{settings['censored']}."
    )
    lines += ["", "| input | distribution |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in inputs.items()]
    lines += ["", "## Outputs", ""]
    lines += [
        "| output | runs | mean | sd | censored | noise fraction |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for _, r in stats.iterrows():
        lines.append(
            f"| `{r['output']}` | {r['n_runs']} | {_f(r['mean'])} | {_f(r['sd'])} | "
            f"{r['censored_fraction']:.1%} | {_f(r['noise_fraction'])} |"
        )
    cens = stats[stats["censored_fraction"] > 0]
    if len(cens):
        lines += [
            "",
            "Censored runs ended before the event; their value is the age at which they "
            "ended (restricted age), so the indices are those of min(event age, end age). "
            "A large censored fraction means the horizon, not the biology, shapes the output.",
        ]
    sobol = settings["method"] == "sobol"
    for output in pd.unique(indices["output"]):
        df = indices[indices["output"] == output]
        lines += ["", f"## `{output}`", ""]
        if sobol:
            lines += ["| input | S1 | ± | ST | ± |", "|---|---:|---:|---:|---:|"]
            for _, r in df.sort_values("ST", ascending=False).iterrows():
                lines.append(
                    f"| `{r['parameter']}` | {_f(r['S1'])} | {_f(r['S1_conf'])} | "
                    f"{_f(r['ST'])} | {_f(r['ST_conf'])} |"
                )
            lines.append("")
            lines.append(
                f"Sum of S1 = {_f(df['S1'].sum())} (1 for an additive output; less by the "
                f"share of interactions); sum of ST = {_f(df['ST'].sum())} (at least 1)."
            )
            if not second.empty:
                s2 = second[second["output"] == output].sort_values("S2", ascending=False)
                lines += ["", "| pair | S2 | ± |", "|---|---:|---:|"]
                for _, r in s2.head(10).iterrows():
                    lines.append(
                        f"| `{r['parameter']}` x `{r['parameter_2']}` | {_f(r['S2'])} | "
                        f"{_f(r['S2_conf'])} |"
                    )
        else:
            lines += ["| input | mu* | ± | mu | sigma |", "|---|---:|---:|---:|---:|"]
            for _, r in df.sort_values("mu_star", ascending=False).iterrows():
                lines.append(
                    f"| `{r['parameter']}` | {_f(r['mu_star'])} | {_f(r['mu_star_conf'])} | "
                    f"{_f(r['mu'])} | {_f(r['sigma'])} |"
                )
        for fig in figures:
            if f"_{_safe(output)}.png" in fig:
                lines += ["", f"![{fig}]({fig})"]
    return "\n".join(lines) + "\n"
