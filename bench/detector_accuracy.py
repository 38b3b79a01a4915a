"""Accuracy of the refusal detector on labelled replies, before and after the current rules (README, "Detectors").

    .venv/bin/python bench/detector_accuracy.py [--data ../shared/data] [--out bench/results/detector_accuracy.md]

Every number comes from the code behind `asr-gate detectors eval` (`gate.detectors.evaluation`), on files
read in place from the shared data directory (never copied into this repository) and on this repository's
own labelled sets:

* PyRIT's refusal scorer set (`refusal_scorer/refusal.csv`, `refusal_extra.csv`, `sample/mini_refusal.csv`):
  `human_score` 1 = the reply is a refusal. Its labels are judged against the `objective` (an answer to a
  different question is a refusal), so the detector gets the objective as the attack's goal, as
  `detectors eval --goal-column objective` does; a "reply only" row shows it without.
* The SmolLM2-135M-Instruct replies labelled by hand for this project
  (`tests/fixtures/smollm2_refusal_labels.csv`, rule in docs/refusal-labels.md), with its dev/held-out split,
  and the second round of such replies (`smollm2_refusal_labels_r2.csv`, development data).
  The request each reply answered is read in place by its reference (`bench/refusal_replies.py`).
* This project's style set (`tests/fixtures/refusal_styles.csv`): development batches, and batch6, held out.
* PyRIT's objective set (`objective/*.csv`, 1 = the reply achieves the attacker's objective), scored as an
  attack-success classifier.
* JailbreakBench artifacts: the machine label `jailbroken` (an LLM judge, not humans), used to count
  how often a jailbroken reply is called a refusal (which would hide a regression), and how many of the
  Llama-2-chat and GPT-4 replies it calls not jailbroken are called refusals (most of those are refusals).
* garak's published accuracy of its refusal-keyword detector (`mitigation.MitigationBypass`), for reference.

"Before" is the rule set at commit `BEFORE_COMMIT` (`BEFORE_VERSION`), loaded from git; "after" is the working
tree. The detector is scored as a gate uses it, `{refusal: true}` (success = not a refusal): *specificity* is
the share of refusals it calls refusals, and 1 − specificity its **false-success rate**, the share of
refusals counted as attack successes. The script also times loading the detector in a fresh interpreter.
"""
from __future__ import annotations

import argparse
import csv
import glob
import io
import json
import os
import statistics
import subprocess
import sys
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from gate.detectors.evaluation import confusion, evaluate, metrics, parse_detector  # noqa: E402
from gate.detectors.interface import DetectContext  # noqa: E402

#: the refusal rules before this change (refusal-v4)
BEFORE_COMMIT = "943f8c0"
BEFORE_VERSION = "refusal-v4"
STYLES = os.path.join(ROOT, "tests", "fixtures", "refusal_styles.csv")
SMOLLM = os.path.join(ROOT, "tests", "fixtures", "smollm2_refusal_labels.csv")
SMOLLM_R2 = os.path.join(ROOT, "tests", "fixtures", "smollm2_refusal_labels_r2.csv")


def read_rows(path: str) -> list[dict]:
    """Rows of a CSV whose leading lines may be `#` comments (PyRIT's, ours)."""
    with open(path, encoding="utf-8", newline="") as fh:
        text = fh.read()
    lines = text.splitlines(True)
    start = 0
    while start < len(lines) and lines[start].lstrip().startswith("#"):
        start += 1
    return list(csv.DictReader(io.StringIO("".join(lines[start:]))))


def before_detector():
    """The refusal detector at BEFORE_COMMIT, or None when git cannot show it."""
    try:
        src = subprocess.run(["git", "-C", ROOT, "show", f"{BEFORE_COMMIT}:gate/detectors/refusal.py"],
                             capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("gate.detectors._refusal_before")
    module.__package__ = "gate.detectors"
    exec(compile(src, f"{BEFORE_COMMIT}:gate/detectors/refusal.py", "exec"), module.__dict__)
    return module.RefusalDetector()


def judged(detector, items: list[tuple[bool, str, str, str]]) -> dict:
    """Metrics of `detector` as `{refusal: true}` on (is_refusal, reply, goal, prompt) items: positive = not a refusal."""
    pairs = []
    for refusal, reply, goal, prompt in items:
        ctx = DetectContext(prompt=prompt, meta={"goal": goal} if goal else {})
        pairs.append((detector.detect(reply, ctx).success, not refusal))
    return metrics(confusion(pairs))


def fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def fmt_ci(m: dict, key: str) -> str:
    ci = m["ci"][key]
    return fmt(m[key]) + ("" if not ci else f" [{ci[0]:.3f}, {ci[1]:.3f}]")


def compare_row(name: str, before: dict | None, after: dict) -> str:
    c = after["confusion"]
    refusals = c["tn"] + c["fp"]
    fsr = "–" if after["specificity"] is None else f"{1 - after['specificity']:.3f}"
    b_acc = fmt_ci(before, "accuracy") if before else "n/a"
    b_spec = fmt_ci(before, "specificity") if before else "n/a"
    return (f"| {name} | {after['n']} | {refusals} | {b_acc} | **{fmt_ci(after, 'accuracy')}** | {b_spec} | "
            f"**{fmt_ci(after, 'specificity')}** | {fsr} |")


def classic_row(name: str, m: dict) -> str:
    c = m["confusion"]
    return (f"| {name} | {m['n']} | **{fmt_ci(m, 'accuracy')}** | {fmt_ci(m, 'precision')} | {fmt_ci(m, 'recall')} | "
            f"{fmt(m['specificity'])} | {c['tp']} / {c['fp']} / {c['fn']} / {c['tn']} |")


def load_time(runs: int = 7) -> float:
    """Median seconds, in a fresh interpreter, to import the detectors, build `{refusal: true}` (which compiles
    its patterns) and judge one reply."""
    code = ("import time; t = time.perf_counter(); from gate.detectors import build_detector; "
            "from gate.detectors.interface import DetectContext; d = build_detector({'refusal': True}); "
            "d.detect(\"I'm sorry, but I can't help with that.\", DetectContext()); "
            "print(time.perf_counter() - t)")
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip()))
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.normpath(os.path.join(ROOT, "..", "shared", "data")))
    ap.add_argument("--out", default=os.path.join(HERE, "results", "detector_accuracy.md"))
    args = ap.parse_args(argv)
    pyrit = os.path.join(args.data, "pyrit_scorer_evals")
    if not os.path.isdir(pyrit):
        print(f"no PyRIT data under {args.data} (expected pyrit_scorer_evals/); pass --data", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    from gate.detectors.refusal import RULES_VERSION, RefusalDetector

    after, before = RefusalDetector(), before_detector()
    compare: list[tuple[str, list]] = []

    # -- PyRIT refusal sets (goal = objective) -------------------------------------------------
    names = ("refusal.csv", "refusal_extra.csv")
    ref_items = {}
    for name in names + ("mini_refusal.csv",):
        folder = "sample" if name.startswith("mini") else "refusal_scorer"
        rows = read_rows(os.path.join(pyrit, folder, name))
        ref_items[name] = [(r["human_score"].strip() == "1", r["assistant_response"], r["objective"], r["objective"])
                           for r in rows]
    combined = ref_items["refusal.csv"] + ref_items["refusal_extra.csv"]
    compare += [(f"PyRIT `{n}`", ref_items[n]) for n in names]
    compare.append(("**PyRIT refusal.csv + refusal_extra.csv**", combined))
    compare.append(("… the same, reply only (no goal)", [(y, t, "", "") for y, t, _, _ in combined]))
    compare.append(("PyRIT `sample/mini_refusal.csv`", ref_items["mini_refusal.csv"]))

    # -- own SmolLM2 set ----------------------------------------------------------------------
    smollm_note = ""
    if os.path.isfile(SMOLLM):
        from refusal_replies import prompt_index

        index = prompt_index(args.data)
        rows = read_rows(SMOLLM)
        missing = sum(r["ref"] not in index for r in rows)
        items = [(r["refusal"] == "1", r["reply"], index.get(r["ref"], ""), index.get(r["ref"], ""), r["split"])
                 for r in rows]
        compare.append(("**SmolLM2-135M replies, labelled by hand (all)**", [i[:4] for i in items]))
        compare.append(("… development half", [i[:4] for i in items if i[4] == "dev"]))
        compare.append(("… held-out half", [i[:4] for i in items if i[4] == "test"]))
        compare.append(("… all, reply only (no goal)", [(i[0], i[1], "", "") for i in items]))
        if os.path.isfile(SMOLLM_R2):
            r2 = [(r["refusal"] == "1", r["reply"], index.get(r["ref"], ""), index.get(r["ref"], ""))
                  for r in read_rows(SMOLLM_R2)]
            compare.append(("SmolLM2 round 2 (other requests; blind for the before rules, then development)", r2))
        if missing:
            smollm_note = f" ({missing} requests not found under --data: judged without their goal)"

    # -- own style set ------------------------------------------------------------------------
    styles = read_rows(STYLES)
    dev_styles = [r for r in styles if r["style"] not in ("batch5", "batch6")]
    compare.append(("style set, development batches",
                    [(r["refusal"] == "1", r["reply"], "", "") for r in dev_styles]))
    for batch, what in (("batch5", "development"), ("batch6", "held out")):
        compare.append((f"style set `{batch}` ({what})",
                        [(r["refusal"] == "1", r["reply"], "", "") for r in styles if r["style"] == batch]))

    results = [(name, judged(before, items) if before else None, judged(after, items)) for name, items in compare]
    pyrit_misses = []
    for name in names:
        r = evaluate(os.path.join(pyrit, "refusal_scorer", name), text_column="assistant_response",
                     label_column="human_score", positive="0", goal_column="objective",
                     detector=parse_detector("{refusal: true}"))
        pyrit_misses += [f"`{name}`:{m['line']} ({'refusal called a success' if m['predicted'] else 'compliance called a refusal'})"
                         for m in r["misses"]]

    # -- PyRIT objective set ------------------------------------------------------------------
    obj_files = sorted(glob.glob(os.path.join(pyrit, "objective", "*.csv")))
    conf = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for path in obj_files:
        r = evaluate(path, text_column="assistant_response", label_column="human_score", positive="1",
                     detector=parse_detector("{refusal: true}"), goal_column="objective")
        for k in conf:
            conf[k] += r["confusion"][k]
    obj = metrics(conf)

    # -- JailbreakBench (machine labels) -------------------------------------------------------
    jb = {"after": [0, 0], "before": [0, 0]}
    held = {"after": [0, 0], "before": [0, 0]}  # not jailbroken, Llama-2-chat and GPT-4, outside the JBC template
    for path in sorted(glob.glob(os.path.join(args.data, "jailbreakbench_artifacts", "attack-artifacts", "*", "*",
                                               "*.json"))):
        model = os.path.basename(path)
        method = os.path.basename(os.path.dirname(os.path.dirname(path)))
        with open(path, encoding="utf-8") as fh:
            for rec in json.load(fh)["jailbreaks"]:
                if rec.get("response") is None:
                    continue
                if rec["jailbroken"]:
                    tally = jb
                elif method != "JBC" and (model.startswith("llama-2") or model.startswith("gpt-4")):
                    tally = held
                else:
                    continue
                ctx = DetectContext(prompt=rec.get("prompt") or "", meta={"goal": rec["goal"]})
                for key, det in (("after", after), ("before", before)):
                    if det is not None:
                        tally[key][0] += 1
                        tally[key][1] += not det.detect(rec["response"], ctx).success

    garak = None
    gpath = os.path.join(args.data, "garak", "detectors_eval", "detector_metrics_summary.json")
    if os.path.isfile(gpath):
        with open(gpath, encoding="utf-8") as fh:
            garak = json.load(fh).get("results", {}).get("mitigation.MitigationBypass", {}).get("metrics")
    load_s = load_time()
    try:
        sha = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             check=False).stdout.strip() or "unknown"
    except OSError:
        sha = "unknown"

    head = ("| labelled set | n | refusals | accuracy before | accuracy after | specificity before | "
            "specificity after | false-success rate after |\n|---|---|---|---|---|---|---|---|")
    lines = [
        "# Refusal detector accuracy",
        "",
        f"Generated by `bench/detector_accuracy.py` (rules `{RULES_VERSION}`, commit {sha}) in "
        f"{time.perf_counter() - t0:.1f} s. Labelled files are read in place from the shared data directory.",
        f"\"Before\" is `{BEFORE_VERSION}` (commit {BEFORE_COMMIT}), \"after\" `{RULES_VERSION}`. Intervals: Wilson 95%.",
        "",
        "## Refusal-labelled sets: before and after",
        "",
        "The detector as a gate uses it, `{refusal: true}` (success = the reply is not a refusal; a partial refusal",
        "is a refusal). *Specificity* is the share of refusals called refusals; the **false-success rate**",
        "(1 − specificity) is the share of refusals counted as attack successes. PyRIT rows give the detector",
        "the row's objective as the goal (`detectors eval --goal-column objective`), as a suite's `goal:` does.",
        "The SmolLM2 sets get each reply's request as their goal" + smollm_note + ".",
        "",
        head,
    ]
    lines += [compare_row(name, b, a) for name, b, a in results]
    lines += [
        "",
        "How the sets were used. PyRIT's refusal sets and the style set's development batches and `batch5` were used",
        "to write the rules (all of their rows were seen); `batch6` (written with `batch5` in the styles of",
        "Llama-2-chat, Mistral and GPT-4 on requests like XSTest's) is held out. The SmolLM2 replies are split in",
        "two by a hash of their id; only the development half's errors were looked at. The second round of SmolLM2",
        "replies (other requests, labelled before any detector saw them) was scored blind by the \"before\" rules,",
        "then its errors were read to write the \"after\" rules. The held-out rows are the better guide to replies",
        "unlike these.",
        "",
        "A small trained model on top of the rules (logistic regression over hashed n-grams, lexicon and goal",
        "features, pure Python at inference) was tried and cross-validated on the development data",
        "(`bench/train_refusal.py`, bench/results/refusal_model.md). It found no net gain on any source: it is not",
        "used.",
        "",
        "The remaining errors on PyRIT's refusal sets, for the reader to judge in the shared data (file, line; rows",
        "are not quoted here): " + (", ".join(pyrit_misses) if pyrit_misses else "none") + ". Most are replies that",
        "need the meaning of the request: a plan to write lyrics instead of the lyrics, a short joke given for a",
        "biology question, a recipe for another dish, a complying persona after a lecture (the detector counts a",
        "complying persona as a success).",
        "",
        "## PyRIT objective set (human labels: 1 = the reply achieves the attacker's objective)",
        "",
        "Detector `{refusal: true}` with the objective as goal, positive = label 1: *precision* is the share of",
        "replies judged successful attacks that are, *recall* the share of successful attacks found.",
        "",
        "| set | n | accuracy [95% CI] | precision | recall | specificity | tp / fp / fn / tn |",
        "|---|---|---|---|---|---|---|",
        classic_row(f"`objective/*.csv` ({len(obj_files)} files)", obj),
        "",
        "Most errors are failed attacks called successes: sanitised, evasive or off-goal answers on the right",
        "topic with no refusal language, which only a judge that knows the objective can grade. A few successful",
        "attacks are called refusals: they decline part of the request and then give the substance anyway",
        "(a partial refusal is a refusal under this detector's rule; PyRIT's objective labels count the substance).",
        "",
        "## Other references",
        "",
    ]
    for key in ("before", "after"):
        total, refused = jb[key]
        if total:
            lines.append(f"- JailbreakBench artifacts, {key} (machine labels from an LLM judge; goal and prompt given): "
                         f"{refused} of {total} jailbroken replies are called refusals ({refused / total:.1%}).")
    if held["after"][0]:
        b, a = held["before"], held["after"]
        lines.append(f"- JailbreakBench replies of Llama-2-7b-chat and GPT-4 that the judge called *not* jailbroken (GCG, "
                     f"PAIR, random search, DSN; mostly refusals, but the label is not \"refusal\"): called refusals "
                     f"{b[1]} of {b[0]} before, {a[1]} of {a[0]} after.")
    if garak:
        lines.append(f"- garak's refusal-keyword detector `mitigation.MitigationBypass` (garak's own evaluation, "
                     f"n = 7,166 balanced): accuracy {garak['accuracy']:.3f}, hit recall {garak['hit_recall']:.3f}, "
                     f"hit specificity {garak['hit_specificity']:.3f}.")
    lines += [
        f"- Load time: importing the detectors, building `{{refusal: true}}` (compiling its patterns) and judging one "
        f"reply takes {load_s * 1000:.0f} ms in a fresh interpreter (median of 7).",
        "",
        "## Reproduce",
        "",
        "```sh",
        ".venv/bin/python bench/detector_accuracy.py          # this file",
        "D=../shared/data/pyrit_scorer_evals                   # one row by hand:",
        ".venv/bin/asr-gate detectors eval --labels $D/refusal_scorer/refusal.csv \\",
        "    --text-column assistant_response --label-column human_score --positive 0 \\",
        "    --goal-column objective --detector '{refusal: true}' --misses 10",
        ".venv/bin/asr-gate detectors eval --labels tests/fixtures/smollm2_refusal_labels.csv \\",
        "    --text-column reply --label-column refusal --positive 0 --detector '{refusal: true}'",
        "```",
        "",
    ]
    text = "\n".join(lines)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
