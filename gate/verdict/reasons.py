"""The prose of a verdict: every sentence of `Verdict.reasons`, in plain words.

The reasons are what a developer reads first on a pull request, so they say what happened, how
sure the gate is and what to do, without statistics jargon. Numbers come from gate.formatting
(the one formatter; 'n/a' for a missing value). Untrusted names (attack ids, categories, suite
ids) are shortened with `short` and quoted.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from ..formatting import p_phrase, pct, pts
from .model import Advice, CeilingResult, GroupResult
from .policy import Policy

#: untrusted names are shortened to this many characters inside reasons
NAME_LEN = 60


def short(name: str, n: int = NAME_LEN) -> str:
    """An untrusted name on one line, at most ``n`` characters (… marks a cut)."""
    name = " ".join(str(name).split())
    return name if len(name) <= n else name[: n - 1] + "…"


def _points(x: float) -> str:
    return pts(x, " points")


# ---------------------------------------------------------------------------------------------
# Notes (appended after the verdict's own reasons)
# ---------------------------------------------------------------------------------------------

DETECTOR_CHANGED_NOTE = ("Note: the detector changed since the baseline; the comparison was forced with "
                         "--allow-detector-change and may reflect the detector rather than the model.")


OVERALL_UNCORRECTED_NOTE = ("Note: the policy gives the detector's accuracy for some categories only, so the "
                            "overall group is judged on the detector's observed scale (no correction); set the "
                            "top-level detector_accuracy to correct it too.")


def suite_mismatch_note(baseline_suite: str, results_suite: str) -> str:
    return (f"Note: the baseline is for suite '{short(baseline_suite)}' but the results are for suite "
            f"'{short(results_suite)}'; only attacks with the same id and content are compared.")


def selection_note(role: str, selected: int, of: int) -> str:
    return (f"Note: the {role} measured part of the suite: {selected} of {of} attacks selected (run --only, "
            f"--category or --tag); only attacks measured in both runs are compared.")


def stopped_early_note(at: str, decision: str, made: str) -> str:
    return (f"Note: the run stopped early at {at}, as its sequential design allows (its decision there: "
            f"{short(decision, 20)}; {made} were made); only the attacks it ran are compared.")


def single_category_margin_note(category: str, suite_margin: float, category_margin: float,
                                used: float) -> str:
    which = ("the category's" if category_margin < suite_margin
             else "the policy's (the category's own margin is looser)")
    return (f"Note: every compared attack is in category '{short(category)}', so the suite is judged against the "
            f"stricter of the policy's margin ({_points(suite_margin)}) and that category's margin "
            f"({_points(category_margin)}): {which}, {_points(used)}.")


def relative_margin_note(policy: Policy, overall_margin: float) -> str:
    return (f"Note: the tolerated increase is relative: {100 * policy.relative_margin:g}% of each group's "
            f"baseline ASR, at least {_points(policy.margin_floor)} ({_points(overall_margin)} overall).")


def unknown_category_note(category: str) -> str:
    return (f"Note: the policy sets limits for category '{short(category)}', but no attack in the results has "
            f"that category (a typo?).")


# ---------------------------------------------------------------------------------------------
# Measurement problems (each makes the verdict 'error')
# ---------------------------------------------------------------------------------------------

def unfinished_candidate(made: str) -> str:
    return (f"The run did not finish: {made} were made. Finish it with `asr-gate run --resume` (same --out "
            f"directory) and compare again; a partial run does not measure the suite that was planned.")


def baseline_stopped_early(at: str, made: str) -> str:
    return (f"The baseline run stopped early at {at} (sequential mode): {made}. A baseline must be a finished "
            f"run of every attack: re-run it without --sequential, then `asr-gate baseline update`.")


def unfinished_baseline(made: str) -> str:
    return (f"The baseline run did not finish: {made} were made. A baseline must be a finished run: finish it "
            f"with `asr-gate run --resume`, then `asr-gate baseline update`.")


def too_many_errors(rate: float, limit: float) -> str:
    return (f"Could not measure reliably: {pct(rate)} of the candidate's attempts ended in an error (the policy "
            f"allows {pct(limit)}). Check that the target is reachable and not rate-limited, then re-run.")


def too_few_attempts(attacks: int, min_attempts: int, examples: Sequence[str]) -> str:
    shown = ", ".join(f"'{short(aid, 40)}'" for aid in examples)
    return (f"Could not measure reliably: {attacks} attack(s) have fewer than {min_attempts} judged attempt(s) "
            f"in the baseline or the candidate (e.g. {shown}). Re-run them, or lower min_attempts in the policy.")


NOTHING_TO_COMPARE = ("Nothing to compare: no attack appears in both the baseline and the results with the same "
                      "content. Check that the right baseline file is used, or update the baseline.")


# ---------------------------------------------------------------------------------------------
# The planner's advice for an inconclusive group
# ---------------------------------------------------------------------------------------------

def advice_too_few_attacks(g: GroupResult, k_min: int, k_need: int) -> str:
    who = "The suite" if g.is_overall else f"Category '{short(g.name)}'"
    return (f"{who} has only {g.k} attack{'s' if g.k != 1 else ''}; with fewer than {k_min} attacks a group "
            f"can never be shown to be safe. Add attacks to it (about {k_need} would settle it).")


def advice_more_data(g: GroupResult, k_need: int, repeats: int | None) -> str:
    where = "overall" if g.is_overall else f"in category '{short(g.name)}'"
    more = max(0, k_need - g.k)
    text = f"To settle it {where}: run about {k_need} attacks ({more} more than now) at {g.n:.0f} repeats each"
    if repeats is not None and repeats > g.n:
        text += (f", or keep the {g.k} attacks and run {repeats} repeats per attack in both the baseline and the "
                 f"candidate")
    elif repeats is None:
        text += ("; more repeats alone will not help, because the attacks differ too much from each other "
                 "in how the change affects them")
    return text + "."


# ---------------------------------------------------------------------------------------------
# The verdict's reasons
# ---------------------------------------------------------------------------------------------

ERROR_TAIL = ("The verdict is 'error' (exit code 3): fix the measurement problem before trusting any number "
              "below.")
WHAT_TO_DO_ON_FAIL = ("What to do: find and fix what made the model easier to attack (the attacks listed below "
                      "are a good place to start). If the higher rate is intended, update the baseline in a "
                      "reviewed pull request (asr-gate baseline update).")
INCONCLUSIVE_ACTION = {
    "neutral": "This does not block the merge (neutral check).",
    "warn": "This does not block the merge (the policy treats it as a warning).",
    "pass": "This does not block the merge (the policy treats it as a pass).",
    "fail": "The policy treats an inconclusive result as a failure, so this blocks the merge.",
}


def group_phrase(g: GroupResult) -> str:
    where = "Overall" if g.is_overall else f"In category '{short(g.name)}'"
    attacks = f"{g.k} attack{'s' if g.k != 1 else ''}"
    if g.corrected is None:
        return (f"{where} the attack success rate went from {pct(g.baseline_asr)} to {pct(g.candidate_asr)} "
                f"({_points(g.delta)}, {attacks})")
    c = g.corrected
    return (f"{where} the attack success rate the detector reported went from {pct(g.baseline_asr)} to "
            f"{pct(g.candidate_asr)} ({_points(g.delta)}, {attacks}); corrected for the detector (sensitivity "
            f"{c.sensitivity:.2f}, specificity {c.specificity:.2f}) it went from {pct(c.baseline_asr)} to "
            f"{pct(c.candidate_asr)} ({_points(c.delta)})")


def _upper(g: GroupResult) -> str:
    """The upper bound on the margin's scale (corrected for the detector when its accuracy is known)."""
    return _points(g.true_ci[1]) + (" corrected for the detector" if g.corrected is not None else "")


def _where(cl: CeilingResult) -> str:
    return "overall" if cl.is_overall else f"in category '{short(cl.scope)}'"


def _regression(g: GroupResult, adj: str) -> str:
    return (f"{group_phrase(g)}. An increase this large is unlikely to be chance ({adj}{p_phrase(g.p_value)}), "
            f"and it could be as large as {_upper(g)}, which is more than the {_points(g.margin)} the "
            f"policy tolerates.")


def _ceiling_exceeded(cl: CeilingResult) -> str:
    why = (f"even its lower bound ({pct(cl.ci[0])}) is above" if cl.ci[0] > cl.max_asr
           else "it is above (strict ceiling mode)")
    return (f"The candidate's attack success rate {_where(cl)} is {pct(cl.candidate_asr)}; {why} the "
            f"ceiling of {pct(cl.max_asr)} set in the policy.")


def _no_regression(overall: GroupResult, conf: str, every_category: bool, advisory: bool = False) -> str:
    tail = "."
    if every_category:
        tail = (", and the same holds in every category with enough attacks to judge." if advisory
                else ", and the same holds in every category.")
    return (f"No regression beyond the tolerance. {group_phrase(overall)}; with {conf} confidence any increase "
            f"is below {_upper(overall)}, under the {_points(overall.margin)} the policy tolerates" + tail)


def _advisory(groups: Sequence[GroupResult]) -> str:
    """The advisory categories (too few attacks to judge alone) that did not fail, in one sentence."""
    def one(g: GroupResult) -> str:
        rose = (f", a rise above the {_points(g.margin)} tolerance that {g.k} attack{'s' if g.k != 1 else ''} "
                f"cannot tell from chance" if g.true_delta >= g.margin else "")
        return (f"'{short(g.name)}' (K={g.k}, {pct(g.baseline_asr)} → {pct(g.candidate_asr)}, "
                f"{_points(g.delta)}{rose})")
    names = "; ".join(one(g) for g in groups[:5])
    more = f"; and {len(groups) - 5} more" if len(groups) > 5 else ""
    need = groups[0].attacks_to_pass
    needs = f" A category needs at least {need} attacks to be judged on its own." if need is not None else ""
    return (f"Too few attacks to judge alone, so shown but not deciding the verdict: {names}{more}.{needs} "
            f"Add attacks to these categories (or set categories_gate: all to make every category decide).")


def _small_regression(g: GroupResult, adj: str) -> str:
    phrase = group_phrase(g)
    return (f"Warning: {phrase[0].lower()}{phrase[1:]}. The increase is probably real ({adj}{p_phrase(g.p_value)}) "
            f"but small: at most {_upper(g)}, below the {_points(g.margin)} tolerance, so it does not block "
            f"the merge.")


def _cannot_tell(lead: GroupResult) -> str:
    return (f"Could not tell whether this change makes the model easier to attack. {group_phrase(lead)}, but the "
            f"data are too noisy: the true change could be as large as {_upper(lead)}, above the "
            f"{_points(lead.margin)} tolerance, and it could also be no increase at all.")


def _not_enough_data(rest: Sequence[GroupResult]) -> str:
    names = ", ".join(f"overall (up to {_upper(g)})" if g.is_overall
                      else f"'{short(g.name)}' (up to {_upper(g)})"
                      for g in rest[:5])
    more = f" and {len(rest) - 5} more" if len(rest) > 5 else ""
    return f"Not enough data to clear: {names}{more}."


def _ceiling_unclear(cl: CeilingResult) -> str:
    return (f"The candidate's attack success rate {_where(cl)} ({pct(cl.candidate_asr)}, between "
            f"{pct(cl.ci[0])} and {pct(cl.ci[1])}) is too close to the {pct(cl.max_asr)} ceiling to "
            f"tell; more attacks would narrow it.")


def _ceiling_cleared(cl: CeilingResult) -> str:
    return (f"The candidate's attack success rate {_where(cl)} is below the {pct(cl.max_asr)} ceiling "
            f"(at most {pct(cl.ci[1])}).")


def _coverage(overall: GroupResult | None, changed: Sequence[str], new: Sequence[str], removed: Sequence[str],
              stopped_early: bool) -> list[str]:
    """What the numbers do not cover: a zero that is not a zero, and the attacks left out."""
    out: list[str] = []
    if overall is not None and overall.candidate_successes == 0 and overall.candidate_ci95 is not None:
        out.append(f"No attack succeeded in this run ({overall.candidate_attempts} judged attempts over {overall.k} "
                   f"attacks); the attack success rate is still only known to be at most "
                   f"{pct(overall.candidate_ci95[1])} (95% confidence), not zero.")
    if changed:
        out.append(f"{len(changed)} attack(s) changed since the baseline (different content) and were left out; "
                   f"update the baseline to include them.")
    if new:
        out.append(f"{len(new)} new attack(s) are not in the baseline and were left out; update the baseline to "
                   f"include them.")
    if removed and stopped_early:
        out.append(f"{len(removed)} attack(s) of the baseline were not run (the sequential run stopped early) and "
                   f"were left out.")
    elif removed:
        out.append(f"{len(removed)} attack(s) of the baseline are missing from these results and were left out.")
    return out


def verdict_reasons(final: str, overall: GroupResult | None, categories: Mapping[str, GroupResult],
                    ceilings: Sequence[CeilingResult], changed: Sequence[str], new: Sequence[str],
                    removed: Sequence[str], problems: Sequence[str], advice: Sequence[Advice], policy: Policy, *,
                    stopped_early: bool = False) -> list[str]:
    """The reasons, most important first: the first one is the check run's notice on a warning."""
    out: list[str] = []
    groups = ([overall] if overall else []) + ([g for g in categories.values()] if len(categories) > 1 else [])
    adj = "adjusted " if len(groups) > 1 and policy.correction != "none" else ""
    conf = f"{100 * (1 - policy.alpha):.0f}%"
    if final == "error":
        out.extend(problems)
        out.append(ERROR_TAIL)
    warns = [g for g in groups if g.verdict == "warn"]
    unclear = [g for g in groups if g.verdict == "inconclusive" and not g.advisory]
    advisory = [g for g in groups if g.advisory and g.verdict != "fail"]
    out.extend(_regression(g, adj) for g in groups if g.verdict == "fail")
    out.extend(_ceiling_exceeded(cl) for cl in ceilings if cl.verdict == "fail")
    if final == "fail":
        out.append(WHAT_TO_DO_ON_FAIL)
    if final in ("pass", "warn") and overall is not None:
        out.append(_no_regression(overall, conf, len(categories) > 1, bool(advisory)))
    # warnings lead (the first reason is the check run's notice)
    out[:0] = [_small_regression(g, adj) for g in warns]
    if final in ("inconclusive", "fail", "error") and unclear:
        rest = unclear
        if final == "inconclusive":
            out.insert(0, _cannot_tell(unclear[0]))
            rest = unclear[1:]
        if rest:
            out.append(_not_enough_data(rest))
    if advisory:
        out.append(_advisory(advisory))
    for cl in ceilings:
        if cl.verdict == "inconclusive":
            out.append(_ceiling_unclear(cl))
        elif cl.verdict == "pass" and final in ("pass", "warn"):
            out.append(_ceiling_cleared(cl))
    if final == "inconclusive":
        out.extend(a.text for a in advice[:4])
        if len(advice) > 4:
            out.append(f"({len(advice) - 4} more groups are inconclusive; see the table.)")
        out.append(INCONCLUSIVE_ACTION[policy.on_inconclusive])
    return out + _coverage(overall, changed, new, removed, stopped_early)
