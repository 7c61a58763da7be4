"""The kernels' parameter vector: every argument of parameter_vector lands at its layout index."""

from __future__ import annotations

import inspect

from cellsim.kernels import layout
from cellsim.kernels.pack import parameter_vector

# field -> the layout constant the kernels read it from, written out independently
LAYOUT_OF = {
    "dt_days": layout.P_DT_DAYS,
    "death_rate_per_day": layout.P_DEATH_RATE_PER_DAY,
    "transformed_death_rate_per_day": layout.P_TRANSFORMED_DEATH_RATE_PER_DAY,
    "stress_rate_per_day": layout.P_STRESS_RATE_PER_DAY,
    "stress_age_slope_per_day_per_year": layout.P_STRESS_AGE_SLOPE,
    "stress_epigenetic_slope_per_day_per_year": layout.P_STRESS_EPI_SLOPE,
    "clearance_rate_per_day": layout.P_CLEARANCE_RATE_PER_DAY,
    "clearance_half_saturation_fraction": layout.P_CLEARANCE_HALF_SATURATION,
    "loss_mean_bp": layout.P_LOSS_MEAN_BP,
    "loss_sd_bp": layout.P_LOSS_SD_BP,
    "threshold_bp": layout.P_THRESHOLD_BP,
    "telomerase_stem": layout.P_TELOMERASE_STEM,
    "telomerase_pluripotent": layout.P_TELOMERASE_PLURIPOTENT,
    "telomerase_transformed": layout.P_TELOMERASE_TRANSFORMED,
    "transformation_probability": layout.P_TRANSFORMATION_PROBABILITY,
    "transformed_fitness": layout.P_TRANSFORMED_FITNESS,
    "epi_origin_floor_day": layout.P_EPI_ORIGIN_FLOOR_DAY,
    "bystander_per_day": layout.P_BYSTANDER_PER_DAY,
    "redifferentiation_delay_days": layout.P_REDIFFERENTIATION_DELAY_DAYS,
    "teratoma_probability": layout.P_TERATOMA_PROBABILITY,
    "embryonic_telomere_bp": layout.P_EMBRYONIC_TELOMERE_BP,
    "telomere_reset_fraction": layout.P_TELOMERE_RESET_FRACTION,
    "stem_division_rate_per_day": layout.P_STEM_DIVISION_RATE_PER_DAY,
    "childhood_factor": layout.P_CHILDHOOD_FACTOR,
    "childhood_timescale_days": layout.P_CHILDHOOD_TIMESCALE_DAYS,
    "pool_growth_per_day": layout.P_POOL_GROWTH_PER_DAY,
    "amplification_divisions": layout.P_AMPLIFICATION_DIVISIONS,
    "loss_length_slope": layout.P_LOSS_LENGTH_SLOPE,
    "loss_reference_bp": layout.P_LOSS_REFERENCE_BP,
}


def test_every_argument_lands_at_its_layout_index():
    names = list(inspect.signature(parameter_vector).parameters)
    assert sorted(names) == sorted(LAYOUT_OF)
    values = {name: 100.0 + i for i, name in enumerate(names)}  # distinct per field
    p = parameter_vector(**values)
    assert p.shape == (layout.N_PARAMS,)
    for name, index in LAYOUT_OF.items():
        assert p[index] == values[name], name
