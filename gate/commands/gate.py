"""`asr-gate gate`: run the suite, compare with the baseline, publish the verdict (what the action runs).

This module only parses the options; the flow is `gate.pipeline.run_gate` (docs/architecture.md). Under
GitHub Actions (``GITHUB_ACTIONS=true``) every option the command line leaves unset is taken from the
action's ``INPUT_*`` variables (`gate.action.inputs`); the PR number, head SHA, repository and API URL come
from the event (`gate.action.event`).

Exit codes: 0 pass/warn/inconclusive, 1 fail, 2 bad input (no baseline, another detector, an invalid
file: all found before any model call), 3 could not measure (or, with ``--require-publish``, could not
publish). With ``--sequential`` the run goes in the looks of `gate.run.sequential` (docs/statistics.md §3.8).
"""
from __future__ import annotations

import argparse
import os

from .options import add_publish_options
from .run import add_run_options


def _seed(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got '{text}'")
    return v


def _add_gate_options(p: argparse.ArgumentParser) -> None:
    from ..pipeline import DEFAULT_OUT

    p.add_argument("--suite", help="suite YAML file (required)")
    p.add_argument("--target", help="target YAML file (required)")
    p.add_argument("--out", help=f"output directory (default: {DEFAULT_OUT})")
    p.add_argument("--baseline-target", metavar="TARGET",
                   help="live A/B: run this target as the baseline at the same time instead of reading a "
                        "baseline file")
    add_run_options(p)
    seq = p.add_argument_group("sequential mode (docs/statistics.md §3.8)")
    seq.add_argument("--sequential", action=argparse.BooleanOptionalAction, default=None,
                     help="run the attacks in 4 looks (25/50/75/100%%) and stop as soon as the comparison with "
                          "the baseline is clear (O'Brien-Fleming boundaries from the policy's alpha, pass_alpha "
                          "and margin); the finished looks are then compared as usual (default: off)")
    seq.add_argument("--seed", "--sequential-seed", dest="seed", type=_seed, default=None,
                     help="seed of the sequential attack order (default 0)")
    seq.add_argument("--no-early-pass", action="store_true",
                     help="with --sequential: only stop early to FAIL; a PASS needs every look")
    add_publish_options(p)


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


def run(args: argparse.Namespace) -> int:
    from ..action.inputs import GATE_INPUTS, fill_options, require_options
    from ..action.workflow import Workflow
    from ..errors import GateError
    from ..pipeline import make_context, run_gate
    from .run import options_from

    env = os.environ
    wf = Workflow(env)
    try:
        actions = fill_options(args, GATE_INPUTS, env)
        require_options(args, ("suite", "target"), actions=actions)
        return run_gate(args, make_context(args, wf, env), options_from(args))
    except GateError as exc:
        if wf.actions:
            wf.error(f"asr-gate: {exc.one_line()}", title="asr-gate: error")
        raise
