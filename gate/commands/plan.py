"""`asr-gate plan`: how many attacks and repeats a run needs to detect a given regression (`gate.report.plan`)."""
from __future__ import annotations

import argparse
import json
import sys


def _fraction(s: str) -> float:
    try:
        v = float(s.rstrip("%")) / (100 if s.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {s!r}") from None
    if not 0 <= v <= 1 or v != v:
        raise argparse.ArgumentTypeError(f"must be a fraction between 0 and 1 (or a percentage like 5%): {s!r}")
    return v


def _level(s: str) -> float:
    v = _fraction(s)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1: {s!r}")
    return v


def _count(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {s!r}")
    return v


def _attacks(s: str) -> int:
    v = _count(s)
    if v < 2:
        raise argparse.ArgumentTypeError(f"must be at least 2 (the gate's paired test needs two or more attacks): "
                                         f"{s!r}")
    return v


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "plan", help="sample-size planner: attacks and repeats needed to detect a regression",
        description="How many attacks (and repeats per attack) the gate needs to tell a regression of --margin "
                    "from no change, with the given power. Uses Var(D) = omega^2 + 2*p(1-p)(1-ICC)/n "
                    "(docs/statistics.md §3.7). Values may be fractions (0.05) or percentages (5%%).")
    p.add_argument("--baseline-asr", type=_fraction, metavar="P", help="baseline attack success rate, e.g. 0.2")
    p.add_argument("--margin", type=_level, default=0.05, metavar="D",
                   help="regression to detect, in absolute ASR (default 0.05 = 5 points)")
    p.add_argument("--icc", type=_fraction, metavar="R",
                   help="intra-class correlation of attempts within an attack (default: from --baseline, else 0, "
                        "the conservative choice)")
    p.add_argument("--omega", type=_fraction, metavar="W",
                   help="SD across attacks of the true change incl. run drift (default: from --baseline, else 0.10)")
    p.add_argument("--repeats", type=_count, metavar="N", help="attempts per attack (default 20, or the baseline's)")
    p.add_argument("--attacks", type=_attacks, metavar="K", help="number of attacks you can run (gives repeats needed)")
    p.add_argument("--power", type=_level, default=0.8, help="probability of detecting the regression (default 0.8)")
    p.add_argument("--alpha", type=_level, default=0.05, help="one-sided significance level (default 0.05)")
    p.add_argument("--baseline", metavar="FILE", help="take the ASR, ICC and omega from a baseline file")
    p.add_argument("--format", choices=("text", "json"), default="text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..report.plan import make_plan, render_text

    plan = make_plan(baseline_asr=args.baseline_asr, margin=args.margin, icc=args.icc, omega=args.omega,
                     repeats=args.repeats, attacks=args.attacks, power=args.power, alpha=args.alpha,
                     baseline=args.baseline)
    if args.format == "json":
        sys.stdout.write(json.dumps(plan, indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(render_text(plan, args.attacks) + "\n")
    return 0
