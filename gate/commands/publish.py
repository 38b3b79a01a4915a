"""`asr-gate publish`: publish a results artifact on its pull request (the `workflow_run` pattern).

Pull requests from forks run with a read-only token and no secrets, so the gate job there can only
write the job summary and upload ``results.json`` as an artifact. A second workflow, triggered by
``workflow_run`` (it runs in the base repository with a write token), downloads that artifact and runs
this command, which compares it with the *trusted* baseline of the checked-out default branch and
publishes the check run and the sticky comment.

The artifact is **untrusted** (whoever opened the pull request controls what the first job wrote), so
before anything is published:

1. it must be a regular file no larger than ``--max-bytes`` (20 MB by default), checked before it is
   read;
2. it must validate against the results schema (`gate.results.load_results`);
3. the commit it claims (``git.head_sha``, else ``git.sha``) must equal ``--head-sha`` (in Actions:
   ``workflow_run.head_sha``, set by GitHub, not by the pull request), and the pull request's current
   head — fetched from the API, ``GET /repos/{repo}/pulls/{n}`` — must be that same commit. A mismatch
   (a forged artifact, or a pull request that moved on since the run) is refused: exit 2, nothing is
   published;
4. its suite id must match the baseline's; the check-run name and the comment marker are derived from
   the baseline (trusted), and every string of the artifact is escaped like any other untrusted text.
"""
from __future__ import annotations

import argparse
import os
import stat

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def _size(text: str) -> int:
    t = text.strip().upper()
    mult = 1
    units = (("KIB", 1024), ("MIB", 1024 ** 2), ("KB", 1000), ("MB", 1000 ** 2), ("K", 1024), ("M", 1024 ** 2))
    for suffix, m in units:
        if t.endswith(suffix):
            t, mult = t[: -len(suffix)].strip(), m
            break
    try:
        v = int(float(t) * mult)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size such as 20MB, got '{text}'") from None
    if v < 1:
        raise argparse.ArgumentTypeError("size must be positive")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    from .gate import add_publish_options

    p = sub.add_parser(
        "publish", help="publish a results artifact on its pull request (workflow_run mode, for forks)",
        description="Compare an untrusted results artifact (from a pull request's run, e.g. from a fork) with "
                    "the trusted baseline and publish the verdict as a check run and sticky PR comment, after "
                    "checking its size, its schema, and that the pull request's current head SHA equals the "
                    "SHA recorded in the artifact and --head-sha. Exit codes as `gate`; 2 when the artifact "
                    "is refused.")
    p.add_argument("--results", metavar="R.json", help="results.json from the artifact (required)")
    p.add_argument("--max-bytes", type=_size, default=DEFAULT_MAX_BYTES,
                   help="refuse a results file larger than this (default 20MB)")
    add_publish_options(p)
    p.set_defaults(func=run)


def _check_file(path: str, max_bytes: int) -> None:
    from ..errors import UsageError

    try:
        st = os.lstat(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the results artifact ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: the results artifact is not a regular file (a symlink or a directory); refusing")
    if st.st_size > max_bytes:
        raise UsageError(f"{path}: the results artifact is {st.st_size:,} bytes, more than the {max_bytes:,} "
                         f"allowed (--max-bytes); refusing to parse it")


def _pull_head_sha(ctx, number: int) -> str:
    """The pull request's current head SHA from the API (PublishError when GitHub cannot tell)."""
    import requests
    from github import GithubException

    from .. import github as gg
    from .gate import connect

    client = connect(ctx)
    try:
        pull = client.repo.get_pull(int(number))
        return pull.head.sha
    except GithubException as exc:
        status = getattr(exc, "status", None)
        if status == 404:
            from ..errors import UsageError

            raise UsageError(f"pull request #{number} does not exist in {ctx.repo}; refusing to publish") from None
        raise gg.PublishError(f"could not read pull request #{number} (HTTP {status})", status=status,
                              operation="get the pull request") from None
    except requests.exceptions.RequestException as exc:
        raise gg.PublishError(f"GitHub API unreachable at {ctx.api_url} ({exc.__class__.__name__})",
                              operation="get the pull request") from None


def run(args: argparse.Namespace) -> int:
    from ..action import PUBLISH_INPUTS, Workflow, apply_inputs, in_actions
    from ..errors import GateError

    env = os.environ
    wf = Workflow(env)
    try:
        if in_actions(env):
            apply_inputs(args, PUBLISH_INPUTS, env)
        return _publish(args, wf, env)
    except GateError as exc:
        if wf.actions:
            wf.error(f"asr-gate: {exc.one_line()}", title="asr-gate publish: refused")
        raise


def _publish(args: argparse.Namespace, wf, env) -> int:
    from .. import github as gg
    from ..baseline import default_baseline_path, history_path
    from ..compare import compare, load_run
    from ..errors import MeasureError, UsageError
    from ..report.escape import log_escape
    from ..results import load_results
    from .gate import build_policy, display_path, make_context, report_verdict

    ctx = make_context(args, wf, env)
    ctx.fork = False  # workflow_run runs in the base repository with its own token
    if not args.results:
        raise UsageError("input 'results' is required" if wf.actions else "--results is required")
    head_sha = (args.head_sha or (ctx.event.head_sha if ctx.event.name == "workflow_run" else "") or "").strip()
    if not head_sha:
        raise UsageError("--head-sha is required (in a workflow_run workflow: github.event.workflow_run.head_sha): "
                         "the artifact's commit must be checked against the pull request")
    head_sha = head_sha.lower()

    # 1-2: size before parsing, then the schema
    _check_file(args.results, args.max_bytes)
    results = load_results(args.results)

    # 3: the commit the artifact claims
    git = results.get("git") if isinstance(results.get("git"), dict) else {}
    claimed = git.get("head_sha") or git.get("sha")
    if not isinstance(claimed, str) or claimed.lower() != head_sha:
        raise UsageError(f"{args.results}: the artifact was produced for commit "
                         f"'{log_escape(str(claimed), 64)}', not {head_sha}; refusing to publish it")
    pr = args.pr if args.pr is not None else ctx.event.pr_number
    if pr is None and isinstance(git.get("pr"), int) and not isinstance(git.get("pr"), bool):
        pr = git["pr"]  # untrusted, but only used after the head-SHA check below
    if pr is None or pr < 1:
        raise UsageError("no pull request number: pass --pr (or the `pr-number` input)")
    ctx.pr, ctx.head_sha = int(pr), head_sha
    if not ctx.token or not ctx.repo:
        raise UsageError(f"publish needs a GitHub token (${ctx.token_env}) and a repository (--repo or "
                         f"$GITHUB_REPOSITORY)")
    try:
        current = _pull_head_sha(ctx, ctx.pr)
    except gg.PublishError as exc:
        raise MeasureError(f"cannot verify the pull request's head commit: {exc.one_line()}") from None
    if (current or "").lower() != head_sha:
        raise UsageError(f"pull request #{ctx.pr} is now at commit {log_escape(str(current), 64)}, but the "
                         f"artifact is for {head_sha} (stale or forged); refusing to publish it")

    # 4: the trusted baseline
    baseline_path = args.baseline or default_baseline_path(str(results["suite"]["id"]))
    if not os.path.isfile(baseline_path):
        raise UsageError(f"no baseline file at {display_path(baseline_path, ctx.event)}: no verdict is possible; "
                         f"create it with `asr-gate baseline update` and commit it")
    baseline = load_run(baseline_path, "baseline")
    suite_id = (baseline.get("suite") or {}).get("id") if isinstance(baseline.get("suite"), dict) else None
    if suite_id and suite_id != results["suite"]["id"]:
        raise UsageError(f"{args.results}: the artifact is for suite '{log_escape(results['suite']['id'], 80)}', the "
                         f"baseline {display_path(baseline_path, ctx.event)} for '{log_escape(suite_id, 80)}'; "
                         f"refusing to publish it")
    suite_id = suite_id or str(results["suite"]["id"])
    policy = build_policy(args)
    verdict = compare(baseline, results, policy, allow_detector_change=args.allow_detector_change)
    out_dir = os.path.dirname(os.path.abspath(args.results))
    return report_verdict(ctx, verdict, results=results, baseline=baseline, results_path=args.results,
                          out_dir=out_dir, suite_id=suite_id, suite_path=None,
                          history_file=history_path(baseline_path, suite_id))
