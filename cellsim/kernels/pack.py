"""The kernels' parameter vector: the functions that fill it.

The kernels read a tissue's parameters from a float64 vector indexed by the ``P_*`` names
of ``layout.py``. Every caller (a tissue of the organism model, a culture dish) builds it
here: ``parameter_vector``'s arguments are the vector's entries in the layout's order,
with their units; ``set_selection`` then sets a stem compartment's selection entries.
"""

from __future__ import annotations

import numpy as np

from .layout import DRIVER_CLONE_BASE, N_PARAMS, P_DRIVER_PROBABILITY, P_SELECTION_PER_DAY


def parameter_vector(
    *,
    dt_days: float,
    death_rate_per_day: float,
    transformed_death_rate_per_day: float,
    stress_rate_per_day: float,
    stress_age_slope_per_day_per_year: float,
    stress_epigenetic_slope_per_day_per_year: float,
    clearance_rate_per_day: float,
    clearance_half_saturation_fraction: float,
    loss_mean_bp: float,
    loss_sd_bp: float,
    threshold_bp: float,
    telomerase_stem: float,
    telomerase_pluripotent: float,
    telomerase_transformed: float,
    transformation_probability: float,
    transformed_fitness: float,
    epi_origin_floor_day: float,
    bystander_per_day: float,
    redifferentiation_delay_days: float,
    teratoma_probability: float,
    embryonic_telomere_bp: float,
    telomere_reset_fraction: float,
    stem_division_rate_per_day: float = 0.0,
    childhood_factor: float = 1.0,
    childhood_timescale_days: float = 365.25,
    pool_growth_per_day: float = 0.0,
    amplification_divisions: int = 0,
    loss_length_slope: float = 0.0,
    loss_reference_bp: float = 0.0,
) -> np.ndarray:
    """The float64 vector of ``N_PARAMS`` entries the kernels read (``layout.P_*``).

    Rates are per day, lengths in base pairs, slopes per day per year of (organism or
    epigenetic) age, telomerase activities the fraction of the loss they prevent,
    ``bystander_per_day`` the extra stress hazard of a lattice cell with 8 senescent
    neighbours, ``epi_origin_floor_day`` the earliest day an epigenetic clock started.
    A stem compartment's own division clock (``stem_division_rate_per_day`` in adults,
    ``childhood_factor`` times that at birth, the excess and the pool growth rate
    ``pool_growth_per_day`` both decaying as ``exp(-age / childhood_timescale_days)``)
    and a supplied tissue's ``amplification_divisions`` default to "absent": a
    process whose rates are 0 does not act. So is selection in such a compartment
    (``P_DRIVER_PROBABILITY``, ``P_SELECTION_PER_DAY`` 0: set by ``set_selection``);
    ``P_DRIVER_CLONE_BASE`` is ``layout.DRIVER_CLONE_BASE``, the first driver clone id.
    """
    p = np.array(
        [
            dt_days,
            death_rate_per_day,
            transformed_death_rate_per_day,
            stress_rate_per_day,
            stress_age_slope_per_day_per_year,
            stress_epigenetic_slope_per_day_per_year,
            clearance_rate_per_day,
            clearance_half_saturation_fraction,
            loss_mean_bp,
            loss_sd_bp,
            threshold_bp,
            telomerase_stem,
            telomerase_pluripotent,
            telomerase_transformed,
            transformation_probability,
            transformed_fitness,
            epi_origin_floor_day,
            bystander_per_day,
            redifferentiation_delay_days,
            teratoma_probability,
            embryonic_telomere_bp,
            telomere_reset_fraction,
            stem_division_rate_per_day,
            childhood_factor,
            childhood_timescale_days,
            pool_growth_per_day,
            float(amplification_divisions),
            0.0,  # P_DRIVER_PROBABILITY: set_selection
            0.0,  # P_SELECTION_PER_DAY: set_selection
            float(DRIVER_CLONE_BASE),
            loss_length_slope,
            loss_reference_bp,
        ],
        dtype=np.float64,
    )
    assert p.shape[0] == N_PARAMS
    return p


def set_selection(
    p: np.ndarray, *, driver_probability_per_division: float, selection_per_day: float
) -> np.ndarray:
    """Set the selection entries of a stem compartment's vector ``p`` (with a division
    clock) in place and return it: ``P_DRIVER_PROBABILITY``, the chance that an asymmetric
    stem division gives the stem cell a driver, and ``P_SELECTION_PER_DAY``, a driver
    cell's extra symmetric divisions per day (the selective advantage s / 365.25)."""
    p[P_DRIVER_PROBABILITY] = driver_probability_per_division
    p[P_SELECTION_PER_DAY] = selection_per_day
    return p
