"""The verdict's data: what the gate decided, once (docs/architecture.md).

`Verdict` is the single source of truth: the exit code, the check-run conclusion, the reasons and
every report (text, Markdown, JSON, JUnit) are derived from it and never re-decide. Everything is
frozen; ``to_dict`` gives the JSON of ``compare --format json``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from ..formatting import pct, pts
from .policy import Policy

VERDICTS = ("pass", "warn", "fail", "inconclusive", "error")
#: name used for the overall group
OVERALL = "overall"
#: category given to attacks without one
UNCATEGORISED = "uncategorised"


@dataclass(frozen=True)
class CorrectedGroup:
    """A group's rates corrected for the detector's measured sensitivity and specificity (§3.12).

    ``baseline_asr`` / ``candidate_asr`` are Rogan–Gladen estimates with 95% intervals that carry the
    detector's own uncertainty; ``delta`` and ``ci`` are the observed change and bounds divided by
    J = sens + spec − 1 (the verdict's scale: the bounds treat J as known); ``observed_margin`` =
    margin × J is what the observed upper bound was compared with. The observed values stay in the
    `GroupResult`: this never replaces them."""

    source: str
    detector_hash: str
    labelled: int
    sensitivity: float
    specificity: float
    youden: float
    baseline_asr: float
    baseline_ci95: tuple[float, float]
    candidate_asr: float
    candidate_ci95: tuple[float, float]
    delta: float
    ci: tuple[float, float]
    mde: float | None
    observed_margin: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source, "detector_hash": self.detector_hash, "labelled": self.labelled,
            "sensitivity": json_number(self.sensitivity), "specificity": json_number(self.specificity),
            "youden": json_number(self.youden),
            "baseline_asr": json_number(self.baseline_asr),
            "baseline_ci95": [json_number(x) for x in self.baseline_ci95],
            "candidate_asr": json_number(self.candidate_asr),
            "candidate_ci95": [json_number(x) for x in self.candidate_ci95],
            "delta": json_number(self.delta), "ci": [json_number(x) for x in self.ci], "mde": json_number(self.mde),
            "observed_margin": json_number(self.observed_margin), "method": self.method,
        }


@dataclass(frozen=True)
class GroupResult:
    """The paired comparison of one group of attacks (overall or a category).

    ``ci`` = (L, U): L is the one-sided (1−alpha) lower bound on the change, U the one-sided
    (1−pass_alpha) upper bound (with the defaults: the two-sided 90% interval). ``p_raw`` is the
    one-sided p-value of "no increase", ``p_value`` the same adjusted over {overall} ∪ categories.
    ``n`` is the mean number of judged attempts per attack in the candidate run.

    ``can_pass`` is False when the group is too small for any result to reach pass_alpha (the exact
    sign-flip test of K < ``attacks_to_pass`` attacks; docs/statistics.md §3.4). ``advisory`` is True
    for such a category under ``categories_gate: powered``: it is shown and can FAIL, but it does not
    take part in the PASS decision. Views show it with `advisory_label`; they never decide it.

    ``margin`` is the tolerated increase as the policy states it. With a detector accuracy file
    (``corrected`` set) it is on the true scale, and the verdict compared the observed upper bound
    with ``decision_margin`` = margin × (sens + spec − 1) (docs/statistics.md §3.12).
    """

    name: str
    k: int
    n: float
    baseline_successes: int
    baseline_attempts: int
    candidate_successes: int
    candidate_attempts: int
    baseline_asr: float
    candidate_asr: float
    delta: float
    ci: tuple[float, float]
    se: float
    p_raw: float
    p_value: float
    margin: float
    mde: float | None
    method: str
    verdict: str
    can_pass: bool = True
    baseline_ci95: tuple[float, float] | None = None
    candidate_ci95: tuple[float, float] | None = None
    is_overall: bool = False
    advisory: bool = False
    attacks_to_pass: int | None = None
    corrected: CorrectedGroup | None = None

    @property
    def decision_margin(self) -> float:
        """The margin on the observed scale, the one the verdict used: margin × J when corrected."""
        return self.corrected.observed_margin if self.corrected is not None else self.margin

    @property
    def true_delta(self) -> float:
        """The change on the scale of the margin: corrected when the detector's accuracy is known."""
        return self.corrected.delta if self.corrected is not None else self.delta

    @property
    def true_ci(self) -> tuple[float, float]:
        """The bounds on the scale of the margin: corrected when the detector's accuracy is known."""
        return self.corrected.ci if self.corrected is not None else self.ci

    @property
    def advisory_label(self) -> str | None:
        """"too few attacks to judge alone (K=3; needs ≥ 6)" for an advisory group, else None."""
        if not self.advisory:
            return None
        needs = f"; needs ≥ {self.attacks_to_pass}" if self.attacks_to_pass is not None else ""
        return f"too few attacks to judge alone (K={self.k}{needs})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline_asr": json_number(self.baseline_asr), "candidate_asr": json_number(self.candidate_asr),
            "baseline_ci95": None if self.baseline_ci95 is None else [json_number(x) for x in self.baseline_ci95],
            "candidate_ci95": None if self.candidate_ci95 is None else [json_number(x) for x in self.candidate_ci95],
            "delta": json_number(self.delta), "ci": [json_number(self.ci[0]), json_number(self.ci[1])],
            "p_value": json_number(self.p_value), "p_raw": json_number(self.p_raw), "verdict": self.verdict,
            "k": self.k, "n": json_number(self.n), "mde": json_number(self.mde), "margin": json_number(self.margin),
            "se": json_number(self.se), "method": self.method, "can_pass": self.can_pass,
            "advisory": self.advisory, "attacks_to_pass": self.attacks_to_pass, "advisory_label": self.advisory_label,
            "baseline": {"successes": self.baseline_successes, "attempts": self.baseline_attempts},
            "candidate": {"successes": self.candidate_successes, "attempts": self.candidate_attempts},
            "corrected": None if self.corrected is None else self.corrected.to_dict(),
        }


@dataclass(frozen=True)
class CeilingResult:
    """The candidate's absolute ASR against a ceiling (§3.5), clustered Wilson one-sided bounds; corrected
    for the detector (Rogan–Gladen, §3.12) when its accuracy is known (`observed_asr` is then the raw rate)."""

    scope: str
    max_asr: float
    candidate_asr: float
    ci: tuple[float, float]
    icc: float
    n_eff: float
    k: int
    mode: str
    verdict: str
    is_overall: bool = False
    observed_asr: float | None = None  # set when candidate_asr and ci are corrected for the detector (§3.12)

    @property
    def corrected(self) -> bool:
        return self.observed_asr is not None

    def to_dict(self) -> dict[str, Any]:
        out = {"scope": self.scope, "max_asr": self.max_asr, "candidate_asr": json_number(self.candidate_asr),
               "ci": [json_number(self.ci[0]), json_number(self.ci[1])], "icc": json_number(self.icc),
               "n_eff": json_number(self.n_eff), "k": self.k, "mode": self.mode, "verdict": self.verdict,
               "scale": "corrected" if self.corrected else "observed"}
        if self.corrected:
            out["observed_asr"] = json_number(self.observed_asr)
        return out


@dataclass(frozen=True)
class AttackChange:
    """One attack of the exploratory drill-down: per-attack one-sided exact p and BH q."""

    id: str
    category: str
    baseline_successes: int
    baseline_attempts: int
    candidate_successes: int
    candidate_attempts: int
    delta: float
    ci: tuple[float, float]
    p_value: float
    q_value: float
    test: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "category": self.category,
                "baseline": {"successes": self.baseline_successes, "attempts": self.baseline_attempts},
                "candidate": {"successes": self.candidate_successes, "attempts": self.candidate_attempts},
                "delta": json_number(self.delta), "ci": [json_number(self.ci[0]), json_number(self.ci[1])],
                "p_value": json_number(self.p_value), "q_value": json_number(self.q_value), "test": self.test}


@dataclass(frozen=True)
class Check:
    """A measurement-quality check (error budget, attempts per attack, something to compare)."""

    name: str
    ok: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Advice:
    """The planner's answer to "how much more data would settle this group?"."""

    scope: str
    current_attacks: int
    current_repeats: float
    attacks: int | None
    repeats: int | None
    effect: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "current_attacks": self.current_attacks,
                "current_repeats": json_number(self.current_repeats), "attacks": self.attacks,
                "more_attacks": None if self.attacks is None else max(0, self.attacks - self.current_attacks),
                "repeats": self.repeats, "effect": json_number(self.effect), "text": self.text}


@dataclass(frozen=True)
class Verdict:
    """Everything the gate decided, once. Reports render it; nothing re-decides."""

    verdict: str
    reasons: tuple[str, ...]
    overall: GroupResult | None
    categories: Mapping[str, GroupResult]
    ceilings: tuple[CeilingResult, ...]
    changed: tuple[str, ...]
    new: tuple[str, ...]
    removed: tuple[str, ...]
    top_regressed: tuple[AttackChange, ...]
    checks: tuple[Check, ...]
    advice: tuple[Advice, ...]
    policy: Policy
    suite: str | None = None
    paired: int = 0
    detector_changed: bool = False

    @property
    def exit_code(self) -> int:
        """0 pass/warn (and inconclusive unless the policy says fail), 1 fail, 3 error."""
        if self.verdict == "error":
            return 3
        if self.verdict == "fail":
            return 1
        if self.verdict == "inconclusive" and self.policy.on_inconclusive == "fail":
            return 1
        return 0

    @property
    def conclusion(self) -> str:
        """GitHub check-run conclusion: success, failure or neutral."""
        if self.verdict in ("pass", "warn"):
            return "success"
        if self.verdict in ("fail", "error"):
            return "failure"
        action = {"neutral": "neutral", "warn": "success", "pass": "success", "fail": "failure"}
        return action[self.policy.on_inconclusive]

    @property
    def notice(self) -> str | None:
        """A notice to attach to a successful check (warn, or inconclusive with on_inconclusive=warn)."""
        if self.verdict == "warn" or (self.verdict == "inconclusive" and self.policy.on_inconclusive == "warn"):
            return self.reasons[0] if self.reasons else self.verdict
        return None

    @property
    def title(self) -> str:
        """One-line summary for a check-run title or a log line (contains no untrusted text)."""
        head = {"pass": "PASS", "warn": "PASS with warning", "fail": "FAIL", "inconclusive": "INCONCLUSIVE",
                "error": "ERROR"}[self.verdict]
        o = self.overall
        if o is None:
            return f"asr-gate: {head}"
        return f"asr-gate: {head} (ASR {pct(o.baseline_asr)} → {pct(o.candidate_asr)}, {pts(o.delta, ' points')})"

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``compare --format json`` (docs/architecture.md)."""
        return {
            "schema": "asr-gate/verdict/v1",
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "conclusion": self.conclusion,
            "title": self.title,
            "reasons": list(self.reasons),
            "suite": self.suite,
            "overall": self.overall.to_dict() if self.overall else None,
            "categories": {k: v.to_dict() for k, v in self.categories.items()},
            "ceilings": [c.to_dict() for c in self.ceilings],
            "attacks": {"paired": self.paired, "changed": list(self.changed), "new": list(self.new),
                        "removed": list(self.removed)},
            "top_regressed": [a.to_dict() for a in self.top_regressed],
            "checks": [c.to_dict() for c in self.checks],
            "advice": [a.to_dict() for a in self.advice],
            "detector_changed": self.detector_changed,
            "policy": self.policy.to_dict(),
        }


def json_number(x: Any) -> Any:
    """JSON-safe number: numpy → float, NaN/inf → None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None
