"""CellPopulation: one tissue's cells as a structure of numpy arrays (one row per slot)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cellsim.engine.params import N_STATES, CellState, TissueParams
from cellsim.kernels import segments


@dataclass
class CellPopulation:
    """The cells of one tissue: docs/MODEL.md's cell state, one row per slot.

    ``epi_origin_day`` is the day a cell's epigenetic clock reads zero, so its epigenetic
    age on ``day`` is ``day - epi_origin_day`` and no per-cell clock is advanced each day.
    ``order``/``pos``/``seg`` group the slots by state (see kernels/segments.py).
    """

    state: np.ndarray  # int8, CellState
    telomere_bp: np.ndarray  # float32
    divisions: np.ndarray  # int32, divisions since founding or last reset
    epi_origin_day: np.ndarray  # float32
    clone: np.ndarray  # int32, founding lineage
    order: np.ndarray  # int32
    pos: np.ndarray  # int32
    seg: np.ndarray  # int64, N_STATES + 1 boundaries

    @classmethod
    def founded(
        cls,
        params: TissueParams,
        rng: np.random.Generator,
        start_day: float = 0.0,
        start_age_days: float = 0.0,
    ) -> CellPopulation:
        """A full tissue of fresh cells: telomeres ~ Normal(initial mean, sd), one clone each."""
        n = params.n_cells
        tel = params.telomere
        founder = CellState.STEM if params.kind == "stem" else CellState.CYCLING
        state = np.full(n, founder, dtype=np.int8)
        telomere = rng.normal(tel.initial_mean_bp, tel.initial_sd_bp, size=n)
        telomere = np.maximum(telomere, 0.0).astype(np.float32)
        # A founder already below the critical length is senescent from the start.
        state[telomere < tel.senescence_threshold_bp] = CellState.SENESCENT
        pop = cls(
            state=state,
            telomere_bp=telomere,
            divisions=np.zeros(n, dtype=np.int32),
            epi_origin_day=np.full(n, start_day - start_age_days, dtype=np.float32),
            clone=np.arange(n, dtype=np.int32),
            order=np.empty(n, dtype=np.int32),
            pos=np.empty(n, dtype=np.int32),
            seg=np.zeros(N_STATES + 1, dtype=np.int64),
        )
        pop.rebuild_index()
        return pop

    def rebuild_index(self) -> None:
        """Recompute ``order``/``pos``/``seg`` from ``state`` (after bulk edits)."""
        order = np.argsort(self.state, kind="stable").astype(np.int32)
        self.order[:] = order
        self.pos[order] = np.arange(order.size, dtype=np.int32)
        counts = np.bincount(self.state, minlength=N_STATES)
        self.seg[0] = 0
        self.seg[1:] = np.cumsum(counts)

    @property
    def n_slots(self) -> int:
        """Number of slots (cells plus vacancies)."""
        return int(self.state.size)

    def counts(self) -> dict[CellState, int]:
        """Cells per state, from the segment boundaries (O(1))."""
        return {s: int(self.seg[s + 1] - self.seg[s]) for s in CellState}

    def count(self, s: CellState) -> int:
        """Cells in one state."""
        return int(self.seg[s + 1] - self.seg[s])

    def count_competent(self) -> int:
        """Cells that can divide: CYCLING, STEM and TRANSFORMED (one contiguous range)."""
        return int(self.seg[N_STATES] - self.seg[CellState.CYCLING])

    def slots_of(self, s: CellState) -> np.ndarray:
        """Slot indices of the cells in state ``s`` (a view; do not modify)."""
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
        """Memory held by the arrays."""
        return sum(a.nbytes for a in self.arrays())

    def image(self, width: int, field: str = "state", day: float = 0.0) -> np.ndarray:
        """One per-slot field as a 2-D array of ``n_slots // width`` rows: slot ``i`` at row
        ``i // width``, column ``i % width`` (a lattice tissue's layout).

        ``field``: ``state`` (int8 CellState codes), ``clone`` (int32, -1 at vacancies), or
        ``telomere_bp``, ``divisions``, ``epigenetic_age_days`` (float64, NaN at vacancies).
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
        """The cells as a DataFrame (one row per occupied slot unless ``include_empty``)."""
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
