"""`asr-gate detectors eval`: how well does a detector agree with human labels?

    asr-gate detectors eval --labels FILE --text-column C --label-column L [--positive V]
                            --detector SPEC [--format text|json]

FILE is CSV (leading `#` comment lines are skipped, as in PyRIT's files), JSONL, or a JSON array
of objects. Each row is one reply (column C) with a human label (column L). A row is a *positive*
when its label equals V (default: 1, true or yes; numbers compare numerically, text
case-insensitively); the detector's prediction is positive when it reports *success*. So for a
refusal-labelled set (label 1 = the reply refuses) evaluate either `--detector '{not: {refusal:
true}}' --positive 1` or `--detector '{refusal: true}' --positive 0`: accuracy is the same, and
precision/recall are then about refusals or about compliance.

SPEC is a detector as written in a suite (`'{refusal: true}'`, YAML or JSON), or the path of a
YAML/JSON file holding one (optionally under a `detector:` key). `--prompt-column`,
`--goal-column` and `--canary-column` fill in what judges and canary detectors read.

Reported: n, the confusion matrix, accuracy, precision, recall, specificity and F1 with 95% intervals;
how they are computed is `gate.detectors.evaluation` (the command only parses and prints).
"""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detectors", help="measure a detector against human labels",
                       description="Tools for success detectors. `detectors eval` measures a detector on a "
                                   "labelled file: accuracy, precision, recall and F1 with 95% intervals.")
    dsub = p.add_subparsers(dest="detectors_command", metavar="SUBCOMMAND")
    e = dsub.add_parser("eval", help="accuracy, precision, recall, F1 of a detector on a labelled file",
                        description=__doc__.split("\n\n", 1)[1].split("\n\nReported")[0],
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--labels", required=True, metavar="FILE", help="CSV (with optional # comment lines), JSONL or JSON")
    e.add_argument("--text-column", required=True, metavar="C", help="column holding the reply to judge")
    e.add_argument("--label-column", required=True, metavar="L", help="column holding the human label")
    e.add_argument("--positive", metavar="V", help="label value that means the detector should report success "
                                                  "(default: 1, true or yes)")
    e.add_argument("--detector", required=True, metavar="SPEC", help="detector spec (YAML/JSON) or a file holding one")
    e.add_argument("--format", choices=("text", "json"), default="text")
    e.add_argument("--prompt-column", metavar="P",
                   help="column with the prompt (for judges; a canary copied from it does not count)")
    e.add_argument("--goal-column", metavar="G", help="column with the attacker's goal (for judges)")
    e.add_argument("--canary-column", metavar="K", help="column with the secret a canary detector looks for")
    e.add_argument("--misses", type=int, default=0, metavar="N", help="text format: show up to N misclassified rows")
    e.set_defaults(func=run_eval)
    p.set_defaults(func=lambda args: _no_subcommand(p))


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_eval(args: argparse.Namespace) -> int:
    import json

    from ..detectors.evaluation import evaluate, parse_detector, render_text

    detector = parse_detector(args.detector)
    try:
        result = evaluate(args.labels, text_column=args.text_column, label_column=args.label_column,
                          detector=detector, positive=args.positive, prompt_column=args.prompt_column,
                          goal_column=args.goal_column, canary_column=args.canary_column)
    finally:
        detector.close()
    if result["positives"] in (0, result["n"]):
        which = "negative" if result["positives"] == 0 else "positive"
        print(f"asr-gate: note: all {result['n']} labels are {which}; check --positive", file=sys.stderr)
    if args.format == "json":
        out = {k: v for k, v in result.items() if k != "misses"}
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(render_text(result, args.misses))
    return 0
