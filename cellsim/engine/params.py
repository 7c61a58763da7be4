"""Validated parameters of a cellsim run.

Every quantity carries its unit in its name (``_bp``, ``_days``, ``_per_day``). Every default
names its source (docs/MODEL.md lists them with the references); where no source gives a
number, the default is marked *chosen* and is a free parameter to sweep.
"""

from __future__ import annotations

import math
import re
from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cellsim.engine.schema import DAYS_PER_YEAR
from cellsim.kernels import layout


class CellState(IntEnum):
    """Cell states (docs/MODEL.md, "Cell state").

    The numeric order is an engine detail: competent states (able to divide) are the
    contiguous codes >= CYCLING, so the kernels draw a parent from one index range, and the
    commonest transitions (death, birth, clearance) join neighbouring codes, so they cost
    one swap in the state index (kernels/segments.py).
    """

    # the codes are the kernels' (kernels/layout.py), so both sides read the same arrays
    PLURIPOTENT = layout.PLURIPOTENT
    """Fully reprogrammed, waiting to redifferentiate; does not divide, dies by
    turnover."""
    SENESCENT = layout.SENESCENT
    """Permanently arrested; does not divide, leaves only by immune clearance."""
    EMPTY = layout.EMPTY
    """A vacancy, refilled by division."""
    CYCLING = layout.CYCLING
    """A somatic cell able to divide (until its telomere reaches the threshold)."""
    STEM = layout.STEM
    """A telomerase-positive stem cell; divides."""
    TRANSFORMED = layout.TRANSFORMED
    """Escaped the division limit; divides (weighted by its fitness), dies at its own
    rate."""


N_STATES = len(CellState)


MAX_DAYS = 200 * DAYS_PER_YEAR
"""Upper bound of every age, duration and horizon (200 years): beyond it a value is a typo."""
MAX_BP = 1_000_000.0
"""Upper bound of every telomere length or change (1 Mb; mouse telomeres reach ~150 kb)."""
MAX_CELLS = 100_000_000
"""Upper bound of a tissue's slots (the state arrays of 10^8 cells take a few GB)."""
MAX_FACTOR = 1000.0
"""Upper bound of relative weights and lifespan factors."""
MAX_REPLICATES = 100_000
"""Upper bound of replicates per arm or sweep point (file field and --replicates)."""
MAX_RATE_PER_DAY = 10_000.0
"""Upper bound of every per-cell rate and rate slope (10^4/day, one event per ~9 s): no cell
process is faster, and larger values would only make a run hang on events."""
MIN_LIFESPAN_DAYS = 1.0 / MAX_RATE_PER_DAY
"""Lower bound of a cell lifespan (the death rate 1/lifespan obeys ``MAX_RATE_PER_DAY``)."""
MAX_SEED = 2**63 - 1
"""Upper bound of a root seed (stored as a 64-bit integer in the result tables)."""
MAX_RUNS = 10_000_000
"""Upper bound of the runs of one scenario (arms x replicates) or sweep (points x
replicates): more is a typo, or a study to split into several."""
MAX_LIFESPAN_DAYS = 1e12
"""Upper bound of a cell lifespan: finite, but large values (1e9) stand for "no turnover"
(the ``hsc`` preset's quiescent compartment, tests that switch death off)."""

NAME_PATTERN = re.compile(r"[A-Za-z0-9_+\-][A-Za-z0-9_.+\-]{0,63}")
NAME_RULE = (
    "allowed: 1-64 characters, letters A-Z a-z, digits, '_', '-', '+' and '.', "
    "not starting with '.'"
)
TISSUE_NAME_PATTERN = re.compile(r"[A-Za-z0-9_+\-]{1,64}")
TISSUE_NAME_RULE = (
    "allowed: 1-64 characters, letters A-Z a-z, digits, '_', '-' and '+' (no '.': tissue "
    "names head dotted parameter paths)"
)


def safe_name(value: str, pattern: re.Pattern[str] = NAME_PATTERN, rule: str = NAME_RULE) -> str:
    """``value`` if it is a safe name (it becomes a folder, a file name or a figure label),
    else ValueError saying which characters are allowed.

    Args:
        value: the name.
        pattern: the characters allowed (default: arm, scenario and sweep names).
        rule: the text of the error, saying what is allowed.

    Returns:
        ``value`` unchanged.

    Example:
        >>> from cellsim.engine.params import safe_name
        >>> safe_name("senolytics+partial")
        'senolytics+partial'
        >>> safe_name("../etc")
        Traceback (most recent call last):
        ...
        ValueError: not a valid name; allowed: 1-64 characters, ...
    """
    if not pattern.fullmatch(value):
        raise ValueError(f"not a valid name; {rule}")
    return value


class _Strict(BaseModel):
    """Base model: unknown keys are errors, assignments are validated, numbers are finite
    (no inf or nan), and values are strict: no booleans for numbers (``n_cells = true`` is
    an error, not 1 cell), no text for numbers, no fractions for whole numbers."""

    model_config = ConfigDict(
        extra="forbid", validate_assignment=True, allow_inf_nan=False, strict=True
    )


class TelomereParams(_Strict):
    """Telomere lengths and their shortening at division."""

    initial_mean_bp: float = Field(9500.0, gt=0, le=MAX_BP)
    """Telomere at birth: leukocyte TRF 9.5 kb (Factor-Litvak 2016)."""
    initial_sd_bp: float = Field(700.0, ge=0, le=MAX_BP)
    """Spread at birth, 0.7 kb (Factor-Litvak 2016, between people; used cell-to-cell: chosen)."""
    loss_mean_bp: float = Field(100.0, ge=0, le=MAX_BP)
    """Loss per division: 50-200 bp in culture, often 50-100 (Harley 1990; BioNumbers
    109260); Allsopp 1992's 10 PD per kb implies ~100 bp."""
    loss_sd_bp: float = Field(30.0, ge=0, le=MAX_BP)
    """Cell-to-cell spread of the loss per division (chosen)."""
    loss_length_slope: float = Field(0.0, ge=0, le=0.1)
    """Length-dependent loss: each division's mean loss is ``loss_mean_bp + slope x
    (telomere - loss_reference_bp)``, so longer telomeres shorten faster and the spread
    between cells and people narrows with divisions (0: none, the default; a candidate
    for the narrowing spread of leukocyte telomeres with age in Aubert 2012's data, to be
    calibrated; docs/MODEL.md, "Division and telomere loss")."""
    loss_reference_bp: float = Field(10000.0, ge=0, le=MAX_BP)
    """The length at which a division loses ``loss_mean_bp`` on average (used with a
    ``loss_length_slope`` only; chosen: about a newborn's leukocyte telomere)."""
    senescence_threshold_bp: float = Field(5000.0, ge=0, le=MAX_BP)
    """Critical length: (9500-5000)/100 = 45 PD, inside Hayflick's 40-60 PD (chosen to fit)."""
    telomerase_stem: float = Field(0.9, ge=0, le=1)
    """Telomerase activity a of STEM cells: loss scaled by (1-a) (chosen: 0.9; the ``hsc``
    preset sets its own value for ~30 bp/year in HSCs)."""
    telomerase_pluripotent: float = Field(1.0, ge=0, le=1)
    """Telomerase activity of PLURIPOTENT cells (iPSCs elongate telomeres, Suhr 2009)."""
    telomerase_transformed: float = Field(1.0, ge=0, le=1)
    """Telomerase activity of TRANSFORMED cells (telomerase reactivation)."""

    @model_validator(mode="after")
    def _threshold_below_initial(self) -> TelomereParams:
        if self.senescence_threshold_bp >= self.initial_mean_bp:
            raise ValueError(
                f"senescence_threshold_bp={self.senescence_threshold_bp:g} must be below "
                f"initial_mean_bp={self.initial_mean_bp:g}"
            )
        return self


class StressParams(_Strict):
    """Stress-induced senescence of CYCLING cells (docs/MODEL.md process 3).

    Per-cell hazard per day: ``rate_per_day + age_slope * organism_age_years
    + epigenetic_slope * epigenetic_age_years`` (+ a bystander term on lattices).
    """

    rate_per_day: float = Field(1e-5, ge=0, le=MAX_RATE_PER_DAY)
    """Base rate (chosen: no published per-cell constant)."""
    age_slope_per_day_per_year: float = Field(0.0, ge=0, le=MAX_RATE_PER_DAY)
    """Rise with organism age (chosen: 0, age acts through the epigenetic clock)."""
    epigenetic_slope_per_day_per_year: float = Field(1e-6, ge=0, le=MAX_RATE_PER_DAY)
    """Rise with the cell's epigenetic age (chosen; Karin 2019's production rises with age)."""
    age_dependent: bool = True
    """False: the hazard is ``rate_per_day`` at every age (age-independent stress), and the
    two slopes are not used, whatever their values."""

    def slopes_per_day_per_year(self) -> tuple[float, float]:
        """(age slope, epigenetic slope) as the kernels use them: 0 when age-independent."""
        if not self.age_dependent:
            return 0.0, 0.0
        return self.age_slope_per_day_per_year, self.epigenetic_slope_per_day_per_year


class ClearanceParams(_Strict):
    """Immune clearance of senescent cells, saturating (Karin et al. 2019).

    Per-cell hazard ``rate_per_day / (1 + s / half_saturation_fraction)``, s the senescent
    fraction of the tissue's slots; with ``saturating = false``, ``rate_per_day`` at any
    burden.
    """

    rate_per_day: float = Field(0.30, ge=0, le=MAX_RATE_PER_DAY)
    """r0, the per-cell rate at low burden: Karin 2019's removal ``beta * X / (kappa + X)``
    gives ``beta / kappa`` = 0.15 / 0.5 = 0.30/day (mouse fit, beta 0.15/day, kappa 0.5;
    the human fit has the same beta and kappa)."""
    half_saturation_fraction: float = Field(0.5, gt=0, le=MAX_FACTOR)
    """K (chosen): Karin's kappa = 0.5 is in arbitrary units; mapping it onto a senescent
    fraction is a choice."""
    saturating: bool = True
    """False: constant clearance, every senescent cell removed at ``rate_per_day`` whatever
    the burden; ``half_saturation_fraction`` is then not used."""

    def half_saturation_for_kernels(self) -> float:
        """K as the kernels use it: infinite (no saturation) for constant clearance."""
        return self.half_saturation_fraction if self.saturating else math.inf


class TransformationParams(_Strict):
    """Escape from the division limit (neoplastic transformation)."""

    probability_per_division: float = Field(1e-8, ge=0, le=1)
    """Chance a daughter reactivates telomerase (chosen: a small free parameter)."""
    fitness: float = Field(1.5, gt=0, le=MAX_FACTOR)
    """Relative weight of a TRANSFORMED cell when a parent is drawn (chosen)."""
    lifespan_factor: float = Field(1.0, gt=0, le=MAX_FACTOR)
    """Transformed cells' lifespan relative to the tissue's cell lifespan (chosen)."""


class FailureParams(_Strict):
    """Thresholds of docs/MODEL.md process 8."""

    functional_fraction_min: float = Field(0.5, ge=0, le=1)
    """Tissue failure: functional (CYCLING+STEM) fraction of slots below this (chosen)."""
    neoplasia_fraction: float = Field(0.01, gt=0, le=1)
    """Neoplasia: TRANSFORMED fraction of slots above this (chosen)."""


class PluripotencyParams(_Strict):
    """Fate of cells made PLURIPOTENT by full reprogramming or partial-protocol slips."""

    embryonic_telomere_bp: float = Field(13300.0, gt=0, le=MAX_BP)
    """Reset target: iPSC telomeres >40% longer than the parent cells' (Suhr 2009): 9.5 kb x 1.4."""
    telomere_reset_fraction: float = Field(1.0, ge=0, le=1)
    """How far toward the embryonic length a reprogrammed telomere moves (1 = all the way)."""
    redifferentiation_delay_days: float = Field(21.0, ge=0, le=MAX_DAYS)
    """Days a cell stays PLURIPOTENT before it redifferentiates (chosen: ~3 weeks)."""
    teratoma_probability: float = Field(0.0, ge=0, le=1)
    """Chance a redifferentiating cell becomes TRANSFORMED instead (chosen; per scenario)."""


class LatticeParams(_Strict):
    """Spatial geometry of a tissue: a ``width`` x ``height`` grid of slots, Moore
    neighbourhood (8 neighbours); slot i sits at row ``i // width``, column ``i % width``.

    A vacancy is refilled only by the division of a competent neighbour (or by stem supply);
    with none it stays empty, a tissue defect (kernels/lattice.py).
    """

    width: int = Field(ge=1, le=MAX_CELLS)
    """Slots per row (cells)."""
    height: int = Field(ge=1, le=MAX_CELLS)
    """Rows (cells); ``width * height`` is the tissue's ``n_cells``."""
    torus: bool = True
    """Wrap the edges (every slot has 8 neighbours); False: bounded, edge slots have 3-5."""
    bystander_per_day: float = Field(1e-4, ge=0, le=MAX_RATE_PER_DAY)
    """Bystander senescence (SASP; Nelson 2012, Acosta 2013): a CYCLING cell's extra
    stress-senescence hazard is ``bystander_per_day * (senescent neighbours / 8)``. No
    published constant: chosen small, 10x the base stress rate when all 8 neighbours are
    senescent."""

    @model_validator(mode="after")
    def _torus_needs_room(self) -> LatticeParams:
        if self.torus and (self.width < 3 or self.height < 3):
            raise ValueError(
                f"a torus lattice needs width and height >= 3 (got {self.width}x"
                f"{self.height}): smaller ones would count a slot as its own neighbour"
            )
        return self


class SelectionParams(_Strict):
    """Clonal selection in a stem compartment with a division clock (docs/MODEL.md,
    "Clonal drift and selection").

    An asymmetric division on the clock gives the dividing stem cell a fitness-increasing
    driver with ``driver_probability_per_division``; the cell founds a new clone (its
    daughters inherit the driver). A driver cell divides symmetrically at
    ``advantage_per_year / 365.25`` per day on top of the clock, its daughter replacing
    another random stem cell of the sample, so a driver clone's share f of the compartment
    grows as ``df/dt = s f (1 - f)`` (mean field). A cell carries at most one driver: a
    later driver in a driver cell changes nothing.
    """

    driver_probability_per_division: float = Field(0.0, ge=0, le=1)
    """Chance that an asymmetric stem division gives the stem cell a driver (0: neutral
    drift only; chosen per scenario: no per-division rate is published for HSCs)."""
    advantage_per_year: float = Field(0.05, ge=0, le=MAX_RATE_PER_DAY)
    """Selective advantage s of a driver cell, per year: the growth rate of a small driver
    clone. Fabre 2022 measured 5% per year (DNMT3A, TP53) to more than 50% per year
    (SRSF2 P95H) in blood; 5% (DNMT3A, the commonest driver) is the default."""

    def selection_per_day(self) -> float:
        """s per day, as the kernels use it."""
        return self.advantage_per_year / DAYS_PER_YEAR


class StemDivisionParams(_Strict):
    """A stem compartment's own division clock (docs/MODEL.md, "The blood system").

    With it, the compartment is a sample of a larger stem pool that divides on its own
    clock, not once per cell it supplies: each STEM cell divides asymmetrically at
    ``1 / interval_days`` in adults (the daughter leaves for the progenitors), faster in
    childhood by ``childhood_factor`` at birth, the excess decaying as
    ``exp(-age / childhood_timescale_years)``; and the pool grows after birth from
    ``pool_at_birth_fraction`` of its adult size along ``N(age) = N_adult *
    f ** exp(-age / tau)`` (a Gompertz curve), each growth division replacing another
    sampled cell. A tissue it supplies draws its new cells' ancestry from the sample
    (``kernels/processes.supply_division``).
    """

    interval_days: float = Field(280.0, ge=MIN_LIFESPAN_DAYS, le=MAX_LIFESPAN_DAYS)
    """Days between an adult stem cell's divisions: human HSCs about once per 40 weeks
    (range 25-50; Catlin 2011)."""
    childhood_factor: float = Field(1.0, ge=0, le=MAX_FACTOR)
    """Division rate at birth relative to adults' (chosen or calibrated: telomeres of
    leukocytes fall fastest in the first years, Aubert 2012's data)."""
    childhood_timescale_years: float = Field(1.0, gt=0, le=MAX_DAYS / DAYS_PER_YEAR)
    """e-folding time of the childhood excess and of the pool's growth (chosen or
    calibrated)."""
    pool_at_birth_fraction: float = Field(1.0, gt=0, le=1)
    """Pool size at birth relative to adults' (1: no growth; chosen or calibrated)."""
    selection: SelectionParams | None = None
    """Driver mutations and their selective advantage (None: no drivers, neutral drift)."""

    def pool_growth_per_day(self) -> float:
        """The per-cell growth rate at birth, ``ln(1 / f) / tau`` per day."""
        return math.log(1.0 / self.pool_at_birth_fraction) / (
            self.childhood_timescale_years * DAYS_PER_YEAR
        )


CHILDHOOD_EXCESS_TOLERANCE = 1e-6
"""The childhood excess of a turnover rate below which the engine uses the adult rate
(``ChildhoodTurnoverParams.active_until_days``)."""


class ChildhoodTurnoverParams(_Strict):
    """Faster turnover of a tissue in childhood (docs/MODEL.md, "Lymphocytes in infancy").

    Its cells die, each death refilled as in adults (by supply or a local division), at
    ``factor`` times the adult rate ``1 / lifespan_days`` at birth, the excess decaying as
    ``exp(-age / timescale_years)``: the rate at organism age t is ``(1 + (factor - 1)
    exp(-t / tau)) / lifespan_days``. For lymphocytes: their counts are highest in
    infancy (Shearer 2003), neonates' T cells are in high proliferative turnover
    (Schonland 2003) and lymphocyte telomeres fall fastest in the first years (Zeichner
    1999; Rufer 1999; Aubert 2012).
    The default, factor 1, is no childhood. The engine sets each step's rate to its mean
    over the step (``mean_factor``); the mean field integrates it exactly.
    """

    factor: float = Field(1.0, ge=0, le=MAX_FACTOR)
    """Turnover rate at birth relative to adults' (1: no childhood; calibrated for
    lymphocytes in scenarios/blood)."""
    timescale_years: float = Field(1.0, gt=0, le=MAX_DAYS / DAYS_PER_YEAR)
    """e-folding time (years) of the childhood excess in turnover."""

    @property
    def active(self) -> bool:
        """Whether the rate differs from the adult one at all (factor != 1)."""
        return self.factor != 1.0

    def mean_factor(self, start_day: float, end_day: float) -> float:
        """The rate's mean over organism ages ``[start_day, end_day]`` relative to adults'.

        Args:
            start_day: organism age (days) at the start of the interval.
            end_day: organism age (days) at its end (> ``start_day``).

        Returns:
            ``1 + (factor - 1) tau (exp(-start / tau) - exp(-end / tau)) / (end - start)``.
        """
        tau = self.timescale_years * DAYS_PER_YEAR
        excess = (self.factor - 1.0) * tau
        decayed = math.exp(-start_day / tau) - math.exp(-end_day / tau)
        return 1.0 + excess * decayed / (end_day - start_day)

    def active_until_days(self) -> float:
        """The organism age (days) after which the excess ``|factor - 1| exp(-t / tau)``
        stays below ``CHILDHOOD_EXCESS_TOLERANCE`` (0 without a childhood): the engine
        uses the adult rate from then on."""
        if not self.active:
            return 0.0
        tau = self.timescale_years * DAYS_PER_YEAR
        return max(0.0, tau * math.log(abs(self.factor - 1.0) / CHILDHOOD_EXCESS_TOLERANCE))


class TissueParams(_Strict):
    """One compartment: its size, turnover and the cell-level processes within it."""

    name: str = "tissue"
    """The tissue's name (heads dotted parameter paths: ``skin.lifespan_days``)."""
    kind: Literal["somatic", "stem"] = "somatic"
    """Somatic tissues start CYCLING; stem compartments start STEM (telomerase-positive)."""
    n_cells: int = Field(10_000, ge=1, le=MAX_CELLS)
    """Slots in the simulated sample (docs/MODEL.md: samples of 10^3-10^7 cells)."""
    cells_in_body: float | None = Field(None, gt=0, le=1e15)
    """Cells of the real tissue the sample stands for (a preset fills in its published
    count; None: the sample is the whole tissue). The scale factor ``cells_in_body /
    n_cells`` weighs the tissue in whole-body sums: the shared immune burden
    (``ModelParams.immune``), the body's turnover and divisions (analysis/body.py)."""
    lifespan_days: float = Field(140.0, ge=MIN_LIFESPAN_DAYS, le=MAX_LIFESPAN_DAYS)
    """Cell lifespan, turnover = 1/lifespan: dermal fibroblast 140 d, a rodent value
    (Sender & Milo 2021)."""
    telomere: TelomereParams = Field(default_factory=TelomereParams)
    """Telomere lengths at birth and their loss per division (bp)."""
    stress: StressParams = Field(default_factory=StressParams)
    """Stress-induced senescence of CYCLING cells (hazards per day)."""
    clearance: ClearanceParams = Field(default_factory=ClearanceParams)
    """Immune clearance of SENESCENT cells (hazard per day, saturating)."""
    transformation: TransformationParams = Field(default_factory=TransformationParams)
    """Escape from the division limit (per division)."""
    failure: FailureParams = Field(default_factory=FailureParams)
    """When the tissue counts as failed or neoplastic (fractions of slots)."""
    pluripotency: PluripotencyParams = Field(default_factory=PluripotencyParams)
    """What becomes of cells made PLURIPOTENT by reprogramming."""
    supply_from: str | None = None
    """Name of a stem compartment (a tissue of kind "stem") that supplies this tissue."""
    supply_share: float = Field(0.0, ge=0, le=1)
    """Share of this tissue's vacancies filled by asymmetric divisions of that compartment."""
    amplification_divisions: int = Field(0, ge=0, le=100)
    """Progenitor (transit-amplifying) divisions between the stem cell's differentiating
    daughter and a supplied cell of this tissue, each costing this tissue's loss per
    division without telomerase (0: none; a parameter where no count is published)."""
    initial_from_supply: bool = False
    """Found this tissue's cells as supplied cells (telomeres drawn from the stem
    compartment at the start, less a supply division and the amplification) instead of
    from ``telomere.initial_mean_bp``: a person's pools start from their stem cells."""
    childhood_turnover: ChildhoodTurnoverParams = Field(default_factory=ChildhoodTurnoverParams)
    """Faster turnover in childhood (default factor 1: none); for lymphocytes in the blood
    scenarios (docs/MODEL.md, "Lymphocytes in infancy")."""
    stem_divisions: StemDivisionParams | None = None
    """A stem compartment's own division clock (kind "stem" only); None: it divides only
    when it supplies a cell or replaces one of its own."""
    lattice: LatticeParams | None = None
    """None: well-mixed (any competent cell refills any vacancy); else a spatial grid.
    ``n_cells`` defaults to ``width * height`` and must equal it."""

    @field_validator("name")
    @classmethod
    def _safe_tissue_name(cls, value: str) -> str:
        return safe_name(value, TISSUE_NAME_PATTERN, TISSUE_NAME_RULE)

    @model_validator(mode="before")
    @classmethod
    def _lattice_sets_n_cells(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("lattice") is not None and "n_cells" not in data:
            lat = data["lattice"]
            get = lat.get if isinstance(lat, dict) else lambda k: getattr(lat, k, None)
            w, h = get("width"), get("height")
            if isinstance(w, int) and isinstance(h, int):
                data = {**data, "n_cells": w * h}
        return data

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data: Any) -> Any:
        """``preset = "epidermis"``: the preset's values (cellsim/engine/presets.py, with sources)
        fill the fields the table does not set."""
        if isinstance(data, dict) and "preset" in data:
            from cellsim.engine.presets import apply_preset

            data = apply_preset(data)
        return data

    @model_validator(mode="after")
    def _supply_needs_a_source(self) -> TissueParams:
        if self.supply_share > 0 and self.supply_from is None:
            raise ValueError(f"supply_share={self.supply_share:g} needs supply_from")
        needs_source = [
            f"{f}={getattr(self, f)!r}"
            for f in ("amplification_divisions", "initial_from_supply")
            if getattr(self, f)
        ]
        if self.supply_from is None and needs_source:
            raise ValueError(f"tissue {self.name!r}: {needs_source[0]} needs supply_from")
        if self.stem_divisions is not None and self.kind != "stem":
            raise ValueError(
                f"tissue {self.name!r}: stem_divisions needs kind = 'stem' (got {self.kind!r})"
            )
        if self.supply_from is not None and self.supply_from == self.name:
            raise ValueError(
                f"tissue {self.name!r}: supply_from must name another tissue, not itself"
            )
        if self.lattice is not None:
            lat = self.lattice
            if lat.width * lat.height != self.n_cells:
                raise ValueError(
                    f"n_cells={self.n_cells} must equal lattice width x height = "
                    f"{lat.width} x {lat.height} = {lat.width * lat.height}"
                )
        return self

    @property
    def geometry(self) -> Literal["well_mixed", "lattice"]:
        """Which replacement rule the tissue follows."""
        return "well_mixed" if self.lattice is None else "lattice"


class RunParams(_Strict):
    """Clock, horizon, recording and stopping of one run."""

    dt_days: float = Field(1.0, gt=0, le=30)
    """Step length: interventions act, failures are checked and records are taken at
    step ends; within a step every process runs in continuous time, so the dynamics do
    not depend on it (docs/MODEL.md, "Numerics")."""
    horizon_days: float = Field(100 * DAYS_PER_YEAR, gt=0, le=MAX_DAYS)
    """How long a run may last (days from ``start_age_days``; default 100 years)."""
    start_age_days: float = Field(0.0, ge=0, le=MAX_DAYS)
    """Organism age at the start; cells start with this epigenetic age."""
    record_interval_days: float = Field(30.0, gt=0, le=MAX_DAYS)
    """Days between trajectory records (the DataCollector's rows)."""
    stop_at: Literal["first_event", "all_events", "horizon"] = "first_event"
    """Stop at the first failure, once exhaustion, failure and neoplasia were all seen, or
    run to the horizon."""


class _Intervention(_Strict):
    """Common fields: which tissues an intervention acts on.

    Every age of an intervention (``age_days``, each occurrence ``start_age_days + j *
    interval_days``, each daily dose or on-day) fires at the end of the model step that
    contains it, before the first step if it is at or before the run's start
    (``AgingModel.step_of_day``; docs/MODEL.md, "The order of one step")."""

    label: str = ""
    """A name for tables and figures (default: the kind)."""
    tissues: list[str] | None = Field(None, min_length=1)
    """Tissue names; None (the key left out) means every somatic tissue; a list names at
    least one."""

    @model_validator(mode="after")
    def _end_not_before_start(self) -> _Intervention:
        start = getattr(self, "start_age_days", None)
        end = getattr(self, "end_age_days", None)
        if start is not None and end is not None and end < start:
            raise ValueError(f"end_age_days={end:g} must be at or after start_age_days={start:g}")
        return self


class Senolytic(_Intervention):
    """Senolytic regimen: from ``start_age_days``, a course every ``interval_days``, each
    course ``course_days`` daily doses; a dose kills each senescent cell with probability
    ``efficacy_per_dose`` and each CYCLING or STEM cell with ``off_target_kill_per_dose``
    (transformed and pluripotent cells are spared).

    Per-dose kill fractions are not published (docs/MODEL.md): 30-70% per course is the usual
    assumption. Genetic clearance (INK-ATTAC + AP20187 twice weekly from 12 months, Baker
    2016) is the same mechanism with ``cause = "genetic"``.
    """

    kind: Literal["senolytic"] = "senolytic"
    """The intervention's kind (the TOML ``kind`` key)."""
    cause: Literal["drug", "genetic"] = "drug"
    """``"drug"`` or ``"genetic"`` (clearance by a suicide gene): counted apart."""
    start_age_days: float = Field(0.0, ge=0, le=MAX_DAYS)
    """Organism age (days) of the first course."""
    end_age_days: float | None = Field(None, ge=0, le=MAX_DAYS)
    """Organism age (days) after which no course starts (None: never ends)."""
    interval_days: float = Field(30.0, gt=0, le=MAX_DAYS)
    """Days between the starts of two courses."""
    course_days: int = Field(1, ge=1, le=MAX_DAYS)
    """Daily doses per course."""
    efficacy_per_dose: float = Field(0.5, ge=0, le=1)
    """Probability that a dose kills a senescent cell."""
    off_target_kill_per_dose: float = Field(0.0, ge=0, le=1)
    """Probability that a dose kills a CYCLING or STEM cell."""


class Insult(_Intervention):
    """Senescence-inducing insult (irradiation, chemotherapy, bleomycin): at ``age_days``,
    each competent (CYCLING or STEM) cell becomes SENESCENT with probability ``fraction``."""

    kind: Literal["insult"] = "insult"
    """The intervention's kind (the TOML ``kind`` key)."""
    age_days: float = Field(ge=0, le=MAX_DAYS)
    """Organism age (days) of the insult."""
    fraction: float = Field(ge=0, le=1)
    """Probability that a competent cell becomes SENESCENT."""


class FullReprogramming(_Intervention):
    """OSKM to iPSC: at each course, each CYCLING, STEM or SENESCENT cell (Lapasset 2011)
    becomes PLURIPOTENT with probability ``efficiency_per_course`` (0.001-0.1%, up to ~2%
    in secondary systems); its telomere resets toward the embryonic length and its
    epigenetic age to 0 (Horvath 2013); see PluripotencyParams for what follows."""

    kind: Literal["full_reprogramming"] = "full_reprogramming"
    """The intervention's kind (the TOML ``kind`` key)."""
    start_age_days: float = Field(0.0, ge=0, le=MAX_DAYS)
    """Organism age (days) of the first course."""
    end_age_days: float | None = Field(None, ge=0, le=MAX_DAYS)
    """Organism age (days) after which no course starts (None: never ends)."""
    interval_days: float = Field(DAYS_PER_YEAR, gt=0, le=MAX_DAYS)
    """Days between courses (default: yearly)."""
    efficiency_per_course: float = Field(0.001, ge=0, le=1)
    """Probability that a course makes a cell PLURIPOTENT."""


class PartialReprogramming(_Intervention):
    """Cyclic partial reprogramming (Ocampo 2016: 2 days on, 5 off).

    Each on-day sets every occupied cell's epigenetic age back by
    ``epigenetic_setback_days_per_on_day`` (not below 0; up to ~30 years per full protocol,
    Gill 2022) and may add ``telomere_gain_bp_per_on_day``. A CYCLING or SENESCENT cell
    dedifferentiates fully (becomes PLURIPOTENT) on an on-day with probability
    ``dedifferentiation_probability_per_on_day * exp((k - 1) / identity_loss_days)``, k
    the number of consecutive on-days so far: off-days let identity recover, and under
    continuous induction (``off_days = 0``) the risk keeps growing until the tissue fails:
    continuous induction is lethal (Parras 2023, within about a week in vivo). With the
    defaults the tissue fails about a month into continuous induction, slower than that.
    """

    kind: Literal["partial_reprogramming"] = "partial_reprogramming"
    """The intervention's kind (the TOML ``kind`` key)."""
    start_age_days: float = Field(0.0, ge=0, le=MAX_DAYS)
    """Organism age (days) of the first on-day."""
    end_age_days: float | None = Field(None, ge=0, le=MAX_DAYS)
    """Organism age (days) after which no cycle starts (None: never ends)."""
    on_days: int = Field(2, ge=1, le=MAX_DAYS)
    """Days of induction per cycle."""
    off_days: int = Field(5, ge=0, le=MAX_DAYS)
    """0 = continuous induction."""
    epigenetic_setback_days_per_on_day: float = Field(30.0, ge=0, le=MAX_DAYS)
    """Chosen: 2 on-days a week over a year set back ~8 years, in Gill 2022's range."""
    telomere_gain_bp_per_on_day: float = Field(0.0, ge=0, le=MAX_BP)
    """Telomere added to each occupied cell per on-day (bp; 0: none)."""
    dedifferentiation_probability_per_on_day: float = Field(1e-5, ge=0, le=1)
    """Chosen: small; teratomas are rare under cyclic induction (Ocampo 2016)."""
    identity_loss_days: float = Field(3.0, gt=0, le=MAX_DAYS)
    """e-folding of the dedifferentiation risk with consecutive on-days (chosen; with the
    other defaults a tissue fails ~31 days into continuous induction, against ~1 week to
    death in Parras 2023)."""


class TelomeraseTherapy(_Intervention):
    """A telomerase-activating therapy: from ``start_age_days`` on, the target tissues'
    STEM cells lose ``1 - loss_reduction`` of what they lost per division before (their
    telomerase activity a becomes ``1 - (1 - a) (1 - loss_reduction)``). No human
    telomerase activator has a published effect size on stem-cell attrition: the
    reduction is chosen per scenario."""

    kind: Literal["telomerase_therapy"] = "telomerase_therapy"
    """The intervention's kind (the TOML ``kind`` key)."""
    start_age_days: float = Field(0.0, ge=0, le=MAX_DAYS)
    """Organism age (days) from which the therapy acts."""
    loss_reduction: float = Field(0.5, ge=0, le=1)
    """Share of the STEM cells' loss per division removed (0-1)."""


class StemCellTransplant(_Intervention):
    """A stem-cell transplant at ``age_days``: each slot of the target tissues, with
    probability ``fraction`` (the engrafted share after conditioning), holds a donor cell
    from then on: telomere ``Normal(donor_telomere_mean_bp, donor_telomere_sd_bp)``, no
    divisions, epigenetic age 0, a new clone; STEM in a stem compartment, else CYCLING."""

    kind: Literal["transplant"] = "transplant"
    """The intervention's kind (the TOML ``kind`` key)."""
    age_days: float = Field(ge=0, le=MAX_DAYS)
    """Organism age (days) of the transplant."""
    fraction: float = Field(1.0, gt=0, le=1)
    """Probability that a slot holds a donor cell afterwards (engraftment)."""
    donor_telomere_mean_bp: float = Field(gt=0, le=MAX_BP)
    """Mean telomere of the donor cells (bp)."""
    donor_telomere_sd_bp: float = Field(500.0, ge=0, le=MAX_BP)
    """Spread of the donor cells' telomeres (bp)."""


Intervention = Annotated[
    Senolytic
    | Insult
    | FullReprogramming
    | PartialReprogramming
    | TelomeraseTherapy
    | StemCellTransplant,
    Field(discriminator="kind"),
]


class ImmuneParams(_Strict):
    """One immune system for the whole body (docs/MODEL.md, "One immune system").

    With ``shared``, immune clearance saturates in the body's senescent burden instead of
    each tissue's own: a SENESCENT cell of tissue k is removed at ``r0_k / (1 + S / K)``,
    ``r0_k`` the tissue's ``clearance.rate_per_day`` (how well immune cells reach it), ``S``
    the senescent fraction of the body's cells (each tissue's senescent cells and slots
    weighted by its scale factor ``cells_in_body / n_cells``), ``K`` this
    ``half_saturation_fraction``. A burden anywhere slows clearance everywhere (Karin
    2019's removal ``beta X / (kappa + X)`` acts on the organism's total ``X``). A tissue
    whose clearance does not saturate (``clearance.saturating = false``) keeps ``r0_k``.
    """

    shared: bool = False
    """False (default): each tissue's clearance saturates in its own burden, as before."""
    half_saturation_fraction: float = Field(0.5, gt=0, le=MAX_FACTOR)
    """K of the body (chosen): Karin's kappa = 0.5 in arbitrary units, mapped onto the
    body's senescent fraction as each tissue's K is."""
    tissues: list[str] | None = Field(None, min_length=1)
    """The tissues whose cells make up the body's burden (None: every tissue); e.g. leave
    out anucleate erythrocytes, which cannot senesce but would dilute the fraction."""


class ModelParams(_Strict):
    """Everything an AgingModel needs: tissues, interventions and the run settings."""

    tissues: list[TissueParams] = Field(default_factory=lambda: [TissueParams()], min_length=1)
    """The organism's compartments; the first somatic one is the primary tissue."""
    interventions: list[Intervention] = Field(default_factory=list)
    """Senolytics, insults, reprogramming, therapies, transplants."""
    run: RunParams = Field(default_factory=RunParams)
    """Clock, horizon, recording and stop rule."""
    immune: ImmuneParams = Field(default_factory=ImmuneParams)
    """One immune system for the whole body (off by default)."""

    @model_validator(mode="after")
    def _consistent(self) -> ModelParams:
        names = [t.name for t in self.tissues]
        if len(set(names)) != len(names):
            raise ValueError(f"tissue names must be unique, got {names}")
        kinds = {t.name: t.kind for t in self.tissues}
        for t in self.tissues:
            if t.supply_from is not None:
                if kinds.get(t.supply_from) != "stem":
                    raise ValueError(
                        f"tissue {t.name!r}: supply_from={t.supply_from!r} must name a "
                        f"tissue of kind 'stem' (tissues: {names})"
                    )
        _check_several_tissues(self.tissues)
        for name in self.immune.tissues or []:
            if name not in kinds:
                raise ValueError(f"immune.tissues: {name!r} is not a tissue (tissues: {names})")
        for i, iv in enumerate(self.interventions):
            for name in iv.tissues or []:
                if name not in kinds:
                    raise ValueError(
                        f"interventions.{i}.tissues: {name!r} is not a tissue (tissues: {names})"
                    )
        return self

    def somatic_tissues(self) -> list[str]:
        """Names of the somatic tissues.

        Returns:
            The names, in order.
        """
        return [t.name for t in self.tissues if t.kind == "somatic"]


def _check_several_tissues(tissues: list[TissueParams]) -> None:
    """A model of several tissues needs at least 2 cells in each: a 1-slot tissue's
    arrays are contiguous where the others' are strided views of their records, and the
    kernels take the tissues as one tuple type."""
    if len(tissues) > 1:
        for t in tissues:
            if t.n_cells < 2:
                raise ValueError(
                    f"tissue {t.name!r}: n_cells={t.n_cells}; a model of several tissues "
                    "needs at least 2 cells in each"
                )


def probability(rate_per_day: float, dt_days: float) -> float:
    """Probability of an event of constant hazard over one step: ``1 - exp(-rate * dt)``.

    Args:
        rate_per_day: the hazard (per cell per day).
        dt_days: the step (days).

    Returns:
        The probability (0-1).

    Example:
        >>> from cellsim.engine.params import probability
        >>> round(probability(0.30, 1.0), 4)
        0.2592
    """
    import math

    return -math.expm1(-rate_per_day * dt_days)


def with_overrides(params: ModelParams, overrides: dict[str, Any]) -> ModelParams:
    """A validated copy of ``params`` with some fields replaced.

    Each key is a dotted path whose head is ``run``, a tissue's name, or ``tissues.N``
    (``run.horizon_days``, ``skin.lifespan_days``, ``tissues.0.telomere.loss_mean_bp``),
    or a bare field name, looked up in the run, then the first tissue, then that tissue's
    parameter groups (``lifespan_days``, ``loss_mean_bp``) -- the form ``mesa.batch_run``
    passes. Raises ``KeyError`` for a path that names no field.

    Args:
        params: the parameters to copy.
        overrides: dotted path (or bare field name) -> new value.

    Returns:
        The validated copy (pydantic's ``ValidationError`` for a value out of range).

    Example:
        >>> from cellsim.engine.params import ModelParams, with_overrides
        >>> p = with_overrides(ModelParams(), {"lifespan_days": 360.0, "run.dt_days": 0.5})
        >>> p.tissues[0].lifespan_days, p.run.dt_days
        (360.0, 0.5)
        >>> q = with_overrides(ModelParams(), {"tissue.telomere.loss_mean_bp": 50.0})
        >>> q.tissues[0].telomere.loss_mean_bp
        50.0
    """
    if not overrides:
        return params
    data = params.model_dump()
    names = {t["name"]: i for i, t in enumerate(data["tissues"])}
    for key, value in overrides.items():
        parts = key.split(".")
        head = parts[0]
        if len(parts) > 1 and head in names:
            parts = ["tissues", str(names[head]), *parts[1:]]
        elif len(parts) == 1:
            parts = _resolve_bare(data, key)
        node: Any = data
        for part in parts[:-1]:
            try:
                node = node[list_index(part, node)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError):
                raise KeyError(key) from None
        if not isinstance(node, dict) or parts[-1] not in node:
            raise KeyError(key)
        node[parts[-1]] = value
    return ModelParams.model_validate(data)


def value_at_path(data: dict[str, Any], key: str) -> Any:
    """The value at a dotted path of ``with_overrides`` in a ``ModelParams.model_dump()``.

    Args:
        data: a ``ModelParams.model_dump()``.
        key: a dotted path (``tissue.lifespan_days``, ``run.horizon_days``) or a bare name.

    Returns:
        The value there.

    Example:
        >>> from cellsim.engine.params import ModelParams, value_at_path
        >>> value_at_path(ModelParams().model_dump(), "tissue.telomere.initial_mean_bp")
        9500.0
    """
    parts = key.split(".")
    names = {t["name"]: i for i, t in enumerate(data["tissues"])}
    if len(parts) > 1 and parts[0] in names:
        parts = ["tissues", str(names[parts[0]]), *parts[1:]]
    elif len(parts) == 1:
        parts = _resolve_bare(data, key)
    node: Any = data
    for part in parts:
        node = node[list_index(part, node)] if isinstance(node, list) else node[part]
    return node


def list_index(part: str, items: list[Any]) -> int:
    """A dotted path's list index: plain ASCII digits below ``len(items)``; ``-1``, ``+1``,
    ``1_0`` or an index past the end raise IndexError (Python's ``int`` would take them).

    Args:
        part: one part of a dotted path.
        items: the list it indexes.

    Returns:
        The index.
    """
    if not (part.isascii() and part.isdigit()) or int(part) >= len(items):
        raise IndexError(part)
    return int(part)


def _resolve_bare(data: dict[str, Any], key: str) -> list[str]:
    if key in data["run"]:
        return ["run", key]
    first = data["tissues"][0]
    if key in first:
        return ["tissues", "0", key]
    groups = [g for g, v in first.items() if isinstance(v, dict) and key in v]
    if len(groups) != 1:
        raise KeyError(key)
    return ["tissues", "0", groups[0], key]
