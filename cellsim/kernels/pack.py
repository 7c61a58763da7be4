"""The kernels' parameter vector: the one function that fills it.

The kernels read a tissue's parameters from a float64 vector indexed by the ``P_*`` names
of ``layout.py``. Every caller (a tissue of the organism model, a culture dish) builds it
here, from rates and lengths with their units, so the layout is written in one place.
"""

from __future__ import annotations

import numpy as np

from .layout import (
    N_PARAMS,
    P_BYSTANDER_PER_DAY,
    P_CLEARANCE_HALF_SATURATION,
    P_CLEARANCE_RATE_PER_DAY,
    P_DEATH_RATE_PER_DAY,
    P_DT_DAYS,
    P_EMBRYONIC_TELOMERE_BP,
    P_EPI_ORIGIN_FLOOR_DAY,
    P_LOSS_MEAN_BP,
    P_LOSS_SD_BP,
    P_REDIFFERENTIATION_DELAY_DAYS,
    P_STRESS_AGE_SLOPE,
    P_STRESS_EPI_SLOPE,
    P_STRESS_RATE_PER_DAY,
    P_TELOMERASE_PLURIPOTENT,
    P_TELOMERASE_STEM,
    P_TELOMERASE_TRANSFORMED,
    P_TELOMERE_RESET_FRACTION,
    P_TERATOMA_PROBABILITY,
    P_THRESHOLD_BP,
    P_TRANSFORMATION_PROBABILITY,
    P_TRANSFORMED_DEATH_RATE_PER_DAY,
    P_TRANSFORMED_FITNESS,
)


def parameter_vector(
    *,
    dt_days: float,
    death_rate_per_day: float,
    transformed_death_rate_per_day: float,
    loss_mean_bp: float,
    loss_sd_bp: float,
    threshold_bp: float,
    telomerase_stem: float,
    telomerase_pluripotent: float,
    telomerase_transformed: float,
    stress_rate_per_day: float = 0.0,
    stress_age_slope_per_day_per_year: float = 0.0,
    stress_epigenetic_slope_per_day_per_year: float = 0.0,
    clearance_rate_per_day: float = 0.0,
    clearance_half_saturation_fraction: float = 0.0,
    transformation_probability: float = 0.0,
    transformed_fitness: float = 1.0,
    epi_origin_floor_day: float = 0.0,
    bystander_per_day: float = 0.0,
    redifferentiation_delay_days: float = 0.0,
    teratoma_probability: float = 0.0,
    embryonic_telomere_bp: float = 0.0,
    telomere_reset_fraction: float = 0.0,
) -> np.ndarray:
    """The float64 vector of ``N_PARAMS`` entries the kernels read (``layout.P_*``).

    Rates are per day, lengths in base pairs, slopes per day per year of (organism or
    epigenetic) age, telomerase activities fractions of the loss they prevent. A process
    whose parameters are left at their defaults does not act (no stress senescence, no
    clearance, no transformation, no bystander effect); a clearance rate needs a
    half-saturation fraction above 0.
    """
    p = np.zeros(N_PARAMS)
    p[P_DT_DAYS] = dt_days
    p[P_DEATH_RATE_PER_DAY] = death_rate_per_day
    p[P_TRANSFORMED_DEATH_RATE_PER_DAY] = transformed_death_rate_per_day
    p[P_STRESS_RATE_PER_DAY] = stress_rate_per_day
    p[P_STRESS_AGE_SLOPE] = stress_age_slope_per_day_per_year
    p[P_STRESS_EPI_SLOPE] = stress_epigenetic_slope_per_day_per_year
    p[P_CLEARANCE_RATE_PER_DAY] = clearance_rate_per_day
    p[P_CLEARANCE_HALF_SATURATION] = clearance_half_saturation_fraction
    p[P_LOSS_MEAN_BP] = loss_mean_bp
    p[P_LOSS_SD_BP] = loss_sd_bp
    p[P_THRESHOLD_BP] = threshold_bp
    p[P_TELOMERASE_STEM] = telomerase_stem
    p[P_TELOMERASE_PLURIPOTENT] = telomerase_pluripotent
    p[P_TELOMERASE_TRANSFORMED] = telomerase_transformed
    p[P_TRANSFORMATION_PROBABILITY] = transformation_probability
    p[P_TRANSFORMED_FITNESS] = transformed_fitness
    p[P_EPI_ORIGIN_FLOOR_DAY] = epi_origin_floor_day
    p[P_BYSTANDER_PER_DAY] = bystander_per_day
    p[P_REDIFFERENTIATION_DELAY_DAYS] = redifferentiation_delay_days
    p[P_TERATOMA_PROBABILITY] = teratoma_probability
    p[P_EMBRYONIC_TELOMERE_BP] = embryonic_telomere_bp
    p[P_TELOMERE_RESET_FRACTION] = telomere_reset_fraction
    return p
