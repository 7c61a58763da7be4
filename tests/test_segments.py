"""The state index and the cells stored at their places (cellsim/kernels/segments.py).

A well-mixed tissue's event loop keeps its cells stored at their places in the state
order (``move_record``) instead of reading them through ``order`` (``move``). The two
bookkeepings must describe the same tissue after the same moves: the cell at place ``j``
of the placed copy is the cell at slot ``order[j]`` of the indexed copy.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from cellsim.engine.params import N_STATES, CellState, TissueParams
from cellsim.engine.population import CellPopulation
from cellsim.kernels import layout, segments


def population(states: list[int], seed: int) -> CellPopulation:
    """Cells in the given states with distinct telomeres, clones and divisions."""
    rng = np.random.default_rng(seed)
    pop = CellPopulation.empty(len(states))
    pop.state[...] = states
    pop.telomere_bp[...] = rng.permutation(len(states)).astype(np.float32) * 7.0
    pop.divisions[...] = rng.integers(0, 100, len(states))
    pop.epi_origin_day[...] = rng.random(len(states)).astype(np.float32)
    segments.fill_arange(pop.clone)
    pop.rebuild_index()
    return pop


def fields(pop: CellPopulation, slots: np.ndarray) -> np.ndarray:
    """The cells' fields at ``slots`` as rows (state, telomere, divisions, epi, clone)."""
    return np.column_stack(
        [
            pop.state[slots].astype(np.float64),
            pop.telomere_bp[slots],
            pop.divisions[slots],
            pop.epi_origin_day[slots],
            pop.clone[slots],
        ]
    )


def payload(pop: CellPopulation) -> tuple[np.ndarray, ...]:
    return pop.state, pop.telomere_bp, pop.divisions, pop.epi_origin_day, pop.clone


states_strategy = st.lists(st.integers(0, N_STATES - 1), min_size=1, max_size=60)


def test_layout_and_params_agree_on_the_number_of_states():
    assert layout.N_STATES == N_STATES == len(CellState)
    assert CellPopulation.empty(3).seg.shape == (layout.SEG_SIZE,)


@settings(max_examples=60, deadline=None)
@given(states=states_strategy, seed=st.integers(0, 2**32 - 1))
def test_index_flag_says_whether_order_is_the_identity(states, seed):
    pop = population(states, seed)
    identity = bool(np.array_equal(pop.order, np.arange(len(states))))
    assert pop.seg[layout.SEG_PLACED] == identity
    assert identity == bool(np.all(np.diff(pop.state) >= 0))
    assert pop.is_consistent()


@settings(max_examples=60, deadline=None)
@given(states=states_strategy, seed=st.integers(0, 2**32 - 1))
def test_place_in_order_stores_each_cell_at_its_place(states, seed):
    pop = population(states, seed)
    before = fields(pop, pop.order.astype(np.int64))  # the cell at each place
    segments.place_in_order(*payload(pop), pop.order, pop.pos, pop.seg)
    n = len(states)
    assert np.array_equal(pop.order, np.arange(n)) and np.array_equal(pop.pos, np.arange(n))
    assert pop.seg[layout.SEG_PLACED] == 1
    assert np.array_equal(fields(pop, np.arange(n)), before)
    assert pop.is_consistent()


@settings(max_examples=80, deadline=None)
@given(
    states=states_strategy,
    seed=st.integers(0, 2**32 - 1),
    moves=st.lists(st.tuples(st.floats(0.0, 0.999), st.integers(0, N_STATES - 1)), max_size=40),
)
def test_move_record_is_move_on_cells_stored_at_their_places(states, seed, moves):
    indexed = population(states, seed)
    placed = population(states, seed)
    segments.place_in_order(*payload(placed), placed.order, placed.pos, placed.seg)
    n = len(states)
    for u, new_state in moves:
        place = int(u * n)
        watch_place = (place * 7 + 3) % n
        watch = watch_place if watch_place != place else -1
        watched = fields(placed, np.array([watch_place]))
        segments.move(
            indexed.order, indexed.pos, indexed.seg, indexed.state, indexed.order[place], new_state
        )
        now = segments.move_record(*payload(placed), placed.seg, place, new_state, watch)
        # the same tissue: place j of the placed copy holds slot order[j] of the indexed one
        assert np.array_equal(
            fields(placed, np.arange(n)), fields(indexed, indexed.order.astype(np.int64))
        )
        assert np.array_equal(placed.seg[: N_STATES + 1], indexed.seg[: N_STATES + 1])
        if watch_place != place:  # the watched cell is where move_record says
            assert np.array_equal(fields(placed, np.array([now])), watched)
        assert placed.is_consistent() and indexed.is_consistent()
        assert indexed.seg[layout.SEG_PLACED] == 0


def test_the_wellmixed_loop_places_the_cells_it_finds_indexed():
    """A tissue whose cells are reached through ``order`` (founders below the threshold
    are SENESCENT among CYCLING ones) runs exactly as the same cells already stored at
    their places: same random stream, same events, the same cell in every slot."""
    from cellsim.kernels.events import wellmixed_events

    params = TissueParams(n_cells=500, telomere={"senescence_threshold_bp": 9000.0})
    a = CellPopulation.founded(params, np.random.default_rng(5))
    assert a.seg[layout.SEG_PLACED] == 0 and a.count(CellState.SENESCENT) > 50
    b = CellPopulation.empty(a.n_slots)
    b.records[...] = a.records[a.order]
    b.rebuild_index()
    assert b.seg[layout.SEG_PLACED] == 1
    p = np.zeros(layout.N_PARAMS)
    p[layout.P_DEATH_RATE_PER_DAY] = 0.1
    p[layout.P_LOSS_MEAN_BP] = 100.0
    p[layout.P_LOSS_SD_BP] = 30.0
    p[layout.P_THRESHOLD_BP] = 9000.0
    p[layout.P_STRESS_RATE_PER_DAY] = 0.01
    p[layout.P_CLEARANCE_RATE_PER_DAY] = 0.2
    p[layout.P_CLEARANCE_HALF_SATURATION] = 0.5
    out = []
    for pop in (a, b):
        counters = np.zeros(layout.N_COUNTER_SLOTS, dtype=np.int64)
        wellmixed_events(pop.arrays(), p, counters, 0.0, 30.0, np.random.default_rng(7))
        assert pop.is_consistent() and pop.seg[layout.SEG_PLACED] == 1
        out.append((counters, *payload(pop)))
    assert out[0][0][layout.C_DIVISIONS] > 1000  # the run did something
    for x, y in zip(out[0], out[1], strict=True):
        assert np.array_equal(x, y)
