"""Plain-text rendering of a `Verdict` for terminals and CI logs.

Every untrusted string (category names, attack ids, reasons that quote them) goes through
`log_escape`, so nothing in a suite file can issue a GitHub workflow command or an ANSI escape.
"""
from __future__ import annotations

import math
import textwrap

from ..formatting import pct, pts, pvalue
from .escape import log_escape

_HEAD = {"pass": "PASS", "warn": "PASS (with a warning)", "fail": "FAIL", "inconclusive": "INCONCLUSIVE",
         "error": "ERROR"}


def _eq(p) -> str:
    s = pvalue(p)
    return s if s.startswith("<") else "=" + s


def _name(s: str, width: int) -> str:
    s = log_escape(s)
    return s if len(s) <= width else s[: width - 1] + "…"


def _verdict(g) -> str:
    """FAIL, PASS, ...; an advisory category (decided in gate.verdict) also says why it does not count."""
    if not g.advisory:
        return g.verdict.upper()
    if g.verdict == "fail":
        return f"FAIL ({g.advisory_label})"
    return f"ADVISORY: {g.advisory_label}"


def render(verdict) -> str:
    """The verdict, its reasons, the per-group table, ceilings and the top regressed attacks."""
    v = verdict
    pol = v.policy
    lines = [f"asr-gate: {_HEAD[v.verdict]}" + (f" — suite {_name(v.suite, 60)}" if v.suite else "")
             + f"  (exit code {v.exit_code})", ""]
    for r in v.reasons:
        wrapped = textwrap.wrap(log_escape(r), width=100) or [""]
        lines.append("  - " + wrapped[0])
        lines.extend("    " + w for w in wrapped[1:])
    groups = ([v.overall] if v.overall else []) + (list(v.categories.values()) if len(v.categories) > 1 else [])
    if groups:
        conf = (f"{100 * (1 - 2 * pol.alpha):.0f}%" if pol.alpha == pol.pass_alpha
                else f"{100 * (1 - pol.alpha):g}/{100 * (1 - pol.pass_alpha):g}%")
        lines += ["", f"  {'group':<24} {'baseline':>8} {'candidate':>9} {'change':>7}  {conf + ' (points)':<20}"
                      f" {'p adj':>7} {'K':>5} {'n':>5} {'MDE':>5}  verdict"]
        for g in groups:
            ci = f"[{pts(g.ci[0])}, {pts(g.ci[1])}]"
            mde = f"{100 * g.mde:5.1f}" if g.mde is not None and math.isfinite(g.mde) else "  n/a"
            name = "OVERALL" if g is v.overall else _name(g.name, 24)
            lines.append(f"  {name:<24} {pct(g.baseline_asr, 6):>8} {pct(g.candidate_asr, 6):>9} {pts(g.delta):>7}  "
                         f"{ci:<20} {pvalue(g.p_value):>7} {g.k:>5} {g.n:>5.0f} {mde}  {_verdict(g)}")
        levels = (f"one-sided alpha {pol.alpha:g}" if pol.alpha == pol.pass_alpha
                  else f"one-sided alpha {pol.alpha:g} to fail, {pol.pass_alpha:g} to pass")
        corrected = [g for g in groups if g.corrected is not None]
        if corrected:
            lines += ["", "  ASR corrected for the detector (Rogan-Gladen; 95% intervals include the detector's own "
                          "uncertainty; the observed table above is what the detector said):"]
            for g in corrected:
                c = g.corrected
                name = "OVERALL" if g is v.overall else _name(g.name, 24)
                lines.append(f"  {name:<24} {pct(c.baseline_asr, 6):>8} [{pct(c.baseline_ci95[0])}, "
                             f"{pct(c.baseline_ci95[1])}] → {pct(c.candidate_asr, 6)} [{pct(c.candidate_ci95[0])}, "
                             f"{pct(c.candidate_ci95[1])}]  change {pts(c.delta)} [{pts(c.ci[0])}, {pts(c.ci[1])}]  "
                             f"sens {c.sensitivity:.3f} spec {c.specificity:.3f} ({_name(c.source, 40)}), "
                             f"observed margin {100 * c.observed_margin:.1f} points")
        tol = v.overall.margin if v.overall is not None else pol.margin
        own = len(groups) > 1 and any(g.margin != tol for g in groups[1:])
        lines.append(f"  ({levels}, tolerance {100 * tol:.1f} points"
                     + (" (categories: their own, from the policy)" if own else "")
                     + (f" on the true scale, {100 * v.overall.decision_margin:.1f} on the observed scale"
                        if v.overall is not None and v.overall.corrected is not None else "")
                     + f", {pol.correction} correction; change and interval in percentage points)")
    if v.ceilings:
        lines += ["", "  ceilings (candidate ASR vs max_asr):"]
        for c in v.ceilings:
            name = "OVERALL" if c.is_overall else _name(c.scope, 24)
            lines.append(f"    {name:<24} {pct(c.candidate_asr, 6)} [{pct(c.ci[0])}, {pct(c.ci[1])}]"
                         f"  max {pct(c.max_asr)}  {c.verdict.upper()}"
                         + (f"  (corrected for the detector; observed {pct(c.observed_asr)})" if c.corrected else ""))
    if v.top_regressed:
        lines += ["", "  most regressed attacks (exploratory, per-attack exact test, BH q across attacks):"]
        for a in v.top_regressed[:10]:
            lines.append(f"    {_name(a.id, 40):<40} {a.baseline_successes}/{a.baseline_attempts} → "
                         f"{a.candidate_successes}/{a.candidate_attempts}  p{_eq(a.p_value)} q{_eq(a.q_value)}")
    extra = []
    if v.changed:
        extra.append(f"{len(v.changed)} changed")
    if v.new:
        extra.append(f"{len(v.new)} new")
    if v.removed:
        extra.append(f"{len(v.removed)} removed")
    if extra:
        lines += ["", f"  attacks: {v.paired} compared; left out: {', '.join(extra)}"]
    return "\n".join(lines) + "\n"
