"""`asr-gate baseline update`: turn a results file into the committed baseline, optionally as a PR.

The flow is `gate.pipeline.update_baseline`; the pull request is `gate.publish.publisher` (docs/architecture.md).
"""
from __future__ import annotations

import argparse

from .. import settings


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("baseline", help="update the committed baseline from a results file",
                       description="Baselines live in the repository (baselines/<suite>.json) and change only "
                                   "through reviewed pull requests.")
    bsub = p.add_subparsers(dest="baseline_command", metavar="ACTION")
    u = bsub.add_parser("update", help="write baselines/<suite>.json from results and print a before/after table",
                        description="Write the baseline (results without transcript + provenance + ICC/ω estimates), "
                                    "append a line to baselines/history/<suite>.jsonl, print a before/after table. "
                                    "--open-pr commits both files to a fixed branch per suite and opens (or updates) "
                                    "one pull request instead of touching the working tree.")
    u.add_argument("--results", required=True, help="results.json of a run on the accepted model")
    u.add_argument("--baseline", help="baseline file (default: baselines/<suite-id>.json)")
    u.add_argument("--baseline-dir", default="baselines", help="directory of baselines (default: baselines)")
    u.add_argument("--allow-detector-change", action="store_true",
                   help="accept results judged by a different detector than the current baseline")
    u.add_argument("--allow-subset", action="store_true",
                   help="accept a run of part of the suite (run --only/--category/--tag) as the baseline")
    u.add_argument("--open-pr", action="store_true", help="open or update a pull request instead of writing files")
    u.add_argument("--branch", help="branch for --open-pr (default: asr-gate/baseline/<suite-id>)")
    u.add_argument("--base", help="base branch for --open-pr (default: the repository's default branch)")
    u.add_argument("--repo", default=settings.github_repository(), help="owner/name (default: $GITHUB_REPOSITORY)")
    u.add_argument("--api-url", default=settings.github_api_url())
    u.add_argument("--token-env", default="GITHUB_TOKEN", help="environment variable holding the token")
    u.set_defaults(func=run_update)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_update(args: argparse.Namespace) -> int:
    from ..pipeline import update_baseline

    return update_baseline(args.results, baseline=args.baseline, baseline_dir=args.baseline_dir,
                           allow_detector_change=args.allow_detector_change, allow_subset=args.allow_subset,
                           open_pr=args.open_pr,
                           branch=args.branch, base=args.base, repo=args.repo, api_url=args.api_url,
                           token_env=args.token_env)
