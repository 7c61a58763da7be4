"""The blood population as ``cellsim run`` simulates it, against Aubert 2012 and against the
calibration's mean field.

The committed posterior (scenarios/blood/calibration) was fitted through the hierarchy's
mean field, and `cellsim validate-biology`'s fit check uses that simulator too. The
answer table comes from engine runs of blood_population.toml. This script measures the
gap between the two: it runs ``--people`` people of the population's control arm (each a
posterior draw with their own birth telomere, birth to 150), reads each person's
lymphocyte and granulocyte mean telomere at every age of the data's people (linear
interpolation between yearly records), and prints per (cell type, age bin):

- where the engine's 10th, 50th and 90th percentiles sit in the data's 95% bootstrap
  interval (0 and 1 its edges; outside below 0 or above 1), and how many of the 72
  percentiles fall outside (a right model misses ~5%; the engine's own sampling noise at
  this many people adds some);
- the engine's percentile minus the mean field's (every posterior draw, the fit check's
  simulator), in bp.

    PYTHONPATH=. .venv/bin/python scripts/blood_engine_vs_data.py --people 600 --workers 2

(600 people: ~4.5 min on one core.) Each person is followed for life, so one sample's
offsets move all of its ages together: with few people (120) the engine's medians can sit
off by more than one standard error at every age at once.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.calibration import percentile_misses, predictive_bands
from cellsim.config.calibration import load_calibration
from cellsim.config.scenario import load_scenario
from cellsim.run.calibration import CohortSimulator
from cellsim.run.single import run_many

BLOOD = Path(__file__).resolve().parent.parent / "scenarios" / "blood"
TISSUE_OF = {"lymphocyte_kb": "lymphocytes", "granulocyte_kb": "granulocytes"}


def engine_people(n_people: int, workers: int) -> list[pd.DataFrame]:
    """The control arm's people of blood_population.toml: per person, their records of the
    lymphocytes and granulocytes (``tissue``, ``age_years``, ``telomere_mean_bp``)."""
    population = load_scenario(BLOOD / "blood_population.toml")
    specs = [s for s in population.run_specs(n_people) if s.arm == population.control_arm]
    people = []
    for _spec, result, _ in run_many(specs, workers=workers):
        if result is not None:
            t = result.trajectories
            people.append(t[t["tissue"] != "hsc"][["tissue", "age_years", "telomere_mean_bp"]])
    return people


def at_ages(person: pd.DataFrame, ages_years: np.ndarray, names: list[str]) -> np.ndarray:
    """One person's mean telomere (bp) of each observable at ``ages_years`` (ages x
    observables), interpolated between their records."""
    columns = []
    for name in names:
        d = person[person["tissue"] == TISSUE_OF[name]].sort_values("age_years")
        columns.append(np.interp(ages_years, d["age_years"], d["telomere_mean_bp"]))
    return np.column_stack(columns)


def main() -> None:
    """Run the people, print the comparison, write it to ``--out`` (CSV) if given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=600, help="people of the control arm")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="CSV of the comparison")
    args = parser.parse_args()

    plan = load_calibration(BLOOD / "calibration" / "calibration.toml")
    ages, bins, names = plan.ages_years, plan.study.summary.age_bins_years, list(plan.names)
    t0 = time.monotonic()
    people = engine_people(args.people, args.workers)
    print(f"{len(people)} people run in {time.monotonic() - t0:.0f} s")
    engine = predictive_bands(
        ages, [at_ages(p, ages, names) for p in people], bins, plan.values_bp, names
    )
    posterior = pd.read_parquet(BLOOD / "calibration" / "posterior.parquet")
    sim = CohortSimulator(plan)
    columns = list(plan.study.parameters)
    meanfield = predictive_bands(
        ages,
        [sim.people(row.to_dict()) for _, row in posterior[columns].iterrows()],
        bins,
        plan.values_bp,
        names,
    )
    table = engine[["observable", "age_low_years", "age_high_years", "n_people"]].copy()
    for k in ("p10", "p50", "p90"):
        low, high = engine[f"data_{k}_low"], engine[f"data_{k}_high"]
        table[f"engine_{k}_bp"] = engine[f"sim_{k}"]
        table[f"position_{k}"] = (engine[f"sim_{k}"] - low) / (high - low)
        table[f"engine_minus_meanfield_{k}_bp"] = engine[f"sim_{k}"] - meanfield[f"sim_{k}"]
    misses, n, chance = percentile_misses(engine)
    print(
        f"engine: {int(engine['within_ci'].sum())} of {len(engine)} cells within, {misses} of "
        f"{n} percentiles outside (at least that many: chance {chance:.2g} under "
        f"Binomial({n}, 0.05))"
    )
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        shown = [c for c in table.columns if c.startswith(("position", "engine_minus"))]
        print(table[["observable", "age_low_years", *shown]].round(2).to_string(index=False))
    if args.out is not None:
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
