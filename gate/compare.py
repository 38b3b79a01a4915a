"""Shim: removed when the refactor branches merge."""
from __future__ import annotations

import os
from typing import Any

from .formatting import p_phrase, pts
from .results import load_results
from .results.validation import MAX_COUNT, MAX_TOTAL
from .verdict import (CEILING_MODES, CORRECTIONS, INCONCLUSIVE_ACTIONS, OVERALL, UNCATEGORISED, VERDICTS, Advice,
                      AttackChange, CategoryPolicy, CeilingResult, Check, GroupResult, Policy, PolicyError, Verdict,
                      combine, compare, group_verdicts, load_policy)

__all__ = [
    "Advice", "AttackChange", "CEILING_MODES", "CORRECTIONS", "CategoryPolicy", "CeilingResult", "Check",
    "GroupResult", "INCONCLUSIVE_ACTIONS", "MAX_COUNT", "MAX_TOTAL", "OVERALL", "Policy", "PolicyError",
    "UNCATEGORISED", "VERDICTS", "Verdict", "combine", "compare", "group_verdicts", "load_policy", "load_run",
]


def load_run(path: str | os.PathLike, label: str = "results") -> dict[str, Any]:
    """The one loader, `gate.results.load_results(path, strict=False)` (``label`` was never used)."""
    return load_results(path, strict=False)


def _pts(x: float) -> str:
    return pts(x, " points")


_pv = p_phrase
