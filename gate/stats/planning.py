"""The sample-size planner: attacks and repeats needed, detectable effect, power (docs/statistics.md §3.6–§3.7).

Var(D) = ω² + σ²_w,b/n_b + σ²_w,c/n_c per attack: ω (how much the true change varies between
attacks) sets a floor on the attacks needed that no number of repeats can beat, which is why the
planner answers in attacks first.
"""
from __future__ import annotations

import math
from typing import NamedTuple

from scipy import stats as _st


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
