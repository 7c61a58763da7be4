"""Calibration by ABC: summary statistics of a cohort, posterior tables, figures, report.

Pure functions over data (no simulator imports). ``cohort_summaries`` turns ages and
values (observed or simulated, the same function for both) into the statistics ABC
compares; the rest takes pyabc's outputs as plain tables:

- ``posterior``: one row per particle of the last generation, the parameters (dotted
  paths) and ``weight`` (summing to 1);
- ``populations``: one row per generation, ``t``, ``epsilon``, ``samples`` (simulations
  run), ``particles`` (accepted) and ``acceptance_rate``;
- ``bands``: the posterior-predictive check, per observable and age bin the 10th, 50th
  and 90th percentiles of simulated people (pooled over posterior draws) beside the
  data's, with the data's bootstrap confidence intervals and whether each simulated
  percentile falls within its interval.

Several observables of the same people (e.g. lymphocyte and granulocyte telomeres) are
columns of a 2-D ``values`` array (people x observables, NaN where a person has none).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

QUANTILES = {"median": 0.5, "p10": 0.1, "p90": 0.9}


def cohort_summaries(
    ages_years: np.ndarray, values: np.ndarray, bins: list[float], statistics: list[str]
) -> dict[str, float]:
    """Per age bin ``[lo, hi)``, each statistic (mean, median, sd, p10, p90) of the values
    of the people in it; NaN for a bin with too few (sd needs 2).

    Args:
        ages_years: each person's age (years).
        values: each person's value (e.g. telomere length, bp).
        bins: the age bins' edges (years).
        statistics: per bin, among ``median``, ``mean``, ``sd``, ``p10``, ``p90``.

    Returns:
        ``"<statistic>@<bin>"`` -> value.
    """
    ages_years = np.asarray(ages_years, dtype=float)
    values = np.asarray(values, dtype=float)
    out: dict[str, float] = {}
    for lo, hi in itertools.pairwise(bins):
        v = values[(ages_years >= lo) & (ages_years < hi)]
        for stat in statistics:
            if stat == "mean":
                x = float(v.mean()) if len(v) else math.nan
            elif stat == "sd":
                x = float(v.std(ddof=1)) if len(v) > 1 else math.nan
            else:
                x = float(np.quantile(v, QUANTILES[stat])) if len(v) else math.nan
            out[f"{stat}_{lo:g}_{hi:g}"] = x
    return out


def series_summaries(
    ages_years: np.ndarray,
    values: np.ndarray,
    names: list[str],
    bins: list[float],
    statistics: list[str],
) -> dict[str, float]:
    """``cohort_summaries`` of each observable (a column of ``values``, people without a
    value left out); with several, each key is prefixed ``<name>:``.

    Args:
        ages_years: each person's age (years).
        values: people x observables.
        names: the observables' names.
        bins: the age bins' edges (years).
        statistics: as in ``cohort_summaries``.
    """
    ages_years = np.asarray(ages_years, dtype=float)
    values = np.asarray(values, dtype=float).reshape(len(ages_years), -1)
    out: dict[str, float] = {}
    for j, name in enumerate(names):
        keep = np.isfinite(values[:, j])
        stats = cohort_summaries(ages_years[keep], values[keep, j], bins, statistics)
        prefix = f"{name}:" if len(names) > 1 else ""
        out.update({f"{prefix}{k}": v for k, v in stats.items()})
    return out


def bootstrap_quantile_ci(
    values: np.ndarray, q: float, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the ``q`` quantile of ``values``
    (``n_boot`` resamples with replacement, a fixed seed).

    Args:
        values: the sample.
        q: the quantile (0-1).
        n_boot: bootstrap resamples.
        level: the interval's level.
        seed: the resampling's seed.

    Returns:
        ``(low, high)``.
    """
    v = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    boots = np.quantile(v[rng.integers(len(v), size=(n_boot, len(v)))], q, axis=1)
    lo, hi = np.quantile(boots, [(1 - level) / 2, 1 - (1 - level) / 2])
    return float(lo), float(hi)


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, qs: list[float]) -> np.ndarray:
    """Quantiles of a weighted sample (the inverse of its weighted CDF, midpoint rule).

    Args:
        values: the sample.
        weights: each value's weight (>= 0).
        qs: the quantiles (0-1).

    Returns:
        One value per quantile.

    Example:
        >>> from analysis.calibration import weighted_quantiles
        >>> weighted_quantiles([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [0.5]).tolist()
        [2.0]
    """
    order = np.argsort(values)
    v = np.asarray(values, dtype=float)[order]
    w = np.asarray(weights, dtype=float)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(qs, cdf, v)


def posterior_summary(
    posterior: pd.DataFrame, names: list[str], level: float = 0.9
) -> pd.DataFrame:
    """Per parameter: weighted mean, median and the central ``level`` credible interval.

    Args:
        posterior: the particles (one column per parameter) and their ``weight``.
        names: the parameters summarised.
        level: the credible intervals' level.

    Returns:
        One row per parameter: median and credible interval.
    """
    w = posterior["weight"].to_numpy(dtype=float)
    lo_q, hi_q = (1 - level) / 2, 1 - (1 - level) / 2
    rows = []
    for name in names:
        x = posterior[name].to_numpy(dtype=float)
        lo, med, hi = weighted_quantiles(x, w, [lo_q, 0.5, hi_q])
        rows.append(
            {
                "parameter": name,
                "mean": float(np.average(x, weights=w)),
                "median": float(med),
                f"ci{level * 100:g}_low": float(lo),
                f"ci{level * 100:g}_high": float(hi),
            }
        )
    return pd.DataFrame(rows)


def predictive_bands(
    ages_years: np.ndarray,
    simulated: list[np.ndarray],
    bins: list[float],
    observed: np.ndarray,
    names: list[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> pd.DataFrame:
    """Per observable and age bin: the 10th, 50th and 90th percentiles of the simulated
    people (pooled over the posterior draws, each an array over ``ages_years``, people x
    observables) and of the data, the data's bootstrap interval of each at ``level``
    (``data_p10_low`` ... ``data_p90_high``) and ``within_ci``: every simulated percentile
    inside the data's interval.

    Args:
        ages_years: the simulated people's ages (years).
        simulated: per posterior draw, the simulated values (people x observables).
        bins: the age bins' edges (years).
        observed: the data (people x observables, at ``ages_years``).
        names: the observables' names (None: one, unnamed).
        n_boot: bootstrap resamples of the data's intervals.
        seed: the bootstrap's seed.
        level: the intervals' level.
    """
    ages_years = np.asarray(ages_years, dtype=float)
    n = len(ages_years)
    obs = np.asarray(observed, dtype=float).reshape(n, -1)
    sim = np.stack([np.asarray(s, dtype=float).reshape(n, -1) for s in simulated])
    names = names or [f"observable_{j}" for j in range(obs.shape[1])]
    rows = []
    for j, name in enumerate(names):
        for lo, hi in itertools.pairwise(bins):
            m = (ages_years >= lo) & (ages_years < hi) & np.isfinite(obs[:, j])
            if not m.any():
                continue
            s = sim[:, m, j].ravel()
            o = obs[m, j]
            row: dict[str, Any] = {
                "observable": name,
                "age_low_years": lo,
                "age_high_years": hi,
                "age_mid_years": float(ages_years[m].mean()),
                "n_people": int(m.sum()),
            }
            within = True
            for q in (0.1, 0.5, 0.9):
                k = f"p{int(q * 100)}"
                row[f"sim_{k}"] = float(np.quantile(s, q))
                row[f"data_{k}"] = float(np.quantile(o, q))
                lo_ci, hi_ci = bootstrap_quantile_ci(o, q, n_boot, level, seed)
                row[f"data_{k}_low"], row[f"data_{k}_high"] = lo_ci, hi_ci
                within &= lo_ci <= row[f"sim_{k}"] <= hi_ci
            row["within_ci"] = bool(within)
            rows.append(row)
    return pd.DataFrame(rows)


def person_at_ages(
    trajectories: pd.DataFrame, tissues: list[str], ages_years: np.ndarray
) -> np.ndarray:
    """One simulated person's mean telomere (bp) of each of ``tissues`` at ``ages_years``
    (ages x tissues), interpolated linearly between the person's records: a followed
    person as ``predictive_bands`` takes a cohort's values.

    Args:
        trajectories: the person's records (``tissue``, ``age_years``, ``telomere_mean_bp``).
        tissues: the tissues, in the order of the columns returned.
        ages_years: the ages wanted (years; held at the first or last record outside them).

    Example:
        >>> t = pd.DataFrame({"tissue": ["a", "a"], "age_years": [0.0, 10.0],
        ...                   "telomere_mean_bp": [10000.0, 9000.0]})
        >>> person_at_ages(t, ["a"], np.array([5.0])).tolist()
        [[9500.0]]
    """
    columns = []
    for tissue in tissues:
        d = trajectories[trajectories["tissue"] == tissue].sort_values("age_years")
        columns.append(np.interp(ages_years, d["age_years"], d["telomere_mean_bp"]))
    return np.column_stack(columns)


def percentile_misses(bands: pd.DataFrame, level: float = 0.95) -> tuple[int, int, float]:
    """How many simulated percentiles of ``predictive_bands`` fall outside the data's
    intervals, and how surprising that many would be for a model equal to the truth.

    Each of the ``n`` percentiles (3 per age bin and observable) misses its ``level``
    interval with probability ``1 - level`` even when the model is right, so "every
    percentile within" is a strict test (72 percentiles at 95%: a right model passes it
    with probability 0.95^72 = 2.5%). Treating the intervals as independent, the number of
    misses of a right model is Binomial(n, 1 - level).

    Args:
        bands: the table of ``predictive_bands`` (``sim_p10`` ... ``data_p90_high``).
        level: the level of the data's intervals in ``bands``.

    Returns:
        ``(misses, n, p)``: the percentiles outside their interval, the percentiles
        compared, and P(at least ``misses`` misses) under Binomial(n, 1 - level).

    Example:
        >>> b = pd.DataFrame({"sim_p10": [1.0], "data_p10_low": [0.0], "data_p10_high": [2.0],
        ...                   "sim_p50": [5.0], "data_p50_low": [2.0], "data_p50_high": [4.0],
        ...                   "sim_p90": [6.0], "data_p90_low": [5.0], "data_p90_high": [7.0]})
        >>> misses, n, p = percentile_misses(b)
        >>> misses, n, round(p, 4)
        (1, 3, 0.1426)
    """
    from scipy.stats import binom

    misses, n = 0, 0
    for k in ("p10", "p50", "p90"):
        sim = bands[f"sim_{k}"].to_numpy(dtype=float)
        low = bands[f"data_{k}_low"].to_numpy(dtype=float)
        high = bands[f"data_{k}_high"].to_numpy(dtype=float)
        misses += int(((sim < low) | (sim > high)).sum())
        n += len(sim)
    return misses, n, float(binom.sf(misses - 1, n, 1.0 - level))


# --------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------


def _resample(posterior: pd.DataFrame, names: list[str], n: int, seed: int) -> pd.DataFrame:
    """``n`` draws from the weighted particles (for plots that take plain samples)."""
    rng = np.random.default_rng(seed)
    w = posterior["weight"].to_numpy(dtype=float)
    idx = rng.choice(len(posterior), size=n, p=w / w.sum())
    return posterior.iloc[idx][names].reset_index(drop=True)


def plot_pairs(posterior: pd.DataFrame, names: list[str], path: str | Path, seed: int = 0) -> Path:
    """Marginals (diagonal, kernel density) and pairs (scatter) of the posterior.

    Args:
        posterior: the particles and their ``weight``.
        names: the parameters shown.
        path: the PNG file to write.
        seed: the seed of the weighted resampling drawn.

    Returns:
        The path written.
    """
    import seaborn as sns

    from analysis.plots import _save

    draws = _resample(posterior, names, 2000, seed)
    grid = sns.PairGrid(draws, corner=True, height=2.3)
    grid.map_diag(sns.histplot, kde=True, color="#08519c", stat="density")
    grid.map_lower(sns.scatterplot, s=6, alpha=0.4, color="#08519c", linewidth=0)
    grid.figure.suptitle("Posterior: marginals and pairs (weighted particles, resampled)")
    grid.figure.tight_layout()
    return _save(grid.figure, path)


def plot_predictive_check(
    ages_years: np.ndarray,
    observed: np.ndarray,
    bands: pd.DataFrame,
    path: str | Path,
    *,
    ylabel: str,
    title: str,
) -> Path:
    """Per observable (one panel each, in the order of ``observed``'s columns and of
    ``bands``): the data (points) over the posterior-predictive median and 10th-90th
    percentile band of simulated people, and the data's own percentiles per age bin with
    their 95% bootstrap intervals.

    Args:
        ages_years: the people's ages (years).
        observed: the data (one column per observable).
        bands: a ``predictive_bands`` table.
        path: the PNG file to write.
        ylabel: the y axis' label.
        title: the figure's title.

    Returns:
        The path written.
    """
    from matplotlib.figure import Figure

    from analysis.plots import _save

    ages_years = np.asarray(ages_years, dtype=float)
    obs = np.asarray(observed, dtype=float).reshape(len(ages_years), -1)
    names = list(dict.fromkeys(bands["observable"]))
    fig = Figure(figsize=(1.0 + 6.5 * len(names), 4.8))
    axes = np.atleast_1d(fig.subplots(1, len(names), sharey=True))
    for j, (ax, name) in enumerate(zip(axes, names, strict=True)):
        b = bands[bands["observable"] == name]
        ax.scatter(ages_years, obs[:, j], s=6, color="0.6", alpha=0.6, label="data (one person)")
        x = b["age_mid_years"]
        ax.fill_between(
            x, b["sim_p10"], b["sim_p90"], color="#6baed6", alpha=0.4, label="simulated 10-90%"
        )
        ax.plot(x, b["sim_p50"], color="#08519c", lw=2, label="simulated median")
        for k, marker, ms, label in (
            ("p50", "o", 5, "data median (95% CI)"),
            ("p10", "v", 4, "data 10th / 90th (95% CI)"),
            ("p90", "^", 4, None),
        ):
            err = [b[f"data_{k}"] - b[f"data_{k}_low"], b[f"data_{k}_high"] - b[f"data_{k}"]]
            ax.errorbar(
                x, b[f"data_{k}"], yerr=err, fmt=marker, color="black", ms=ms, lw=0.8,
                capsize=2, label=label,
            )  # fmt: skip
        ax.set_xlabel("age (years)")
        ax.set_title(name if len(names) > 1 else title, fontsize=10)
        ax.legend(frameon=False, fontsize=7)
    axes[0].set_ylabel(ylabel)
    if len(names) > 1:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, path)


def plot_epsilon(populations: pd.DataFrame, path: str | Path) -> Path:
    """Epsilon and acceptance rate per generation.

    Args:
        populations: pyabc's generations (epsilon, simulations, acceptance rate).
        path: the PNG file to write.

    Returns:
        The path written.
    """
    from matplotlib.figure import Figure

    from analysis.plots import _save

    fig = Figure(figsize=(7.0, 3.2))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.semilogy(populations["t"], populations["epsilon"], "o-")
    ax1.set_xlabel("generation")
    ax1.set_ylabel("epsilon")
    ax2.plot(populations["t"], populations["acceptance_rate"], "o-")
    ax2.set_xlabel("generation")
    ax2.set_ylabel("acceptance rate")
    fig.tight_layout()
    return _save(fig, path)


# --------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------


def format_calibration_report(
    title: str,
    settings: dict[str, Any],
    priors: dict[str, str],
    summary: pd.DataFrame,
    populations: pd.DataFrame | None,
    bands: pd.DataFrame,
    figures: list[str],
    notes: list[str],
    header: str | None = None,
) -> str:
    """The calibration's report (Markdown).

    Args:
        title: the report's title.
        settings: the calibration's settings (ABC: population_size, simulator, distance,
            n_people, data_file), shown in the first paragraph.
        priors: parameter -> its prior, as text.
        summary: a ``posterior_summary``.
        populations: the ABC generations' table (None: another method, no such section).
        bands: a ``predictive_bands`` table.
        figures: the figures' file names, relative to the report.
        notes: Markdown lines appended.
        header: the first paragraph (None: ABC's, from ``settings`` and ``populations``).

    Returns:
        The Markdown text.
    """
    lines = [f"# Calibration: {title}", ""]
    if header is None:
        assert populations is not None
        header = (
            f"ABC-SMC (pyabc), {settings['population_size']} particles per generation, "
            f"{len(populations)} generation(s), {int(populations['samples'].sum())} "
            f"simulations; simulator: {settings['simulator']}; distance: "
            f"{settings['distance']}; data: {settings['n_people']} people from "
            f"{settings['data_file']}."
        )
    lines.append(header)
    lines += ["", "| parameter | prior | posterior median | 90% credible interval |"]
    lines += ["|---|---|---:|---|"]
    for _, r in summary.iterrows():
        lines.append(
            f"| `{r['parameter']}` | {priors[r['parameter']]} | {r['median']:.4g} | "
            f"[{r['ci90_low']:.4g}, {r['ci90_high']:.4g}] |"
        )
    if populations is not None:
        lines += ["", "## Generations", "", "| t | epsilon | simulations | acceptance rate |"]
        lines += ["|---:|---:|---:|---:|"]
        for _, r in populations.iterrows():
            lines.append(
                f"| {int(r['t'])} | {r['epsilon']:.4g} | {int(r['samples'])} | "
                f"{r['acceptance_rate']:.3f} |"
            )
    lines += ["", "## Posterior-predictive check", ""]
    lines += [
        "Simulated percentiles within the data's 95% bootstrap intervals in "
        f"{int(bands['within_ci'].sum())} of {len(bands)} (observable, age bin) cells.",
        "",
        "| observable | ages | people | data p10 / p50 / p90 | simulated p10 / p50 / p90 "
        "| within CI |",
        "|---|---|---:|---|---|---|",
    ]
    for _, r in bands.iterrows():
        lines.append(
            f"| {r['observable']} | {r['age_low_years']:g}-{r['age_high_years']:g} | "
            f"{int(r['n_people'])} | "
            f"{r['data_p10']:.0f} / {r['data_p50']:.0f} / {r['data_p90']:.0f} | "
            f"{r['sim_p10']:.0f} / {r['sim_p50']:.0f} / {r['sim_p90']:.0f} | "
            f"{'yes' if r['within_ci'] else 'no'} |"
        )
    lines += ["", *notes] if notes else []
    for fig in figures:
        lines += ["", f"![{fig}]({fig})"]
    return "\n".join(lines) + "\n"
