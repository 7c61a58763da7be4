"""The whole body's outputs of a scenario with ``[body]`` (analysis/body.py on its tables).

Written into the scenario's output folder beside the standard ones:

- ``body_answer.csv``: per arm, the first tissue to be exhausted and to fail, the
  Kaplan-Meier median age of the first exhaustion, failure and neoplasia of any tissue
  with 95% CIs, the body's real divisions per day (``analysis.body.answer_table``);
- ``body_burden.csv``: per arm and recorded age, the body's senescent burden (median and
  10th/90th percentiles over people) and the shared immune clearance it leaves, per
  senescent cell, as a fraction of the low-burden rate (``1 / (1 + S / K)``);
- ``body_turnover.csv``: per arm and group, real cells replaced per day and their share
  (Sender & Milo 2021's blood, gut and skin);
- ``body_tissues.csv``: per arm and tissue, the Kaplan-Meier median age of the tissue's
  exhaustion and failure with 95% CIs, and its real divisions over the run
  (``analysis.body.tissue_table``);
- ``figures/body.png``: the tissues' pools by age, arms side by side, the burden below.

``cellsim run`` prints the answer table (``print_body_answer``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from cellsim.io import write_csv

BODY_ANSWER_CSV = "body_answer.csv"
BODY_BURDEN_CSV = "body_burden.csv"
BODY_TURNOVER_CSV = "body_turnover.csv"
BODY_TISSUES_CSV = "body_tissues.csv"
BODY_FIGURE = "body.png"


def body_tissues(scenario: dict[str, Any]) -> pd.DataFrame:
    """The body's tissues table (analysis/body.py) of a resolved scenario (its JSON form):
    name, sample size, real cells, group (``body.groups``; stem compartments ``stem``)
    and whether the tissue counts in the shared immune system's burden."""
    base = scenario["base"]
    groups = {t: g for g, ts in (scenario.get("body") or {}).get("groups", {}).items() for t in ts}
    counted = (base.get("immune") or {}).get("tissues")
    rows = []
    for t in base["tissues"]:
        rows.append(
            {
                "tissue": t["name"],
                "n_cells": t["n_cells"],
                "cells_in_body": np.nan if t.get("cells_in_body") is None else t["cells_in_body"],
                "group": "stem" if t["kind"] == "stem" else groups.get(t["name"], "other"),
                "in_burden": counted is None or t["name"] in counted,
            }
        )
    return pd.DataFrame(rows)


def burden_by_age(burden: pd.DataFrame, half_saturation: float) -> pd.DataFrame:
    """Per arm and age (years): the body's senescent burden (% of its cells: median, 10th
    and 90th percentiles over runs) and the clearance per senescent cell that burden
    leaves, relative to an empty body's (``1 / (1 + S / K)``, median)."""
    df = burden.assign(
        burden_pct=100 * burden["senescent_burden_fraction"],
        clearance_relative=1 / (1 + burden["senescent_burden_fraction"] / half_saturation),
    )
    g = df.groupby(["arm", "age_years"], sort=False)
    return pd.DataFrame(
        {
            "runs": g.size(),
            "burden_median_pct": g["burden_pct"].median(),
            "burden_p10_pct": g["burden_pct"].quantile(0.1),
            "burden_p90_pct": g["burden_pct"].quantile(0.9),
            "clearance_relative_median": g["clearance_relative"].median(),
        }
    ).reset_index()


def body_section(folder: Path, runs: pd.DataFrame, traj: pd.DataFrame) -> list[str]:
    """For a scenario with ``[body]``: the body's tables and figure (module text) and the
    report's lines; else nothing."""
    from analysis.body import (
        answer_table,
        body_burden,
        body_turnover,
        format_answer,
        plot_body,
        tissue_table,
        turnover_shares,
    )

    resolved = folder / "scenario.resolved.json"
    if not resolved.is_file():
        return []
    scenario = json.loads(resolved.read_text())["scenario"]
    body = scenario.get("body")
    if not body:
        return []
    tissues = body_tissues(scenario)
    answer = answer_table(
        runs, tissues, control=scenario.get("control"), tissues_considered=body.get("tissues")
    )
    write_csv(folder / BODY_ANSWER_CSV, answer)
    half = float(scenario["base"]["immune"]["half_saturation_fraction"])
    by_age = burden_by_age(body_burden(traj, tissues), half)
    write_csv(folder / BODY_BURDEN_CSV, by_age)
    shares = turnover_shares(body_turnover(traj, tissues))
    write_csv(folder / BODY_TURNOVER_CSV, shares)
    per_tissue = tissue_table(runs, tissues)
    write_csv(folder / BODY_TISSUES_CSV, per_tissue)
    (folder / "figures").mkdir(exist_ok=True)
    plot_body(traj, tissues, folder / "figures" / BODY_FIGURE)
    lines = [
        "### The whole body",
        "",
        "Per arm: the tissue most often first to run out (exhausted: no cell left that can "
        "divide; failed: fewer than its functional minimum), and the median age of the "
        "first exhaustion, failure and neoplasia of any of "
        f"{', '.join(answer.attrs['tissues_considered'])} (Kaplan-Meier, 95% CI); the "
        "body's divisions per day are real cells (each sample times its scale factor).",
        "",
        "```text",
        *format_answer(answer),
        "```",
        "",
        f"![the body by age](figures/{BODY_FIGURE})",
        "",
        "Each tissue's own exhaustion, median age in years [95% CI] (Kaplan-Meier; "
        f"failure and divisions in {BODY_TISSUES_CSV}):",
        "",
        *tissue_lines(per_tissue),
        "",
        f"Tables: {BODY_ANSWER_CSV}, {BODY_TISSUES_CSV}, {BODY_BURDEN_CSV} (the body's "
        f"senescent burden and the shared clearance by age), {BODY_TURNOVER_CSV} (cells "
        "replaced per day by group).",
    ]
    return lines


def tissue_lines(per_tissue: pd.DataFrame) -> list[str]:
    """A markdown table: one row per tissue, one column per arm, each cell the tissue's
    median exhaustion age with its CI ("not reached (k/n)" where fewer than half did)."""
    arms = list(dict.fromkeys(per_tissue["arm"]))
    lines = ["| tissue | " + " | ".join(arms) + " |", "|---|" + "---|" * len(arms)]
    for tissue, rows in per_tissue.groupby("tissue", sort=False):
        cells = []
        for arm in arms:
            r = rows[rows["arm"] == arm].iloc[0]
            m, lo, hi = (
                r[f"exhaustion_{k}"] for k in ("median_years", "ci_low_years", "ci_high_years")
            )
            if np.isnan(m):
                cells.append(f"not reached ({int(r['exhaustion_runs'])}/{int(r['runs'])})")
            else:
                hi_s = "-" if np.isnan(hi) else f"{hi:.1f}"
                lo_s = "-" if np.isnan(lo) else f"{lo:.1f}"
                cells.append(f"{m:.1f} [{lo_s}, {hi_s}]")
        lines.append(f"| {tissue} | " + " | ".join(cells) + " |")
    return lines


def print_body_answer(console: Console, out_dir: Path) -> None:
    """The body's answer table (``body_answer.csv``), when the run made one."""
    path = out_dir / BODY_ANSWER_CSV
    if not path.is_file():
        return
    from analysis.body import format_answer

    table = pd.read_csv(path)
    for e in ("exhaustion", "failure", "neoplasia"):  # a tissue no run reached reads None
        col = f"first_{e}_tissue"
        table[col] = table[col].astype(object).where(table[col].notna(), None)
    scenario = json.loads((out_dir / "scenario.resolved.json").read_text())["scenario"]
    table.attrs.update(control=scenario.get("control"), level=0.95)
    console.print(
        "the whole body: which tissue runs out first, and when (age in years, "
        "Kaplan-Meier median [95% CI])",
        markup=False,
    )
    for line in format_answer(table):
        console.print(line, markup=False, highlight=False)
