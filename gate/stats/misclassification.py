"""An imperfect detector: the ASR corrected for its measured sensitivity and specificity
(docs/statistics.md §3.12).

A detector with sensitivity se = P(says success | the attack succeeded) and specificity
sp = P(says no success | it did not) turns a true success rate θ into an observed rate

  p = se·θ + (1 − sp)·(1 − θ) = (1 − sp) + J·θ,  J = se + sp − 1 (Youden's index).

So θ = (p + sp − 1)/J (Rogan & Gladen 1978), defined only when J > 0, and every change is scaled
by J: an observed change equals the true change × J. `rogan_gladen` is the point estimate (clipped to
[0, 1]); `corrected_asr_interval` adds an interval that carries the uncertainty of the observed rate
*and* of se and sp, measured on a labelled set of tp/fn positives and tn/fp negatives.

The interval is a Monte Carlo propagation of Jeffreys Beta distributions (§3.12): the observed rate
~ Beta(x + ½, n_eff − x + ½) with n_eff the design-effect-deflated attempts of the clustered Wilson
interval (§3.5), se ~ Beta(tp + ½, fn + ½), sp ~ Beta(tn + ½, fp + ½), each draw mapped through the
clipped Rogan–Gladen formula, draws with se + sp ≤ 1 rejected (a detector no better than chance is
refused before this is ever called), and the equal-tailed percentiles taken. The seed is fixed, so
a report is reproducible. Pure: numpy only, no I/O, no state.
"""
from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np

from ._arrays import scalar

#: Monte Carlo draws of the corrected-ASR interval, and their seed (fixed: reports are reproducible)
CORRECTION_DRAWS = 20_000
CORRECTION_SEED = 20240613


class CorrectedASR(NamedTuple):
    """The ASR corrected for the detector (Rogan–Gladen) with its interval.

    ``observed`` is the detector's rate, ``estimate`` the corrected one (clipped to [0, 1]);
    ``raw`` is the unclipped formula (negative when the observed rate is below the false-positive
    rate 1 − sp). ``rejected`` is the share of draws with se + sp ≤ 1 (left out)."""

    estimate: float
    low: float
    high: float
    confidence: float
    observed: float
    raw: float
    sensitivity: float
    specificity: float
    youden: float
    n_eff: float
    draws: int
    rejected: float
    method: str


def youden(sensitivity, specificity):
    """J = se + sp − 1: the factor by which the detector shrinks every rate difference."""
    return scalar(np.asarray(sensitivity, dtype=float) + np.asarray(specificity, dtype=float) - 1.0)


def rogan_gladen(observed, sensitivity, specificity, clip: bool = True):
    """θ = (p + sp − 1)/(se + sp − 1), clipped to [0, 1] unless ``clip`` is False. Vectorised; NaN
    where se + sp ≤ 1 (the correction is undefined: the detector carries no information)."""
    p = np.asarray(observed, dtype=float)
    se = np.asarray(sensitivity, dtype=float)
    sp = np.asarray(specificity, dtype=float)
    j = se + sp - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = np.where(j > 0, (p + sp - 1.0) / np.where(j > 0, j, 1.0), np.nan)
    if clip:
        theta = np.where(np.isnan(theta), np.nan, np.clip(theta, 0.0, 1.0))
    return scalar(theta)


def rogan_gladen_delta_se(observed: float, n_eff: float, tp: int, fn: int, tn: int, fp: int) -> float:
    """The delta-method standard error of the unclipped Rogan–Gladen estimate:
    √(p(1−p)/n_eff + θ²·se(1−se)/n₊ + (1−θ)²·sp(1−sp)/n₋)/J. Kept for comparison (§3.12): the gate
    does not use it, because a symmetric interval around a clipped estimate near 0 undercovers."""
    n_pos, n_neg = tp + fn, tn + fp
    se, sp = tp / n_pos, tn / n_neg
    j = se + sp - 1.0
    theta = (observed + sp - 1.0) / j
    var = (observed * (1 - observed) / n_eff + theta ** 2 * se * (1 - se) / n_pos
           + (1 - theta) ** 2 * sp * (1 - sp) / n_neg)
    return math.sqrt(max(var, 0.0)) / j


def _check_counts(tp: int, fn: int, tn: int, fp: int) -> None:
    if min(tp, fn, tn, fp) < 0:
        raise ValueError("confusion counts must be non-negative")
    if tp + fn == 0 or tn + fp == 0:
        raise ValueError("sensitivity needs labelled positives and specificity labelled negatives")
    if tp / (tp + fn) + tn / (tn + fp) <= 1.0:
        raise ValueError("sensitivity + specificity ≤ 1: the correction is undefined")


def corrected_asr_interval(observed: float, n_eff: float, tp: int, fn: int, tn: int, fp: int, *,
                           confidence: float = 0.95, draws: int = CORRECTION_DRAWS,
                           seed: int = CORRECTION_SEED) -> CorrectedASR:
    """The corrected ASR of an observed rate ``observed`` worth ``n_eff`` independent attempts, for a
    detector measured with tp/fn (labelled positives) and tn/fp (labelled negatives).

    Two-sided equal-tailed interval at ``confidence`` from ``draws`` Monte Carlo draws of Jeffreys
    Beta distributions (module docstring). ValueError when the counts leave se or sp undefined or
    give se + sp ≤ 1. With n_eff = 0 (nothing judged) the estimate is NaN and the interval [0, 1]."""
    _check_counts(tp, fn, tn, fp)
    if not 0 < confidence < 1:
        raise ValueError("confidence must be between 0 and 1")
    se, sp = tp / (tp + fn), tn / (tn + fp)
    j = se + sp - 1.0
    if not (n_eff > 0 and math.isfinite(observed)):
        return CorrectedASR(math.nan, 0.0, 1.0, confidence, math.nan, math.nan, se, sp, j, 0.0, 0, 0.0,
                            "rogan-gladen, jeffreys monte carlo")
    raw = (observed + sp - 1.0) / j
    rng = np.random.default_rng(seed)
    x = observed * n_eff
    p = rng.beta(x + 0.5, n_eff - x + 0.5, draws)
    se_d = rng.beta(tp + 0.5, fn + 0.5, draws)
    sp_d = rng.beta(tn + 0.5, fp + 0.5, draws)
    j_d = se_d + sp_d - 1.0
    ok = j_d > 0
    if ok.sum() < 100:  # hardly any draw describes a detector better than chance: nothing can be bounded
        return CorrectedASR(min(1.0, max(0.0, raw)), 0.0, 1.0, confidence, float(observed), float(raw), se, sp, j,
                            float(n_eff), draws, float(1 - ok.mean()), "rogan-gladen, jeffreys monte carlo")
    theta = np.clip((p[ok] + sp_d[ok] - 1.0) / j_d[ok], 0.0, 1.0)
    tail = (1 - confidence) / 2
    low, high = (float(v) for v in np.quantile(theta, [tail, 1 - tail]))
    est = min(1.0, max(0.0, raw))
    # the percentiles of a finite sample can miss the point estimate by a hair: keep it inside
    low, high = min(low, est), max(high, est)
    return CorrectedASR(est, low, high, confidence, float(observed), float(raw), se, sp, j, float(n_eff), draws,
                        float(1 - ok.mean()), "rogan-gladen, jeffreys monte carlo")


def corrected_asr(successes: Sequence[float], attempts: Sequence[float], tp: int, fn: int, tn: int, fp: int, *,
                  confidence: float = 0.95, draws: int = CORRECTION_DRAWS,
                  seed: int = CORRECTION_SEED) -> CorrectedASR:
    """`corrected_asr_interval` for per-attack counts: the pooled observed ASR Σx/Σm with the
    effective attempts n_eff of the clustered Wilson interval (attempts deflated by the design
    effect, §3.5), so the correlation of attempts within an attack is carried over."""
    from .intervals import clustered_wilson_interval

    ci = clustered_wilson_interval(successes, attempts, confidence=confidence)
    return corrected_asr_interval(ci.estimate, ci.n_eff, tp, fn, tn, fp, confidence=confidence, draws=draws,
                                  seed=seed)
