"""The gate's regression test: the paired per-attack change Δ and its bounds (docs/statistics.md §3.2–§3.4).

The unit is the attack: `paired_difference` is the cluster-robust (CR1) ratio estimator with
Student t on K−1 degrees of freedom; with few attacks the exact `sign_flip_test` on the same
per-attack contributions (`ratio_contributions`) replaces it. `omega_hat` estimates how much the
true change varies between attacks, which the planner needs (§3.6).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
from scipy import stats as _st

from ._arrays import scalar

#: SE below this is treated as exactly zero (all per-attack differences equal)
_SE_ZERO = 1e-12


class PairedDifference(NamedTuple):
    """The paired per-attack comparison of a candidate with a baseline (§3.2, §3.3).

    Fields are floats, or numpy arrays when the inputs had extra leading (batch) dimensions.
    ``lower`` is the one-sided (1−alpha) lower bound L, ``upper`` the one-sided (1−pass_alpha)
    upper bound U; both clipped to [−1, 1]. ``p_value`` is one-sided for H0: Δ ≤ ``null``.
    ``degenerate`` marks where the Jeffreys-smoothed fallback SE was used because SE was 0.
    """

    delta: float
    se: float
    df: float
    statistic: float
    p_value: float
    lower: float
    upper: float
    attacks: int
    baseline_asr: float
    candidate_asr: float
    alpha: float
    pass_alpha: float
    degenerate: bool


class SignFlipResult(NamedTuple):
    """Exact sign-flip randomisation test of the mean per-attack difference, and its inverted bounds."""

    delta: float
    statistic: float
    p_value: float
    lower: float
    upper: float
    attacks: int
    patterns: int


def jeffreys_se(b, mb, c, mc):
    """Stratified binomial SE of Δ with Jeffreys-type smoothing p̃ = (x + ½)/(m + 1), along the last axis.

    √(Σ_k [p̃_ck(1−p̃_ck)/m_ck + p̃_bk(1−p̃_bk)/m_bk]) / K. The §3.2 fallback when the CR1 SE is 0."""
    b, mb, c, mc = (np.asarray(a, dtype=float) for a in (b, mb, c, mc))
    K = b.shape[-1]
    pb = (b + 0.5) / (mb + 1)
    pc = (c + 0.5) / (mc + 1)
    return np.sqrt((pc * (1 - pc) / mc + pb * (1 - pb) / mb).sum(axis=-1)) / K


def one_sided_bounds(estimate, se, df, alpha: float = 0.05, pass_alpha: float | None = None):
    """(L, U) = (Δ̂ − t_{df,1−α}·SE, Δ̂ + t_{df,1−pass_alpha}·SE), clipped to [−1, 1]. df = inf gives z."""
    pass_alpha = alpha if pass_alpha is None else pass_alpha
    lo = np.asarray(estimate) - _st.t.ppf(1 - alpha, df) * np.asarray(se)
    hi = np.asarray(estimate) + _st.t.ppf(1 - pass_alpha, df) * np.asarray(se)
    return scalar(np.clip(lo, -1, 1)), scalar(np.clip(hi, -1, 1))


def paired_difference(b, mb, c, mc, alpha: float = 0.05, pass_alpha: float | None = None,
                      null: float = 0.0) -> PairedDifference:
    """Paired per-attack comparison: baseline b/mb vs candidate c/mc (successes/attempts per attack).

    Works along the last axis (attacks); leading axes are independent batches (e.g. simulation
    trials). The estimator is the attempt-weighted ratio estimator (§3.2):

        Δ̂ = Σc/Σm_c − Σb/Σm_b,
        e_k = (c_k − R̂_c m_ck)/m̄_c − (b_k − R̂_b m_bk)/m̄_b,   SE² = Σe²/(K(K−1))   (CR1)

    which matches ASR = successes/attempts and reduces to mean(D) and sd(D)/√K, D_k = c_k/m_c −
    b_k/m_b, when attempts are equal. If SE = 0 (all D_k equal) the Jeffreys-smoothed stratified SE
    (`jeffreys_se`) is used instead. Reference distribution t_{K−1}; one-sided p for H0: Δ ≤ null.
    With K < 2 nothing can be said: p = 1, bounds [−1, 1], SE NaN.
    """
    pass_alpha = alpha if pass_alpha is None else pass_alpha
    b, mb, c, mc = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (b, mb, c, mc)))
    K = b.shape[-1]
    Sb, Mb, Sc, Mc = b.sum(-1), mb.sum(-1), c.sum(-1), mc.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rb, rc = Sb / Mb, Sc / Mc
        delta = rc - rb
        if K < 2:
            nan = np.full(np.shape(delta), np.nan)
            return PairedDifference(scalar(delta), scalar(nan), 0.0, scalar(nan), scalar(np.ones_like(nan)),
                                    scalar(np.full_like(nan, -1.0)), scalar(np.ones_like(nan)), K,
                                    scalar(rb), scalar(rc), alpha, pass_alpha,
                                    scalar(np.zeros(np.shape(delta), bool)))
        e = (c - rc[..., None] * mc) / (Mc / K)[..., None] - (b - rb[..., None] * mb) / (Mb / K)[..., None]
        se = np.sqrt((e * e).sum(-1) / (K * (K - 1)))
        degenerate = se <= _SE_ZERO
        if np.any(degenerate):
            se = np.where(degenerate, jeffreys_se(b, mb, c, mc), se)
        df = K - 1
        stat = (delta - null) / se
        p = _st.t.sf(stat, df)
        low, high = one_sided_bounds(delta, se, df, alpha, pass_alpha)
    return PairedDifference(scalar(delta), scalar(se), float(df), scalar(stat), scalar(p), scalar(low),
                            scalar(high), K, scalar(rb), scalar(rc), alpha, pass_alpha, scalar(degenerate))


def ratio_contributions(b, mb, c, mc) -> np.ndarray:
    """Per-attack contributions d_k whose mean is the ratio estimator Δ̂ of `paired_difference`.

    d_k = Δ̂ + e_k with the linearised residuals e_k = (c_k − R̂_c m_ck)/m̄_c − (b_k − R̂_b m_bk)/m̄_b
    (along the last axis). Their mean is exactly Δ̂ = Σc/Σm_c − Σb/Σm_b, and sd(d)/√K is exactly the
    CR1 SE, so a test on the d_k (the exact sign-flip test for small K) is a test of the same
    estimand, with the same studentised statistic, as the cluster-t test. With equal attempts
    d_k = D_k = c_k/m_c − b_k/m_b, the plain per-attack differences."""
    b, mb, c, mc = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (b, mb, c, mc)))
    K = b.shape[-1]
    if K == 0:
        return np.zeros(b.shape)
    Mb, Mc = mb.sum(-1, keepdims=True), mc.sum(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rb, rc = b.sum(-1, keepdims=True) / Mb, c.sum(-1, keepdims=True) / Mc
        e = (c - rc * mc) / (Mc / K) - (b - rb * mb) / (Mb / K)
    return e + (rc - rb)


_MAX_SIGN_FLIP_K = 20


def _sign_patterns(K: int) -> np.ndarray:
    """All 2^K sign vectors (rows), the first being all +1."""
    idx = np.arange(2 ** K)[:, None]
    bits = (idx >> np.arange(K)[None, :]) & 1
    return 1.0 - 2.0 * bits


def _studentised(x: np.ndarray) -> np.ndarray:
    """Row-wise one-sample t statistic mean/(sd/√K); ±inf when sd = 0 and mean ≠ 0, 0 when both are 0."""
    K = x.shape[-1]
    mean = x.mean(-1)
    sd = x.std(-1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = mean / (sd / math.sqrt(K))
    tiny = sd <= 1e-12 * np.maximum(1.0, np.abs(x).max(-1))
    m = np.round(mean, 12)
    return np.where(tiny, np.where(m > 0, np.inf, np.where(m < 0, -np.inf, 0.0)), t)


def sign_flip_min_attacks(alpha: float) -> int:
    """Smallest K for which the exact sign-flip test can ever reach level ``alpha``: 2^−K ≤ alpha.

    With fewer attacks even the most extreme pattern has p = 2^−K > alpha, so a group that small can
    never be shown to be safe at ``pass_alpha``."""
    return int(math.ceil(math.log2(1 / alpha) - 1e-12))


def sign_flip_test(d: Sequence[float], null: float = 0.0, alpha: float = 0.05,
                   pass_alpha: float | None = None) -> SignFlipResult:
    """Exact sign-flip randomisation test of the mean per-attack difference (one-sided, Δ > null).

    Enumerates all 2^K sign patterns of (D_k − null) and compares the studentised statistic with
    the observed one: p = #{patterns with T* ≥ T_obs}/2^K. Valid when the D_k are symmetric about
    the null, with no normality assumption; used for categories with K < 10 (§3.4).

    ``lower``/``upper`` invert the same test exactly: for a sign-flip test of the mean, the test of
    Δ = θ rejects iff fewer than ⌊α·2^K⌋ of the subset means of D lie at or below θ, so L is the
    ⌊α·2^K⌋-th smallest subset mean and U the ⌊pass_alpha·2^K⌋-th largest (±1 when that index is
    0, i.e. when K is too small to ever reach the level). Hence p ≤ α ⟺ L > null.
    (The studentised statistic is a monotone function of the sum under sign flips, so this equals
    the test on the mean.)
    """
    pass_alpha = alpha if pass_alpha is None else pass_alpha
    d = np.asarray(d, dtype=float)
    K = d.size
    if K == 0:
        return SignFlipResult(math.nan, math.nan, 1.0, -1.0, 1.0, 0, 1)
    if K > _MAX_SIGN_FLIP_K:
        raise ValueError(f"sign_flip_test enumerates 2^K patterns; K = {K} is too large (max {_MAX_SIGN_FLIP_K})")
    signs = _sign_patterns(K)
    x = d - null
    if K == 1:  # no standard deviation from one value: the mean itself is the statistic
        t_obs = float(x[0])
        t_all = signs[:, 0] * x[0]
    else:
        t_obs = float(_studentised(x[None, :])[0])
        t_all = _studentised(signs * x[None, :])
    if math.isinf(t_obs):
        ge = t_all >= t_obs
    else:
        ge = t_all >= t_obs - 1e-9 * max(1.0, abs(t_obs))
    p = float(ge.mean()) if not math.isnan(t_obs) else 1.0
    # exact bounds from the subset means of d (flipped set S = positions with sign -1)
    flipped = signs < 0
    sizes = flipped.sum(1)
    nonempty = sizes > 0
    means = np.round((flipped[nonempty] * d[None, :]).sum(1) / sizes[nonempty], 12)
    means.sort()
    n_pat = 2 ** K
    r_lo = int(math.floor(alpha * n_pat + 1e-9))
    r_hi = int(math.floor(pass_alpha * n_pat + 1e-9))
    lower = float(means[r_lo - 1]) if r_lo >= 1 else -1.0
    upper = float(means[-r_hi]) if r_hi >= 1 else 1.0
    return SignFlipResult(float(d.mean()), t_obs, p, max(-1.0, lower), min(1.0, upper), K, n_pat)


def omega_hat(b, mb, c, mc) -> float:
    """SD across attacks of the true per-attack change (incl. run drift), §3.6.

    ω̂² = max(0, s²_D − (1/K)Σ_k [p̂_bk(1−p̂_bk)/(m_bk−1) + p̂_ck(1−p̂_ck)/(m_ck−1)]). Needs K ≥ 2 and
    at least 2 attempts per attack on both sides (attacks with fewer are left out); else NaN."""
    b, mb, c, mc = (np.asarray(a, dtype=float) for a in (b, mb, c, mc))
    keep = (mb >= 2) & (mc >= 2)
    b, mb, c, mc = b[keep], mb[keep], c[keep], mc[keep]
    if b.size < 2:
        return math.nan
    pb, pc = b / mb, c / mc
    s2 = float(np.var(pc - pb, ddof=1))
    noise = float(np.mean(pb * (1 - pb) / (mb - 1) + pc * (1 - pc) / (mc - 1)))
    return math.sqrt(max(0.0, s2 - noise))
