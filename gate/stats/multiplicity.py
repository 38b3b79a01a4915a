"""p-value adjustment across groups (the gate's family {overall} ∪ categories) and across attacks.

Holm controls the family-wise error rate for the verdict; Benjamini–Hochberg q-values are for the
exploratory per-attack drill-down, where a few false leads are acceptable.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np


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
