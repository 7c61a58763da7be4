"""The whole body (scenarios/body.toml), against published numbers and shapes.

One run of the scenario's control arm is one person: twelve tissues, each a sample of
``n_cells`` slots standing for ``cells_in_body`` real cells, one shared immune system.
The checks read those people's records with analysis/body.py:

- ``body_turnover_check``: the body's real cells replaced per day (deaths and clearances,
  each sample scaled up) over an adult window, and the blood, gut and skin shares of them,
  lie within 2 combined standard errors of Sender & Milo 2021's 3.3e11 cells/day and 86% /
  12% / 1.1% (the published SEs propagated from the presets' published uncertainties, the
  simulation's SE from the spread between people);
- ``body_burden_check``: the body's senescent burden (its senescent real cells over the
  real cells of the immune system's tissues) at 20, 40, 60 and 80 rises every 20 years
  and faster late than early, and the clearance per senescent cell it leaves
  (``1 / (1 + S / K)``) falls with age: the shape Karin 2019 (production rising with age,
  removal saturating) and Herbig 2006 / Jeyapalan 2007 (senescent fibroblasts
  accumulating in ageing baboons) describe. The criteria are chosen readings of those
  findings; the numbers (levels, the rise from 20 to 80) are reported beside them.
"""

from __future__ import annotations

import itertools
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import validation_figures
from analysis.body import body_burden, body_turnover, first_tissue, turnover_shares
from cellsim.engine.presets import PRESETS, whole_body_set
from cellsim.engine.schema import DAYS_PER_YEAR
from cellsim.validation.config import ValidationConfig
from cellsim.validation.published import (
    BODY_SCENARIO_TURNOVER,
    BODY_SENESCENT_BURDEN_RISES,
    HERBIG_SENESCENT_FIBROBLAST_FRACTION,
    TURNOVER_SHARE_BY_GROUP,
)
from cellsim.validation.report import CheckResult, against

__all__ = [
    "BodyRuns",
    "PublishedTurnover",
    "body_burden_check",
    "body_burden_table",
    "body_checks",
    "body_turnover_check",
    "body_turnover_table",
    "published_turnover",
    "run_body",
]

N_SE = 2.0
"""Agreement with a published value: within this many combined standard errors."""
SHARE_GROUPS: tuple[str, ...] = ("blood", "gut", "skin")
"""The groups whose shares of the daily turnover Sender & Milo report and the check tests."""


# --- runs -------------------------------------------------------------------------------
@dataclass
class BodyRuns:
    """The control arm's people: their runs rows and trajectories (``run_id``, ``arm``,
    ``replicate`` columns), the body's tissues table (``cellsim.run.body_report``), the
    shared immune system's half-saturation fraction K and the runs that raised."""

    runs: pd.DataFrame
    trajectories: pd.DataFrame
    tissues: pd.DataFrame
    half_saturation: float
    errors: list[str]


def run_body(cfg: ValidationConfig, workers: int) -> BodyRuns:
    """The control arm of the body scenario for ``cfg.body.people`` people."""
    from cellsim.config.scenario import load_scenario
    from cellsim.run.body_report import body_tissues
    from cellsim.run.single import run_many

    scenario = load_scenario(cfg.folder / cfg.body.scenario)
    specs = [s for s in scenario.run_specs(cfg.body.people) if s.arm == scenario.control_arm]
    done: list[tuple[int, dict, pd.DataFrame]] = []
    errors = []
    for spec, result, error in run_many(specs, workers=workers):
        if result is None:
            errors.append(f"{spec.run_id}: {error}")
        else:
            done.append((spec.replicate, result.row, result.trajectories))
    if not done:
        raise RuntimeError("the body scenario: every run failed: " + "; ".join(errors))
    done.sort(key=lambda d: d[0])  # the order the runs finished in is not reproducible
    resolved = scenario.model_dump(mode="json")
    return BodyRuns(
        runs=pd.DataFrame([row for _, row, _ in done]),
        trajectories=pd.concat([t for _, _, t in done], ignore_index=True),
        tissues=body_tissues(resolved),
        half_saturation=float(resolved["base"]["immune"]["half_saturation_fraction"]),
        errors=errors,
    )


# --- Sender & Milo's numbers with standard errors from the presets ----------------------
@dataclass(frozen=True)
class PublishedTurnover:
    """The published total (cells per day) and shares (0-1) by group, with standard errors
    propagated (first order) from the whole-body presets' published uncertainties, and the
    presets' own total and shares (counts x 1/lifespan)."""

    total: float
    total_se: float
    shares: dict[str, float]
    share_se: dict[str, float]
    presets_total: float
    presets_shares: dict[str, float]


def published_turnover() -> PublishedTurnover:
    """Sender & Milo's total and shares; SEs from the presets of ``whole_body_set()``.

    Total: the quadrature sum of each preset's ``turnover_se_per_day``. Share of group g
    (``T_g / T``): ``sqrt((T - T_g)^2 var_g + T_g^2 var_rest) / T^2``, as
    ``presets.body_turnover``'s ``blood_share_se``.
    """
    value: dict[str, float] = {}
    var: dict[str, float] = {}
    for p in whole_body_set():
        value[p.group] = value.get(p.group, 0.0) + p.turnover_per_day()
        var[p.group] = var.get(p.group, 0.0) + p.turnover_se_per_day() ** 2
    total, total_var = sum(value.values()), sum(var.values())
    share_se = {
        g: math.sqrt(
            (total - value.get(g, 0.0)) ** 2 * var.get(g, 0.0)
            + value.get(g, 0.0) ** 2 * (total_var - var.get(g, 0.0))
        )
        / total**2
        for g in SHARE_GROUPS
    }
    return PublishedTurnover(
        total=BODY_SCENARIO_TURNOVER.value,
        total_se=math.sqrt(total_var),
        shares={g: TURNOVER_SHARE_BY_GROUP[g] for g in SHARE_GROUPS},
        share_se=share_se,
        presets_total=total,
        presets_shares={g: value.get(g, 0.0) / total for g in SHARE_GROUPS},
    )


# --- tables -----------------------------------------------------------------------------
def _se(values: pd.Series) -> float:
    """Standard error of the mean over people (NaN for fewer than 2)."""
    v = values.dropna().to_numpy(dtype=float)
    return float(np.std(v, ddof=1) / math.sqrt(len(v))) if len(v) >= 2 else math.nan


def body_turnover_table(cfg: ValidationConfig, br: BodyRuns) -> pd.DataFrame:
    """The body's daily turnover over the adult window: one row for the total and one per
    group, with the published values where there are some.

    Columns: ``quantity`` (``total`` or the group), ``checked`` (tested against a published
    value), ``replaced_real_cells_per_day`` (mean over people), ``simulated`` (cells per
    day for the total, the share for a group: the group's mean over the mean total) and
    ``simulated_se`` (over people), ``published``, ``published_se``, ``combined_se``
    (their quadrature sum), ``z`` ((simulated - published) / combined SE) and ``within``
    (``|z| <= N_SE``), ``people``, ``from_age_years``, ``to_age_years``.
    """
    b = cfg.body
    per_run = body_turnover(
        br.trajectories,
        br.tissues,
        from_day=b.turnover_from_age_years * DAYS_PER_YEAR,
        to_day=b.turnover_to_age_years * DAYS_PER_YEAR,
    )
    shares = turnover_shares(per_run).set_index("group")
    totals = per_run.drop_duplicates("run_id")["body_replaced_real_cells_per_day"]
    pub = published_turnover()
    rows = [
        {
            "quantity": "total",
            "checked": True,
            "replaced_real_cells_per_day": float(totals.mean()),
            "simulated": float(totals.mean()),
            "simulated_se": _se(totals),
            "published": pub.total,
            "published_se": pub.total_se,
        }
    ]
    for group, g in per_run.groupby("group", sort=False):
        rows.append(
            {
                "quantity": str(group),
                "checked": group in SHARE_GROUPS,
                "replaced_real_cells_per_day": float(
                    shares.at[group, "replaced_real_cells_per_day"]
                ),
                "simulated": float(shares.at[group, "share_fraction"]),
                "simulated_se": _se(g["share_fraction"]),
                "published": pub.shares.get(str(group), math.nan),
                "published_se": pub.share_se.get(str(group), math.nan),
            }
        )
    table = pd.DataFrame(rows)
    order = {q: i for i, q in enumerate(("total", *SHARE_GROUPS))}
    table = table.sort_values(
        "quantity", key=lambda q: q.map(lambda x: order.get(x, len(order))), kind="stable"
    ).reset_index(drop=True)
    table["combined_se"] = np.hypot(table["published_se"], table["simulated_se"].fillna(0.0))
    table["z"] = (table["simulated"] - table["published"]) / table["combined_se"]
    table["within"] = table["z"].abs() <= N_SE
    table["people"] = int(per_run["run_id"].nunique())
    table["from_age_years"] = b.turnover_from_age_years
    table["to_age_years"] = b.turnover_to_age_years
    return table


def _burden_rows(frame: pd.DataFrame, half_saturation: float) -> dict[str, float]:
    """Median and 10th/90th percentiles (%) of a per-person burden, and the median
    clearance per senescent cell it leaves."""
    s = frame.astype(float)
    return {
        "runs": len(s),
        "burden_median_pct": 100 * float(s.median()),
        "burden_p10_pct": 100 * float(s.quantile(0.1)),
        "burden_p90_pct": 100 * float(s.quantile(0.9)),
        "clearance_relative_median": float((1 / (1 + s / half_saturation)).median()),
    }


def body_burden_table(cfg: ValidationConfig, br: BodyRuns) -> pd.DataFrame:
    """The body's senescent burden by age, over people, in two kinds of rows.

    ``kind = "record"``: every recorded age (the people's records at that age);
    ``kind = "window"``: the checked ages, each person's burden the mean of their records
    in [age - w/2, age + w/2) (w = ``burden_window_years``). Columns: ``kind``,
    ``age_years``, ``runs``, ``burden_median_pct``, ``burden_p10_pct``,
    ``burden_p90_pct`` (% of the body's cells) and ``clearance_relative_median`` (the
    clearance per senescent cell over an empty body's, ``1 / (1 + S / K)``).
    """
    burden = body_burden(br.trajectories, br.tissues)
    burden = burden[np.isfinite(burden["senescent_burden_fraction"].to_numpy(dtype=float))]
    k = br.half_saturation
    records = [
        {"kind": "record", "age_years": float(age), **_burden_rows(g, k)}
        for age, g in burden.groupby("age_years", sort=True)["senescent_burden_fraction"]
    ]
    half = cfg.body.burden_window_years / 2
    windows = []
    for age in cfg.body.burden_ages_years:
        age_years = burden["age_years"].to_numpy(dtype=float)
        sel = burden[(age_years >= age - half) & (age_years < age + half)]
        per_person = sel.groupby("run_id")["senescent_burden_fraction"].mean()
        windows.append({"kind": "window", "age_years": float(age), **_burden_rows(per_person, k)})
    return pd.DataFrame(records + windows)


def _burden_by_tissue(cfg: ValidationConfig, br: BodyRuns, age: float) -> pd.Series:
    """Each burden tissue's share of the body's senescent real cells around ``age`` (all
    people's records in the window together)."""
    half = cfg.body.burden_window_years / 2
    counted = br.tissues[br.tissues["in_burden"].astype(bool)]
    scale = (counted["cells_in_body"] / counted["n_cells"]).to_numpy(dtype=float)
    t = br.trajectories
    t = t[(t["age_years"] >= age - half) & (t["age_years"] < age + half)]
    sen = t.groupby("tissue")["n_senescent"].sum().reindex(counted["tissue"]).fillna(0.0)
    real = sen.to_numpy(dtype=float) * scale
    total = real.sum()
    return pd.Series(real / total if total > 0 else np.nan, index=counted["tissue"].tolist())


def _replicative_share(cfg: ValidationConfig, br: BodyRuns, age: float) -> float:
    """Of the real cells of the burden tissues that became senescent within the window
    around ``age`` (all people), the fraction that did so at a critical telomere."""
    half = cfg.body.burden_window_years / 2
    counted = br.tissues[br.tissues["in_burden"].astype(bool)]
    scale = pd.Series(
        (counted["cells_in_body"] / counted["n_cells"]).to_numpy(dtype=float),
        index=counted["tissue"].tolist(),
    )
    t = br.trajectories[br.trajectories["tissue"].isin(scale.index)]
    t = t[(t["age_years"] >= age - half) & (t["age_years"] < age + half)]
    made = {}
    for kind in ("replicative", "stress", "insult"):
        column = f"{kind}_senescence_cumulative"
        if column not in t.columns:
            continue
        g = t.groupby(["run_id", "tissue"])[column]
        gained = (g.max() - g.min()).groupby(level="tissue").sum()
        made[kind] = float((gained * scale.reindex(gained.index)).sum())
    total = sum(made.values())
    return made.get("replicative", 0.0) / total if total > 0 else math.nan


# --- checks -----------------------------------------------------------------------------
def _e11(x: float) -> str:
    """``x`` in units of 1e11 (3.25e11)."""
    return f"{x / 1e11:.2f}e11"


def _sci(x: float) -> str:
    """``x`` with two significant digits and a plain exponent (1.5e9, 640)."""
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    exponent = math.floor(math.log10(abs(x)))
    if -3 <= exponent < 4:
        return f"{float(f'{x:.2g}'):g}"
    return f"{x / 10**exponent:.2g}e{exponent}"


def _pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def _scenario_path(scenario: str) -> str:
    """The scenario file as a path from the repository (settings are in
    scenarios/validation)."""
    return os.path.normpath(f"scenarios/validation/{scenario}").replace(os.sep, "/")


def _earliest_giving_out(runs: pd.DataFrame) -> tuple[str, float] | None:
    """The tissue and age (years) of the earliest failure or exhaustion of any tissue among
    the people; None when none gave out."""
    best: tuple[str, float] | None = None
    for event in ("failure", "exhaustion"):
        first = first_tissue(runs, event)
        first = first[first["observed"]]
        if len(first):
            i = int(np.argmin(first["first_day"].to_numpy(dtype=float)))
            row = first.iloc[i]
            age = float(row["first_day"]) / DAYS_PER_YEAR
            if best is None or age < best[1]:
                best = (f"{row['first_tissue']} {event}", age)
    return best


def body_turnover_check(
    cfg: ValidationConfig, br: BodyRuns, table: pd.DataFrame, figs: Path
) -> CheckResult:
    """The body's daily turnover and its blood, gut and skin shares within 2 combined SE
    of Sender & Milo 2021."""
    b = cfg.body
    ref = BODY_SCENARIO_TURNOVER
    checked = table[table["checked"].astype(bool)].set_index("quantity")
    pub = published_turnover()
    people = int(table["people"].iloc[0])
    tot = checked.loc["total"]
    parts = [
        f"{_e11(tot['simulated'])} cells/day (SE {_sci(tot['simulated_se'])}; z = {tot['z']:+.2f})"
    ]
    for g in SHARE_GROUPS:
        r = checked.loc[g]
        digits = 2 if r["published"] < 0.05 else 1
        parts.append(
            f"{g} {_pct(r['simulated'], digits)} (SE {100 * r['simulated_se']:.2g}%; "
            f"z = {r['z']:+.2f})"
        )
    simulated = (
        "; ".join(parts)
        + f" ({people} people, ages {b.turnover_from_age_years:g}-{b.turnover_to_age_years:g})"
    )
    passed = bool(checked["within"].all())
    criterion = (
        f"the total and each of the blood, gut and skin shares within {N_SE:g} combined SE "
        "of the published value: |simulated - published| <= "
        f"{N_SE:g} sqrt(SE_published^2 + SE_simulated^2), SE_published propagated from the "
        "presets' published uncertainties (counts and lifespans, first order), "
        "SE_simulated = SD over people / sqrt(people)"
    )
    figure = validation_figures.plot_body_turnover(
        checked.loc[["total", *SHARE_GROUPS]].reset_index(),
        N_SE,
        ref.source,
        people,
        figs / "body_turnover_shares.png",
    )
    gave_out = _earliest_giving_out(br.runs)
    when = (
        f"the earliest failure or exhaustion of any tissue among these people: {gave_out[0]} "
        f"at {gave_out[1]:.0f}"
        if gave_out
        else "no tissue failed or was exhausted in these people"
    )
    t_cell, b_cell, monocyte = PRESETS["t_cell"], PRESETS["b_cell"], PRESETS["monocyte"]
    b_missing = b_cell.turnover_per_day() - b_cell.cells_in_body / t_cell.lifespan_days
    others = table[~table["checked"].astype(bool)]
    other_text = ", ".join(
        f"{r.quantity} {_sci(r.replaced_real_cells_per_day)}/day ({_pct(r.simulated, 2)})"
        for r in others.itertuples()
    )
    notes = [
        f"The control arm of {_scenario_path(b.scenario)}, {people} people, "
        "each a posterior draw of the blood calibration with their own birth telomeres. "
        "Measured: real cells removed (deaths and immune clearances, each tissue's sample "
        "scaled by cells_in_body / n_cells) per day between each person's yearly records at "
        f"{b.turnover_from_age_years:g} and {b.turnover_to_age_years:g} years (chosen: adults, "
        f"before any tissue gives out; {when}). A share is the group's mean over the mean "
        "total; the spread between people is mostly the sampling noise of small samples.",
        "The body's samples were sized for a 5-minute run (scenarios/body.toml: e.g. 30 "
        "granulocytes stand for 4e11, 100 erythrocytes for 2.55e13), so each person's "
        "turnover carries the Poisson noise of its samples' deaths over the window (about "
        "10^4 to 10^5 per tissue); the simulation's SE says how much.",
        "Not simulated: monocytes "
        f"({_sci(monocyte.turnover_per_day())}/day, "
        f"{_pct(monocyte.turnover_per_day() / pub.total)} of the published total). "
        "Lymphocytes stand for T and B cells together (1.03e12) at the T cells' lifespan "
        f"({t_cell.lifespan_days:g} d): B cells live {b_cell.lifespan_days:g} d in Sender & "
        f"Milo, so the body replaces ~{_sci(b_missing)} fewer B cells a day than the paper "
        f"counts ({_pct(b_missing / pub.total)} of its total). The body's other groups, "
        f"counted in its total but not checked: {other_text}.",
        f"Published SEs (from the presets): total +-{_e11(pub.total_se)} (Sender & Milo "
        f"state +-{_e11(ref.se)}); shares: "
        + ", ".join(f"{g} +-{_pct(pub.share_se[g], 2)}" for g in SHARE_GROUPS)
        + f". The presets' own sums: {_e11(pub.presets_total)} cells/day, "
        + ", ".join(f"{g} {_pct(pub.presets_shares[g], 1)}" for g in SHARE_GROUPS)
        + ".",
    ]
    if br.errors:
        notes.append(f"Runs that raised (left out): {'; '.join(br.errors)}.")
    return against(
        ref,
        "body_scenario_turnover",
        "The whole body replaces ~3.3e11 cells a day: 86% blood, 12% gut, 1.1% skin",
        simulated,
        passed,
        criterion,
        figure,
        notes,
    )


def body_burden_check(
    cfg: ValidationConfig, br: BodyRuns, table: pd.DataFrame, figs: Path
) -> CheckResult:
    """The body's senescent burden rises with age and faster late than early, and the
    clearance per senescent cell falls (Karin 2019; Herbig 2006)."""
    b = cfg.body
    at = table[table["kind"] == "window"].reset_index(drop=True)
    ages = at["age_years"].to_numpy(dtype=float)
    m = at["burden_median_pct"].to_numpy(dtype=float)
    c = at["clearance_relative_median"].to_numpy(dtype=float)
    rises = bool(all(y > x for x, y in itertools.pairwise(m)))
    accelerates = bool((m[-1] - m[-2]) > (m[1] - m[0]))
    clearance_falls = bool(all(y < x for x, y in itertools.pairwise(c)))
    passed = rises and accelerates and clearance_falls

    def ratio(i: int, j: int) -> str:
        return f"{m[i] / m[j]:.0f}x" if m[j] > 0 else f"not defined (0 at {ages[j]:g})"

    simulated = (
        "median burden "
        + ", ".join(f"{x:.3f}% at {a:g}" for a, x in zip(ages, m, strict=True))
        + f"; {ages[-1]:g}/{ages[0]:g} = {ratio(-1, 0)}, {ages[-1]:g}/{ages[1]:g} = "
        f"{ratio(-1, 1)}; clearance per senescent cell {c[0]:.4f} -> {c[-1]:.4f} of an "
        f"empty body's ({int(at['runs'].min())} people)"
    )
    criterion = (
        f"chosen readings of the published shape: the median burden rises from each of "
        f"{', '.join(f'{a:g}' for a in ages)} to the next, it accelerates (the rise from "
        f"{ages[-2]:g} to {ages[-1]:g} exceeds the rise from {ages[0]:g} to {ages[1]:g}), "
        "and the clearance per senescent cell, 1 / (1 + S/K), falls with age"
    )
    records = table[table["kind"] == "record"]
    figure = validation_figures.plot_body_burden(
        records, at, BODY_SENESCENT_BURDEN_RISES.label, figs / "body_senescent_burden.png"
    )
    herbig = HERBIG_SENESCENT_FIBROBLAST_FRACTION
    lengthens = c[0] / c[-1] - 1 if c[-1] > 0 else math.nan
    zeros = int((m <= 0).sum())
    share = _burden_by_tissue(cfg, br, ages[-1]).sort_values(ascending=False)
    top = ", ".join(f"{t} {_pct(v, 0)}" for t, v in share.head(3).items() if v > 0)
    replicative = _replicative_share(cfg, br, ages[-1])
    notes = [
        "The burden: the body's senescent real cells over the real cells of the immune "
        "system's tissues (scenarios/body.toml, base.immune.tissues: nucleated, renewing "
        "cells; each sample scaled by cells_in_body / n_cells; analysis.body.body_burden). "
        f"At each age, a person's burden is the mean of their yearly records within "
        f"+-{b.burden_window_years / 2:g} years (chosen: a record holds a handful of "
        "simulated senescent cells, each standing for 10^8-10^10 real ones); the median "
        "and the 10-90% range are over people.",
        f"The criteria (all chosen): each step of {ages[1] - ages[0]:g} years raises the "
        "median; the last step raises it more than the first (faster than linear, as "
        "Karin's linearly rising production with saturating removal predicts); the "
        f"clearance per senescent cell 1 / (1 + S/K) (K = {br.half_saturation:g}, "
        "base.immune.half_saturation_fraction) falls with age: the direction of the "
        "saturation, which follows from the rise (its size is in the last note).",
        f"Magnitudes, not tested: Herbig and Jeyapalan count {_pct(herbig.low, 0)} of dermal "
        f"fibroblasts with damaged telomeres at 5 years and over {_pct(herbig.high, 0)} at "
        f"30 (baboons): ~{herbig.high / herbig.low:.0f}x over most of a lifespan, in one "
        "tissue's fibroblasts. The simulated body-wide burden is "
        + ("lower" if m[-1] / 100 < herbig.low else "comparable")
        + " (every renewing cell "
        f"of the body counted: {m[-1]:.2f}% at {ages[-1]:g}); from {ages[0]:g} to "
        f"{ages[-1]:g} it rises from {m[0]:.3f}% to {m[-1]:.2f}% ({ages[-1]:g}/{ages[0]:g} = "
        f"{ratio(-1, 0)}"
        + (
            f"; at {zeros} of the ages the median person's records hold no senescent cell"
            if zeros
            else ""
        )
        + f"). Around {ages[-1]:g}, the senescent real cells are mostly in: {top or 'none'}; "
        f"of the cells that became senescent there, {_pct(replicative, 0)} did so at a "
        "critical telomere (replicative), the rest by stress"
        + (
            ": the late rise is mostly these tissues' telomeres running out, not Karin's "
            "rising production meeting a saturating removal (see below)."
            if replicative > 0.5
            else "."
        ),
        "Karin's saturation, in numbers: the clearance per senescent cell falls only from "
        f"{c[0]:.4f} to {c[-1]:.4f} of an empty body's, so the senescent cells' half-life "
        f"lengthens by {100 * lengthens:.1f}% from {ages[0]:g} to {ages[-1]:g}, not from "
        "days to weeks as in Karin's old mice: with K = 0.5 read as a fraction of the "
        "body's cells (chosen in body.toml) a burden of about 1% barely saturates removal.",
    ]
    return against(
        BODY_SENESCENT_BURDEN_RISES,
        "body_senescent_burden",
        "The body's senescent burden rises with age, faster and faster",
        simulated,
        passed,
        criterion,
        figure,
        notes,
    )


def body_checks(
    cfg: ValidationConfig, br: BodyRuns, figs: Path
) -> tuple[list[CheckResult], pd.DataFrame, pd.DataFrame]:
    """The body's checks, in the report's order, and their tables: the daily turnover
    (``body_turnover_table``) and the burden by age (``body_burden_table``)."""
    turnover = body_turnover_table(cfg, br)
    burden = body_burden_table(cfg, br)
    checks = [
        body_turnover_check(cfg, br, turnover, figs),
        body_burden_check(cfg, br, burden, figs),
    ]
    return checks, turnover, burden
