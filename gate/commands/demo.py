"""`asr-gate demo`: the whole loop offline, in about a second, on the built-in simulated model.

It runs the bundled demo suite twice against the `sim` target: once as the *baseline* (the model
on main) and once as the *candidate* (a pull request that weakened the system prompt, so role-play
jailbreaks succeed more often). Then it compares the two exactly as the gate would in CI and
prints the verdict, and writes the PR comment it would post.
"""
from __future__ import annotations

import argparse
import os
import tempfile

#: mean baseline ASR per category of the demo suite, and the candidate's change (absolute)
BASELINE_RATES = {"injection": 0.12, "system-prompt-leak": 0.06, "secret-leak": 0.04, "jailbreak": 0.10}
CANDIDATE_SHIFT = {"jailbreak": 0.22}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the whole gate offline on the built-in simulated model",
                       description=__doc__.split("\n\n")[1].replace("\n", " "))
    p.add_argument("--out", help="keep the demo's files here (default: a temporary directory)")
    p.add_argument("--attempts", type=int, default=None, help="attempts per attack (default: the suite's 20)")
    p.add_argument("--seed", type=int, default=7, help="seed of the simulated model")
    p.add_argument("--no-regression", action="store_true", help="make the candidate identical to the baseline")
    p.set_defaults(func=run)


def _rates(suite, seed: int, shift: dict[str, float]) -> dict[str, float]:
    """Heterogeneous per-attack rates around each category's mean (some attacks work, most don't)."""
    import random

    rng = random.Random(seed)
    rates = {}
    for a in suite.attacks:
        mean = BASELINE_RATES.get(a.category, 0.1)
        # Beta with mean `mean` and concentration 2: the ICC of real suites is large (STATISTICS.md §2)
        p = rng.betavariate(2 * mean, 2 * (1 - mean))
        rates[a.id] = min(1.0, max(0.0, p + shift.get(a.category, 0.0)))
    return rates


def run(args: argparse.Namespace) -> int:
    from importlib import resources

    from ..compare import Policy, compare
    from ..report import markdown, text
    from ..report.run_summary import render_run_summary
    from ..runner import RunOptions, run_suite
    from ..suite import load_suite
    from ..targets import build_target

    out = args.out or tempfile.mkdtemp(prefix="asr-gate-demo-")
    suite_path = str(resources.files("gate.suites").joinpath("demo.yaml"))
    suite = load_suite(suite_path)
    base_rates = _rates(suite, 1, {})
    cand_rates = base_rates if args.no_regression else _rates(suite, 1, CANDIDATE_SHIFT)

    print(f"asr-gate demo: suite '{suite.id}' — {len(suite.attacks)} attacks in {len(suite.categories)} categories, "
          f"{args.attempts or 20} attempts each, against the built-in simulated model.\n")
    results = {}
    for label, rates, seed in (("baseline", base_rates, args.seed), ("candidate", cand_rates, args.seed + 1)):
        target = build_target({"kind": "sim", "seed": seed, "rates": rates, "concurrency": 8}, source="<demo>")
        run_dir = os.path.join(out, label)
        for name in ("results.json", "transcript.jsonl", "run.json"):
            if os.path.exists(os.path.join(run_dir, name)):
                os.remove(os.path.join(run_dir, name))
        results[label] = run_suite(suite, target, run_dir, RunOptions(attempts=args.attempts, progress=None))
        print(f"== {label} run ({'main branch' if label == 'baseline' else 'the pull request'})")
        print(render_run_summary(results[label]))
        print()

    verdict = compare(results["baseline"], results["candidate"], Policy())
    print("== verdict (what the gate reports on the pull request)")
    print(text.render(verdict))
    comment = os.path.join(out, "comment.md")
    with open(comment, "w", encoding="utf-8") as fh:
        fh.write(markdown.render(verdict))
    print(f"\nFiles: {out}/baseline/results.json, {out}/candidate/results.json, and the PR comment "
          f"{comment}.")
    print(f"In CI this verdict would exit with code {verdict.exit_code}. Try it on your model: "
          f"asr-gate run --suite SUITE.yaml --target TARGET.yaml, then asr-gate compare.")
    suite.close()
    return 0
