"""The figures of `cellsim validate-biology`: pure functions over its tables.

Each function takes plain data (tables, numbers, the published values it draws and their
citation) and the PNG path, draws one figure with seaborn's whitegrid theme on an explicit
Agg canvas (no pyplot state; the caller's matplotlib settings are restored afterwards) and
returns the path written, as a string. Nothing here knows the published values: the caller
passes them.

Tables (columns used):

- ``growth``: one row per record of each culture strain: ``strain``, ``initial_mean_bp``
  (the strain's initial mean telomere, bp), ``day`` (days in culture), ``pd_cumulative``
  (population doublings, PD), ``nondividing_fraction`` (0-1);
- ``strains``: one row per strain: ``initial_mean_bp``, ``pd_at_senescence`` (PD),
  ``early_telomere_bp`` and ``final_telomere_bp`` (mean telomere at the first passage and at
  senescence, bp);
- ``sensitivity_strains``: ``loss_bp_per_division``, ``initial_mean_bp``,
  ``pd_at_senescence``;
- ``turnover``: one row per whole-body preset: ``preset``, ``group`` (blood, gut, ...),
  ``lifespan_days``, ``turnover_per_day_computed`` (cells replaced per day in the body),
  ``ratio`` (simulated deaths per cell per day x lifespan), ``ratio_se``, ``ratio_dt1``
  (the same at a step of 1 day);
- ``trajectories``: records of the blood run: ``tissue`` ("hsc" or "blood"),
  ``age_years``, ``telomere_mean_bp``, ``divisions_cumulative`` (summed over the tissue's
  cells);
- ``convergence``: one row per step size and age window of the Karin tissue: ``dt_days``,
  ``age_years`` (the window's end), ``ode`` and ``sim_mean`` (mean senescent fraction
  over the window, 0-1), ``rel_error`` and ``rel_se`` (simulated / equation - 1 and its
  standard error), ``compared`` (bool);
- ``body_turnover``: one row per quantity of the whole body's daily turnover (``total``,
  then the groups ``blood``, ``gut``, ``skin``): ``quantity``, ``simulated`` +-
  ``simulated_se`` (mean over people and its standard error) and ``published`` +-
  ``published_se`` (cells per day for ``total``, fractions 0-1 for the shares);
- ``burden``: the body's senescent burden per recorded age: ``age_years``,
  ``burden_median_pct``, ``burden_p10_pct``, ``burden_p90_pct`` (% of the body's cells,
  over people), ``clearance_relative_median`` (clearance per senescent cell over an empty
  body's, ``1 / (1 + S / K)``); ``burden_at``: the same columns at the checked ages;
- ``curves``: per insult age and day after the insult: ``age_years``, ``days_after``,
  ``sim_excess`` +- ``sim_se`` and ``ode_excess`` (excess senescent fraction, 0-1);
  ``fine``: ``age_years``, ``days_after``, ``excess`` (the equation on a fine grid);
  ``half_lives``: per age, ``age_years``, ``sim``, ``sim_se``, ``ode`` (days).
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from analysis.culture_growth import day_at_pd
from analysis.exhaustion import DAYS_PER_YEAR

__all__ = [
    "plot_blood",
    "plot_blood_share",
    "plot_body_burden",
    "plot_body_turnover",
    "plot_growth_curves",
    "plot_hsc_divisions",
    "plot_karin_convergence",
    "plot_karin_insult",
    "plot_leukocytes",
    "plot_nondividing",
    "plot_pd_per_kb",
    "plot_phase3",
    "plot_spread",
    "plot_turnover",
    "plot_turnover_ratio",
]

_DPI = 110
_INK = (0.1, 0.1, 0.1)
"""Reference lines: seaborn's near-black."""
_GROUP_COLORS = {
    "blood": "#9b2226",
    "gut": "#ee9b00",
    "skin": "#0a9396",
    "lung": "#94d2bd",
    "liver": "#005f73",
    "vessel": "#ae2012",
}
_GROUP_ORDER = ["blood", "gut", "skin", "lung", "liver", "vessel", "other"]


def _themed[**P](plot: Callable[P, str]) -> Callable[P, str]:
    """Draw ``plot`` under seaborn's whitegrid/notebook theme; restore the settings after."""

    @functools.wraps(plot)
    def themed(*args: P.args, **kwargs: P.kwargs) -> str:
        with mpl.rc_context():
            sns.set_theme(style="whitegrid", context="notebook", color_codes=False)
            return plot(*args, **kwargs)

    return themed


def _figure(w: float = 6.4, h: float = 4.2) -> Figure:
    """A figure of ``w`` x ``h`` inches, not registered with pyplot."""
    return Figure(figsize=(w, h), layout="constrained")


def _save(fig: Figure, path: Path) -> str:
    """Render ``fig`` with Agg to ``path`` (PNG); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(fig)
    fig.savefig(path, format="png", dpi=_DPI)
    return str(path)


def _strain_palette(values: Iterable[float]) -> dict[float, Any]:
    """A viridis colour per distinct initial mean telomere (bp), shortest first."""
    vals = sorted(set(values))
    colors = sns.color_palette("viridis", len(vals))
    return dict(zip(vals, colors, strict=True))


def _save_strain_figure(
    fig: Any, ax: Any, palette: Mapping[float, Any], path: Path, legend_loc: str, **labels: Any
) -> str:
    """Finish a per-strain figure: axis settings (``labels``, as ``ax.set`` keywords), a
    legend with one entry per initial mean telomere, then save it to ``path``."""
    for mean, color in palette.items():
        ax.plot([], [], color=color, label=f"start {mean / 1000:.1f} kb")
    ax.set(**labels)
    ax.legend(fontsize=7, loc=legend_loc, ncol=2)
    return _save(fig, path)


@_themed
def plot_growth_curves(
    growth: pd.DataFrame, hayflick_pd: tuple[float, float], hayflick_label: str, path: Path
) -> str:
    """Cumulative PD over days per strain, with the published Hayflick range (PD) as a band."""
    fig = _figure()
    ax = fig.add_subplot()
    pal = _strain_palette(growth["initial_mean_bp"])
    ax.axhspan(*hayflick_pd, color="0.85", zorder=0, label=hayflick_label)
    for (_strain, mean), g in growth.groupby(["strain", "initial_mean_bp"], sort=False):
        ax.plot(g["day"], g["pd_cumulative"], color=pal[mean], lw=1.1)
    return _save_strain_figure(
        fig,
        ax,
        pal,
        path,
        "lower right",
        xlabel="days in culture",
        ylabel="cumulative population doublings",
        title="Growth curves of fibroblast strains to replicative senescence",
    )


@_themed
def plot_pd_per_kb(
    strains: pd.DataFrame,
    sensitivity_strains: pd.DataFrame,
    slope_pd_per_kb: float,
    loss_bp_per_division: float,
    published_pd_per_kb: tuple[float, float],
    published_label: str,
    hayflick_pd: tuple[float, float],
    hayflick_label: str,
    path: Path,
) -> str:
    """PD at senescence against initial telomere: the checked strains with their fitted slope
    and the published PD/kb range as a wedge through their mean (left); every loss per
    division of the sensitivity runs, with the published Hayflick range (right)."""
    fig = _figure(10.0, 4.2)
    ax, ax2 = fig.subplots(1, 2)
    s = strains
    x = s["initial_mean_bp"] / 1000
    xm, ym = float(x.mean()), float(s["pd_at_senescence"].mean())
    xs = np.linspace(x.min() - 0.2, x.max() + 0.2, 20)
    low, high = published_pd_per_kb
    ax.fill_between(
        xs,
        ym + low * (xs - xm),
        ym + high * (xs - xm),
        color="0.85",
        label=f"{published_label}, through the mean",
    )
    ax.scatter(x, s["pd_at_senescence"], color="C0", zorder=3, label="strains")
    ax.plot(
        xs, ym + slope_pd_per_kb * (xs - xm), color="C0", label=f"fit: {slope_pd_per_kb:.1f} PD/kb"
    )
    ax.set(
        xlabel="initial mean telomere (kb)",
        ylabel="PD at senescence",
        title=f"Checked strains ({loss_bp_per_division:g} bp per division)",
    )
    ax.legend(fontsize=7, loc="upper left")
    ss = sensitivity_strains
    for i, (loss, g) in enumerate(ss.groupby("loss_bp_per_division")):
        gx = g["initial_mean_bp"] / 1000
        color = f"C{i}"
        ax2.scatter(gx, g["pd_at_senescence"], color=color, s=14)
        if gx.nunique() > 1:
            b, a0 = np.polyfit(gx, g["pd_at_senescence"], 1)
            ax2.plot(xs, a0 + b * xs, color=color, label=f"{loss:g} bp/division: {b:.1f} PD/kb")
    ax2.axhspan(*hayflick_pd, color="0.9", zorder=0, label=hayflick_label)
    ax2.set(
        xlabel="initial mean telomere (kb)",
        ylabel="PD at senescence",
        title="Sensitivity to the loss per division",
    )
    ax2.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


@_themed
def plot_phase3(growth: pd.DataFrame, path: Path) -> str:
    """Days per PD (over 5-PD windows) along the culture: flat in phase II, rising in III."""
    fig = _figure()
    ax = fig.add_subplot()
    pal = _strain_palette(growth["initial_mean_bp"])
    for (_strain, mean), g in growth.groupby(["strain", "initial_mean_bp"], sort=False):
        pd_end = float(g["pd_cumulative"].max())
        grid = np.arange(5.0, pd_end + 1e-9, 0.5)
        if grid.size == 0:
            continue
        grid[-1] = min(grid[-1], pd_end)
        days = np.array([day_at_pd(g, v) for v in grid])
        before = np.array([day_at_pd(g, v - 5.0) for v in grid])
        ax.plot(grid - pd_end, (days - before) / 5.0, color=pal[mean], lw=0.9, alpha=0.8)
    ax.axvspan(-10, 0, color="0.9", zorder=0, label="last 10 PD")
    return _save_strain_figure(
        fig,
        ax,
        pal,
        path,
        "upper left",
        xlabel="PD before senescence",
        ylabel="days per population doubling (5-PD window)",
        title="Phase III: doublings slow down before they stop",
    )


@_themed
def plot_nondividing(growth: pd.DataFrame, path: Path) -> str:
    """Non-dividing fraction against PD per strain."""
    fig = _figure()
    ax = fig.add_subplot()
    pal = _strain_palette(growth["initial_mean_bp"])
    for (_strain, mean), g in growth.groupby(["strain", "initial_mean_bp"], sort=False):
        ax.plot(g["pd_cumulative"], g["nondividing_fraction"], color=pal[mean], lw=1.0)
    return _save_strain_figure(
        fig,
        ax,
        pal,
        path,
        "upper left",
        xlabel="cumulative population doublings",
        ylabel="non-dividing (senescent) fraction",
        ylim=(-0.02, 1.02),
        title="The non-dividing fraction rises gradually",
    )


@_themed
def plot_spread(strains: pd.DataFrame, path: Path) -> str:
    """Mean telomere per strain (bp) at the first passage and at senescence."""
    fig = _figure()
    ax = fig.add_subplot()
    s = strains
    pal = _strain_palette(s["initial_mean_bp"])
    for row in s.itertuples():
        ax.plot(
            [0, 1],
            [row.early_telomere_bp, row.final_telomere_bp],
            color=pal[row.initial_mean_bp],
            marker="o",
            lw=0.8,
        )
    sd0, sd1 = s["early_telomere_bp"].std(ddof=1), s["final_telomere_bp"].std(ddof=1)
    ax.set_xticks([0, 1], [f"first passage\nSD {sd0:.0f} bp", f"senescence\nSD {sd1:.0f} bp"])
    ax.set_xlim(-0.3, 1.3)
    ax.set_ylabel("mean telomere of the strain (bp)")
    ax.set_title("Strains converge on a critical length at senescence")
    return _save(fig, path)


@_themed
def plot_turnover(
    turnover: pd.DataFrame, total_per_day: float, published_per_day: float, path: Path
) -> str:
    """Cells replaced per day per preset (log scale), coloured by group; the title gives the
    presets' total and the published total (cells per day)."""
    fig = _figure(7.0, 4.6)
    ax = fig.add_subplot()
    t = turnover.sort_values("turnover_per_day_computed", ascending=True)
    colors = [_GROUP_COLORS.get(g, "0.5") for g in t["group"]]
    ax.barh(t["preset"], t["turnover_per_day_computed"], color=colors)
    ax.set_xscale("log")
    ax.set(
        xlabel="cells replaced per day in the whole body",
        title=(
            f"Whole-body turnover from the presets: {total_per_day:.2g}/day\n"
            f"(published {published_per_day:.2g})"
        ),
    )
    groups = set(t["group"])
    handles = [Patch(color=c, label=g) for g, c in _GROUP_COLORS.items() if g in groups]
    ax.legend(handles=handles, fontsize=8, loc="lower right")
    return _save(fig, path)


def _stacked_share(ax: Any, y: int, shares: Mapping[str, float]) -> None:
    """One horizontal bar of shares (0-1) by group, labelled where wide enough."""
    left = 0.0
    for g in _GROUP_ORDER:
        v = shares.get(g, 0.0)
        if v <= 0:
            continue
        ax.barh(y, v, left=left, color=_GROUP_COLORS.get(g, "0.6"), edgecolor="white")
        if v > 0.04:
            ax.text(
                left + v / 2,
                y,
                f"{g}\n{100 * v:.0f}%",
                ha="center",
                va="center",
                fontsize=8,
                color="white",
            )
        left += v


@_themed
def plot_blood_share(
    turnover: pd.DataFrame,
    total_per_day: float,
    published_shares: Mapping[str, float],
    published_source: str,
    path: Path,
) -> str:
    """Share of the turnover by group: the presets' (their turnover over ``total_per_day``)
    against the published breakdown (shares 0-1 by group; the rest is drawn as "other")."""
    fig = _figure(6.4, 3.4)
    ax = fig.add_subplot()
    shares = turnover.groupby("group")["turnover_per_day_computed"].sum() / total_per_day
    published = {**published_shares, "other": 1 - sum(published_shares.values())}
    for y, sh in enumerate((shares.to_dict(), published)):
        _stacked_share(ax, y, sh)
    ax.set_yticks([0, 1], ["presets", published_source])
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of cells replaced per day")
    ax.set_title("Blood cells' share of the whole-body turnover")
    return _save(fig, path)


@_themed
def plot_turnover_ratio(turnover: pd.DataFrame, tolerance: float, path: Path) -> str:
    """Simulated deaths per cell per day x lifespan, per preset (1 = exact), with the
    accepted relative ``tolerance`` (e.g. 0.05) as a band."""
    fig = _figure(6.8, 4.4)
    ax = fig.add_subplot()
    t = turnover.sort_values("lifespan_days")
    y = np.arange(len(t))
    ax.axvspan(
        1 - tolerance, 1 + tolerance, color="0.88", zorder=0, label=f"within {100 * tolerance:g}%"
    )
    ax.errorbar(
        t["ratio"],
        y,
        xerr=2 * t["ratio_se"],
        fmt="o",
        color="C0",
        label="short step (lifespan/steps)",
    )
    ax.scatter(t["ratio_dt1"], y, facecolors="none", edgecolors="C3", label="dt = 1 day")
    ax.set_yticks(
        y, [f"{p} ({life:g} d)" for p, life in zip(t["preset"], t["lifespan_days"], strict=True)]
    )
    ax.axvline(1.0, color=_INK, lw=0.8)
    ax.set_xlabel("simulated deaths per cell per day x lifespan")
    ax.set_title("Each preset's sample turns over at 1 / lifespan")
    ax.legend(fontsize=8, loc="lower left")
    return _save(fig, path)


def _fit_span(records: pd.DataFrame, from_age_years: float) -> tuple[float, float, float] | None:
    """Age (years) and mean telomere (bp) of the first record at or after
    ``from_age_years``, and the last record's age; None if there is none."""
    f = records[records["age_years"] >= from_age_years]
    if not len(f):
        return None
    return (
        float(f["age_years"].iloc[0]),
        float(f["telomere_mean_bp"].iloc[0]),
        float(f["age_years"].iloc[-1]),
    )


@_themed
def plot_blood(
    trajectories: pd.DataFrame,
    slopes_bp_per_year: Mapping[str, float],
    fit_from_age_years: float,
    published_bp_per_year: float,
    published_source: str,
    path: Path,
) -> str:
    """Mean telomere of HSCs and leukocytes against age with their fitted slopes (bp/year),
    and the published HSC attrition drawn from the first HSC record at or after
    ``fit_from_age_years``."""
    fig = _figure()
    ax = fig.add_subplot()
    tr = trajectories
    for name, color in (("hsc", "C0"), ("blood", "C3")):
        d = tr[tr["tissue"] == name]
        ax.plot(
            d["age_years"],
            d["telomere_mean_bp"],
            "o",
            ms=3,
            color=color,
            label=f"{name}: {slopes_bp_per_year[name]:.1f} bp/year",
        )
    fit = _fit_span(tr[tr["tissue"] == "hsc"], fit_from_age_years)
    if fit:
        a0, t0, a1 = fit
        ages = np.array([a0, a1])
        ax.plot(
            ages,
            t0 - published_bp_per_year * (ages - a0),
            "--",
            color=_INK,
            lw=0.8,
            label=f"{published_bp_per_year:g} bp/year ({published_source})",
        )
    ax.set(xlabel="age (years)", ylabel="mean telomere (bp)", title="HSC telomere attrition")
    ax.legend(fontsize=8)
    return _save(fig, path)


@_themed
def plot_hsc_divisions(
    trajectories: pd.DataFrame,
    hsc_cells: int,
    start_age_years: float,
    published_interval_weeks: float,
    published_source: str,
    path: Path,
) -> str:
    """Cumulative divisions per HSC against age, with one division per published interval
    (weeks) since ``start_age_years``."""
    fig = _figure()
    ax = fig.add_subplot()
    d = trajectories[trajectories["tissue"] == "hsc"]
    per_cell = d["divisions_cumulative"] / hsc_cells
    ax.plot(d["age_years"], per_cell, "o-", ms=3, label="simulated")
    a = d["age_years"] - start_age_years
    ax.plot(
        d["age_years"],
        a * DAYS_PER_YEAR / (7 * published_interval_weeks),
        "--",
        color=_INK,
        lw=0.8,
        label=f"one per {published_interval_weeks:g} weeks ({published_source})",
    )
    ax.set(
        xlabel="age (years)", ylabel="divisions per HSC since the start", title="HSC division rate"
    )
    ax.legend(fontsize=8)
    return _save(fig, path)


@_themed
def plot_leukocytes(
    trajectories: pd.DataFrame,
    slopes_bp_per_year: Mapping[str, float],
    fit_from_age_years: float,
    published_bp_per_year: tuple[float, float],
    published_label: str,
    path: Path,
) -> str:
    """Leukocyte mean telomere against age with the published attrition range (bp/year)
    as a band from the first record at or after ``fit_from_age_years``."""
    fig = _figure()
    ax = fig.add_subplot()
    d = trajectories[trajectories["tissue"] == "blood"]
    ax.plot(
        d["age_years"],
        d["telomere_mean_bp"],
        "o",
        ms=3,
        color="C3",
        label=f"leukocytes: {slopes_bp_per_year['blood']:.1f} bp/year",
    )
    fit = _fit_span(d, fit_from_age_years)
    if fit:
        a0, t0, a1 = fit
        ages = np.linspace(a0, a1, 10)
        low, high = published_bp_per_year
        ax.fill_between(
            ages,
            t0 - low * (ages - a0),
            t0 - high * (ages - a0),
            color="0.85",
            label=published_label,
        )
    ax.set(
        xlabel="age (years)",
        ylabel="mean leukocyte telomere (bp)",
        title="Adult leukocyte telomere attrition",
    )
    ax.legend(fontsize=8)
    return _save(fig, path)


@_themed
def plot_karin_convergence(
    convergence: pd.DataFrame, tolerance: float, min_fraction: float, label: str, path: Path
) -> str:
    """The senescent fraction against age, simulated at each step size and from the
    equation (``label``: its legend entry) (left); the relative error per step size with
    +-2 SE bars and the accepted relative ``tolerance`` as a band, over the ages compared
    (fraction above ``min_fraction``) (right)."""
    fig = _figure(11.0, 4.4)
    ax, ax2 = fig.subplots(1, 2)
    steps = sorted(convergence["dt_days"].unique(), reverse=True)
    colors = dict(zip(steps, sns.color_palette("rocket", len(steps)), strict=True))
    first = convergence[convergence["dt_days"] == steps[0]]
    ax.plot(first["age_years"], first["ode"], color=_INK, lw=1.2, label=label, zorder=3)
    for dt in steps:
        g = convergence[convergence["dt_days"] == dt]
        ax.plot(g["age_years"], g["sim_mean"], "o", ms=2.5, color=colors[dt], label=f"dt {dt:g} d")
        c = g[g["compared"]]
        ax2.errorbar(
            c["age_years"],
            100 * c["rel_error"],
            yerr=200 * c["rel_se"],
            fmt="o-",
            ms=2.5,
            lw=0.8,
            color=colors[dt],
            label=f"dt {dt:g} d",
        )
    ax.set(
        xlabel="age (years)",
        ylabel="senescent fraction (yearly mean)",
        title="Senescent fraction: simulated and continuous time",
    )
    ax.legend(fontsize=8, loc="upper left")
    ax2.axhspan(-100 * tolerance, 100 * tolerance, color="0.88", zorder=0)
    ax2.axhline(0.0, color=_INK, lw=0.8)
    ax2.set(
        xlabel="age (years)",
        ylabel="simulated / equation - 1 (%)",
        title=f"Relative error (band: +-{100 * tolerance:g}%; fraction > {min_fraction:g})",
    )
    ax2.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


@_themed
def plot_karin_insult(
    curves: pd.DataFrame, fine: pd.DataFrame, half_lives: pd.DataFrame, level: float, path: Path
) -> str:
    """The excess senescent fraction after an insult at each age: simulated means (+-2 SE)
    and the equation (left); the same over its value right after the insult, log scale,
    with the ``level`` (e.g. one half) and each half-life marked, over four equation
    half-lives (right)."""
    fig = _figure(11.0, 4.4)
    ax, ax2 = fig.subplots(1, 2)
    ages = list(half_lives["age_years"])
    colors = dict(zip(ages, ("C0", "C3", "C2", "C1"), strict=False))
    for h in half_lives.itertuples():
        c = curves[curves["age_years"] == h.age_years]
        f = fine[fine["age_years"] == h.age_years]
        col = colors.get(h.age_years, "0.4")
        e0_sim, e0_ode = float(c["sim_excess"].iloc[0]), float(f["excess"].iloc[0])
        ax.errorbar(
            c["days_after"],
            c["sim_excess"],
            yerr=2 * c["sim_se"],
            fmt="o",
            ms=3,
            color=col,
            label=f"age {h.age_years:g}: simulated",
        )
        ax.plot(
            f["days_after"], f["excess"], color=col, lw=1.0, label=f"age {h.age_years:g}: equation"
        )
        ax2.plot(c["days_after"], c["sim_excess"] / e0_sim, "o", ms=3, color=col)
        ax2.plot(f["days_after"], f["excess"] / e0_ode, color=col, lw=1.0)
        ax2.axvline(
            h.sim,
            color=col,
            ls=":",
            lw=1.0,
            label=f"age {h.age_years:g}: {h.sim:.2f} +- {h.sim_se:.2f} d (equation {h.ode:.2f})",
        )
    ax.set(
        xlabel="days after the insult",
        ylabel="excess senescent fraction (insult - control)",
        title="Excess senescent cells after an insult",
    )
    ax.legend(fontsize=8)
    ax2.axhline(level, color=_INK, lw=0.8, ls="--")
    ax2.set_yscale("log")
    ax2.set_xlim(-0.3, 4 * float(half_lives["ode"].max()))
    ax2.set_ylim(level**4 / 2, 1.2)
    ax2.set(
        xlabel="days after the insult",
        ylabel="excess / excess right after the insult",
        title=f"Time to {level:g} of the excess (dotted: simulated)",
    )
    ax2.legend(fontsize=8, loc="lower left")
    return _save(fig, path)


@_themed
def plot_marrow_failure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    markers: Iterable[tuple[float, str]],
    path: Path,
    *,
    title: str,
) -> str:
    """The fraction of people with marrow failure against age, one step curve per group
    (``label -> (times_years, fraction)``, 1 - Kaplan-Meier survival), and published ages
    (``(age_years, label)``) as vertical lines."""
    fig = _figure(7.0, 5.6)
    ax = fig.add_subplot()
    for i, (label, (times, fraction)) in enumerate(curves.items()):
        ax.step(times, fraction, where="post", color=f"C{i}", label=label)
    for j, (age, label) in enumerate(markers):
        ax.axvline(age, color=_INK, ls=("--", ":", "-.")[j % 3], lw=0.9, label=label)
    ax.set(
        xlabel="age (years)",
        ylabel="people with marrow failure",
        ylim=(-0.02, 1.02),
        title=title,
    )
    fig.legend(fontsize=7, loc="outside lower center", ncol=2)
    return _save(fig, path)


@_themed
def plot_clonal_structure(clones: pd.DataFrame, published_label: str, path: Path) -> str:
    """The clones making up half of the HSCs (log scale) and the largest clone's share
    against age, per arm (one thin line per person, the median thick), with the published
    finding shaded at the ages it speaks of (over 75)."""
    fig = _figure(9.0, 4.2)
    axes = fig.subplots(1, 2)
    for i, (arm, d) in enumerate(clones.groupby("arm", sort=False)):
        for j, column in enumerate(("clones_for_half", "largest_clone_share")):
            ax = axes[j]
            for _, person in d.groupby("run_id"):
                ax.plot(person["age_years"], person[column], color=f"C{i}", lw=0.5, alpha=0.4)
            med = d.groupby("age_years")[column].median()
            ax.plot(med.index, med.to_numpy(), color=f"C{i}", lw=2, label=arm)
    axes[0].set(yscale="log", xlabel="age (years)", ylabel="clones making up half of HSCs")
    axes[1].set(xlabel="age (years)", ylabel="largest clone's share of HSCs")
    for ax in axes:
        ax.axvspan(75, 100, color=_INK, alpha=0.08, lw=0)
    axes[0].legend(fontsize=8)
    fig.suptitle(textwrap.fill(f"Shaded: over 75. {published_label}", 120), fontsize=8)
    return _save(fig, path)


@_themed
def plot_body_turnover(
    body_turnover: pd.DataFrame, n_se: float, published_source: str, people: int, path: Path
) -> str:
    """The whole body's daily turnover and its shares, simulated against published: one
    panel per quantity, each value with +- ``n_se`` standard errors, and the published
    value's band of +- ``n_se`` combined SE (the criterion) shaded."""
    rows = list(body_turnover.itertuples(index=False))
    fig = _figure(2.3 * len(rows) + 0.6, 3.8)
    axes = fig.subplots(1, len(rows), squeeze=False)[0]
    for ax, r in zip(axes, rows, strict=True):
        total = r.quantity == "total"
        unit = 1e11 if total else 0.01
        sim, sim_se = r.simulated / unit, r.simulated_se / unit
        pub, pub_se = r.published / unit, r.published_se / unit
        band = n_se * float(np.hypot(sim_se, pub_se))
        ax.axhspan(pub - band, pub + band, color="0.88", zorder=0)
        color = _GROUP_COLORS.get(str(r.quantity), "C0")
        ax.errorbar([0], [sim], yerr=[n_se * sim_se], fmt="o", color=color, capsize=4, ms=7)
        ax.errorbar([1], [pub], yerr=[n_se * pub_se], fmt="s", color=_INK, capsize=4, ms=6)
        ax.set_xticks([0, 1], [f"simulated\n({people} people)", "published"], fontsize=8)
        ax.set_xlim(-0.6, 1.6)
        ax.set_title("total" if total else f"{r.quantity} share", fontsize=10)
        ax.set_ylabel("10^11 cells per day" if total else "% of cells replaced per day")
    fig.suptitle(
        f"The body's daily turnover: simulated vs {published_source}\n"
        f"(bars: +-{n_se:g} SE; shaded: +-{n_se:g} combined SE around the published value)",
        fontsize=9,
    )
    return _save(fig, path)


@_themed
def plot_body_burden(
    burden: pd.DataFrame, burden_at: pd.DataFrame, published_label: str, path: Path
) -> str:
    """The body's senescent burden against age (median over people and the 10-90% band of
    the records; the checked ages, each a window mean, as points with their 10-90% range)
    and the clearance per senescent cell it leaves (``1 / (1 + S / K)``)."""
    fig = _figure(9.6, 4.4)
    left, right = fig.subplots(1, 2)
    x = burden["age_years"].to_numpy(dtype=float)
    left.fill_between(
        x,
        burden["burden_p10_pct"],
        burden["burden_p90_pct"],
        color="C0",
        alpha=0.18,
        lw=0,
        label="records: 10-90% of people",
    )
    left.plot(x, burden["burden_median_pct"], color="C0", lw=1.0, label="records: median")
    a = burden_at["age_years"].to_numpy(dtype=float)
    m = burden_at["burden_median_pct"].to_numpy(dtype=float)
    err = np.vstack([m - burden_at["burden_p10_pct"], burden_at["burden_p90_pct"] - m])
    left.errorbar(
        a,
        m,
        yerr=err,
        fmt="o-",
        color=_INK,
        capsize=4,
        ms=6,
        lw=1.4,
        label="checked ages: median of window means (10-90%)",
    )
    left.set(
        xlabel="age (years)",
        ylabel="senescent burden (% of the body's cells)",
        title="The body's senescent burden",
    )
    left.set_ylim(bottom=0)
    left.legend(fontsize=7, loc="upper left")
    right.plot(x, burden["clearance_relative_median"], color="C2", lw=1.0, label="records")
    right.plot(
        a, burden_at["clearance_relative_median"], "o-", color=_INK, ms=6, label="checked ages"
    )
    right.set(
        xlabel="age (years)",
        ylabel="clearance per senescent cell\n(relative to an empty body)",
        title="Clearance left by the burden: 1 / (1 + S/K)",
    )
    right.legend(fontsize=7, loc="lower left")
    fig.suptitle(textwrap.fill(f"Published: {published_label}", 150), fontsize=7)
    return _save(fig, path)
