"""Standard figures over the result tables (seaborn on matplotlib's Agg canvas).

Pure functions: each takes the ``runs`` and/or ``trajectories`` tables of the result schema,
writes one PNG (to a temporary name in the target folder, then ``os.replace``) and returns
its path. Figures are ``matplotlib.figure.Figure`` objects rendered on an explicit Agg
canvas: no pyplot state, no GUI backend, no open figures left behind, and the global
matplotlib backend of the caller (e.g. a notebook) is left alone.

Averaging over runs. Recording days are snapped to the common recording interval (a run's
off-grid final record replaces its nearest grid point). Runs stop at different ages (the
tissue failed, or the horizon). By default (``carry_forward=True``) a run that stopped
keeps its final record up to the last age recorded in its arm, so an average is over all
runs of the arm and a failed tissue stays failed (its pool stays 0); this avoids the
survivor-only saw-tooth of averaging only the runs still running, which
``carry_forward=False`` gives. Figure subtitles say which was used.

Tissues. A trajectories table may hold several compartments per run (e.g. a stem
compartment); each plot shows one tissue: ``tissue=`` or, by default, the first one that
appears (``make_standard_figures`` defaults to the runs table's main tissue).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text

from analysis.exhaustion import DAYS_PER_YEAR, arms_in_order, event_times, kaplan_meier

__all__ = [
    "STANDARD_FIGURES",
    "STATE_GROUPS",
    "make_standard_figures",
    "plot_functional_and_pool",
    "plot_state_fractions",
    "plot_survival",
    "plot_telomere_distribution",
]

#: Display name -> the count columns summed into it (fractions of all six state counts).
STATE_GROUPS: dict[str, tuple[str, ...]] = {
    "functional (cycling + stem)": ("n_cycling", "n_stem"),
    "senescent": ("n_senescent",),
    "transformed": ("n_transformed",),
    "empty (vacant)": ("n_empty",),
    "pluripotent": ("n_pluripotent",),
}
_STATE_COLUMNS = ("n_cycling", "n_stem", "n_senescent", "n_transformed", "n_empty", "n_pluripotent")
_STATE_COLORS = dict(
    zip(STATE_GROUPS, ("#2a9d8f", "#e76f51", "#9b2226", "#8d99ae", "#7b2cbf"), strict=True)
)

#: File names written by ``make_standard_figures``.
STANDARD_FIGURES: dict[str, str] = {
    "state_fractions": "state_fractions.png",
    "telomere_distribution": "telomere_distribution.png",
    "survival_exhaustion": "survival_exhaustion.png",
    "functional_and_pool": "functional_and_pool.png",
}

_DPI = 120
_AGE_LABEL = "organism age (years)"


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


def _save(fig: Figure, path: str | os.PathLike[str]) -> Path:
    """Write ``fig`` as PNG to a temp file next to ``path``, then atomically replace it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".png.tmp", dir=path.parent)
    os.close(fd)
    for text in fig.findobj(Text):
        # labels carry user names (arms, tissues, parameters): never parse them as mathtext
        text.set_parse_math(False)
    try:
        FigureCanvasAgg(fig)  # render with Agg whatever the global backend is
        fig.savefig(tmp, format="png", dpi=_DPI)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _arm_palette(arms: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """A fixed colour per arm, the same in every figure."""
    colors = sns.color_palette("tab10" if len(arms) <= 10 else "husl", max(len(arms), 1))
    return {arm: colors[i] for i, arm in enumerate(arms)}


def _select_tissue(traj: pd.DataFrame, tissue: str | None) -> tuple[pd.DataFrame, str | None]:
    """Rows of one tissue (``tissue`` or the first to appear) and its name."""
    if "tissue" not in traj.columns:
        return traj, tissue
    names = [str(t) for t in pd.unique(traj["tissue"].astype(str))]
    if tissue is None:
        if len(names) <= 1:
            return traj, names[0] if names else None
        tissue = names[0]
    return traj[traj["tissue"].astype(str) == str(tissue)], str(tissue)


def _on_grid(traj: pd.DataFrame) -> pd.DataFrame:
    """One row per (arm, run, grid day): days snapped to the common recording interval.

    The interval is the median spacing of consecutive records within runs. A run's
    off-grid record (its final day) replaces the record of the nearest grid day.
    """
    df = traj.sort_values(["run_id", "day"], kind="stable")
    steps = df.groupby("run_id", sort=False)["day"].diff().to_numpy(dtype=float)
    steps = steps[np.isfinite(steps) & (steps > 0)]
    step = float(np.median(steps)) if steps.size else 1.0
    df = df.assign(day=np.round(df["day"].to_numpy(dtype=float) / step) * step)
    df = df.groupby(["arm", "run_id", "day"], sort=False, as_index=False).last()
    return df.assign(age_years=df["day"] / DAYS_PER_YEAR)


def _carry_forward(df: pd.DataFrame) -> pd.DataFrame:
    """Extend every run to the last grid day of its arm by repeating its final record."""
    parts = []
    for arm, group in df.groupby("arm", sort=False):
        days = np.sort(group["day"].unique())
        index = pd.MultiIndex.from_product(
            [pd.unique(group["run_id"]), days], names=["run_id", "day"]
        )
        full = group.drop(columns="arm").assign(_present=1.0).set_index(["run_id", "day"])
        full = full.reindex(index).groupby(level="run_id", sort=False).ffill()
        full = full[full["_present"].notna()].drop(columns="_present").reset_index()
        parts.append(full.assign(arm=arm))
    out = pd.concat(parts, ignore_index=True)
    return out.assign(age_years=out["day"] / DAYS_PER_YEAR)


def _prepare(
    traj: pd.DataFrame, tissue: str | None, carry_forward: bool
) -> tuple[pd.DataFrame, str | None]:
    df, name = _select_tissue(traj, tissue)
    if df.empty:
        return df, name
    df = df.assign(arm=df["arm"].astype(str), run_id=df["run_id"].astype(str))
    df = _on_grid(df)
    return (_carry_forward(df) if carry_forward else df), name


def _averaging_note(carry_forward: bool) -> str:
    if carry_forward:
        return "mean over runs; a run that stopped keeps its final state"
    return "mean over the runs still running at each age"


def _facets(fig: Figure, n: int, ncols_max: int = 3) -> list[Axes]:
    ncols = max(1, min(ncols_max, n))
    nrows = max(1, math.ceil(n / ncols))
    axes = fig.subplots(nrows, ncols, sharex=False, sharey=True, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return list(axes[:n]) if n else [axes[0]]


def _facet_figure(n: int) -> Figure:
    ncols = max(1, min(3, n))
    nrows = max(1, math.ceil(n / ncols))
    return Figure(figsize=(4.2 * ncols + 2.2, 3.2 * nrows + 0.8), layout="constrained")


def _no_data(ax: Axes, what: str) -> None:
    ax.text(0.5, 0.5, f"no {what}", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _title_suffix(tissue: str | None, traj: pd.DataFrame) -> str:
    several = "tissue" in traj.columns and traj["tissue"].astype(str).nunique() > 1
    return f" ({tissue})" if tissue and several else ""


def _drop_legend(ax: Axes) -> None:
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()


# --------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------


def plot_state_fractions(
    traj: pd.DataFrame,
    path: str | os.PathLike[str],
    tissue: str | None = None,
    carry_forward: bool = True,
) -> Path:
    """Mean fraction of slots per cell state vs age, one panel per arm.

    Fractions are ``n_x / (sum of the six n_ state columns)`` per record, cycling and stem
    combined as "functional"; averaged over runs (see the module doc for ``carry_forward``).

    Args:
        traj: a ``trajectories`` table.
        path: the PNG file to write.
        tissue: the tissue to show (None: each run's primary tissue).
        carry_forward: a run that stopped keeps its final state up to its arm's last age
            (else it drops out of the median).

    Returns:
        The path written.
    """
    df, name = _prepare(traj, tissue, carry_forward)
    arms = arms_in_order(df)
    with sns.axes_style("whitegrid"):
        fig = _facet_figure(len(arms))
        axes = _facets(fig, len(arms))
        if not arms:
            _no_data(axes[0], "trajectories")
        else:
            present = [c for c in _STATE_COLUMNS if c in df.columns]
            total = df[present].sum(axis=1).astype(float).replace(0.0, np.nan)
            frac = pd.DataFrame({"arm": df["arm"], "age_years": df["age_years"]})
            for label, cols in STATE_GROUPS.items():
                cols_here = [c for c in cols if c in df.columns]
                frac[label] = df[cols_here].sum(axis=1) / total if cols_here else 0.0
            means = frac.groupby(["arm", "age_years"], sort=True).mean().reset_index()
            long = means.melt(["arm", "age_years"], var_name="state", value_name="fraction")
            for ax, arm in zip(axes, arms, strict=True):
                sns.lineplot(
                    data=long[long["arm"] == arm],
                    x="age_years",
                    y="fraction",
                    hue="state",
                    hue_order=list(STATE_GROUPS),
                    palette=_STATE_COLORS,
                    estimator=None,
                    ax=ax,
                )
                _drop_legend(ax)
                ax.set_title(arm)
                ax.set_xlabel(_AGE_LABEL)
                ax.set_ylabel("fraction of slots")
                ax.set_ylim(-0.02, 1.02)
            handles = [Line2D([], [], color=_STATE_COLORS[s], lw=2) for s in STATE_GROUPS]
            fig.legend(handles, list(STATE_GROUPS), title="cell state", loc="outside right upper")
        fig.suptitle(
            "Cell-state composition vs age"
            + _title_suffix(name, traj)
            + f"\n({_averaging_note(carry_forward)})"
        )
    return _save(fig, path)


def plot_telomere_distribution(
    traj: pd.DataFrame,
    path: str | os.PathLike[str],
    tissue: str | None = None,
    carry_forward: bool = True,
) -> Path:
    """Telomere length vs age, one panel per arm: the median over runs of the per-run
    median (p50) telomere, with a band from the median over runs of p10 to that of p90.

    Args:
        traj: a ``trajectories`` table.
        path: the PNG file to write.
        tissue: the tissue to show (None: each run's primary tissue).
        carry_forward: a run that stopped keeps its final state up to its arm's last age
            (else it drops out of the median).

    Returns:
        The path written.
    """
    df, name = _prepare(traj, tissue, carry_forward)
    arms = arms_in_order(df)
    palette = _arm_palette(arms)
    with sns.axes_style("whitegrid"):
        fig = _facet_figure(len(arms))
        axes = _facets(fig, len(arms))
        needed = {"telomere_p10_bp", "telomere_p50_bp", "telomere_p90_bp"}
        if not arms or not needed <= set(df.columns):
            _no_data(axes[0], "telomere records")
        else:
            med = df.groupby(["arm", "age_years"], sort=True)[sorted(needed)].median().reset_index()
            for ax, arm in zip(axes, arms, strict=True):
                m = med[med["arm"] == arm]
                color = palette[arm]
                ax.fill_between(
                    m["age_years"],
                    m["telomere_p10_bp"],
                    m["telomere_p90_bp"],
                    color=color,
                    alpha=0.25,
                    lw=0,
                    label="p10-p90 of cells",
                )
                ax.plot(m["age_years"], m["telomere_p50_bp"], color=color, lw=2, label="median")
                ax.set_title(arm)
                ax.set_xlabel(_AGE_LABEL)
                ax.set_ylabel("telomere length (bp)")
                ax.legend(loc="upper right", fontsize="small")
        fig.suptitle(
            "Telomere length distribution vs age"
            + _title_suffix(name, traj)
            + "\n(median over runs of each cell percentile; "
            + (
                "a run that stopped keeps its final state)"
                if carry_forward
                else "runs still running)"
            )
        )
    return _save(fig, path)


def plot_survival(
    runs: pd.DataFrame, path: str | os.PathLike[str], event: str = "exhaustion"
) -> Path:
    """Kaplan-Meier curves of the fraction of runs that have not yet reached ``event``.

    One step curve per arm with its pointwise 95% log-log band; ticks mark censored runs.
    Time is organism age in years (see ``analysis.exhaustion``).

    Args:
        runs: a ``runs`` table.
        path: the PNG file to write.
        event: the event (``exhaustion``, ``failure``, ``neoplasia``).

    Returns:
        The path written.
    """
    times = event_times(runs, event)
    arms = arms_in_order(times)
    palette = _arm_palette(arms)
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(8.5, 5.0), layout="constrained")
        ax = fig.subplots()
        if not arms:
            _no_data(ax, "runs")
        for arm in arms:
            sel = times[times["arm"] == arm]
            km = kaplan_meier(sel["time_years"], sel["observed"])
            if not km.n:
                continue
            color = palette[arm]
            high = pd.Series(km.ci_high).ffill().to_numpy()
            ax.fill_between(
                km.times_years, km.ci_low, high, step="post", color=color, alpha=0.18, lw=0
            )
            median = "not reached" if math.isnan(km.median_years) else f"{km.median_years:.1f} y"
            ax.step(
                km.times_years,
                km.survival,
                where="post",
                color=color,
                lw=2,
                label=f"{arm}: {km.n_events}/{km.n} events, median {median}",
            )
            if km.censor_times_years.size:
                ax.plot(
                    km.censor_times_years,
                    km.survival_at(km.censor_times_years),
                    ls="none",
                    marker="|",
                    ms=10,
                    mew=1.5,
                    color=color,
                )
        ax.axhline(0.5, color="0.4", ls="--", lw=1)
        ax.set_ylim(-0.02, 1.05)
        ax.set_xlim(left=0)
        ax.set_xlabel(_AGE_LABEL)
        ax.set_ylabel(f"fraction of runs without {event}")
        ax.set_title(
            f"Time to {event}: Kaplan-Meier with 95% CI (log-log); | = censored run",
        )
        if arms:
            ax.legend(title="arm", loc="best", fontsize="small")
    return _save(fig, path)


def plot_functional_and_pool(
    traj: pd.DataFrame,
    path: str | os.PathLike[str],
    tissue: str | None = None,
    carry_forward: bool = True,
) -> Path:
    """Two panels vs age, one line per arm: mean functional fraction and mean pool size
    (cells still able to divide), averaged over runs (module doc: ``carry_forward``).

    Args:
        traj: a ``trajectories`` table.
        path: the PNG file to write.
        tissue: the tissue to show (None: each run's primary tissue).
        carry_forward: a run that stopped keeps its final state up to its arm's last age
            (else it drops out of the median).

    Returns:
        The path written.
    """
    df, name = _prepare(traj, tissue, carry_forward)
    arms = arms_in_order(df)
    palette = _arm_palette(arms)
    panels = (
        ("functional_fraction", "functional fraction (of slots)", "Functional fraction"),
        ("pool_size", "replicative pool (cells able to divide)", "Replicative pool size"),
    )
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(12.0, 4.6), layout="constrained")
        axes = fig.subplots(1, 2, sharex=True)
        for ax, (column, ylabel, title) in zip(axes, panels, strict=True):
            if not arms or column not in df.columns:
                _no_data(ax, column)
                continue
            means = df.groupby(["arm", "age_years"], sort=True)[column].mean().reset_index()
            sns.lineplot(
                data=means,
                x="age_years",
                y=column,
                hue="arm",
                hue_order=arms,
                palette=palette,
                estimator=None,
                ax=ax,
            )
            _drop_legend(ax)
            ax.set_xlabel(_AGE_LABEL)
            ax.set_ylabel(ylabel)
            ax.set_title(title)
            if column == "functional_fraction":
                ax.set_ylim(-0.02, 1.02)
            else:
                ax.set_ylim(bottom=0)
        if arms:
            handles = [Line2D([], [], color=palette[a], lw=2) for a in arms]
            fig.legend(handles, arms, title="arm", loc="outside right upper")
        fig.suptitle(
            "Tissue function and replicative pool vs age"
            + _title_suffix(name, traj)
            + f"\n({_averaging_note(carry_forward)})"
        )
    return _save(fig, path)


def make_standard_figures(
    runs: pd.DataFrame,
    traj: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    tissue: str | None = None,
    carry_forward: bool = True,
) -> dict[str, Path]:
    """Write the four standard figures into ``out_dir``; return ``{name: path}``.

    Names and files: ``state_fractions`` (state_fractions.png), ``telomere_distribution``
    (telomere_distribution.png), ``survival_exhaustion`` (survival_exhaustion.png),
    ``functional_and_pool`` (functional_and_pool.png). Trajectory figures show ``tissue``,
    by default the runs table's main tissue (its most common ``tissue`` value);
    ``carry_forward`` is passed to them (see the module doc).

    Args:
        runs: a ``runs`` table.
        traj: its ``trajectories`` table.
        out_dir: the folder to write into (``out_dir/figures/``).
        tissue: the tissue to show (None: each run's primary tissue).
        carry_forward: as in ``plot_state_fractions``.

    Returns:
        Figure name -> path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if tissue is None and "tissue" in runs.columns and "tissue" in traj.columns and len(runs):
        main = str(runs["tissue"].astype(str).mode().iloc[0])
        if main in set(traj["tissue"].astype(str)):
            tissue = main
    return {
        "state_fractions": plot_state_fractions(
            traj,
            out / STANDARD_FIGURES["state_fractions"],
            tissue=tissue,
            carry_forward=carry_forward,
        ),
        "telomere_distribution": plot_telomere_distribution(
            traj,
            out / STANDARD_FIGURES["telomere_distribution"],
            tissue=tissue,
            carry_forward=carry_forward,
        ),
        "survival_exhaustion": plot_survival(
            runs, out / STANDARD_FIGURES["survival_exhaustion"], event="exhaustion"
        ),
        "functional_and_pool": plot_functional_and_pool(
            traj,
            out / STANDARD_FIGURES["functional_and_pool"],
            tissue=tissue,
            carry_forward=carry_forward,
        ),
    }
