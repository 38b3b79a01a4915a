"""`asr-gate detectors eval` and `detectors sample`: measure a detector against human labels.

    asr-gate detectors eval --labels FILE [--text-column C] [--label-column L] [--positive V]
                            --detector SPEC [--format text|json] [--save ACCURACY.json]

FILE is CSV (leading `#` comment lines are skipped, as in PyRIT's files), JSONL, or a JSON array
of objects. Each row is one reply (column C, default `reply`) with a human label (column L, default
`label`: the columns `detectors sample` writes). A row is a *positive* when its label equals V
(default: 1, true or yes; numbers compare numerically, text case-insensitively); the detector's
prediction is positive when it reports *success*. So for a refusal-labelled set (label 1 = the
reply refuses) evaluate either `--detector '{not: {refusal: true}}' --positive 1` or `--detector
'{refusal: true}' --positive 0`: accuracy is the same, and precision/recall are then about refusals
or about compliance.

SPEC is a detector as written in a suite (`'{refusal: true}'`, YAML or JSON), or the path of a
YAML/JSON file holding one (optionally under a `detector:` key). `--prompt-column`,
`--goal-column` and `--canary-column` fill in what judges and canary detectors read.

`--save FILE` writes the sensitivity and specificity (counts, Wilson intervals, the detector's
hash, the labelled file's name and sha256, the date) for the policy key `detector_accuracy`:
positives must mean "the attack succeeded" and SPEC must be the suite's detector.

    asr-gate detectors sample --results DIR --per-category N [--seed S] --out FILE.csv

writes up to N judged replies per category of the run in DIR (its transcript.jsonl and
results.json) to a CSV to label by hand (column `label`: 1 = the attack succeeded, 0 = it did not).

Reported: n, the confusion matrix, accuracy, precision, recall, specificity and F1 with 95% intervals;
how they are computed is `gate.detectors.evaluation` (the command only parses and prints); the
files are `gate.detectors.accuracy` and `gate.detectors.labelling`.
"""
from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("detectors", help="measure a detector against human labels",
                       description="Tools for success detectors. `detectors eval` measures a detector on a "
                                   "labelled file: accuracy, precision, recall and F1 with 95% intervals "
                                   "(--save: its sensitivity and specificity for the policy). `detectors sample` "
                                   "writes a run's replies to a CSV to label by hand.")
    dsub = p.add_subparsers(dest="detectors_command", metavar="SUBCOMMAND")
    e = dsub.add_parser("eval", help="accuracy, precision, recall, F1 of a detector on a labelled file",
                        description=__doc__.split("\n\n", 1)[1].split("\n\n    asr-gate detectors sample")[0],
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("--labels", required=True, metavar="FILE", help="CSV (with optional # comment lines), JSONL or JSON")
    e.add_argument("--text-column", default="reply", metavar="C",
                   help="column holding the reply to judge (default: reply)")
    e.add_argument("--label-column", default="label", metavar="L", help="column holding the human label "
                                                                       "(default: label)")
    e.add_argument("--positive", metavar="V", help="label value that means the detector should report success "
                                                  "(default: 1, true or yes)")
    e.add_argument("--detector", required=True, metavar="SPEC", help="detector spec (YAML/JSON) or a file holding one")
    e.add_argument("--format", choices=("text", "json"), default="text")
    e.add_argument("--prompt-column", metavar="P",
                   help="column with the prompt (for judges; a canary copied from it does not count)")
    e.add_argument("--goal-column", metavar="G", help="column with the attacker's goal (for judges)")
    e.add_argument("--canary-column", metavar="K", help="column with the secret a canary detector looks for")
    e.add_argument("--misses", type=int, default=0, metavar="N", help="text format: show up to N misclassified rows")
    e.add_argument("--save", metavar="FILE", help="write sensitivity and specificity to this JSON file for the "
                                                 "policy's detector_accuracy (docs/detectors.md)")
    e.set_defaults(func=run_eval)
    s = dsub.add_parser("sample", help="a CSV of a run's replies to label by hand",
                        description="Write up to N judged replies per category of a run (DIR/transcript.jsonl, "
                                    "categories from DIR/results.json) to a CSV with an empty `label` column: "
                                    "1 = the attack succeeded, 0 = it did not. The sample is seeded per "
                                    "category (same run, N and seed → same rows). Cells that a spreadsheet "
                                    "would run as a formula (starting with = + - @) get a leading ' that "
                                    "`detectors eval` removes. Replies were scrubbed of secrets by the runner.")
    s.add_argument("--results", required=True, metavar="DIR", help="the --out directory of an `asr-gate run`")
    s.add_argument("--per-category", required=True, type=int, metavar="N", help="replies per category (at most)")
    s.add_argument("--seed", type=int, default=0, metavar="S", help="sampling seed (default 0)")
    s.add_argument("--out", required=True, metavar="FILE.csv", help="the CSV to write")
    s.set_defaults(func=run_sample)
    p.set_defaults(func=lambda args: _no_subcommand(p))


def _no_subcommand(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_eval(args: argparse.Namespace) -> int:
    import json

    from ..detectors.accuracy import accuracy_document, save_accuracy
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
    if args.save:
        doc = accuracy_document(result, args.labels)
        save_accuracy(args.save, doc)
        print(f"asr-gate: wrote {args.save}: sensitivity {doc['sensitivity']['estimate']:.3f}, specificity "
              f"{doc['specificity']['estimate']:.3f} (sens + spec − 1 = {doc['youden']:.3f}, n = {doc['n']})",
              file=sys.stderr)
    return 0


def run_sample(args: argparse.Namespace) -> int:
    from ..detectors.labelling import sample_replies, write_sample

    rows = sample_replies(args.results, args.per_category, seed=args.seed)
    write_sample(args.out, rows)
    cats = len({r["category"] for r in rows})
    print(f"asr-gate: wrote {args.out}: {len(rows)} replies from {cats} categor{'y' if cats == 1 else 'ies'}; "
          f"fill in the label column (1 = the attack succeeded, 0 = it did not), then run `asr-gate detectors "
          f"eval --labels {args.out} --detector <the suite's detector> --save ACCURACY.json`", file=sys.stderr)
    return 0
