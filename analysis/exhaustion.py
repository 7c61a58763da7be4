"""Event times per run, Kaplan-Meier survival per arm, and comparisons between arms.

Pure functions over the ``runs`` result table (one row per run). Nothing here imports the
simulator; the only contract is the result schema:

- ``<event>_day``: organism age (days) at which the event was first reached, NaN if it was
  not reached before the run stopped;
- ``end_day``: organism age (days) at which the run stopped, the right-censoring time
  (``horizon_day`` is used where ``end_day`` is missing).

Time scale. Times are organism age in years (``day / 365.25``), not time since the run
started: an event observed at ``exhaustion_day`` has time ``exhaustion_day / 365.25``; a run
that did not reach it is right-censored at ``end_day / 365.25``. A run that starts at
``start_day > 0`` cannot have an event before it, so with a common start age per arm the
Kaplan-Meier curve is the survival conditional on having reached that start age (it is flat
at 1 before it). Runs with different start ages within one arm would need a left-truncated
(delayed-entry) estimator, which is not done here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis import DAYS_PER_YEAR, EVENTS, STOP_REASONS

CONFIDENCE_LEVEL: float = 0.95

__all__ = [
    "CONFIDENCE_LEVEL",
    "DAYS_PER_YEAR",
    "EVENTS",
    "FAILURE_RULES",
    "STOP_REASONS",
    "KaplanMeier",
    "arms_in_order",
    "event_times",
    "format_stop_reasons",
    "format_summary",
    "kaplan_meier",
    "logrank",
    "stop_cell",
    "stop_columns",
    "stop_reason_text",
    "stop_reasons_by_arm",
    "summary_display",
    "summary_table",
]

FAILURE_RULES: tuple[str, ...] = ("failure_functional_fraction_min", "failure_neoplasia_fraction")
"""The primary tissue's failure rules, as ``runs`` columns."""


# --------------------------------------------------------------------------------------
# event times
# --------------------------------------------------------------------------------------


def arms_in_order(runs: pd.DataFrame) -> list[str]:
    """Arm names in the order they first appear in ``runs`` (or a trajectories table).

    Args:
        runs: a ``runs`` (or ``trajectories``) table.

    Example:
        >>> import pandas as pd
        >>> from analysis.exhaustion import arms_in_order
        >>> arms_in_order(pd.DataFrame({"arm": ["b", "a", "b"]}))
        ['b', 'a']
    """
    if "arm" not in runs.columns:
        return []
    return [str(a) for a in pd.unique(runs["arm"].astype(str))]


def _censor_day(runs: pd.DataFrame) -> pd.Series:
    """The censoring day of each run: ``end_day``, falling back to ``horizon_day``."""
    if "end_day" in runs.columns:
        end = runs["end_day"].astype(float)
        if "horizon_day" in runs.columns:
            end = end.fillna(runs["horizon_day"].astype(float))
        return end
    if "horizon_day" in runs.columns:
        return runs["horizon_day"].astype(float)
    raise KeyError("runs table has neither 'end_day' nor 'horizon_day' (the censoring time)")


def event_times(runs: pd.DataFrame, event: str) -> pd.DataFrame:
    """Time to ``event`` of every run, in years of organism age, with right censoring.

    Returns a DataFrame with columns ``arm``, ``run_id``, ``time_years`` and ``observed``
    (bool), in the row order of ``runs``. ``time_years`` is ``<event>_day / 365.25`` when the
    event was reached, else ``end_day / 365.25`` (censored). ``event`` is one of ``EVENTS``
    or any other name with a ``<event>_day`` column (e.g. ``"stem.exhaustion"``). A standard
    event whose column is absent is treated as never reached (all runs censored).

    Args:
        runs: a ``runs`` table.
        event: the event's name.

    Example:
        >>> import pandas as pd
        >>> from analysis.exhaustion import event_times
        >>> runs = pd.DataFrame({"arm": ["a", "a"], "run_id": ["a/r000", "a/r001"],
        ...                      "exhaustion_day": [3652.5, float("nan")],
        ...                      "end_day": [3652.5, 7305.0]})
        >>> event_times(runs, "exhaustion")[["time_years", "observed"]].values.tolist()
        [[10.0, True], [20.0, False]]
    """
    column = f"{event}_day"
    if column in runs.columns:
        event_day = runs[column].astype(float)
    elif event in EVENTS:
        event_day = pd.Series(np.nan, index=runs.index, dtype=float)
    else:
        raise KeyError(f"runs table has no column {column!r}")
    observed = event_day.notna()
    day = event_day.where(observed, _censor_day(runs))
    out = pd.DataFrame(
        {
            "arm": runs["arm"].astype(str) if "arm" in runs.columns else "",
            "run_id": runs["run_id"].astype(str) if "run_id" in runs.columns else "",
            "time_years": day.to_numpy(dtype=float) / DAYS_PER_YEAR,
            "observed": observed.to_numpy(dtype=bool),
        }
    )
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class KaplanMeier:
    """A Kaplan-Meier estimate of the probability that the event has not yet happened.

    The curve is a right-continuous step function: ``survival[i]`` holds on
    ``[times_years[i], times_years[i + 1])``. ``times_years`` starts at 0 (where S = 1) and
    lists every distinct observed time (events and censorings), so the curve extends to the
    last follow-up. ``ci_low``/``ci_high`` are the pointwise 95% log-log band (1 where
    S = 1; where S = 0 the lower band is 0 and the upper one undefined: NaN).
    """

    times_years: np.ndarray
    """The step times (years): 0, then every distinct observed time, increasing."""
    survival: np.ndarray
    """S: the fraction of runs still without the event, from each time to the next (0-1)."""
    ci_low: np.ndarray
    """Lower bound of the pointwise 95% log-log band of ``survival`` at each time (0-1)."""
    ci_high: np.ndarray
    """Upper bound of that band at each time (0-1; NaN where S = 0)."""
    median_years: float
    """The first time at which S <= 0.5 (years); NaN if S never gets there."""
    median_ci_low_years: float
    """Lower end of the median's 95% CI: where ``ci_low`` first reaches 0.5 (years; NaN if
    it never does)."""
    median_ci_high_years: float
    """Upper end of the median's 95% CI: where ``ci_high`` first reaches 0.5 (years; NaN if
    it never does)."""
    n: int
    """Number of observations (runs) with a finite time."""
    n_events: int
    """Number of them in which the event was observed (the rest are right-censored)."""
    censor_times_years: np.ndarray = field(default_factory=lambda: np.empty(0))
    """The right-censored times (years), sorted (for the tick marks of a plot)."""

    @property
    def n_censored(self) -> int:
        """Number of right-censored observations."""
        return self.n - self.n_events

    @property
    def followup_max_years(self) -> float:
        """The largest observed time (event or censoring), NaN when there is no data."""
        return float(self.times_years[-1]) if self.n else math.nan

    def survival_at(self, t_years: np.ndarray | float) -> np.ndarray:
        """S(t) of the step function at the given times (NaN past the last follow-up).

        Args:
            t_years: the times (years).

        Returns:
            S(t) at each time.
        """
        t = np.atleast_1d(np.asarray(t_years, dtype=float))
        if not self.n:
            return np.full(t.shape, np.nan)
        idx = np.searchsorted(self.times_years, t, side="right") - 1
        out = self.survival[np.clip(idx, 0, None)]
        out = np.where(t < self.times_years[0], 1.0, out)
        return np.where(t > self.times_years[-1], np.nan, out)


def _first_time_at_or_below(times: np.ndarray, values: np.ndarray, level: float) -> float:
    """First time whose step value is <= ``level`` (NaN-safe); NaN if never."""
    hit = np.flatnonzero(np.nan_to_num(values, nan=np.inf) <= level)
    return float(times[hit[0]]) if hit.size else math.nan


def kaplan_meier(
    time_years: np.ndarray | pd.Series, observed: np.ndarray | pd.Series
) -> KaplanMeier:
    """Kaplan-Meier estimate with a pointwise 95% CI and a 95% CI of the median.

    Uses ``scipy.stats.ecdf`` on ``scipy.stats.CensoredData.right_censored`` data; the
    pointwise band is ``sf.confidence_interval(0.95, method="log-log")`` (Greenwood variance
    on the log(-log S) scale, Kalbfleisch & Prentice). Median and its CI follow the usual
    Brookmeyer-Crowley-style reading of the band (as R's ``survfit``):

    - median = first t with S(t) <= 0.5;
    - CI low = first t with lower-band(t) <= 0.5 (the lower band reaches 0.5 first);
    - CI high = first t with upper-band(t) <= 0.5;

    each NaN when that never happens within follow-up (e.g. median not reached), so
    CI low <= median <= CI high always holds.

    Args:
        time_years: each run's event or censoring time (years).
        observed: True where the event was observed, False where the run was censored.

    Returns:
        The ``KaplanMeier`` estimate.

    Example:
        >>> from analysis.exhaustion import kaplan_meier
        >>> km = kaplan_meier([30.0, 35.0, 40.0, 50.0], [True, True, True, False])
        >>> km.median_years, km.n_events, km.n_censored
        (35.0, 3, 1)
        >>> km.survival_at([20.0, 36.0]).tolist()
        [1.0, 0.5]
    """
    t = np.asarray(time_years, dtype=float)
    obs = np.asarray(observed, dtype=bool)
    if t.shape != obs.shape or t.ndim != 1:
        raise ValueError("time_years and observed must be 1-d arrays of the same length")
    keep = np.isfinite(t)
    t, obs = t[keep], obs[keep]
    n, n_events = int(t.size), int(obs.sum())
    if n == 0:
        empty = np.empty(0)
        return KaplanMeier(empty, empty, empty, empty, math.nan, math.nan, math.nan, 0, 0)

    res = stats.ecdf(stats.CensoredData.right_censored(t, ~obs))
    times = np.asarray(res.sf.quantiles, dtype=float)
    surv = np.asarray(res.sf.probabilities, dtype=float)
    if n_events:
        with warnings.catch_warnings():
            # "The confidence interval is undefined at some observations" (S = 1 or 0).
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = res.sf.confidence_interval(CONFIDENCE_LEVEL, method="log-log")
        low = np.asarray(ci.low.probabilities, dtype=float).copy()
        high = np.asarray(ci.high.probabilities, dtype=float).copy()
    else:
        low = np.ones_like(surv)
        high = np.ones_like(surv)
    at_one = surv >= 1.0
    low[at_one], high[at_one] = 1.0, 1.0
    at_zero = surv <= 0.0
    low[at_zero], high[at_zero] = 0.0, np.nan

    if times[0] > 0.0:
        times = np.concatenate([[0.0], times])
        surv, low, high = (np.concatenate([[1.0], a]) for a in (surv, low, high))

    return KaplanMeier(
        times_years=times,
        survival=surv,
        ci_low=low,
        ci_high=high,
        median_years=_first_time_at_or_below(times, surv, 0.5),
        median_ci_low_years=_first_time_at_or_below(times, low, 0.5),
        median_ci_high_years=_first_time_at_or_below(times, high, 0.5),
        n=n,
        n_events=n_events,
        censor_times_years=np.sort(t[~obs]),
    )


# --------------------------------------------------------------------------------------
# comparisons and summaries
# --------------------------------------------------------------------------------------


def logrank(runs: pd.DataFrame, event: str, arm: str, control: str) -> float:
    """Two-sided log-rank p-value for ``event`` times of ``arm`` versus ``control``.

    Uses ``scipy.stats.logrank`` on right-censored ages (see ``event_times``). NaN when not
    computable: the same arm, an arm without runs, or no event at all in either arm.

    Args:
        runs: a ``runs`` table.
        event: the event's name.
        arm: the arm compared.
        control: the arm it is compared with.
    """
    if arm == control:
        return math.nan
    times = event_times(runs, event)
    a = times[times["arm"] == str(arm)]
    c = times[times["arm"] == str(control)]
    if a.empty or c.empty or not (a["observed"].any() or c["observed"].any()):
        return math.nan

    def censored(df: pd.DataFrame) -> stats.CensoredData:
        return stats.CensoredData.right_censored(
            df["time_years"].to_numpy(float), ~df["observed"].to_numpy(bool)
        )

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            p = float(stats.logrank(censored(a), censored(c), alternative="two-sided").pvalue)
        except (ValueError, ZeroDivisionError):
            return math.nan
    return p if math.isfinite(p) else math.nan


def summary_table(runs: pd.DataFrame, control: str | None = None) -> pd.DataFrame:
    """One row per arm (in order of first appearance) summarising the event times.

    Columns: ``arm``, ``n_runs``; for each event ``e`` in ``EVENTS``: ``e_median_years``,
    ``e_ci_low_years``, ``e_ci_high_years`` (Kaplan-Meier median and its 95% CI, NaN when not
    reached), ``e_censored`` (runs that did not reach e) and ``e_followup_max_years`` (the
    largest observed time, shown when the median is not reached); then
    ``divisions_per_cell_mean`` (mean over runs) and ``exhaustion_logrank_p`` (two-sided
    log-rank vs ``control``, NaN for the control arm); then, per value ``r`` of
    ``STOP_REASONS``, ``stopped_at_r``: how many runs stopped for that reason (the runs'
    ``stop_reason``; NaN when the table has no such column), and the arm's failure rules
    ``failure_functional_fraction_min`` and ``failure_neoplasia_fraction`` (NaN when
    absent or not the same for all its runs). ``control`` defaults to the first arm.

    Args:
        runs: a ``runs`` table.
        control: the control arm (None: the first arm).

    Returns:
        One row per arm (columns: docs, "The result schema", ``summary.csv``).
    """
    arms = arms_in_order(runs)
    if control is None:
        control = arms[0] if arms else None
    elif arms and str(control) not in arms:
        raise ValueError(f"control arm {control!r} not among the arms {arms}")

    times = {e: event_times(runs, e) for e in EVENTS}
    arm_col = runs["arm"].astype(str) if "arm" in runs.columns else pd.Series(dtype=str)
    rows: list[dict[str, object]] = []
    for arm in arms:
        row: dict[str, object] = {"arm": arm, "n_runs": int((arm_col == arm).sum())}
        for e in EVENTS:
            sel = times[e][times[e]["arm"] == arm]
            km = kaplan_meier(sel["time_years"], sel["observed"])
            row[f"{e}_median_years"] = km.median_years
            row[f"{e}_ci_low_years"] = km.median_ci_low_years
            row[f"{e}_ci_high_years"] = km.median_ci_high_years
            row[f"{e}_censored"] = int((~sel["observed"]).sum())
            row[f"{e}_followup_max_years"] = km.followup_max_years
        if "divisions_per_cell" in runs.columns:
            row["divisions_per_cell_mean"] = float(
                runs.loc[arm_col == arm, "divisions_per_cell"].astype(float).mean()
            )
        else:
            row["divisions_per_cell_mean"] = math.nan
        row["exhaustion_logrank_p"] = (
            math.nan if control is None else logrank(runs, "exhaustion", arm, str(control))
        )
        row.update(stop_columns(runs.loc[(arm_col == arm).to_numpy()]))
        rows.append(row)
    columns = ["arm", "n_runs"]
    for e in EVENTS:
        columns += [
            f"{e}_median_years",
            f"{e}_ci_low_years",
            f"{e}_ci_high_years",
            f"{e}_censored",
            f"{e}_followup_max_years",
        ]
    columns += ["divisions_per_cell_mean", "exhaustion_logrank_p"]
    columns += [f"stopped_at_{r}" for r in STOP_REASONS]
    columns += list(FAILURE_RULES)
    table = pd.DataFrame(rows, columns=columns)
    table.attrs["control"] = control
    return table


# --------------------------------------------------------------------------------------
# display
# --------------------------------------------------------------------------------------


def _fmt_years(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.1f}"


def _event_cell(row: pd.Series, event: str) -> str:
    """E.g. ``31.2 [29.8, 33.0]``, ``31.2 [29.8, 33.0] (2/8 censored)``, ``> 100.0 (8/8 ...)``."""
    n = int(row["n_runs"])
    censored = int(row[f"{event}_censored"])
    median = float(row[f"{event}_median_years"])
    followup = float(row.get(f"{event}_followup_max_years", math.nan))
    note = f" ({censored}/{n} censored)" if censored else ""
    if n == 0:
        return "no runs"
    if not math.isfinite(median):
        return f"> {_fmt_years(followup)}{note}"
    low = float(row[f"{event}_ci_low_years"])
    high = float(row[f"{event}_ci_high_years"])
    high_text = _fmt_years(high) if math.isfinite(high) else f"> {_fmt_years(followup)}"
    return f"{median:.1f} [{_fmt_years(low)}, {high_text}]{note}"


def _fmt_p(p: float, is_control: bool) -> str:
    if is_control:
        return "(control)"
    if not math.isfinite(p):
        return "n/a"
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.4f}"


def summary_display(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary table as display strings, one row per arm, with readable headers.

    Event cells read ``median [95% CI low, high]`` in years of age, with the number of
    censored runs when any; ``> T (k/n censored)`` when the median is not reached by the
    last follow-up T.

    Args:
        summary: a ``summary_table``.
    """
    control = summary.attrs.get("control")
    if control is None and len(summary):
        control = str(summary["arm"].iloc[0])
    records = []
    for _, row in summary.iterrows():
        rec = {"arm": str(row["arm"]), "runs": str(int(row["n_runs"]))}
        for e in EVENTS:
            rec[f"{e} age (years)"] = _event_cell(row, e)
        dpc = float(row.get("divisions_per_cell_mean", math.nan))
        rec["divisions per cell"] = f"{dpc:.1f}" if math.isfinite(dpc) else "n/a"
        rec["exhaustion log-rank p"] = _fmt_p(
            float(row.get("exhaustion_logrank_p", math.nan)), str(row["arm"]) == control
        )
        records.append(rec)
    headers = ["arm", "runs"]
    headers += [f"{e} age (years)" for e in EVENTS]
    headers += ["divisions per cell", "exhaustion log-rank p"]
    return pd.DataFrame(records, columns=headers)


def format_summary(summary: pd.DataFrame) -> list[str]:
    """The summary as aligned text lines for printing: a header line, a rule, one per arm.

    Args:
        summary: a ``summary_table``.

    Returns:
        The lines of the fixed-width table.
    """
    return fixed_width_lines(summary_display(summary))


def fixed_width_lines(display: pd.DataFrame) -> list[str]:
    """A table of display strings as aligned text lines: its headers, a rule of dashes,
    one line per row, each column as wide as its widest cell.

    Args:
        display: the table to print (strings).
    """
    headers = list(display.columns)
    cells = [[str(v) for v in rec] for rec in display.itertuples(index=False)]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return [line(headers), line(["-" * w for w in widths])] + [line(r) for r in cells]


def stop_columns(runs: pd.DataFrame) -> dict[str, float]:
    """Why a group of runs stopped: ``stopped_at_<reason>``, the number of runs per value
    of ``STOP_REASONS`` (NaN when ``runs`` has no ``stop_reason`` column), and the
    ``FAILURE_RULES`` in force (NaN when absent or not the same for every run).

    Args:
        runs: the runs of one arm (or point).
    """
    out: dict[str, float] = {}
    reasons = runs["stop_reason"] if "stop_reason" in runs.columns else None
    for reason in STOP_REASONS:
        n = math.nan if reasons is None else int((reasons == reason).sum())
        out[f"stopped_at_{reason}"] = n
    for rule in FAILURE_RULES:
        values = runs[rule].dropna().unique() if rule in runs.columns else []
        out[rule] = float(values[0]) if len(values) == 1 else math.nan
    return out


def stop_reason_text(reason: str, row: pd.Series | None = None) -> str:
    """A stop reason as a reader should see it, with the rule that fired, e.g.
    ``failure (functional fraction < 0.5)``; thresholds from ``row`` (a summary row).

    Args:
        reason: a ``stop_reason`` value.
        row: the arm's summary row (its failure rules).
    """

    def rule(name: str) -> str:
        value = math.nan if row is None else float(row.get(name, math.nan))
        return f"{value:g}" if math.isfinite(value) else "the threshold"

    texts = {
        "exhaustion": "exhaustion (no CYCLING or STEM cell left)",
        "failure": f"failure (functional fraction < {rule('failure_functional_fraction_min')})",
        "neoplasia": f"neoplasia (transformed fraction > {rule('failure_neoplasia_fraction')})",
        "no_change": "no_change (after exhaustion, no cell could divide or change any more)",
        "horizon": "horizon",
    }
    return texts.get(reason, reason)


def stop_cell(row: pd.Series, n: int | None = None) -> str:
    """A summary row's stop counts as text, e.g. ``failure (functional fraction < 0.5)
    6/8, horizon 2/8`` (``n``: the runs, default ``row["n_runs"]``).

    Args:
        row: the arm's summary row.
        n: the arm's runs.
    """
    n = int(row["n_runs"]) if n is None else n
    counts = [(r, row.get(f"stopped_at_{r}", math.nan)) for r in STOP_REASONS]
    if any(not math.isfinite(float(c)) for _, c in counts):
        return "not recorded (the runs table has no stop_reason)"
    parts = [f"{stop_reason_text(r, row)} {int(c)}/{n}" for r, c in counts if int(c)]
    unknown = n - sum(int(c) for _, c in counts)
    if unknown:
        parts.append(f"no stop reason recorded {unknown}/{n}")
    return ", ".join(parts) if parts else "no runs"


def format_stop_reasons(summary: pd.DataFrame) -> list[str]:
    """Which rule ended the runs, per arm, as text lines: ``runs stopped at:`` and one line
    per arm, e.g. ``control  failure (functional fraction < 0.5) 8/8``. A run that stopped
    at failure did not reach exhaustion: its exhaustion age is censored, not observed.

    Args:
        summary: a ``summary_table``.

    Returns:
        The lines printed under the table (``runs stopped at:``).
    """
    cells = stop_reasons_by_arm(summary)
    if not cells:
        return []
    width = max(len(arm) for arm, _ in cells)
    return ["runs stopped at:", *(f"  {arm.ljust(width)}  {text}" for arm, text in cells)]


def stop_reasons_by_arm(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """``(arm, text)`` per arm: which rule stopped its runs, how many of them each (e.g.
    ``exhaustion (no CYCLING or STEM cell left) 6/8, horizon 2/8``).

    Args:
        summary: a ``summary_table``.

    Returns:
        ``(arm, text)`` per arm.
    """
    return [(str(row["arm"]), stop_cell(row)) for _, row in summary.iterrows()]
