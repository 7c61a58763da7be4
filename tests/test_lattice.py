"""The spatial (lattice) tissue: geometry, local replacement, bystander senescence.

Small grids and fixed seeds. The expectations are derived from the model's rules
(docs/MODEL.md process 3 and 6, kernels/lattice.py), not from the kernels' output.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cellsim.engine.model import AgingModel
from cellsim.engine.params import (
    CellState,
    FullReprogramming,
    Insult,
    LatticeParams,
    ModelParams,
    PartialReprogramming,
    RunParams,
    Senolytic,
    TissueParams,
    probability,
)
from cellsim.engine.tissue import parameter_vector
from cellsim.kernels import events as event_kernels
from cellsim.kernels import grid
from cellsim.kernels.layout import (
    C_DEATHS,
    C_DIVISIONS,
    C_STRESS,
    C_SUPPLIED_IN,
    P_BYSTANDER_PER_DAY,
)
from cellsim.kernels.segments import remove_fraction

from .conftest import tissue

COMPETENT = (CellState.CYCLING, CellState.STEM, CellState.TRANSFORMED)
NO_STRESS = {"rate_per_day": 0.0, "epigenetic_slope_per_day_per_year": 0.0}


def lattice_params(width, height, torus=True, bystander=0.0, run=None, **tissue_kw):
    """One lattice tissue."""
    lat = LatticeParams(width=width, height=height, torus=torus, bystander_per_day=bystander)
    run = RunParams(**({"stop_at": "horizon"} | (run or {})))
    return ModelParams(tissues=[tissue(lattice=lat, **tissue_kw)], run=run)


def neighbour_sets(width, height, torus):
    nb = np.empty(8, dtype=np.int64)
    out = []
    for i in range(width * height):
        k = grid.neighbours(i, width, height, torus, nb)
        out.append(set(nb[:k].tolist()))
    return out


# --- parameters ------------------------------------------------------------------------
def test_lattice_params_derive_and_check_n_cells():
    assert TissueParams(lattice={"width": 7, "height": 5}).n_cells == 35
    assert TissueParams(lattice={"width": 7, "height": 5}).geometry == "lattice"
    assert TissueParams().geometry == "well_mixed"
    with pytest.raises(ValidationError, match="must equal lattice width x height"):
        TissueParams(n_cells=30, lattice={"width": 7, "height": 5})
    with pytest.raises(ValidationError, match="torus lattice needs width and height >= 3"):
        LatticeParams(width=2, height=5)
    assert LatticeParams(width=1, height=5, torus=False).width == 1


def test_bystander_rate_reaches_the_parameter_vector_only_on_lattices():
    run = RunParams()
    lat = TissueParams(lattice={"width": 4, "height": 4, "bystander_per_day": 0.25})
    assert parameter_vector(lat, run)[P_BYSTANDER_PER_DAY] == 0.25
    assert parameter_vector(TissueParams(), run)[P_BYSTANDER_PER_DAY] == 0.0


# --- geometry --------------------------------------------------------------------------
@pytest.mark.parametrize(("width", "height"), [(3, 3), (5, 4), (9, 7)])
def test_torus_neighbourhoods_are_eight_distinct_symmetric_slots(width, height):
    sets = neighbour_sets(width, height, True)
    for i, s in enumerate(sets):
        assert len(s) == 8 and i not in s
        for j in s:
            assert i in sets[j]


@pytest.mark.parametrize(("width", "height"), [(1, 1), (1, 4), (2, 2), (6, 4)])
def test_bounded_neighbourhoods_follow_the_edges(width, height):
    """Bounded grid: a slot's neighbours are the in-grid cells of its 3x3 block."""
    sets = neighbour_sets(width, height, False)
    for i, s in enumerate(sets):
        r, c = divmod(i, width)
        expect = {
            rr * width + cc
            for rr in range(r - 1, r + 2)
            for cc in range(c - 1, c + 2)
            if 0 <= rr < height and 0 <= cc < width and (rr, cc) != (r, c)
        }
        assert s == expect
    if width >= 2 and height >= 2:
        assert len(sets[0]) == 3  # a corner


def test_image_puts_slot_i_at_row_i_div_width():
    model = AgingModel(lattice_params(5, 3), rng=1)
    cells = model.primary.cells
    cells.state[7] = CellState.EMPTY
    cells.rebuild_index()
    img = cells.image(5, "state")
    assert img.shape == (3, 5) and img[1, 2] == CellState.EMPTY
    tel = cells.image(5, "telomere_bp")
    assert np.isnan(tel[1, 2]) and tel[0, 0] == pytest.approx(cells.telomere_bp[0])
    assert cells.image(5, "epigenetic_age_days", day=10.0)[0, 0] == pytest.approx(10.0)


# --- replacement ---------------------------------------------------------------------
@pytest.mark.parametrize("torus", [True, False])
def test_every_refilled_vacancy_holds_a_daughter_of_a_neighbour(torus):
    """Process 6 on a lattice, one vacancy at a time (``events.local_division``, what a
    death or clearance calls at its instant). On a random pattern of states, each slot with
    its own clone id: a vacancy is filled exactly when it has a competent Moore neighbour;
    then it carries that neighbour's clone, the neighbour made one more division and no
    other cell's count changed (the vacancy's takes the parent's)."""
    width, height = 12, 10
    params = lattice_params(width, height, torus=torus, n_cells=width * height)
    model = AgingModel(params, rng=3)
    t = model.primary
    cells = t.cells
    sets = neighbour_sets(width, height, torus)
    rng = np.random.default_rng(4)
    states = np.array([CellState.CYCLING, CellState.SENESCENT, CellState.EMPTY, CellState.STEM])
    nb = np.empty(8, dtype=np.int64)
    w = np.empty(8)
    n_filled = n_defects = 0
    for _ in range(300):
        cells.state[:] = rng.choice(states, size=cells.n_slots, p=[0.2, 0.3, 0.45, 0.05])
        cells.rebuild_index()
        cells.clone[:] = np.arange(cells.n_slots)
        v = int(rng.choice(cells.slots_of(CellState.EMPTY)))
        before_state = cells.state.copy()
        before_div = cells.divisions.copy()
        parents = {u for u in sets[v] if before_state[u] in COMPETENT}
        _, p, counters, geometry = t.kernel_view()
        filled = event_kernels.local_fill(
            cells.arrays(), p, geometry, v, nb, w, model.rng, counters
        )
        assert cells.is_consistent()
        assert filled == bool(parents)
        changed = set(np.flatnonzero(cells.divisions != before_div).tolist())
        if filled:
            assert cells.clone[v] in parents
            assert int(cells.clone[v]) in changed <= {int(cells.clone[v]), v}
            n_filled += 1
        else:
            assert cells.state[v] == CellState.EMPTY and not changed
            n_defects += 1
    assert n_filled > 100 and n_defects > 10  # both cases were exercised


def test_vacancies_left_between_steps_close_ring_by_ring_from_the_rim():
    """Through ``AgingModel.step``, with vacancies made between steps (as a senolytic or
    off-target dose does) and a step too short for any other event: the step first closes
    every vacancy it can, at once, each by a division of a Moore neighbour (a slot vacant
    before and occupied after carries the clone of an occupied neighbour, descended from a
    cell competent before the step), and a vacancy stays only where no competent cell can
    reach it."""
    width = height = 10
    params = lattice_params(
        width, height, n_cells=100, lifespan_days=1e7, stress=NO_STRESS, run={"dt_days": 1e-6}
    )
    model = AgingModel(params, rng=5)
    cells = model.primary.cells
    sets = neighbour_sets(width, height, True)
    rng = np.random.default_rng(1)
    checked = 0
    for _ in range(40):
        remove_fraction(
            cells.state, cells.order, cells.pos, cells.seg, int(CellState.CYCLING), 0.5, rng
        )
        cells.clone[:] = np.arange(100)
        before = cells.state.copy()
        model.step()
        competent_before = set(np.flatnonzero(np.isin(before, COMPETENT)).tolist())
        for v in np.flatnonzero((before == CellState.EMPTY) & (cells.state != CellState.EMPTY)):
            occupied = {int(cells.clone[u]) for u in sets[v] if cells.state[u] != CellState.EMPTY}
            assert cells.clone[v] in occupied
            assert cells.clone[v] in competent_before
            checked += 1
        for v in cells.slots_of(CellState.EMPTY):  # left only where no competent cell is near
            assert not any(cells.state[u] in COMPETENT for u in sets[v])
    assert checked > 0


def test_without_senescence_every_death_is_refilled_by_a_division():
    """Theory: with no stress, replicative senescence or transformation every slot holds a
    CYCLING cell at every instant (a vacancy is refilled when it appears, and its 8
    neighbours are then occupied). So deaths are a Poisson process of rate N / lifespan:
    the total over D days is Poisson(N D / lifespan), checked within 4 sd, and divisions
    equal deaths exactly -- the same count as the well-mixed tissue."""
    n, days, lifespan = 60 * 60, 300, 20.0
    params = lattice_params(
        60,
        60,
        run={"horizon_days": days},
        lifespan_days=lifespan,
        telomere={"loss_mean_bp": 0.0, "loss_sd_bp": 0.0},
        stress=NO_STRESS,
        transformation={"probability_per_division": 0.0},
    )
    model = AgingModel(params, rng=11).run()
    c = model.primary.counters
    mean = n * days / lifespan
    assert abs(c[C_DEATHS] - mean) < 4 * math.sqrt(mean)
    assert c[C_DIVISIONS] == c[C_DEATHS]
    assert model.primary.cells.count(CellState.CYCLING) == n


@pytest.mark.parametrize("torus", [True, False])
def test_deterministic_loss_gives_the_closed_form_division_count_on_a_lattice(torus):
    """As tests/test_exact.py, on a lattice (shared division code): founders at T0, loss
    exactly L, no stress, clearance or transformation: a lineage senesces at its
    k* = floor((T0 - T_thr) / L) + 1-th division, whoever its neighbours are. Every
    senescent cell has made k* divisions, none cycling more than k* - 1, and the pool
    runs out; slots left are senescent or empty (defects with no competent neighbour)."""
    t0, loss, thr = 6000.0, 250.0, 4100.0
    k_star = math.floor((t0 - thr) / loss) + 1
    params = lattice_params(
        20,
        20,
        torus=torus,
        run={"stop_at": "all_events", "horizon_days": 20000},
        lifespan_days=5.0,
        telomere={
            "initial_mean_bp": t0,
            "initial_sd_bp": 0.0,
            "loss_mean_bp": loss,
            "loss_sd_bp": 0.0,
            "senescence_threshold_bp": thr,
        },
        stress=NO_STRESS,
        clearance={"rate_per_day": 0.0},
        transformation={"probability_per_division": 0.0},
    )
    model = AgingModel(params, rng=7)
    cells = model.primary.cells
    while model.running:
        model.step()
        cyc = cells.slots_of(CellState.CYCLING)
        assert cells.divisions[cyc].max(initial=0) <= k_star - 1
    assert model.primary.event_days["exhaustion"] is not None
    sen = cells.slots_of(CellState.SENESCENT)
    assert len(sen) + cells.count(CellState.EMPTY) == cells.n_slots
    assert len(sen) > 0.9 * cells.n_slots
    assert np.all(cells.divisions[sen] == k_star)
    assert np.allclose(cells.telomere_bp[sen], t0 - k_star * loss)


def test_run_and_step_by_step_agree_on_a_lattice():
    """``AgingModel.run`` may advance quiet stretches in one kernel call; on a lattice it
    must run the lattice kernels and give the same cells as stepping day by day."""
    params = lattice_params(
        15,
        12,
        bystander=0.05,
        run={"horizon_days": 200, "record_interval_days": 50},
        stress={"rate_per_day": 2e-3},
    )
    params = params.model_copy(update={"interventions": [Senolytic(start_age_days=60)]})
    fast = AgingModel(params, rng=4).run()
    slow = AgingModel(params, rng=4)
    while slow.running:
        slow.step()
    a, b = fast.primary.cells, slow.primary.cells
    assert fast.age_days == slow.age_days
    assert np.array_equal(a.state, b.state) and np.array_equal(a.telomere_bp, b.telomere_bp)
    assert np.array_equal(fast.primary.counters, slow.primary.counters)
    assert fast.primary.counters[C_STRESS] > 0


# --- bystander senescence ------------------------------------------------------------
def test_bystander_hazard_rises_with_senescent_neighbours_as_specified():
    """Theory (docs/MODEL.md process 3): a CYCLING cell with m senescent neighbours
    senesces at hazard h0 + b m / 8. Over one short step (dt = 0.05 d, no turnover or
    clearance, so neighbourhoods barely change within it: O(dt^2)) it senesces with
    probability 1 - exp(-(h0 + b m / 8) dt). A random 30% senescent pattern on a 200x200
    torus gives thousands of cells per m = 0..5; the converted count of each group must be
    within 4.5 binomial sd of its expectation. This checks the neighbour count and the
    thinning from the m = 8 bound together, through the engine's step."""
    h0, b, width, dt = 0.02, 0.9, 200, 0.05
    rng = np.random.default_rng(42)
    params = lattice_params(
        width,
        width,
        bystander=b,
        run={"dt_days": dt},
        lifespan_days=1e9,
        stress={"rate_per_day": h0, "epigenetic_slope_per_day_per_year": 0.0},
        clearance={"rate_per_day": 0.0},
    )
    model = AgingModel(params, rng=1)
    t = model.primary
    cells = t.cells
    for _rep in range(3):
        cells.state[:] = np.where(
            rng.random(cells.n_slots) < 0.3, CellState.SENESCENT, CellState.CYCLING
        ).astype(np.int8)
        cells.rebuild_index()
        m = grid.neighbour_counts(cells.state, width, width, True, CellState.SENESCENT)
        was_cycling = cells.state == CellState.CYCLING
        stressed_before = int(t.counters[C_STRESS])
        model.step()
        assert cells.is_consistent()
        converted = was_cycling & (cells.state == CellState.SENESCENT)
        assert t.counters[C_STRESS] - stressed_before == converted.sum()
        for k in range(6):
            group = was_cycling & (m == k)
            n_k = int(group.sum())
            q = probability(h0 + b * k / 8, dt)
            sd = math.sqrt(n_k * q * (1 - q))
            assert abs(converted[group].sum() - n_k * q) < 4.5 * sd, (k, n_k)


def senescent_clustering(state, width, height, rng, n_perm=300):
    """Mean fraction of senescent neighbours around senescent cells (torus), and its
    permutation distribution with the senescent labels shuffled among occupied slots.
    Written with numpy rolls, independently of the kernels."""

    def stat(sen):
        grid = sen.reshape(height, width).astype(np.int64)
        nsum = sum(
            np.roll(np.roll(grid, dr, 0), dc, 1)
            for dr in (-1, 0, 1)
            for dc in (-1, 0, 1)
            if (dr, dc) != (0, 0)
        )
        return (nsum.ravel()[sen] / 8).mean()

    sen = state == CellState.SENESCENT
    occupied = np.flatnonzero(state != CellState.EMPTY)
    labels = sen[occupied]
    perm = np.empty(n_perm)
    for j in range(n_perm):
        shuffled = np.zeros_like(sen)
        shuffled[occupied] = rng.permutation(labels)
        perm[j] = stat(shuffled)
    return stat(sen), perm


@pytest.mark.parametrize(("bystander", "clustered"), [(0.0, False), (0.01, True)])
def test_bystander_senescence_clusters_senescent_cells(bystander, clustered):
    """With no bystander term a cell's senescence does not depend on its neighbours
    (constant stress hazard, no replicative senescence, no epigenetic slope, since
    daughters inherit their parent's clock), so the senescent labels are exchangeable
    among occupied slots: the observed clustering statistic is an ordinary draw of its
    permutation distribution. With a bystander term senescence spreads to neighbours and
    the statistic exceeds every permutation. (The bystander rate is kept below the
    clearance rate: above it senescence takes over the whole grid.)"""
    width = 60
    params = lattice_params(
        width,
        width,
        bystander=bystander,
        run={"horizon_days": 250},
        lifespan_days=60.0,
        telomere={"loss_mean_bp": 0.0, "loss_sd_bp": 0.0},
        stress={"rate_per_day": 1e-3, "epigenetic_slope_per_day_per_year": 0.0},
        clearance={"rate_per_day": 0.02},
        transformation={"probability_per_division": 0.0},
    )
    model = AgingModel(params, rng=2024).run()
    state = model.primary.cells.state
    assert (state == CellState.SENESCENT).sum() > 100
    observed, perm = senescent_clustering(state, width, width, np.random.default_rng(9))
    p_value = (1 + np.sum(perm >= observed)) / (1 + perm.size)
    if clustered:
        assert p_value < 0.01 and observed > perm.mean() + 4 * perm.std()
    else:
        assert 0.01 < p_value < 0.99


# --- interventions and supply ---------------------------------------------------------
def test_every_intervention_and_stem_supply_work_on_a_lattice():
    """The interventions act through the state index, so they run unchanged on a
    lattice; stem supply fills any vacancy. Each fires and the index stays consistent."""
    lat = LatticeParams(width=30, height=30, bystander_per_day=0.01)
    params = ModelParams(
        tissues=[
            tissue(name="stem", kind="stem", n_cells=200, lifespan_days=300.0),
            tissue(
                name="skin",
                lattice=lat,
                lifespan_days=20.0,
                supply_from="stem",
                supply_share=0.2,
                pluripotency={"redifferentiation_delay_days": 5.0, "teratoma_probability": 0.1},
            ),
        ],
        interventions=[
            Senolytic(start_age_days=10, interval_days=20, efficacy_per_dose=0.6),
            Insult(age_days=15, fraction=0.2),
            FullReprogramming(start_age_days=5, interval_days=30, efficiency_per_course=0.05),
            PartialReprogramming(start_age_days=1, dedifferentiation_probability_per_on_day=0.01),
        ],
        run=RunParams(horizon_days=120, stop_at="horizon"),
    )
    model = AgingModel(params, rng=8)
    skin = model.by_name["skin"]
    for _ in range(120):
        model.step()
        assert skin.cells.is_consistent()
        assert sum(skin.cells.counts().values()) == 900
    assert all(a.fired > 0 for a in model.interventions)
    rec = skin.record(model.age_days)
    for name in (
        "cleared_senolytic",
        "insult_senescence",
        "reprogrammed_full",
        "dedifferentiated_partial",
        "redifferentiated",
    ):
        assert rec[f"{name}_cumulative"] > 0, name
    assert skin.counters[C_SUPPLIED_IN] > 0


# --- invariants ------------------------------------------------------------------------
@st.composite
def lattice_cases(draw):
    torus = draw(st.booleans())
    lo = 3 if torus else 1
    width = draw(st.integers(lo, 9))
    height = draw(st.integers(lo, 9))
    return {
        "width": width,
        "height": height,
        "torus": torus,
        "bystander": draw(st.floats(0.0, 2.0)),
        "lifespan_days": draw(st.floats(1.0, 200.0)),
        "stress": {
            "rate_per_day": draw(st.floats(0.0, 0.05)),
            "epigenetic_slope_per_day_per_year": draw(st.floats(0.0, 0.01)),
        },
        "clearance": {"rate_per_day": draw(st.floats(0.0, 2.0))},
        "telomere": {
            "loss_mean_bp": draw(st.floats(0.0, 500.0)),
            "loss_sd_bp": draw(st.floats(0.0, 300.0)),
        },
        "transformation": {
            "probability_per_division": draw(st.floats(0.0, 0.2)),
            "fitness": draw(st.floats(0.1, 5.0)),
        },
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=lattice_cases(), seed=st.integers(0, 2**32 - 1), steps=st.integers(1, 80))
def test_lattice_invariants_hold_every_step(case, seed, steps):
    """Slots conserved, counts non-negative, state index consistent, every step."""
    w, h, torus = case.pop("width"), case.pop("height"), case.pop("torus")
    params = lattice_params(w, h, torus=torus, bystander=case.pop("bystander"), **case)
    model = AgingModel(params, rng=seed)
    cells = model.primary.cells
    for _ in range(steps):
        model.step()
        counts = cells.counts()
        assert sum(counts.values()) == w * h
        assert min(counts.values()) >= 0
        assert cells.is_consistent()
        assert np.array_equal(
            np.bincount(cells.state, minlength=len(CellState)), [counts[s] for s in CellState]
        )
