"""Tissue: one compartment as a Mesa agent (parameters + CellPopulation + geometry)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from cellsim.engine.params import CellState, RunParams, TelomereParams, TissueParams
from cellsim.engine.population import CellPopulation
from cellsim.engine.schema import DAYS_PER_YEAR, EVENTS
from cellsim.kernels import day as day_kernels
from cellsim.kernels import summary
from cellsim.kernels.layout import (
    C_DIVISIONS,
    C_DRIVER_CLONES,
    COUNTER_NAMES,
    DRIVER_CLONE_BASE,
    N_COUNTER_SLOTS,
)
from cellsim.kernels.pack import parameter_vector as pack_parameters
from cellsim.kernels.pack import set_selection

if TYPE_CHECKING:
    from cellsim.engine.model import AgingModel


def telomere_parameters(tel: TelomereParams) -> dict[str, float]:
    """The telomere arguments of ``kernels.pack.parameter_vector`` (loss per division,
    critical length, telomerase activities), shared by tissues and culture dishes.

    Args:
        tel: a tissue's (or a dish's) telomere parameters.

    Returns:
        The keyword arguments of ``kernels.pack.parameter_vector`` for them (bp, fractions).
    """
    return {
        "loss_mean_bp": tel.loss_mean_bp,
        "loss_sd_bp": tel.loss_sd_bp,
        "threshold_bp": tel.senescence_threshold_bp,
        "telomerase_stem": tel.telomerase_stem,
        "telomerase_pluripotent": tel.telomerase_pluripotent,
        "telomerase_transformed": tel.telomerase_transformed,
        "loss_length_slope": tel.loss_length_slope,
        "loss_reference_bp": tel.loss_reference_bp,
    }


def parameter_vector(params: TissueParams, run: RunParams) -> np.ndarray:
    """A tissue's parameters as the kernels' float64 vector (``kernels.pack``).

    Args:
        params: the tissue's parameters.
        run: the run's parameters (the step length).

    Returns:
        The float64 parameter vector the kernels read (rates per day, lengths in bp).
    """
    stress, clr, tr = params.stress, params.clearance, params.transformation
    plu = params.pluripotency
    age_slope, epigenetic_slope = stress.slopes_per_day_per_year()
    clock = params.stem_divisions
    clock_args = (
        {
            "stem_division_rate_per_day": 1.0 / clock.interval_days,
            "childhood_factor": clock.childhood_factor,
            "childhood_timescale_days": clock.childhood_timescale_years * DAYS_PER_YEAR,
            "pool_growth_per_day": clock.pool_growth_per_day(),
        }
        if clock is not None
        else {}
    )
    p = pack_parameters(
        dt_days=run.dt_days,
        death_rate_per_day=1.0 / params.lifespan_days,
        transformed_death_rate_per_day=1.0 / (params.lifespan_days * tr.lifespan_factor),
        stress_rate_per_day=stress.rate_per_day,
        stress_age_slope_per_day_per_year=age_slope,
        stress_epigenetic_slope_per_day_per_year=epigenetic_slope,
        clearance_rate_per_day=clr.rate_per_day,
        clearance_half_saturation_fraction=clr.half_saturation_for_kernels(),
        **telomere_parameters(params.telomere),
        transformation_probability=tr.probability_per_division,
        transformed_fitness=tr.fitness,
        epi_origin_floor_day=0.0,  # clocks start at the organism's birth at the earliest
        redifferentiation_delay_days=plu.redifferentiation_delay_days,
        teratoma_probability=plu.teratoma_probability,
        embryonic_telomere_bp=plu.embryonic_telomere_bp,
        telomere_reset_fraction=plu.telomere_reset_fraction,
        bystander_per_day=params.lattice.bystander_per_day if params.lattice else 0.0,
        amplification_divisions=params.amplification_divisions,
        **clock_args,
    )
    if clock is not None and clock.selection is not None:
        sel = clock.selection
        set_selection(
            p,
            driver_probability_per_division=sel.driver_probability_per_division,
            selection_per_day=sel.selection_per_day(),
        )
    return p


class Tissue(mesa.Agent):
    """One compartment of the organism: a somatic tissue or a stem compartment.

    The cells live in ``self.cells`` (a CellPopulation); the daily processes are the Numba
    kernels, called with the model's Generator. ``counters`` holds cumulative event counts
    (names in ``kernels.layout.COUNTER_NAMES``, then ``EXTRA_COUNTER_NAMES``);
    ``event_days`` the first day of each failure of docs/MODEL.md process 8 (None until
    reached).
    """

    def __init__(self, model: AgingModel, params: TissueParams) -> None:
        super().__init__(model)
        self.params = params
        self.name = params.name
        run = model.params.run
        self.kernel_params = parameter_vector(params, run)
        # The clock is organism age, so founders' epigenetic clocks read the start age.
        self.cells = CellPopulation.founded(
            params, model.rng, start_day=run.start_age_days, start_age_days=run.start_age_days
        )
        self.counters = np.zeros(N_COUNTER_SLOTS, dtype=np.int64)
        self.event_days: dict[str, float | None] = dict.fromkeys(EVENTS)
        """The organism age (days) at which each failure (``schema.EVENTS``) was first
        detected; None until then."""
        self.last_record: dict[str, float] = {}
        """The latest trajectory row (``record``): column -> value, in the schema's
        units."""
        self._divisions_at_last_record = 0
        self.source: Tissue | None = None  # stem compartment supplying this tissue
        """The stem compartment that supplies this tissue's new cells (None: none)."""
        self.clone_offset = 0  # clone ids of supplied cells: offset + the stem cell's clone
        self.lattice = params.lattice  # None: well-mixed
        lat = self.lattice
        # (width, height, torus, mark, epoch) on a lattice, None well-mixed: kernels/day.py
        self.geometry = (
            (
                lat.width,
                lat.height,
                lat.torus,
                np.zeros(params.n_cells, dtype=np.int32),
                np.zeros(1, dtype=np.int64),
            )
            if lat is not None
            else None
        )

    def use_grid_geometry(self) -> None:
        """Give a well-mixed tissue the lattice form of geometry (width 0), so that it can
        share a model's kernel call with lattice tissues (kernels/day.py)."""
        if self.geometry is None:
            empty_mark = np.zeros(0, dtype=np.int32)
            self.geometry = (0, 0, False, empty_mark, np.zeros(1, dtype=np.int64))

    def found_from_supply(self, rng: np.random.Generator) -> None:
        """Refound every slot as a cell supplied by ``self.source`` (``initial_from_supply``):
        a random STEM cell's telomere less one stem-rate division loss and this tissue's
        amplification losses (the laws of ``kernels.processes.supply_division`` and
        ``amplify``, without changing the stem cells), its divisions plus those, its
        epigenetic clock and its clone plus ``clone_offset``; SENESCENT below the
        threshold. Without a STEM cell in the source, the founders stay as they are.

        Args:
            rng: the model's Generator.
        """
        if self.source is None:
            return
        src = self.source.cells
        stem = src.slots_of(CellState.STEM)
        if stem.size == 0:
            return
        cells, n = self.cells, self.cells.n_slots
        s_tel, tel = self.source.params.telomere, self.params.telomere

        def losses_bp(t: TelomereParams, telomerase: float, length_bp: np.ndarray) -> np.ndarray:
            mean = t.loss_mean_bp
            if t.loss_length_slope != 0.0:  # length-dependent loss (processes.division_loss_bp)
                mean = mean + t.loss_length_slope * (length_bp - t.loss_reference_bp)
            draw = rng.normal(mean, t.loss_sd_bp, size=n)
            return np.maximum(draw, 0.0) * (1.0 - telomerase)

        parent = stem[rng.integers(stem.size, size=n)]
        stem_bp = src.telomere_bp[parent].astype(np.float64)
        telomere_bp = stem_bp - losses_bp(s_tel, s_tel.telomerase_stem, stem_bp)
        k = self.params.amplification_divisions
        for _ in range(k):
            telomere_bp -= losses_bp(tel, 0.0, telomere_bp)
        cells.telomere_bp[:] = telomere_bp
        cells.divisions[:] = src.divisions[parent] + 1 + k
        cells.epi_origin_day[:] = src.epi_origin_day[parent]
        cells.clone[:] = self.clone_offset + src.clone[parent]
        cells.state[:] = np.where(
            telomere_bp < tel.senescence_threshold_bp, CellState.SENESCENT, CellState.CYCLING
        )
        cells.rebuild_index()

    @property
    def records_clones(self) -> bool:
        """Whether this tissue's rows carry ``schema.CLONE_COLUMNS``: a stem compartment
        with a division clock."""
        return self.params.stem_divisions is not None

    def plant_driver(self, slots: np.ndarray) -> int:
        """Give the STEM cells in ``slots`` one new driver clone (the next driver id, as an
        asymmetric division with a driver would), so that they are fit from now on; cells
        that carry a driver already keep theirs. Returns the clone id. For experiments and
        tests: a driver clone of a chosen share at a chosen time.

        Args:
            slots: indices of STEM cells of this tissue.
        """
        slots = np.asarray(slots, dtype=np.int64)
        cells = self.cells
        if np.any(cells.state[slots] != CellState.STEM):
            raise ValueError("plant_driver: every slot must hold a STEM cell")
        clone_id = DRIVER_CLONE_BASE + int(self.counters[C_DRIVER_CLONES])
        if clone_id > np.iinfo(np.int32).max:
            raise ValueError("plant_driver: no driver clone ids left")
        unfit = slots[cells.clone[slots] < DRIVER_CLONE_BASE]
        cells.clone[unfit] = clone_id
        self.counters[C_DRIVER_CLONES] += 1
        return clone_id

    # --- daily processes (the order of a day: kernels/day.py) ------------------------
    def kernel_view(self) -> tuple:
        """This tissue as the day kernels take it: (cells, parameters, counters, geometry)."""
        return self.cells.arrays(), self.kernel_params, self.counters, self.geometry

    def watch(self, no_change: bool = False) -> tuple[np.ndarray, float, float]:
        """What the day kernels stop on: the failures not yet recorded, then whether no
        cell being left that can change (``can_change``) stops them too (``no_change``:
        the model's stop rule ends on it), the pool size below which the tissue fails and
        the transformed count above which it is neoplastic (the rules of
        ``detect_events``)."""
        n = self.cells.n_slots
        fail = self.params.failure
        flags = [self.event_days[e] is None for e in EVENTS] + [no_change]
        return (
            np.array(flags, dtype=np.bool_),
            fail.functional_fraction_min * n,
            (fail.neoplasia_fraction * n),
        )

    def replace(self, n_fill: int | None = None) -> int:
        """Process 6 for the vacancies present now: refill ``n_fill`` (all by default) by
        local divisions (``kernels.day.refill``; on a lattice by Moore neighbours, ring by
        ring; vacancies without one stay empty). Returns the number filled.

        Args:
            n_fill: vacancies to refill (None: all present).
        """
        if n_fill is None:
            n_fill = self.cells.count(CellState.EMPTY)
        cells, p, counters, geometry = self.kernel_view()
        return int(day_kernels.refill(cells, p, geometry, n_fill, self.model.rng, counters))

    # --- observation -----------------------------------------------------------------
    def pool_size(self) -> int:
        """Cells that can divide and are not neoplastic (CYCLING + STEM)."""
        return self.cells.count(CellState.CYCLING) + self.cells.count(CellState.STEM)

    def detect_events(self, day: float) -> list[str]:
        """Process 8: record the first day of each failure; return the ones new today.

        Args:
            day: organism age (days) now.

        Returns:
            The names of the failures first reached now (``schema.EVENTS``).
        """
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
        """This tissue's trajectory row now: ``schema.TRAJECTORY_COLUMNS``, in that order,
        then, for a stem compartment with a division clock, ``schema.CLONE_COLUMNS``.

        Args:
            day: organism age (days) of the record.

        Returns:
            The row (column -> value), also kept as ``last_record``.
        """
        cells = self.cells
        tel = self.params.telomere
        c = cells.counts()
        n = cells.n_slots
        summ = summary.summarize(
            cells.state,
            cells.telomere_bp,
            cells.divisions,
            cells.epi_origin_day,
            day,
            tel.senescence_threshold_bp,
            tel.loss_mean_bp,
        )
        divisions = int(self.counters[C_DIVISIONS])
        rec: dict[str, float] = {
            "day": day,
            "age_years": day / DAYS_PER_YEAR,
            **{f"n_{s.name.lower()}": c[s] for s in CellState},
            "functional_fraction": (c[CellState.CYCLING] + c[CellState.STEM]) / n,
            "senescent_fraction": c[CellState.SENESCENT] / n,
            "transformed_fraction": c[CellState.TRANSFORMED] / n,
            "pool_size": c[CellState.CYCLING] + c[CellState.STEM],
            "telomere_mean_bp": summ[summary.S_TELOMERE_MEAN],
            "telomere_p10_bp": summ[summary.S_TELOMERE_P10],
            "telomere_p50_bp": summ[summary.S_TELOMERE_P50],
            "telomere_p90_bp": summ[summary.S_TELOMERE_P90],
            "divisions_left_mean": summ[summary.S_DIVISIONS_LEFT_MEAN],
            "divisions_per_cell_mean": summ[summary.S_DIVISIONS_MEAN],
            "epigenetic_age_mean_years": summ[summary.S_EPI_AGE_MEAN] / DAYS_PER_YEAR,
            "divisions_interval": divisions - self._divisions_at_last_record,
            "divisions_cumulative": divisions,
            **{
                f"{name}_cumulative": int(self.counters[i])
                for i, name in enumerate(COUNTER_NAMES)
                if name != "divisions"
            },
        }
        if self.records_clones:
            k = summary.clone_summary(cells.state, cells.clone)
            rec.update(
                {
                    "n_clones": int(k[summary.K_CLONES]),
                    "clones_for_half": int(k[summary.K_CLONES_FOR_HALF]),
                    "largest_clone_share": float(k[summary.K_LARGEST_SHARE]),
                    "driver_clones_cumulative": int(self.counters[C_DRIVER_CLONES]),
                }
            )
        self._divisions_at_last_record = divisions
        self.last_record = rec
        return rec

    def telomere_histogram(self) -> tuple[np.ndarray, np.ndarray]:
        """(bin left edges in bp, counts) of the occupied slots' telomere lengths."""
        hist = summary.telomere_histogram(self.cells.state, self.cells.telomere_bp)
        return np.arange(hist.size) * summary.HIST_BIN_BP, hist
