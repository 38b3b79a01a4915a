"""Exact 2×2 tests: the per-attack drill-down of a comparison (docs/statistics.md §3.9).

Exploratory only: the verdict never uses these. They point a reader at the attacks that regressed
most, with Fisher's p for every attack, Boschloo's (more powerful) for the top ones, and BH q-values.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats as _st

from .multiplicity import benjamini_hochberg


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
