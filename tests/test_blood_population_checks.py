"""The blood population's validation checks (cellsim/validation/blood_population.py) on
made-up runs tables: what each criterion judges, without running the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cellsim.validation import load_config
from cellsim.validation.blood_population import BloodPopulationRuns, syndrome_check

YEAR_DAYS = 365.25


def _people(generation: int, n: int, failure_years: float) -> pd.DataFrame:
    """``n`` carriers of ``generation``, every one's marrow failing at ``failure_years``
    (NaN: none fails by the horizon, 150)."""
    return pd.DataFrame(
        {
            "arm": f"carrier_gen{generation}",
            "run_id": [f"carrier_gen{generation}/r{i:03d}" for i in range(n)],
            "generation": generation,
            "hsc.failure_day": failure_years * YEAR_DAYS,
            "end_day": 150.0 * YEAR_DAYS,
        }
    )


def _runs(sizes_and_ages: list[tuple[int, float]]) -> BloodPopulationRuns:
    families = pd.concat(
        [_people(g + 1, n, age) for g, (n, age) in enumerate(sizes_and_ages)], ignore_index=True
    )
    normals = pd.DataFrame(
        {
            "arm": "control",
            "run_id": ["control/r000"],
            "hsc.failure_day": [np.nan],
            "end_day": [150.0 * YEAR_DAYS],
        }
    )
    return BloodPopulationRuns(
        pd.DataFrame(), 0, np.zeros(0), np.zeros((0, 2)), [], families, normals, pd.DataFrame()
    )


@pytest.mark.parametrize(
    ("generations", "passed", "words"),
    [
        # the full run of 2026-12-04: a fourth generation of one person is shown, not judged
        ([(40, 107.0), (40, 41.0), (28, 12.0), (1, 19.0)], True, "generation 4 is shown"),
        # ten of forty families (the chosen quarter) reaching it: judged, and it fails
        ([(40, 107.0), (40, 41.0), (28, 12.0), (10, 19.0)], False, "generation 4: 19.0 (n=10)"),
        ([(40, 107.0), (40, 41.0), (28, 12.0), (10, 5.0)], True, "generation 4: 5.0 (n=10)"),
        # one generation reaching marrow failure is not anticipation
        ([(40, 107.0), (40, np.nan)], False, "generation 2: > horizon"),
    ],
)
def test_anticipation_judges_the_generations_a_quarter_of_the_families_reach(
    tmp_path, generations, passed, words
):
    """Each generation's Kaplan-Meier median is its (single) failure age; the criterion:
    medians fall, at least two reached, among generations with 10 of the 40 families."""
    cfg = load_config()
    assert cfg.blood_population.families == 40
    assert cfg.blood_population.anticipation_min_share == 0.25
    check = syndrome_check(cfg, _runs(generations), tmp_path)
    assert check.passed is passed
    assert words in check.simulated + " ".join(check.notes)
