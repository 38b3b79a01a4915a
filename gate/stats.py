"""Statistics for asr-gate: intervals, the paired per-attack test, multiplicity, planner, boundaries.

Every function here is pure (no I/O, no global state) and returns a named result. The design and
its evidence are in STATISTICS.md; the section numbers below refer to it. In short:

* The unit of analysis is the **attack**, not the attempt (§0, §2). Attempts of one attack are
  correlated, so every interval and test here is clustered by attack.
* The gate's regression test is the **paired per-attack difference** with a cluster-robust (CR1)
  standard error and Student t with K−1 degrees of freedom (`paired_difference`, §3.2), or the
  exact **sign-flip** randomisation test when there are fewer than ~10 attacks (`sign_flip_test`).
* The verdict uses one-sided bounds L (at ``alpha``) and U (at ``pass_alpha``) on the change Δ.
* `holm` / `benjamini_hochberg` adjust p-values; `per_attack_tests` is the exploratory drill-down
  (one-sided Boschloo for n ≤ 100, else Fisher; BH q-values across attacks).
* `plan_*`, `mde`, `predicted_power` are the sample-size planner (§3.6, §3.7).
* `gsd_*` give group-sequential boundaries (§3.8).

Distributions, quantiles and exact tests come from scipy.stats; nothing here re-implements a
special function. Functions that take arrays are vectorised with numpy; `paired_difference` works
along the last axis so that simulations can run thousands of trials in one call.

Conventions: ``alpha`` is always a **one-sided** level. A two-sided 90% interval is the pair of
one-sided 95% bounds. Proportions and differences are fractions (0.05 = 5 points).
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np
from scipy import stats as _st

__all__ = [
    "Interval", "ClusteredInterval", "PairedDifference", "SignFlipResult", "ExactTest", "AttackTests",
    "ClusterMean", "Plan",
    "wilson_interval", "proportion_interval", "zero_success_upper", "icc_anova", "clustered_wilson_interval",
    "clustered_wilson", "cluster_mean_se", "paired_difference", "ratio_contributions", "jeffreys_se",
    "one_sided_bounds", "sign_flip_test",
    "holm", "benjamini_hochberg", "adjust_pvalues", "exact_2x2", "fisher_greater", "per_attack_tests",
    "omega_hat", "within_variance", "variance_of_difference", "plan_attacks", "plan_repeats", "k_min",
    "n_star", "mde", "predicted_power", "plan", "newcombe_interval",
    "gsd_spending_boundaries", "gsd_constant", "gsd_t_critical", "OBF_4_LOOKS_ALPHA_05",
]

#: SE below this is treated as exactly zero (all per-attack differences equal)
_SE_ZERO = 1e-12


# ---------------------------------------------------------------------------------------------
# Named results
# ---------------------------------------------------------------------------------------------

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


class ExactTest(NamedTuple):
    statistic: float
    p_value: float
    method: str


class AttackTests(NamedTuple):
    """Per-attack one-sided tests (candidate worse than baseline) for the exploratory drill-down.

    ``p`` and ``q`` (BH-adjusted across all attacks) are arrays aligned with the input;
    ``method`` holds "boschloo" or "fisher" per attack; ``top`` indexes the most regressed attacks
    (increase in ASR, smallest p first).
    """

    p: np.ndarray
    q: np.ndarray
    method: np.ndarray
    top: np.ndarray


class Plan(NamedTuple):
    """Output of the sample-size planner (§3.7). ``None`` where a quantity is not defined."""

    attacks: int | None          # attacks needed at `repeats` (t-corrected for K < 30)
    attacks_z: int | None        # the same from the normal formula only (the §3.7 table)
    repeats: int | None          # repeats needed at `attacks_given` (None: no number is enough)
    mde: float | None            # minimum detectable effect of the design (attacks_given or attacks, repeats)
    power: float | None          # predicted power of that design against `margin`
    k_min: int                   # attacks needed even with infinitely many repeats
    n_star: float | None         # repeats beyond which extra repeats barely help
    var_d: float                 # Var(D) per attack at `repeats`
    sigma2_w: float              # within-attack variance p(1−p)(1−ICC)
    design_attacks: int | None   # the K used for mde / power
    design_repeats: int          # the n used


# ---------------------------------------------------------------------------------------------
# One proportion
# ---------------------------------------------------------------------------------------------

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


def _scalar(a):
    a = np.asarray(a)
    return float(a) if a.ndim == 0 else a


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
    return Interval(_scalar(est), _scalar(low), _scalar(high), confidence, "wilson")


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


# ---------------------------------------------------------------------------------------------
# ICC and the clustered Wilson interval (§3.5)
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# The paired per-attack test (§3.2, §3.3)
# ---------------------------------------------------------------------------------------------

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
    return _scalar(np.clip(lo, -1, 1)), _scalar(np.clip(hi, -1, 1))


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
            return PairedDifference(_scalar(delta), _scalar(nan), 0.0, _scalar(nan), _scalar(np.ones_like(nan)),
                                    _scalar(np.full_like(nan, -1.0)), _scalar(np.ones_like(nan)), K,
                                    _scalar(rb), _scalar(rc), alpha, pass_alpha,
                                    _scalar(np.zeros(np.shape(delta), bool)))
        e = (c - rc[..., None] * mc) / (Mc / K)[..., None] - (b - rb[..., None] * mb) / (Mb / K)[..., None]
        se = np.sqrt((e * e).sum(-1) / (K * (K - 1)))
        degenerate = se <= _SE_ZERO
        if np.any(degenerate):
            se = np.where(degenerate, jeffreys_se(b, mb, c, mc), se)
        df = K - 1
        stat = (delta - null) / se
        p = _st.t.sf(stat, df)
        low, high = one_sided_bounds(delta, se, df, alpha, pass_alpha)
    return PairedDifference(_scalar(delta), _scalar(se), float(df), _scalar(stat), _scalar(p), _scalar(low),
                            _scalar(high), K, _scalar(rb), _scalar(rc), alpha, pass_alpha, _scalar(degenerate))


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


# ---------------------------------------------------------------------------------------------
# Exact sign-flip test for small K (§3.4)
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Multiplicity
# ---------------------------------------------------------------------------------------------

def _clean_p(p) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    return np.where(np.isnan(p), 1.0, np.clip(p, 0.0, 1.0))


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values (FWER). NaN counts as 1."""
    p = _clean_p(p)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def benjamini_hochberg(p: Sequence[float]) -> np.ndarray:
    """Benjamini–Hochberg (1995) step-up adjusted p-values (q-values, FDR). NaN counts as 1."""
    p = _clean_p(p)
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    ranked = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum(1.0, np.minimum.accumulate(ranked[::-1])[::-1])
    out = np.empty(m)
    out[order] = adj
    return out


def adjust_pvalues(p: Sequence[float], method: str = "holm") -> np.ndarray:
    """``holm``, ``bh`` or ``none``."""
    if method == "holm":
        return holm(p)
    if method == "bh":
        return benjamini_hochberg(p)
    if method == "none":
        return _clean_p(p)
    raise ValueError(f"unknown correction {method!r}")


# ---------------------------------------------------------------------------------------------
# Exact 2×2 tests: the per-attack drill-down (§3.9)
# ---------------------------------------------------------------------------------------------

def exact_2x2(table, alternative: str = "two-sided", method: str = "fisher") -> ExactTest:
    """Fisher, Boschloo or Barnard exact test on a 2×2 table (scipy.stats; columns are the groups).

    For Boschloo and Barnard the p-value depends on scipy's Sobol grid (n = 32): ~1e-3 accuracy."""
    table = np.asarray(table, dtype=np.int64)
    if method == "fisher":
        r = _st.fisher_exact(table, alternative=alternative)
    elif method == "boschloo":
        r = _st.boschloo_exact(table, alternative=alternative)
    elif method == "barnard":
        r = _st.barnard_exact(table, alternative=alternative)
    else:
        raise ValueError(f"unknown exact test {method!r}")
    return ExactTest(float(r.statistic), float(r.pvalue), method)


def fisher_greater(b, mb, c, mc) -> np.ndarray:
    """Vectorised one-sided Fisher exact p for "candidate rate > baseline rate", per attack.

    Equals ``fisher_exact([[c, b], [mc−c, mb−b]], alternative='greater')``: the hypergeometric
    tail P(X ≥ c) with N = mb + mc, b + c successes and mc draws (scipy.stats.hypergeom)."""
    b, mb, c, mc = (np.asarray(a, dtype=np.int64) for a in (b, mb, c, mc))
    return np.clip(_st.hypergeom.sf(c - 1, mb + mc, b + c, mc), 0.0, 1.0)


def _boschloo_greater(b: int, mb: int, c: int, mc: int) -> float:
    r = _st.boschloo_exact(np.array([[c, b], [mc - c, mb - b]]), alternative="greater")
    return float(r.pvalue)


def per_attack_tests(b, mb, c, mc, top: int = 20, max_boschloo_n: int = 100) -> AttackTests:
    """One-sided per-attack tests (candidate worse) with BH q-values across all attacks (§3.9).

    Fisher's exact p (vectorised) for every attack; for the ``top`` most regressed attacks (rate
    increased, smallest Fisher p first) whose attempts are all ≤ ``max_boschloo_n``, Boschloo's
    test, which is uniformly more powerful (its p is never above Fisher's, so every p stays a valid
    p-value). BH q across all attacks. Exploratory only: the gate's verdict never uses these.
    """
    b, mb, c, mc = (np.asarray(a, dtype=np.int64) for a in (b, mb, c, mc))
    K = b.size
    p = fisher_greater(b, mb, c, mc).astype(float)
    method = np.full(K, "fisher", dtype=object)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = c / mc - b / mb
    up = np.flatnonzero(d > 0)
    order = up[np.lexsort((-d[up], p[up]))][:max(0, top)]
    for i in order:
        if mb[i] <= max_boschloo_n and mc[i] <= max_boschloo_n:
            pb = _boschloo_greater(int(b[i]), int(mb[i]), int(c[i]), int(mc[i]))
            if math.isfinite(pb):
                p[i] = min(pb, p[i])
                method[i] = "boschloo"
    q = benjamini_hochberg(p)
    # re-rank after Boschloo (smallest p first, then largest increase)
    order = order[np.lexsort((-d[order], p[order]))] if order.size else order
    return AttackTests(p, q, method, order)


# ---------------------------------------------------------------------------------------------
# ω̂ and the planner (§3.6, §3.7)
# ---------------------------------------------------------------------------------------------

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


def within_variance(p: float, icc: float = 0.0) -> float:
    """σ²_w = p(1−p)(1−ICC): the binomial variance left within an attack."""
    return float(p * (1 - p) * (1 - icc))


def variance_of_difference(omega: float, sigma2_b: float, n_b: float, sigma2_c: float | None = None,
                           n_c: float | None = None) -> float:
    """Var(D_k) = ω² + σ²_w,b/n_b + σ²_w,c/n_c (§2)."""
    sigma2_c = sigma2_b if sigma2_c is None else sigma2_c
    n_c = n_b if n_c is None else n_c
    return float(omega ** 2 + sigma2_b / n_b + sigma2_c / n_c)


def _zsum(alpha: float, power: float) -> float:
    return float(_st.norm.ppf(1 - alpha) + _st.norm.ppf(power))


def _tsum(alpha: float, power: float, df: float) -> float:
    if not df >= 1:  # t_{K-1} needs K >= 2 attacks; NaN here used to crash math.ceil downstream
        raise ValueError(f"t quantiles need at least 1 degree of freedom (2 attacks), got df = {df}")
    return float(_st.t.ppf(1 - alpha, df) + _st.t.ppf(power, df))


def plan_attacks(margin: float, var_d: float, alpha: float = 0.05, power: float = 0.8,
                 t_iteration: bool = True) -> int:
    """Attacks needed: K = ⌈(z₁₋α + z₁₋β)²·Var(D)/δ²⌉, then (if ``t_iteration`` and K < 30) once more
    with t_{K−1} quantiles in place of z (§3.7). At least 2."""
    k = max(2, math.ceil(_zsum(alpha, power) ** 2 * var_d / margin ** 2 - 1e-9))
    if t_iteration and k < 30:
        k = max(2, math.ceil(_tsum(alpha, power, k - 1) ** 2 * var_d / margin ** 2 - 1e-9))
    return int(k)


def k_min(margin: float, omega: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Floor on the attacks needed that no number of repeats can beat: ⌈(z₁₋α+z₁₋β)²ω²/δ²⌉."""
    return int(math.ceil(_zsum(alpha, power) ** 2 * omega ** 2 / margin ** 2 - 1e-9))


def n_star(sigma2_w: float, omega: float) -> float | None:
    """Repeats beyond which extra repeats barely help: n* ≈ 2σ²_w/ω² (None when ω = 0)."""
    return None if omega <= 0 else float(2 * sigma2_w / omega ** 2)


def plan_repeats(margin: float, attacks: int, omega: float, sigma2_w: float, alpha: float = 0.05,
                 power: float = 0.8, use_t: bool = True) -> int | None:
    """Repeats per attack (both runs) needed with K attacks: n = 2σ²_w/(Kδ²/(z₁₋α+z₁₋β)² − ω²).

    Returns None when the denominator is ≤ 0: no number of repeats is enough (K < K_min), and
    likewise when there are fewer than 2 attacks: the gate's test needs K ≥ 2 (with one attack it
    has no degrees of freedom and never rejects). ``use_t`` uses t_{K−1} quantiles in place of z
    for K < 30."""
    if attacks < 2:
        return None
    zs = _tsum(alpha, power, attacks - 1) if (use_t and attacks < 30) else _zsum(alpha, power)
    denom = attacks * margin ** 2 / zs ** 2 - omega ** 2
    if denom <= 0:
        return None
    return int(max(1, math.ceil(2 * sigma2_w / denom - 1e-9)))


def mde(attacks: int, var_d: float, alpha: float = 0.05, power: float = 0.8, use_t: bool = False) -> float:
    """Minimum detectable effect (z₁₋α + z₁₋β)·√(Var(D)/K); with ``use_t``, t_{K−1} quantiles.

    Fewer than 2 attacks: ``inf`` (the gate's test cannot detect anything with one attack)."""
    if attacks < 2:
        return math.inf
    zs = _tsum(alpha, power, attacks - 1) if use_t else _zsum(alpha, power)
    return float(zs * math.sqrt(var_d / attacks))


def predicted_power(effect: float, attacks: int, var_d: float, alpha: float = 0.05, method: str = "auto") -> float:
    """Probability that the one-sided test at ``alpha`` rejects when the true change is ``effect``.

    SE = √(Var(D)/K). ``method``:

    * ``normal``: Φ(effect/SE − z₁₋α), the §3.7 formula (inverse of K = (z₁₋α+z₁₋β)²Var/δ²);
    * ``t``: T_{K−1}(effect/SE − t_{K−1,1−α}), the inverse of the t-iterated sample size;
    * ``nct``: the noncentral t (exact for normally distributed D_k);
    * ``auto`` (default): ``t`` for K < 20, else ``normal``.

    Simulation (bench/calibration.py) chose the switch: at K = 5 the normal formula overstates
    power by up to 17 pp while ``t`` is within ~3 pp; from K = 20 on the normal formula is within
    3 pp in every scenario, while the t forms understate power by 3–5 pp at K = 20, because D is
    right-skewed (its mean and SD are correlated, which helps the t test). `plan_attacks` keeps
    the t iteration below 30 attacks: erring towards more attacks is the safe side there.

    Fewer than 2 attacks: 0 (with one attack the gate's test never rejects).
    """
    if method not in ("auto", "normal", "t", "nct"):
        raise ValueError(f"unknown power method {method!r}")
    if attacks < 2:
        return 0.0
    se = math.sqrt(var_d / attacks)
    if method == "auto":
        method = "t" if attacks < 20 else "normal"
    if se == 0:
        return 1.0 if effect > 0 else float(alpha)
    df = attacks - 1
    if method == "normal":
        return float(_st.norm.sf(_st.norm.ppf(1 - alpha) - effect / se))
    if method == "t":
        return float(_st.t.cdf(effect / se - _st.t.ppf(1 - alpha, df), df))
    if method == "nct":
        return float(_st.nct.sf(_st.t.ppf(1 - alpha, df), df, effect / se))
    raise ValueError(f"unknown power method {method!r}")


def plan(baseline_asr: float, margin: float, omega: float = 0.10, icc: float = 0.0, repeats: int | None = None,
         attacks: int | None = None, alpha: float = 0.05, power: float = 0.8) -> Plan:
    """The planner (§3.7) in one call.

    Var(D) = ω² + 2σ²_w/n with σ²_w = p(1−p)(1−ICC). Given ``repeats`` (default 20) it gives the
    attacks needed; given ``attacks`` it gives the repeats needed (None when no number suffices,
    see ``k_min``, and when ``attacks`` < 2); ``mde`` and ``power`` are for the design (``attacks`` or
    the attacks needed, ``repeats`` or the repeats needed) and None when that design has fewer than
    2 attacks."""
    s2 = within_variance(baseline_asr, icc)
    kmin = k_min(margin, omega, alpha, power)
    nst = n_star(s2, omega)
    rep_needed = None
    if attacks is not None:
        rep_needed = plan_repeats(margin, attacks, omega, s2, alpha, power)
    n = repeats if repeats is not None else (rep_needed if rep_needed is not None else 20)
    var_d = variance_of_difference(omega, s2, n)
    k_z = plan_attacks(margin, var_d, alpha, power, t_iteration=False)
    k_t = plan_attacks(margin, var_d, alpha, power, t_iteration=True)
    design_k = attacks if attacks is not None else k_t
    if design_k is not None and design_k >= 2:
        d_mde = mde(design_k, var_d, alpha, power, use_t=design_k < 30)
        d_pow = predicted_power(margin, design_k, var_d, alpha, method="auto")
    else:
        d_mde = d_pow = None
    return Plan(k_t, k_z, rep_needed, d_mde, d_pow, kmin, nst, var_d, s2, design_k, int(n))


# ---------------------------------------------------------------------------------------------
# Difference of two independent proportions, for display (Newcombe 1998b, method 10)
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Group-sequential boundaries (§3.8)
# ---------------------------------------------------------------------------------------------

#: Lan–DeMets O'Brien–Fleming-type spending, 4 equal looks, one-sided α = 0.05 (STATISTICS.md §3.8)
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
