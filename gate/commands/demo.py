"""`asr-gate demo`: the whole loop offline, in about a second, on the built-in simulated model.

It runs the bundled demo suite twice against the `sim` target: once as the *baseline* (the model
on main) and once as the *candidate* (a pull request that weakened the system prompt, so role-play
jailbreaks succeed more often). Then it compares the two exactly as the gate would in CI and
prints the verdict, and writes the PR comment it would post.

The loop itself is `gate.pipeline.run_demo`.
"""
from __future__ import annotations

import argparse
import tempfile


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole gate offline on the built-in simulated model",
                       description=__doc__.split("\n\n")[1].replace("\n", " "))
    p.add_argument("--out", help="keep the demo's files here (default: a temporary directory)")
    p.add_argument("--attempts", type=int, default=None, help="attempts per attack (default: the suite's 20)")
    p.add_argument("--seed", type=int, default=7, help="seed of the simulated model")
    p.add_argument("--no-regression", action="store_true", help="make the candidate identical to the baseline")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..pipeline import run_demo

    run_demo(args.out or tempfile.mkdtemp(prefix="asr-gate-demo-"), attempts=args.attempts, seed=args.seed,
             regression=not args.no_regression)
    return 0
