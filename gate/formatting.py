"""The one formatter of numbers for people: percentages, points, p-values (one place decides how n/a looks).

It sits beside the pipeline rather than in ``report/`` because the verdict's own reasons are prose that
quotes numbers, and the verdict imports no view (docs/architecture.md).
"""
from __future__ import annotations

import math
from typing import Any


def _missing(x: Any) -> bool:
    return x is None or not math.isfinite(x)


def pct(x: float | None, width: int = 0) -> str:
    """0.123 → '12.3%' (right-aligned in `width` characters when given); None/NaN → 'n/a'."""
    text = "n/a" if _missing(x) else f"{100 * x:.1f}%"
    return text.rjust(width) if width else text


def pts(x: float | None, unit: str = "") -> str:
    """A change in percentage points with its sign: 0.05 → '+5.0' (+ `unit`); None/NaN → 'n/a'."""
    return "n/a" if _missing(x) else f"{100 * x:+.1f}{unit}"


def pvalue(p: float | None, less_than: str = "<", digits: int = 3) -> str:
    """0.0123 → '0.012', tiny → '<0.001' (`less_than` lets Markdown pass '&lt;'); None/NaN → 'n/a'."""
    if _missing(p):
        return "n/a"
    return f"{less_than}0.001" if p < 0.001 else f"{p:.{digits}f}"


def p_phrase(p: float | None) -> str:
    """The p-value as a phrase for prose: 'p = 0.003', 'p < 0.001', 'p n/a'."""
    if _missing(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
