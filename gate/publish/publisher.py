"""Publishing a verdict: the check run, the sticky PR comment and the step outputs; and the baseline pull request.

Reporting never changes the verdict and a reporting failure never hides it (docs/architecture.md): a
refused or failed GitHub call becomes a ``::notice::`` / ``::warning::`` line and a note for the job
summary, never an exception. A pull request from a fork gets a read-only token, so nothing is attempted
there and the notice points at the maintainer-approved run and the ``workflow_run`` pattern (docs/action.md,
"Pull requests from forks").

Unverified results (``Context.unverified``: an artifact that the pull request's own workflow measured and
uploaded, `gate.publish.artifact.measured_by_the_pull_request`) are never published as ``success``: a
success becomes ``neutral`` (a failure stays a failure: a fork can only hurt itself), under its own check
name ``asr-gate / <suite-id> (unverified)`` and its own sticky comment, titled as unverified. A neutral
check satisfies a required check on GitHub, so the distinct name is what keeps such a result from ever
standing in for the required ``asr-gate / <suite-id>``.

The strings published here are rendered and escaped by `gate.report`; the REST calls are `gate.publish.github`.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from .. import settings
from ..report.escape import safe_name

if TYPE_CHECKING:  # pragma: no cover
    from ..action.event import Event
    from ..action.workflow import Workflow
    from .github import GitHubClient

FORK_NOTICE = (
    "asr-gate: this pull request comes from a fork, so its GITHUB_TOKEN is read-only (and secrets are not "
    "available): the check run and the PR comment are skipped; the verdict is in the job summary and the "
    "step outputs. For a trusted result on the pull request, run the gate in a maintainer-approved "
    "pull_request_target job (examples/workflows/asr-gate-fork-trusted.yml); uploading these results and "
    "running `mode: publish` from a `workflow_run` workflow publishes them as unverified only (asr-gate "
    "docs, docs/action.md, \"Pull requests from forks\")."
)
#: appended to the check name of an unverified result (never the name of the required check)
UNVERIFIED_SUFFIX = " (unverified)"
UNVERIFIED_NOTICE = (
    "asr-gate: these results were measured by the pull request's own workflow and uploaded as an artifact. "
    "Their commit, size and schema were checked, not their counts, so they are published as unverified: "
    "under the check '{name}', neutral at best. A trusted result needs a run the repository controls "
    "(see examples/workflows/asr-gate-fork-trusted.yml)."
)


@dataclass
class Context:
    """Where and how to publish, resolved from options, inputs and the event (`gate.pipeline.make_context`)."""

    wf: "Workflow"
    event: "Event"
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
    #: the results were measured by the pull request's own workflow (publish of an artifact): never `success`
    unverified: bool = False


@dataclass
class Outcome:
    """What publishing achieved: links for the summary, notes that explain what was skipped."""

    check_url: str | None = None
    comment_url: str | None = None
    notes: list[str] = field(default_factory=list)  # plain sentences (no untrusted text) for the summary
    failed: bool = False  # something that should have been published was not


def check_name_for(ctx: Context, suite_id: str) -> str:
    """``check-name`` or ``asr-gate / <suite-id>``; with `UNVERIFIED_SUFFIX` for unverified results, whatever
    ``check-name`` says, so they can never produce the name of the required check."""
    name = ctx.check_name or f"asr-gate / {safe_name(suite_id, 100)}"
    return name + UNVERIFIED_SUFFIX if ctx.unverified else name


def published_conclusion(ctx: Context, conclusion: str) -> str:
    """The check run's conclusion: the verdict's, except that an unverified ``success`` is ``neutral``."""
    return "neutral" if ctx.unverified and conclusion == "success" else conclusion


def published_title(ctx: Context, title: str) -> str:
    if not ctx.unverified:
        return title
    rest = title[len("asr-gate: "):] if title.startswith("asr-gate: ") else title
    return f"asr-gate (unverified, measured by the pull request's workflow): {rest}"


def connect(ctx: Context) -> "GitHubClient":
    """The REST client for ``ctx`` (no request yet); PyGithub's pause between writes unless switched off."""
    from .github import connect as connect_client

    return connect_client(ctx.token or "", ctx.api_url, ctx.repo or "", write_throttle=settings.github_write_throttle(),
                          comment_author=ctx.comment_author)


def publish(ctx: Context, *, suite_id: str, conclusion: str, title: str, summary: str, text: str,
            comment_body: str | None, annotations: Sequence[Any] | None = None) -> Outcome:
    """Check run, then sticky comment; every failure becomes a note and a log line, never an exception."""
    from . import github as gg

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
                         "PR comment were skipped (see \"Pull requests from forks\" in the asr-gate docs, "
                         "docs/action.md).")
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
                client, name=check_name_for(ctx, suite_id), head_sha=ctx.head_sha,
                conclusion=published_conclusion(ctx, conclusion), title=published_title(ctx, title),
                summary=summary, text=text, annotations=annotations or (), details_url=ctx.event.run_url)
        except (gg.PublishError, ValueError) as exc:
            failed("check run", exc)
    if want_comment:
        body = comment_body
        if out.check_url:
            body += f"\n<sub>[Check run]({out.check_url})</sub>\n"
        try:
            marker = gg.sticky_marker(suite_id, unverified=ctx.unverified)
            out.comment_url = gg.upsert_sticky_comment(client, pr_number=int(ctx.pr), marker=marker, body=body)
        except (gg.PublishError, ValueError) as exc:
            failed("PR comment", exc)
    return out


# --------------------------------------------------------------------------------------------------
# step outputs


def output_number(x: Any) -> str:
    """A number as a step output: plain decimal, up to 6 places, no exponent; '' when unknown.

    Outputs are read by programs (``if: steps.gate.outputs.asr > 0.1``), so this is not `gate.formatting`'s
    prose format: no %, no sign, no 'n/a'."""
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


def write_outputs(ctx: Context, *, verdict: str, asr: Any = None, baseline_asr: Any = None, delta: Any = None,
                  p_value: Any = None, results_path: str | None = None, report_path: str | None = None) -> None:
    """Every output of action.yml, each run, empty when unknown."""
    ctx.wf.set_outputs({
        "verdict": verdict, "asr": output_number(asr), "baseline-asr": output_number(baseline_asr),
        "delta": output_number(delta), "p-value": output_number(p_value),
        "results-path": ctx.event.display_path(results_path), "report-path": ctx.event.display_path(report_path),
    })


# --------------------------------------------------------------------------------------------------
# the baseline pull request


def baseline_branch(suite_id: str) -> str:
    """The fixed branch of a suite's baseline pull request: ``asr-gate/baseline/<suite id as a ref name>``
    (always a valid branch name: no ``..``, no ``.lock`` ending)."""
    import re

    safe = "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in suite_id)
    safe = re.sub(r"\.{2,}", ".", safe).strip(".-") or "suite"
    if safe.endswith(".lock"):
        safe = safe[: -len(".lock")] + "-lock"
    return f"asr-gate/baseline/{safe}"


def check_branch(name: str | None, what: str) -> None:
    """UsageError (exit 2, one line) when ``name`` is given and git would refuse it as a branch name."""
    from ..errors import UsageError
    from ..report.escape import log_escape
    from .github import branch_name_ok

    if name is not None and not branch_name_ok(name):
        raise UsageError(f"{what}: '{log_escape(name, 100)}' is not a valid branch name (git check-ref-format: "
                         f"no '..', '~', '^', ':', spaces, leading '-' or '.', or '.lock' ending)")


def open_baseline_pull_request(*, token: str, api_url: str, repo: str, suite_id: str, files: Mapping[str, str],
                               body: str, branch: str | None = None, base: str | None = None) -> tuple[str | None, str]:
    """Commit ``files`` (the baseline and its history) to the suite's branch and open or update its one pull
    request into ``base`` (default: the repository's default branch). Returns (PR URL or None when ``base``
    already holds exactly these files, the base branch)."""
    from ..errors import UsageError
    from . import github as gg

    head = branch or baseline_branch(suite_id)
    check_branch(head, "the baseline branch")
    check_branch(base, "the base branch")
    client = gg.connect(token, api_url, repo)
    base_branch = base or gg.default_branch(client)
    if head == base_branch:
        raise UsageError(f"the baseline branch must differ from the base branch ({base_branch})")
    try:
        url = gg.open_or_update_pull_request(
            client, branch=head, base=base_branch, files=files,
            message=f"asr-gate: update baseline for {suite_id}", title=f"asr-gate: update the {suite_id} baseline",
            body=body)
    except ValueError as exc:  # a path or name open_or_update_pull_request refuses: the caller's input
        raise UsageError(str(exc)) from None
    return url, base_branch


def baseline_file_text(baseline: Mapping[str, Any]) -> str:
    """The baseline file as committed: indented JSON, UTF-8 kept readable, one final newline."""
    return json.dumps(baseline, indent=2, ensure_ascii=False) + "\n"
