"""In vitro culture: the Hayflick experiment (docs/MODEL.md process 7) as a small Mesa model.

A strain is seeded into a dish of ``dish_cells`` slots at ``1/split_ratio`` of confluence.
Each step of ``dt_days`` its CYCLING cells divide into free space at
``division_rate_per_day`` (kernels/culture.py; the division and senescence rules are the
tissue kernels' own), a few become senescent from stress, and when the dish is confluent it
is passaged: a random ``1/split_ratio`` of the cells is kept (binomial thinning), then a
``plating_efficiency`` share of those attach. Cumulative population doublings (PD) are
counted as a laboratory counts them, from cell numbers: each passage adds
``log2(cells harvested / cells seeded)``. The strain is senescent (the culture ends) when
it has not doubled for ``max_days_without_doubling`` days; its PD then is its PD at
senescence.

Mesa owns the clock (``CultureModel.step``) and the recording (``mesa.DataCollector``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import mesa
import numpy as np
import pandas as pd
from pydantic import Field

from cellsim.engine.params import (
    MAX_DAYS,
    MAX_FACTOR,
    MAX_RATE_PER_DAY,
    CellState,
    TelomereParams,
    TissueParams,
    _Strict,
)
from cellsim.engine.population import CellPopulation
from cellsim.engine.tissue import telomere_parameters
from cellsim.kernels import culture as culture_kernels
from cellsim.kernels import summary
from cellsim.kernels.layout import C_DIVISIONS, N_COUNTERS
from cellsim.kernels.pack import parameter_vector as pack_parameters

__all__ = ["CultureModel", "CultureParams", "CultureResult", "run_culture"]


class CultureParams(_Strict):
    """A fibroblast strain in culture and how it is handled.

    Telomere values are the tissue defaults (``TelomereParams``: 9.5 kb at birth,
    Factor-Litvak 2016; ~100 bp lost per division, Harley 1990; critical length 5 kb,
    chosen). Culture-specific values are *chosen* (no number in docs/MODEL.md) unless a source
    is named.
    """

    dish_cells: int = Field(20_000, ge=4, le=50_000_000)
    """Slots of the dish at confluence (chosen: a sample of a flask's ~10^6 cells)."""
    split_ratio: float = Field(2.0, gt=1.0, le=MAX_FACTOR)
    """Passage 1:N when confluent: 1:2, one PD per passage (Hayflick & Moorhead 1961)."""
    confluence_fraction: float = Field(1.0, gt=0, le=1)
    """Passage when this fraction of the slots is occupied (chosen: full)."""
    plating_efficiency: float = Field(1.0, gt=0, le=1)
    """Share of seeded cells that attach and stay (chosen: 1, every seeded cell counts)."""
    division_rate_per_day: float = Field(math.log(2.0), gt=0, le=MAX_RATE_PER_DAY)
    """Per-cell division hazard: ln 2/day, a ~1-day doubling time in early passages
    (chosen; typical of fetal lung fibroblasts)."""
    stress_rate_per_day: float = Field(0.01, ge=0, le=MAX_RATE_PER_DAY)
    """Stress-induced senescence of dividing cells in culture (chosen: small; gives a few
    percent non-dividing cells in early passages)."""
    death_rate_per_day: float = Field(0.0, ge=0, le=MAX_RATE_PER_DAY)
    """Death of dividing cells (chosen: none)."""
    transformation_probability_per_division: float = Field(0.0, ge=0, le=1)
    """Spontaneous immortalisation (chosen: 0; human fibroblasts essentially never do)."""
    max_days_without_doubling: float = Field(28.0, gt=0, le=MAX_DAYS)
    """A strain that does not double in this many days is senescent (chosen: 4 weeks)."""
    max_days: float = Field(2000.0, gt=0, le=MAX_DAYS)
    """Horizon: a culture still growing then is stopped (censored)."""
    dt_days: float = Field(0.25, gt=0, le=1)
    """Step length: passages and records happen within or at the end of a step; growth,
    stress and death run in continuous time, so the dynamics do not depend on it."""
    record_interval_days: float = Field(1.0, gt=0, le=MAX_DAYS)
    """Days between two rows of the growth curve (chosen: daily)."""
    telomere: TelomereParams = Field(default_factory=TelomereParams)
    """The strain's telomeres: length at seeding, loss per division (bp) and critical
    length (the tissue defaults)."""

    def tissue(self) -> TissueParams:
        """The dish as TissueParams (its slots and telomeres), for ``CellPopulation``."""
        return TissueParams(name="culture", n_cells=self.dish_cells, telomere=self.telomere)

    def parameter_vector(self) -> np.ndarray:
        """The kernels' parameter vector (kernels/layout.py) for a dish."""
        return pack_parameters(
            dt_days=self.dt_days,
            death_rate_per_day=self.death_rate_per_day,
            transformed_death_rate_per_day=self.death_rate_per_day,
            stress_rate_per_day=self.stress_rate_per_day,
            stress_age_slope_per_day_per_year=0.0,  # a strain in a dish: no organism clock
            stress_epigenetic_slope_per_day_per_year=0.0,
            clearance_rate_per_day=0.0,  # no immune system in a dish
            clearance_half_saturation_fraction=0.0,
            **telomere_parameters(self.telomere),
            transformation_probability=self.transformation_probability_per_division,
            transformed_fitness=1.0,
            epi_origin_floor_day=0.0,
            bystander_per_day=0.0,  # well-mixed
            redifferentiation_delay_days=0.0,  # no reprogramming in culture
            teratoma_probability=0.0,
            embryonic_telomere_bp=0.0,
            telomere_reset_fraction=0.0,
        )


class CultureModel(mesa.Model):
    """One strain in culture, from seeding to replicative senescence.

    Args:
        params: the culture (dish, passaging, telomeres).
        rng: seed or Generator; drives every kernel.

    Attributes after ``run()``: ``pd`` (cumulative PD), ``senescent`` (True when the strain
    stopped doubling; False when ``max_days`` ended it first), ``passages`` (one dict per
    passage), and the growth curve from ``growth_curve()``.
    """

    def __init__(self, params: CultureParams | None = None, *, rng: Any = None) -> None:
        super().__init__(rng=rng)
        self.params = params = params or CultureParams()
        self.kernel_params = params.parameter_vector()
        self.counters = np.zeros(N_COUNTERS, dtype=np.int64)
        self.day = 0.0
        self.cells = CellPopulation.founded(params.tissue(), self.rng)
        # Seed at the split density: keep 1/N of a confluent dish of fresh cells.
        self.seeded = self._split()
        self.pd_at_passage = 0.0
        self.pd = 0.0
        self.pd_mark = 0.0  # PD at the last whole doubling
        self.last_doubling_day = 0.0
        self.senescent = False
        self.passages: list[dict[str, float]] = []
        """One record per passage: its number, day, cumulative PD, PD gained, cells seeded
        and harvested, non-dividing fraction and mean telomere length (bp)."""
        self.early_telomere_bp: float | None = None
        """The strain's mean telomere length at its first passage (bp); None before it."""
        self.datacollector = mesa.DataCollector(
            model_reporters={
                "day": "day",
                "pd_cumulative": "pd",
                "n_cells": lambda m: m.occupied(),
                "n_cycling": lambda m: m.cells.count(CellState.CYCLING),
                "n_senescent": lambda m: m.cells.count(CellState.SENESCENT),
                "nondividing_fraction": lambda m: m.nondividing_fraction(),
                "telomere_mean_bp": lambda m: float(m._summary[summary.S_TELOMERE_MEAN]),
                "divisions_per_cell_mean": lambda m: float(m._summary[summary.S_DIVISIONS_MEAN]),
                "passages": lambda m: len(m.passages),
                "divisions_cumulative": lambda m: int(m.counters[C_DIVISIONS]),
            }
        )
        self._next_record = 0.0
        self._summary = np.full(summary.N_SUMMARY, np.nan)
        self._record()

    # --- observation -----------------------------------------------------------------
    def occupied(self) -> int:
        """Cells in the dish."""
        return self.cells.n_slots - self.cells.count(CellState.EMPTY)

    def nondividing_fraction(self) -> float:
        """Share of the cells in the dish that cannot divide (SENESCENT)."""
        n = self.occupied()
        return self.cells.count(CellState.SENESCENT) / n if n else math.nan

    def telomere_mean_bp(self) -> float:
        """Mean telomere length of the cells in the dish."""
        c = self.cells
        out = summary.summarize(
            c.state, c.telomere_bp, c.divisions, c.epi_origin_day, self.day, 0.0, 0.0
        )
        return float(out[summary.S_TELOMERE_MEAN])

    # --- handling --------------------------------------------------------------------
    def _split(self) -> int:
        """Keep 1/N of the cells, then let ``plating_efficiency`` of them attach. Returns
        the cells seeded (counted before plating, as a laboratory counts them)."""
        c = self.cells
        kept = int(
            culture_kernels.thin(
                c.state, c.order, c.pos, c.seg, 1.0 / self.params.split_ratio, self.rng
            )
        )
        if self.params.plating_efficiency < 1.0:
            culture_kernels.thin(
                c.state, c.order, c.pos, c.seg, self.params.plating_efficiency, self.rng
            )
        return max(kept, 1)

    def _mark_doubling(self, day: float) -> None:
        if self.pd >= self.pd_mark + 1.0:
            self.pd_mark = self.pd
            self.last_doubling_day = day

    def passage(self, day: float | None = None) -> None:
        """Split a confluent dish 1:N; add log2(harvested / seeded) to the PD.

        Args:
            day: the day of the passage (None: today, ``self.day``).
        """
        harvested = self.occupied()
        gain = math.log2(harvested / self.seeded) if harvested > self.seeded else 0.0
        self.pd_at_passage += gain
        self.pd = self.pd_at_passage
        rec = {
            "passage": len(self.passages) + 1,
            "day": self.day if day is None else day,
            "pd_cumulative": self.pd,
            "pd_gain": gain,
            "seeded": self.seeded,
            "harvested": harvested,
            "nondividing_fraction": self.nondividing_fraction(),
            "telomere_mean_bp": self.telomere_mean_bp(),
        }
        self.passages.append(rec)
        if self.early_telomere_bp is None:
            self.early_telomere_bp = rec["telomere_mean_bp"]
        self.seeded = self._split()

    # --- time ------------------------------------------------------------------------
    def step(self) -> None:
        """One step: growth, stress senescence and death in continuous time, with a
        passage whenever the dish is confluent (events resume from that moment); count doublings;
        stop when the strain has not doubled for ``max_days_without_doubling`` days."""
        prm = self.params
        start = self.day
        self.day += prm.dt_days
        c = self.cells
        confluent = max(1, math.ceil(prm.confluence_fraction * c.n_slots - 1e-9))
        t = 0.0
        while True:
            t = culture_kernels.grow(
                c.arrays(),
                self.kernel_params,
                prm.division_rate_per_day,
                start,
                t,
                prm.dt_days,
                confluent,
                self.rng,
                self.counters,
            )
            n = self.occupied()
            if n > self.seeded:
                self.pd = self.pd_at_passage + math.log2(n / self.seeded)
            self._mark_doubling(start + t)
            if n < confluent:
                break
            self.passage(start + t)
            if t >= prm.dt_days - 1e-12:
                break
        n = self.occupied()
        if self.day - self.last_doubling_day >= prm.max_days_without_doubling - 1e-9:
            self.senescent = True
            self.running = False
        elif self.day >= prm.max_days - 1e-9 or n == 0:
            self.running = False
        if self.day >= self._next_record - 1e-9 or not self.running:
            self._record()

    def _record(self) -> None:
        c = self.cells
        self._summary = summary.summarize(
            c.state, c.telomere_bp, c.divisions, c.epi_origin_day, self.day, 0.0, 0.0
        )
        self.datacollector.collect(self)
        interval = self.params.record_interval_days
        self._next_record = (math.floor(self.day / interval + 1e-9) + 1) * interval

    def run(self) -> CultureModel:
        """Step until the strain is senescent (or the horizon)."""
        while self.running:
            self.step()
        return self

    def growth_curve(self) -> pd.DataFrame:
        """One row per recording: day, cumulative PD, cells, non-dividing fraction, ..."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def passages_frame(self) -> pd.DataFrame:
        """One row per passage."""
        return pd.DataFrame.from_records(self.passages)


@dataclass
class CultureResult:
    """What one strain's culture returns."""

    strain: str
    """The strain's name."""
    initial_mean_bp: float
    """Mean telomere length of the seeded cells (bp): ``telomere.initial_mean_bp``."""
    pd_at_senescence: float
    """Cumulative population doublings when the culture stopped (at senescence, or at
    ``max_days`` if ``senescent`` is False)."""
    senescent: bool
    """True when the strain stopped doubling; False when ``max_days`` (or an empty dish)
    ended the culture first (censored)."""
    days: float
    """Days in culture when it stopped."""
    early_telomere_bp: float
    """Mean telomere length at the first passage (bp); NaN without a passage."""
    final_telomere_bp: float
    """Mean telomere length of the cells in the dish at the end (bp)."""
    growth: pd.DataFrame
    """The growth curve, one row per recording (``CultureModel.growth_curve``), with a
    ``strain`` column first."""
    passages: pd.DataFrame
    """One row per passage (``CultureModel.passages_frame``), with a ``strain`` column
    first."""

    def row(self) -> dict[str, Any]:
        """A summary row (no tables)."""
        return {
            "strain": self.strain,
            "initial_mean_bp": self.initial_mean_bp,
            "pd_at_senescence": self.pd_at_senescence,
            "senescent": self.senescent,
            "days": self.days,
            "early_telomere_bp": self.early_telomere_bp,
            "final_telomere_bp": self.final_telomere_bp,
        }


def run_culture(params: CultureParams, seed: Any, strain: str = "strain") -> CultureResult:
    """Culture one strain to senescence; return its PD at senescence and its curves.

    Args:
        params: the dish and its cells (``CultureParams``).
        seed: seed of the run's Generator (an int, a SeedSequence or a Generator).
        strain: a name for the strain in the result.

    Returns:
        The strain's ``CultureResult`` (PD at senescence, growth curve, passages).
    """
    m = CultureModel(params, rng=np.random.default_rng(seed)).run()
    growth = m.growth_curve()
    growth.insert(0, "strain", strain)
    passages = m.passages_frame()
    passages.insert(0, "strain", strain)
    early = m.early_telomere_bp if m.early_telomere_bp is not None else math.nan
    return CultureResult(
        strain=strain,
        initial_mean_bp=params.telomere.initial_mean_bp,
        pd_at_senescence=m.pd,
        senescent=m.senescent,
        days=m.day,
        early_telomere_bp=early,
        final_telomere_bp=m.telomere_mean_bp(),
        growth=growth,
        passages=passages,
    )
