"""Normal laws on a grid of telomere lengths, with mean-preserving ("hat") weights.

Used by :mod:`analysis.meanfield` to put the loss per division and the founders' telomere
lengths on its grid: linear interpolation onto the two neighbouring nodes keeps both the
mass and the mean of the law exactly, so ``loss_mean_bp`` need not be a multiple of the bin.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = ["hat_weights", "loss_kernel", "normal_cdf", "truncated_normal_part"]

_SQRT2PI = math.sqrt(2.0 * math.pi)


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """The standard normal CDF, elementwise."""
    return special.ndtr(z)


def hat_weights(
    nodes: np.ndarray, w: float, mu: float, sd: float, lo: float, hi: float
) -> np.ndarray:
    """``E[hat((X - node) / w); lo <= X < hi]`` for ``X ~ Normal(mu, sd)``, per node.

    ``hat(u) = max(0, 1 - |u|)``: linear interpolation of every value of X onto its two
    neighbouring nodes, which keeps both the mass and the mean of the law on the grid.
    """
    nodes = np.asarray(nodes, dtype=float)
    if sd == 0.0:
        if not lo <= mu < hi:
            return np.zeros_like(nodes)
        return np.maximum(0.0, 1.0 - np.abs(mu - nodes) / w)
    out = np.zeros_like(nodes)
    m = mu - nodes  # the law of X - node: Normal(m, sd)
    # left piece: u in [-w, 0], weight 1 + u/w; right piece: u in [0, w], weight 1 - u/w
    for a, b, slope in ((-w, 0.0, 1.0 / w), (0.0, w, -1.0 / w)):
        ua = np.maximum(a, lo - nodes)
        ub = np.minimum(b, hi - nodes)
        ok = ub > ua
        za = (ua - m) / sd
        zb = (ub - m) / sd
        dF = normal_cdf(zb) - normal_cdf(za)
        # int u f(u) du over [ua, ub] = m dF - sd^2 (f(ub) - f(ua)), f the Normal(m, sd) pdf
        dphi = (np.exp(-0.5 * zb * zb) - np.exp(-0.5 * za * za)) / _SQRT2PI
        du = m * dF - sd * dphi
        out += np.where(ok, dF + slope * du, 0.0)
    return np.maximum(out, 0.0)


def loss_kernel(loss_mean_bp: float, loss_sd_bp: float, bin_bp: float) -> np.ndarray:
    """Probabilities of losing ``j * bin_bp`` (j = 0, 1, ...) at a division, hat-weighted.

    The loss is ``max(0, Normal(mean, sd))``: the negative part is an atom at 0. The
    weights sum to 1 and ``sum_j j * bin_bp * w_j`` equals the exact mean loss.
    """
    top = loss_mean_bp + 10.0 * loss_sd_bp
    n = math.ceil(top / bin_bp) + 2
    j = np.arange(n) * bin_bp
    k = hat_weights(j, bin_bp, loss_mean_bp, loss_sd_bp, 0.0, math.inf)
    if loss_sd_bp > 0:
        k[0] += float(normal_cdf(np.array(-loss_mean_bp / loss_sd_bp)))
    elif loss_mean_bp <= 0:
        k[:] = 0.0
        k[0] = 1.0
    k = k[: np.flatnonzero(k > 1e-16)[-1] + 1]
    return k / k.sum()


def truncated_normal_part(mu: float, sd: float, lo: float, hi: float) -> tuple[float, float]:
    """``(P(lo <= X < hi), E[X; lo <= X < hi])`` for ``X ~ Normal(mu, sd)``."""
    if sd == 0.0:
        return (1.0, mu) if lo <= mu < hi else (0.0, 0.0)
    za, zb = (lo - mu) / sd, (hi - mu) / sd
    p = float(normal_cdf(np.array(zb)) - normal_cdf(np.array(za)))

    def phi(z: float) -> float:
        return 0.0 if math.isinf(z) else math.exp(-0.5 * z * z) / _SQRT2PI

    return p, mu * p - sd * (phi(zb) - phi(za))
