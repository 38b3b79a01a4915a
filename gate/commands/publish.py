"""`asr-gate publish`: publish a results artifact on its pull request (the `workflow_run` pattern).

Pull requests from forks run with a read-only token and no secrets, so the gate job there can only write
the job summary and upload ``results.json`` as an artifact. A second workflow, triggered by
``workflow_run`` (base repository, write token), downloads it and runs this command, which compares it with
the *trusted* baseline of the checked-out default branch and publishes the check run and the sticky
comment. The artifact is untrusted: the checks it must pass first are `gate.publish.artifact`; the flow is
`gate.pipeline.publish_artifact` (docs/architecture.md).
"""
from __future__ import annotations

import argparse
import os


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
    from ..publish.artifact import DEFAULT_MAX_BYTES
    from .options import add_publish_options

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


def run(args: argparse.Namespace) -> int:
    from ..action.inputs import PUBLISH_INPUTS, fill_options, require_options
    from ..action.workflow import Workflow
    from ..errors import GateError
    from ..pipeline import make_context, publish_artifact

    env = os.environ
    wf = Workflow(env)
    try:
        fill_options(args, PUBLISH_INPUTS, env)
        ctx = make_context(args, wf, env)
        require_options(args, ("results",), actions=wf.actions)
        return publish_artifact(args, ctx)
    except GateError as exc:
        if wf.actions:
            wf.error(f"asr-gate: {exc.one_line()}", title="asr-gate publish: refused")
        raise
