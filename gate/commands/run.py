"""`asr-gate run`: send every attack of a suite to a target, many times, and write results.json."""
from __future__ import annotations

import argparse
import re
import sys


def shard_arg(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)/(\d+)", text)
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise argparse.ArgumentTypeError(f"expected i/n with 1 <= i <= n, got '{text}'")
    return int(m.group(1)), int(m.group(2))


def positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return v


def rate_arg(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got '{text}'") from None
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got '{text}'")
    return v


def add_run_options(p: argparse.ArgumentParser) -> None:
    """Options shared by `run`, `gate` and `demo`."""
    p.add_argument("--attempts", type=positive_int, help="attempts per attack (overrides the suite)")
    p.add_argument("--concurrency", type=positive_int, help="parallel requests (overrides the target)")
    p.add_argument("--max-calls", type=positive_int, help="stop after this many target calls (retries included)")
    p.add_argument("--max-error-rate", type=rate_arg, default=0.2,
                   help="stop with exit 3 when more than this fraction of attempts fail (default 0.2)")
    p.add_argument("--shard", type=shard_arg, help="run only shard i of n (e.g. 2/4); combine with `merge`")
    sel = p.add_argument_group("selection (part of the suite; recorded in results.json, refused as a baseline "
                               "unless `baseline update --allow-subset`)")
    sel.add_argument("--only", action="append", metavar="GLOB",
                     help="only attacks whose id matches GLOB, e.g. 'inj-*' (repeatable: any of them)")
    sel.add_argument("--category", action="append", metavar="NAME", help="only attacks of category NAME (repeatable)")
    sel.add_argument("--tag", action="append", metavar="TAG", help="only attacks tagged TAG (repeatable)")
    p.add_argument("--max-cost", type=float, metavar="AMOUNT",
                   help="do not start when the estimated cost (target prices per 1k tokens) is above AMOUNT")
    p.add_argument("--engine", choices=("auto", "threads", "asyncio"), default="auto",
                   help="how attempts wait for the model: threads, or tasks on one event loop (faster at high "
                        "concurrency); auto (default) uses asyncio when the target is plain HTTP and no detector "
                        "calls a model, no rate limit, not sequential; the loop is uvloop's when installed "
                        "(ASR_GATE_EVENT_LOOP=asyncio: the standard one)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run a suite against a target and write results.json",
                       description="Send every attack of SUITE to TARGET the planned number of times; write "
                                   "DIR/results.json and DIR/transcript.jsonl (one line per attempt, flushed as it "
                                   "happens, so a killed run can continue with --resume).")
    p.add_argument("--suite", required=True, help="suite YAML file")
    p.add_argument("--target", required=True, help="target YAML file")
    p.add_argument("--out", default="asr-gate-out", help="output directory (default: asr-gate-out)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--dry-run", action="store_true",
                   help="check everything and print the planned calls, estimated tokens and cost; call nothing")
    p.add_argument("--baseline-target", metavar="TARGET",
                   help="live A/B: also run this target (e.g. guardrail off, model v1) at the same time; writes "
                        "DIR/baseline and DIR/candidate and prints the comparison")
    p.add_argument("--policy", help="policy YAML for the A/B comparison or the sequential design")
    seq = p.add_argument_group("sequential mode (docs/statistics.md §3.8)")
    seq.add_argument("--sequential", action="store_true",
                     help="run the attacks in 4 looks (25/50/75/100%%, shuffled within categories, all repeats of "
                          "an attack together) and stop as soon as the comparison with --baseline is clear "
                          "(O'Brien-Fleming boundaries); exit 1 on FAIL")
    seq.add_argument("--baseline", metavar="B.json", help="baseline results file for --sequential")
    seq.add_argument("--seed", type=int, default=0, help="seed of the sequential attack order (default 0)")
    seq.add_argument("--no-early-pass", action="store_true",
                     help="with --sequential: only stop early to FAIL; a PASS needs every look")
    add_run_options(p)
    p.set_defaults(func=run)


def options_from(args: argparse.Namespace, *, resume: bool = False):
    from ..run.runner import RunOptions
    from ..suite.select import selection_from

    return RunOptions(attempts=args.attempts, concurrency=args.concurrency, resume=resume,
                      max_calls=args.max_calls, max_error_rate=args.max_error_rate, shard=args.shard,
                      progress=None if args.quiet else sys.stderr,
                      selection=selection_from(args.only, args.category, args.tag) or None,
                      max_cost=args.max_cost, engine=args.engine)


def sequential_design(args: argparse.Namespace, suite):
    """The `gate.run.sequential.Design` for `run --sequential --baseline B [--policy P]` (UsageError when unusable):
    the baseline and policy read here, the design built by `gate.pipeline.sequential_design` like the gate's."""
    from ..errors import UsageError
    from ..pipeline import sequential_design as design_for_run
    from ..results import load_results, require_same_detector
    from ..results.measured import require_judged
    from ..verdict import Policy, load_policy

    if not args.baseline:
        raise UsageError("--sequential needs --baseline B.json (the results to compare with at each look)")
    if args.shard:
        raise UsageError("--sequential cannot be combined with --shard: every look needs the whole suite")
    if getattr(args, "baseline_target", None):
        raise UsageError("--sequential cannot be combined with --baseline-target")
    baseline = load_results(args.baseline, strict=False)
    require_judged(baseline, args.baseline, role="baseline")
    policy = load_policy(args.policy) if args.policy else Policy()
    require_same_detector(baseline, suite.detector_hash(), where=f"{args.baseline}: the baseline", before_run=True)
    return design_for_run(args, suite, baseline, policy, args.baseline), policy


def _dry_run(args: argparse.Namespace, suite, target) -> int:
    """Print what `run` would send and cost (both targets of a live A/B), without a call or a file."""
    from ..run.runner import preview
    from ..targets import load_target

    targets = [("", target)] + ([("baseline target: ", load_target(args.baseline_target))] if args.baseline_target else [])
    try:
        for label, t in targets:
            print(label + preview(suite, t, options_from(args)).line())
    finally:
        for _, t in targets:
            t.close()
        suite.close()
    return 0


def run(args: argparse.Namespace) -> int:
    from ..report.run_summary import render_run_summary
    from ..run.runner import run_suite
    from ..suite import load_suite
    from ..targets import load_target

    if args.baseline and not args.sequential:
        from ..errors import UsageError

        raise UsageError("--baseline is for --sequential (to compare a finished run use `asr-gate compare`)")
    suite = load_suite(args.suite)
    if args.sequential:
        try:
            design, policy = sequential_design(args, suite)
        except BaseException:
            suite.close()
            raise
    target = load_target(args.target)
    if args.dry_run:
        return _dry_run(args, suite, target)
    if args.baseline_target:
        return _run_ab(args, suite, target)
    options = options_from(args, resume=args.resume)
    if args.sequential:
        options.sequential = design
    try:
        results = run_suite(suite, target, args.out, options)
    finally:
        target.close()
        suite.close()
    seq = results.get("sequential")
    shown = results
    if seq and seq.get("decision") and seq.get("stopped_early"):
        shown = dict(results, complete=True)  # stopped by design, not interrupted: nothing to --resume
    print(render_run_summary(shown))
    print(f"results: {args.out}/results.json  transcript: {args.out}/transcript.jsonl")
    if seq:
        return _report_sequential(seq, policy)
    return 0


def _report_sequential(seq: dict, policy) -> int:
    """Print the sequential decision; its exit code (1 for FAIL, or INCONCLUSIVE under on_inconclusive: fail)."""
    from ..formatting import pts

    decision = seq.get("decision") or "inconclusive"
    last = (seq.get("history") or [{}])[-1]
    where = (f"look {seq['look']} of {seq['looks_planned']}: {seq['attacks_run']} of {seq['attacks_planned']} "
             f"attacks, {seq['attempts_run']} of {seq['attempts_planned']} attempts")
    print(f"\nsequential ({seq['design']}), {where}")
    print(f"  change in ASR {pts(last.get('delta'), ' pp')}, repeated CI [{pts(last.get('lower'), ' pp')}, "
          f"{pts(last.get('upper'), ' pp')}] "
          f"(margin {100 * seq['margin']:.1f} pp)")
    verdict = decision.upper() + (" (stopped early)" if seq.get("stopped_early") else "")
    print(f"  decision: {verdict}")
    if decision == "fail":
        return 1
    if decision == "inconclusive" and getattr(policy, "on_inconclusive", "neutral") == "fail":
        return 1
    return 0


def _run_ab(args: argparse.Namespace, suite, target) -> int:
    """`run --baseline-target`: both arms at once, then one comparison."""
    from ..verdict import Policy, compare, load_policy
    from ..report import text
    from ..report.run_summary import render_run_summary
    from ..run.runner import run_ab
    from ..targets import load_target

    policy = load_policy(args.policy) if args.policy else Policy()
    base_target = load_target(args.baseline_target)
    try:
        base, cand = run_ab(suite, target, base_target, args.out, options_from(args, resume=args.resume))
    finally:
        target.close()
        base_target.close()
        suite.close()
    for label, res in (("baseline", base), ("candidate", cand)):
        print(f"== {label}")
        print(render_run_summary(res))
        print()
    verdict = compare(base, cand, policy)
    print(text.render(verdict))
    print(f"results: {args.out}/baseline/results.json  {args.out}/candidate/results.json")
    return verdict.exit_code
