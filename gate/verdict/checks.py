"""Measurement checks: is there something trustworthy to compare at all?

Before any statistics: both runs finished (or the candidate stopped early by its sequential
design), few enough attempts ended in errors, every compared attack has enough judged attempts,
and at least one attack is in both runs. A failed check makes the verdict 'error' (exit 3): a
number computed from a broken measurement must not pass or fail a pull request.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from ..formatting import pct
from ..results.validation import MAX_TOTAL, is_count
from . import reasons
from .model import Check
from .pairing import AttackRow, Pairing
from .policy import Policy


@dataclass
class Measurement:
    """The checks in order, the problems (each a reason of an 'error' verdict), notes for the
    reasons, whether the candidate stopped early by design, and which paired attacks have too few
    judged attempts to be compared."""

    checks: list[Check] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped_early: bool = False
    too_few_attempts: np.ndarray | None = None


def check_measurement(baseline: Mapping[str, Any], candidate: Mapping[str, Any], pairing: Pairing,
                      policy: Policy) -> Measurement:
    m = Measurement()
    _completeness(candidate, pairing.cand, baseline, pairing.base, m)
    _error_rate(pairing.cand, policy, m)
    _min_attempts(pairing, policy, m)
    _something_to_compare(pairing, m)
    return m


def _progress(data: Mapping[str, Any], table: Mapping[str, AttackRow]) -> tuple[int, int | None]:
    """(attempts made, attempts planned or None): made = judged attempts + errors over the attacks."""
    done = sum(v.attempts + v.errors for v in table.values())
    planned = [a.get("planned") for a in data.get("attacks") or () if isinstance(a, Mapping)]
    if planned and all(is_count(p) for p in planned):
        return done, int(sum(planned))
    tot = data.get("totals")
    if isinstance(tot, Mapping) and is_count(tot.get("planned"), MAX_TOTAL):
        return done, int(tot["planned"])
    return done, None


def _completeness(candidate: Mapping[str, Any], cand: Mapping[str, AttackRow], baseline: Mapping[str, Any],
                  base: Mapping[str, AttackRow], m: Measurement) -> None:
    """Both runs must have finished (``complete`` is not false). A candidate stopped early by its
    sequential design (a ``sequential`` block with a decision) is finished by design."""
    for role, data, table in (("candidate", candidate, cand), ("baseline", baseline, base)):
        name = "complete" if role == "candidate" else "baseline_complete"
        if data.get("complete") is not False:
            m.checks.append(Check(name, True, f"the {role} run finished"))
            continue
        done, planned = _progress(data, table)
        seq = data.get("sequential")
        seq = seq if isinstance(seq, Mapping) else {}
        if seq.get("decision"):
            if isinstance(seq.get("attempts_run"), int) and isinstance(seq.get("attempts_planned"), int):
                done, planned = seq["attempts_run"], seq["attempts_planned"]
        made = f"{done} of {planned} planned attempts" if planned is not None else f"{done} attempts"
        look = seq.get("look") if type(seq.get("look")) is int else None
        looks = seq.get("looks_planned") if type(seq.get("looks_planned")) is int else None
        at = f"look {look}" + (f" of {looks}" if looks else "") if look else "a look"
        if seq.get("decision") and role == "candidate":
            m.stopped_early = True
            decision = str(seq["decision"])
            m.checks.append(Check(name, True, f"the candidate run stopped early at {at} (sequential design, "
                                              f"decision {reasons.short(decision, 20)}): {made}"))
            m.notes.append(reasons.stopped_early_note(at, decision, made))
            continue
        m.checks.append(Check(name, False, f"the {role} run did not finish: {made}"))
        if role == "candidate":
            m.problems.append(reasons.unfinished_candidate(made))
        elif seq.get("decision"):
            m.problems.append(reasons.baseline_stopped_early(at, made))
        else:
            m.problems.append(reasons.unfinished_baseline(made))


def _error_rate(cand: Mapping[str, AttackRow], policy: Policy, m: Measurement) -> None:
    judged = sum(v.attempts for v in cand.values())
    errors = sum(v.errors for v in cand.values())
    rate = errors / (judged + errors) if (judged + errors) else 0.0
    ok = rate <= policy.max_error_rate
    m.checks.append(Check("error_rate", ok, f"{errors} of {judged + errors} candidate attempts ended in an error "
                                            f"({pct(rate)}; limit {pct(policy.max_error_rate)})"))
    if not ok:
        m.problems.append(reasons.too_many_errors(rate, policy.max_error_rate))


def _min_attempts(p: Pairing, policy: Policy, m: Measurement) -> None:
    low = (p.mb < policy.min_attempts) | (p.mc < policy.min_attempts)
    n_low = int(low.sum())
    m.too_few_attempts = low
    m.checks.append(Check("min_attempts", n_low == 0,
                          f"{n_low} compared attack(s) with fewer than {policy.min_attempts} judged attempts"))
    if n_low:
        examples = [p.ids[i] for i in np.flatnonzero(low)[:3]]
        m.problems.append(reasons.too_few_attempts(n_low, policy.min_attempts, examples))


def _something_to_compare(p: Pairing, m: Measurement) -> None:
    has_pairs = len(p.ids) > 0
    m.checks.append(Check("paired_attacks", has_pairs, f"{len(p.ids)} attacks in both runs with the same content"))
    if not has_pairs:
        m.problems.append(reasons.NOTHING_TO_COMPARE)
