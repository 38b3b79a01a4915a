"""Intervals for one proportion and for a suite's ASR, clustered by attack (docs/statistics.md §3.5).

Attempts of one attack are correlated, so a suite's ASR gets a clustered Wilson interval (attempts
deflated by the design effect), never a pooled one; `newcombe_interval` is for displaying one
attack's change. Vectorised with numpy where the callers need it (simulations).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
from scipy import stats as _st

from ._arrays import scalar


class Interval(NamedTuple):
    """A point estimate with an interval. One-sided intervals have the open side at 0/1 (or ±1)."""

    estimate: float
    low: float
    high: float
    confidence: float
    method: str


class ClusteredInterval(NamedTuple):
    """Wilson interval on the pooled ASR with the attempts deflated by the design effect (§3.5)."""

    estimate: float
    low: float
    high: float
    confidence: float
    icc: float
    deff: float
    n_eff: float
    attacks: int
    attempts: int
    successes: int


class ClusterMean(NamedTuple):
    """One proportion with its cluster-robust SE (Inspect's ``stderr(cluster=...)``) and the naive SE."""

    estimate: float
    se: float
    naive_se: float
    clusters: int


def _z_for(confidence: float, alternative: str) -> float:
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    if alternative == "two-sided":
        return float(_st.norm.ppf(0.5 + confidence / 2))
    if alternative in ("less", "greater"):
        return float(_st.norm.ppf(confidence))
    raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater', not {alternative!r}")


def _wilson(x, n, z):
    """Vectorised Wilson bounds (x may be non-integer when n is an effective size)."""
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        z2 = z * z
        denom = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denom
        half = z / denom * np.sqrt(np.maximum(p * (1 - p) / n + z2 / (4 * n * n), 0.0))
        low = np.clip(centre - half, 0.0, 1.0)
        high = np.clip(centre + half, 0.0, 1.0)
    # exact at the edges (avoid -1e-17 style rounding)
    low = np.where(x <= 0, 0.0, low)
    high = np.where(x >= n, 1.0, high)
    empty = n <= 0
    return np.where(empty, np.nan, p), np.where(empty, 0.0, low), np.where(empty, 1.0, high)


def wilson_interval(successes, n, confidence: float = 0.95, alternative: str = "two-sided") -> Interval:
    """Wilson score interval for one proportion (Wilson 1927).

    ``alternative='less'`` gives the one-sided upper bound (low = 0), ``'greater'`` the one-sided
    lower bound (high = 1). Vectorised: arrays in, arrays out. ``n`` may be non-integer (an
    effective sample size). With n = 0 the estimate is NaN and the interval [0, 1].
    """
    z = _z_for(confidence, alternative)
    est, low, high = _wilson(successes, n, z)
    if alternative == "less":
        low = np.zeros_like(low)
    elif alternative == "greater":
        high = np.ones_like(high)
    return Interval(scalar(est), scalar(low), scalar(high), confidence, "wilson")


def proportion_interval(successes: int, n: int, confidence: float = 0.95, method: str = "wilson",
                        alternative: str = "two-sided") -> Interval:
    """Interval for one proportion: ``wilson``, ``wilsoncc`` (continuity-corrected), ``exact``
    (Clopper–Pearson) or ``wald``. ``exact``/``wilsoncc`` come from `scipy.stats.binomtest`."""
    x, n = int(successes), int(n)
    if n <= 0:
        return Interval(math.nan, 0.0, 1.0, confidence, method)
    if method == "wilson":
        return wilson_interval(x, n, confidence, alternative)._replace(method="wilson")
    if method == "wald":
        z = _z_for(confidence, alternative)
        p = x / n
        half = z * math.sqrt(p * (1 - p) / n)
        low, high = max(0.0, p - half), min(1.0, p + half)
        if alternative == "less":
            low = 0.0
        elif alternative == "greater":
            high = 1.0
        return Interval(p, low, high, confidence, "wald")
    if method in ("exact", "wilsoncc"):
        ci = _st.binomtest(x, n, alternative=alternative).proportion_ci(confidence_level=confidence, method=method)
        return Interval(x / n, float(ci.low), float(ci.high), confidence, method)
    raise ValueError(f"unknown interval method {method!r}")


def zero_success_upper(n: float, alpha: float = 0.05) -> float:
    """Exact one-sided (1−alpha) upper bound on a rate after 0 successes in n trials: 1 − α^{1/n}.

    The "rule of three" (≈ 3/n at alpha = 0.05). ``n`` may be an effective sample size."""
    if n <= 0:
        return 1.0
    return float(1.0 - alpha ** (1.0 / n))


def cluster_mean_se(successes: Sequence[float], attempts: Sequence[float]) -> ClusterMean:
    """Pooled proportion Σx/Σm with its cluster-robust (CR1) SE, clusters = attacks.

    Ratio-estimator residuals e_k = (x_k − R̂ m_k)/m̄, SE² = K/(K−1)·Σe²/K². For one model this is
    Inspect's ``stderr(cluster=...)``; ``naive_se`` is the SE treating attempts as independent
    (sd of the 0/1 scores with ddof=1, over √N)."""
    x = np.asarray(successes, dtype=float)
    m = np.asarray(attempts, dtype=float)
    K, N = x.size, m.sum()
    if K == 0 or N <= 0:
        return ClusterMean(math.nan, math.nan, math.nan, K)
    r = x.sum() / N
    e = (x - r * m) / (N / K)
    se = math.sqrt(float((e * e).sum()) / (K * (K - 1))) if K > 1 else math.nan
    naive = math.sqrt(r * (1 - r) * N / (N - 1) / N) if N > 1 else math.nan
    return ClusterMean(float(r), se, naive, K)


def icc_anova(successes: Sequence[float], attempts: Sequence[float]) -> float:
    """One-way ANOVA estimate of the intra-class correlation of attempts within attacks (§3.5).

    ICĈ = (MSB − MSW)/(MSB + (n₀ − 1)·MSW), MSB = Σ m_k(p̂_k − p̄)²/(K−1), MSW = Σ m_k p̂_k(1−p̂_k)/(N−K),
    n₀ = (N − Σm_k²/N)/(K−1) (= n when every attack has n attempts, which gives exactly the
    formula of §3.5). Attacks with no attempts are ignored. Clipped to [0, 1]. Returns NaN when it
    cannot be estimated (fewer than 2 attacks, or one attempt per attack), and 0 when there is no
    variation at all (e.g. every attempt failed).
    """
    x = np.asarray(successes, dtype=float)
    m = np.asarray(attempts, dtype=float)
    keep = m > 0
    x, m = x[keep], m[keep]
    K = x.size
    N = m.sum()
    if K < 2 or N - K <= 0:
        return math.nan
    p = x / m
    pbar = x.sum() / N
    msb = float((m * (p - pbar) ** 2).sum()) / (K - 1)
    msw = float((m * p * (1 - p)).sum()) / (N - K)
    n0 = (N - float((m * m).sum()) / N) / (K - 1)
    denom = msb + (n0 - 1) * msw
    if denom <= 0:
        return 0.0
    return float(min(1.0, max(0.0, (msb - msw) / denom)))


def clustered_wilson_interval(successes: Sequence[float], attempts: Sequence[float], confidence: float = 0.95,
                              alternative: str = "two-sided", icc: float | None = None) -> ClusteredInterval:
    """Wilson interval for the super-population ASR of a suite, clustered by attack (§3.5).

    n_eff = N/deff with deff = 1 + (n̄ − 1)·ICĈ, n̄ = mean attempts per attack and ICĈ from
    `icc_anova` (pass ``icc`` to use a stored value). The pooled ASR Σx/Σm is kept; the Wilson
    interval is computed with n_eff trials. With zero successes the upper bound is the exact
    1 − α^{1/n_eff} (and symmetrically with all successes), which is slightly wider than Wilson's.

    Never use a pooled Wilson/Clopper–Pearson over all attempts instead: it covered 71–75%, not 95%.
    """
    x = np.asarray(successes, dtype=float)
    m = np.asarray(attempts, dtype=float)
    keep = m > 0
    x, m = x[keep], m[keep]
    K, N, X = int(x.size), float(m.sum()), float(x.sum())
    if K == 0 or N <= 0:
        return ClusteredInterval(math.nan, 0.0, 1.0, confidence, math.nan, 1.0, 0.0, K, 0, 0)
    r = icc_anova(x, m) if icc is None else float(icc)
    r_used = 0.0 if not math.isfinite(r) else min(1.0, max(0.0, r))
    nbar = N / K
    deff = max(1.0, 1.0 + (nbar - 1.0) * r_used)
    n_eff = N / deff
    p = X / N
    z = _z_for(confidence, alternative)
    _, low, high = _wilson(p * n_eff, n_eff, z)
    low, high = float(low), float(high)
    tail = (1 - confidence) / 2 if alternative == "two-sided" else 1 - confidence
    if X == 0:
        high = zero_success_upper(n_eff, tail)
    if X == N:
        low = 1.0 - zero_success_upper(n_eff, tail)
    if alternative == "less":
        low = 0.0
    elif alternative == "greater":
        high = 1.0
    return ClusteredInterval(p, low, high, confidence, r, deff, n_eff, K, int(round(N)), int(round(X)))


#: short alias
clustered_wilson = clustered_wilson_interval


def newcombe_interval(x1: int, n1: int, x2: int, n2: int, confidence: float = 0.95) -> Interval:
    """Newcombe's hybrid score interval for p₁ − p₂ (method 10), built from the two Wilson intervals,
    clipped to [−1, 1]. For display of one attack's change; the gate's test is `paired_difference`."""
    z = _z_for(confidence, "two-sided")
    p1, l1, u1 = (float(v) for v in _wilson(x1, n1, z))
    p2, l2, u2 = (float(v) for v in _wilson(x2, n2, z))
    d = p1 - p2
    low = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Interval(d, max(-1.0, low), min(1.0, high), confidence, "newcombe")
