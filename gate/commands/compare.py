"""`asr-gate compare`: baseline + results (+ policy) → verdict, report and exit code.

The comparison is `gate.verdict.compare` (docs/statistics.md §3); the formats are `gate.report.FORMATS`.
"""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    from ..report import FORMATS

    p = sub.add_parser(
        "compare", help="compare a run's results with the baseline and print the verdict",
        description="Compare the Attack Success Rate of a candidate run with the baseline using the paired "
                    "per-attack test (one-sided, Holm-corrected across categories) and print the verdict. "
                    "Exit code: 0 pass/warn/inconclusive (1 if the policy fails inconclusive results), 1 fail, "
                    "2 bad input, 3 could not measure.")
    p.add_argument("--baseline", required=True, metavar="B.json", help="baseline file (baselines/<suite>.json)")
    p.add_argument("--results", required=True, metavar="R.json", help="results.json of the candidate run")
    p.add_argument("--policy", metavar="P.yaml", help="policy file (default: alpha 0.05, margin 5 points, Holm)")
    p.add_argument("--format", choices=tuple(FORMATS), default="text", help="output format (default: text)")
    p.add_argument("--out", metavar="FILE", help="also write the report to FILE")
    p.add_argument("--allow-detector-change", action="store_true",
                   help="compare even though the baseline was judged by a different detector")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..results import load_results
    from ..results.measured import require_judged
    from ..verdict import Policy, compare, load_policy
    from ..errors import UsageError
    from ..report import FORMATS

    policy = load_policy(args.policy) if args.policy else Policy()
    baseline = load_results(args.baseline, strict=False)
    require_judged(baseline, args.baseline, role="baseline")
    results = load_results(args.results, strict=False)
    require_judged(results, args.results, role="results")
    verdict = compare(baseline, results, policy, allow_detector_change=args.allow_detector_change)
    out = FORMATS.get(args.format)(verdict)
    if args.out:
        try:
            from ..safe_files import write_text

            write_text(args.out, out)
        except OSError as exc:
            raise UsageError(f"{args.out}: cannot write report ({exc.strerror or exc})") from None
    sys.stdout.write(out)
    return verdict.exit_code
