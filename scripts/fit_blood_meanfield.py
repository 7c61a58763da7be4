"""A direct least-squares fit of a hierarchy calibration's mean field (a search, not ABC).

ABC-SMC of the blood calibration (scenarios/blood/calibration.toml: 14 parameters, 72
statistics) takes hours on two cores. This script asks a cheaper question first: can the
model reproduce Aubert 2012's percentiles at all, and with which parameters? Its optimum
(``--out``) is where the calibration's MCMC starts (``[mcmc.start]``). It minimises

    sum over (cell type, age bin, percentile) of ((model - centre) / half-width)^2

over the calibration's prior box by differential evolution (scipy), where ``centre`` and
``half-width`` are those of the data's 95% bootstrap interval and ``model`` is the
percentile of a large simulated cohort at the data's ages (40 people per person of the
data, the hierarchy's mean field plus each person's birth offset as the model carries it:
``CohortSimulator``'s construction, without its sampling noise). It prints the best
parameters and, per cell, the model's percentiles against the data's intervals.

    .venv/bin/python scripts/fit_blood_meanfield.py --out best.json      # ~4 min on one core
    .venv/bin/python scripts/fit_blood_meanfield.py --maxiter 50 --seed 2

The mean field is used wherever it is evaluated, also where a particle's HSCs near their
critical length (where it stops being exact); the printout says whether it holds at the
optimum. A point estimate only: the posterior is the calibration's.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import numpy as np
from scipy import optimize

from analysis.calibration import percentile_misses, predictive_bands
from cellsim.config.calibration import COHORT_SD, load_calibration
from cellsim.run.calibration import (
    RESPONSE_STEP_BP,
    hierarchy_meanfield_curves,
    hierarchy_meanfield_holds,
    hierarchy_stem,
    with_overrides,
)

QUANTILES = (0.1, 0.5, 0.9)
PEOPLE_PER_PERSON = 40


class MeanFieldCohort:
    """The model's percentiles per (observable, age bin) at a parameter set."""

    def __init__(self, calibration: Path, seed: int) -> None:
        self.plan = load_calibration(calibration)
        self.ages = self.plan.ages_years
        obs = self.plan.values_bp
        bins = self.plan.study.summary.age_bins_years
        self.bands = predictive_bands(self.ages, [obs], bins, obs, list(self.plan.names))
        self.cells = [
            (j, (self.ages >= lo) & (self.ages < hi) & np.isfinite(obs[:, j]))
            for j in range(obs.shape[1])
            for lo, hi in itertools.pairwise(bins)
            if ((self.ages >= lo) & (self.ages < hi) & np.isfinite(obs[:, j])).any()
        ]
        rng = np.random.default_rng(seed)
        self.z = rng.standard_normal((PEOPLE_PER_PERSON, len(self.ages)))
        cols = [f"data_p{int(q * 100)}" for q in QUANTILES]
        self.low = self.bands[[f"{c}_low" for c in cols]].to_numpy()
        self.high = self.bands[[f"{c}_high" for c in cols]].to_numpy()

    def percentiles(self, pars: dict[str, float]) -> tuple[np.ndarray, bool]:
        """(cells x 3 model percentiles in bp, whether the mean field holds there)."""
        model_pars = {k: v for k, v in pars.items() if k != COHORT_SD}
        params = with_overrides(self.plan.base, model_pars)
        means = hierarchy_meanfield_curves(params)
        stem = hierarchy_stem(params)
        assert stem is not None
        path = f"{stem.name}.telomere.initial_mean_bp"
        shifted = with_overrides(params, {path: stem.telomere.initial_mean_bp + RESPONSE_STEP_BP})
        higher = hierarchy_meanfield_curves(shifted)
        curves = []
        for tissue in self.plan.tissues:
            ages, m = means[tissue]
            response = (higher[tissue][1] - m) / RESPONSE_STEP_BP
            curves.append((np.interp(self.ages, ages, m), np.interp(self.ages, ages, response)))
        out = np.empty((len(self.cells), len(QUANTILES)))
        for i, (j, mask) in enumerate(self.cells):
            mean, response = curves[j]
            people = mean[mask] + pars[COHORT_SD] * self.z[:, mask] * response[mask]
            out[i] = np.quantile(people.ravel(), QUANTILES)
        return out, hierarchy_meanfield_holds(params, means)

    def objective(self, pars: dict[str, float]) -> float:
        """The squared distance, in half-widths of the data's intervals."""
        model, _ = self.percentiles(pars)
        centre, half = (self.low + self.high) / 2, (self.high - self.low) / 2
        return float((((model - centre) / half) ** 2).sum())


def main() -> None:
    """Fit, print the best parameters and the per-cell table, write them as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibration", default="scenarios/blood/calibration.toml")
    ap.add_argument("--maxiter", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None, help="JSON file for the best parameters")
    args = ap.parse_args()
    cohort = MeanFieldCohort(Path(args.calibration), args.seed)
    priors = cohort.plan.study.parameters
    names = list(priors)
    bounds = [(float(priors[n].low), float(priors[n].high)) for n in names]
    t0 = time.time()
    res = optimize.differential_evolution(
        lambda x: cohort.objective(dict(zip(names, x, strict=True))),
        bounds,
        seed=args.seed,
        maxiter=args.maxiter,
        popsize=12,
        tol=1e-7,
        polish=False,
        updating="immediate",
    )
    best = {n: float(v) for n, v in zip(names, res.x, strict=True)}
    model, holds = cohort.percentiles(best)
    bands = cohort.bands.copy()
    for k, q in enumerate(QUANTILES):
        bands[f"sim_p{int(q * 100)}"] = model[:, k]
    inside = ((model >= cohort.low) & (model <= cohort.high)).all(axis=1)
    misses, n, chance = percentile_misses(bands)
    print(f"{res.nfev} evaluations, {time.time() - t0:.0f} s; objective {res.fun:.1f}")
    print(json.dumps(best, indent=1))
    print(
        f"{int(inside.sum())} of {len(inside)} cells within; {misses} of {n} percentiles "
        f"outside (chance of that many for a right model {chance:.2g}); mean field holds: "
        f"{holds}"
    )
    for i, row in enumerate(bands.itertuples()):
        cells = "  ".join(
            f"{model[i, k] / 1e3:5.2f} [{cohort.low[i, k] / 1e3:5.2f}, "
            f"{cohort.high[i, k] / 1e3:5.2f}]"
            for k in range(len(QUANTILES))
        )
        flag = "" if inside[i] else "  outside"
        print(f"{row.observable:15s} {row.age_low_years:4g}-{row.age_high_years:<4g} {cells}{flag}")
    if args.out:
        Path(args.out).write_text(json.dumps(best, indent=1) + "\n")


if __name__ == "__main__":
    main()
