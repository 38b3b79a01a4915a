"""`asr-gate gate`: run the suite, compare with the baseline, publish the verdict (what the action runs).

One `Verdict` drives everything: the exit code, the check run's conclusion (DESIGN.md §4: warn →
success with a notice), the sticky PR comment, the job summary, the action outputs and the log
annotations. Reporting never changes the verdict and a reporting failure never hides it: a refused or
failed GitHub call becomes a ``::notice::`` / ``::warning::`` line, the summary and outputs are still
written, and the exit code is still the verdict's — unless publishing was explicitly required
(``--require-publish`` / ``require-publish: true``), in which case a failed publish exits 3.

Under GitHub Actions (``GITHUB_ACTIONS=true``) every option the command line leaves unset is taken from
the action's ``INPUT_*`` variables (see `gate.action`); the PR number, head SHA, repository and API URL
come from ``GITHUB_EVENT_PATH`` and the ``GITHUB_*`` variables.

A pull request from a fork (``pull_request`` event, head repository ≠ base repository) gets a
read-only token and no secrets: the gate then skips the check run and the comment with a notice that
points at the ``workflow_run`` pattern (README, "Forks"), and still writes the summary and outputs.

A missing baseline file is a usage error (exit 2, output ``verdict=error``): there is nothing to
compare with; create it with ``asr-gate baseline update`` (or the action's ``mode: baseline``). So is a
baseline judged by another detector than the suite's (unless ``--allow-detector-change``), an invalid
baseline, policy, suite or target: all are checked before any model call is made, and every usage error
is reported the same way (``::error::``, job summary, ``verdict=error``, exit 2).

With ``--sequential`` (``sequential: true``) the run goes in the 4 looks of `gate.sequential` and stops
as soon as the comparison with the baseline is clear; the design is built from the baseline loaded here
and the policy `build_policy` returns (so ``alpha`` / ``margin`` overrides apply to it too), and the
attacks it ran are then compared as usual. The verdict's reasons say where it stopped (`gate.compare`'s
completeness check), so the comment and the summary do too. Not with ``--baseline-target`` or ``--shard``.

The outputs ``asr`` / ``baseline-asr`` are each run's overall ASR (all its judged attempts); ``delta`` and
``p-value`` are the paired comparison over the attacks present in both runs.
"""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import settings
from .run import add_run_options

DEFAULT_OUT = "asr-gate-out"
#: names of the files written next to results.json
REPORT_MD = "report.md"
VERDICT_JSON = "verdict.json"
JUNIT_XML = "junit.xml"

FORK_NOTICE = (
    "asr-gate: this pull request comes from a fork, so its GITHUB_TOKEN is read-only (and secrets are not "
    "available): the check run and the PR comment are skipped; the verdict is in the job summary and the "
    "step outputs. To publish it on the pull request, upload the results as an artifact and run "
    "`mode: publish` from a workflow triggered by `workflow_run` (see the workflow_run pattern in the "
    "asr-gate README)."
)


# --------------------------------------------------------------------------------------------------
# options


def _fraction(text: str) -> float:
    from ..action import parse_fraction
    from ..errors import UsageError

    try:
        return parse_fraction("value", text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _alpha(text: str) -> float:
    v = _fraction(text)
    if not 0 < v <= 0.5:
        raise argparse.ArgumentTypeError(f"alpha must be in (0, 0.5], got {text}")
    return v


def add_publish_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `gate` and `publish` (policy knobs and where/how to publish)."""
    p.add_argument("--baseline", metavar="B.json", help="baseline file (default: baselines/<suite-id>.json)")
    p.add_argument("--policy", metavar="P.yaml", help="policy file (default: alpha 0.05, margin 5 points, Holm)")
    p.add_argument("--alpha", type=_alpha, help="one-sided significance level (overrides the policy)")
    p.add_argument("--margin", type=_fraction, help="tolerated ASR increase, e.g. 0.05 or 5%% (overrides the policy)")
    p.add_argument("--max-asr", type=_fraction, help="absolute ceiling on the candidate's overall ASR, e.g. 0.2")
    p.add_argument("--fail-on-inconclusive", action=argparse.BooleanOptionalAction, default=None,
                   help="--fail-on-inconclusive: an inconclusive result fails (exit 1, failed check); "
                        "--no-fail-on-inconclusive: it does not, even if the policy says on_inconclusive: fail "
                        "(then neutral). Default: the policy's on_inconclusive (neutral)")
    p.add_argument("--allow-detector-change", action="store_true",
                   help="compare even though the baseline was judged by a different detector")
    g = p.add_argument_group("publishing to GitHub")
    g.add_argument("--github-token-env", metavar="NAME",
                   help="environment variable holding the GitHub token (default: GITHUB_TOKEN; under Actions "
                        "the `github-token` input)")
    g.add_argument("--comment", action=argparse.BooleanOptionalAction, default=None,
                   help="post/update the sticky PR comment (default: on)")
    g.add_argument("--check-run", action=argparse.BooleanOptionalAction, default=None,
                   help="create/update the check run (default: on)")
    g.add_argument("--check-name", help="check-run name (default: 'asr-gate / <suite-id>')")
    g.add_argument("--comment-author", metavar="LOGIN",
                   help="login that authors our sticky comment, e.g. my-app[bot] (default: from the token)")
    g.add_argument("--require-publish", action=argparse.BooleanOptionalAction, default=None,
                   help="exit 3 when the check run or comment cannot be published (default: report and go on)")
    g.add_argument("--repo", metavar="OWNER/NAME", help="repository (default: $GITHUB_REPOSITORY)")
    g.add_argument("--api-url", help="GitHub API URL (default: $GITHUB_API_URL or https://api.github.com)")
    g.add_argument("--pr", type=int, metavar="N", help="pull request number (default: from the event)")
    g.add_argument("--head-sha", metavar="SHA", help="commit the check run belongs to (default: from the event)")


def _add_gate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--suite", help="suite YAML file (required)")
    p.add_argument("--target", help="target YAML file (required)")
    p.add_argument("--out", help=f"output directory (default: {DEFAULT_OUT})")
    p.add_argument("--baseline-target", metavar="TARGET",
                   help="live A/B: run this target as the baseline at the same time instead of reading a "
                        "baseline file")
    add_run_options(p)
    seq = p.add_argument_group("sequential mode (STATISTICS.md §3.8)")
    seq.add_argument("--sequential", action=argparse.BooleanOptionalAction, default=None,
                     help="run the attacks in 4 looks (25/50/75/100%%) and stop as soon as the comparison with "
                          "the baseline is clear (O'Brien-Fleming boundaries from the policy's alpha, pass_alpha "
                          "and margin); the finished looks are then compared as usual (default: off)")
    seq.add_argument("--seed", "--sequential-seed", dest="seed", type=_seed, default=None,
                     help="seed of the sequential attack order (default 0)")
    seq.add_argument("--no-early-pass", action="store_true",
                     help="with --sequential: only stop early to FAIL; a PASS needs every look")
    add_publish_options(p)


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got '{text}'")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "gate", help="run + compare + publish: what the GitHub Action runs",
        description="Run SUITE against TARGET, compare with the committed baseline and publish one verdict as "
                    "a check run, a sticky PR comment, the job summary, step outputs and the exit code. Under "
                    "GitHub Actions unset options come from the action's INPUT_* variables. Exit codes: 0 "
                    "pass/warn/inconclusive, 1 fail, 2 bad input (e.g. no baseline), 3 could not measure.")
    _add_gate_options(p)
    p.set_defaults(func=run)


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse `gate` options alone (used by the action's baseline mode)."""
    p = argparse.ArgumentParser(prog="asr-gate gate")
    _add_gate_options(p)
    return p.parse_args(argv)


# --------------------------------------------------------------------------------------------------
# context


@dataclass
class Context:
    """Where and how to publish, resolved from options, inputs and the event."""

    wf: Any
    event: Any
    token: str | None = None
    token_env: str = "GITHUB_TOKEN"
    repo: str | None = None
    api_url: str = "https://api.github.com"
    pr: int | None = None
    head_sha: str | None = None
    comment: bool = True
    check_run: bool = True
    require_publish: bool = False
    comment_author: str | None = None
    check_name: str | None = None
    fork: bool = False
    workspace: str | None = None
    notes: list[str] = field(default_factory=list)


def make_context(args: argparse.Namespace, wf: Any, env: Mapping[str, str]) -> Context:
    from ..action import in_actions, read_event, token_env_name

    ev = read_event(env)
    token_env = args.github_token_env or (token_env_name(env) if in_actions(env) else "GITHUB_TOKEN")
    token = (env.get(token_env) or "").strip() or None
    wf.mask(token)
    fork = bool(ev.name == "pull_request" and ev.is_fork)
    return Context(
        wf=wf, event=ev, token=token, token_env=token_env, repo=args.repo or ev.repository,
        api_url=(args.api_url or ev.api_url).rstrip("/"), pr=args.pr if args.pr is not None else ev.pr_number,
        head_sha=args.head_sha or ev.head_sha, comment=args.comment is not False, check_run=args.check_run is not False,
        require_publish=bool(args.require_publish), comment_author=args.comment_author, check_name=args.check_name,
        fork=fork, workspace=ev.workspace or (os.getcwd() if in_actions(env) else None),
    )


def build_policy(args: argparse.Namespace):
    """The policy file (or the defaults) with the command-line / input overrides applied.

    The Policy is rebuilt from its own fields, so an override changes exactly its field and nothing else:

    * ``--alpha`` / ``alpha``: the FAIL side's level. ``pass_alpha`` stays as the policy file wrote it when it
      wrote one; otherwise it is left to `Policy`'s own default, alpha/2 of the *final* alpha.
    * ``--margin`` / ``margin`` and ``--max-asr`` / ``max-asr``: the overall margin and ceiling (per-category
      values in the policy are kept).
    * ``--[no-]fail-on-inconclusive`` / ``fail-on-inconclusive``: true → ``on_inconclusive: fail``; false → a
      policy's ``fail`` becomes ``neutral`` (its ``warn`` / ``pass`` are kept); unset → the policy decides.

    A value the Policy refuses is a UsageError naming the option (exit 2).
    """
    import dataclasses

    from ..compare import Policy, PolicyError, load_policy
    from ..errors import UsageError

    explicit_pass_alpha = False
    if args.policy:
        policy = load_policy(args.policy)  # schema + semantic checks, located errors
        from ..config import load_document

        raw = load_document(args.policy).data
        explicit_pass_alpha = isinstance(raw, Mapping) and raw.get("pass_alpha") is not None
    else:
        policy = Policy()
    fields = {f.name: getattr(policy, f.name) for f in dataclasses.fields(Policy)}
    fields["categories"] = dict(policy.categories)
    if not explicit_pass_alpha:
        fields["pass_alpha"] = None  # Policy's default: alpha/2 of the final alpha
    overrides = {}
    if args.alpha is not None:
        overrides["alpha"] = args.alpha
    if args.margin is not None:
        overrides["margin"] = args.margin
    if args.max_asr is not None:
        overrides["max_asr"] = args.max_asr
    fail_on_inconclusive = getattr(args, "fail_on_inconclusive", None)
    if fail_on_inconclusive is True:
        overrides["on_inconclusive"] = "fail"
    elif fail_on_inconclusive is False and policy.on_inconclusive == "fail":
        overrides["on_inconclusive"] = "neutral"
    fields.update(overrides)
    try:
        return Policy(**fields)
    except PolicyError as exc:
        if exc.field in overrides:
            option = exc.field.replace("_", "-")
            raise UsageError(f"--{option} / input '{option}': {exc.why}") from None
        raise


def display_path(path: str | None, event: Any = None) -> str:
    """A path for outputs and messages: relative to the workspace when inside it (Docker actions see the
    workspace at /github/workspace, later steps at $GITHUB_WORKSPACE)."""
    if not path:
        return ""
    base = getattr(event, "workspace", None) or os.getcwd()
    full = os.path.abspath(path)
    try:
        rel = os.path.relpath(full, os.path.abspath(base))
    except ValueError:
        return full
    return full if rel.startswith("..") else rel


def safe_name(text: Any, max_len: int = 80) -> str:
    """An id reduced to ``[A-Za-z0-9._:/-]`` (others → ``_``): safe in check names, annotations, titles."""
    s = re.sub(r"[^A-Za-z0-9._:/-]", "_", str(text))
    return (s[: max_len - 1] + "_") if len(s) > max_len else (s or "_")


def check_name_for(ctx: Context, suite_id: str) -> str:
    return ctx.check_name or f"asr-gate / {safe_name(suite_id, 100)}"


def _finite(x: Any) -> bool:
    import math

    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _fmt(x: Any) -> str:
    """An output number: plain decimal, up to 6 places, no exponent; '' when unknown."""
    import math

    if x is None:
        return ""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(v):
        return ""
    s = f"{v:.6f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


# --------------------------------------------------------------------------------------------------
# publishing


@dataclass
class Outcome:
    check_url: str | None = None
    comment_url: str | None = None
    notes: list[str] = field(default_factory=list)  # plain sentences (no untrusted text) for the summary
    failed: bool = False  # something that should have been published was not


def _throttle() -> bool:
    """PyGithub pauses 1 s between writes; ASR_GATE_GITHUB_THROTTLE=0 turns that off (tests only)."""
    return settings.github_write_throttle()


def connect(ctx: Context):
    from .. import github as gg

    return gg.connect(ctx.token or "", ctx.api_url, ctx.repo or "", write_throttle=_throttle(),
                      comment_author=ctx.comment_author)


def publish(ctx: Context, *, suite_id: str, conclusion: str, title: str, summary: str, text: str,
            comment_body: str | None, annotations: list | None = None) -> Outcome:
    """Check run, then sticky comment; every failure becomes a note and a log line, never an exception."""
    from .. import github as gg

    out = Outcome()
    wf = ctx.wf
    want_check = ctx.check_run and bool(ctx.head_sha)
    want_comment = ctx.comment and ctx.pr is not None and comment_body is not None
    if not (want_check or want_comment):
        if ctx.check_run and not ctx.head_sha:
            out.notes.append("No commit SHA is known (GITHUB_SHA / --head-sha), so no check run was created.")
        return out
    if ctx.fork:
        wf.notice(FORK_NOTICE, title="asr-gate: fork pull request")
        out.notes.append("This pull request comes from a fork: its token is read-only, so the check run and the "
                         "PR comment were skipped (see the workflow_run pattern in the asr-gate README).")
        out.failed = True
        return out
    if not ctx.token or not ctx.repo:
        what = "no GitHub token" if not ctx.token else "no repository (GITHUB_REPOSITORY / --repo)"
        msg = (f"asr-gate: {what}, so the check run and PR comment were not published; the verdict is in the "
               f"summary and outputs. Pass `github-token: ${{{{ github.token }}}}` (the default) or set "
               f"${ctx.token_env}.")
        if ctx.require_publish or wf.actions:
            wf.warning(msg)
        else:
            wf.plain(msg)
        out.notes.append(f"Not published: {what}.")
        out.failed = True
        return out
    try:
        client = connect(ctx)
    except gg.PublishError as exc:
        wf.warning(f"asr-gate: cannot publish: {exc.one_line()}", title="asr-gate: publishing failed")
        out.notes.append("Not published: the GitHub connection could not be set up.")
        out.failed = True
        return out

    def failed(what: str, exc: Exception) -> None:
        out.failed = True
        if isinstance(exc, gg.PublishError) and exc.read_only:
            wf.notice(f"asr-gate: could not publish the {what}: {exc.one_line()}",
                      title=f"asr-gate: {what} skipped (read-only token)")
            out.notes.append(f"The {what} was not published: the token may not write it (a fork pull request, or "
                             f"missing `permissions:`).")
        else:
            msg = exc.one_line() if isinstance(exc, gg.PublishError) else str(exc)
            wf.warning(f"asr-gate: could not publish the {what}: {msg}", title=f"asr-gate: {what} failed")
            out.notes.append(f"The {what} could not be published (see the log); the verdict is unaffected.")

    if want_check:
        try:
            out.check_url = gg.publish_check_run(
                client, name=check_name_for(ctx, suite_id), head_sha=ctx.head_sha, conclusion=conclusion,
                title=title, summary=summary, text=text, annotations=annotations or (),
                details_url=ctx.event.run_url)
        except (gg.PublishError, ValueError) as exc:
            failed("check run", exc)
    if want_comment:
        body = comment_body
        if out.check_url:
            body += f"\n<sub>[Check run]({out.check_url})</sub>\n"
        try:
            out.comment_url = gg.upsert_sticky_comment(client, pr_number=int(ctx.pr), marker=gg.sticky_marker(suite_id),
                                                       body=body)
        except (gg.PublishError, ValueError) as exc:
            failed("PR comment", exc)
    return out


# --------------------------------------------------------------------------------------------------
# rendering the verdict everywhere


def _links(ctx: Context) -> str:
    ev = ctx.event
    parts = []
    if ev.run_url:
        parts.append(f"[workflow run]({ev.run_url})")
    commit = ev.commit_url(ctx.head_sha)
    if commit:
        parts.append(f"commit [{ctx.head_sha[:7]}]({commit})")
    return " · ".join(parts)


def _trend(history_file: str | None) -> str:
    if not history_file or not os.path.exists(history_file):
        return ""
    from ..baseline import read_history
    from ..report.baseline_pr import trend_line

    line = trend_line(read_history(history_file))
    return f"**Accepted baseline ASR over time:** {line}" if line else ""


def _attack_lines(suite_path: str | None) -> dict[str, int]:
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


def _repo_path(ctx: Context, path: str | None) -> str | None:
    """``path`` relative to the workspace (what a check-run annotation needs), or None when outside."""
    if not path or not ctx.workspace:
        return None
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(ctx.workspace))
    return None if rel.startswith("..") or os.path.isabs(rel) else rel.replace(os.sep, "/")


def overall_asr(run: Mapping[str, Any] | None) -> float | None:
    """A run's (or baseline's) overall ASR over all of its judged attempts: Σ successes / Σ attempts of its
    attacks (what results.json's ``totals.asr`` holds), None when nothing was judged. Computed from the
    attacks, which `load_run` / `load_results` validated, rather than read from ``totals``."""
    if not isinstance(run, Mapping) or not isinstance(run.get("attacks"), list):
        return None
    suc = att = 0
    for a in run["attacks"]:
        if isinstance(a, Mapping):
            suc += int(a.get("successes") or 0)
            att += int(a.get("attempts") or 0)
    return suc / att if att else None


def write_outputs(ctx: Context, *, verdict: str, asr: Any = None, baseline_asr: Any = None, delta: Any = None,
                  p_value: Any = None, results_path: str | None = None, report_path: str | None = None) -> None:
    ctx.wf.set_outputs({
        "verdict": verdict, "asr": _fmt(asr), "baseline-asr": _fmt(baseline_asr), "delta": _fmt(delta),
        "p-value": _fmt(p_value), "results-path": display_path(results_path, ctx.event),
        "report-path": display_path(report_path, ctx.event),
    })


def report_verdict(ctx: Context, verdict: Any, *, results: Mapping[str, Any], baseline: Mapping[str, Any] | None,
                   results_path: str, out_dir: str, suite_id: str, suite_path: str | None = None,
                   history_file: str | None = None) -> int:
    """Render ``verdict`` to files, log, check run, comment, summary and outputs; return the exit code."""
    from ..compare import _pts, _pv  # the reasons' number formats: NaN / None → 'n/a'
    from ..report import json_report, junit, markdown, text
    from ..report.escape import md_escape

    wf = ctx.wf
    report_md = markdown.render(verdict)
    os.makedirs(out_dir, exist_ok=True)
    report_path = os.path.join(out_dir, REPORT_MD)
    with open(report_path, "w", encoding="utf-8") as fh:
        fh.write(report_md)
    with open(os.path.join(out_dir, VERDICT_JSON), "w", encoding="utf-8") as fh:
        fh.write(json_report.render(verdict))
    with open(os.path.join(out_dir, JUNIT_XML), "w", encoding="utf-8") as fh:
        fh.write(junit.render(verdict))

    sys.stdout.write(text.render(verdict).rstrip("\n") + "\n")
    sys.stdout.flush()

    # annotations in the log (at most 10 per level) and on the check run
    level = {"fail": "error", "error": "error", "warn": "warning", "pass": "notice"}.get(verdict.verdict)
    if level is None:  # inconclusive
        level = "error" if verdict.exit_code else ("warning" if verdict.notice else "notice")
    first = verdict.reasons[0] if verdict.reasons else verdict.title
    if wf.actions:  # in a terminal the text report above says it all
        wf.annotate(level, first, title=verdict.title)
        if verdict.notice and verdict.verdict != "warn":
            wf.notice(verdict.notice, title=verdict.title)
    rel_suite = _repo_path(ctx, suite_path)
    lines = _attack_lines(suite_path) if rel_suite else {}
    api_annotations = []
    if verdict.verdict in ("fail", "warn", "inconclusive"):
        from ..github import Annotation

        for a in verdict.top_regressed[:20]:
            # exploratory: only the clear ones (an unknown, NaN, change or p-value is never clear)
            if not (_finite(a.delta) and a.delta > 0 and _finite(a.p_value) and a.p_value <= verdict.policy.alpha):
                continue
            name = safe_name(a.id)
            msg = (f"ASR of attack {name} (category {safe_name(a.category, 40)}): "
                   f"{a.baseline_successes}/{a.baseline_attempts} → {a.candidate_successes}/{a.candidate_attempts} "
                   f"({_pts(a.delta)}, exploratory {_pv(a.p_value)})")
            line = lines.get(a.id)
            if wf.actions:
                wf.warning(msg, title=f"asr-gate: attack {name} regressed", file=rel_suite if line else None,
                           line=line)
            if rel_suite:
                api_annotations.append(Annotation(path=rel_suite, start_line=line or 1, end_line=line or 1,
                                                  level="warning", message=msg, title=f"attack {name} regressed"))

    if verdict.notice and rel_suite:  # warn → success *with a notice* (DESIGN.md §4)
        from ..github import Annotation

        api_annotations.insert(0, Annotation(
            path=rel_suite, start_line=1, end_line=1, level="notice", title="asr-gate: passed with a notice",
            message=f"{verdict.title}. The check passes, but see the notice in the check run's details."))
    trend = _trend(history_file)
    links = _links(ctx)
    extras = "\n\n".join(x for x in (trend, f"<sub>{links}</sub>" if links else "") if x)
    comment_body = report_md.rstrip("\n") + ("\n\n" + extras if extras else "") + "\n"
    check_text = extras
    if verdict.notice:
        check_text = (f"**Notice:** {md_escape(verdict.notice, 1500)}\n\n" + check_text).strip()
    outcome = publish(ctx, suite_id=suite_id, conclusion=verdict.conclusion, title=verdict.title,
                      summary=report_md, text=check_text, comment_body=comment_body, annotations=api_annotations)

    summary = [report_md.rstrip("\n")]
    if extras:
        summary.append(extras)
    published = [f"[check run]({outcome.check_url})" if outcome.check_url else "",
                 f"[PR comment]({outcome.comment_url})" if outcome.comment_url else ""]
    published = [p for p in published if p]
    if published:
        summary.append("Published: " + " · ".join(published))
    for note in outcome.notes:
        summary.append(f"> **Note:** {note}")
    wf.append_summary("\n\n".join(summary) + "\n")

    # asr / baseline-asr: each run's overall ASR (all its judged attempts); delta / p-value: the paired
    # comparison over the attacks present in both (so delta need not equal asr - baseline-asr)
    o = verdict.overall
    write_outputs(ctx, verdict=verdict.verdict, asr=overall_asr(results), baseline_asr=overall_asr(baseline),
                  delta=o.delta if o is not None else None, p_value=o.p_value if o is not None else None,
                  results_path=results_path, report_path=report_path)
    wf.flush_dropped()
    code = verdict.exit_code
    if outcome.failed and ctx.require_publish and code in (0, 1):
        wf.error("asr-gate: publishing was required (require-publish) but did not succeed; exiting with 3. "
                 f"The verdict itself was: {verdict.verdict}.")
        return 3
    return code


def report_error(ctx: Context, *, message: str, exit_code: int, suite_id: str | None, heading: str,
                 results_path: str | None = None, publish_it: bool = True) -> int:
    """No verdict could be computed: say why everywhere the verdict would have gone; return exit_code."""
    from ..report.escape import md_escape

    wf = ctx.wf
    wf.error(message, title=f"asr-gate: {heading}")
    body = f"### ⛔ ASR gate: {heading}\n\n{md_escape(message, 3000)}\n"
    links = _links(ctx)
    if links:
        body += f"\n<sub>{links}</sub>\n"
    outcome = Outcome()
    if publish_it and suite_id:
        outcome = publish(ctx, suite_id=suite_id, conclusion="failure", title=f"asr-gate: ERROR ({heading})",
                          summary=body, text="", comment_body=body)
    summary = body + "".join(f"\n> **Note:** {n}\n" for n in outcome.notes)
    wf.append_summary(summary)
    write_outputs(ctx, verdict="error", results_path=results_path)
    wf.flush_dropped()
    return exit_code


# --------------------------------------------------------------------------------------------------
# the command


def _resolve(args: argparse.Namespace, env: Mapping[str, str]) -> None:
    """Fill unset options from INPUT_* (under Actions) and check the required ones."""
    from ..action import GATE_INPUTS, apply_inputs, in_actions
    from ..errors import UsageError

    actions = in_actions(env)
    if actions:
        apply_inputs(args, GATE_INPUTS, env)
    for name in ("suite", "target"):
        if not getattr(args, name):
            raise UsageError(f"input '{name}' is required" if actions else f"--{name} is required")


def _augment_git(results: dict, results_path: str, ctx: Context) -> dict:
    """Record the PR head SHA and number in results.json: `publish` checks them against the API."""
    from ..results import write_json_atomic

    git = dict(results.get("git") or {})
    ev = ctx.event
    git.update({k: v for k, v in (("sha", git.get("sha") or ev.sha), ("head_sha", ctx.head_sha), ("pr", ctx.pr),
                                  ("event", ev.name or None), ("repository", ctx.repo)) if v is not None})
    results = dict(results, git=git)
    write_json_atomic(results_path, results)
    return results


def run_only(args: argparse.Namespace, wf: Any) -> str:
    """Run the suite (the action's baseline mode); mask the target's secrets first; return results.json's path."""
    from ..runner import run_suite
    from ..suite import load_suite
    from ..targets import load_target
    from .run import options_from

    suite = load_suite(args.suite)
    target = load_target(args.target)
    wf.mask_all(target.secrets())
    out = args.out or DEFAULT_OUT
    try:
        run_suite(suite, target, out, options_from(args))
    finally:
        target.close()
        suite.close()
    return os.path.join(out, "results.json")


def run(args: argparse.Namespace) -> int:
    from ..action import Workflow

    env = os.environ
    wf = Workflow(env)
    from ..errors import GateError

    try:
        _resolve(args, env)
        ctx = make_context(args, wf, env)
        return _gate(args, ctx)
    except GateError as exc:
        if wf.actions:
            wf.error(f"asr-gate: {exc.one_line()}", title="asr-gate: error")
        raise


DETECTOR_CHANGED = (
    "the baseline {path} was measured with a different detector (its detector hash differs from the suite's), "
    "so the two ASRs are not comparable; no model call was made. Re-baseline with the current detector "
    "(`asr-gate baseline update --allow-detector-change`, or the action's `mode: baseline`), or pass "
    "--allow-detector-change to compare anyway."
)


def check_detector(suite: Any, baseline: Mapping[str, Any], baseline_path: str, event: Any = None) -> None:
    """UsageError when the baseline was judged by another detector than the suite's (checked before any
    model call: results.json records ``suite.detector_hash()``, which `compare` would find different)."""
    from ..errors import UsageError

    det = baseline.get("detector")
    recorded = det.get("hash") if isinstance(det, Mapping) else None
    if recorded is not None and recorded != suite.detector_hash():
        raise UsageError(DETECTOR_CHANGED.format(path=display_path(baseline_path, event)))


def sequential_design(args: argparse.Namespace, suite: Any, baseline: Mapping[str, Any] | None, policy: Any,
                      baseline_path: str | None = None, event: Any = None):
    """The `gate.sequential.Design` of ``gate --sequential``: from the baseline the gate loaded and the policy
    it built (`build_policy`, overrides included), as `asr-gate run --sequential` builds it. UsageError when
    the mode cannot be used (live A/B, a shard, no attack of the suite in the baseline)."""
    from ..errors import UsageError
    from ..sequential import design_for

    if getattr(args, "baseline_target", None) or baseline is None:
        raise UsageError("sequential mode needs a baseline file to compare with at each look; it cannot be "
                         "combined with baseline-target (live A/B)")
    if getattr(args, "shard", None):
        raise UsageError("sequential mode cannot be combined with --shard: every look needs the whole suite")
    where = display_path(baseline_path, event) if baseline_path else "the baseline"
    return design_for(suite, baseline, policy, seed=args.seed or 0,
                      early_pass=not getattr(args, "no_early_pass", False), source=where)


def _gate(args: argparse.Namespace, ctx: Context) -> int:
    """Check every input (policy, suite, target, baseline, detector), then run, compare and report.

    Every usage error — found before the run (no model call made) or by the comparison after it — is
    reported like a missing baseline: an ``::error::``, the job summary, ``verdict=error`` in the outputs,
    and its exit code (2)."""
    from ..baseline import default_baseline_path, history_path
    from ..compare import compare, load_run
    from ..errors import MeasureError, UsageError
    from ..report.run_summary import render_run_summary
    from ..runner import run_ab, run_suite
    from ..suite import load_suite
    from ..targets import load_target
    from .run import options_from

    wf = ctx.wf
    suite = target = base_target = None
    results_path: str | None = None
    stage = "invalid policy"  # the heading of a usage error raised now
    try:
        policy = build_policy(args)
        stage = "invalid suite"
        suite = load_suite(args.suite)
        stage = "invalid target"
        target = load_target(args.target)
        wf.mask_all(target.secrets())
        if args.baseline_target:
            base_target = load_target(args.baseline_target)
            wf.mask_all(base_target.secrets())
        out = args.out or DEFAULT_OUT
        baseline_path = None if base_target else (args.baseline or default_baseline_path(suite.id))
        if baseline_path and not os.path.isfile(baseline_path):
            msg = (f"no baseline file at {display_path(baseline_path, ctx.event)}: there is nothing to compare "
                   f"with, so no verdict is possible. Create it from a run on the accepted model: `asr-gate run "
                   f"--suite {display_path(args.suite, ctx.event)} --target TARGET --out base` then `asr-gate "
                   f"baseline update --results base/results.json` (or run the action with `mode: baseline`), and "
                   f"commit baselines/.")
            return report_error(ctx, message=msg, exit_code=2, suite_id=suite.id, heading="no baseline",
                                publish_it=False)
        baseline = None
        if baseline_path:
            stage = "invalid baseline"
            baseline = load_run(baseline_path, "baseline")
            if not args.allow_detector_change:
                stage = "detector changed"
                check_detector(suite, baseline, baseline_path, ctx.event)
        stage = "cannot run"
        opts = options_from(args)
        if args.sequential:
            stage = "sequential mode"
            opts.sequential = sequential_design(args, suite, baseline, policy, baseline_path, ctx.event)
            stage = "cannot run"
        try:
            if base_target is not None:
                baseline, results = run_ab(suite, target, base_target, out, opts)
                results_path = os.path.join(out, "candidate", "results.json")
            else:
                results = run_suite(suite, target, out, opts)
                results_path = os.path.join(out, "results.json")
        except MeasureError as exc:
            return report_error(ctx, message=exc.one_line(), exit_code=exc.exit_code, suite_id=suite.id,
                                heading="could not measure",
                                results_path=os.path.join(out, "results.json") if base_target is None else None)
        suite_id, suite_path = suite.id, suite.path
        results = _augment_git(results, results_path, ctx)
        wf.group("asr-gate: run summary")
        seq = results.get("sequential")
        shown = results
        if isinstance(seq, Mapping) and seq.get("decision") and seq.get("stopped_early"):
            shown = dict(results, complete=True)  # stopped by its design, not interrupted: nothing to --resume
        sys.stdout.write(render_run_summary(shown).rstrip("\n") + "\n")
        wf.endgroup()
        stage = "cannot compare"
        verdict = compare(baseline, results, policy, allow_detector_change=args.allow_detector_change)
    except UsageError as exc:
        return report_error(ctx, message=exc.one_line(), exit_code=exc.exit_code,
                            suite_id=suite.id if suite is not None else None, heading=stage,
                            results_path=results_path, publish_it=False)
    finally:
        for res in (target, base_target, suite):
            if res is not None:
                res.close()
    report_dir = os.path.dirname(results_path) or "."
    return report_verdict(ctx, verdict, results=results, baseline=baseline, results_path=results_path,
                          out_dir=report_dir, suite_id=suite_id, suite_path=suite_path,
                          history_file=history_path(baseline_path, suite_id) if baseline_path else None)
