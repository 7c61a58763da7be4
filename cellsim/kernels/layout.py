"""Layouts shared by the kernels and the Python side: state codes, the parameter vector's
indices and the event counters.

Kernels take plain arrays (Numba compiles them once); these names keep both sides in step.
The state codes are defined here only (``engine.params.CellState`` takes them); the
parameter vector is filled by ``pack.parameter_vector`` only.
"""

from __future__ import annotations

DAYS_PER_YEAR = 365.25
"""Days in a (Julian) year: organism ages in years are ``day / DAYS_PER_YEAR`` everywhere."""

# Cell state codes, as in cellsim.engine.params.CellState (kernels cannot use the IntEnum).
PLURIPOTENT = 0
SENESCENT = 1
EMPTY = 2
CYCLING = 3
STEM = 4
TRANSFORMED = 5
N_STATES = 6

# A tissue's ``seg`` array: the ``N_STATES + 1`` boundaries of the states' segments in
# ``order`` (kernels/segments.py), then one flag.
SEG_PLACED = N_STATES + 1
"""``seg[SEG_PLACED]`` is 1 while ``order`` is the identity: every cell stored at its
place in the state order, so a cell of a state is one record read (a well-mixed tissue
after its event loop, ``segments.place_in_order``); 0 once anything has reordered
``order``."""
SEG_SIZE = N_STATES + 2

# Parameter vector (float64), filled by pack.parameter_vector.
P_DT_DAYS = 0
P_DEATH_RATE_PER_DAY = 1
P_TRANSFORMED_DEATH_RATE_PER_DAY = 2
P_STRESS_RATE_PER_DAY = 3
P_STRESS_AGE_SLOPE = 4  # per day per year of organism age
P_STRESS_EPI_SLOPE = 5  # per day per year of epigenetic age
P_CLEARANCE_RATE_PER_DAY = 6
P_CLEARANCE_HALF_SATURATION = 7
P_LOSS_MEAN_BP = 8
P_LOSS_SD_BP = 9
P_THRESHOLD_BP = 10
P_TELOMERASE_STEM = 11
P_TELOMERASE_PLURIPOTENT = 12
P_TELOMERASE_TRANSFORMED = 13
P_TRANSFORMATION_PROBABILITY = 14
P_TRANSFORMED_FITNESS = 15
P_EPI_ORIGIN_FLOOR_DAY = 16  # no cell's epigenetic clock started before this day
P_BYSTANDER_PER_DAY = 17  # lattice: extra hazard per senescent-neighbour fraction
P_REDIFFERENTIATION_DELAY_DAYS = 18
P_TERATOMA_PROBABILITY = 19
P_EMBRYONIC_TELOMERE_BP = 20
P_TELOMERE_RESET_FRACTION = 21
P_STEM_DIVISION_RATE_PER_DAY = 22  # a stem compartment's own asymmetric divisions (0: none)
P_CHILDHOOD_FACTOR = 23  # that rate at birth relative to adults'
P_CHILDHOOD_TIMESCALE_DAYS = 24  # e-folding of the childhood excess and of pool growth
P_POOL_GROWTH_PER_DAY = 25  # per-cell pool growth rate at birth (symmetric divisions)
P_AMPLIFICATION_DIVISIONS = 26  # progenitor divisions between a stem cell and this tissue
P_DRIVER_PROBABILITY = 27  # per asymmetric stem division: the stem cell gains a driver (0: none)
P_SELECTION_PER_DAY = 28  # a driver (fit) STEM cell's extra symmetric divisions, per day
P_DRIVER_CLONE_BASE = 29  # clone ids >= this mark driver (fit) lineages
P_LOSS_LENGTH_SLOPE = 30  # extra loss per division per bp above P_LOSS_REFERENCE_BP (0: none)
P_LOSS_REFERENCE_BP = 31  # the length at which the loss per division is P_LOSS_MEAN_BP
N_PARAMS = 32

DRIVER_CLONE_BASE = 2**30
"""First clone id of a driver lineage (``P_DRIVER_CLONE_BASE``; the engine passes it in the
parameter vector). A tissue's own ids stay below it: founders ``0 .. n-1``, transplanted
donors ``2n .. 3n-1``, supplied cells ``clone_offset + stem clone`` with ``clone_offset``
the supplied tissue's slots (n <= 10^8, so all < 4 x 10^8 < 2^30); driver lineage ``k`` of
a compartment is ``DRIVER_CLONE_BASE + k`` (int32 holds up to ``2^31 - 1``: 2^30 drivers).
A driver cell's daughters inherit its id, so a driver clone is marked fit by its id alone."""

# Cumulative event counters (int64), one array per tissue; these names reach the tables.
COUNTER_NAMES = (
    "deaths",
    "stress_senescence",
    "replicative_senescence",
    "cleared_immune",
    "cleared_senolytic",
    "cleared_genetic",
    "divisions",
    "transformations",
    "reprogrammed_full",
    "supplied_in",
    "supplied_out",
    "teratomas",
    "dedifferentiated_partial",
    "insult_senescence",
    "killed_off_target",
    "redifferentiated",
)
C = {name: i for i, name in enumerate(COUNTER_NAMES)}
C_DEATHS = C["deaths"]
C_STRESS = C["stress_senescence"]
C_REPLICATIVE = C["replicative_senescence"]
C_CLEARED_IMMUNE = C["cleared_immune"]
C_CLEARED_SENOLYTIC = C["cleared_senolytic"]
C_CLEARED_GENETIC = C["cleared_genetic"]
C_DIVISIONS = C["divisions"]
C_TRANSFORMATIONS = C["transformations"]
C_REPROGRAMMED = C["reprogrammed_full"]
C_SUPPLIED_IN = C["supplied_in"]
C_SUPPLIED_OUT = C["supplied_out"]
C_TERATOMAS = C["teratomas"]
C_DEDIFFERENTIATED = C["dedifferentiated_partial"]
C_INSULT = C["insult_senescence"]
C_OFF_TARGET = C["killed_off_target"]
C_REDIFFERENTIATED = C["redifferentiated"]
N_COUNTERS = len(COUNTER_NAMES)

# Counters after COUNTER_NAMES in a model tissue's array: they reach only the tables of the
# tissues whose process uses them (schema.CLONE_COLUMNS), not every runs row.
EXTRA_COUNTER_NAMES = ("driver_clones",)
C_DRIVER_CLONES = N_COUNTERS  # driver lineages founded so far (also the next one's index)
N_COUNTER_SLOTS = N_COUNTERS + len(EXTRA_COUNTER_NAMES)
