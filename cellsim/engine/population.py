"""CellPopulation: one tissue's cells as a structure of numpy arrays (one row per slot)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cellsim.engine.params import N_STATES, CellState, TissueParams
from cellsim.kernels import segments
from cellsim.kernels.layout import SEG_SIZE

CELL_RECORD = np.dtype(
    [
        ("telomere_bp", "<f4"),
        ("divisions", "<i4"),
        ("epi_origin_day", "<f4"),
        ("clone", "<i4"),
        ("pos", "<i4"),
        ("state", "i1"),
    ],
    align=True,
)
"""One slot's fields, packed into one 24-byte record: a division reads and writes a cell's
fields in one or two cache lines instead of one line per array (issue 14; measured in
benchmarks/README.md). The arrays of ``CellPopulation`` are strided views of these records;
only ``order`` and ``seg`` are separate."""

FOUNDING_CHUNK = 1 << 20
"""Founders' telomeres are drawn this many at a time (the same values as one draw of all),
so founding needs no N-sized float64 temporaries."""


@dataclass
class CellPopulation:
    """The cells of one tissue: docs/MODEL.md's cell state, one row per slot.

    ``epi_origin_day`` is the day a cell's epigenetic clock reads zero, so its epigenetic
    age on ``day`` is ``day - epi_origin_day`` and no per-cell clock is advanced each day.
    ``order``/``pos``/``seg`` group the slots by state (see kernels/segments.py). The
    per-slot arrays are views of one record array (``CELL_RECORD``, ``records``): assign
    into them (``a[...] = x``), never rebind them.
    """

    state: np.ndarray  # int8, CellState
    """Each slot's ``CellState`` code (int8; ``EMPTY`` for a vacancy)."""
    telomere_bp: np.ndarray  # float32
    """Each slot's length of the telomere that limits division (bp, float32)."""
    divisions: np.ndarray  # int32, divisions since founding or last reset
    """Each slot's divisions since founding or since the last reprogramming (int32)."""
    epi_origin_day: np.ndarray  # float32
    """Each slot's day (organism age, days) at which its epigenetic clock reads zero
    (float32)."""
    clone: np.ndarray  # int32, founding lineage
    """Each slot's clone id: the founder it descends from (int32)."""
    order: np.ndarray  # int32
    """The slots grouped by state: state ``s`` holds ``order[seg[s]:seg[s + 1]]`` (int32)."""
    pos: np.ndarray  # int32
    """Each slot's place in ``order`` (int32): ``order[pos[i]] == i``."""
    seg: np.ndarray  # int64, N_STATES + 1 boundaries and a flag
    """The ``N_STATES + 1`` boundaries of the states' segments in ``order``, then a flag,
    1 while ``order`` is the identity (the cells stored at their places:
    kernels/segments.py) (int64)."""
    records: np.ndarray | None = None  # the CELL_RECORD array the per-slot arrays view
    """The ``CELL_RECORD`` array that the per-slot arrays view (None: separate arrays)."""

    @classmethod
    def empty(cls, n: int) -> CellPopulation:
        """``n`` slots in one record array (fields zero, index unset): 28 bytes per slot.

        Args:
            n: slots.
        """
        records = np.zeros(n, dtype=CELL_RECORD)
        return cls(
            state=records["state"],
            telomere_bp=records["telomere_bp"],
            divisions=records["divisions"],
            epi_origin_day=records["epi_origin_day"],
            clone=records["clone"],
            order=np.empty(n, dtype=np.int32),
            pos=records["pos"],
            seg=np.zeros(SEG_SIZE, dtype=np.int64),
            records=records,
        )

    @classmethod
    def founded(
        cls,
        params: TissueParams,
        rng: np.random.Generator,
        start_day: float = 0.0,
        start_age_days: float = 0.0,
    ) -> CellPopulation:
        """A full tissue of fresh cells: telomeres ~ Normal(initial mean, sd), one clone each.

        Args:
            params: the tissue's parameters (``n_cells``, ``kind``, ``telomere``).
            rng: the Generator that draws the founders' telomeres.
            start_day: organism age (days) at founding; the founders' epigenetic clocks read
                ``start_age_days`` then.
            start_age_days: the founders' epigenetic age (days) at ``start_day``.

        Returns:
            The population: every slot CYCLING (STEM in a stem compartment), SENESCENT below
            the threshold, each founder its own clone.
        """
        n = params.n_cells
        tel = params.telomere
        founder = CellState.STEM if params.kind == "stem" else CellState.CYCLING
        pop = cls.empty(n)
        for lo in range(0, n, FOUNDING_CHUNK):
            hi = min(n, lo + FOUNDING_CHUNK)
            draw = rng.normal(tel.initial_mean_bp, tel.initial_sd_bp, size=hi - lo)
            pop.telomere_bp[lo:hi] = np.maximum(draw, 0.0)
        # A founder already below the critical length is senescent from the start.
        pop.state[...] = founder
        pop.state[pop.telomere_bp < tel.senescence_threshold_bp] = CellState.SENESCENT
        pop.epi_origin_day[...] = np.float32(start_day - start_age_days)
        segments.fill_arange(pop.clone)
        pop.rebuild_index()
        return pop

    def rebuild_index(self) -> None:
        """Recompute ``order``/``pos``/``seg`` from ``state`` (after bulk edits): a stable
        counting sort, slots in increasing order within each state."""
        segments.index_by_state(self.state, self.order, self.pos, self.seg)

    @property
    def n_slots(self) -> int:
        """Number of slots (cells plus vacancies)."""
        return int(self.state.size)

    def state_counts(self) -> np.ndarray:
        """Cells per state code, ``N_STATES`` entries (int64)."""
        return np.diff(self.seg[: N_STATES + 1])

    def counts(self) -> dict[CellState, int]:
        """Cells per state, from the segment boundaries (O(1))."""
        return {s: int(self.seg[s + 1] - self.seg[s]) for s in CellState}

    def count(self, s: CellState) -> int:
        """Cells in one state.

        Args:
            s: the state.
        """
        return int(self.seg[s + 1] - self.seg[s])

    def count_competent(self) -> int:
        """Cells that can divide: CYCLING, STEM and TRANSFORMED (one contiguous range)."""
        return int(self.seg[N_STATES] - self.seg[CellState.CYCLING])

    def slots_of(self, s: CellState) -> np.ndarray:
        """Slot indices of the cells in state ``s`` (a view; do not modify).

        Args:
            s: the state.
        """
        return self.order[self.seg[s] : self.seg[s + 1]]

    def arrays(self) -> tuple[np.ndarray, ...]:
        """The arrays in the kernels' argument order."""
        return (
            self.state,
            self.telomere_bp,
            self.divisions,
            self.epi_origin_day,
            self.clone,
            self.order,
            self.pos,
            self.seg,
        )

    def is_consistent(self) -> bool:
        """Whether the state index matches ``state`` (for tests and checkpoints)."""
        return bool(segments.check(self.order, self.pos, self.seg, self.state))

    def nbytes(self) -> int:
        """Memory held by the arrays (the records, counted once, and the state index)."""
        if self.records is None:
            return sum(a.nbytes for a in self.arrays())
        return self.records.nbytes + self.order.nbytes + self.seg.nbytes

    def image(self, width: int, field: str = "state", day: float = 0.0) -> np.ndarray:
        """One per-slot field as a 2-D array of ``n_slots // width`` rows: slot ``i`` at row
        ``i // width``, column ``i % width`` (a lattice tissue's layout).

        ``field``: ``state`` (int8 CellState codes), ``clone`` (int32, -1 at vacancies), or
        ``telomere_bp``, ``divisions``, ``epigenetic_age_days`` (float64, NaN at vacancies).

        Args:
            width: slots per row (a lattice's width).
            field: the per-slot field (see above).
            day: organism age (days), for ``epigenetic_age_days``.

        Returns:
            A 2-D array of ``n_slots // width`` rows.
        """
        empty = self.state == CellState.EMPTY
        if field == "state":
            values = self.state.copy()
        elif field == "clone":
            values = np.where(empty, -1, self.clone)
        elif field in ("telomere_bp", "divisions"):
            values = np.where(empty, np.nan, getattr(self, field).astype(np.float64))
        elif field == "epigenetic_age_days":
            values = np.where(empty, np.nan, day - self.epi_origin_day.astype(np.float64))
        else:
            raise ValueError(f"field = {field!r}: not a per-slot field")
        return values.reshape(-1, width)

    def frame(self, day: float, include_empty: bool = False) -> pd.DataFrame:
        """The cells as a DataFrame (one row per occupied slot unless ``include_empty``).

        Args:
            day: organism age (days) now, for ``epigenetic_age_days``.
            include_empty: keep the vacancies (state EMPTY).

        Returns:
            Columns ``slot``, ``state`` (categorical, ``CellState`` names), ``telomere_bp``,
            ``divisions``, ``epigenetic_age_days``, ``clone``.
        """
        keep = slice(None) if include_empty else self.state != CellState.EMPTY
        slots = np.arange(self.n_slots)[keep]
        return pd.DataFrame(
            {
                "slot": slots,
                "state": pd.Categorical.from_codes(
                    self.state[keep].astype(np.int64), [s.name for s in CellState]
                ),
                "telomere_bp": self.telomere_bp[keep],
                "divisions": self.divisions[keep],
                "epigenetic_age_days": day - self.epi_origin_day[keep].astype(np.float64),
                "clone": self.clone[keep],
            }
        )
