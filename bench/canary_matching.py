"""Canary matching: how often a near copy is found, how often an unrelated token is taken for one, and
what models that only copy their input score on the built-in suites (README, "Detectors").

    .venv/bin/python bench/canary_matching.py [--tokens 1000000] [--out bench/results/canary_matching.md]

* **False positives of the near-copy rule**: `--tokens` random tokens of the canary's shape
  (`CANARY-` + 12 hex digits), each compared with an expected token of the same shape; counted when
  the detector's near-copy rule (`gate.detectors.canary_match.near_distance`) accepts it.
* **False positives of the whole detector**: replies holding 10 unrelated tokens each, and the
  paragraphs of this project's README and suites (English prose with codes and ids), judged by
  `{canary: true}` with a fresh token.
* **Recall by edit distance**: tokens mangled by random substitutions, deletions and insertions in the
  random part, grouped by their true edit distance to the original, judged by the whole detector.
* **Copy-only models** (`tests/test_echo_proof.py`): echo, word-by-word translation and a quoting
  refusal, on every built-in attack suite with 3 attempts per attack.

Everything is seeded; the intervals are Clopper-Pearson 95%.
"""
from __future__ import annotations

import argparse
import glob
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from gate.detectors import build_detector  # noqa: E402
from gate.detectors.canary import RULES_VERSION  # noqa: E402
from gate.detectors.canary_match import levenshtein, near_distance, near_part  # noqa: E402
from gate.detectors.interface import DetectContext  # noqa: E402
from gate.stats.intervals import proportion_interval  # noqa: E402

HEX = "0123456789ABCDEF"


def token(rng: random.Random) -> str:
    return "CANARY-" + "".join(rng.choice(HEX) for _ in range(12))


def mangle(tok: str, rng: random.Random, edits: int) -> str:
    head, core = tok[:7], list(tok[7:])
    for _ in range(edits):
        i = rng.randrange(len(core))
        op = rng.choice("sdi")
        if op == "s":
            core[i] = rng.choice([c for c in HEX if c != core[i]])
        elif op == "d":
            del core[i]
        else:
            core.insert(i, rng.choice(HEX))
    return head + "".join(core)


def rate(k: int, n: int) -> str:
    ci = proportion_interval(k, n, method="exact")
    if k == 0:
        return f"0 / {n:,} (95% upper bound {ci.high:.1e})"
    return f"{k:,} / {n:,} = {k / n:.2%} [{ci.low:.2%}, {ci.high:.2%}]"


def near_false_positives(n: int, rng: random.Random) -> tuple[int, int, Counter]:
    expected = [token(rng) for _ in range(1000)]
    nears = [near_part(t) for t in expected]
    hits = 0
    closest: Counter = Counter()
    for k in range(n):
        near = nears[k % len(nears)]
        other = token(rng)
        if near is None:
            continue
        if near_distance(other, near) is not None:
            hits += 1
        if k < 100_000:
            closest[levenshtein(near.core, other[7:].lower())] += 1
    return hits, n, closest


def detector_false_positives(rng: random.Random) -> tuple[tuple[int, int], tuple[int, int]]:
    det = build_detector({"canary": True})
    replies = 2000
    flagged = 0
    for _ in range(replies):
        reply = "Codes seen today: " + ", ".join(token(rng) for _ in range(10)) + "."
        flagged += det.detect(reply, DetectContext(canary=token(rng))).success
    paragraphs = []
    for path in [os.path.join(ROOT, "README.md"), *sorted(glob.glob(os.path.join(ROOT, "suites", "*.yaml")))]:
        with open(path, encoding="utf-8") as fh:
            paragraphs += [p for p in fh.read().split("\n\n") if p.strip()]
    prose = sum(det.detect(p, DetectContext(canary=token(rng))).success for p in paragraphs)
    return (flagged, replies), (prose, len(paragraphs))


def recall_by_distance(rng: random.Random, per: int = 2000) -> dict[int, tuple[int, int]]:
    det = build_detector({"canary": True})
    out: dict[int, list[int]] = {}
    while any(len(out.get(d, [])) < per for d in range(1, 6)):
        tok = token(rng)
        other = mangle(tok, rng, rng.randint(1, 7))
        d = levenshtein(tok[7:], other[7:])
        if 1 <= d <= 5 and len(out.setdefault(d, [])) < per:
            out[d].append(det.detect(f"The code is {other}.", DetectContext(canary=tok)).success)
    return {d: (sum(v), len(v)) for d, v in sorted(out.items())}


def copy_only_models() -> list[tuple[str, dict[str, tuple[int, int]]]]:
    from test_echo_proof import ATTACK_SUITES, ATTEMPTS, MODELS, copy_only

    from gate.run.runner import RunOptions, run_suite
    from gate.suite import load_suite

    rows = []
    for path in ATTACK_SUITES:
        row = {}
        for name in MODELS:
            suite = load_suite(path)
            with tempfile.TemporaryDirectory() as out:
                totals = run_suite(suite, copy_only(name), out, RunOptions(attempts=ATTEMPTS, progress=None))["totals"]
            suite.close()
            row[name] = (totals["successes"], totals["attempts"])
        rows.append((os.path.basename(path)[:-5], row))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tokens", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--out", default=os.path.join(HERE, "results", "canary_matching.md"))
    args = ap.parse_args()
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    near_hits, near_n, closest = near_false_positives(args.tokens, rng)
    (flagged, replies), (prose, paragraphs) = detector_false_positives(rng)
    recall = recall_by_distance(rng)
    models = copy_only_models()
    took = time.perf_counter() - t0
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    lines = [
        "# Canary matching",
        "",
        f"Generated by `bench/canary_matching.py` (rules `{RULES_VERSION}`, commit {commit}, seed {args.seed}) "
        f"in {took:.0f} s. Intervals: Clopper-Pearson 95%.",
        "",
        "## False positives",
        "",
        "| what | counted as the canary |",
        "|---|---|",
        f"| near-copy rule, unrelated random tokens of the same shape (`CANARY-` + 12 hex) | {rate(near_hits, near_n)} |",
        f"| whole detector, replies holding 10 unrelated tokens each | {rate(flagged, replies)} replies |",
        f"| whole detector, paragraphs of the README and the built-in suites | {rate(prose, paragraphs)} paragraphs |",
        "",
        "Closest an unrelated random part came to the expected one (edit distance, first 100,000 pairs; "
        "a near copy needs 3 or fewer): " + ", ".join(f"{d}: {n:,}" for d, n in sorted(closest.items())) + ".",
        "",
        "## Recall by edit distance",
        "",
        "Tokens whose 12-character random part was mangled by random substitutions, deletions and insertions, "
        "grouped by the true edit distance, in the reply `The code is <token>.`:",
        "",
        "| edits | counted |",
        "|---|---|",
        *[f"| {d} | {rate(k, n)} |" for d, (k, n) in recall.items()],
        "",
        "Up to 3 edits count by the near-copy rule; beyond that only the exact forms can fire (leetspeak folds "
        "`E`/`3`, `B`/`8`, `A`/`4`, so substitutions between those pairs can still match).",
        "",
        "## Copy-only models on the built-in attack suites",
        "",
        "Successes / attempts (3 attempts per attack; `tests/test_echo_proof.py` requires at most 1%):",
        "",
        "| suite | " + " | ".join(models[0][1]) + " |",
        "|---|" + "---|" * len(models[0][1]),
        *[f"| `{name}` | " + " | ".join(f"{k} / {n}" for k, n in row.values()) + " |" for name, row in models],
        "",
    ]
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
