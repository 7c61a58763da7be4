"""The calibrated blood population (scenarios/blood), against published people.

- ``population_fit_check``: the posterior-predictive 10th/50th/90th percentiles of
  lymphocyte and granulocyte telomere length (every draw of the committed posterior, the
  calibration's simulator) fall within the 95% bootstrap intervals of Aubert 2012's
  percentiles in every age bin;
- ``syndrome_check``: families of heterozygous telomerase-mutation carriers
  (scenarios/blood/telomere_syndrome.toml, four generations) show anticipation: the median
  age at marrow failure falls from each generation to the next (among the generations a
  quarter of the families reach); Parry 2011's ages of onset
  and the NCI cohort's ages at diagnosis are shown beside them;
- ``normal_failure_check``: people without a mutation (the population's control arm)
  reach marrow failure by 100 in at most a small fraction (chosen: 1%);
- ``clonal_check``: with rare drivers (scenarios/blood/clonal_drift.toml), the HSCs stay
  polyclonal at 60 and half of them come from a few tens of clones at 80, as Mitchell
  2022 found (the driver rate was chosen by a scan against that finding: a consistency
  check, not an independent test); without drivers they stay polyclonal.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from analysis import validation_figures
from analysis.exhaustion import event_times, kaplan_meier
from cellsim.config.plan import stable_key
from cellsim.validation.config import ValidationConfig
from cellsim.validation.published import (
    AUBERT_PERCENTILES,
    CARRIER_APLASTIC_ANEMIA_ONSET_YEARS,
    CARRIER_PULMONARY_FIBROSIS_ONSET_YEARS,
    MITCHELL_CLONALITY,
    NORMAL_MARROW_FAILURE,
    TBD_DIAGNOSIS_AGE_YEARS,
)
from cellsim.validation.report import CheckResult, against

__all__ = ["BloodPopulationRuns", "blood_population_checks", "run_blood_population"]

FAILURE_EVENT = "hsc.failure"
"""Marrow failure: the HSC compartment's failure (fewer than half its cells can divide)."""


@dataclass
class BloodPopulationRuns:
    """The runs behind the checks: the predictive check's table and data, the families'
    runs rows (arms ``<arm>_gen<g>``) and the runs rows of people without a mutation."""

    bands: pd.DataFrame
    draws: int
    """Posterior draws behind ``bands``."""
    ages_years: np.ndarray
    observed: np.ndarray
    names: list[str]
    families: pd.DataFrame
    normals: pd.DataFrame
    clones: pd.DataFrame
    """The clonal scenario's HSC records: ``arm``, ``run_id``, ``age_years`` and the clone
    columns."""
    engine_bands: pd.DataFrame | None = None
    """``predictive_bands`` of the people without a mutation, each followed for life in a
    cellsim run (the population as the answer table simulates it) at the data's ages."""


def run_blood_population(cfg: ValidationConfig, workers: int) -> BloodPopulationRuns:
    """The posterior-predictive cohorts, the carrier families and the normal people."""
    from analysis.calibration import person_at_ages, predictive_bands
    from cellsim.config.calibration import load_calibration
    from cellsim.config.scenario import load_scenario
    from cellsim.run.calibration import CohortSimulator
    from cellsim.run.generations import expand, run_chain
    from cellsim.run.single import run_many

    bp = cfg.blood_population
    plan = load_calibration(cfg.folder / bp.calibration)
    posterior = pd.read_parquet(cfg.folder / bp.posterior)
    names = list(plan.study.parameters)
    w = posterior["weight"].to_numpy(dtype=float)
    ss = np.random.SeedSequence(cfg.seed, spawn_key=(stable_key("blood_population"),))
    if bp.predictive_draws is None and np.all(w == w[0]):
        idx = np.arange(len(posterior))  # every draw: the posterior itself
    else:
        size = bp.predictive_draws or len(posterior)
        idx = np.random.default_rng(ss).choice(len(posterior), size=size, p=w / w.sum())
    sim = CohortSimulator(plan)
    draws = [sim.people(posterior.iloc[i][names].to_dict()) for i in idx]

    def against_data(people: list[np.ndarray]) -> pd.DataFrame:
        bins = plan.study.summary.age_bins_years
        return predictive_bands(
            plan.ages_years, people, bins, plan.values_bp, plan.names, seed=cfg.seed
        )

    bands = against_data(draws)
    syndrome = load_scenario(cfg.folder / bp.syndrome_scenario)
    chain = run_chain(expand(syndrome), [a.name for a in syndrome.arms], bp.families, workers)
    families = pd.DataFrame([r.row for _, r, _ in chain if r is not None])
    population = load_scenario(cfg.folder / bp.population_scenario)
    specs = [s for s in population.run_specs(bp.people) if s.arm == population.control_arm]
    rows, followed = [], []
    for _, result, _ in run_many(specs, workers=workers):
        if result is not None:
            rows.append(result.row)
            followed.append(
                person_at_ages(result.trajectories, list(plan.tissues), plan.ages_years)
            )
    normals = pd.DataFrame(rows)
    engine_bands = against_data(followed)
    clonal = load_scenario(cfg.folder / bp.clonal_scenario)
    frames = []
    for spec, result, _ in run_many(clonal.run_specs(bp.clonal_people), workers=workers):
        if result is not None:
            t = result.trajectories
            frames.append(t[t["tissue"] == "hsc"].assign(arm=spec.arm, run_id=spec.run_id))
    clones = pd.concat(frames, ignore_index=True)[
        ["arm", "run_id", "age_years", "clones_for_half", "largest_clone_share"]
    ]
    return BloodPopulationRuns(
        bands,
        len(idx),
        plan.ages_years,
        plan.values_bp,
        list(plan.names),
        families,
        normals,
        clones,
        engine_bands,
    )


def population_fit_check(
    cfg: ValidationConfig, runs: BloodPopulationRuns, figs: Path
) -> CheckResult:
    """Every (cell type, age bin): the simulated percentiles within the data's intervals."""
    from analysis.calibration import percentile_misses, plot_predictive_check

    bands = runs.bands
    misses, n, chance = percentile_misses(bands)
    within = bands["within_ci"].astype(bool)
    outside = [
        f"{r.observable} {r.age_low_years:g}-{r.age_high_years:g}"
        for r in bands[~within].itertuples()
    ]
    figure = plot_predictive_check(
        runs.ages_years,
        runs.observed,
        bands,
        figs / "blood_population_fit.png",
        ylabel=", ".join(runs.names) + ", in bp",
        title="Aubert 2012 and the calibrated population",
    )
    edge = _closest_to_edge(bands)
    notes = [
        f"{runs.draws} draws of the committed posterior (scenarios/blood/calibration"
        + (", all of them" if cfg.blood_population.predictive_draws is None else "")
        + "), each a cohort of the data's ages simulated by the calibration's simulator "
        "(the hierarchy's mean field, a cellsim run where it does not hold), pooled: the "
        "posterior-predictive population.",
        f"Closest to an edge: {edge}.",
        "Cells outside the data's interval: "
        + (", ".join(outside) if outside else "none")
        + f"; {misses} of the {n} percentiles (a model equal to the truth misses ~5% of "
        f"them, more where the bootstrap undercovers: at least {misses} misses has chance "
        f"{chance:.2g} under Binomial({n}, 0.05)).",
        _engine_note(runs),
        "The committed posterior is the MCMC of scenarios/blood/calibration.toml (14 "
        "parameters, among them length-dependent loss and the lymphocytes' faster turnover "
        "in infancy; a likelihood of the 72 percentiles with the data's bootstrap "
        "covariances, on the hierarchy's mean field: scenarios/blood/README.md, 'Status'). "
        "The check uses the data it was fitted to: it says the model can reproduce them, "
        "not that it predicts new people.",
    ]
    return against(
        AUBERT_PERCENTILES,
        "blood_population_fit",
        "The calibrated population reproduces Aubert 2012's percentiles",
        f"{int(within.sum())} of {len(bands)} (cell type, age bin) cells within",
        bool(within.all()),
        "every simulated 10th, 50th and 90th percentile within the data's 95% bootstrap "
        "interval, in every age bin of both cell types",
        str(figure),
        notes,
    )


def _engine_note(runs: BloodPopulationRuns) -> str:
    """What the people of the population scenario, run by cellsim, give (not judged)."""
    from analysis.calibration import percentile_misses

    eb = runs.engine_bands
    if eb is None or eb.empty:
        return "The population's own cellsim runs were not compared."
    misses, n, chance = percentile_misses(eb)
    return (
        f"Not judged: the {len(runs.normals)} people without a mutation (the population "
        "scenario's control arm, each a posterior draw followed from birth in a cellsim run, "
        "as the answer table simulates them) put "
        f"{int(eb['within_ci'].sum())} of {len(eb)} cells within the data's intervals and "
        f"{misses} of {n} percentiles outside (chance {chance:.2g} of at least that many "
        "for a right model; their own sampling adds to it, and each person is followed for "
        "life, so with few people all ages move together). Their lymphocytes are longer "
        "than the mean field's from ~50 years on: lineages that reach the critical length "
        "stop, which the mean field does not describe (scenarios/blood/README.md)."
    )


def _closest_to_edge(bands: pd.DataFrame) -> str:
    """The simulated percentile nearest its interval's edge, as a share of the width
    (0 or 1 at an edge, negative or above 1 outside)."""
    best = (np.inf, "")
    for r in bands.itertuples():
        for k in ("p10", "p50", "p90"):
            lo, hi = getattr(r, f"data_{k}_low"), getattr(r, f"data_{k}_high")
            pos = (getattr(r, f"sim_{k}") - lo) / (hi - lo) if hi > lo else 0.5
            dist = min(pos, 1.0 - pos)
            if dist < best[0]:
                where = f"{r.observable} {k} at {r.age_low_years:g}-{r.age_high_years:g}"
                best = (dist, f"{where}, {pos:.2f} of the way across its interval")
    return best[1]


def _failure_curve(rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, float]:
    """(times, fraction failed, KM median) of marrow failure among ``rows``."""
    t = event_times(rows, FAILURE_EVENT)
    km = kaplan_meier(t["time_years"], t["observed"])
    return km.times_years, 1.0 - km.survival, km.median_years


def _generation_curves(families: pd.DataFrame) -> dict[int, tuple[np.ndarray, np.ndarray, float]]:
    return {
        int(g): _failure_curve(rows)
        for g, rows in sorted(families.groupby("generation"), key=lambda kv: kv[0])
    }


def _figure(runs: BloodPopulationRuns, figs: Path) -> str:
    curves = {
        f"carriers, generation {g} ({len(runs.families[runs.families['generation'] == g])})": (
            times,
            frac,
        )
        for g, (times, frac, _) in _generation_curves(runs.families).items()
    }
    times, frac, _ = _failure_curve(runs.normals)
    curves[f"no mutation ({len(runs.normals)})"] = (times, frac)
    markers = [
        (CARRIER_APLASTIC_ANEMIA_ONSET_YEARS.value, CARRIER_APLASTIC_ANEMIA_ONSET_YEARS.label),
        (
            CARRIER_PULMONARY_FIBROSIS_ONSET_YEARS.value,
            CARRIER_PULMONARY_FIBROSIS_ONSET_YEARS.label,
        ),
        (TBD_DIAGNOSIS_AGE_YEARS.value, TBD_DIAGNOSIS_AGE_YEARS.label),
    ]
    return validation_figures.plot_marrow_failure(
        curves, markers, figs / "marrow_failure.png", title="Marrow failure by generation"
    )


def _years(x: float) -> str:
    return f"{x:.1f}" if np.isfinite(x) else "> horizon"


def syndrome_check(cfg: ValidationConfig, runs: BloodPopulationRuns, figs: Path) -> CheckResult:
    """Anticipation: the median age at marrow failure falls with each generation."""
    bp = cfg.blood_population
    gens = _generation_curves(runs.families)
    born = {g: int((runs.families["generation"] == g).sum()) for g in gens}
    enough = bp.anticipation_min_share * bp.families
    medians = [(g, m) for g, (_, _, m) in gens.items() if born[g] >= enough]
    reached = [m for _, m in medians if np.isfinite(m)]
    falls = all(
        (not np.isfinite(b)) or (not np.isfinite(a)) or b < a
        for (_, a), (_, b) in itertools.pairwise(medians)
    )
    simulated = "; ".join(
        f"generation {g}: {_years(m)} (n={born[g]}"
        + (", too few to judge" if born[g] < enough else "")
        + ")"
        for g, (_, _, m) in gens.items()
    )
    few = [g for g in gens if born[g] < enough]
    notes = [
        "Carriers: the person's calibrated HSC telomerase activity halved "
        "(haploinsufficiency), nothing fitted to these ages; generation 1 is born with a "
        "normal person's telomeres, each child with its parent's HSC telomere at 28 "
        "(scenarios/blood/telomere_syndrome.toml). A parent with no HSC left that can divide "
        "at 28 has no child, so later generations are smaller.",
        "Published, beside them (scenarios/blood/data): "
        f"{CARRIER_APLASTIC_ANEMIA_ONSET_YEARS.label}; "
        f"{CARRIER_PULMONARY_FIBROSIS_ONSET_YEARS.label}; {TBD_DIAGNOSIS_AGE_YEARS.label}. "
        "The model has no lung: the fibrosis age of the older generation is a reference for "
        "when that generation's telomeres become critical, not a marrow failure age.",
        f"Judged: the generations that at least {100 * bp.anticipation_min_share:g}% of "
        f"the {bp.families} families reach (chosen: a median of a handful of people says "
        "little, and they are the children of the parents whose HSCs lasted longest)"
        + (
            f"; generation {', '.join(map(str, few))} is shown but not judged. That few "
            "children are born is the model's reading of anticipation too: a parent whose "
            "marrow fails in childhood has no child."
            if few
            else "."
        ),
    ]
    return against(
        CARRIER_APLASTIC_ANEMIA_ONSET_YEARS,
        "telomere_syndrome_anticipation",
        "Telomerase-mutation families: marrow failure comes earlier in each generation",
        "median age at marrow failure: " + simulated,
        bool(falls and len(reached) >= 2),
        "the median age at marrow failure (Kaplan-Meier) falls from each generation to the "
        "next, at least two generations reaching it (anticipation), among the generations "
        f"that at least {100 * bp.anticipation_min_share:g}% of the families reach (chosen "
        "criterion)",
        _figure(runs, figs),
        notes,
    )


def normal_failure_check(
    cfg: ValidationConfig, runs: BloodPopulationRuns, figs: Path
) -> CheckResult:
    """People without a mutation: marrow failure by 100 in at most a small fraction."""
    bp = cfg.blood_population
    t = event_times(runs.normals, FAILURE_EVENT)
    age = bp.normal_failure_age_years
    followed = t[(t["time_years"] >= age - 1e-9) | t["observed"]]
    k = int((followed["observed"] & (followed["time_years"] <= age + 1e-9)).sum())
    n = len(followed)
    ci = stats.binomtest(k, n).proportion_ci(0.95, method="exact") if n else None
    frac = k / n if n else float("nan")
    simulated = f"{k} of {n} people ({100 * frac:.1f}%" + (
        f", 95% CI {100 * ci.low:.1f}-{100 * ci.high:.1f}%)" if ci else ")"
    )
    notes = [
        "The control arm of scenarios/blood/blood_population.toml: each person a posterior "
        "draw and their own birth telomere, followed from birth to 150.",
        f"Chosen criterion: at most {100 * bp.normal_failure_fraction_max:g}% by {age:g} "
        '(the issue\'s "small fraction"); the interval says how well this many people '
        "pin it down.",
    ]
    return against(
        NORMAL_MARROW_FAILURE,
        "normal_marrow_failure",
        f"Without a mutation, marrow failure by {age:g} is rare",
        f"marrow failure by {age:g}: " + simulated,
        bool(n and frac <= bp.normal_failure_fraction_max),
        f"at most {100 * bp.normal_failure_fraction_max:g}% of people by {age:g} (chosen)",
        _figure(runs, figs),
        notes,
    )


def _clones_at(clones: pd.DataFrame, arm: str, age_years: float) -> float:
    """The median over people of ``clones_for_half`` at the last record at or before the
    age."""
    d = clones[(clones["arm"] == arm) & (clones["age_years"] <= age_years + 1e-9)]
    last = d.sort_values("age_years").groupby("run_id").tail(1)
    return float(last["clones_for_half"].median())


def clonal_check(cfg: ValidationConfig, runs: BloodPopulationRuns, figs: Path) -> CheckResult:
    """With drivers: polyclonal at 60, half the HSCs from a few tens of clones at 80."""
    bp = cfg.blood_population
    young, old = bp.polyclonal_age_years, bp.oligoclonal_age_years
    at = {
        arm: (_clones_at(runs.clones, arm, young), _clones_at(runs.clones, arm, old))
        for arm in pd.unique(runs.clones["arm"])
    }
    y, o = at["drivers"]
    passed = bool(
        y >= bp.polyclonal_clones_for_half_min and o <= bp.oligoclonal_clones_for_half_max
    )
    simulated = "; ".join(
        f"{arm}: {a:.0f} at {young:g}, {b:.0f} at {old:g}" for arm, (a, b) in at.items()
    )
    figure = validation_figures.plot_clonal_structure(
        runs.clones, MITCHELL_CLONALITY.label, figs / "hsc_clonal_structure.png"
    )
    notes = [
        "scenarios/blood/clonal_drift.toml: 20,000 HSCs per person (the lower end of the "
        "pool, so that a driver clone starts at the pool's 1/N), the calibrated model, "
        f"{bp.clonal_people} people per arm. A driver comes with probability 5e-5 per "
        "asymmetric HSC division and grows at 0.1 per year more (Fabre 2022: 5% to >50%).",
        "Not an independent test: the driver probability was chosen by a scan (q in 2e-6, "
        "1e-5, 5e-5; s in 0.05, 0.1, 0.15) as the pair whose output turns oligoclonal "
        "between 65 and 75, as Mitchell found. Without drivers (neutral) the HSCs stay "
        "polyclonal at every age: their sample does not drift in adults (no HSC loss), so "
        "the finding needs selection in this model, as in Mitchell's. With s = 0.15 the "
        "output is oligoclonal well before 65, against the finding.",
        "The measure: `clones_for_half`, the fewest clones making up half of the HSCs "
        "(Mitchell counted clones in the output of sampled HSC colonies: 12-18 clones "
        "holding 30-60%, read here as half within a few tens of clones; chosen).",
    ]
    return against(
        MITCHELL_CLONALITY,
        "hsc_clonal_structure",
        "HSCs are polyclonal in middle age and oligoclonal in old age (with drivers)",
        "clones making up half of the HSCs (median): " + simulated,
        passed,
        f"drivers: at least {bp.polyclonal_clones_for_half_min} clones for half at "
        f"{young:g} and at most {bp.oligoclonal_clones_for_half_max} at {old:g} (chosen "
        "readings of the finding)",
        figure,
        notes,
    )


def blood_population_checks(
    cfg: ValidationConfig, runs: BloodPopulationRuns, figs: Path
) -> list[CheckResult]:
    """The blood population's checks, in the report's order."""
    return [
        population_fit_check(cfg, runs, figs),
        syndrome_check(cfg, runs, figs),
        normal_failure_check(cfg, runs, figs),
        clonal_check(cfg, runs, figs),
    ]
