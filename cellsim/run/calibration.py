"""Run a calibration: ABC-SMC (pyabc) over a cellsim model, on Dask, resumable (or, for a
calibration with ``[mcmc]``, MCMC on a likelihood: ``cellsim.run.calibration_mcmc``).

``run_calibration`` builds pyabc's ``ABCSMC`` from the plan: the priors (scipy
distributions through ``pyabc.RV``), the simulator (``CohortSimulator``: one cellsim run
per particle, or the linear mean field), the distance (``AdaptivePNormDistance``, p = 2, or
plain Euclidean) and a sampler (pyabc's ``DaskDistributedSampler`` on the cellsim cluster;
in process for ``workers = 1``). pyabc keeps every generation in ``DIR/abc.db`` (SQLite);
rerunning the same command after a kill continues from the last complete generation up to
``abc.max_populations``. Written to ``DIR``::

    posterior.parquet      the last generation: parameters and weight
    posterior_summary.csv  per parameter: weighted mean, median, 90% credible interval
    populations.csv        per generation: epsilon, simulations, accepted, acceptance rate
    predictive.csv         posterior-predictive percentiles per age bin, data beside
    figures/               pairs.png (marginals and pairs), predictive_check.png, epsilon.png
    report.md, manifest.json

Seeds: each simulation's generator comes from the study seed and the particle's parameter
values (``SeedSequence(seed, spawn_key=(key(values),))``), so a simulation is the same on
any worker; pyabc's own proposals use numpy's global generator, seeded from the study seed
before a run. With more than one worker the order in which particles finish differs from
run to run, so posteriors agree in distribution, not bit for bit.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from analysis.calibration import series_summaries
from analysis.hierarchy_meanfield import (
    PoolMeanField,
    StemMeanField,
    expected_loss_bp,
    hierarchy_means_bp,
)
from cellsim.config.calibration import CalibrationError, CalibrationPlan
from cellsim.config.calibration_file import COHORT_SD
from cellsim.config.plan import RunSpec, stable_key
from cellsim.engine.params import ModelParams, TissueParams, with_overrides
from cellsim.engine.schema import DAYS_PER_YEAR
from cellsim.io import preflight_output, write_csv, write_json, write_parquet, write_text

MANIFEST = "manifest.json"
POSTERIOR_NOTE = (
    'Use the posterior in a scenario: `posterior = "path/to/posterior.parquet"` (each '
    "replicate draws a parameter set by weight; docs in cellsim/config/scenario.py)."
)
THRESHOLD_MARGIN_SD = 3.0
"""The linear mean field stands in for a run only while the mean telomere stays this many
SDs above the critical length (closer, cells start to senesce and the closed form fails)."""


RESPONSE_STEP_BP = 1000.0
"""The shift of the birth length whose effect gives a person's response (exact: linear)."""


class CohortSimulator:
    """pyabc's model: parameters in, the simulated cohort's summary statistics out.

    Picklable (module-level class, plain attributes), so Dask workers can run it. Person
    ``i`` (the data's ages) gets ``m_j(age_i) + d_i`` for each observable ``j``, ``m_j``
    the observable of one run (agent) or of the closed form (mean field), and
    ``d_i ~ Normal(0, sd)`` the person's own offset, shared by their observables.
    """

    def __init__(self, plan: CalibrationPlan) -> None:
        s = plan.study
        self.base = plan.base
        self.seed = s.seed
        self.simulator = s.simulator
        self.tissues = list(plan.tissues)
        self.columns = list(plan.columns)
        self.names = list(plan.names)
        self.ages = plan.ages_years
        self.missing = ~np.isfinite(plan.values_bp)
        self.bins = list(s.summary.age_bins_years)
        self.statistics = list(s.summary.statistics)
        self.fixed_sd = s.cohort.between_person_sd_bp
        self.model_parameters = s.model_parameters

    def rng(self, pars: dict[str, float]) -> np.random.Generator:
        """The simulation's generator: from the study seed and the parameter values."""
        key = stable_key(json.dumps({k: float(pars[k]) for k in sorted(pars)}))
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(key,)))

    def curves(self, pars: dict[str, float]) -> list[tuple[np.ndarray, np.ndarray]]:
        """``(ages_years, observable)`` of the model at ``pars``, per observable: the
        run's records, or the closed form where it holds."""
        ov = {k: float(pars[k]) for k in self.model_parameters}
        params = with_overrides(self.base, ov)
        if self.simulator == "linear_meanfield":
            ages, mean = linear_meanfield_curve(params, self.tissues[0])
            if meanfield_holds(params, self.tissues[0], mean):
                return [(ages, mean)]
        if self.simulator == "hierarchy_meanfield":
            means = hierarchy_meanfield_curves(params)
            if hierarchy_meanfield_holds(params, means):
                return [means[t] for t in self.tissues]
        # near the threshold the closed form fails: this particle gets a real run
        key = stable_key(json.dumps({k: ov[k] for k in sorted(ov)}))
        spec = RunSpec(
            arm="calibration",
            replicate=0,
            params=params,
            entropy=self.seed,
            stream=f"particle-{key}",
        )
        from cellsim.run.single import run_one

        traj = run_one(spec).trajectories
        out = []
        for tissue, column in zip(self.tissues, self.columns, strict=True):
            t = traj[traj["tissue"] == tissue]
            # an emptied tissue has no telomere (NaN): it counts as 0, as far from the data
            # as it is, rather than a NaN that would poison the distance's scales
            values = np.nan_to_num(t[column].to_numpy(float), nan=0.0)
            out.append((t["day"].to_numpy(dtype=float) / DAYS_PER_YEAR, values))
        return out

    def responses(self, pars: dict[str, float]) -> list[tuple[np.ndarray, np.ndarray]] | None:
        """Per observable, ``(ages_years, response)``: how much of a person's birth offset
        (of the stem cells' telomere at the start) the observable carries at each age,
        where the hierarchy's mean field holds; None elsewhere (the offset is carried
        whole). The mean field is linear in the birth length, so the response is exact:
        the curves at a birth length ``RESPONSE_STEP_BP`` longer, less the curves, over
        the step (1 at every age without length-dependent loss, for pools founded from
        their stem cells; below 1 and falling with a ``loss_length_slope``)."""
        pair = self.meanfield_pair(pars)
        if pair is None:
            return None
        means, higher = pair
        return [
            (means[t][0], (higher[t][1] - means[t][1]) / RESPONSE_STEP_BP) for t in self.tissues
        ]

    def meanfield_pair(self, pars: dict[str, float]) -> tuple[dict, dict] | None:
        """The hierarchy's mean-field curves at ``pars`` (``hierarchy_meanfield_curves``)
        and at a stem-cell birth length ``RESPONSE_STEP_BP`` longer; None for another
        simulator or where the mean field does not hold."""
        if self.simulator != "hierarchy_meanfield":
            return None
        params = with_overrides(self.base, {k: float(pars[k]) for k in self.model_parameters})
        means = hierarchy_meanfield_curves(params)
        if not hierarchy_meanfield_holds(params, means):
            return None
        stem = hierarchy_stem(params)
        assert stem is not None
        path = f"{stem.name}.telomere.initial_mean_bp"
        shifted = with_overrides(params, {path: stem.telomere.initial_mean_bp + RESPONSE_STEP_BP})
        return means, hierarchy_meanfield_curves(shifted)

    def people(self, pars: dict[str, float]) -> np.ndarray:
        """The simulated values of every person of the data (their ages), people x
        observables: the model's curve plus the person's birth offset, as much of it as
        the model carries to that age (``responses``); NaN where the data have none."""
        sd = self.fixed_sd if self.fixed_sd is not None else float(pars[COHORT_SD])
        offsets = self.rng(pars).normal(0.0, sd, size=len(self.ages))
        responses = self.responses(pars)
        curves = self.curves(pars)
        if responses is None:
            cols = [np.interp(self.ages, ages, m) + offsets for ages, m in curves]
        else:
            cols = [
                np.interp(self.ages, ages, m) + offsets * np.interp(self.ages, r_ages, r)
                for (ages, m), (r_ages, r) in zip(curves, responses, strict=True)
            ]
        values = np.column_stack(cols)
        values[self.missing] = np.nan
        return values

    def __call__(self, pars: dict[str, float]) -> dict[str, float]:
        """The summary statistics of one simulated cohort."""
        return series_summaries(
            self.ages, self.people(pars), self.names, self.bins, self.statistics
        )


def linear_meanfield_curve(params: ModelParams, tissue: str) -> tuple[np.ndarray, np.ndarray]:
    """The mean telomere (bp) of a well-mixed tissue, yearly from the run's start to its
    end, by the closed form ``T0 - 2 l t / L`` (l: loss per division net of telomerase for
    the founders' kind; L: cell lifespan); calibration_file.py says when it holds."""
    t = next(x for x in params.tissues if x.name == tissue)
    tel = t.telomere
    telomerase = tel.telomerase_stem if t.kind == "stem" else 0.0
    loss = tel.loss_mean_bp * (1.0 - telomerase)
    run = params.run
    days = np.arange(0.0, run.horizon_days + DAYS_PER_YEAR, DAYS_PER_YEAR)
    mean = tel.initial_mean_bp - 2.0 * loss * days / t.lifespan_days
    ages = (run.start_age_days + days) / DAYS_PER_YEAR
    return ages, mean


def check_linear_meanfield(plan: CalibrationPlan) -> None:
    """Refuse the linear mean field where it never holds: a lattice or a supplied tissue,
    or more than one observable."""
    t = next(x for x in plan.base.tissues if x.name == plan.tissues[0])
    if t.lattice is not None or t.supply_from is not None or len(plan.tissues) > 1:
        raise CalibrationError(
            f"simulator = 'linear_meanfield': tissue {t.name!r} is on a lattice or supplied, "
            "or there are several observables; the closed form is for one well-mixed tissue "
            "on its own (use 'agent' or 'hierarchy_meanfield')"
        )


def hierarchy_stem(params: ModelParams) -> TissueParams | None:
    """The model's one stem compartment with a division clock (None: not exactly one)."""
    stems = [t for t in params.tissues if t.stem_divisions is not None]
    return stems[0] if len(stems) == 1 else None


def check_hierarchy_meanfield(plan: CalibrationPlan) -> None:
    """Refuse the hierarchy mean field where it never holds: the model must have one stem
    compartment with a division clock, the observed tissues must be it or well-mixed
    tissues it supplies, observed by their mean telomere, and no intervention may act;
    only supplied tissues may have a childhood turnover."""
    base = plan.base
    stem = hierarchy_stem(base)
    problem = None
    if stem is None:
        problem = "the model needs exactly one stem compartment with stem_divisions"
    elif base.interventions:
        problem = "interventions change the closed form"
    elif stem.childhood_turnover.active:
        problem = f"stem compartment {stem.name!r}: childhood_turnover is not in the closed form"
    else:
        for tissue, column in zip(plan.tissues, plan.columns, strict=True):
            t = next(x for x in base.tissues if x.name == tissue)
            if column != "telomere_mean_bp":
                problem = f"observable column {column!r} (only telomere_mean_bp has a closed form)"
            elif t is not stem and (t.supply_from != stem.name or t.lattice is not None):
                problem = f"tissue {tissue!r} is not a well-mixed tissue supplied by {stem.name!r}"
    if problem:
        raise CalibrationError(f"simulator = 'hierarchy_meanfield': {problem} (use 'agent')")


def hierarchy_meanfield_model(
    params: ModelParams,
) -> tuple[str, StemMeanField, dict[str, PoolMeanField]]:
    """The hierarchy of ``params`` (its stem compartment with a clock and the tissues it
    supplies) as ``analysis.hierarchy_meanfield`` takes it: the stem compartment's name,
    its mean-field description and the pools' by name."""
    stem = hierarchy_stem(params)
    assert stem is not None
    tel, clock = stem.telomere, stem.stem_divisions
    stem_mf = StemMeanField(
        initial_mean_bp=tel.initial_mean_bp,
        loss_bp=expected_loss_bp(tel.loss_mean_bp, tel.loss_sd_bp, tel.telomerase_stem),
        interval_days=clock.interval_days,
        childhood_factor=clock.childhood_factor,
        childhood_timescale_years=clock.childhood_timescale_years,
        pool_at_birth_fraction=clock.pool_at_birth_fraction,
        lifespan_days=stem.lifespan_days,
        loss_slope_per_bp=tel.loss_length_slope * (1.0 - tel.telomerase_stem),
        reference_bp=tel.loss_reference_bp,
    )
    pools = {
        t.name: PoolMeanField(
            lifespan_days=t.lifespan_days,
            supply_share=t.supply_share,
            loss_bp=expected_loss_bp(t.telomere.loss_mean_bp, t.telomere.loss_sd_bp),
            amplification_divisions=t.amplification_divisions,
            initial_mean_bp=None if t.initial_from_supply else t.telomere.initial_mean_bp,
            loss_slope_per_bp=t.telomere.loss_length_slope,
            reference_bp=t.telomere.loss_reference_bp,
            childhood_turnover_factor=t.childhood_turnover.factor,
            childhood_turnover_timescale_years=t.childhood_turnover.timescale_years,
        )
        for t in params.tissues
        if t.supply_from == stem.name
    }
    return stem.name, stem_mf, pools


def hierarchy_meanfield_curves(params: ModelParams) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per tissue of the hierarchy: ``(ages_years, mean telomere bp)`` monthly over the
    run, by the mean field of ``analysis.hierarchy_meanfield``."""
    name, stem_mf, pools = hierarchy_meanfield_model(params)
    run = params.run
    start = run.start_age_days / DAYS_PER_YEAR
    ages = start + np.arange(0.0, run.horizon_days / DAYS_PER_YEAR + 1 / 12, 1 / 12)
    stem_bp, pool_bp = hierarchy_means_bp(ages, start, stem_mf, pools, step_days=2.0)
    return {name: (ages, stem_bp), **{n: (ages, v) for n, v in pool_bp.items()}}


def hierarchy_meanfield_holds(
    params: ModelParams, means: dict[str, tuple[np.ndarray, np.ndarray]]
) -> bool:
    """Whether the closed form holds for every tissue of the hierarchy (``means``):
    ``meanfield_holds`` with the spread of the stem cells (whose telomeres the supplied
    cells carry)."""
    stem = hierarchy_stem(params)
    assert stem is not None
    sd = stem.telomere.initial_sd_bp
    return all(
        meanfield_holds(params, name, mean, sd_bp=sd, length_dependent=True)
        for name, (_, mean) in means.items()
    )


def meanfield_holds(
    params: ModelParams,
    tissue: str,
    mean: np.ndarray,
    sd_bp: float | None = None,
    length_dependent: bool = False,
) -> bool:
    """Whether the closed form holds along ``mean``: it stays ``THRESHOLD_MARGIN_SD`` SDs
    (``sd_bp``, by default the initial SD of the cells, widened by the loss SD over ~10
    divisions) above the threshold, no cell senesces by stress, none transforms, and the
    loss per division does not depend on the length (``loss_length_slope`` 0) unless the
    closed form describes it (``length_dependent``: the hierarchy's does, the linear one
    does not)."""
    t = next(x for x in params.tissues if x.name == tissue)
    tel = t.telomere
    spread = tel.initial_sd_bp if sd_bp is None else sd_bp
    sd = math.hypot(spread, tel.loss_sd_bp * math.sqrt(10.0))
    quiet = (
        t.stress.rate_per_day == 0.0
        and t.stress.age_slope_per_day_per_year == 0.0
        and t.stress.epigenetic_slope_per_day_per_year == 0.0
        and t.transformation.probability_per_division == 0.0
        and (length_dependent or tel.loss_length_slope == 0.0)
    )
    return quiet and float(mean.min()) - THRESHOLD_MARGIN_SD * sd > tel.senescence_threshold_bp


def _priors(plan: CalibrationPlan) -> Any:
    import pyabc

    rvs = {}
    for name, d in plan.study.parameters.items():
        if d.distribution == "uniform":
            rvs[name] = pyabc.RV("uniform", d.low, d.high - d.low)
        elif d.distribution == "loguniform":
            rvs[name] = pyabc.RV("loguniform", d.low, d.high)
        elif d.distribution == "normal":
            rvs[name] = pyabc.RV("norm", d.mean, d.sd)
        else:
            a, b = (d.low - d.mean) / d.sd, (d.high - d.mean) / d.sd
            rvs[name] = pyabc.RV("truncnorm", a, b, d.mean, d.sd)
    return pyabc.Distribution(**rvs)


def _check_folder(plan: CalibrationPlan, out_dir: Path) -> bool:
    """Refuse a folder of another calibration; True when resuming this one."""
    preflight_output(out_dir, "calibration")
    manifest = out_dir / MANIFEST
    if not manifest.is_file():
        return False
    try:
        old = json.loads(manifest.read_text())
    except (OSError, ValueError):
        raise CalibrationError(f"--out = {str(out_dir)!r}: unreadable {MANIFEST}") from None
    if old.get("fingerprint") != plan.fingerprint:
        raise CalibrationError(
            f"--out = {str(out_dir)!r} holds a different calibration (fingerprint "
            f"{old.get('fingerprint')} != {plan.fingerprint}): choose another folder"
        )
    return (out_dir / "abc.db").is_file()


def run_calibration(
    plan: CalibrationPlan,
    out_dir: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Any = None,
    console: Console | None = None,
) -> dict[str, Any]:
    """Run (or continue) the calibration into ``out_dir`` and write its outputs (module
    doc; with ``[mcmc]``, ``cellsim.run.calibration_mcmc``'s, on ``workers`` local
    processes (None: all CPUs); a ``scheduler`` or ``client`` is for ABC). Returns
    ``{"posterior", "summary", "bands", "out_dir"}`` and ``"populations"`` (ABC) or
    ``"diagnostics"`` (MCMC)."""
    console = console or Console()
    out_dir = Path(out_dir)
    study = plan.study
    if study.simulator == "linear_meanfield":
        check_linear_meanfield(plan)
    if study.simulator == "hierarchy_meanfield":
        check_hierarchy_meanfield(plan)
    if study.mcmc is not None and (scheduler is not None or client is not None):
        raise CalibrationError(
            "calibrate: --scheduler is for ABC; an [mcmc] calibration runs on local "
            "processes (--workers)"
        )
    resuming = _check_folder(plan, out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / MANIFEST, _manifest(plan, "running"))
    t0 = time.monotonic()
    if study.mcmc is not None:  # MCMC on a likelihood of the statistics, on local processes
        from cellsim.run.calibration_mcmc import run_mcmc

        result = run_mcmc(plan, out_dir, console, workers=workers or os.cpu_count() or 1)
    else:
        history = run_abc(plan, out_dir / "abc.db", resuming, workers, scheduler, client, console)
        result = write_outputs(plan, out_dir, history, console)
    write_json(
        out_dir / MANIFEST,
        {**_manifest(plan, "complete"), "wall_seconds_last_invocation": time.monotonic() - t0},
    )
    return result


def _manifest(plan: CalibrationPlan, status: str) -> dict[str, Any]:
    from cellsim import __version__

    return {
        "kind": "calibration",
        "status": status,
        "name": plan.study.name,
        "fingerprint": plan.fingerprint,
        "calibration": plan.study.model_dump(mode="json"),
        "cellsim_version": __version__,
        "pid": os.getpid(),
    }


def run_abc(
    plan: CalibrationPlan,
    db_path: Path | None,
    resuming: bool = False,
    workers: int | None = 1,
    scheduler: str | None = None,
    client: Any = None,
    console: Console | None = None,
) -> Any:
    """Run ABC-SMC generations into the SQLite file ``db_path`` (new, or continued when
    ``resuming``; None: in memory, nothing kept) until ``abc.max_populations``
    generations exist or pyabc's stopping rules end it; returns pyabc's History."""
    import pyabc

    console = console or Console(quiet=True)
    logging.getLogger("ABC").setLevel(logging.WARNING)
    logging.getLogger("Sampler").setLevel(logging.WARNING)
    s = plan.study
    distance = (
        pyabc.distance.AdaptivePNormDistance(p=2)
        if s.abc.distance == "adaptive"
        else pyabc.distance.PNormDistance(p=2)
    )
    db = "sqlite://" if db_path is None else f"sqlite:///{db_path}"
    np.random.seed(s.seed)  # noqa: NPY002 - pyabc draws its proposals from the global generator
    local = workers == 1 and client is None and scheduler is None
    with _sampler(local, client, workers, scheduler) as sampler:
        abc = pyabc.ABCSMC(
            CohortSimulator(plan),
            _priors(plan),
            distance,
            population_size=s.abc.population_size,
            eps=pyabc.epsilon.QuantileEpsilon(alpha=s.abc.epsilon_quantile),
            sampler=sampler,
        )
        if resuming:
            history = abc.load(db, 1)
            done = history.max_t + 1
            console.print(
                f"{s.name}: resuming after {done} generation(s) of {s.abc.max_populations}",
                markup=False,
            )
        else:
            history = abc.new(db, plan.observed)
            done = 0
            console.print(
                f"{s.name}: ABC-SMC of {len(s.parameters)} parameter(s) on {len(plan.ages_years)} "
                f"people, {s.abc.population_size} particles, up to {s.abc.max_populations} "
                f"generations ({s.simulator} simulator)",
                markup=False,
            )
        remaining = s.abc.max_populations - done
        if remaining > 0:
            history = abc.run(
                minimum_epsilon=s.abc.min_epsilon,
                max_nr_populations=remaining,
                min_acceptance_rate=s.abc.min_acceptance_rate,
            )
    return history


@contextmanager
def _sampler(local: bool, client: Any, workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """pyabc's sampler: in process, or Dask on cellsim's cluster (``client_for``)."""
    from pyabc.sampler import DaskDistributedSampler, SingleCoreSampler

    if local:
        yield SingleCoreSampler()
        return
    from cellsim.run.dask import client_for

    with client_for(client, workers, scheduler) as (cl, _):
        yield DaskDistributedSampler(dask_client=cl, batch_size=4)


def posterior_table(history: Any, names: list[str]) -> pd.DataFrame:
    """The last generation of a pyabc History: ``names`` and ``weight`` (summing to 1)."""
    df, w = history.get_distribution(m=0, t=history.max_t)
    return df.reset_index(drop=True)[names].assign(weight=np.asarray(w) / np.sum(w))


def predictive_outputs(
    plan: CalibrationPlan,
    simulator: Any,
    posterior: pd.DataFrame,
    names: list[str],
    n_draws: int,
    weights: np.ndarray | None,
    figs: Path,
) -> tuple[pd.DataFrame, list[Path]]:
    """The posterior-predictive check of a calibration: ``n_draws`` posterior rows (drawn
    with ``weights``, uniformly when None, from the study's seed), each a cohort of the
    data's ages from ``simulator.people``; returns their bands (``predictive_bands``) and
    the pairs and predictive-check figures written to ``figs``."""
    from analysis.calibration import plot_pairs, plot_predictive_check, predictive_bands

    s = plan.study
    rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(stable_key("ppc"),)))
    idx = rng.choice(len(posterior), size=n_draws, p=weights)
    draws = [simulator.people(posterior.iloc[i][names].to_dict()) for i in idx]
    bands = predictive_bands(
        plan.ages_years, draws, s.summary.age_bins_years, plan.values_bp, plan.names, seed=s.seed
    )
    made = [
        plot_pairs(posterior, names, figs / "pairs.png", seed=s.seed),
        plot_predictive_check(
            plan.ages_years,
            plan.values_bp,
            bands,
            figs / "predictive_check.png",
            ylabel=f"{', '.join(plan.names)}, in bp",
            title=f"{s.name}: data and posterior-predictive bands",
        ),
    ]
    return bands, made


def print_posterior_summary(
    console: Console, summary: pd.DataFrame, out_dir: Path, name_width: int = 40
) -> None:
    """Print each parameter's posterior median and 90% credible interval (``summary``'s
    ``parameter``, ``median``, ``ci90_low``, ``ci90_high``), then where the outputs went."""
    for _, r in summary.iterrows():
        console.print(
            f"  {r['parameter']:<{name_width}} median {r['median']:10.4g}   90% CI "
            f"[{r['ci90_low']:.4g}, {r['ci90_high']:.4g}]",
            markup=False,
            highlight=False,
        )
    console.print(f"wrote {out_dir}", markup=False)


def write_outputs(
    plan: CalibrationPlan, out_dir: Path, history: Any, console: Console
) -> dict[str, Any]:
    """Posterior, generations, posterior-predictive check, figures and report."""
    from analysis.calibration import (
        format_calibration_report,
        plot_epsilon,
        posterior_summary,
    )

    s = plan.study
    names = list(s.parameters)
    posterior = posterior_table(history, names)
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0].reset_index(drop=True)
    populations = pd.DataFrame(
        {
            "t": pops["t"].astype(int),
            "epsilon": pops["epsilon"].astype(float),
            "samples": pops["samples"].astype(int),
            "particles": pops["particles"].astype(int),
        }
    )
    populations["acceptance_rate"] = populations["particles"] / populations["samples"]
    summary = posterior_summary(posterior, names)
    figs = out_dir / "figures"
    bands, made = predictive_outputs(
        plan,
        CohortSimulator(plan),
        posterior,
        names,
        s.abc.posterior_predictive_draws,
        posterior["weight"].to_numpy(),
        figs,
    )
    made.append(plot_epsilon(populations, figs / "epsilon.png"))
    write_parquet(out_dir / "posterior.parquet", posterior)
    write_csv(out_dir / "posterior_summary.csv", summary)
    write_csv(out_dir / "populations.csv", populations)
    write_csv(out_dir / "predictive.csv", bands)
    priors = {n: d.describe() for n, d in s.parameters.items()}
    settings = {
        "population_size": s.abc.population_size,
        "simulator": s.simulator,
        "distance": s.abc.distance,
        "n_people": len(plan.ages_years),
        "data_file": s.data.file,
    }
    text = format_calibration_report(
        s.name,
        settings,
        priors,
        summary,
        populations,
        bands,
        [str(p.relative_to(out_dir)) for p in made],
        [POSTERIOR_NOTE],
    )
    write_text(out_dir / "report.md", text)
    print_posterior_summary(console, summary, out_dir, name_width=40)
    return {
        "posterior": posterior,
        "summary": summary,
        "populations": populations,
        "bands": bands,
        "out_dir": out_dir,
    }
