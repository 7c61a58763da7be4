"""Tissue: one compartment as a Mesa agent (parameters + CellPopulation + geometry)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from cellsim.engine.params import CellState, RunParams, TissueParams
from cellsim.engine.population import CellPopulation
from cellsim.engine.schema import DAYS_PER_YEAR, EVENTS
from cellsim.kernels import lattice as KL
from cellsim.kernels import layout as L
from cellsim.kernels import summary as S
from cellsim.kernels import wellmixed as K

if TYPE_CHECKING:
    from cellsim.engine.model import AgingModel


def parameter_vector(params: TissueParams, run: RunParams) -> np.ndarray:
    """Pack a tissue's parameters into the kernels' float64 vector (kernels/layout.py)."""
    p = np.zeros(L.N_PARAMS)
    tel, stress, clr, tr = params.telomere, params.stress, params.clearance, params.transformation
    p[L.P_DT_DAYS] = run.dt_days
    p[L.P_DEATH_RATE_PER_DAY] = 1.0 / params.lifespan_days
    p[L.P_TRANSFORMED_DEATH_RATE_PER_DAY] = 1.0 / (params.lifespan_days * tr.lifespan_factor)
    p[L.P_STRESS_RATE_PER_DAY] = stress.rate_per_day
    p[L.P_STRESS_AGE_SLOPE] = stress.age_slope_per_day_per_year
    p[L.P_STRESS_EPI_SLOPE] = stress.epigenetic_slope_per_day_per_year
    p[L.P_CLEARANCE_RATE_PER_DAY] = clr.rate_per_day
    p[L.P_CLEARANCE_HALF_SATURATION] = clr.half_saturation_fraction
    p[L.P_LOSS_MEAN_BP] = tel.loss_mean_bp
    p[L.P_LOSS_SD_BP] = tel.loss_sd_bp
    p[L.P_THRESHOLD_BP] = tel.senescence_threshold_bp
    p[L.P_TELOMERASE_STEM] = tel.telomerase_stem
    p[L.P_TELOMERASE_PLURIPOTENT] = tel.telomerase_pluripotent
    p[L.P_TELOMERASE_TRANSFORMED] = tel.telomerase_transformed
    p[L.P_TRANSFORMATION_PROBABILITY] = tr.probability_per_division
    p[L.P_TRANSFORMED_FITNESS] = tr.fitness
    p[L.P_EPI_ORIGIN_FLOOR_DAY] = 0.0  # clocks start at the organism's birth at the earliest
    plu = params.pluripotency
    p[L.P_REDIFFERENTIATION_DELAY_DAYS] = plu.redifferentiation_delay_days
    p[L.P_TERATOMA_PROBABILITY] = plu.teratoma_probability
    p[L.P_EMBRYONIC_TELOMERE_BP] = plu.embryonic_telomere_bp
    p[L.P_TELOMERE_RESET_FRACTION] = plu.telomere_reset_fraction
    p[L.P_BYSTANDER_PER_DAY] = params.lattice.bystander_per_day if params.lattice else 0.0
    return p


class Tissue(mesa.Agent):
    """One compartment of the organism: a somatic tissue or a stem compartment.

    The cells live in ``self.cells`` (a CellPopulation); the daily processes are the Numba
    kernels, called with the model's Generator. ``counters`` holds cumulative event counts
    (names in ``kernels.layout.COUNTER_NAMES``); ``event_days`` the first day of each
    failure of MODEL.md process 8 (None until reached).
    """

    def __init__(self, model: AgingModel, params: TissueParams) -> None:
        super().__init__(model)
        self.params = params
        self.name = params.name
        run = model.params.run
        self.p = parameter_vector(params, run)
        # The clock is organism age, so founders' epigenetic clocks read the start age.
        self.cells = CellPopulation.founded(
            params, model.rng, start_day=run.start_age_days, start_age_days=run.start_age_days
        )
        self.counters = np.zeros(L.N_COUNTERS, dtype=np.int64)
        self.event_days: dict[str, float | None] = dict.fromkeys(EVENTS)
        self.last_record: dict[str, float] = {}
        self._divisions_at_last_record = 0
        self.source: Tissue | None = None  # stem compartment supplying this tissue
        self.clone_offset = 0  # clone ids of supplied cells: offset + the stem cell's clone
        self.lattice = params.lattice  # None: well-mixed
        if self.lattice is not None:  # per-slot stamp of the lattice replacement pass
            self._mark = np.zeros(params.n_cells, dtype=np.int32)
            self._epoch = 0

    # --- daily processes -------------------------------------------------------------
    def step_day(self, day: float) -> None:
        """Processes 2-4 and 6 in one kernel call (no outside supply)."""
        if self.lattice is not None:
            args = (*self.cells.arrays(), self.p, day, self.model.rng, self.counters)
            KL.step_day(*args, *self._geometry(), *self._next_pass())
            return
        K.step_day(*self.cells.arrays(), self.p, day, self.model.rng, self.counters)

    def watch(self) -> tuple[np.ndarray, float, float]:
        """What the fast-forward kernels stop on: the failures not yet recorded, the pool
        size below which the tissue fails and the transformed count above which it is
        neoplastic (the rules of ``detect_events``)."""
        n = self.cells.n_slots
        fail = self.params.failure
        flags = np.array([self.event_days[e] is None for e in EVENTS], dtype=np.bool_)
        return flags, fail.functional_fraction_min * n, fail.neoplasia_fraction * n

    def advance_days(self, day: float, n_days: int) -> int:
        """Up to ``n_days`` steps from ``day`` in one kernel call; stops after the step on which
        a failure not yet recorded is reached. Returns the steps run (see AgingModel.run)."""
        n = self.cells.n_slots
        fail = self.params.failure
        watch = np.array([self.event_days[e] is None for e in EVENTS], dtype=np.bool_)
        if self.source is not None and self.lattice is None and self.source.lattice is None:
            src = self.source
            return int(
                K.advance_days_supplied(
                    *self.cells.arrays(), self.p, *src.cells.arrays(), src.p,
                    self.model.tissues.index(self) < self.model.tissues.index(src),
                    self.params.supply_share, self.clone_offset, day, n_days, *self.watch(),
                    *src.watch(), self.model.rng, self.counters, src.counters,
                )
            )  # fmt: skip
        if self.lattice is not None:
            args = (*self.cells.arrays(), self.p, day, n_days, watch)
            limits = (fail.functional_fraction_min * n, fail.neoplasia_fraction * n)
            first_epoch = self._epoch + 1
            self._epoch += n_days  # one replacement epoch per day (kernels/lattice.py)
            return int(
                KL.advance_days(
                    *args, *limits, self.model.rng, self.counters, *self._geometry(),
                    self._mark, first_epoch,
                )
            )  # fmt: skip
        return int(
            K.advance_days(
                *self.cells.arrays(),
                self.p,
                day,
                n_days,
                watch,
                fail.functional_fraction_min * n,
                fail.neoplasia_fraction * n,
                self.model.rng,
                self.counters,
            )
        )

    def losses(self, day: float) -> None:
        """Processes 2-4: turnover, stress senescence, immune clearance."""
        if self.lattice is not None:
            args = (*self.cells.arrays(), self.p, day, self.model.rng, self.counters)
            KL.losses_day(*args, *self._geometry())
            return
        K.losses_day(*self.cells.arrays(), self.p, day, self.model.rng, self.counters)

    def _geometry(self) -> tuple[int, int, bool]:
        """(width, height, torus) for the lattice kernels."""
        lat = self.lattice
        return lat.width, lat.height, lat.torus

    def _next_pass(self) -> tuple[np.ndarray, int]:
        """(mark, epoch) of a new lattice replacement pass (kernels/lattice.py)."""
        self._epoch += 1
        return self._mark, self._epoch

    def replace(self, n_fill: int | None = None) -> int:
        """Process 6: refill ``n_fill`` vacancies (all by default) by local divisions
        (on a lattice: by Moore neighbours; vacancies without one stay empty)."""
        if n_fill is None:
            n_fill = self.cells.count(CellState.EMPTY)
        if self.lattice is not None:
            args = (*self.cells.arrays(), self.p, n_fill, self.model.rng, self.counters)
            return int(KL.replacement(*args, *self._geometry(), *self._next_pass()))
        return int(
            K.replacement(*self.cells.arrays(), self.p, n_fill, self.model.rng, self.counters)
        )

    def receive_supply(self) -> int:
        """Fill ``supply_share`` of the vacancies from the source stem compartment."""
        src = self.source
        if src is None:
            return 0
        return int(
            K.supply(
                *src.cells.arrays(),
                src.p,
                *self.cells.arrays(),
                self.p,
                self.params.supply_share,
                self.clone_offset,
                self.model.rng,
                src.counters,
                self.counters,
            )
        )

    # --- observation -----------------------------------------------------------------
    def pool_size(self) -> int:
        """Cells that can divide and are not neoplastic (CYCLING + STEM)."""
        return self.cells.count(CellState.CYCLING) + self.cells.count(CellState.STEM)

    def detect_events(self, day: float) -> list[str]:
        """Process 8: record the first day of each failure; return the ones new today."""
        n = self.cells.n_slots
        fail = self.params.failure
        seg = self.cells.seg.tolist()
        pool = seg[CellState.TRANSFORMED] - seg[CellState.CYCLING]
        transformed = seg[CellState.TRANSFORMED + 1] - seg[CellState.TRANSFORMED]
        ev = self.event_days
        new = []
        if pool == 0 and ev["exhaustion"] is None:
            new.append("exhaustion")
        if pool < fail.functional_fraction_min * n and ev["failure"] is None:
            new.append("failure")
        if transformed > fail.neoplasia_fraction * n and ev["neoplasia"] is None:
            new.append("neoplasia")
        for e in new:
            ev[e] = day
        return new

    def can_change(self) -> bool:
        """Whether any cell may still divide or change state by itself."""
        c = self.cells.counts()
        return (
            c[CellState.CYCLING]
            + c[CellState.STEM]
            + c[CellState.TRANSFORMED]
            + c[CellState.PLURIPOTENT]
            > 0
        )

    def record(self, day: float) -> dict[str, float]:
        """This tissue's trajectory row now: ``schema.TRAJECTORY_COLUMNS``, in that order."""
        cells = self.cells
        tel = self.params.telomere
        c = cells.counts()
        n = cells.n_slots
        summ = S.summarize(
            cells.state,
            cells.telomere_bp,
            cells.divisions,
            cells.epi_origin_day,
            day,
            tel.senescence_threshold_bp,
            tel.loss_mean_bp,
        )
        divisions = int(self.counters[L.C_DIVISIONS])
        rec: dict[str, float] = {
            "day": day,
            "age_years": day / DAYS_PER_YEAR,
            **{f"n_{s.name.lower()}": c[s] for s in CellState},
            "functional_fraction": (c[CellState.CYCLING] + c[CellState.STEM]) / n,
            "senescent_fraction": c[CellState.SENESCENT] / n,
            "transformed_fraction": c[CellState.TRANSFORMED] / n,
            "pool_size": c[CellState.CYCLING] + c[CellState.STEM],
            "telomere_mean_bp": summ[S.S_TELOMERE_MEAN],
            "telomere_p10_bp": summ[S.S_TELOMERE_P10],
            "telomere_p50_bp": summ[S.S_TELOMERE_P50],
            "telomere_p90_bp": summ[S.S_TELOMERE_P90],
            "divisions_left_mean": summ[S.S_DIVISIONS_LEFT_MEAN],
            "divisions_per_cell_mean": summ[S.S_DIVISIONS_MEAN],
            "epigenetic_age_mean_years": summ[S.S_EPI_AGE_MEAN] / DAYS_PER_YEAR,
            "divisions_interval": divisions - self._divisions_at_last_record,
            "divisions_cumulative": divisions,
            **{
                f"{name}_cumulative": int(self.counters[i])
                for i, name in enumerate(L.COUNTER_NAMES)
                if name != "divisions"
            },
        }
        self._divisions_at_last_record = divisions
        self.last_record = rec
        return rec

    def telomere_histogram(self) -> tuple[np.ndarray, np.ndarray]:
        """(bin left edges in bp, counts) of the occupied slots' telomere lengths."""
        hist = S.telomere_histogram(self.cells.state, self.cells.telomere_bp)
        return np.arange(hist.size) * S.HIST_BIN_BP, hist
