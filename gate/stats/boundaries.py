"""Group-sequential boundaries for `run --sequential` (docs/statistics.md §3.8).

Lan–DeMets alpha spending and the classical Pocock / O'Brien–Fleming constants, computed by
recursive numerical integration so the stored constants (`OBF_4_LOOKS_ALPHA_05`) can be checked.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats as _st


#: Lan–DeMets O'Brien–Fleming-type spending, 4 equal looks, one-sided α = 0.05 (docs/statistics.md §3.8)
OBF_4_LOOKS_ALPHA_05 = (3.7496, 2.5399, 2.0161, 1.7202)


def _simpson_weights(n: int, h: float) -> np.ndarray:
    w = np.ones(n)
    w[1:-1:2] = 4
    w[2:-1:2] = 2
    return w * h / 3


def _exit_probabilities(info: Sequence[float], lower: Sequence[float], upper: Sequence[float],
                        points: int = 201) -> tuple[np.ndarray, np.ndarray]:
    """P(first exit at look j above / below) for a Brownian motion in the score scale.

    ``lower``/``upper`` are z-scale boundaries (−inf for none). Recursive numerical integration
    (Armitage, McPherson & Rowe 1969; Jennison & Turnbull 2000 ch. 19) with Simpson's rule, using
    scipy.stats.norm for the normal density and tail."""
    info = np.asarray(info, dtype=float)
    up, down = np.zeros(len(info)), np.zeros(len(info))
    grid = w = dens = None
    prev_i = 0.0
    for j, i_j in enumerate(info):
        sd_inc = math.sqrt(i_j - prev_i)
        s_hi = upper[j] * math.sqrt(i_j)
        s_lo = lower[j] * math.sqrt(i_j) if math.isfinite(lower[j]) else -12 * math.sqrt(i_j)
        if j == 0:
            up[j] = _st.norm.sf(upper[j])
            down[j] = _st.norm.cdf(lower[j]) if math.isfinite(lower[j]) else 0.0
            new_grid = np.linspace(s_lo, s_hi, points)
            new_dens = _st.norm.pdf(new_grid, scale=sd_inc)
        else:
            up[j] = float((w * dens * _st.norm.sf((s_hi - grid) / sd_inc)).sum())
            down[j] = float((w * dens * _st.norm.cdf((s_lo - grid) / sd_inc)).sum()) if math.isfinite(lower[j]) else 0.0
            new_grid = np.linspace(s_lo, s_hi, points)
            kernel = _st.norm.pdf((new_grid[:, None] - grid[None, :]) / sd_inc) / sd_inc
            new_dens = kernel @ (w * dens)
        grid, dens = new_grid, new_dens
        w = _simpson_weights(points, grid[1] - grid[0])
        prev_i = i_j
    return up, down


def _spend(t: float, alpha: float, kind: str) -> float:
    if kind == "obf":  # Lan–DeMets O'Brien–Fleming type
        return float(2 * _st.norm.sf(_st.norm.isf(alpha / 2) / math.sqrt(t)))
    if kind == "pocock":  # Lan–DeMets Pocock type
        return float(alpha * math.log(1 + (math.e - 1) * t))
    raise ValueError(f"unknown spending function {kind!r}")


def gsd_spending_boundaries(times: Sequence[float], alpha: float = 0.05, kind: str = "obf") -> tuple[float, ...]:
    """One-sided upper z boundaries from a Lan–DeMets (1983) alpha-spending function.

    ``times`` are the information fractions of the looks (e.g. 0.25, 0.5, 0.75, 1). ``kind``:
    ``obf`` (α(t) = 2 − 2Φ(z_{1−α/2}/√t)) or ``pocock``. At look j the boundary c_j solves
    P(no earlier crossing, Z_j ≥ c_j) = α(t_j) − α(t_{j−1})."""
    from scipy.optimize import brentq

    times = [float(t) for t in times]
    bounds: list[float] = []
    spent = 0.0
    for j, t in enumerate(times):
        target = _spend(t, alpha, kind) - spent
        if j == 0:
            c = float(_st.norm.isf(target))
        else:
            def f(c_j: float) -> float:
                up, _ = _exit_probabilities(times[: j + 1], [-math.inf] * (j + 1), bounds + [c_j])
                return up[j] - target
            c = float(brentq(f, 0.0, 10.0, xtol=1e-7))
        bounds.append(c)
        spent += target
    return tuple(bounds)


def gsd_constant(looks: int, alpha: float = 0.05, kind: str = "pocock", two_sided: bool = True) -> float:
    """Constant C of the classical Pocock (boundary C at every look) or O'Brien–Fleming (boundary
    C·√(K/k) at look k) design with ``looks`` equally spaced looks and total level ``alpha``."""
    from scipy.optimize import brentq

    times = [k / looks for k in range(1, looks + 1)]
    if kind == "pocock":
        shape = [1.0] * looks
    elif kind == "obf":
        shape = [math.sqrt(looks / k) for k in range(1, looks + 1)]
    else:
        raise ValueError(f"unknown design {kind!r}")

    def f(c: float) -> float:
        upper = [c * s for s in shape]
        lower = [-u for u in upper] if two_sided else [-math.inf] * looks
        up, down = _exit_probabilities(times, lower, upper)
        return float(up.sum() + down.sum()) - alpha

    return float(brentq(f, 0.5, 10.0, xtol=1e-7))


def gsd_t_critical(z_bounds: Sequence[float], attacks_per_look: Sequence[int]) -> tuple[float, ...]:
    """Critical values for the cluster-t statistic at each look: t_{K_j−1}.ppf(Φ(c_j)) (§3.8)."""
    return tuple(float(_st.t.ppf(_st.norm.cdf(c), k - 1)) for c, k in zip(z_bounds, attacks_per_look))
