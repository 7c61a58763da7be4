"""The whole body: many tissues of one run read together as one organism.

Pure functions over the result tables of a model with several tissues (``runs`` and
``trajectories``; docs/ARCHITECTURE.md, "Result schema") and a ``tissues`` table that
describes the body, one row per tissue:

- ``tissue``: its name, as in the result tables;
- ``n_cells``: slots of its simulated sample, cells;
- ``cells_in_body``: the real cells the sample stands for, cells (NaN or absent: the
  sample is the whole tissue); the tissue's scale is ``cells_in_body / n_cells``, real
  cells per slot (1 where ``cells_in_body`` is NaN);
- ``group`` (optional, default ``"other"``): blood, gut, skin, vessel, liver, stem, ...;
- ``in_burden`` (optional, default True): whether its senescent cells count in the body's
  senescent burden (anucleate erythrocytes do not).

What is here:

- ``tissue_scales``: real cells per slot of each tissue;
- ``tissue_event_days`` / ``first_tissue``: per run, the day each tissue reached an event,
  and the first tissue to reach it (runs where none did are censored at ``end_day``);
- ``body_burden``: per run and recorded day, the body's senescent cells (real) and their
  fraction of the body's cells;
- ``body_turnover`` / ``turnover_shares``: real cells removed per day (deaths and
  clearances) over a window, by group or tissue, with each one's share of the body's
  (Sender & Milo 2021: blood ~86%, gut ~12%, skin ~1.1%);
- ``body_divisions_per_day`` (by age, from trajectories) and
  ``body_divisions_per_day_mean`` (over the run, from the runs' counters): real divisions
  per day;
- ``answer_table`` / ``format_answer``: per arm, the first tissue to be exhausted and to
  fail, the Kaplan-Meier median age of the first exhaustion, failure and neoplasia of any
  tissue, and the body's divisions per day;
- ``plot_body``: each tissue's replicative pool against age, per arm, with the body's
  senescent burden below.

Where tissues are recorded on different days, a tissue's value at a day is its last record
at or before that day (NaN before its first record).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from scipy import stats

from analysis import DAYS_PER_YEAR, EVENTS
from analysis.exhaustion import (
    CONFIDENCE_LEVEL,
    _censor_day,
    _event_cell,
    _first_time_at_or_below,
    _fmt_p,
    arms_in_order,
    event_times,
    fixed_width_lines,
    kaplan_meier,
    logrank,
)
from analysis.plots import _carry_forward, _no_data, _on_grid, _save

__all__ = [
    "DEFAULT_EXCLUDED_GROUPS",
    "REMOVAL_COUNTERS",
    "answer_display",
    "answer_table",
    "body_burden",
    "body_divisions_per_day",
    "body_divisions_per_day_mean",
    "body_turnover",
    "first_tissue",
    "format_answer",
    "plot_body",
    "tissue_counter_totals",
    "tissue_event_days",
    "tissue_scales",
    "turnover_shares",
]

REMOVAL_COUNTERS: tuple[str, ...] = (
    "deaths",
    "cleared_immune",
    "cleared_senolytic",
    "cleared_genetic",
    "killed_off_target",
)
"""Counters of cells that left the tissue and were replaced (deaths, clearances and
senolytic off-target kills; ``supplied_out`` is not: the dividing stem cell stays)."""

DEFAULT_EXCLUDED_GROUPS: tuple[str, ...] = ("stem",)
"""Groups left out of ``answer_table``'s first exhaustion and failure by default."""

_RUN_KEYS: tuple[str, ...] = ("run_id", "arm", "replicate")


# --------------------------------------------------------------------------------------
# the body
# --------------------------------------------------------------------------------------


def _as_bool(values: pd.Series) -> pd.Series:
    """Booleans from bools, numbers or text (``true``/``false``, ``yes``/``no``, 1/0)."""
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        return values.astype(bool)
    words = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}
    out = values.map(lambda v: words.get(str(v).strip().lower()) if isinstance(v, str) else v)
    if out.isna().any():
        raise ValueError(f"in_burden: not a boolean: {values[out.isna()].tolist()}")
    return out.astype(bool)


def _body(tissues: pd.DataFrame) -> pd.DataFrame:
    """The tissues table checked, indexed by tissue name, with columns ``n_cells``,
    ``cells_in_body``, ``scale`` (real cells per slot), ``group`` and ``in_burden``."""
    missing = [c for c in ("tissue", "n_cells") if c not in tissues.columns]
    if missing:
        raise KeyError(f"tissues table has no column(s) {missing}")
    names = tissues["tissue"].astype(str).tolist()
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"tissues table names {duplicated} more than once")
    n_cells = tissues["n_cells"].astype(float).to_numpy()
    if not np.all(np.isfinite(n_cells) & (n_cells > 0)):
        raise ValueError("tissues table: n_cells must be positive")
    if "cells_in_body" in tissues.columns:
        real = tissues["cells_in_body"].astype(float).to_numpy()
    else:
        real = np.full(len(names), np.nan)
    if np.any(real[np.isfinite(real)] <= 0):
        raise ValueError("tissues table: cells_in_body must be positive (or NaN)")
    if "group" in tissues.columns:
        group = tissues["group"].astype(str).to_numpy(dtype=object)
    else:
        group = np.full(len(names), "other", dtype=object)
    if "in_burden" in tissues.columns:
        in_burden = _as_bool(tissues["in_burden"]).to_numpy()
    else:
        in_burden = np.ones(len(names), dtype=bool)
    return pd.DataFrame(
        {
            "n_cells": n_cells,
            "cells_in_body": real,
            "scale": np.where(np.isfinite(real), real / n_cells, 1.0),
            "group": group,
            "in_burden": in_burden,
        },
        index=pd.Index(names, name="tissue"),
    )


def tissue_scales(tissues: pd.DataFrame) -> pd.Series:
    """Real cells per simulated slot of each tissue: ``cells_in_body / n_cells`` (1 where
    ``cells_in_body`` is NaN or absent), indexed by tissue name, in the table's order.

    Args:
        tissues: one row per tissue: ``tissue``, ``n_cells``, ``cells_in_body`` (the
            body's tissue table).
    """
    return _body(tissues)["scale"].rename("scale")


def _run_meta(table: pd.DataFrame) -> pd.DataFrame:
    """``run_id``, ``arm``, ``replicate`` (those present) of each run, in order of first
    appearance, one row per run, ``run_id`` as text."""
    keys = [k for k in _RUN_KEYS if k in table.columns]
    meta = table[keys].drop_duplicates("run_id", keep="first").reset_index(drop=True)
    meta["run_id"] = meta["run_id"].astype(str)
    if "arm" in meta.columns:
        meta["arm"] = meta["arm"].astype(str)
    return meta


# --------------------------------------------------------------------------------------
# events per tissue
# --------------------------------------------------------------------------------------


def _per_tissue(runs: pd.DataFrame, suffix: str, standard: bool) -> tuple[pd.DataFrame, list[str]]:
    """One column per tissue of the runs' ``<suffix>`` values: the primary tissue's from
    the unprefixed column (its name from ``tissue``), the others' from ``T.<suffix>``."""
    if "tissue" not in runs.columns:
        raise KeyError("runs table has no column 'tissue' (the primary tissue's name)")
    primary = runs["tissue"].astype(str)
    names = [str(t) for t in pd.unique(primary)]
    others = [c[: -len(suffix) - 1] for c in runs.columns if str(c).endswith(f".{suffix}")]
    names += [t for t in others if t not in names]
    values = pd.DataFrame(np.nan, index=runs.index, columns=names, dtype=float)
    for t in others:
        values[t] = runs[f"{t}.{suffix}"].astype(float)
    if suffix in runs.columns:
        own = runs[suffix].astype(float)
    elif standard:
        own = pd.Series(np.nan, index=runs.index, dtype=float)
    else:
        raise KeyError(f"runs table has no column {suffix!r}")
    for t in pd.unique(primary):
        mask = (primary == t).to_numpy()
        values.loc[mask, t] = own[mask].to_numpy()
    return values, names


def _with_run_keys(runs: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    keys = pd.DataFrame(index=runs.index)
    for k in _RUN_KEYS:
        if k in runs.columns:
            keys[k] = runs[k].astype(str) if k in ("run_id", "arm") else runs[k]
    keys["end_day"] = _censor_day(runs).to_numpy(dtype=float)
    return pd.concat([keys, values], axis=1).reset_index(drop=True)


def tissue_event_days(runs: pd.DataFrame, event: str) -> pd.DataFrame:
    """The day (organism age, days) each tissue first reached ``event``, one row per run.

    Columns: ``run_id``, ``arm``, ``replicate`` (those present), ``end_day`` (the censoring
    day), then one column per tissue: the primary tissue first (``<event>_day``, named by
    ``tissue``), then the others (``T.<event>_day``) in the table's order; NaN where not
    reached. ``event``: one of ``EVENTS`` (a missing primary column is NaN) or any name
    with such columns.

    Args:
        runs: a ``runs`` table of a model of several tissues.
        event: the event.
    """
    values, _ = _per_tissue(runs, f"{event}_day", standard=event in EVENTS)
    return _with_run_keys(runs, values)


def tissue_counter_totals(runs: pd.DataFrame, counter: str) -> pd.DataFrame:
    """Each tissue's ``<counter>_total`` (events since the run started), one row per run:
    the same layout as ``tissue_event_days`` (``divisions_total`` for the primary tissue,
    ``T.divisions_total`` for the others).

    Args:
        runs: a ``runs`` table of a model of several tissues.
        counter: an event counter (``kernels.layout.COUNTER_NAMES``).
    """
    values, _ = _per_tissue(runs, f"{counter}_total", standard=False)
    return _with_run_keys(runs, values)


def _tissue_columns(table: pd.DataFrame) -> list[str]:
    return [c for c in table.columns if c not in (*_RUN_KEYS, "end_day")]


def first_tissue(
    runs: pd.DataFrame, event: str, tissues_considered: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per run, the first tissue to reach ``event`` and the day it did.

    Columns: ``run_id``, ``arm``, ``replicate``, ``end_day``, ``first_tissue`` (None when no
    considered tissue reached it), ``first_day`` (organism age, days; NaN when none did),
    ``n_tied`` (tissues that reached it on that same day; 0 when none did), ``observed``
    (bool) and ``time_years`` (``first_day`` or, censored, ``end_day``, / 365.25).
    ``tissues_considered``: the tissues to look at (default all; e.g. leave out stem
    compartments or erythrocytes); a name the runs table does not have is an error. Ties
    go to the first tied tissue in ``tissues_considered`` (or the table's) order.

    Args:
        runs: a ``runs`` table of a model of several tissues.
        event: the event.
        tissues_considered: the tissues among which the first is read (None: all).
    """
    days = tissue_event_days(runs, event)
    names = _tissue_columns(days)
    if tissues_considered is not None:
        wanted = [str(t) for t in tissues_considered]
        unknown = [t for t in wanted if t not in names]
        if unknown:
            raise ValueError(f"tissues {unknown} have no {event} day in the runs table {names}")
        names = wanted
    values = days[names].to_numpy(dtype=float).reshape(len(days), len(names))
    masked = np.where(np.isfinite(values), values, np.inf)
    first_day = masked.min(axis=1, initial=np.inf)
    reached = np.isfinite(first_day)
    first_day = np.where(reached, first_day, np.nan)
    first_name: list[str | None] = []
    n_tied = np.zeros(len(days), dtype=int)
    for i in range(len(days)):
        if not reached[i]:
            first_name.append(None)
            continue
        at = np.flatnonzero(values[i] == first_day[i])
        first_name.append(names[at[0]])
        n_tied[i] = at.size
    out = days[[c for c in days.columns if c in (*_RUN_KEYS, "end_day")]].copy()
    out["first_tissue"] = pd.Series(first_name, dtype=object)
    out["first_day"] = first_day
    out["n_tied"] = n_tied
    out["observed"] = reached
    out["time_years"] = np.where(reached, first_day, out["end_day"]) / DAYS_PER_YEAR
    return out


# --------------------------------------------------------------------------------------
# the body's state by age
# --------------------------------------------------------------------------------------


def _body_tissues_in(traj: pd.DataFrame, names: Sequence[str]) -> None:
    """ValueError when a tissue of the body has no row at all in the trajectories."""
    present = set(traj["tissue"].astype(str))
    absent = [t for t in names if t not in present]
    if absent:
        raise ValueError(f"tissues {absent} of the tissues table are not in the trajectories")


def _asof_wide(traj: pd.DataFrame, names: Sequence[str], column: str) -> pd.DataFrame:
    """Index (``run_id``, ``day``): every day a run recorded any of ``names``; one column
    per tissue of ``names``: its ``column`` at its last record at or before that day (NaN
    before its first record and for a tissue the run did not record; the columns read
    here are counts, never NaN in a record). Runs in order of first appearance, days
    ascending."""
    if column not in traj.columns:
        raise KeyError(f"trajectories table has no column {column!r}")
    t = traj.loc[traj["tissue"].astype(str).isin(names), ["run_id", "tissue", "day", column]]
    t = t.assign(
        run_id=t["run_id"].astype(str),
        tissue=t["tissue"].astype(str),
        day=t["day"].astype(float),
        _value=t[column].astype(float),
    )
    t = t.sort_values(["run_id", "day"], kind="stable")
    t = t.drop_duplicates(["run_id", "tissue", "day"], keep="last")
    value = t.pivot(index=["run_id", "day"], columns="tissue", values="_value")
    value = value.reindex(columns=list(names))
    filled = value.groupby(level="run_id", sort=False).ffill()
    order = {r: i for i, r in enumerate(pd.unique(traj["run_id"].astype(str)))}
    runs = filled.index.get_level_values("run_id").map(order).to_numpy()
    return filled.iloc[np.argsort(runs, kind="stable")]


def _keys_frame(traj: pd.DataFrame, index: pd.MultiIndex) -> pd.DataFrame:
    """``run_id``, ``arm``, ``replicate``, ``day``, ``age_years`` for an index of
    (``run_id``, ``day``)."""
    meta = _run_meta(traj).set_index("run_id")
    run_id = index.get_level_values("run_id").astype(str)
    out = pd.DataFrame({"run_id": np.asarray(run_id, dtype=object)})
    for k in ("arm", "replicate"):
        if k in meta.columns:
            out[k] = meta[k].reindex(run_id).to_numpy()
    out["day"] = index.get_level_values("day").to_numpy(dtype=float)
    out["age_years"] = out["day"] / DAYS_PER_YEAR
    return out


def body_burden(trajectories: pd.DataFrame, tissues: pd.DataFrame) -> pd.DataFrame:
    """The body's senescent burden per run and recorded day.

    Over the tissues with ``in_burden``: ``senescent_real_cells`` = sum of scale *
    ``n_senescent`` (real cells), ``body_real_cells`` = sum of scale * ``n_cells`` (real
    cells: each sample's slots scaled up), and ``senescent_burden_fraction``, their ratio.
    Columns: ``run_id``, ``arm``, ``replicate``, ``day``, ``age_years`` and those three.
    Days: every day the run recorded any of these tissues; each tissue's last record at or
    before it is used (NaN burden until every tissue has one). Trajectory tissues not in
    the tissues table are ignored; a table tissue absent from the trajectories is an error.

    Args:
        trajectories: a ``trajectories`` table of a model of several tissues.
        tissues: the body's tissue table (``tissue_scales``).
    """
    body = _body(tissues)
    body = body[body["in_burden"]]
    names = body.index.tolist()
    _body_tissues_in(trajectories, names)
    wide = _asof_wide(trajectories, names, "n_senescent")
    scale = body["scale"].to_numpy(dtype=float)
    senescent = (wide.to_numpy(dtype=float) * scale).sum(axis=1)  # NaN if any is NaN
    body_cells = float((scale * body["n_cells"].to_numpy(dtype=float)).sum())
    out = _keys_frame(trajectories, wide.index)
    out["senescent_real_cells"] = senescent
    out["body_real_cells"] = body_cells
    out["senescent_burden_fraction"] = senescent / body_cells if body_cells > 0 else np.nan
    return out


def body_divisions_per_day(trajectories: pd.DataFrame, tissues: pd.DataFrame) -> pd.DataFrame:
    """The body's real divisions per day by age, per run, between consecutive records.

    ``divisions_real_per_day`` = (sum over the table's tissues of scale *
    (``divisions_cumulative`` + ``supplied_in_cumulative``, when recorded: a supplied cell
    counts as the division that made it), difference between two records) / (days
    between them).
    Columns: ``run_id``, ``arm``, ``replicate``, ``from_day``, ``day`` (the interval's end),
    ``age_years`` (at ``day``) and ``divisions_real_per_day``; one row per recorded day but
    a run's first. Where tissues are recorded on different days, each one's last record at
    or before a day is used (its divisions count at its records: a step interpolation).

    Args:
        trajectories: a ``trajectories`` table of a model of several tissues.
        tissues: the body's tissue table (``tissue_scales``).
    """
    body = _body(tissues)
    names = body.index.tolist()
    _body_tissues_in(trajectories, names)
    wide = _asof_wide(trajectories, names, "divisions_cumulative")
    made = wide.to_numpy(dtype=float)
    if "supplied_in_cumulative" in trajectories.columns:  # as body_divisions_per_day_mean
        made = made + np.nan_to_num(
            _asof_wide(trajectories, names, "supplied_in_cumulative").to_numpy(dtype=float)
        )
    real = (made * body["scale"].to_numpy(dtype=float)).sum(axis=1)
    out = _keys_frame(trajectories, wide.index)
    run = out["run_id"]
    same_run = (run == run.shift()).to_numpy()
    previous_day = out["day"].shift().to_numpy(dtype=float)
    interval = out["day"].to_numpy(dtype=float) - previous_day
    delta = real - np.roll(real, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(interval > 0, delta / interval, np.nan)
    out.insert(out.columns.get_loc("day"), "from_day", previous_day)
    out["divisions_real_per_day"] = rate
    return out[same_run].reset_index(drop=True)


def _supplied_totals(runs: pd.DataFrame, names: list[str]) -> np.ndarray | None:
    """Per run and tissue, the cells a stem compartment's lineage supplied
    (``supplied_in_total``; 0 where a tissue has none), or None without such counters."""
    try:
        sup = tissue_counter_totals(runs, "supplied_in")
    except (KeyError, ValueError):
        return None
    cols = [sup[t].to_numpy(dtype=float) if t in sup.columns else np.zeros(len(sup)) for t in names]
    return np.nan_to_num(np.column_stack(cols)) if cols else None


def body_divisions_per_day_mean(runs: pd.DataFrame, tissues: pd.DataFrame) -> pd.DataFrame:
    """The body's real divisions per day over each run, from the runs' counters.

    ``divisions_real_per_day`` = sum over the table's tissues of scale * (``divisions_total``
    + ``supplied_in_total``) / (``end_day`` - ``start_day``) (``start_day`` 0 when absent):
    a cell supplied by a stem compartment counts as the division that made it (the last
    progenitor division; the progenitor divisions before it are not simulated one by one),
    a tissue's own divisions as themselves.
    Columns: ``run_id``, ``arm``, ``replicate``, ``run_days`` and ``divisions_real_per_day``.
    A table tissue without a divisions counter in ``runs`` is an error.

    Args:
        runs: a ``runs`` table of a model of several tissues.
        tissues: the body's tissue table (``tissue_scales``).
    """
    body = _body(tissues)
    totals = tissue_counter_totals(runs, "divisions")
    absent = [t for t in body.index if t not in totals.columns]
    if absent:
        raise ValueError(f"tissues {absent} have no divisions counter in the runs table")
    names = body.index.tolist()
    made = totals[names].to_numpy(dtype=float)
    supplied = _supplied_totals(runs, names)
    if supplied is not None:
        made = made + supplied
    real = (made * body["scale"].to_numpy()).sum(1)
    start = runs["start_day"].astype(float) if "start_day" in runs.columns else 0.0
    run_days = (_censor_day(runs) - start).to_numpy(dtype=float)
    out = totals[[k for k in _RUN_KEYS if k in totals.columns]].copy()
    out["run_days"] = run_days
    with np.errstate(divide="ignore", invalid="ignore"):
        out["divisions_real_per_day"] = np.where(run_days > 0, real / run_days, np.nan)
    return out


# --------------------------------------------------------------------------------------
# turnover
# --------------------------------------------------------------------------------------


def _tissue_removal_rate(
    g: pd.DataFrame, columns: list[str], from_day: float, to_day: float
) -> float:
    """Cells of one tissue's sample removed per day between its last records at or before
    ``from_day`` (its first record when none) and ``to_day``; NaN without an interval."""
    days = g["day"].to_numpy(dtype=float)
    removed = g[columns].to_numpy(dtype=float).sum(axis=1)
    i0 = max(int(np.searchsorted(days, from_day + 1e-9, side="right")) - 1, 0)
    i1 = int(np.searchsorted(days, to_day + 1e-9, side="right")) - 1
    if i1 <= i0:
        return math.nan
    return float((removed[i1] - removed[i0]) / (days[i1] - days[i0]))


def body_turnover(
    trajectories: pd.DataFrame,
    tissues: pd.DataFrame,
    from_day: float | None = None,
    to_day: float | None = None,
    by: str = "group",
    counters: Sequence[str] = REMOVAL_COUNTERS,
) -> pd.DataFrame:
    """Real cells removed (and replaced) per day in the body, per run and ``by`` value.

    Per tissue of the table: scale * (sum of the ``<counter>_cumulative`` columns of
    ``counters``, default deaths and clearances, at its last record at or before
    ``to_day`` minus at ``from_day``) / the days between those two records; summed per
    ``by`` (``"group"`` or ``"tissue"``). The window defaults to the run's whole record:
    from the first day every tissue has a record to the last day all have one; it is
    clipped to that span. Columns: ``run_id``, ``arm``, ``replicate``, ``from_day``,
    ``to_day``, the ``by`` column, ``replaced_real_cells_per_day``,
    ``body_replaced_real_cells_per_day`` (the run's total) and ``share_fraction`` (of that
    total). NaN where a tissue has no interval in the window (e.g. a run that did not
    record it).

    Args:
        trajectories: a ``trajectories`` table of a model of several tissues.
        tissues: the body's tissue table (with ``group`` for ``by = "group"``).
        from_day: the window's start (organism age, days; None: the record's).
        to_day: the window's end (days; None: the record's).
        by: ``"group"`` or ``"tissue"``.
        counters: the counters summed (cells removed).
    """
    if by not in ("group", "tissue"):
        raise ValueError(f"by = {by!r}: must be 'group' or 'tissue'")
    body = _body(tissues)
    names = body.index.tolist()
    _body_tissues_in(trajectories, names)
    columns = [f"{c}_cumulative" for c in counters]
    missing = [c for c in columns if c not in trajectories.columns]
    if missing:
        raise KeyError(f"trajectories table has no column(s) {missing}")
    t = trajectories[trajectories["tissue"].astype(str).isin(names)]
    t = t.assign(run_id=t["run_id"].astype(str), tissue=t["tissue"].astype(str))
    t = t.sort_values(["run_id", "day"], kind="stable")
    key = body["group"] if by == "group" else pd.Series(body.index, index=body.index)
    labels = list(pd.unique(key))
    by_run = dict(tuple(t.groupby("run_id", sort=False)))
    rows = []
    for meta in _run_meta(trajectories).itertuples(index=False):
        run = by_run.get(meta.run_id, t.iloc[:0])
        per_tissue = dict(tuple(run.groupby("tissue", sort=False)))
        lo = max((float(g["day"].iloc[0]) for g in per_tissue.values()), default=math.nan)
        hi = min((float(g["day"].iloc[-1]) for g in per_tissue.values()), default=math.nan)
        start = lo if from_day is None else min(max(float(from_day), lo), hi)
        end = hi if to_day is None else max(min(float(to_day), hi), lo)
        rate = pd.Series(math.nan, index=body.index, dtype=float)
        for name, g in per_tissue.items():
            rate[name] = _tissue_removal_rate(g, columns, start, end)
        real = rate * body["scale"]
        by_label = real.groupby(key, sort=False).agg(lambda s: s.sum(skipna=False))
        total = float(real.sum(skipna=False))
        for label in labels:
            value = float(by_label[label])
            rows.append(
                {
                    **meta._asdict(),
                    "from_day": start,
                    "to_day": end,
                    by: label,
                    "replaced_real_cells_per_day": value,
                    "body_replaced_real_cells_per_day": total,
                    "share_fraction": value / total if total > 0 else math.nan,
                }
            )
    return pd.DataFrame(rows)


def turnover_shares(turnover: pd.DataFrame) -> pd.DataFrame:
    """Per arm and group (or tissue) of a ``body_turnover`` table: ``runs``,
    ``replaced_real_cells_per_day`` (mean over runs) and ``share_fraction``: the group's
    mean over the mean body total (a ratio of means, not a mean of ratios).

    Args:
        turnover: a ``body_turnover`` table.
    """
    by = "group" if "group" in turnover.columns else "tissue"
    arm = turnover["arm"] if "arm" in turnover.columns else pd.Series("", index=turnover.index)
    rows = []
    for a in pd.unique(arm):
        sel = turnover[arm == a]
        total = float(sel.drop_duplicates("run_id")["body_replaced_real_cells_per_day"].mean())
        for label, g in sel.groupby(by, sort=False):
            mean = float(g["replaced_real_cells_per_day"].mean())
            rows.append(
                {
                    "arm": a,
                    by: label,
                    "runs": int(g["run_id"].nunique()),
                    "replaced_real_cells_per_day": mean,
                    "share_fraction": mean / total if total > 0 else math.nan,
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------
# the answer table
# --------------------------------------------------------------------------------------


def _median_ci_years(
    time_years: pd.Series, observed: pd.Series, level: float
) -> tuple[float, float, float, float]:
    """Kaplan-Meier median (years), its CI at ``level`` and the largest follow-up time.

    ``analysis.exhaustion.kaplan_meier`` gives the median and, at its 95% level, the CI;
    at another level the same log-log band (``scipy.stats.ecdf``) is read the same way.
    """
    km = kaplan_meier(time_years, observed)
    low, high = km.median_ci_low_years, km.median_ci_high_years
    if km.n_events and not math.isclose(level, CONFIDENCE_LEVEL):
        t = np.asarray(time_years, dtype=float)
        obs = np.asarray(observed, dtype=bool)
        keep = np.isfinite(t)
        res = stats.ecdf(stats.CensoredData.right_censored(t[keep], ~obs[keep]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # undefined where S = 1 or 0
            ci = res.sf.confidence_interval(level, method="log-log")
        surv = np.asarray(res.sf.probabilities, dtype=float)
        band_low = np.where(surv >= 1.0, 1.0, np.asarray(ci.low.probabilities, dtype=float))
        band_high = np.where(surv >= 1.0, 1.0, np.asarray(ci.high.probabilities, dtype=float))
        band_low = np.where(surv <= 0.0, 0.0, band_low)
        band_high = np.where(surv <= 0.0, np.nan, band_high)
        times = np.asarray(res.sf.quantiles, dtype=float)
        low = _first_time_at_or_below(times, band_low, 0.5)
        high = _first_time_at_or_below(times, band_high, 0.5)
    return km.median_years, low, high, km.followup_max_years


def _most_frequent(names: pd.Series, order: Sequence[str]) -> tuple[str | None, int]:
    """The most frequent name (ties: the first in ``order``) and its count; (None, 0)."""
    counts = names.dropna().astype(str).value_counts()
    if counts.empty:
        return None, 0
    top = int(counts.max())
    winners = set(counts[counts == top].index)
    return next(n for n in [*order, *sorted(winners)] if n in winners), top


def _divisions_per_run(runs: pd.DataFrame, tissues: pd.DataFrame) -> pd.Series:
    """Each run's body divisions per day (real), NaN when the counters are absent."""
    try:
        d = body_divisions_per_day_mean(runs, tissues)
    except (KeyError, ValueError):
        return pd.Series(np.nan, index=range(len(runs)), dtype=float)
    return d["divisions_real_per_day"].astype(float)


def answer_table(
    runs: pd.DataFrame,
    tissues: pd.DataFrame,
    control: str | None = None,
    level: float = CONFIDENCE_LEVEL,
    tissues_considered: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per arm (in order of first appearance): which tissue gives out first, and when.

    Columns: ``arm``, ``n_runs``; for each event ``e`` of ``EVENTS``:
    ``first_e_tissue`` (the tissue most often first to reach ``e``; None when no run
    reached it), ``first_e_tissue_runs`` (in how many runs it was first) and
    ``first_e_tissue_share`` (that over ``n_runs``); ``first_e_median_years``,
    ``first_e_ci_low_years``, ``first_e_ci_high_years`` (Kaplan-Meier median age of the
    first ``e`` of any considered tissue, and its CI at ``level``; NaN when not reached),
    ``first_e_censored`` (runs where no considered tissue reached ``e``: censored at
    ``end_day``) and ``first_e_followup_max_years``; then ``first_exhaustion_logrank_p``
    (two-sided log-rank vs ``control``, default the first arm; NaN for the control) and
    ``body_divisions_real_per_day_mean`` (the body's real divisions per day over each run,
    from the runs' ``divisions_total`` counters, mean over runs; NaN without them).

    Tissues considered: for exhaustion and failure, ``tissues_considered`` (default: the
    tissues table's, but those of ``DEFAULT_EXCLUDED_GROUPS``, the stem compartments);
    for neoplasia, every tissue of the tissues table.

    Args:
        runs: a ``runs`` table of the body scenario.
        tissues: the body's tissue table.
        control: the control arm.
        level: the confidence intervals' level.
        tissues_considered: the tissues among which the first is read (None: all).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level = {level}: must be between 0 and 1")
    body = _body(tissues)
    all_names = body.index.tolist()
    if tissues_considered is None:
        considered = [t for t in all_names if body.at[t, "group"] not in DEFAULT_EXCLUDED_GROUPS]
    else:
        considered = [str(t) for t in tissues_considered]
    arms = arms_in_order(runs)
    if control is None:
        control = arms[0] if arms else None
    elif arms and str(control) not in arms:
        raise ValueError(f"control arm {control!r} not among the arms {arms}")

    firsts = {
        e: first_tissue(runs, e, all_names if e == "neoplasia" else considered) for e in EVENTS
    }
    # the first event of any tissue as a runs table of its own, for event_times / logrank
    first_runs = firsts["exhaustion"][["run_id", "arm", "end_day"]].copy()
    for e in EVENTS:
        first_runs[f"first_{e}_day"] = firsts[e]["first_day"].to_numpy(dtype=float)
    divisions = _divisions_per_run(runs, tissues).to_numpy(dtype=float)
    arm_col = first_runs["arm"]

    rows: list[dict[str, object]] = []
    for arm in arms:
        sel = (arm_col == arm).to_numpy()
        row: dict[str, object] = {"arm": arm, "n_runs": int(sel.sum())}
        for e in EVENTS:
            order = all_names if e == "neoplasia" else considered
            name, count = _most_frequent(firsts[e].loc[sel, "first_tissue"], order)
            row[f"first_{e}_tissue"] = name
            row[f"first_{e}_tissue_runs"] = count
            row[f"first_{e}_tissue_share"] = count / row["n_runs"] if row["n_runs"] else np.nan
            times = event_times(first_runs.loc[sel], f"first_{e}")
            median, low, high, followup = _median_ci_years(
                times["time_years"], times["observed"], level
            )
            row[f"first_{e}_median_years"] = median
            row[f"first_{e}_ci_low_years"] = low
            row[f"first_{e}_ci_high_years"] = high
            row[f"first_{e}_censored"] = int((~times["observed"]).sum())
            row[f"first_{e}_followup_max_years"] = followup
        row["first_exhaustion_logrank_p"] = (
            math.nan if control is None else logrank(first_runs, "first_exhaustion", arm, control)
        )
        row["body_divisions_real_per_day_mean"] = (
            float(np.nanmean(divisions[sel])) if np.isfinite(divisions[sel]).any() else math.nan
        )
        rows.append(row)
    columns = ["arm", "n_runs"]
    for e in EVENTS:
        columns += [
            f"first_{e}_{c}"
            for c in (
                "tissue",
                "tissue_runs",
                "tissue_share",
                "median_years",
                "ci_low_years",
                "ci_high_years",
                "censored",
                "followup_max_years",
            )
        ]
    columns += ["first_exhaustion_logrank_p", "body_divisions_real_per_day_mean"]
    table = pd.DataFrame(rows, columns=columns)
    for e in EVENTS:  # keep None (no run reached it) as None, not NaN
        names = [r[f"first_{e}_tissue"] for r in rows]
        table[f"first_{e}_tissue"] = pd.Series(names, index=table.index, dtype=object)
    table.attrs.update(control=control, level=level, tissues_considered=considered)
    return table


def tissue_table(
    runs: pd.DataFrame, tissues: pd.DataFrame, level: float = CONFIDENCE_LEVEL
) -> pd.DataFrame:
    """Per arm and tissue: the Kaplan-Meier median age (years) of the tissue's exhaustion
    and failure with its CI at ``level`` (runs where the tissue did not reach the event
    censored at ``end_day``), how many runs reached each, and the tissue's real divisions
    over the run (scale * (``divisions_total`` + ``supplied_in_total``), mean over runs).

    Columns: ``arm``, ``tissue``, ``group``, ``runs``; for ``e`` in exhaustion and
    failure: ``e_median_years``, ``e_ci_low_years``, ``e_ci_high_years``, ``e_runs``;
    then ``divisions_real_total_mean``.

    Args:
        runs: a ``runs`` table of the body scenario.
        tissues: the body's tissue table.
        level: the confidence intervals' level.
    """
    body = _body(tissues)
    names = body.index.tolist()
    days = {e: tissue_event_days(runs, e) for e in ("exhaustion", "failure")}
    made = tissue_counter_totals(runs, "divisions")[names].to_numpy(dtype=float)
    supplied = _supplied_totals(runs, names)
    if supplied is not None:
        made = made + supplied
    made = made * body["scale"].to_numpy(dtype=float)
    arm_col = runs["arm"].astype(str).to_numpy()
    rows = []
    for arm in arms_in_order(runs):
        sel = arm_col == arm
        for j, name in enumerate(names):
            row: dict[str, object] = {
                "arm": arm,
                "tissue": name,
                "group": body.at[name, "group"],
                "runs": int(sel.sum()),
            }
            for e, table in days.items():
                one = table.loc[sel, ["run_id", "arm", "end_day"]].assign(
                    **{f"{e}_day": table.loc[sel, name].to_numpy(dtype=float)}
                )
                t = event_times(one, e)
                median, low, high, _ = _median_ci_years(t["time_years"], t["observed"], level)
                row.update(
                    {
                        f"{e}_median_years": median,
                        f"{e}_ci_low_years": low,
                        f"{e}_ci_high_years": high,
                        f"{e}_runs": int(t["observed"].sum()),
                    }
                )
            row["divisions_real_total_mean"] = float(np.mean(made[sel, j]))
            rows.append(row)
    return pd.DataFrame(rows)


def _first_cell(row: pd.Series, event: str) -> str:
    """E.g. ``colon (6/8)``; ``none`` when no run reached the event."""
    name = row[f"first_{event}_tissue"]
    if name is None or (isinstance(name, float) and math.isnan(name)):
        return "none"
    return f"{name} ({int(row[f'first_{event}_tissue_runs'])}/{int(row['n_runs'])})"


def answer_display(table: pd.DataFrame) -> pd.DataFrame:
    """The answer table as display strings, one row per arm, with readable headers.

    Age cells read ``median [CI low, high]`` in years (``analysis.exhaustion``'s style), or
    ``> T (k/n censored)`` when the median is not reached by the last follow-up T.

    Args:
        table: an ``answer_table``.
    """
    level = float(table.attrs.get("level", CONFIDENCE_LEVEL))
    ci = f"{100 * level:g}% CI"
    control = table.attrs.get("control")
    if control is None and len(table):
        control = str(table["arm"].iloc[0])
    headers = {
        "first_exhaustion": (
            "first exhausted",
            f"first exhaustion, age in years [{ci}]",
        ),
        "first_failure": ("first failed", f"first failure, age in years [{ci}]"),
        "first_neoplasia": (None, f"first neoplasia, age in years [{ci}]"),
    }
    records = []
    for _, row in table.iterrows():
        rec = {"arm": str(row["arm"]), "runs": str(int(row["n_runs"]))}
        for key, (which, when) in headers.items():
            if which is not None:
                rec[which] = _first_cell(row, key.removeprefix("first_"))
            rec[when] = _event_cell(row, key)
        rate = float(row.get("body_divisions_real_per_day_mean", math.nan))
        rec["body divisions per day"] = f"{rate:.3g}" if math.isfinite(rate) else "n/a"
        rec["first exhaustion log-rank p"] = _fmt_p(
            float(row.get("first_exhaustion_logrank_p", math.nan)), str(row["arm"]) == control
        )
        records.append(rec)
    columns = ["arm", "runs"]
    for which, when in headers.values():
        columns += [h for h in (which, when) if h is not None]
    columns += ["body divisions per day", "first exhaustion log-rank p"]
    return pd.DataFrame(records, columns=columns)


def format_answer(table: pd.DataFrame) -> list[str]:
    """The answer table as aligned text lines: a header line, a rule, one line per arm.

    Args:
        table: an ``answer_table``.
    """
    return fixed_width_lines(answer_display(table))


# --------------------------------------------------------------------------------------
# the figure
# --------------------------------------------------------------------------------------


def _tissue_palette(names: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """A fixed colour per tissue (in the tissues table's order), the same in every panel:
    tab10's ten strong colours first, then tab20's ten pale ones, then husl."""
    n = max(len(names), 1)
    if n <= 20:
        tab20 = sns.color_palette("tab20", 20)
        colors = [tab20[i] for i in (*range(0, 20, 2), *range(1, 20, 2))]
    else:
        colors = sns.color_palette("husl", n)
    return {t: colors[i] for i, t in enumerate(names)}


def _bands(df: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per (arm, age): the 10th, 50th and 90th percentiles of ``column`` over runs, after
    snapping days to the recording grid and carrying stopped runs forward."""
    grid = _carry_forward(_on_grid(df[["arm", "run_id", "day", column]]))
    q = grid.groupby(["arm", "age_years"], sort=True)[column].quantile([0.1, 0.5, 0.9])
    return q.unstack().rename(columns={0.1: "p10", 0.5: "p50", 0.9: "p90"}).reset_index()


def _pool_bands(traj: pd.DataFrame, names: Sequence[str]) -> dict[str, pd.DataFrame]:
    """Per tissue: the bands of ``pool_size`` / the run's first ``pool_size`` of it."""
    out = {}
    for name in names:
        t = traj[traj["tissue"].astype(str) == name]
        if t.empty:
            continue
        t = t.assign(
            arm=t["arm"].astype(str), run_id=t["run_id"].astype(str), day=t["day"].astype(float)
        ).sort_values(["run_id", "day"], kind="stable")
        first = t.groupby("run_id", sort=False)["pool_size"].transform("first").astype(float)
        pool = t["pool_size"].astype(float) / first.where(first > 0)
        out[name] = _bands(t.assign(pool_fraction=pool), "pool_fraction")
    return out


def plot_body(
    trajectories: pd.DataFrame,
    tissues: pd.DataFrame,
    path: str | os.PathLike[str],
    arms: Sequence[str] | None = None,
) -> Path:
    """The body by age, one column per arm (side by side), written as a PNG.

    Top row: each tissue's replicative pool (``pool_size``) as a fraction of its starting
    size, median over runs with a light 10-90% band, one colour per tissue (stem
    compartments, ``DEFAULT_EXCLUDED_GROUPS``, dashed). Bottom row: the body's senescent
    burden (``body_burden``, % of the body's real cells), median and 10-90% band. A run
    that stopped keeps its final state up to its arm's last age (as in ``analysis.plots``).
    ``arms`` defaults to every arm, in order of first appearance. Returns the path.

    Args:
        trajectories: a ``trajectories`` table of the body scenario.
        tissues: the body's tissue table.
        path: the PNG file to write.
        arms: the arms shown (None: all).
    """
    body = _body(tissues)
    present = set(trajectories["tissue"].astype(str)) if "tissue" in trajectories else set()
    names = [t for t in body.index if t in present]
    all_arms = arms_in_order(trajectories)
    arms = all_arms if arms is None else [str(a) for a in arms]
    unknown = [a for a in arms if a not in all_arms]
    if unknown:
        raise ValueError(f"arms {unknown} are not in the trajectories {all_arms}")
    traj = trajectories[trajectories["arm"].astype(str).isin(arms)] if arms else trajectories
    palette = _tissue_palette(names)
    dashes = {t: "--" if body.at[t, "group"] in DEFAULT_EXCLUDED_GROUPS else "-" for t in names}
    pools = _pool_bands(traj, names)
    burden = None
    if names and any(body.loc[names, "in_burden"]):
        b = body_burden(traj, body.loc[names].reset_index())
        b = b[np.isfinite(b["senescent_burden_fraction"].to_numpy(dtype=float))]
        if not b.empty:
            burden = _bands(b.assign(burden_pct=100 * b["senescent_burden_fraction"]), "burden_pct")

    n = max(len(arms), 1)
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(4.6 * n + 2.4, 7.4), layout="constrained")
        axes = fig.subplots(
            2, n, sharex="col", sharey="row", squeeze=False, height_ratios=[2.6, 1.2]
        )
        for j, arm in enumerate(arms or ["(no arms)"]):
            top, bottom = axes[0, j], axes[1, j]
            drawn = False
            for name, bands in pools.items():
                d = bands[bands["arm"] == arm]
                if d.empty:
                    continue
                x = d["age_years"].to_numpy(dtype=float)
                top.fill_between(x, d["p10"], d["p90"], color=palette[name], alpha=0.12, lw=0)
                top.plot(x, d["p50"], color=palette[name], lw=1.8, ls=dashes[name])
                drawn = True
            if not drawn:
                _no_data(top, "pool records")
            else:
                top.set_ylim(bottom=0)
                top.axhline(1.0, color="0.6", lw=0.8, ls=":")
            top.set_title(arm)
            if j == 0:
                top.set_ylabel("replicative pool\n(fraction of its starting size)")
            d = burden[burden["arm"] == arm] if burden is not None else pd.DataFrame()
            if d.empty:
                _no_data(bottom, "senescent burden")
            else:
                x = d["age_years"].to_numpy(dtype=float)
                bottom.fill_between(x, d["p10"], d["p90"], color="0.2", alpha=0.15, lw=0)
                bottom.plot(x, d["p50"], color="0.15", lw=1.8)
                bottom.set_ylim(bottom=0)
            bottom.set_xlabel("organism age (years)")
            if j == 0:
                bottom.set_ylabel("senescent burden\n(% of the body's cells)")
        if names:
            handles = [Line2D([], [], color=palette[t], lw=2.5, ls=dashes[t]) for t in names]
            labels = [f"{t} ({body.at[t, 'group']})" for t in names]
            fig.legend(handles, labels, title="tissue (group)", loc="outside right upper")
        fig.suptitle(
            "The body by age: each tissue's replicative pool and the senescent burden\n"
            "(median over runs, band 10-90%; a run that stopped keeps its final state)"
        )
    return _save(fig, path)
