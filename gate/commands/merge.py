"""`asr-gate merge`: combine the results of `run --shard i/n` jobs into one results file."""
from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="combine sharded results files into one",
                       description="Combine results of `asr-gate run --shard i/n` (all n shards) into one "
                                   "results.json with the same counts as an unsharded run.")
    p.add_argument("files", nargs="+", metavar="RESULTS.json")
    p.add_argument("--out", required=True, help="merged results file to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..results import load_results, merge_results, write_json_atomic

    parts = [(path, load_results(path)) for path in args.files]
    merged = merge_results(parts)
    write_json_atomic(args.out, merged)
    t = merged["totals"]
    asr = "n/a" if t["asr"] is None else f"{100 * t['asr']:.1f}%"
    print(f"merged {len(parts)} files: {t['attacks']} attacks, {t['attempts']} attempts, ASR {asr} → {args.out}")
    return 0
