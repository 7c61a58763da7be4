"""The engine against the naive one-agent-per-cell Mesa reference (reference/naive_mesa.py).

The two implementations share only the parameter models: the engine draws the events of a
step in continuous time from a numpy Generator inside Numba kernels
(cellsim/kernels/events.py), the reference runs its own Gillespie loop over ``mesa.Agent``
cells with Python's ``random``. If both implement docs/MODEL.md's processes exactly, as a
continuous-time Markov chain within each step, their statistics have the same
distributions.

The tissues are chosen where the old per-process splitting (each process applied with
probability ``1 - exp(-rate * dt)``, one after another, vacancies refilled at the end of
the step) was measurably wrong at ``dt = 1``: a lifespan of 5 days (turnover ~10% too
slow) and immune clearance at 0.3/day (~14% too slow). Each statistic is compared by a
two-sided two-sample Kolmogorov-Smirnov test over 40 seeded runs of each, and each test
must have power: it must reject an engine with a parameter changed by about as much,
most of them by the rate the old split scheme effectively used.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from cellsim.engine.model import AgingModel
from cellsim.engine.params import CellState, ModelParams, RunParams, TissueParams
from cellsim.kernels.layout import C_DIVISIONS, C_STRESS
from reference.naive_mesa import NaiveLatticeModel, NaiveTissueModel

ALPHA = 0.01
RUNS = 40
MAX_DAYS = 2000
DT_DAYS = 1.0
LIFESPAN_DAYS = 5.0
CLEARANCE_PER_DAY = 0.3
# What the old split scheme acted out at this step: a fraction 1 - exp(-dt / lifespan) of
# the cells died in a step and was refilled at its end (turnover 1/5.52 per day instead of
# 1/5), and a senescent cell was cleared with probability 1 - exp(-r0 dt) per step (0.259
# per day instead of 0.3). An engine with these rates is the wrong engine the power
# checks must reject.
SPLIT_LIFESPAN_DAYS = DT_DAYS / -math.expm1(-DT_DAYS / LIFESPAN_DAYS)
SPLIT_CLEARANCE_PER_DAY = -math.expm1(-CLEARANCE_PER_DAY * DT_DAYS) / DT_DAYS


def small_tissue(
    loss_mean_bp: float = 100.0,
    lifespan_days: float = LIFESPAN_DAYS,
    clearance_per_day: float = CLEARANCE_PER_DAY,
    stress_per_day: float = 1e-3,
    **fields: Any,
) -> TissueParams:
    """A small fast-turnover tissue with a short telomere budget (about 25 doublings),
    stress senescence rising with age and epigenetic age, and saturating immune
    clearance; ``fields`` override or add top-level fields."""
    return TissueParams.model_validate(
        {
            "n_cells": 300,
            "lifespan_days": lifespan_days,
            "telomere": {
                "initial_mean_bp": 9500.0,
                "initial_sd_bp": 700.0,
                "loss_mean_bp": loss_mean_bp,
                "loss_sd_bp": 30.0,
                "senescence_threshold_bp": 7000.0,
            },
            "stress": {
                "rate_per_day": stress_per_day,
                "age_slope_per_day_per_year": 1e-3,
                "epigenetic_slope_per_day_per_year": 2e-3,
            },
            "clearance": {"rate_per_day": clearance_per_day, "half_saturation_fraction": 0.5},
            "transformation": {"probability_per_division": 0.0},
            **fields,
        }
    )


RUN = RunParams(horizon_days=MAX_DAYS, stop_at="horizon", dt_days=DT_DAYS)


def summary(name: str, samples: dict[str, np.ndarray]) -> str:
    """``name``: mean +- sd of each sample."""
    parts = [f"{k} {v.mean():.1f} +- {v.std(ddof=1):.1f}" for k, v in samples.items()]
    return f"{name}, mean +- sd over {RUNS} runs: " + ", ".join(parts)


def ks_line(label: str, result: Any) -> str:
    """One KS result, for the printed report."""
    return f"KS {label}: D={result.statistic:.3f} p={result.pvalue:.3g}"


# --- well-mixed -------------------------------------------------------------------------
# Stress senescence at 0.05/day makes a steady senescent burden (~20% of the slots, held
# by saturating clearance) within days, long before the telomere budget runs out (failure
# ~day 65, exhaustion ~90). Three statistics per run, each set by one part of the model:
# - the exhaustion day: the telomere budget spent by divisions (all processes);
# - divisions by day 40 (~2440): the turnover, deaths at 1/lifespan each refilled at once
#   (the split scheme: ~2240);
# - senescent-days by day 40 (~2320, senescent cells summed over the step ends): the
#   burden, stress against saturating clearance (an engine clearing at 0.259: ~2550).
WINDOW_DAYS = 40
WELL_MIXED_STRESS_PER_DAY = 0.05
# Three KS tests: alpha/3 each, ALPHA for the three (Bonferroni).
WELL_MIXED_ALPHA = ALPHA / 3


def well_mixed(**changes: float) -> TissueParams:
    return small_tissue(stress_per_day=WELL_MIXED_STRESS_PER_DAY, **changes)


def engine_well_mixed_stats(tissue: TissueParams, seeds: range) -> np.ndarray:
    """(exhaustion day, divisions by WINDOW_DAYS, senescent-days by WINDOW_DAYS) per seed."""
    rows = []
    for seed in seeds:
        model = AgingModel(ModelParams(tissues=[tissue], run=RUN), rng=seed)
        tissue_agent = model.primary
        steps, divisions, senescent_days = 0, 0, 0
        while tissue_agent.event_days["exhaustion"] is None and model.age_days < MAX_DAYS:
            model.step()
            steps += 1
            if steps <= WINDOW_DAYS:
                senescent_days += tissue_agent.cells.count(CellState.SENESCENT)
                divisions = int(tissue_agent.counters[C_DIVISIONS])
        assert tissue_agent.event_days["exhaustion"] is not None
        assert steps > WINDOW_DAYS
        rows.append((tissue_agent.event_days["exhaustion"], divisions, senescent_days))
    return np.array(rows, dtype=float)


def naive_well_mixed_stats(tissue: TissueParams, seeds: range) -> np.ndarray:
    rows = []
    for seed in seeds:
        model = NaiveTissueModel(tissue, RUN, rng=seed)
        steps, divisions, senescent_days = 0, 0, 0
        while model.event_days["exhaustion"] is None and model.age_days < MAX_DAYS:
            model.step()
            steps += 1
            if steps <= WINDOW_DAYS:
                senescent_days += model.counts()["SENESCENT"]
                divisions = model.counters["divisions"]
        assert model.event_days["exhaustion"] is not None
        assert steps > WINDOW_DAYS
        rows.append((model.event_days["exhaustion"], divisions, senescent_days))
    return np.array(rows, dtype=float)


@pytest.mark.slow
def test_engine_and_naive_reference_agree_on_a_well_mixed_tissue():
    """Same distributions of exhaustion day, divisions and senescent-days by day 40 (KS,
    alpha 0.01/3 each), and each test has power: the first rejects an engine whose loss
    per division is 30% larger, the second one with the split scheme's turnover (lifespan
    5.52 days), the third one with its clearance (0.259/day)."""
    naive = naive_well_mixed_stats(well_mixed(), range(1000, 1000 + RUNS))
    engine = engine_well_mixed_stats(well_mixed(), range(2000, 2000 + RUNS))
    lossier = engine_well_mixed_stats(well_mixed(loss_mean_bp=130.0), range(3000, 3000 + RUNS))
    split_turnover = engine_well_mixed_stats(
        well_mixed(lifespan_days=SPLIT_LIFESPAN_DAYS), range(4000, 4000 + RUNS)
    )
    split_clearance = engine_well_mixed_stats(
        well_mixed(clearance_per_day=SPLIT_CLEARANCE_PER_DAY), range(5000, 5000 + RUNS)
    )
    names = ("exhaustion day", f"divisions by day {WINDOW_DAYS}", "senescent-days")
    lines = [
        summary(
            name,
            {
                "engine": engine[:, j],
                "naive": naive[:, j],
                "engine loss +30%": lossier[:, j],
                f"engine lifespan {SPLIT_LIFESPAN_DAYS:.2f}": split_turnover[:, j],
                f"engine clearance {SPLIT_CLEARANCE_PER_DAY:.3f}": split_clearance[:, j],
            },
        )
        for j, name in enumerate(names)
    ]
    same = [stats.ks_2samp(engine[:, j], naive[:, j]) for j in range(3)]
    power = [
        stats.ks_2samp(lossier[:, 0], naive[:, 0]),
        stats.ks_2samp(split_turnover[:, 1], naive[:, 1]),
        stats.ks_2samp(split_clearance[:, 2], naive[:, 2]),
    ]
    wrong = ("loss +30%", "split turnover", "split clearance")
    for j, name in enumerate(names):
        lines.append(ks_line(f"engine vs naive, {name}", same[j]))
        lines.append(ks_line(f"engine({wrong[j]}) vs naive, {name}", power[j]))
    print("\n" + "\n".join(lines))
    for j, name in enumerate(names):
        assert same[j].pvalue > WELL_MIXED_ALPHA, f"engine and naive differ in {name}"
        assert power[j].pvalue < WELL_MIXED_ALPHA, f"{name} cannot tell the {wrong[j]}"


# --- the lattice ------------------------------------------------------------------------
# The small tissue (stress 1e-3/day) on a 20 x 20 torus with a bystander term (SASP:
# 0.03/day with all 8 neighbours senescent, 30x the base stress rate), observed for its
# first 70 days, as replicative senescence sets in (failure ~day 85, exhaustion ~120):
# senescent patches form and a few vacancies find no competent neighbour. Two
# statistics, each sensitive to one lattice rule:
# - stress senescence events by day 70 (~75; the base rate alone gives ~33): the
#   bystander term, i.e. the senescent-neighbour count m / 8 at the instant of the event;
# - defect-days by day 70 (vacant sites summed over the step ends; mean ~3, 0 in ~40% of
#   the runs, above 16 in ~10%): which neighbours may refill a vacancy, and the edges
#   (a bounded grid: ~33).
LATTICE_DAYS = 70
LATTICE_SIDE = 20
LATTICE_BYSTANDER_PER_DAY = 0.03
# Two KS tests: alpha/2 each, ALPHA for the pair (Bonferroni).
LATTICE_ALPHA = ALPHA / 2


def small_lattice(
    bystander_per_day: float = LATTICE_BYSTANDER_PER_DAY, torus: bool = True
) -> TissueParams:
    side = LATTICE_SIDE
    return small_tissue(
        n_cells=side * side,
        lattice={
            "width": side,
            "height": side,
            "torus": torus,
            "bystander_per_day": bystander_per_day,
        },
    )


def engine_lattice_stats(tissue: TissueParams, seeds: range) -> np.ndarray:
    """(stress senescence events, defect-days) by LATTICE_DAYS, one row per seed."""
    rows = []
    for seed in seeds:
        model = AgingModel(ModelParams(tissues=[tissue], run=RUN), rng=seed)
        cells, defect_days = model.primary.cells, 0
        for _ in range(LATTICE_DAYS):
            model.step()
            defect_days += cells.count(CellState.EMPTY)
        rows.append((model.primary.counters[C_STRESS], defect_days))
    return np.array(rows, dtype=float)


def naive_lattice_stats(tissue: TissueParams, seeds: range) -> np.ndarray:
    rows = []
    for seed in seeds:
        model, defect_days = NaiveLatticeModel(tissue, RUN, rng=seed), 0
        for _ in range(LATTICE_DAYS):
            model.step()
            defect_days += model.counts()["EMPTY"]
        rows.append((model.counters["stress_senescence"], defect_days))
    return np.array(rows, dtype=float)


@pytest.mark.slow
def test_engine_and_naive_reference_agree_on_a_lattice():
    """Same distributions of stress senescence and defect-days on a 20 x 20 torus (KS,
    alpha 0.005 each), and each test has power: the first rejects an engine with half the
    bystander rate, the second an engine on a bounded grid instead of a torus."""
    naive = naive_lattice_stats(small_lattice(), range(1000, 1000 + RUNS))
    engine = engine_lattice_stats(small_lattice(), range(2000, 2000 + RUNS))
    half = engine_lattice_stats(
        small_lattice(bystander_per_day=LATTICE_BYSTANDER_PER_DAY / 2), range(3000, 3000 + RUNS)
    )
    bounded = engine_lattice_stats(small_lattice(torus=False), range(4000, 4000 + RUNS))
    names = ("stress senescence", "defect-days")
    lines = [
        summary(
            f"{name} by day {LATTICE_DAYS}",
            {
                "engine": engine[:, j],
                "naive": naive[:, j],
                "engine bystander/2": half[:, j],
                "engine bounded": bounded[:, j],
            },
        )
        for j, name in enumerate(names)
    ]
    same = [stats.ks_2samp(engine[:, j], naive[:, j]) for j in range(2)]
    power_bystander = stats.ks_2samp(half[:, 0], naive[:, 0])
    power_torus = stats.ks_2samp(bounded[:, 1], naive[:, 1])
    for j, name in enumerate(names):
        lines.append(ks_line(f"engine vs naive, {name}", same[j]))
    lines.append(ks_line("engine(bystander/2) vs naive, stress senescence", power_bystander))
    lines.append(ks_line("engine(bounded) vs naive, defect-days", power_torus))
    print("\n" + "\n".join(lines))
    for j, name in enumerate(names):
        assert same[j].pvalue > LATTICE_ALPHA, f"engine and naive lattice differ in {name}"
    assert power_bystander.pvalue < LATTICE_ALPHA, "cannot tell the bystander rate halved"
    assert power_torus.pvalue < LATTICE_ALPHA, "cannot tell a bounded grid from a torus"
