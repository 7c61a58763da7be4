"""Calibrate by MCMC on a likelihood of the summary statistics (``[mcmc]`` of a calibration).

ABC-SMC of many parameters (the blood calibration: 14 parameters, 72 statistics) did not
concentrate on two cores. Where the model is the hierarchy's closed form (deterministic
and milliseconds per evaluation), the statistics can be given a likelihood instead:

- the data's statistics in one age bin (per observable, its 10th, 50th and 90th
  percentiles, or whichever of those and the mean ``[summary]`` names), ``s_b``, are taken
  as multivariate Normal around the model's, with the covariance ``C_b`` of a bootstrap of
  the data's people in that bin (resampling people, so the percentiles of one cell type,
  and the two cell types of the same people, keep their correlations); different bins
  are independent (different people);
- the model's statistic ``m_k(theta)`` is that of a large simulated cohort at the data's
  ages: ``people_per_person`` people per person of the data, person ``i`` with
  ``mean_j(a_i) + sd z_i r_j(a_i)`` (the closed form, the between-person offset carried as
  the model carries it: ``CohortSimulator``'s construction) with the same standard normals
  ``z`` at every ``theta``, so the likelihood is a smooth function of ``theta``; its own
  sampling error, ``C_b / people_per_person``, is added to the covariance;
- ``log L = -1/2 sum_b r_b' (C_b (1 + 1 / people_per_person))^-1 r_b`` with ``r_b = s_b -
  m_b(theta)``, and the posterior is that times the priors. Where the closed form does
  not hold (cells near their critical length before the oldest person's age) the
  likelihood is 0: the posterior is restricted to the closed form's regime, which the
  report says.

The posterior is sampled by emcee's affine-invariant ensemble sampler (Foreman-Mackey et
al. 2013), the walkers starting in a small ball around ``mcmc.start`` (a direct fit's
optimum: scripts/fit_blood_meanfield.py). The chain is saved every ``checkpoint_steps``
steps to ``DIR/chain.npz``; rerunning the same command continues from the last save up to
``mcmc.steps``. The walkers' posteriors are evaluated on ``--workers`` local
processes (the same chain as on one). Written to ``DIR`` (as ``cellsim.run.calibration``
writes for ABC)::

    posterior.parquet      after burn-in, every ``thin``-th position of every walker,
                           equal weights (the columns the scenarios read)
    posterior_summary.csv  per parameter: mean, median, 90% credible interval
    chain.npz              the whole chain, its log-posteriors and the walkers' state
    diagnostics.csv        per parameter: integrated autocorrelation time (steps)
    predictive.csv         posterior-predictive percentiles per age bin, data beside
    figures/               pairs.png, predictive_check.png, trace.png
    report.md, manifest.json

Seeds: the simulated cohort's offsets, the bootstrap and the initial ball come from the
study seed; emcee's moves from a generator seeded by it, whose state is saved with the
chain, so a resumed run ends where an uninterrupted one would.
"""

from __future__ import annotations

import itertools
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console

from cellsim.config.calibration import CalibrationError, CalibrationPlan
from cellsim.config.calibration_file import COHORT_SD, MCMCSettings
from cellsim.config.distributions import Distribution
from cellsim.config.plan import stable_key
from cellsim.io import write_csv, write_parquet, write_text

STATISTIC_QUANTILES = {"p10": 0.1, "median": 0.5, "p90": 0.9}
"""The percentiles a likelihood can be put on, by their names in ``[summary]``."""
CHAIN = "chain.npz"


def log_prior(d: Distribution, x: float) -> float:
    """The log density of prior ``d`` at ``x`` (up to a constant; -inf outside its support).

    Args:
        d: the prior.
        x: the value.

    Example:
        >>> from cellsim.config.distributions import Distribution
        >>> d = Distribution(distribution="uniform", low=0.0, high=2.0)
        >>> log_prior(d, 1.0), log_prior(d, 3.0)
        (0.0, -inf)
    """
    kind = d.distribution
    if kind in ("uniform", "loguniform", "truncnormal") and not d.low <= x <= d.high:
        return -math.inf
    if kind == "uniform":
        return 0.0
    if kind == "loguniform":
        return -math.log(x)
    return -0.5 * ((x - d.mean) / d.sd) ** 2


class PercentileLikelihood:
    """The posterior's log density over a calibration's parameters (module doc).

    ``names``: the parameters in file order (the vector's order); ``cells``: per (observable,
    age bin) with data, the observable's index and the people in the bin; ``observed`` and
    ``se``: cells x statistics, the data's statistics and their bootstrap standard errors.
    """

    def __init__(self, plan: CalibrationPlan) -> None:
        from cellsim.run.calibration import CohortSimulator, check_hierarchy_meanfield

        check_hierarchy_meanfield(plan)
        s = plan.study
        mcmc = s.mcmc
        assert mcmc is not None
        self.plan = plan
        self.names = list(s.parameters)
        self.priors = [s.parameters[n] for n in self.names]
        self.statistics = list(s.summary.statistics)
        self.people_per_person = mcmc.people_per_person
        self.simulator = CohortSimulator(plan)
        ages, obs = plan.ages_years, plan.values_bp
        self.ages = ages
        self.cells: list[tuple[int, np.ndarray]] = []
        self.cell_names: list[tuple[str, float, float]] = []
        self.groups: list[list[int]] = []  # per age bin: its cells (one per observable)
        self.group_bins: list[tuple[float, float]] = []
        bins = list(itertools.pairwise(s.summary.age_bins_years))
        for lo, hi in bins:
            group = []
            for j, name in enumerate(plan.names):
                m = (ages >= lo) & (ages < hi) & np.isfinite(obs[:, j])
                if m.any():
                    group.append(len(self.cells))
                    self.cells.append((j, m))
                    self.cell_names.append((name, lo, hi))
            if group:
                self.groups.append(group)
                self.group_bins.append((lo, hi))
        rng = np.random.default_rng(np.random.SeedSequence(s.seed, spawn_key=(stable_key("z"),)))
        self.z = rng.standard_normal((self.people_per_person, len(ages)))
        boot = np.random.default_rng(
            np.random.SeedSequence(s.seed, spawn_key=(stable_key("bootstrap"),))
        )
        k = len(self.statistics)
        self.observed = np.empty((len(self.cells), k))
        self.se = np.empty_like(self.observed)
        self.precision: list[np.ndarray] = []
        inflation = 1.0 + 1.0 / self.people_per_person
        for (lo, hi), group in zip(self.group_bins, self.groups, strict=True):
            people = np.flatnonzero((ages >= lo) & (ages < hi) & np.isfinite(obs).any(axis=1))
            rows = people[boot.integers(people.size, size=(mcmc.bootstrap_resamples, people.size))]
            draws = []
            for i in group:
                j, m = self.cells[i]
                self.observed[i] = self._statistics(obs[m, j][None, :])[0]
                draws.append(self._statistics(obs[rows, j]))
            cov = np.atleast_2d(np.cov(np.hstack(draws), rowvar=False))
            se = np.sqrt(np.diag(cov)).reshape(len(group), k)
            if not np.all(se > 0) or np.linalg.cond(cov) > 1e12:
                raise CalibrationError(
                    f"[mcmc]: the data's statistics at {lo:g}-{hi:g} y have no spread under "
                    "the bootstrap (too few people): merge that age bin"
                )
            self.se[group] = se
            self.precision.append(np.linalg.inv(cov * inflation))

    def _statistics(self, values: np.ndarray, missing: bool = True) -> np.ndarray:
        """Rows of ``values`` -> their ``statistics`` (rows x statistics; NaNs left out,
        where ``missing`` says there may be some)."""
        mean = np.nanmean if missing else np.mean
        quantile = np.nanquantile if missing else np.quantile
        cols = []
        for stat in self.statistics:
            if stat == "mean":
                cols.append(mean(values, axis=1))
            else:
                cols.append(quantile(values, STATISTIC_QUANTILES[stat], axis=1))
        return np.column_stack(cols)

    def model_statistics(self, pars: dict[str, float]) -> np.ndarray | None:
        """The model's statistics per cell (cells x statistics), or None where the closed
        form does not hold at ``pars``."""
        from cellsim.run.calibration import RESPONSE_STEP_BP

        sim = self.simulator
        # the response to the birth length, as CohortSimulator.responses (exact: linear)
        pair = sim.meanfield_pair(pars)
        if pair is None:
            return None
        means, higher = pair
        sd = sim.fixed_sd if sim.fixed_sd is not None else float(pars[COHORT_SD])
        curves = []
        for tissue in sim.tissues:
            ages, m = means[tissue]
            response = (higher[tissue][1] - m) / RESPONSE_STEP_BP
            curves.append((np.interp(self.ages, ages, m), np.interp(self.ages, ages, response)))
        out = np.empty_like(self.observed)
        for i, (j, mask) in enumerate(self.cells):
            mean, response = curves[j]
            people = mean[mask] + sd * self.z[:, mask] * response[mask]
            out[i] = self._statistics(people.reshape(1, -1), missing=False)[0]
        return out

    def log_prior(self, x: np.ndarray) -> float:
        """The priors' log density at the parameter vector ``x``."""
        return float(sum(log_prior(d, float(v)) for d, v in zip(self.priors, x, strict=True)))

    def log_likelihood(self, pars: dict[str, float]) -> float:
        """The statistics' Gaussian log likelihood at ``pars`` (-inf outside the closed
        form's regime)."""
        model = self.model_statistics(pars)
        if model is None:
            return -math.inf
        r = self.observed - model
        total = 0.0
        for group, precision in zip(self.groups, self.precision, strict=True):
            rg = r[group].ravel()
            total += float(rg @ precision @ rg)
        return -0.5 * total

    def misfit_se(self, pars: dict[str, float]) -> np.ndarray | None:
        """The data's statistics less the model's at ``pars``, in standard errors (cells x
        statistics; None outside the closed form's regime)."""
        model = self.model_statistics(pars)
        if model is None:
            return None
        return (self.observed - model) / (self.se * np.sqrt(1.0 + 1.0 / self.people_per_person))

    def __call__(self, x: np.ndarray) -> float:
        """The posterior's log density (up to a constant) at the vector ``x``."""
        lp = self.log_prior(x)
        if not math.isfinite(lp):
            return -math.inf
        return lp + self.log_likelihood(dict(zip(self.names, map(float, x), strict=True)))


def initial_ball(
    likelihood: PercentileLikelihood, mcmc: MCMCSettings, rng: np.random.Generator
) -> np.ndarray:
    """The walkers' start (walkers x parameters): Normal around ``mcmc.start`` (a
    parameter left out: its prior's median) with SD ``start_spread`` x the prior's central
    98% width, each value folded back into the prior's support by redrawing; a walker
    whose posterior density is 0 is redrawn (up to 1000 times)."""
    centre, width = [], []
    for name, d in zip(likelihood.names, likelihood.priors, strict=True):
        lo, mid, hi = (float(v) for v in d.ppf(np.array([0.01, 0.5, 0.99])))
        centre.append(mcmc.start.get(name, mid))
        width.append(hi - lo)
    centre_v, width_v = np.array(centre), np.array(width)
    walkers = []
    for _ in range(mcmc.walkers):
        for _ in range(1000):
            x = centre_v + mcmc.start_spread * width_v * rng.standard_normal(centre_v.size)
            if math.isfinite(likelihood(x)):
                walkers.append(x)
                break
        else:
            raise CalibrationError(
                "[mcmc]: no walker near mcmc.start has a positive posterior density (outside "
                "the priors or the closed form's regime): start elsewhere"
            )
    return np.array(walkers)


def _load_chain(path: Path, fingerprint: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as f:
        saved = {k: f[k] for k in f.files}
    if str(saved["fingerprint"]) != fingerprint:
        raise CalibrationError(
            f"{path}: the chain of a different calibration (fingerprint "
            f"{saved['fingerprint']} != {fingerprint}): choose another folder"
        )
    return saved


def _save_chain(
    path: Path, chain: np.ndarray, log_prob: np.ndarray, random_state: tuple, fp: str
) -> None:
    """Write the chain, its log-posteriors, the moves' RandomState and the calibration's
    fingerprint to ``path`` atomically."""
    name, keys, pos, has_gauss, cached = random_state
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez(
        tmp,
        chain=chain,
        log_prob=log_prob,
        rng_keys=np.asarray(keys, dtype=np.uint32),
        rng_rest=np.array([pos, has_gauss, cached], dtype=np.float64),
        rng_name=np.array(name),
        fingerprint=np.array(fp),
    )
    tmp.replace(path)


def _random_state(saved: dict[str, Any]) -> tuple:
    """The RandomState state saved by ``_save_chain``."""
    pos, has_gauss, cached = saved["rng_rest"]
    return (str(saved["rng_name"]), saved["rng_keys"], int(pos), int(has_gauss), float(cached))


_WORKER_LIKELIHOOD: PercentileLikelihood | None = None
"""In a worker process of ``run_mcmc``'s pool: the likelihood, built once per process."""


def _init_worker(plan: CalibrationPlan) -> None:
    global _WORKER_LIKELIHOOD
    _WORKER_LIKELIHOOD = PercentileLikelihood(plan)


def _worker_log_prob(x: np.ndarray) -> float:
    assert _WORKER_LIKELIHOOD is not None
    return _WORKER_LIKELIHOOD(x)


def run_mcmc(
    plan: CalibrationPlan,
    out_dir: Path,
    console: Console | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Run (or continue) the MCMC into ``out_dir``: the chain (``chain.npz``), then the
    outputs (module doc). Returns ``{"posterior", "summary", "bands", "diagnostics",
    "out_dir"}``.

    ``workers`` > 1 evaluates the walkers' posteriors on that many local processes (each
    builds its own likelihood, which is deterministic given the plan): the chain is the
    same as with one."""
    import multiprocessing

    console = console or Console(quiet=True)
    s = plan.study
    mcmc = s.mcmc
    assert mcmc is not None
    likelihood = PercentileLikelihood(plan)
    path = out_dir / CHAIN
    saved = _load_chain(path, plan.fingerprint)
    seeds = np.random.SeedSequence(s.seed, spawn_key=(stable_key("mcmc"),))
    # emcee's moves draw from a legacy RandomState, whose state is saved with the chain
    moves = np.random.RandomState(seeds.generate_state(1)[0])
    if saved is None:
        start = initial_ball(likelihood, mcmc, np.random.default_rng(seeds))
        chain = np.empty((0, mcmc.walkers, len(likelihood.names)))
        log_prob = np.empty((0, mcmc.walkers))
        console.print(
            f"{s.name}: MCMC (emcee) of {len(likelihood.names)} parameter(s), {mcmc.walkers} "
            f"walkers x {mcmc.steps} steps, likelihood of {likelihood.observed.size} statistics "
            f"on {len(plan.ages_years)} people",
            markup=False,
        )
    else:
        chain, log_prob = saved["chain"], saved["log_prob"]
        moves.set_state(_random_state(saved))
        start = chain[-1]
        console.print(
            f"{s.name}: resuming after {chain.shape[0]} of {mcmc.steps} steps", markup=False
        )
    pool = None
    if workers > 1:
        pool = multiprocessing.get_context("spawn").Pool(
            workers, initializer=_init_worker, initargs=(plan,)
        )
    try:
        chain, log_prob = _sample(
            plan, path, likelihood, chain, log_prob, start, moves, pool, console
        )
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    return write_mcmc_outputs(plan, likelihood, out_dir, chain, log_prob, console)


def _sample(
    plan: CalibrationPlan,
    path: Path,
    likelihood: PercentileLikelihood,
    chain: np.ndarray,
    log_prob: np.ndarray,
    start: np.ndarray,
    moves: np.random.RandomState,
    pool: Any,
    console: Console,
) -> tuple[np.ndarray, np.ndarray]:
    """Extend ``chain`` to ``mcmc.steps``, saving it every ``checkpoint_steps``."""
    import emcee

    mcmc = plan.study.mcmc
    assert mcmc is not None
    fn = likelihood if pool is None else _worker_log_prob
    sampler = emcee.EnsembleSampler(mcmc.walkers, len(likelihood.names), fn, pool=pool)
    t0 = time.monotonic()
    state = emcee.State(
        start,
        log_prob=log_prob[-1] if len(log_prob) else None,
        random_state=moves.get_state(),
    )
    while chain.shape[0] < mcmc.steps:
        n = min(mcmc.checkpoint_steps, mcmc.steps - chain.shape[0])
        sampler.reset()
        state = sampler.run_mcmc(state, n, progress=False)
        chain = np.concatenate([chain, sampler.get_chain()])
        log_prob = np.concatenate([log_prob, sampler.get_log_prob()])
        _save_chain(path, chain, log_prob, state.random_state, plan.fingerprint)
        console.print(
            f"  step {chain.shape[0]} of {mcmc.steps}: acceptance "
            f"{float(np.mean(sampler.acceptance_fraction)):.2f}, best log-posterior "
            f"{float(log_prob.max()):.1f} ({time.monotonic() - t0:.0f} s)",
            markup=False,
        )
    return chain, log_prob


def posterior_from_chain(
    chain: np.ndarray, names: list[str], burn_in_steps: int, thin: int
) -> pd.DataFrame:
    """The posterior sample: after ``burn_in_steps``, every ``thin``-th position of every
    walker (steps x walkers x parameters in), as ``names`` and ``weight`` (equal, summing
    to 1).

    Args:
        chain: the chain (steps x walkers x parameters).
        names: the parameters' names.
        burn_in_steps: the steps left out.
        thin: the step between positions kept.
    """
    kept = chain[burn_in_steps::thin].reshape(-1, chain.shape[-1])
    df = pd.DataFrame(kept, columns=names)
    return df.assign(weight=1.0 / len(df))


def chain_diagnostics(chain: np.ndarray, names: list[str], burn_in_steps: int) -> pd.DataFrame:
    """Per parameter, emcee's integrated autocorrelation time (steps) of the chain after
    burn-in, and the chain's length in those times (emcee asks for more than 50 for a
    reliable estimate).

    Args:
        chain: the chain (steps x walkers x parameters).
        names: the parameters' names.
        burn_in_steps: the steps left out.
    """
    import emcee

    after = chain[burn_in_steps:]
    tau = emcee.autocorr.integrated_time(after, quiet=True)
    return pd.DataFrame(
        {
            "parameter": names,
            "autocorrelation_steps": tau,
            "chain_over_autocorrelation": after.shape[0] / tau,
            "effective_samples": after.shape[0] * after.shape[1] / tau,
        }
    )


def write_mcmc_outputs(
    plan: CalibrationPlan,
    likelihood: PercentileLikelihood,
    out_dir: Path,
    chain: np.ndarray,
    log_prob: np.ndarray,
    console: Console,
) -> dict[str, Any]:
    """Posterior, diagnostics, posterior-predictive check, figures and report."""
    from analysis.calibration import (
        format_calibration_report,
        posterior_summary,
    )
    from cellsim.run.calibration import (
        POSTERIOR_NOTE,
        predictive_outputs,
        print_posterior_summary,
    )

    s = plan.study
    mcmc = s.mcmc
    assert mcmc is not None
    names = likelihood.names
    posterior = posterior_from_chain(chain, names, mcmc.burn_in_steps, mcmc.thin)
    summary = posterior_summary(posterior, names)
    diagnostics = chain_diagnostics(chain, names, mcmc.burn_in_steps)
    figs = out_dir / "figures"
    bands, made = predictive_outputs(
        plan,
        likelihood.simulator,
        posterior,
        names,
        mcmc.posterior_predictive_draws,
        None,
        figs,
    )
    made.append(plot_trace(chain, log_prob, names, mcmc.burn_in_steps, figs / "trace.png"))
    write_parquet(out_dir / "posterior.parquet", posterior)
    write_csv(out_dir / "posterior_summary.csv", summary)
    write_csv(out_dir / "diagnostics.csv", diagnostics)
    write_csv(out_dir / "predictive.csv", bands)
    best = np.unravel_index(np.argmax(log_prob), log_prob.shape)
    best_pars = dict(zip(names, map(float, chain[best]), strict=True))
    z = likelihood.misfit_se(best_pars)
    assert z is not None
    acceptance = float(np.mean(np.any(chain[1:] != chain[:-1], axis=2)))
    header = (
        f"MCMC (emcee, affine-invariant ensemble), {mcmc.walkers} walkers x "
        f"{chain.shape[0]} steps ({chain.shape[0] * mcmc.walkers} evaluations), burn-in "
        f"{mcmc.burn_in_steps} steps, every {mcmc.thin}th step kept: {len(posterior)} "
        f"draws; likelihood: {likelihood.observed.size} statistics "
        f"({', '.join(likelihood.statistics)} per observable and age bin), multivariate "
        f"Normal per age bin with the covariance of a bootstrap of its people "
        f"({mcmc.bootstrap_resamples} resamples), the model's own from "
        f"{mcmc.people_per_person} simulated people per person; simulator: {s.simulator} "
        f"(posterior restricted to its regime); data: {len(plan.ages_years)} people from "
        f"{s.data.file}. The walkers moved in {acceptance:.0%} of their steps."
    )
    diag_lines = [
        "## The chain",
        "",
        "| parameter | autocorrelation (steps) | chain / autocorrelation | effective draws |",
        "|---|---:|---:|---:|",
        *(
            f"| `{r.parameter}` | {r.autocorrelation_steps:.0f} | "
            f"{r.chain_over_autocorrelation:.1f} | {r.effective_samples:.0f} |"
            for r in diagnostics.itertuples()
        ),
        "",
        f"Highest log-posterior in the chain {float(log_prob.max()):.1f}: there the "
        f"statistics' misfits in standard errors have sum of squares {float((z**2).sum()):.1f} "
        f"over {z.size} statistics; {int((np.abs(z) > 1.96).sum())} beyond 1.96.",
    ]
    priors = {n: d.describe() for n, d in s.parameters.items()}
    text = format_calibration_report(
        s.name,
        {},
        priors,
        summary,
        None,
        bands,
        [str(p.relative_to(out_dir)) for p in made],
        [*diag_lines, "", POSTERIOR_NOTE],
        header=header,
    )
    write_text(out_dir / "report.md", text)
    print_posterior_summary(console, summary, out_dir, name_width=48)
    return {
        "posterior": posterior,
        "summary": summary,
        "bands": bands,
        "diagnostics": diagnostics,
        "out_dir": out_dir,
    }


def plot_trace(
    chain: np.ndarray, log_prob: np.ndarray, names: list[str], burn_in_steps: int, path: Path
) -> Path:
    """Each parameter's walkers (and the log-posterior) against the step, burn-in marked.

    Args:
        chain: the chain (steps x walkers x parameters).
        log_prob: the log-posteriors (steps x walkers).
        names: the parameters' names.
        burn_in_steps: where the burn-in ends.
        path: the PNG file to write.
    """
    from matplotlib.figure import Figure

    from analysis.plots import _save

    n = len(names) + 1
    fig = Figure(figsize=(9.0, 1.3 * n))
    axes = fig.subplots(n, 1, sharex=True)
    series = [*(chain[:, :, k] for k in range(len(names))), log_prob]
    labels = [*names, "log posterior"]
    for ax, y, label in zip(axes, series, labels, strict=True):
        ax.plot(y, color="#08519c", alpha=0.15, lw=0.5)
        ax.axvline(burn_in_steps, color="0.4", ls="--", lw=0.8)
        ax.set_ylabel(label, fontsize=6, rotation=0, ha="right")
        ax.tick_params(labelsize=6)
    lo = np.percentile(log_prob[burn_in_steps:], 1) if log_prob.shape[0] > burn_in_steps else None
    if lo is not None and np.isfinite(lo):
        axes[-1].set_ylim(lo - 10.0, float(log_prob.max()) + 5.0)
    axes[-1].set_xlabel("step")
    fig.tight_layout()
    return _save(fig, path)
