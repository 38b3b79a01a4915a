"""The checks an untrusted results artifact must pass before `asr-gate publish` publishes its verdict.

Pull requests from forks run with a read-only token, so their gate job uploads ``results.json`` as an
artifact and a ``workflow_run`` workflow (base repository, write token) publishes it. Whoever opened the
pull request controls what that artifact says, so before anything is published (docs/architecture.md,
trust model):

1. it must be a regular file no larger than ``--max-bytes`` (20 MB by default), checked before it is read,
   in a folder that holds no symbolic link (the reports are written next to it: a ``report.md`` linking
   to ``baselines/…`` must not get the baseline overwritten);
2. it must validate against the results schema (`gate.results.load_results`, docs/formats.md);
3. the commit it claims (``git.head_sha``, else ``git.sha``) must equal ``--head-sha`` (in Actions:
   ``workflow_run.head_sha``, set by GitHub, not by the pull request), and the pull request's current head,
   fetched from the API, must be that same commit: a forged artifact, or a pull request that moved on since
   the run, is refused (exit 2, nothing published);
4. its suite id must match the trusted baseline's; names shown on GitHub come from the baseline, and every
   string of the artifact is escaped like any other untrusted text.

These checks prove which commit an artifact is for, not that its counts are true: whoever controls the
workflow that measured it can write any numbers. So an artifact is published as **unverified**
(`measured_by_the_pull_request`: never ``success``, its own check name and comment, see
`gate.publish.publisher`) unless it was measured in the pull request's own run of a same-repository pull
request, whose token could publish anything anyway (the sharded workflow's merge job).
"""
from __future__ import annotations

import os
import stat
from typing import TYPE_CHECKING, Any, Mapping

from ..errors import MeasureError, UsageError
from ..report.escape import log_escape

if TYPE_CHECKING:  # pragma: no cover
    from ..action.event import Event
    from .publisher import Context

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


def check_file(path: str, max_bytes: int) -> None:
    """1: a regular file (not a symlink) of at most ``max_bytes``, before a byte of it is parsed."""
    try:
        st = os.lstat(path)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the results artifact ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path}: the results artifact is not a regular file (a symlink or a directory); refusing")
    if st.st_size > max_bytes:
        raise UsageError(f"{path}: the results artifact is {st.st_size:,} bytes, more than the {max_bytes:,} "
                         f"allowed (--max-bytes); refusing to parse it")


def check_folder(path: str) -> None:
    """1: the artifact's folder (where the reports will be written) holds no symbolic link, at any depth."""
    from ..safe_files import refuse_links

    refuse_links(os.path.dirname(os.path.abspath(path)), what="the results artifact's folder")


def load_artifact(path: str, max_bytes: int) -> dict[str, Any]:
    """1-2: the file and its folder, the size before parsing, then the schema."""
    from ..results import load_results

    check_file(path, max_bytes)
    check_folder(path)
    return load_results(path)


def expected_head_sha(option: str | None, event: "Event") -> str:
    """The commit the artifact must be for: ``--head-sha``, else (workflow_run) the run's head, lower-cased."""
    head_sha = (option or (event.head_sha if event.name == "workflow_run" else "") or "").strip()
    if not head_sha:
        raise UsageError("--head-sha is required (in a workflow_run workflow: github.event.workflow_run.head_sha): "
                         "the artifact's commit must be checked against the pull request")
    return head_sha.lower()


def _git(results: Mapping[str, Any]) -> Mapping[str, Any]:
    return results.get("git") if isinstance(results.get("git"), dict) else {}


def check_claimed_commit(results: Mapping[str, Any], head_sha: str, path: str) -> None:
    """3a: the commit the artifact claims is ``head_sha``."""
    git = _git(results)
    claimed = git.get("head_sha") or git.get("sha")
    if not isinstance(claimed, str) or claimed.lower() != head_sha:
        raise UsageError(f"{path}: the artifact was produced for commit "
                         f"'{log_escape(str(claimed), 64)}', not {head_sha}; refusing to publish it")


def pull_request_number(option: int | None, event: "Event", results: Mapping[str, Any]) -> int:
    """The pull request to publish on: ``--pr``, the event's, else the artifact's own (untrusted, but only used
    after the head-SHA check of `verify_pull_request_head`)."""
    git = _git(results)
    pr = option if option is not None else event.pr_number
    if pr is None and isinstance(git.get("pr"), int) and not isinstance(git.get("pr"), bool):
        pr = git["pr"]
    if pr is None or pr < 1:
        raise UsageError("no pull request number: pass --pr (or the `pr-number` input)")
    return int(pr)


def verify_pull_request_head(ctx: "Context", head_sha: str) -> None:
    """3b: pull request ``ctx.pr`` is at ``head_sha`` now, according to the API (not to the artifact)."""
    from .github import PublishError, pull_request_head_sha
    from .publisher import connect

    try:
        current = pull_request_head_sha(connect(ctx), int(ctx.pr))
    except PublishError as exc:
        if exc.status == 404:
            raise UsageError(f"pull request #{ctx.pr} does not exist in {ctx.repo}; refusing to publish") from None
        raise MeasureError(f"cannot verify the pull request's head commit: {exc.one_line()}") from None
    if (current or "").lower() != head_sha:
        raise UsageError(f"pull request #{ctx.pr} is now at commit {log_escape(str(current), 64)}, but the "
                         f"artifact is for {head_sha} (stale or forged); refusing to publish it")


def measured_by_the_pull_request(event: "Event") -> bool:
    """Whether the artifact's counts are only as trustworthy as the pull request's workflow (unverified).

    True for ``workflow_run`` (the fork-safe split: another run, defined by the pull request, measured it),
    for a fork's ``pull_request`` run, and for any other event (an artifact of unknown origin). False only
    for the ``pull_request`` run of a same-repository pull request: its author can write checks anyway, so
    publishing the counts its own run measured adds no trust it did not have."""
    return not (event.name == "pull_request" and not event.is_fork)


def check_same_suite(results: Mapping[str, Any], baseline: Mapping[str, Any], path: str, baseline_shown: str) -> str:
    """4: the artifact's suite is the baseline's; returns the suite id to publish under (the baseline's)."""
    suite_id = (baseline.get("suite") or {}).get("id") if isinstance(baseline.get("suite"), dict) else None
    if suite_id and suite_id != results["suite"]["id"]:
        raise UsageError(f"{path}: the artifact is for suite '{log_escape(results['suite']['id'], 80)}', the "
                         f"baseline {baseline_shown} for '{log_escape(suite_id, 80)}'; refusing to publish it")
    return suite_id or str(results["suite"]["id"])
