"""One verdict, rendered for every place it goes: files, the log, annotations, the check run, the comment, the summary.

The gate publishes one `Verdict` six ways (docs/architecture.md): ``report.md`` / ``verdict.json`` /
``junit.xml`` next to results.json, the text report on stdout, annotations in the log (and on the check
run, at the attack's line in the suite file), the check run's text, the sticky PR comment, and the job
summary. This module renders them; `gate.pipeline` decides the order and `gate.publish` sends them.
Nothing here changes the verdict, and every untrusted string is escaped on the way out.

Log annotations go through a `gate.action.workflow.Workflow` (``wf``): at most 10 per level.
Check-run annotations are plain mappings that `gate.publish.github.Annotation.coerce` accepts.
"""
from __future__ import annotations

import math
import os
import re
import sys
from typing import Any, Mapping, Sequence

from ..formatting import p_phrase, pts
from ..safe_files import write_text
from . import json_report, junit, markdown, text
from .escape import md_escape, safe_name

#: names of the files written next to results.json
REPORT_MD = "report.md"
VERDICT_JSON = "verdict.json"
JUNIT_XML = "junit.xml"
#: regressed attacks considered for annotations (the log shows at most 10 of them anyway)
MAX_ATTACK_ANNOTATIONS = 20


def write_files(verdict: Any, out_dir: str) -> tuple[str, str]:
    """report.md, verdict.json and junit.xml in ``out_dir``; returns (the Markdown, report.md's path).

    Each file is written new and renamed into place (`gate.safe_files`), so a link already at one of these
    names (an artifact folder of ``publish``) is replaced, never written through."""
    report_md = markdown.render(verdict)
    os.makedirs(out_dir, exist_ok=True)
    report_path = os.path.join(out_dir, REPORT_MD)
    write_text(report_path, report_md)
    write_text(os.path.join(out_dir, VERDICT_JSON), json_report.render(verdict))
    write_text(os.path.join(out_dir, JUNIT_XML), junit.render(verdict))
    return report_md, report_path


def print_text(verdict: Any) -> None:
    """The plain-text report on stdout (the log of the step, or the terminal)."""
    sys.stdout.write(text.render(verdict).rstrip("\n") + "\n")
    sys.stdout.flush()


def annotate_verdict(wf: Any, verdict: Any) -> None:
    """The verdict's first reason as one annotation of its level (and its notice); in a terminal the text
    report says it all, so nothing."""
    level = {"fail": "error", "error": "error", "warn": "warning", "pass": "notice"}.get(verdict.verdict)
    if level is None:  # inconclusive
        level = "error" if verdict.exit_code else ("warning" if verdict.notice else "notice")
    first = verdict.reasons[0] if verdict.reasons else verdict.title
    if wf.actions:
        wf.annotate(level, first, title=verdict.title)
        if verdict.notice and verdict.verdict != "warn":
            wf.notice(verdict.notice, title=verdict.title)


def attack_lines(suite_path: str | None) -> dict[str, int]:
    """attack id → line in the suite file (only ids written literally under `attacks:`)."""
    if not suite_path or not os.path.isfile(suite_path):
        return {}
    out: dict[str, int] = {}
    try:
        with open(suite_path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                m = re.search(r"""(?:^|[\s{,-])id:\s*["']?([A-Za-z0-9][A-Za-z0-9._:/-]{0,127})["']?\s*(?:[,}#]|$)""",
                              line)
                if m and m.group(1) not in out:
                    out[m.group(1)] = n
    except (OSError, UnicodeDecodeError):
        return {}
    return out


def repo_path(workspace: str | None, path: str | None) -> str | None:
    """``path`` relative to the workspace (what a check-run annotation needs), or None when outside."""
    if not path or not workspace:
        return None
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(workspace))
    return None if rel.startswith("..") or os.path.isabs(rel) else rel.replace(os.sep, "/")


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def annotate_attacks(wf: Any, verdict: Any, *, workspace: str | None, suite_path: str | None) -> list[dict]:
    """The clearly regressed attacks as log warnings (at the attack's line) and as check-run annotations.

    Only when the verdict is not a pass, and only clear ones: a positive change with a per-attack p-value
    at most alpha (exploratory; an unknown or NaN change or p-value is never clear). A notice verdict (warn →
    success *with a notice*) also gets a notice annotation first, so the check run shows it."""
    rel_suite = repo_path(workspace, suite_path)
    lines = attack_lines(suite_path) if rel_suite else {}
    annotations: list[dict] = []
    if verdict.verdict in ("fail", "warn", "inconclusive"):
        for a in verdict.top_regressed[:MAX_ATTACK_ANNOTATIONS]:
            if not (_finite(a.delta) and a.delta > 0 and _finite(a.p_value) and a.p_value <= verdict.policy.alpha):
                continue
            name = safe_name(a.id)
            msg = (f"ASR of attack {name} (category {safe_name(a.category, 40)}): "
                   f"{a.baseline_successes}/{a.baseline_attempts} → {a.candidate_successes}/{a.candidate_attempts} "
                   f"({pts(a.delta, ' points')}, exploratory {p_phrase(a.p_value)})")
            line = lines.get(a.id)
            if wf.actions:
                wf.warning(msg, title=f"asr-gate: attack {name} regressed", file=rel_suite if line else None,
                           line=line)
            if rel_suite:
                annotations.append({"path": rel_suite, "start_line": line or 1, "end_line": line or 1,
                                    "level": "warning", "message": msg, "title": f"attack {name} regressed"})
    if verdict.notice and rel_suite:
        annotations.insert(0, {
            "path": rel_suite, "start_line": 1, "end_line": 1, "level": "notice",
            "title": "asr-gate: passed with a notice",
            "message": f"{verdict.title}. The check passes, but see the notice in the check run's details."})
    return annotations


def links(event: Any, head_sha: str | None) -> str:
    """'[workflow run](…) · commit [abc1234](…)': only links built from well-formed values."""
    parts = []
    if event.run_url:
        parts.append(f"[workflow run]({event.run_url})")
    commit = event.commit_url(head_sha)
    if commit:
        parts.append(f"commit [{head_sha[:7]}]({commit})")
    return " · ".join(parts)


def trend(history_file: str | None) -> str:
    """The accepted baseline ASR over time, from the suite's history file ('' without one)."""
    if not history_file or not os.path.exists(history_file):
        return ""
    from ..results.baseline import read_history
    from .baseline_pr import trend_line

    line = trend_line(read_history(history_file))
    return f"**Accepted baseline ASR over time:** {line}" if line else ""


def extras(event: Any, head_sha: str | None, history_file: str | None) -> str:
    """What the comment, the check run and the summary add below the report: the trend and the links."""
    link_line = links(event, head_sha)
    return "\n\n".join(x for x in (trend(history_file), f"<sub>{link_line}</sub>" if link_line else "") if x)


def comment_body(report_md: str, extra: str) -> str:
    return report_md.rstrip("\n") + ("\n\n" + extra if extra else "") + "\n"


def check_run_text(verdict: Any, extra: str) -> str:
    """The check run's details: the verdict's notice first (the check passes, so say why to look), then extras."""
    if verdict.notice:
        return (f"**Notice:** {md_escape(verdict.notice, 1500)}\n\n" + extra).strip()
    return extra


def job_summary(report_md: str, extra: str, *, check_url: str | None, comment_url: str | None,
                notes: Sequence[str]) -> str:
    """The job summary: the report, the extras, where it was published, and notes on what was not."""
    summary = [report_md.rstrip("\n")]
    if extra:
        summary.append(extra)
    published = [f"[check run]({check_url})" if check_url else "",
                 f"[PR comment]({comment_url})" if comment_url else ""]
    published = [p for p in published if p]
    if published:
        summary.append("Published: " + " · ".join(published))
    for note in notes:
        summary.append(f"> **Note:** {note}")
    return "\n\n".join(summary) + "\n"


def unverified_report(report_md: str, verdict: Any, *, check_name: str) -> str:
    """The report of results measured by the pull request's own workflow: the headline says unverified (and
    loses its ✅ when the verdict would pass), and a paragraph says what was and was not checked."""
    head, _, rest = report_md.partition("\n")
    mark = markdown.MARK.get(verdict.verdict, "")
    prefix = f"### {mark} ASR gate: "
    if head.startswith(prefix):
        shown = "⚠️" if verdict.conclusion == "success" else mark
        head = f"### {shown} ASR gate (unverified): {head[len(prefix):]}"
    note = ("> **Unverified: measured by the pull request's workflow.** These numbers come from a results "
            "artifact that the pull request's own workflow produced. asr-gate checked its commit, size and "
            "schema, not its counts, so it is published under the check "
            f"**{md_escape(check_name, 200)}**, as `neutral` at best. A trusted result needs a run that the "
            "repository controls, such as a maintainer-approved run of the gate on this commit.")
    return f"{head}\n\n{note}\n{rest}"


def error_body(heading: str, message: str, link_line: str) -> str:
    """No verdict: the Markdown that says why, wherever the verdict would have gone."""
    body = f"### ⛔ ASR gate: {heading}\n\n{md_escape(message, 3000)}\n"
    if link_line:
        body += f"\n<sub>{link_line}</sub>\n"
    return body


def error_summary(body: str, notes: Sequence[str]) -> str:
    return body + "".join(f"\n> **Note:** {n}\n" for n in notes)


def plan_line(results: Mapping[str, Any] | None) -> str:
    """The run's cost preview for the job summary (`plan` in results.json), or "" for results without one."""
    plan = (results or {}).get("plan")
    if not isinstance(plan, Mapping) or not isinstance(plan.get("calls"), int):
        return ""
    how = "at most, from max_tokens" if plan.get("completion_bounded") else "assumed per reply"
    line = (f"Planned: {plan['calls']} target calls, about {int(plan.get('prompt_tokens') or 0):,} prompt tokens "
            f"and {int(plan.get('completion_tokens') or 0):,} completion tokens ({how})")
    if isinstance(plan.get("cost"), (int, float)):
        line += f", estimated cost {float(plan['cost']):.4f} at the target's prices"
    return f"<sub>{line}.</sub>"

