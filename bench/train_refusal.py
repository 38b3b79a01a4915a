"""Train and cross-validate a candidate refusal model on top of the rules; the answer was: it does not help.

    .venv/bin/python bench/train_refusal.py [--data ../shared/data] [--report bench/results/refusal_model.md]

Issue 13 allows a small trained classifier in the refusal detector (weights committed, pure-Python inference).
This script is the reproducible test of that idea. The candidate is an L2-regularised logistic regression
(scipy's L-BFGS) over the features of `refusal_features.py`, used in one direction only: a reply the rules
call "not a refusal" becomes a refusal when P(refusal) ≥ a threshold; so it is trained on those replies only.

Training data (labels: 1 = refusal), read in place:

* PyRIT's refusal scorer sets (`refusal_scorer/refusal.csv`, `refusal_extra.csv`, `sample/mini_refusal.csv`),
  with each row's objective as the goal;
* the development half (`split = dev`) of the hand-labelled SmolLM2 set, and the second round of SmolLM2
  replies to other requests (`smollm2_refusal_labels_r2.csv`), with each request as its goal;
* the style set's development batches and `batch5` (no goal).

Never read here: the SmolLM2 `test` half and the style set's `batch6` (held out).

The regularisation and the threshold are chosen by cross-validation (`choose`): 5-fold (folds by a hash of
the row), and leave-one-source-out (train on two sources, score the third), the honest guess for replies of
a model the training never saw. Deterministic: fixed folds, a zero start. The report says what was found.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time

import numpy as np
from scipy import optimize, sparse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, HERE)

from gate.detectors.refusal import RULES_VERSION, RefusalDetector, normalise  # noqa: E402
from refusal_features import BUCKETS, features  # noqa: E402

STYLES = os.path.join(ROOT, "tests", "fixtures", "refusal_styles.csv")
SMOLLM = os.path.join(ROOT, "tests", "fixtures", "smollm2_refusal_labels.csv")
#: a second round of SmolLM2 replies to other requests, labelled by the same rule, for training only
SMOLLM_R2 = os.path.join(ROOT, "tests", "fixtures", "smollm2_refusal_labels_r2.csv")
#: names this experiment in the report
VERSION = "candidate model 1"
C_GRID = (0.03, 0.1, 0.3, 1.0)
THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


class Row:
    __slots__ = ("source", "refusal", "reply", "goal", "key", "x", "rule")

    def __init__(self, source: str, refusal: bool, reply: str, goal: str, key: str):
        self.source, self.refusal, self.reply, self.goal, self.key = source, refusal, reply, goal, key


def load(data: str) -> dict[str, list[Row]]:
    """source → rows of the three training sources (held-out rows are skipped, not read into memory as data)."""
    from detector_accuracy import read_rows
    from refusal_replies import prompt_index

    pyrit = os.path.join(data, "pyrit_scorer_evals")
    out: dict[str, list[Row]] = {"pyrit": [], "smollm2": [], "styles": []}
    for folder, name in (("refusal_scorer", "refusal.csv"), ("refusal_scorer", "refusal_extra.csv"),
                         ("sample", "mini_refusal.csv")):
        for i, r in enumerate(read_rows(os.path.join(pyrit, folder, name))):
            key = f"{name}:{i}"
            y = r["human_score"].strip() == "1"
            out["pyrit"].append(Row("pyrit", y, r["assistant_response"], r["objective"], key))
    index = prompt_index(data)
    for r in read_rows(SMOLLM):
        if r["split"] == "dev":
            out["smollm2"].append(Row("smollm2", r["refusal"] == "1", r["reply"], index.get(r["ref"], ""), r["id"]))
    if os.path.isfile(SMOLLM_R2):
        for r in read_rows(SMOLLM_R2):
            out["smollm2"].append(Row("smollm2", r["refusal"] == "1", r["reply"], index.get(r["ref"], ""), r["id"]))
    for i, r in enumerate(read_rows(STYLES)):
        if r["style"] != "batch6":
            out["styles"].append(Row("styles", r["refusal"] == "1", r["reply"], "", f"style:{i}"))
    return out


def featurise(rows: list[Row], detector: RefusalDetector) -> None:
    for row in rows:
        refused, why = detector.classify(row.reply, row.goal, row.goal)
        row.rule = refused
        row.x = features(normalise(row.reply), row.goal, refused, why)


def matrix(rows: list[Row]) -> sparse.csr_matrix:
    indptr, indices, values = [0], [], []
    for row in rows:
        for b, v in sorted(row.x.items()):
            indices.append(b)
            values.append(v)
        indptr.append(len(indices))
    return sparse.csr_matrix((values, indices, indptr), shape=(len(rows), BUCKETS))


def fit(rows: list[Row], c: float) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2-regularised logistic regression; each source weighs the same in total."""
    X = matrix(rows)
    y = np.array([r.refusal for r in rows], dtype=float)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.source] = counts.get(r.source, 0) + 1
    sw = np.array([len(rows) / (len(counts) * counts[r.source]) for r in rows])

    def loss(theta):
        w, b = theta[:-1], theta[-1]
        z = X @ w + b
        p = 1.0 / (1.0 + np.exp(-z))
        ll = sw * (np.logaddexp(0.0, z) - y * z)
        g = sw * (p - y)
        grad = np.concatenate([X.T @ g + w / c, [g.sum()]])
        return ll.sum() + 0.5 * (w @ w) / c, grad

    res = optimize.minimize(loss, np.zeros(BUCKETS + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return res.x[:-1], float(res.x[-1])


def probabilities(rows: list[Row], w: np.ndarray, b: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(matrix(rows) @ w + b)))


def scores(rows: list[Row], p: np.ndarray | None, t: float) -> dict:
    """Accuracy and specificity (share of refusals called refusals) of: the rules alone, and rules + model at t."""
    y = np.array([r.refusal for r in rows])
    rule = np.array([r.rule for r in rows])
    out = {}
    for name, pred in (("rules", rule), ("combined", rule if p is None else rule | (p >= t))):
        out[name] = {"acc": float((pred == y).mean()), "spec": float(pred[y].mean()) if y.any() else None,
                     "sens": float((~pred[~y]).mean()) if (~y).any() else None, "n": len(rows), "ref": int(y.sum())}
    return out


def fold_of(key: str, k: int) -> int:
    return hashlib.sha256(key.encode()).digest()[0] % k


def cross_validate(train: dict[str, list[Row]], c: float, k: int = 5) -> tuple[dict, dict]:
    """Out-of-fold probabilities per source: k-fold (folds by row key, within every source at once) and
    leave-one-source-out."""
    everything = [r for rows in train.values() for r in rows]
    kfold = {src: np.zeros(len(rows)) for src, rows in train.items()}
    for f in range(k):
        w, b = fit([r for r in everything if fold_of(r.key, k) != f], c)
        for src, rows in train.items():
            idx = [i for i, r in enumerate(rows) if fold_of(r.key, k) == f]
            if idx:
                kfold[src][idx] = probabilities([rows[i] for i in idx], w, b)
    loso = {}
    for src, rows in train.items():
        w, b = fit([r for s, rr in train.items() if s != src for r in rr], c)
        loso[src] = probabilities(rows, w, b)
    return kfold, loso


def judged(train: dict[str, list[Row]]) -> dict[str, list[Row]]:
    """The rows the model judges: those the rules call "not a refusal"."""
    return {src: [r for r in rows if not r.rule] for src, rows in train.items()}


def choose(train: dict[str, list[Row]]) -> tuple[float, float, list[str]]:
    """(C, threshold): among the choices under which no source's accuracy falls below the rules' own, either in
    5-fold or in leave-one-source-out cross-validation, the one with the largest k-fold net gain (refusals
    found less compliant replies flipped, summed over sources); ties go to the higher threshold. Also a report."""
    report = ["| C | threshold | source | rules acc / spec | k-fold acc / spec | leave-source-out acc / spec |",
              "|---|---|---|---|---|---|"]
    best = None
    for c in C_GRID:
        kfold_j, loso_j = cross_validate(judged(train), c)
        kfold, loso = {}, {}
        for src, rows in train.items():  # out-of-fold P(refusal) for every row; 0 where the rules already refuse
            kf, lo = iter(kfold_j[src]), iter(loso_j[src])
            kfold[src] = np.array([0.0 if r.rule else next(kf) for r in rows])
            loso[src] = np.array([0.0 if r.rule else next(lo) for r in rows])
        for t in THRESHOLDS:
            ok, gain = True, 0
            for src, rows in train.items():
                kf = scores(rows, kfold[src], t)
                lo = scores(rows, loso[src], t)
                ok &= kf["combined"]["acc"] >= kf["rules"]["acc"] - 1e-9 and lo["combined"]["acc"] >= lo["rules"]["acc"] - 1e-9
                gain += round((kf["combined"]["acc"] - kf["rules"]["acc"]) * len(rows))
                ru = kf["rules"]
                report.append(f"| {c} | {t} | {src} | {ru['acc']:.3f} / {ru['spec']:.3f} | {kf['combined']['acc']:.3f} / "
                              f"{kf['combined']['spec']:.3f} | {lo['combined']['acc']:.3f} / {lo['combined']['spec']:.3f} |")
            key = (ok, gain, t)
            if best is None or key > best[0]:
                best = (key, c, t)
            print(f"C={c} t={t}: no source worse than the rules: {ok}; k-fold net gain {gain}", file=sys.stderr)
    return best[1], best[2], report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=os.path.normpath(os.path.join(ROOT, "..", "shared", "data")))
    ap.add_argument("--report", default=os.path.join(HERE, "results", "refusal_model.md"))
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    sets = load(args.data)
    detector = RefusalDetector()
    train = sets
    for rows in train.values():
        featurise(rows, detector)
    c, t, cv_report = choose(train)
    best = [line for line in cv_report if line.startswith(f"| {c} | {t} |")]
    smol = [line.split(" | ") for line in cv_report if " | smollm2 | " in line]
    most = max(smol, key=lambda p: float(p[4].split(" / ")[1]))  # the most SmolLM2 refusals found in k-fold
    rows = [line.split(" | ") for line in cv_report[2:]]
    gains = any(float(p[i].split(" / ")[0]) > float(p[3].split(" / ")[0]) for p in rows for i in (4, 5))
    if gains:
        print("some choice raises a source's accuracy: read the grid, the conclusion below does not hold",
              file=sys.stderr)
    lines = [
        "# A trained refusal model on top of the rules: cross-validation (not adopted)",
        "",
        f"Generated by `bench/train_refusal.py` (rules `{RULES_VERSION}`, {VERSION}) in {time.perf_counter() - t0:.0f} s.",
        "",
        "The candidate: an L2-regularised logistic regression over hashed word n-grams, lexicon and goal-overlap",
        "features (`bench/refusal_features.py`, pure Python at inference), used in one direction only: a reply the",
        "rules call \"not a refusal\" becomes a refusal when P(refusal) ≥ a threshold. Trained on the replies the rules",
        "call \"not a refusal\" of three sources: `pyrit` (PyRIT's refusal sets, objective as goal), `smollm2` (the",
        "SmolLM2 set's dev half plus the second round of SmolLM2 replies, request as goal) and `styles` (the style",
        "set without `batch6`). Held-out sets (SmolLM2 `test`, style `batch6`) are not read. *k-fold*: 5 folds by a",
        "hash of the row; *leave-source-out*: trained on the other two sources only (the honest guess for replies",
        "of a model the training never saw). *Rules* is the rule set alone; the other columns are rules + model.",
        "",
        "## Result",
        "",
        f"The best choice under the rule \"no source's accuracy below the rules' own, in k-fold or leave-source-out\"",
        f"is C = {c}, threshold = {t}:",
        "",
        cv_report[0], cv_report[1], *best,
        "",
        ("At that choice the model flips nothing. " if all(len({x.strip(" |") for x in line.split(" | ")[3:6]}) == 1
                                                          for line in best) else "") + ("No" if not gains else "[CHECK: some]") + " choice of C and threshold raises any source's accuracy above the",
        "rules', in k-fold or leave-source-out: where the model finds more of SmolLM2's refusals it flips more of its",
        "compliant replies (the tiny model's garbled compliance uses the same safety words as its refusals), and",
        "across sources it finds next to nothing. The most SmolLM2 refusals it finds (k-fold) are at C = "
        f"{most[0].strip('| ')}, threshold = {most[1]}: specificity {most[3].split(' / ')[1]} → {most[4].split(' / ')[1]}, "
        f"accuracy {most[3].split(' / ')[0]} → {most[4].split(' / ')[0]}.",
        "So the detector does not use it; the rules stay the detector. The whole grid follows.",
        "",
        "## Every C and threshold tried",
        "",
    ] + cv_report + [""]
    text = "\n".join(lines)
    print(text)
    os.makedirs(os.path.dirname(args.report), exist_ok=True)
    with open(args.report, "w", encoding="utf-8") as fh:
        fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
