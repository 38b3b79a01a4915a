"""`asr-gate merge`: combine the results of `run --shard i/n` jobs into one results file."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="combine sharded results files into one",
                       description="Combine results of `asr-gate run --shard i/n` (all n shards) into one "
                                   "results.json with the same counts as an unsharded run.")
    p.add_argument("files", nargs="+", metavar="RESULTS.json")
    p.add_argument("--out", required=True, help="merged results file to write")
    p.add_argument("--allow-incomplete", action="store_true",
                   help="merge shards whose run did not finish (the merged file is marked incomplete)")
    p.add_argument("--head-sha", type=_sha, metavar="SHA",
                   help="record SHA as the commit the shards measured (git.head_sha), e.g. the pull request's "
                        "head in a sharded workflow, so that `asr-gate publish` can attach the verdict to it")
    p.set_defaults(func=run)


def _sha(text: str) -> str:
    t = text.strip().lower()
    if not (7 <= len(t) <= 64 and all(c in "0123456789abcdef" for c in t)):
        raise argparse.ArgumentTypeError(f"expected a commit SHA (hex), got '{text[:80]}'")
    return t


def run(args: argparse.Namespace) -> int:
    from ..errors import UsageError
    from ..formatting import pct
    from ..results import load_results, merge_results, write_json_atomic

    parts = [(path, load_results(path)) for path in args.files]
    for path, r in parts:
        if r.get("sequential"):
            raise UsageError(f"{path}: a sequential run (--sequential) is not a shard and cannot be merged")
        if r.get("complete") is False and not args.allow_incomplete:
            raise UsageError(f"{path}: the run of shard {r.get('shard') or '?'} did not finish (finish it with "
                             f"`asr-gate run --resume`, or pass --allow-incomplete)")
    merged = merge_results(parts)
    if args.head_sha:
        merged["git"] = {**(merged.get("git") or {}), "head_sha": args.head_sha}
    write_json_atomic(args.out, merged)
    t = merged["totals"]
    print(f"merged {len(parts)} files: {t['attacks']} attacks, {t['attempts']} attempts, ASR {pct(t['asr'])} "
          f"→ {args.out}")
    return 0
