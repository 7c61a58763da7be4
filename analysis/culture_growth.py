"""Measures of a culture's growth curve: pure functions over its growth table.

A growth table has one row per record of one strain, in time order, with at least ``day``
(days in culture) and ``pd_cumulative`` (cumulative population doublings, PD).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["day_at_pd"]


def day_at_pd(growth: pd.DataFrame, pd_value: float) -> float:
    """The day (days in culture) the cumulative PD first reached ``pd_value`` (PD), linear
    between records; NaN if it never did."""
    pds = growth["pd_cumulative"].to_numpy()
    days = growth["day"].to_numpy()
    hit = np.flatnonzero(pds >= pd_value - 1e-9)
    if hit.size == 0:
        return math.nan
    i = int(hit[0])
    if i == 0 or pds[i] <= pds[i - 1]:
        return float(days[i])
    frac = (pd_value - pds[i - 1]) / (pds[i] - pds[i - 1])
    return float(days[i - 1] + frac * (days[i] - days[i - 1]))
