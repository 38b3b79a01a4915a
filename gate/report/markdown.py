"""Markdown rendering of a `Verdict` for the sticky PR comment, the job summary and the check run.

Layout: a headline with the verdict mark, the reasons in plain words, one table (overall first,
then every category: baseline → candidate ASR, change in points, the interval (the one-sided bounds L and U), the adjusted
p-value, attacks × repeats, MDE, verdict mark; an advisory category shows its `advisory_label`), with a
detector accuracy file in the policy a second table "ASR (corrected for the detector)" beside it (the
observed table is never replaced), the ceilings, the planner's advice when the result is inconclusive (once: its sentences are not repeated
among the reasons), the most regressed attacks (exploratory) in a ``<details>`` block, the
changed/new/removed attacks, and a Mermaid ``xychart-beta`` of baseline vs candidate per category.

Everything that comes from a file (category names, attack ids, suite id, and the reasons, which
quote them) goes through `md_escape`; chart labels through `mermaid_label`. The output is kept
below ``max_chars`` (GitHub's comment limit is 65,536) by dropping the least important sections
and table rows first, with a visible note, and never cutting inside a block.
"""
from __future__ import annotations

import math

from ..formatting import pct, pts, pvalue
from .escape import md_escape, mermaid_label

MARK = {"pass": "✅", "warn": "⚠️", "fail": "❌", "inconclusive": "❔", "error": "⛔"}
ADVISORY_MARK = "ℹ️"
HEAD = {"pass": "PASS", "warn": "PASS with a warning", "fail": "FAIL", "inconclusive": "INCONCLUSIVE",
        "error": "ERROR (could not measure)"}
#: default size budget (GitHub: 65,536 for a comment; leave room for the sticky marker and a footer)
MAX_CHARS = 60_000
MAX_CATEGORY_ROWS = 60
MAX_CHART_CATEGORIES = 20
MAX_LISTED_IDS = 30


def _level(conf: float) -> str:
    """0.95 → '95%', 0.975 → '97.5%'."""
    return f"{100 * conf:.1f}".rstrip("0").rstrip(".") + "%"


def _verdict_cell(g) -> str:
    """The verdict mark of a group; an advisory category (decided in gate.verdict) says why it does not
    count towards a PASS."""
    if not g.advisory:
        return f"{MARK[g.verdict]} {g.verdict}"
    if g.verdict == "fail":
        return f"{MARK['fail']} fail ({g.advisory_label})"
    return f"{ADVISORY_MARK} advisory: {g.advisory_label}"


def _group_row(g, overall: bool) -> str:
    name = "**Overall**" if overall else md_escape(g.name, 60)
    ci = f"{pts(g.ci[0])} to {pts(g.ci[1])}"
    mde = f"{100 * g.mde:.1f}" if g.mde is not None and math.isfinite(g.mde) else "n/a"
    p = pvalue(g.p_value, "&lt;") + (" ‡" if g.method.startswith("sign-flip") else "")
    return (f"| {name} | {pct(g.baseline_asr)} | {pct(g.candidate_asr)} | {pts(g.delta)} | {ci} | {p} | "
            f"{g.k} × {g.n:.0f} | {mde} | {_verdict_cell(g)} |")


def _kind(g) -> str:
    """A row's kind for ordering and counting: its verdict, or 'advisory' for an advisory category
    that did not fail."""
    return "advisory" if g.advisory and g.verdict != "fail" else g.verdict


def _main_table(v) -> tuple[str, int]:
    pol = v.policy
    level = (f"{100 * (1 - 2 * pol.alpha):.0f}% interval" if pol.alpha == pol.pass_alpha
             else f"{_level(1 - pol.alpha)} / {_level(1 - pol.pass_alpha)} bounds")
    padj = {"holm": "p (Holm-adjusted)", "bh": "p (BH-adjusted)", "none": "p"}[pol.correction]
    rows = ["| Group | Baseline ASR | Candidate ASR | Change (points) | " + level + " (points) | " + padj
            + " | Attacks × repeats | MDE (points) | Verdict |",
            "|:--|--:|--:|--:|:--|--:|--:|--:|:--|"]
    rows.append(_group_row(v.overall, True))
    cats = list(v.categories.values()) if len(v.categories) > 1 else []
    order = {"fail": 0, "warn": 1, "inconclusive": 2, "pass": 3, "advisory": 4}
    shown = sorted(cats, key=lambda g: (order.get(_kind(g), 5), g.name))[:MAX_CATEGORY_ROWS]
    shown.sort(key=lambda g: g.name)
    rows.extend(_group_row(g, False) for g in shown)
    kept = {id(g) for g in shown}
    hidden = [g for g in cats if id(g) not in kept]
    return "\n".join(rows), hidden


def _hidden_note(hidden) -> str:
    """"_12 more categories are not shown (10 passed, 2 inconclusive)._" (rows are kept by severity)."""
    words = {"pass": "passed", "warn": "passed with a warning", "inconclusive": "inconclusive", "fail": "failed",
             "advisory": "advisory (too few attacks to judge alone)", "error": "error"}
    counts: dict[str, int] = {}
    for g in hidden:
        counts[_kind(g)] = counts.get(_kind(g), 0) + 1
    parts = ", ".join(f"{n} {words.get(k, k)}" for k, n in sorted(counts.items(),
                      key=lambda kv: list(words).index(kv[0]) if kv[0] in words else 99))
    noun = "category is" if len(hidden) == 1 else "categories are"
    return f"_{len(hidden)} more {noun} not shown ({parts}); see the JSON report._"


def _corrected_table(v) -> str | None:
    """"ASR (corrected for the detector)": the groups the policy gives a detector accuracy for, beside
    (never instead of) the observed table: Rogan–Gladen ASRs with intervals that include the detector's
    own uncertainty, the change on the true scale, and the margin as the verdict applied it."""
    groups = [v.overall] + (list(v.categories.values()) if len(v.categories) > 1 else [])
    groups = [g for g in groups if g is not None and g.corrected is not None]
    if not groups:
        return None
    rows = ["**ASR (corrected for the detector)** — the table above counts what the detector said. These rows "
            "estimate the true rates from the detector's measured sensitivity and specificity (Rogan–Gladen); "
            "their 95% intervals include the detector's own uncertainty. The margin is read on this scale: the "
            "observed change was compared with margin × (sensitivity + specificity − 1).", "",
            "| Group | Detector: sensitivity / specificity (labelled replies, file) | Baseline ASR, corrected (95%) "
            "| Candidate ASR, corrected (95%) | Change, corrected (points) | Bounds, corrected (points) "
            "| Margin on the observed scale (points) |",
            "|:--|:--|--:|--:|--:|:--|--:|"]
    for g in groups[:MAX_CATEGORY_ROWS + 1]:
        c = g.corrected
        name = "**Overall**" if g.is_overall else md_escape(g.name, 60)
        rows.append(
            f"| {name} | {c.sensitivity:.3f} / {c.specificity:.3f} ({c.labelled}, {md_escape(c.source, 60)}) "
            f"| {pct(c.baseline_asr)} ({pct(c.baseline_ci95[0])} to {pct(c.baseline_ci95[1])}) "
            f"| {pct(c.candidate_asr)} ({pct(c.candidate_ci95[0])} to {pct(c.candidate_ci95[1])}) "
            f"| {pts(c.delta)} | {pts(c.ci[0])} to {pts(c.ci[1])} "
            f"| {100 * c.observed_margin:.1f} (= {100 * g.margin:.1f} × {c.youden:.3f}) |")
    return "\n".join(rows)


def _ceilings(v) -> str:
    rows = ["**Ceilings** (candidate ASR against the policy's `max_asr`)", "",
            "| Scope | Candidate ASR | Interval | Ceiling | Verdict |", "|:--|--:|:--|--:|:--|"]
    for c in v.ceilings:
        scope = "**Overall**" if c.is_overall else md_escape(c.scope, 60)
        asr = pct(c.candidate_asr) + (f" (corrected; observed {pct(c.observed_asr)})" if c.corrected else "")
        rows.append(f"| {scope} | {asr} | {pct(c.ci[0])} to {pct(c.ci[1])} | "
                    f"{pct(c.max_asr)}{' (strict)' if c.mode == 'strict' else ''} | {MARK[c.verdict]} {c.verdict} |")
    return "\n".join(rows)


def _top(v, limit: int) -> str:
    rows = ["<details><summary>Most regressed attacks (exploratory)</summary>", "",
            "Per-attack one-sided exact tests (Boschloo for up to 100 attempts, else Fisher) with "
            "Benjamini–Hochberg q-values across all compared attacks. Exploratory: they point at where to look "
            "and do not decide the verdict.", "",
            "| Attack | Category | Baseline | Candidate | Change (points) | p | q | Test |",
            "|:--|:--|--:|--:|--:|--:|--:|:--|"]
    for a in v.top_regressed[:limit]:
        rows.append(f"| {md_escape(a.id, 80)} | {md_escape(a.category, 40)} | {a.baseline_successes}/"
                    f"{a.baseline_attempts} | {a.candidate_successes}/{a.candidate_attempts} | {pts(a.delta)} | "
                    f"{pvalue(a.p_value, '&lt;')} | {pvalue(a.q_value, '&lt;')} | {a.test} |")
    rows += ["", "</details>"]
    return "\n".join(rows)


def _id_list(title: str, ids) -> str:
    shown = ", ".join(md_escape(i, 60) for i in ids[:MAX_LISTED_IDS])
    more = f", and {len(ids) - MAX_LISTED_IDS} more" if len(ids) > MAX_LISTED_IDS else ""
    return f"- {title} ({len(ids)}): {shown}{more}"


def _attack_sets(v) -> str:
    parts = []
    if v.changed:
        parts.append(_id_list("Changed since the baseline (left out)", v.changed))
    if v.new:
        parts.append(_id_list("New, not in the baseline (left out)", v.new))
    if v.removed:
        parts.append(_id_list("In the baseline but not in these results", v.removed))
    return ("<details><summary>Attacks left out of the comparison</summary>\n\n" + "\n".join(parts)
            + "\n\n</details>")


def _chart(v) -> str | None:
    cats = list(v.categories.values())
    if len(cats) < 2:
        return None
    cats = sorted(cats, key=lambda g: -max(g.baseline_asr, g.candidate_asr))[:MAX_CHART_CATEGORIES]
    cats.sort(key=lambda g: g.name)
    labels = []
    for g in cats:
        lab = mermaid_label(g.name)
        while lab in labels:  # Mermaid needs distinct categories
            lab = lab[:22] + f"_{len(labels)}"
        labels.append(lab)
    top = max(max(g.baseline_asr, g.candidate_asr) for g in cats)
    y_max = min(100, max(5, int(math.ceil(top * 100 / 5.0)) * 5))
    base = ", ".join(f"{100 * g.baseline_asr:.1f}" for g in cats)
    cand = ", ".join(f"{100 * g.candidate_asr:.1f}" for g in cats)
    return "\n".join([
        "```mermaid",
        "xychart-beta",
        '    title "ASR by category: bars = candidate, line = baseline"',
        "    x-axis [" + ", ".join(f'"{lab}"' for lab in labels) + "]",
        f'    y-axis "ASR (%)" 0 --> {y_max}',
        f"    bar [{cand}]",
        f"    line [{base}]",
        "```",
    ])


def _footer(v) -> str:
    pol = v.policy
    side = (f"one-sided α = {pol.alpha:g}" if pol.alpha == pol.pass_alpha
            else f"one-sided α = {pol.alpha:g} (regression), {pol.pass_alpha:g} (pass)")
    corr = {"holm": "Holm-adjusted over overall + categories", "bh": "Benjamini–Hochberg over overall + categories",
            "none": "not adjusted"}[pol.correction]
    sf = any(g.method.startswith("sign-flip") for g in ([v.overall] if v.overall else []) + list(v.categories.values()))
    adv = next((g for g in v.categories.values() if g.advisory), None)
    tol = v.overall.margin if v.overall is not None else pol.margin
    own = any(g.margin != tol for g in v.categories.values()) if len(v.categories) > 1 else False
    true_scale = v.overall is not None and v.overall.corrected is not None
    return ("<sub>Paired per-attack test with attack-clustered standard errors (Student t, K−1 df); "
            f"{side}, tolerance {100 * tol:.1f} points" + (" (categories: their own, from the policy)" if own else "")
            + (" on the true scale (corrected for the detector: "
               f"{100 * v.overall.decision_margin:.1f} points on the observed scale)" if true_scale else "")
            + f", p-values {corr}. "
            "The interval is for the change in ASR (percentage points). MDE = the smallest increase the run could "
            f"detect with {_level(pol.power)} power. ASR = successful attempts ÷ judged attempts; errors are excluded."
            + (" ‡ fewer than %d attacks: exact sign-flip test." % pol.min_attacks_for_t if sf else "")
            + (f" {ADVISORY_MARK} advisory: a category with fewer than {adv.attacks_to_pass} attacks can never be "
               "shown safe on its own; it is shown and can fail, but does not hold back a pass "
               "(policy categories_gate: powered)." if adv is not None else "")
            + "</sub>")


def render(verdict, max_chars: int = MAX_CHARS) -> str:
    """The PR comment / job summary body for ``verdict`` (at most ``max_chars`` characters)."""
    v = verdict
    suite = f" — suite {md_escape(v.suite, 80)}" if v.suite else ""
    head = f"### {MARK[v.verdict]} ASR gate: {HEAD[v.verdict]}{suite}"
    # the planner's advice has its own section below: its sentences are not repeated among the reasons
    advice_texts = {a.text for a in v.advice[:10]}
    shown = [r for r in v.reasons if r not in advice_texts]
    reasons = "\n".join(f"- {md_escape(r, 1500)}" for r in shown[:20])
    if len(shown) > 20:
        reasons += f"\n- … and {len(shown) - 20} more"
    required = [head, reasons]
    optional: list[tuple[str, str]] = []
    if v.overall is not None:
        table, hidden = _main_table(v)
        if hidden:
            table += "\n\n" + _hidden_note(hidden)
        required.append(table)
        corrected = _corrected_table(v)
        if corrected:
            required.append(corrected)
    if v.ceilings:
        required.append(_ceilings(v))
    if v.advice:  # required: these sentences are left out of the reasons above
        required.append("**How to get a clear answer** (sample-size planner)\n\n"
                        + "\n".join(f"- {md_escape(a.text, 800)}" for a in v.advice[:10]))
    if v.top_regressed:
        optional.append(("top", _top(v, 20)))
    if v.changed or v.new or v.removed:
        optional.append(("sets", _attack_sets(v)))
    chart = _chart(v)
    if chart:
        optional.append(("chart", chart))
    optional.append(("footer", _footer(v)))

    sep = "\n\n"
    body = sep.join(required)
    if len(body) > max_chars:  # only with absurd inputs: keep the headline and reasons
        body = sep.join(required[:2])[: max_chars - 200].rsplit("\n", 1)[0]
        return body + sep + "_The full report is too long for a comment; see the job's JSON report._\n"
    dropped = []
    for name, text in optional:
        if len(body) + len(sep) + len(text) + 200 <= max_chars:
            body += sep + text
        else:
            dropped.append(name)
    if dropped:
        body += sep + "_Some sections were left out to fit GitHub's size limit; see the JSON report._"
    return body + "\n"
