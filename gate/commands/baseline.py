"""`asr-gate baseline update`: turn a results file into the committed baseline, optionally as a PR."""
from __future__ import annotations

import argparse
import os

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
    u.add_argument("--open-pr", action="store_true", help="open or update a pull request instead of writing files")
    u.add_argument("--branch", help="branch for --open-pr (default: asr-gate/baseline/<suite-id>)")
    u.add_argument("--base", help="base branch for --open-pr (default: the repository's default branch)")
    u.add_argument("--repo", default=settings.github_repository(), help="owner/name (default: $GITHUB_REPOSITORY)")
    u.add_argument("--api-url", default=settings.github_api_url())
    u.add_argument("--token-env", default="GITHUB_TOKEN", help="environment variable holding the token")
    u.set_defaults(func=run_update)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def render_table(rows, fmt: str = "text") -> str:
    from ..report.escape import log_escape, md_escape

    if fmt == "markdown":
        lines = ["| scope | before | after | change |", "|---|---:|---:|---:|"]
        lines += [f"| {md_escape(s)} | {b} | {a} | {d} |" for s, b, a, d in rows]
    else:
        lines = [f"  {'scope':<28} {'before':>8} {'after':>8} {'change':>10}"]
        lines += [f"  {log_escape(s)[:28]:<28} {b:>8} {a:>8} {d:>10}" for s, b, a, d in rows]
    return "\n".join(lines)


def run_update(args: argparse.Namespace) -> int:
    from ..baseline import (append_history, before_after_rows, changed_attacks, check_same_suite,
                            default_baseline_path, history_entry, history_path, make_baseline, read_history)
    from ..errors import UsageError
    from ..hashing import canonical_json
    from ..report.escape import log_escape
    from ..results import load_results, write_json_atomic

    results = load_results(args.results)
    if not results.get("complete", True):
        raise UsageError(f"{args.results}: the run is incomplete (finish it with `asr-gate run --resume`) "
                         f"and cannot become a baseline")
    path = args.baseline or default_baseline_path(results["suite"]["id"], args.baseline_dir)
    old = load_results(path) if os.path.exists(path) else None
    if old is not None:
        check_same_suite(old, results, baseline_path=path)
        if old["detector"]["hash"] != results["detector"]["hash"] and not args.allow_detector_change:
            raise UsageError(f"{path}: the results were judged by a different detector than the baseline; "
                             f"pass --allow-detector-change to accept the new detector")
    new = make_baseline(results, old)
    rows = before_after_rows(old, new)
    changes = changed_attacks(old, new)
    hist = history_path(path, results["suite"]["id"])

    print(f"baseline for suite '{log_escape(results['suite']['id'])}': {path}")
    print(render_table(rows))
    for kind, ids in changes.items():
        if ids and old is not None:
            print(f"  {kind} attacks: {len(ids)}")
    if args.open_pr:
        from .. import github
        from ..report.baseline_pr import pr_body

        token = os.environ.get(args.token_env)
        if not token or not args.repo:
            raise UsageError(f"--open-pr needs a token in ${args.token_env} and --repo (or $GITHUB_REPOSITORY)")
        history_lines = read_history(os.path.join(os.getcwd(), hist))
        history_text = "".join(canonical_json(h) + "\n" for h in history_lines) + canonical_json(history_entry(new)) + "\n"
        body = json_dump(new)
        client = github.connect(token, args.api_url, args.repo)
        base_branch = args.base or github.default_branch(client)
        url = github.open_or_update_pull_request(
            client, branch=args.branch or f"asr-gate/baseline/{_branch_safe(results['suite']['id'])}", base=base_branch,
            files={path: body, hist: history_text},
            message=f"asr-gate: update baseline for {results['suite']['id']}",
            title=f"asr-gate: update the {results['suite']['id']} baseline",
            body=pr_body(results["suite"]["id"], rows, changes, new, history_lines))
        print(f"pull request: {url}" if url else f"the baseline on {base_branch} is already up to date; no pull request needed")
        return 0
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    write_json_atomic(path, new)
    append_history(hist, new)
    print(f"wrote {path} and appended {hist}")
    return 0


def json_dump(data) -> str:
    import json

    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _branch_safe(suite_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "-" for ch in suite_id).strip(".-") or "suite"
