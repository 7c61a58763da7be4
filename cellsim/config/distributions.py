"""Distributions of uncertain or varying parameters, as the TOML files write them.

One model, ``Distribution``, serves sensitivity studies (the inputs), calibrations (the
priors) and scenarios' person-level variation (``[population.parameters]``): a
distribution name and its numbers, and ``ppf`` (the value at a quantile), through which
every sample is drawn.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from cellsim.engine.params import _Strict

UNIT_MARGIN = 1e-3
"""Unbounded distributions (normal) are sampled between these quantiles, so that a design
point at the edge of the unit cube (Morris levels 0 and 1) maps to a finite value."""


class Distribution(_Strict):
    """One uncertain input: ``uniform`` or ``loguniform`` on [low, high], ``normal`` with
    ``mean`` and ``sd``, ``truncnormal`` (``mean``, ``sd`` cut to [low, high]); rounded to
    whole numbers with ``integer = true``."""

    distribution: Literal["uniform", "loguniform", "normal", "truncnormal"] = "uniform"
    """The family: ``uniform``, ``loguniform``, ``normal`` or ``truncnormal``."""
    low: float | None = None
    """Lower bound of ``uniform``, ``loguniform`` (> 0) and ``truncnormal``, in the unit of
    the parameter it varies; not allowed for ``normal``."""
    high: float | None = None
    """Upper bound of ``uniform``, ``loguniform`` and ``truncnormal`` (above ``low``), in
    the unit of the parameter it varies; not allowed for ``normal``."""
    mean: float | None = None
    """Mean of ``normal`` and of the uncut ``truncnormal``, in the unit of the parameter."""
    sd: float | None = Field(None, gt=0)
    """Standard deviation of ``normal`` and of the uncut ``truncnormal``, in the unit of the
    parameter."""
    integer: bool = False
    """Round every value to the nearest whole number (for counts)."""

    @model_validator(mode="after")
    def _complete(self) -> Distribution:
        d = self.distribution
        bounded = d in ("uniform", "loguniform", "truncnormal")
        if bounded and (self.low is None or self.high is None):
            raise ValueError(f"distribution = {d!r} needs low and high")
        if bounded and not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError(f"low = {self.low}, high = {self.high}: must be finite")
        if bounded and not self.low < self.high:
            raise ValueError(f"low = {self.low} must be below high = {self.high}")
        if d == "loguniform" and self.low <= 0:
            raise ValueError(f"low = {self.low}: a loguniform distribution needs low > 0")
        if d in ("normal", "truncnormal") and (self.mean is None or self.sd is None):
            raise ValueError(f"distribution = {d!r} needs mean and sd")
        if d == "normal" and (self.low is not None or self.high is not None):
            raise ValueError("a normal distribution takes no low/high: use 'truncnormal'")
        if d in ("uniform", "loguniform") and (self.mean is not None or self.sd is not None):
            raise ValueError(f"distribution = {d!r} takes low and high, not mean/sd")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """The values at quantiles ``u`` in [0, 1] (the inverse CDF; normal tails are cut at
        UNIT_MARGIN)."""
        from scipy import stats

        u = np.asarray(u, dtype=float)
        d = self.distribution
        if d == "uniform":
            x = self.low + u * (self.high - self.low)
        elif d == "loguniform":
            x = np.exp(np.log(self.low) + u * (np.log(self.high) - np.log(self.low)))
        elif d == "normal":
            x = stats.norm.ppf(np.clip(u, UNIT_MARGIN, 1 - UNIT_MARGIN), self.mean, self.sd)
        else:
            a, b = (self.low - self.mean) / self.sd, (self.high - self.mean) / self.sd
            x = stats.truncnorm.ppf(u, a, b, loc=self.mean, scale=self.sd)
        return np.rint(x) if self.integer else x

    def describe(self) -> str:
        """A short text: ``uniform [40, 100]``, ``normal (mean 1e4, sd 800)``."""
        d = self.distribution
        if d in ("uniform", "loguniform"):
            return f"{d} [{self.low:g}, {self.high:g}]"
        cut = f", cut to [{self.low:g}, {self.high:g}]" if d == "truncnormal" else ""
        return f"{d} (mean {self.mean:g}, sd {self.sd:g}{cut})"
