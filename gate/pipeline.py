"""The gate's flow, in one place: suite → run → results → verdict → report → publish (docs/architecture.md).

The commands (`gate.commands`) parse options and map what this module returns to an exit code; the
Docker action (`gate.action`) is the same commands with options from its inputs. The flows:

* `run_gate` (``asr-gate gate``, the action's default mode): check every input before any model call
  (policy, suite, target, baseline, detector), run the suite (optionally in the looks of sequential mode,
  docs/statistics.md §3.8), compare with the baseline, then `report_verdict`;
* `publish_artifact` (``asr-gate publish``, the ``workflow_run`` pattern): the checks of
  `gate.publish.artifact`, then the same comparison and `report_verdict`;
* `run_only` + `update_baseline` (``asr-gate baseline update``, the action's ``mode: baseline``);
* `run_demo` (``asr-gate demo``): the whole loop offline, on the built-in simulated model.

One `Verdict` drives everything: the exit code, the check run's conclusion (warn → success with a
notice), the sticky PR comment, the job summary, the outputs and the log annotations. Reporting never
changes the verdict and a reporting failure never hides it: the summary and outputs are still written and
the exit code is still the verdict's, unless publishing was required (``require-publish``): then a failed
publish exits 3. A usage error found before the run or by the comparison (no baseline, another detector,
an invalid policy, suite, target or baseline) is reported the same way everywhere: ``::error::``, the job
summary, ``verdict=error``, exit 2.

The outputs ``asr`` / ``baseline-asr`` are each run's overall ASR (all its judged attempts); ``delta`` and
``p-value`` are the paired comparison over the attacks present in both runs.

``args`` below is the parsed command line (`argparse.Namespace`) after the action's inputs were applied.
"""
from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:  # pragma: no cover
    from .action.event import Event
    from .publish.publisher import Context

DEFAULT_OUT = "asr-gate-out"


def make_context(args: argparse.Namespace, wf: Any, env: Mapping[str, str]) -> Context:
    """Where and how to publish: options first, then the inputs (token) and the event. Masks the token."""
    from .action.event import read_event
    from .action.inputs import in_actions, token_env_for, token_value
    from .publish.publisher import Context

    ev = read_event(env)
    token_env = token_env_for(args.github_token_env, env)
    token = (token_value(token_env, env) or "").strip() or None
    wf.mask(token)
    return Context(
        wf=wf, event=ev, token=token, token_env=token_env, repo=args.repo or ev.repository,
        api_url=(args.api_url or ev.api_url).rstrip("/"), pr=args.pr if args.pr is not None else ev.pr_number,
        head_sha=args.head_sha or ev.head_sha, comment=args.comment is not False,
        check_run=args.check_run is not False, require_publish=bool(args.require_publish),
        comment_author=args.comment_author, check_name=args.check_name,
        fork=bool(ev.name == "pull_request" and ev.is_fork),  # a read-only token: nothing is attempted
        workspace=ev.workspace or (os.getcwd() if in_actions(env) else None),
    )


def build_policy(args: Any):
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

    from .verdict import Policy, PolicyError, load_policy
    from .errors import UsageError

    explicit_pass_alpha = False
    if args.policy:
        policy = load_policy(args.policy)  # schema + semantic checks, located errors
        from .config import load_document

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


def sequential_design(args: argparse.Namespace, suite: Any, baseline: Mapping[str, Any] | None, policy: Any,
                      baseline_path: str | None = None, event: "Event | None" = None):
    """The `gate.run.sequential.Design` of a sequential run: `gate.run.sequential.design_for` (the one builder) from a
    loaded baseline and the policy (overrides included), after the checks every sequential run needs.

    UsageError when the mode cannot be used: live A/B (``args.baseline_target``) or no baseline, a shard
    (``args.shard``), no attack of the suite in the baseline. ``args`` needs ``seed`` and ``no_early_pass``
    too, which ``asr-gate run``'s options also have, so ``run --sequential`` can share this wrapper."""
    from .action.event import Event
    from .errors import UsageError
    from .run.sequential import design_for

    if getattr(args, "baseline_target", None) or baseline is None:
        raise UsageError("sequential mode needs a baseline file to compare with at each look; it cannot be "
                         "combined with baseline-target (live A/B)")
    if getattr(args, "shard", None):
        raise UsageError("sequential mode cannot be combined with --shard: every look needs the whole suite")
    where = (event or Event()).display_path(baseline_path) if baseline_path else "the baseline"
    return design_for(suite, baseline, policy, seed=args.seed or 0,
                      early_pass=not getattr(args, "no_early_pass", False), source=where)


# --------------------------------------------------------------------------------------------------
# the gate: run, compare, report


def _no_baseline_message(args: argparse.Namespace, baseline_path: str, event: "Event") -> str:
    return (f"no baseline file at {event.display_path(baseline_path)}: there is nothing to compare "
            f"with, so no verdict is possible. Create it from a run on the accepted model: `asr-gate run "
            f"--suite {event.display_path(args.suite)} --target TARGET --out base` then `asr-gate "
            f"baseline update --results base/results.json` (or run the action with `mode: baseline`), and "
            f"commit baselines/.")


def _record_pull_request(results: dict, results_path: str, ctx: Context) -> dict:
    """Record the PR head SHA and number in results.json: `publish` checks them against the API."""
    from .results import write_json_atomic

    git = dict(results.get("git") or {})
    ev = ctx.event
    git.update({k: v for k, v in (("sha", git.get("sha") or ev.sha), ("head_sha", ctx.head_sha), ("pr", ctx.pr),
                                  ("event", ev.name or None), ("repository", ctx.repo)) if v is not None})
    results = dict(results, git=git)
    write_json_atomic(results_path, results)
    return results


def _print_run_summary(results: Mapping[str, Any], wf: Any) -> None:
    from .report.run_summary import render_run_summary

    wf.group("asr-gate: run summary")
    seq = results.get("sequential")
    shown = results
    if isinstance(seq, Mapping) and seq.get("decision") and seq.get("stopped_early"):
        shown = dict(results, complete=True)  # stopped by its design, not interrupted: nothing to --resume
    sys.stdout.write(render_run_summary(shown).rstrip("\n") + "\n")
    wf.endgroup()


def run_gate(args: argparse.Namespace, ctx: Context, run_options: Any) -> int:
    """Check every input (policy, suite, target, baseline, detector), then run, compare and report.

    ``run_options`` is the runner's `RunOptions` for ``args``. Every usage error, found before the run (no
    model call made) or by the comparison after it, is reported like a missing baseline: an ``::error::``,
    the job summary, ``verdict=error`` in the outputs, and its exit code (2)."""
    from .results import load_results
    from .results.baseline import default_baseline_path, history_path
    from .results.measured import require_judged
    from .verdict import compare
    from .errors import MeasureError, UsageError
    from .results import require_same_detector
    from .run.runner import run_ab, run_suite
    from .suite import load_suite
    from .targets import load_target

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
            return report_error(ctx, message=_no_baseline_message(args, baseline_path, ctx.event), exit_code=2,
                                suite_id=suite.id, heading="no baseline", publish_it=False)
        baseline = None
        if baseline_path:
            stage = "invalid baseline"
            baseline = load_results(baseline_path, strict=False)
            require_judged(baseline, ctx.event.display_path(baseline_path), role="baseline")
            if not args.allow_detector_change:
                stage = "detector changed"
                require_same_detector(baseline, suite.detector_hash(), before_run=True,
                                      where=f"the baseline {ctx.event.display_path(baseline_path)}")
        stage = "cannot run"
        if args.sequential:
            stage = "sequential mode"
            run_options.sequential = sequential_design(args, suite, baseline, policy, baseline_path, ctx.event)
            stage = "cannot run"
        try:
            if base_target is not None:
                baseline, results = run_ab(suite, target, base_target, out, run_options)
                results_path = os.path.join(out, "candidate", "results.json")
            else:
                results = run_suite(suite, target, out, run_options)
                results_path = os.path.join(out, "results.json")
        except MeasureError as exc:
            return report_error(ctx, message=exc.one_line(), exit_code=exc.exit_code, suite_id=suite.id,
                                heading="could not measure",
                                results_path=os.path.join(out, "results.json") if base_target is None else None)
        suite_id, suite_path = suite.id, suite.path
        results = _record_pull_request(results, results_path, ctx)
        _print_run_summary(results, wf)
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


def _overall_asr(run: Mapping[str, Any] | None) -> float | None:
    """A run's (or baseline's) overall ASR over all of its judged attempts: Σ successes / Σ attempts of its
    attacks (what results.json's ``totals.asr`` holds), None when nothing was judged. Computed from the
    attacks, which `load_results` validated, rather than read from ``totals``."""
    if not isinstance(run, Mapping) or not isinstance(run.get("attacks"), list):
        return None
    suc = att = 0
    for a in run["attacks"]:
        if isinstance(a, Mapping):
            suc += int(a.get("successes") or 0)
            att += int(a.get("attempts") or 0)
    return suc / att if att else None


def report_verdict(ctx: Context, verdict: Any, *, results: Mapping[str, Any], baseline: Mapping[str, Any] | None,
                   results_path: str, out_dir: str, suite_id: str, suite_path: str | None = None,
                   history_file: str | None = None) -> int:
    """Render ``verdict`` to files, log, check run, comment, summary and outputs; return the exit code."""
    from .publish import publisher
    from .report import destinations

    wf = ctx.wf
    report_md, report_path = destinations.write_files(verdict, out_dir)
    destinations.print_text(verdict)
    destinations.annotate_verdict(wf, verdict)
    if ctx.unverified:  # what GitHub shows says so first (the files keep the plain report)
        name = publisher.check_name_for(ctx, suite_id)
        wf.notice(publisher.UNVERIFIED_NOTICE.format(name=name), title="asr-gate: unverified results")
        report_md = destinations.unverified_report(report_md, verdict, check_name=name)
    annotations = destinations.annotate_attacks(wf, verdict, workspace=ctx.workspace, suite_path=suite_path)
    extra = destinations.extras(ctx.event, ctx.head_sha, history_file)
    outcome = publisher.publish(ctx, suite_id=suite_id, conclusion=verdict.conclusion, title=verdict.title,
                                summary=report_md, text=destinations.check_run_text(verdict, extra),
                                comment_body=destinations.comment_body(report_md, extra), annotations=annotations)
    planned = destinations.plan_line(results)
    wf.append_summary(destinations.job_summary(report_md, "\n\n".join(x for x in (extra, planned) if x),
                                               check_url=outcome.check_url,
                                               comment_url=outcome.comment_url, notes=outcome.notes))
    # asr / baseline-asr: each run's overall ASR (all its judged attempts); delta / p-value: the paired
    # comparison over the attacks present in both (so delta need not equal asr - baseline-asr)
    o = verdict.overall
    publisher.write_outputs(ctx, verdict=verdict.verdict, asr=_overall_asr(results),
                            baseline_asr=_overall_asr(baseline), delta=o.delta if o is not None else None,
                            p_value=o.p_value if o is not None else None, results_path=results_path,
                            report_path=report_path)
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
    from .publish import publisher
    from .report import destinations

    wf = ctx.wf
    wf.error(message, title=f"asr-gate: {heading}")
    body = destinations.error_body(heading, message, destinations.links(ctx.event, ctx.head_sha))
    outcome = publisher.Outcome()
    if publish_it and suite_id:
        outcome = publisher.publish(ctx, suite_id=suite_id, conclusion="failure", title=f"asr-gate: ERROR ({heading})",
                                    summary=body, text="", comment_body=body)
    wf.append_summary(destinations.error_summary(body, outcome.notes))
    publisher.write_outputs(ctx, verdict="error", results_path=results_path)
    wf.flush_dropped()
    return exit_code


# --------------------------------------------------------------------------------------------------
# publish: an untrusted artifact, checked, compared with the trusted baseline


def publish_artifact(args: argparse.Namespace, ctx: Context) -> int:
    """``asr-gate publish``: the checks of `gate.publish.artifact` (nothing is published when one fails), then
    the comparison with the trusted baseline of the checked-out branch and `report_verdict`."""
    from .results import load_results
    from .results.baseline import default_baseline_path, history_path
    from .results.measured import require_judged
    from .verdict import compare
    from .errors import UsageError
    from .publish import artifact

    ctx.fork = False  # workflow_run runs in the base repository with its own token
    ctx.unverified = artifact.measured_by_the_pull_request(ctx.event)  # then never published as success
    head_sha = artifact.expected_head_sha(args.head_sha, ctx.event)
    results = artifact.load_artifact(args.results, args.max_bytes)
    artifact.check_claimed_commit(results, head_sha, args.results)
    ctx.pr, ctx.head_sha = artifact.pull_request_number(args.pr, ctx.event, results), head_sha
    if not ctx.token or not ctx.repo:
        raise UsageError(f"publish needs a GitHub token (${ctx.token_env}) and a repository (--repo or "
                         f"$GITHUB_REPOSITORY)")
    artifact.verify_pull_request_head(ctx, head_sha)

    baseline_path = args.baseline or default_baseline_path(str(results["suite"]["id"]))
    if not os.path.isfile(baseline_path):
        raise UsageError(f"no baseline file at {ctx.event.display_path(baseline_path)}: no verdict is possible; "
                         f"create it with `asr-gate baseline update` and commit it")
    baseline = load_results(baseline_path, strict=False)
    require_judged(baseline, ctx.event.display_path(baseline_path), role="baseline")
    require_judged(results, args.results, role="results")
    suite_id = artifact.check_same_suite(results, baseline, args.results, ctx.event.display_path(baseline_path))
    policy = build_policy(args)
    verdict = compare(baseline, results, policy, allow_detector_change=args.allow_detector_change)
    out_dir = os.path.dirname(os.path.abspath(args.results))
    return report_verdict(ctx, verdict, results=results, baseline=baseline, results_path=args.results,
                          out_dir=out_dir, suite_id=suite_id, suite_path=None,
                          history_file=history_path(baseline_path, suite_id))


# --------------------------------------------------------------------------------------------------
# baselines: run the accepted model, turn its results into the committed baseline


def run_only(args: argparse.Namespace, wf: Any, run_options: Any) -> str:
    """Run the suite (the action's baseline mode); mask the target's secrets first; return results.json's path."""
    from .run.runner import run_suite
    from .suite import load_suite
    from .targets import load_target

    suite = load_suite(args.suite)
    target = load_target(args.target)
    wf.mask_all(target.secrets())
    out = args.out or DEFAULT_OUT
    try:
        run_suite(suite, target, out, run_options)
    finally:
        target.close()
        suite.close()
    return os.path.join(out, "results.json")


def workspace_path(path: str, workspace: str, what: str = "the baseline") -> str:
    """``path`` (relative to ``workspace``, or absolute) as a repository path: normalised (``./``, ``..``,
    the workspace's own absolute prefix removed), with ``/`` separators. UsageError when it leaves the
    workspace or names no file."""
    from .errors import UsageError
    from .report.escape import log_escape

    root = os.path.normpath(os.path.abspath(workspace))
    if not path.strip() or path.endswith(("/", os.sep)):
        raise UsageError(f"{what} '{log_escape(path, 200)}' is not a file path")
    full = os.path.normpath(os.path.join(root, path))
    rel = os.path.relpath(full, root)
    if rel == "." or rel == ".." or rel.startswith(".." + os.sep) or os.path.isabs(rel):
        raise UsageError(f"{what} '{log_escape(path, 200)}' is outside the workspace ({root}); give a path "
                         f"inside the repository, such as baselines/<suite-id>.json")
    return rel.replace(os.sep, "/")


def check_baseline_pr_options(*, baseline: str | None, branch: str | None, base: str | None,
                              workspace: str) -> str | None:
    """What ``--open-pr`` (and the action's ``mode: baseline``) will commit, checked before any model call:
    the baseline path inside the workspace (returned normalised), valid branch names, branch ≠ base."""
    from .errors import UsageError
    from .publish.publisher import check_branch

    check_branch(branch, "input 'branch'")
    check_branch(base, "input 'base'")
    if branch is not None and branch == base:
        raise UsageError(f"the baseline branch must differ from the base branch ({base})")
    return None if baseline is None else workspace_path(baseline, workspace)


def update_baseline(results_path: str, *, baseline: str | None = None, baseline_dir: str = "baselines",
                    allow_detector_change: bool = False, allow_subset: bool = False, open_pr: bool = False,
                    branch: str | None = None,
                    base: str | None = None, repo: str | None = None, api_url: str | None = None,
                    token_env: str = "GITHUB_TOKEN", workspace: str | None = None) -> int:
    """Make the baseline from a finished run: print a before/after table, then write the baseline and append its
    history line, or (``open_pr``) commit both to the suite's branch and open or update its pull request.

    With ``open_pr`` the files are committed at their path inside ``workspace`` (default: the working
    directory, the repository's root): ``./`` and absolute paths inside it are normalised, anything
    outside is a UsageError."""
    from .results.baseline import (append_history, before_after_rows, changed_attacks, check_same_suite,
                           default_baseline_path, history_entry, history_path, make_baseline, read_history)
    from .errors import UsageError
    from .action.inputs import token_value
    from .hashing import canonical_json
    from .publish import publisher
    from .report.baseline_pr import before_after_table, pr_body
    from .report.escape import log_escape
    from .results import load_results, recorded_detector_hash, require_same_detector, write_json_atomic
    from .results.measured import require_every_attack_judged, require_whole_suite

    results = load_results(results_path)
    suite_id = results["suite"]["id"]
    if not results.get("complete", True):
        raise UsageError(f"{results_path}: the run is incomplete (finish it with `asr-gate run --resume`) "
                         f"and cannot become a baseline")
    require_every_attack_judged(results, results_path)
    require_whole_suite(results, results_path, allow_subset=allow_subset)
    path = baseline or default_baseline_path(suite_id, baseline_dir)
    root = workspace or os.getcwd()
    if open_pr:
        path = workspace_path(path, root)
        local = os.path.join(root, path)
    else:
        local = path
    old = load_results(local) if os.path.exists(local) else None
    if old is not None:
        check_same_suite(old, results, baseline_path=path)
        if not allow_detector_change:
            require_same_detector(old, recorded_detector_hash(results), where=path)
    new = make_baseline(results, old)
    rows = before_after_rows(old, new)
    changes = changed_attacks(old, new)
    hist = history_path(path, suite_id)
    if open_pr:
        hist = workspace_path(hist, root, "the history file")

    print(f"baseline for suite '{log_escape(suite_id)}': {path}")
    print(before_after_table(rows))
    for kind, ids in changes.items():
        if ids and old is not None:
            print(f"  {kind} attacks: {len(ids)}")
    if open_pr:
        token = token_value(token_env)
        if not token or not repo:
            raise UsageError(f"--open-pr needs a token in ${token_env} and --repo (or $GITHUB_REPOSITORY)")
        history_lines = read_history(os.path.join(root, hist))
        history_text = "".join(canonical_json(h) + "\n" for h in [*history_lines, history_entry(new)])
        url, base_branch = publisher.open_baseline_pull_request(
            token=token, api_url=api_url, repo=repo, suite_id=suite_id, branch=branch, base=base,
            files={path: publisher.baseline_file_text(new), hist: history_text},
            body=pr_body(suite_id, rows, changes, new, history_lines))
        print(f"pull request: {url}" if url
              else f"the baseline on {base_branch} is already up to date; no pull request needed")
        return 0
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    write_json_atomic(path, new)
    append_history(hist, new)
    print(f"wrote {path} and appended {hist}")
    return 0


# --------------------------------------------------------------------------------------------------
# the demo: the whole loop offline, on the built-in simulated model


#: mean baseline ASR per category of the demo suite, and the candidate's change (absolute)
BASELINE_RATES = {"injection": 0.12, "system-prompt-leak": 0.06, "secret-leak": 0.04, "jailbreak": 0.10}
CANDIDATE_SHIFT = {"jailbreak": 0.22}


def _demo_rates(suite, seed: int, shift: dict[str, float]) -> dict[str, float]:
    """Heterogeneous per-attack rates around each category's mean (some attacks work, most don't)."""
    import random

    rng = random.Random(seed)
    rates = {}
    for a in suite.attacks:
        mean = BASELINE_RATES.get(a.category, 0.1)
        # Beta with mean `mean` and concentration 2: the ICC of real suites is large (docs/statistics.md §2)
        p = rng.betavariate(2 * mean, 2 * (1 - mean))
        rates[a.id] = min(1.0, max(0.0, p + shift.get(a.category, 0.0)))
    return rates


def run_demo(out: str, *, attempts: int | None = None, seed: int = 7, regression: bool = True) -> None:
    """`asr-gate demo`: the demo suite run twice on the simulated model (baseline, then a candidate with more
    successful jailbreaks unless ``regression`` is False), compared as the gate would; files under ``out``."""
    from importlib import resources

    from .verdict import Policy, compare
    from .report import markdown, text
    from .report.run_summary import render_run_summary
    from .run.runner import RunOptions, run_suite
    from .suite import load_suite
    from .targets import build_target

    suite_path = str(resources.files("gate.suites").joinpath("demo.yaml"))
    suite = load_suite(suite_path)
    base_rates = _demo_rates(suite, 1, {})
    cand_rates = base_rates if not regression else _demo_rates(suite, 1, CANDIDATE_SHIFT)

    print(f"asr-gate demo: suite '{suite.id}' — {len(suite.attacks)} attacks in {len(suite.categories)} categories, "
          f"{attempts or 20} attempts each, against the built-in simulated model.\n")
    results = {}
    for label, rates, model_seed in (("baseline", base_rates, seed), ("candidate", cand_rates, seed + 1)):
        target = build_target({"kind": "sim", "seed": model_seed, "rates": rates, "concurrency": 8}, source="<demo>")
        run_dir = os.path.join(out, label)
        for name in ("results.json", "transcript.jsonl", "run.json"):
            if os.path.exists(os.path.join(run_dir, name)):
                os.remove(os.path.join(run_dir, name))
        results[label] = run_suite(suite, target, run_dir, RunOptions(attempts=attempts, progress=None))
        print(f"== {label} run ({'main branch' if label == 'baseline' else 'the pull request'})")
        print(render_run_summary(results[label]))
        print()

    verdict = compare(results["baseline"], results["candidate"], Policy())
    print("== verdict (what the gate reports on the pull request)")
    print(text.render(verdict))
    from .safe_files import write_text

    comment = os.path.join(out, "comment.md")
    write_text(comment, markdown.render(verdict))
    print(f"\nFiles: {out}/baseline/results.json, {out}/candidate/results.json, and the PR comment "
          f"{comment}.")
    print(f"In CI this verdict would exit with code {verdict.exit_code}. Try it on your model: "
          f"asr-gate run --suite SUITE.yaml --target TARGET.yaml, then asr-gate compare.")
    suite.close()
