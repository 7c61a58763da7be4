"""The kernels' parameter vector: the one place that fills it.

The kernels read a tissue's parameters from a float64 vector indexed by the ``P_*`` names
of ``layout.py``. Every caller (a tissue of the organism model, a culture dish) describes
its parameters as a ``KernelParameters``, whose fields are the vector's entries in the
layout's order, with their units; ``vector()`` packs them.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

import numpy as np


@dataclass(frozen=True, kw_only=True)
class KernelParameters:
    """A tissue's parameters as the kernels read them, in ``layout.P_*`` order.

    Rates are per day, lengths in base pairs, slopes per day per year of (organism or
    epigenetic) age, telomerase activities the fraction of the loss they prevent. A process
    whose parameters keep their defaults does not act (no stress senescence, clearance,
    transformation or bystander effect).
    """

    dt_days: float
    """Step length."""
    death_rate_per_day: float
    """Turnover of CYCLING, STEM and PLURIPOTENT cells."""
    transformed_death_rate_per_day: float
    stress_rate_per_day: float = 0.0
    """Stress senescence of CYCLING cells: base hazard, then its slopes with age."""
    stress_age_slope_per_day_per_year: float = 0.0
    stress_epigenetic_slope_per_day_per_year: float = 0.0
    clearance_rate_per_day: float = 0.0
    """Immune clearance of SENESCENT cells at low burden, and its half-saturation burden."""
    clearance_half_saturation_fraction: float = 1.0
    loss_mean_bp: float
    """Telomere lost per daughter per division: mean, SD; the critical length."""
    loss_sd_bp: float
    threshold_bp: float
    telomerase_stem: float
    """Fraction of the loss that telomerase prevents, by state."""
    telomerase_pluripotent: float
    telomerase_transformed: float
    transformation_probability: float = 0.0
    """Per division of a CYCLING parent; a TRANSFORMED parent's weight as a parent."""
    transformed_fitness: float = 1.0
    epi_origin_floor_day: float = 0.0
    """No epigenetic clock started before this day."""
    bystander_per_day: float = 0.0
    """Lattice: extra stress hazard at 8 senescent neighbours."""
    redifferentiation_delay_days: float = 0.0
    """Pluripotent cells: delay, teratoma risk, telomere target and reset fraction."""
    teratoma_probability: float = 0.0
    embryonic_telomere_bp: float = 0.0
    telomere_reset_fraction: float = 0.0

    def vector(self) -> np.ndarray:
        """The float64 vector the kernels take (``layout.N_PARAMS`` entries)."""
        return np.array(astuple(self), dtype=np.float64)
