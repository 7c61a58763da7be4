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
  simulator), in bp;
- person by person, the engine's mean telomere of each pool minus the mean field's at
  that person's own parameters (mean and standard error over the people, at 1, 5, 20,
  40, 60, 80 and 100 years): the mean field's own error, without sampling of people.
  ``--lymphocyte-threshold-bp`` runs the people with another lymphocyte critical length.

    PYTHONPATH=. .venv/bin/python scripts/blood_engine_vs_data.py --people 600 --workers 2

(600 people: ~4.5 min on one core.) Each person is followed for life, so one sample's
offsets move all of its ages together: with few people (120) the engine's medians can sit
off by more than one standard error at every age at once.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.calibration import percentile_misses, person_at_ages, predictive_bands
from cellsim.config.calibration import load_calibration
from cellsim.config.scenario import load_scenario
from cellsim.run.calibration import CohortSimulator, hierarchy_meanfield_curves
from cellsim.run.single import run_many

BLOOD = Path(__file__).resolve().parent.parent / "scenarios" / "blood"
PERSON_AGES_YEARS = np.array([1.0, 5.0, 20.0, 40.0, 60.0, 80.0, 100.0])


def engine_people(
    n_people: int, workers: int, lymphocyte_threshold_bp: float | None = None
) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """The control arm's people of blood_population.toml: per person, their records
    (``tissue``, ``age_years``, ``telomere_mean_bp``), and per person and tissue the
    engine's mean telomere minus the mean field's at the person's parameters at
    ``PERSON_AGES_YEARS`` (rows ``tissue``, ``age_years``, ``engine_minus_meanfield_bp``)."""
    population = load_scenario(BLOOD / "blood_population.toml")
    specs = [s for s in population.run_specs(n_people) if s.arm == population.control_arm]
    if lymphocyte_threshold_bp is not None:
        specs = copy.deepcopy(specs)
        for spec in specs:
            for tissue in spec.params.tissues:
                if tissue.name == "lymphocytes":
                    tissue.telomere.senescence_threshold_bp = lymphocyte_threshold_bp
    people, gaps = [], []
    for spec, result, _ in run_many(specs, workers=workers):
        if result is None:
            continue
        t = result.trajectories[["tissue", "age_years", "telomere_mean_bp"]]
        people.append(t[t["tissue"] != "hsc"])
        for tissue, (ages, mean_bp) in hierarchy_meanfield_curves(spec.params).items():
            d = t[t["tissue"] == tissue].sort_values("age_years")
            engine = np.interp(PERSON_AGES_YEARS, d["age_years"], d["telomere_mean_bp"])
            gap = engine - np.interp(PERSON_AGES_YEARS, ages, mean_bp)
            gaps += [
                {"tissue": tissue, "age_years": a, "engine_minus_meanfield_bp": g}
                for a, g in zip(PERSON_AGES_YEARS, gap, strict=True)
            ]
    return people, pd.DataFrame(gaps)


def main() -> None:
    """Run the people, print the comparison, write it to ``--out`` (CSV) if given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=600, help="people of the control arm")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="CSV of the comparison")
    parser.add_argument(
        "--lymphocyte-threshold-bp",
        type=float,
        default=None,
        help="the lymphocytes' critical length (default: the scenario's)",
    )
    args = parser.parse_args()

    plan = load_calibration(BLOOD / "calibration" / "calibration.toml")
    ages, bins, names = plan.ages_years, plan.study.summary.age_bins_years, list(plan.names)
    t0 = time.monotonic()
    people, gaps = engine_people(args.people, args.workers, args.lymphocyte_threshold_bp)
    print(f"{len(people)} people run in {time.monotonic() - t0:.0f} s")
    engine = predictive_bands(
        ages,
        [person_at_ages(p, list(plan.tissues), ages) for p in people],
        bins,
        plan.values_bp,
        names,
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
    per_person = gaps.groupby(["tissue", "age_years"])["engine_minus_meanfield_bp"].agg(
        ["mean", "sem"]
    )
    print("person by person, engine minus mean field at their parameters (bp):")
    print(per_person.unstack("age_years").round(0).to_string())
    if args.out is not None:
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
