"""The planner's advice for an inconclusive group: how much more data would likely settle it
(docs/statistics.md §3.6–§3.7)."""
from __future__ import annotations

import math

import numpy as np

from .. import stats
from . import reasons
from .model import Advice, GroupResult
from .policy import Policy


def _within_variance(x: np.ndarray, m: np.ndarray) -> float:
    """Mean unbiased per-attack binomial variance over attacks with at least 2 attempts (NaN if none)."""
    keep = m >= 2
    if not keep.any():
        return math.nan
    return float(np.mean((x / m * (1 - x / m) * m / (m - 1))[keep]))


def advise(g: GroupResult, b: np.ndarray, mb: np.ndarray, c: np.ndarray, mc: np.ndarray,
           policy: Policy) -> Advice | None:
    """Advice for group ``g`` from its attacks' counts (b/mb baseline, c/mc candidate); None when
    the group has too little data to plan from.

    Plans for the true change being what was measured: to pass, the upper bound must get below the
    margin (distance δ − Δ̂); to show a regression, the lower bound above 0 (distance Δ̂). The nearer
    decision sets the effect size, never less than half the margin. Everything is on the observed
    scale, the test's: with a detector accuracy file the margin is margin × J (§3.12)."""
    if g.k < 2 or not math.isfinite(g.se):
        return None
    margin = g.decision_margin
    d_pos = max(g.delta, 0.0)
    effect = max(margin - d_pos, d_pos, margin / 2)
    var_d = g.se ** 2 * g.k
    a = min(policy.alpha, policy.pass_alpha)
    k_need = stats.plan_attacks(effect, var_d, a, policy.power)
    s2b, s2c = _within_variance(b, mb), _within_variance(c, mc)
    om = stats.omega_hat(b, mb, c, mc)
    reps = None
    if all(math.isfinite(v) for v in (s2b, s2c, om)):
        reps = stats.plan_repeats(effect, g.k, om, (s2b + s2c) / 2, a, policy.power)
    if not g.can_pass:
        k_min = g.attacks_to_pass or stats.sign_flip_min_attacks(policy.pass_alpha)
        k = max(k_need, k_min)
        return Advice(g.name, g.k, g.n, k, None, effect, reasons.advice_too_few_attacks(g, k_min, k))
    return Advice(g.name, g.k, g.n, k_need, reps, effect, reasons.advice_more_data(g, k_need, reps))
