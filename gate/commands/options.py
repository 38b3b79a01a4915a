"""Options that several commands share: the policy knobs and where/how to publish (`gate`, `publish`).

Each option that the action can set has an input of the same name (`gate.action.inputs`); an option left
unset (None) is filled from it under Actions, so these defaults are None rather than the real default.
"""
from __future__ import annotations

import argparse


def _fraction(text: str) -> float:
    from ..action.inputs import parse_fraction
    from ..errors import UsageError

    try:
        return parse_fraction("value", text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _alpha(text: str) -> float:
    v = _fraction(text)
    if not 0 < v <= 0.5:
        raise argparse.ArgumentTypeError(f"alpha must be in (0, 0.5], got {text}")
    return v


def add_publish_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `gate` and `publish` (policy knobs and where/how to publish)."""
    p.add_argument("--baseline", metavar="B.json", help="baseline file (default: baselines/<suite-id>.json)")
    p.add_argument("--policy", metavar="P.yaml", help="policy file (default: alpha 0.05, margin 5 points, Holm)")
    p.add_argument("--alpha", type=_alpha, help="one-sided significance level (overrides the policy)")
    p.add_argument("--margin", type=_fraction, help="tolerated ASR increase, e.g. 0.05 or 5%% (overrides the policy)")
    p.add_argument("--max-asr", type=_fraction, help="absolute ceiling on the candidate's overall ASR, e.g. 0.2")
    p.add_argument("--fail-on-inconclusive", action=argparse.BooleanOptionalAction, default=None,
                   help="--fail-on-inconclusive: an inconclusive result fails (exit 1, failed check); "
                        "--no-fail-on-inconclusive: it does not, even if the policy says on_inconclusive: fail "
                        "(then neutral). Default: the policy's on_inconclusive (neutral)")
    p.add_argument("--allow-detector-change", action="store_true",
                   help="compare even though the baseline was judged by a different detector")
    g = p.add_argument_group("publishing to GitHub")
    g.add_argument("--github-token-env", metavar="NAME",
                   help="environment variable holding the GitHub token (default: GITHUB_TOKEN; under Actions "
                        "the `github-token` input)")
    g.add_argument("--comment", action=argparse.BooleanOptionalAction, default=None,
                   help="post/update the sticky PR comment (default: on)")
    g.add_argument("--check-run", action=argparse.BooleanOptionalAction, default=None,
                   help="create/update the check run (default: on)")
    g.add_argument("--check-name", help="check-run name (default: 'asr-gate / <suite-id>')")
    g.add_argument("--comment-author", metavar="LOGIN",
                   help="login that authors our sticky comment, e.g. my-app[bot] (default: from the token)")
    g.add_argument("--require-publish", action=argparse.BooleanOptionalAction, default=None,
                   help="exit 3 when the check run or comment cannot be published (default: report and go on)")
    g.add_argument("--repo", metavar="OWNER/NAME", help="repository (default: $GITHUB_REPOSITORY)")
    g.add_argument("--api-url", help="GitHub API URL (default: $GITHUB_API_URL or https://api.github.com)")
    g.add_argument("--pr", type=int, metavar="N", help="pull request number (default: from the event)")
    g.add_argument("--head-sha", metavar="SHA", help="commit the check run belongs to (default: from the event)")
