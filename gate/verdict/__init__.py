"""The verdict: policy + baseline + results → one frozen `Verdict` (docs/architecture.md).

`policy` (what is tolerated), `pairing` (which attacks can be compared), `checks` (is the
measurement trustworthy), `decide` (`compare`: the test of each group, the ceilings, the decision
rule), `advice` (how much more data would settle an inconclusive group), `reasons` (the prose),
`model` (the frozen result every report renders). The verdict imports no view: nothing here
imports gate.report, so reports can only render what was decided.
"""
from __future__ import annotations

from .decide import combine, compare, group_verdicts
from .model import (OVERALL, UNCATEGORISED, VERDICTS, Advice, AttackChange, CeilingResult, Check, GroupResult,
                    Verdict)
from .policy import (CATEGORY_GATES, CEILING_MODES, CORRECTIONS, INCONCLUSIVE_ACTIONS, CategoryPolicy, Policy,
                     PolicyError, load_policy)

__all__ = [
    "Advice", "AttackChange", "CATEGORY_GATES", "CEILING_MODES", "CORRECTIONS", "CategoryPolicy", "CeilingResult",
    "Check", "GroupResult", "INCONCLUSIVE_ACTIONS", "OVERALL", "Policy", "PolicyError", "UNCATEGORISED",
    "VERDICTS", "Verdict", "combine", "compare", "group_verdicts", "load_policy",
]
