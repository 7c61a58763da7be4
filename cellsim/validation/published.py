"""The published values the checks compare with, each defined once with its citation.

A check takes its report text (``statement``, ``source``) and the numbers it tests from
here, and passes the same numbers to its figure; nothing else in the package repeats them.
Units are in each constant's name. Tolerances and thresholds the checks add (not published)
are defined, marked *chosen*, next to the check that uses them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cellsim.engine.presets import HSC_DIVISION_INTERVAL_DAYS, HSC_LOSS_BP_PER_YEAR

__all__ = [
    "AUBERT_PERCENTILES",
    "BLOOD_SHARE_OF_TURNOVER",
    "BODY_SCENARIO_TURNOVER",
    "BODY_SENESCENT_BURDEN_RISES",
    "BODY_TURNOVER_CELLS_PER_DAY",
    "CARRIER_APLASTIC_ANEMIA_ONSET_YEARS",
    "CARRIER_PULMONARY_FIBROSIS_ONSET_YEARS",
    "DEATHS_PER_CELL_PER_DAY",
    "HAYFLICK_LIMIT_PD",
    "HERBIG_SENESCENT_FIBROBLAST_FRACTION",
    "HSC_ATTRITION_BP_PER_YEAR",
    "HSC_DIVISION_INTERVAL_WEEKS",
    "KARIN_CONTINUOUS_TIME",
    "KARIN_HALF_LIFE_RISES",
    "KARIN_HALF_SATURATION",
    "KARIN_PRODUCTION_SLOPE_HUMAN",
    "KARIN_PRODUCTION_SLOPE_MOUSE",
    "KARIN_REMOVAL_PER_CELL_PER_DAY",
    "LEUKOCYTE_ATTRITION_BP_PER_YEAR",
    "MITCHELL_CLONALITY",
    "NORMAL_MARROW_FAILURE",
    "PD_PER_KB",
    "PHASE3_SLOWDOWN",
    "PHASE3_SMOOTH_RISE",
    "TBD_DIAGNOSIS_AGE_YEARS",
    "TELOMERE_SPREAD",
    "TURNOVER_SHARE_BY_GROUP",
    "Published",
]


@dataclass(frozen=True)
class Published:
    """A published finding: as the report states it, its citation, and its numbers.

    ``low``-``high`` is a published range, ``value`` (+- ``se``, one standard error) a
    published point value; NaN where the finding has no number. Units: the constant's name.
    """

    statement: str
    source: str
    low: float = math.nan
    high: float = math.nan
    value: float = math.nan
    se: float = math.nan

    @property
    def range(self) -> tuple[float, float]:
        """(low, high)."""
        return self.low, self.high

    @property
    def label(self) -> str:
        """'statement (source)', as in a figure's legend."""
        return f"{self.statement} ({self.source})"


# --- fibroblast strains in culture ------------------------------------------------------
HAYFLICK_LIMIT_PD = Published("40-60 PD", "Hayflick & Moorhead 1961", low=40.0, high=60.0)
PD_PER_KB = Published("7-10 PD/kb", "Allsopp 1992; Allsopp & Harley 1995", low=7.0, high=10.0)
"""Population doublings at senescence gained per kb of initial telomere."""
PHASE3_SLOWDOWN = Published("phase III: growth slows before it stops", "Hayflick & Moorhead 1961")
PHASE3_SMOOTH_RISE = Published(
    "a gradual rise of non-dividing cells over the last passages",
    "Hayflick & Moorhead 1961; Allsopp & Harley 1995",
)
TELOMERE_SPREAD = Published(
    "spread at senescence < spread at early passage", "Allsopp & Harley 1995"
)

# --- whole-body turnover (Sender & Milo 2021) -------------------------------------------
BODY_TURNOVER_CELLS_PER_DAY = Published(
    "(3.3 +- 0.2) x 10^11 cells/day", "Sender & Milo 2021", value=3.3e11, se=0.2e11
)
TURNOVER_SHARE_BY_GROUP: dict[str, float] = {"blood": 0.86, "gut": 0.12, "skin": 0.011}
"""Fraction of the cells replaced per day, by group (Sender & Milo 2021)."""
BLOOD_SHARE_OF_TURNOVER = Published(
    "86% ('close to 90%')", "Sender & Milo 2021", value=TURNOVER_SHARE_BY_GROUP["blood"]
)
DEATHS_PER_CELL_PER_DAY = Published(
    "deaths per cell per day = 1 / lifespan", "Sender & Milo 2021 (lifespans)"
)

# --- the blood system -------------------------------------------------------------------
HSC_DIVISION_INTERVAL_WEEKS = Published(
    "~40 weeks between divisions", "Catlin 2011", value=HSC_DIVISION_INTERVAL_DAYS / 7
)
HSC_ATTRITION_BP_PER_YEAR = Published("~30 bp/year", "Mitchell 2022", value=HSC_LOSS_BP_PER_YEAR)
LEUKOCYTE_ATTRITION_BP_PER_YEAR = Published(
    "23-38 bp/year (cross-sectional 23-25, longitudinal 31-38)",
    "Muezzinler 2013; Chen 2011; Ye 2023",
    low=23.0,
    high=38.0,
)
"""Adult leukocyte attrition: the band spans the cross-sectional and the longitudinal
estimates (individuals range 23-47 bp/year longitudinally)."""

# --- senescent cells' production and removal (Karin et al. 2019) ------------------------
# Karin O, Agrawal A, Porat Z, Krizhanovsky V, Alon U. Nat Commun 2019;10:5495: senescent
# cells X are produced at eta * t and removed at beta * X / (kappa + X), X in arbitrary
# units. Reading X as a fraction of the tissue's slots, and production as a hazard of each
# cycling cell, is the model's choice (docs/MODEL.md), not the paper's.
KARIN_PRODUCTION_SLOPE_HUMAN = Published(
    "eta = 0.00135 per day per year of age (human fit)", "Karin 2019", value=0.00135
)
"""Production's rise with age (1/day per year), used as the stress hazard's age slope."""
KARIN_PRODUCTION_SLOPE_MOUSE = Published(
    "eta = 0.084 per day per year of age (mouse fit)", "Karin 2019", value=0.084
)
"""The mouse fit of the same slope (1/day per year), for reference: not used by a check."""
KARIN_REMOVAL_PER_CELL_PER_DAY = Published(
    "beta / kappa = 0.15 / 0.5 = 0.30 per day (removal per cell at low burden)",
    "Karin 2019",
    value=0.15 / 0.5,
)
KARIN_HALF_SATURATION = Published(
    "kappa = 0.5 (arbitrary units; read as a fraction of slots: chosen)",
    "Karin 2019",
    value=0.5,
)
KARIN_CONTINUOUS_TIME = Published(
    "ds/dt = eta t (1 - s) - r0 s / (1 + s/K) in continuous time (the mapping of X onto the "
    "senescent fraction s chosen)",
    "Karin 2019",
)
"""The equation the simulated senescent fraction must follow at every step size
(analysis/karin_ode.py)."""
KARIN_HALF_LIFE_RISES = Published(
    "senescent cells' half-life: days in young mice, weeks in old ones", "Karin 2019"
)


# --- the blood system of a population (scenarios/blood; data in scenarios/blood/data) ----
AUBERT_PERCENTILES = Published(
    "10th/50th/90th percentiles of lymphocyte and granulocyte telomere length per age bin, "
    "836 healthy people aged 0-102 (flow-FISH)",
    "Aubert 2012",
)
CARRIER_APLASTIC_ANEMIA_ONSET_YEARS = Published(
    "aplastic anaemia at 14 years on average in TERT/TERC families",
    "Parry 2011",
    value=14.0,
)
CARRIER_PULMONARY_FIBROSIS_ONSET_YEARS = Published(
    "pulmonary fibrosis at 51 years on average in the same families (mostly the older generation)",
    "Parry 2011",
    value=51.0,
)
TBD_DIAGNOSIS_AGE_YEARS = Published(
    "telomere biology disorders diagnosed at a median 19.4 years (range 0-71.6; 231 people, "
    "all genes)",
    "Niewisch 2022",
    value=19.4,
    low=0.0,
    high=71.6,
)
NORMAL_MARROW_FAILURE = Published(
    "marrow failure from telomere shortening is a disease of carriers (TERT/TERC mutations "
    "in <5% of marrow failure), not of healthy ageing",
    "Du 2009; Parry 2011",
)
MITCHELL_CLONALITY = Published(
    "under 65 the HSC output is polyclonal (tens of thousands of HSCs contributing evenly); "
    "over 75, 12-18 clones make up 30-60% of it",
    "Mitchell 2022",
)


# --- the whole body (scenarios/body.toml) -----------------------------------------------
BODY_SCENARIO_TURNOVER = Published(
    "the body replaces (3.3 +- 0.2) x 10^11 cells a day: blood 86%, gut 12%, skin 1.1%",
    "Sender & Milo 2021 (Nat Med 27:45)",
    value=BODY_TURNOVER_CELLS_PER_DAY.value,
    se=BODY_TURNOVER_CELLS_PER_DAY.se,
)
"""The whole-body scenario's daily turnover and its shares by group
(``TURNOVER_SHARE_BY_GROUP``); the shares' standard errors are propagated from the
presets' published uncertainties by the check (cellsim/validation/body.py)."""
HERBIG_SENESCENT_FIBROBLAST_FRACTION = Published(
    "dermal fibroblasts with damaged telomeres: ~4% of them at 5 years, over 15% at 30 "
    "(baboons, whose 5-30 years span most of their life)",
    "Herbig 2006 (Science 311:1257); Jeyapalan 2007 (Mech Ageing Dev 128:36)",
    low=0.04,
    high=0.15,
)
"""``low``: the fraction at 5 years; ``high``: at 30 years (Jeyapalan 2007: "over 15%"
in the same animals): a ~4-fold rise over most of a lifespan."""
BODY_SENESCENT_BURDEN_RISES = Published(
    "senescent cells accumulate with age, faster than linearly: their production rises "
    "linearly with age while their removal saturates, so their half-life lengthens from "
    "days to weeks (Karin); in baboon skin, ~4% of dermal fibroblasts at 5 years, over 15% "
    "at 30 (Herbig, Jeyapalan)",
    "Herbig 2006 (Science 311:1257); Jeyapalan 2007 (Mech Ageing Dev 128:36); Karin 2019 "
    "(Nat Commun 10:5495)",
)
