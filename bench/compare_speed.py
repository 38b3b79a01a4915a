"""Time `gate.verdict.compare` on a large suite: 10,000 attacks × 100 attempts (target < 1 s).

    nice .venv/bin/python bench/compare_speed.py [--attacks 10000] [--attempts 100] [--categories 10]

Prints the best and median wall time over a few repeats, plus the verdict, so that a change that
makes the comparison slow (e.g. exact tests on every attack) is noticed; and the time to load and
validate the two files as `asr-gate compare` does (`load_results(strict=False)`, results.json-shaped
files written to a temporary directory), so load + compare is what the command spends beyond start-up.
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from gate.results import load_results  # noqa: E402
from gate.verdict import Policy, compare  # noqa: E402


def make_runs(attacks: int, attempts: int, categories: int, shift: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    p = rng.beta(0.4, 1.6, attacks)
    q = np.clip(p + shift, 0, 1)
    b = rng.binomial(attempts, p)
    c = rng.binomial(attempts, q)

    def run(x):
        return {"suite": {"id": "bench"}, "detector": {"hash": "sha256:" + "0" * 64},
                "attacks": [{"id": f"a{i:05d}", "category": f"cat{i % categories}", "hash": f"h{i}",
                             "attempts": attempts, "successes": int(x[i]), "errors": 0} for i in range(attacks)]}

    return run(b), run(c)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--attacks", type=int, default=10_000)
    ap.add_argument("--attempts", type=int, default=100)
    ap.add_argument("--categories", type=int, default=10)
    ap.add_argument("--shift", type=float, default=0.01, help="absolute ASR increase of the candidate")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    base, cand = make_runs(args.attacks, args.attempts, args.categories, args.shift)
    compare(base, cand, Policy())  # warm-up (imports, scipy initialisation)
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        v = compare(base, cand, Policy())
        times.append(time.perf_counter() - t0)
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, run in (("baseline", base), ("results", cand)):
            paths.append(os.path.join(tmp, f"{name}.json"))
            with open(paths[-1], "w") as fh:
                json.dump({"schema": "asr-gate/results/v1", **run}, fh, indent=2)
        loads = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for path in paths:
                load_results(path, strict=False)
            loads.append(time.perf_counter() - t0)
    print(f"load + validate both files (load_results, strict=False): best {min(loads):.3f} s, median "
          f"{statistics.median(loads):.3f} s; load + compare: median "
          f"{statistics.median(loads) + statistics.median(times):.3f} s (target < 1 s); load average "
          f"{os.getloadavg()[0]:.2f}")
    print(f"compare(): {args.attacks} attacks × {args.attempts} attempts, {args.categories} categories: "
          f"best {min(times):.3f} s, median {statistics.median(times):.3f} s over {args.repeats} runs "
          f"(target < 1 s) — verdict {v.verdict}, {len(v.top_regressed)} attacks in the drill-down")


if __name__ == "__main__":
    main()
