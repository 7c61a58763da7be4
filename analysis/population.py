"""A population of people: per age, the spread of a trajectory value across people, the
fraction below a threshold, and the fraction who reached an event.

Pure functions over the result tables of a scenario whose replicates are people (a
scenario with ``[population]``; ``analysis.exhaustion`` for the time-to-event machinery):

- ``values_at_ages``: each person's value of a trajectory column at each age (the last
  record at or before it; people whose run ended earlier are not observed at that age);
- ``population_by_age``: per arm and age, the number observed, the 10th, 50th and 90th
  percentiles, and the fraction below a threshold with its 95% Clopper-Pearson interval;
- ``event_fractions``: per arm, event and age, the fraction of people who reached the
  event by that age, 1 - S(age) of the Kaplan-Meier estimate (runs that stopped before
  the event are censored at their end), with its pointwise 95% interval; NaN past the
  last follow-up;
- ``draw_fractions``: the same fractions for a population whose people share posterior
  draws (``people_per_draw`` in the scenario): the fraction over everyone, and a credible
  interval from the spread of the per-draw fractions, so that it carries the parameters'
  uncertainty, not only the people's and the seeds' (a conservative one: each draw's
  fraction also carries the sampling noise of its few people).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from analysis.exhaustion import arms_in_order, event_times, kaplan_meier

DAYS_PER_YEAR = 365.25


def values_at_ages(
    runs: pd.DataFrame,
    traj: pd.DataFrame,
    column: str,
    ages_years: list[float],
    tissue: str | None = None,
) -> pd.DataFrame:
    """One row per (run, age): ``arm``, ``run_id``, ``age_years``, ``value`` (the tissue's
    ``column`` at the last record at or before that age; NaN when the run ended before
    it). ``tissue`` defaults to each run's primary tissue.

    Args:
        runs: a ``runs`` table.
        traj: its ``trajectories`` table.
        column: a trajectory column (e.g. ``telomere_mean_bp``).
        ages_years: the ages (years).
        tissue: the tissue (None: each run's primary tissue).
    """
    who = runs[["run_id", "arm", "tissue"]].copy()
    if tissue is not None:
        who["tissue"] = tissue
    t = traj.merge(who[["run_id", "tissue"]], on=["run_id", "tissue"], how="inner")
    t = t.sort_values(["run_id", "day"])
    end = runs.set_index("run_id")["end_day"]
    rows = []
    for run_id, g in t.groupby("run_id", sort=False):
        days = g["day"].to_numpy(dtype=float)
        vals = g[column].to_numpy(dtype=float)
        for age in ages_years:
            limit = age * DAYS_PER_YEAR + 1e-6
            i = np.searchsorted(days, limit, side="right") - 1
            seen = i >= 0 and end[run_id] + 1e-6 >= age * DAYS_PER_YEAR
            rows.append({"run_id": run_id, "age_years": age, "value": vals[i] if seen else np.nan})
    out = pd.DataFrame(rows, columns=["run_id", "age_years", "value"])
    return who[["run_id", "arm"]].merge(out, on="run_id", how="inner")


def population_by_age(values: pd.DataFrame, below: float | None = None) -> pd.DataFrame:
    """Per arm and age: ``n_people`` observed, ``p10``, ``p50``, ``p90`` and, with
    ``below``, ``fraction_below`` with ``fraction_below_ci_low``/``_high`` (95%,
    Clopper-Pearson).

    Args:
        values: a ``values_at_ages`` table.
        below: the threshold of the fraction below (in the column's units; None: none).
    """
    rows = []
    for arm in pd.unique(values["arm"]):
        for age in sorted(pd.unique(values["age_years"])):
            v = values[(values["arm"] == arm) & (values["age_years"] == age)]["value"]
            v = v.to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            row: dict[str, float | str | int] = {"arm": arm, "age_years": float(age)}
            row["n_people"] = len(v)
            for q in (10, 50, 90):
                row[f"p{q}"] = float(np.percentile(v, q)) if len(v) else math.nan
            if below is not None:
                k = int((v < below).sum())
                row["fraction_below"] = k / len(v) if len(v) else math.nan
                lo, hi = (math.nan, math.nan)
                if len(v):
                    ci = stats.binomtest(k, len(v)).proportion_ci(0.95, method="exact")
                    lo, hi = float(ci.low), float(ci.high)
                row["fraction_below_ci_low"], row["fraction_below_ci_high"] = lo, hi
            rows.append(row)
    return pd.DataFrame(rows)


def event_fractions(
    runs: pd.DataFrame, ages_years: list[float], events: tuple[str, ...] = ("exhaustion",)
) -> pd.DataFrame:
    """Per arm, event and age: ``n_people``, ``fraction`` who reached the event by that age
    (1 - Kaplan-Meier survival) and its pointwise 95% interval; NaN beyond follow-up.

    Args:
        runs: a ``runs`` table (one person per run).
        ages_years: the ages (years).
        events: the events counted.
    """
    rows = []
    for event in events:
        times = event_times(runs, event)
        for arm in arms_in_order(runs):
            d = times[times["arm"] == arm]
            km = kaplan_meier(d["time_years"], d["observed"])
            last = float(np.nanmax(d["time_years"])) if len(d) else math.nan
            for age in ages_years:
                frac = lo = hi = math.nan
                if len(d) and age <= last + 1e-9:
                    i = np.searchsorted(km.times_years, age, side="right") - 1
                    if i < 0:
                        frac, lo, hi = 0.0, 0.0, 0.0
                    else:
                        frac = 1.0 - float(km.survival[i])
                        lo = 1.0 - float(km.ci_high[i])  # NaN where S = 0
                        hi = 1.0 - float(km.ci_low[i])
                rows.append(
                    {
                        "arm": arm,
                        "event": event,
                        "age_years": float(age),
                        "n_people": len(d),
                        "fraction": frac,
                        "ci_low": lo,
                        "ci_high": hi,
                    }
                )
    return pd.DataFrame(rows)


def person_indicators(
    runs: pd.DataFrame,
    ages_years: list[float],
    events: tuple[str, ...] = (),
    values: pd.DataFrame | None = None,
    below: float | None = None,
    label: str = "below",
) -> pd.DataFrame:
    """One row per (run, outcome, age): ``arm``, ``run_id``, ``outcome``, ``age_years``
    and ``reached`` (1.0 when the person reached the outcome by that age, 0.0 when not,
    NaN when not observed then). Outcomes: each event of ``events`` (its ``<event>_day``
    column; a run that stopped before the age without it is not observed), and with
    ``values`` (``values_at_ages``) and ``below``, ``label``: the value below ``below``.

    Args:
        runs: a ``runs`` table (one person per run).
        ages_years: the ages (years).
        events: the events counted.
        values: a ``values_at_ages`` table (None: no value outcome).
        below: the value outcome's threshold.
        label: the value outcome's name.
    """
    rows = []
    for event in events:
        t = event_times(runs, event)
        for age in ages_years:
            reached = np.where(
                t["observed"] & (t["time_years"] <= age + 1e-9),
                1.0,
                np.where(t["time_years"] >= age - 1e-9, 0.0, np.nan),
            )
            rows.append(
                pd.DataFrame(
                    {
                        "arm": t["arm"],
                        "run_id": t["run_id"],
                        "outcome": event,
                        "age_years": float(age),
                        "reached": reached,
                    }
                )
            )
    if values is not None and below is not None:
        v = values[values["age_years"].isin(ages_years)]
        x = v["value"].to_numpy(dtype=float)
        rows.append(
            pd.DataFrame(
                {
                    "arm": v["arm"].astype(str).to_numpy(),
                    "run_id": v["run_id"].astype(str).to_numpy(),
                    "outcome": label,
                    "age_years": v["age_years"].to_numpy(dtype=float),
                    "reached": np.where(np.isfinite(x), (x < below).astype(float), np.nan),
                }
            )
        )
    cols = ["arm", "run_id", "outcome", "age_years", "reached"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)


def draw_fractions(
    indicators: pd.DataFrame,
    draws: pd.DataFrame,
    level: float = 0.9,
) -> pd.DataFrame:
    """Per arm, outcome and age: ``n_people`` observed, ``n_draws``, ``fraction`` (over
    everyone observed) and ``ci_low``/``ci_high``: the central ``level`` interval of the
    per-draw fractions (each posterior draw weighs the same: draws are already taken by
    weight). ``indicators`` come from ``person_indicators``; ``draws`` maps ``run_id`` to
    ``posterior_draw``.

    Args:
        indicators: a ``person_indicators`` table.
        draws: each run's posterior draw (run_id -> draw).
        level: the credible intervals' level.
    """
    if not 0 < level < 1:
        raise ValueError(f"level={level}: must be between 0 and 1")
    d = indicators.merge(draws[["run_id", "posterior_draw"]], on="run_id", how="inner")
    d = d[np.isfinite(d["reached"].to_numpy(dtype=float))]
    q = ((1 - level) / 2, (1 + level) / 2)
    rows = []
    keys = ["arm", "outcome", "age_years"]
    for (arm, outcome, age), g in d.groupby(keys, sort=False):
        per_draw = g.groupby("posterior_draw")["reached"].mean().to_numpy(dtype=float)
        rows.append(
            {
                "arm": arm,
                "outcome": outcome,
                "age_years": float(age),
                "n_people": len(g),
                "n_draws": len(per_draw),
                "fraction": float(g["reached"].mean()),
                "ci_low": float(np.quantile(per_draw, q[0])),
                "ci_high": float(np.quantile(per_draw, q[1])),
            }
        )
    return pd.DataFrame(rows)


def format_draw_fractions(table: pd.DataFrame, level: float = 0.9) -> list[str]:
    """The answer table (Markdown lines): per arm and outcome, the fraction of people by
    each age with its credible interval across posterior draws.

    Args:
        table: a ``draw_fractions`` table.
        level: the intervals' level (for the header).
    """
    ages = sorted(pd.unique(table["age_years"]))
    head = "| arm | outcome |" + "".join(f" by {a:g} |" for a in ages)
    lines = [
        f"Fraction of people who reached each outcome by each age, over everyone "
        f"[{100 * level:g}% credible interval across posterior draws]:",
        "",
        head,
        "|---|---|" + "---|" * len(ages),
    ]
    for (arm, outcome), g in table.groupby(["arm", "outcome"], sort=False):
        by = g.set_index("age_years")
        cells = []
        for a in ages:
            if a in by.index:
                r = by.loc[a]
                cells.append(
                    f" {_pct(r['fraction'])} [{_pct(r['ci_low'])}, {_pct(r['ci_high'])}] |"
                )
            else:
                cells.append(" n/a |")
        lines.append(f"| {arm} | {outcome} |" + "".join(cells))
    return lines


def _pct(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{100 * x:.1f}%"


def format_population(
    by_age: pd.DataFrame, events: pd.DataFrame, column: str, below: float | None
) -> list[str]:
    """The report's population section (Markdown lines).

    Args:
        by_age: a ``population_by_age`` table.
        events: an ``event_fractions`` table.
        column: the trajectory column summarised.
        below: its threshold (None: none).
    """
    lines = [f"Per age, across people: `{column}` (10th / 50th / 90th percentile)"]
    if below is not None:
        lines[0] += f" and the fraction below {below:g} (95% Clopper-Pearson interval)"
    has_tissue = "tissue" in by_age.columns
    head = "| arm |" + (" tissue |" if has_tissue else "") + " age | people | p10 | p50 | p90 |"
    rule = "|---|" + ("---|" if has_tissue else "") + "---:|---:|---:|---:|---:|"
    head += " below |" if below is not None else ""
    lines += ["", head, rule + ("---|" if below is not None else "")]
    for _, r in by_age.iterrows():
        line = (
            f"| {r['arm']} |"
            + (f" {r['tissue']} |" if has_tissue else "")
            + f" {r['age_years']:g} | {int(r['n_people'])} | {r['p10']:.4g} | "
            f"{r['p50']:.4g} | {r['p90']:.4g} |"
        )
        if below is not None:
            line += (
                f" {_pct(r['fraction_below'])} [{_pct(r['fraction_below_ci_low'])}, "
                f"{_pct(r['fraction_below_ci_high'])}] |"
            )
        lines.append(line)
    lines += [
        "",
        "People who reached each event by each age (1 - Kaplan-Meier survival, 95% interval; "
        "n/a past the last follow-up):",
        "",
        "| arm | event | age | fraction | 95% interval |",
        "|---|---|---:|---:|---|",
    ]
    for _, r in events.iterrows():
        lines.append(
            f"| {r['arm']} | {r['event']} | {r['age_years']:g} | {_pct(r['fraction'])} | "
            f"[{_pct(r['ci_low'])}, {_pct(r['ci_high'])}] |"
        )
    return lines
