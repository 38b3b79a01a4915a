"""Sequential mode by simulation: calls saved, and error rates against the fixed design (docs/statistics.md §3.8).

    .venv/bin/python bench/sequential.py [--trials 20000] [--attacks 50,100] [--no-write]

Generator of docs/statistics.md §4: per-attack baseline rates p_k ~ Beta(0.4, 1.6) (mean ASR 0.20,
ICC 0.33); candidate q_k = expit(logit p_k + γ + η_k), η_k ~ N(0, τ²); optional run drift
ε ~ N(0, σ_run²) on the logit, per run and attack. γ is calibrated so that the super-population
change Δ is 0, +5 or +10 points. n = 20 repeats per attack, one-sided α = 0.05, margin δ = 5 points.
Scenarios: S1 sharp (τ = 0), S2 heterogeneous change (τ = 1), S3 run drift (τ = 0.5, σ_run = 0.5).

Designs, all on the same simulated data:
* fixed: `gate.stats.paired_difference` on all K attacks (cluster t, df K−1) — the fixed design;
* GSD (default): `gate.run.sequential.decide_arrays` — 4 looks at 25/50/75/100% of the attacks with the
  boundaries `gate.run.sequential.design_for` uses: O'Brien–Fleming at α for FAIL, and for an early
  PASS the O'Brien–Fleming boundaries at α/2 (the last look at α);
* GSD §3.8 symmetric: the same O'Brien–Fleming boundaries at α on both sides (docs/statistics.md §3.8
  as written);
* GSD fail only: allow_early_pass = false (PASS only at the last look).

Because every design sees the same simulated data, the difference of an error rate between a
sequential design and the fixed one is estimated paired, with a much smaller Monte Carlo error
than either rate: the summary shows it ± 2 SE.

Verdicts: PASS (U < δ, L ≤ 0), WARN (L > 0, U < δ), FAIL (L > 0, U ≥ δ), INCONCLUSIVE. The error
rates that matter: false FAIL = FAIL + WARN when Δ = 0 (target ≤ α), false PASS = PASS + WARN when
Δ = δ (the model sits exactly at the margin; target ≤ α, docs/statistics.md §3.3 notes ~6–7% from skew
for the fixed design), power = FAIL + WARN when Δ > 0. Mean calls are candidate model calls as a
share of K·n. The Monte Carlo SE of a 5% rate is ±0.15 points at 20,000 trials.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np
from scipy.optimize import brentq
from scipy.special import expit, logit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from gate.run import sequential as seq  # noqa: E402
from gate import stats  # noqa: E402

N_REPEATS = 20
ALPHA = 0.05
MARGIN = 0.05
SCENARIOS = {"S1": (0.0, 0.0), "S2": (1.0, 0.0), "S3": (0.5, 0.5)}  # (tau, sigma_run)
DELTAS = (0.0, 0.05, 0.10)
NAMES = ("PASS", "WARN", "FAIL", "INCONCL.")


def calibrate(delta: float, tau: float, sigma_run: float, seed: int = 12345, draws: int = 400_000) -> float:
    """γ such that E[q] − E[p'] = delta over the super-population (fixed common random numbers)."""
    rng = np.random.default_rng(seed)
    lp = logit(np.clip(rng.beta(0.4, 1.6, draws), 1e-12, 1 - 1e-12))
    eta = rng.normal(0, tau, draws) if tau else 0.0
    eb = rng.normal(0, sigma_run, draws) if sigma_run else 0.0
    ec = rng.normal(0, sigma_run, draws) if sigma_run else 0.0
    base = expit(lp + eb).mean()
    return float(brentq(lambda g: expit(lp + g + eta + ec).mean() - base - delta, -5, 5, xtol=1e-10))


def simulate(k: int, trials: int, gamma: float, tau: float, sigma_run: float, rng: np.random.Generator):
    lp = logit(np.clip(rng.beta(0.4, 1.6, (trials, k)), 1e-12, 1 - 1e-12))
    eb = rng.normal(0, sigma_run, (trials, k)) if sigma_run else 0.0
    ec = rng.normal(0, sigma_run, (trials, k)) if sigma_run else 0.0
    eta = rng.normal(0, tau, (trials, k)) if tau else 0.0
    b = rng.binomial(N_REPEATS, expit(lp + eb)).astype(float)
    c = rng.binomial(N_REPEATS, expit(lp + gamma + eta + ec)).astype(float)
    m = np.full((trials, k), float(N_REPEATS))
    return b, m, c, m


def fixed_verdicts(b, mb, c, mc) -> np.ndarray:
    pd = stats.paired_difference(b, mb, c, mc, alpha=ALPHA)
    lower, upper = np.asarray(pd.lower), np.asarray(pd.upper)
    return np.where(lower > 0, np.where(upper >= MARGIN, 2, 1), np.where(upper < MARGIN, 0, 3))


def shares(codes: np.ndarray) -> list[float]:
    return [100.0 * float(np.mean(codes == i)) for i in range(4)]


DESIGNS = (("GSD 4 looks (default)", True, None), ("GSD 4 looks, §3.8 symmetric", True, ALPHA),
           ("GSD 4 looks, fail only", False, None))


def run(k_values: list[int], trials: int, seed: int) -> dict:
    rows = []
    bounds = {}
    for k in k_values:
        cuts = seq.look_cuts(k)
        info = [c / k for c in cuts]
        zf = seq.boundaries(info, ALPHA)
        bounds[str(k)] = {"cuts": list(cuts), "z_fail": list(zf), "z_pass_default": list(seq.pass_boundaries(info, ALPHA))}
        for name, (tau, sr) in SCENARIOS.items():
            for delta in DELTAS:
                gamma = calibrate(delta, tau, sr)
                rng = np.random.default_rng([seed, k, int(tau * 10), int(sr * 10), int(delta * 100)])
                b, mb, c, mc = simulate(k, trials, gamma, tau, sr, rng)
                cell = f"{name} Δ={'+' if delta else ''}{delta * 100:.0f}"
                fixed = fixed_verdicts(b, mb, c, mc)
                # the error (or power) indicator of this cell: false FAIL at 0, false PASS at the margin, else power
                if delta == 0:
                    kind, err = "false_fail", lambda v: (v == 1) | (v == 2)
                elif abs(delta - MARGIN) < 1e-9:
                    kind, err = "false_pass", lambda v: v <= 1
                else:
                    kind, err = "power", lambda v: (v == 1) | (v == 2)
                base = {"K": k, "scenario": name, "delta": delta, "cell": cell, "kind": kind}
                rows.append({**base, "design": "fixed cluster-t", "verdicts": shares(fixed), "mean_calls_pct": 100.0,
                             "rate": 100 * float(err(fixed).mean()), "diff": 0.0, "diff_2se": 0.0})
                for label, early_pass, early_alpha in DESIGNS:
                    zp = seq.pass_boundaries(info, ALPHA, early_alpha)
                    codes, stopped = seq.decide_arrays(b, mb, c, mc, cuts, zf, zp, MARGIN, allow_early_pass=early_pass)
                    calls = np.asarray(cuts)[stopped] / k
                    d = err(codes).astype(float) - err(fixed).astype(float)
                    rows.append({**base, "design": label, "verdicts": shares(codes),
                                 "mean_calls_pct": 100.0 * float(calls.mean()), "rate": 100 * float(err(codes).mean()),
                                 "diff": 100 * float(d.mean()), "diff_2se": 200 * float(d.std() / math.sqrt(trials))})
    return {"rows": rows, "boundaries": bounds}


def error_summary(rows: list[dict], trials: int) -> list[dict]:
    """Per K and design: worst false FAIL / false PASS over S1–S3, the largest paired excess over the
    fixed design (± 2 SE), power, mean calls."""
    out = []
    order = ["fixed cluster-t"] + [d[0] for d in DESIGNS]
    for k in sorted({r["K"] for r in rows}):
        for design in order:
            rs = [r for r in rows if r["K"] == k and r["design"] == design]
            ff = [r for r in rs if r["kind"] == "false_fail"]
            fp = [r for r in rs if r["kind"] == "false_pass"]
            worst_ff = max(ff, key=lambda r: r["diff"])
            worst_fp = max(fp, key=lambda r: r["diff"])
            power5 = [r["verdicts"][1] + r["verdicts"][2] for r in fp]
            power10 = [r["rate"] for r in rs if r["kind"] == "power"]
            calls = [r["mean_calls_pct"] for r in rs]
            s = {"K": k, "design": design, "max_false_fail": max(r["rate"] for r in ff),
                 "max_false_pass": max(r["rate"] for r in fp),
                 "excess_false_fail": worst_ff["diff"], "excess_false_fail_2se": worst_ff["diff_2se"],
                 "excess_false_fail_cell": worst_ff["cell"],
                 "excess_false_pass": worst_fp["diff"], "excess_false_pass_2se": worst_fp["diff_2se"],
                 "excess_false_pass_cell": worst_fp["cell"],
                 "power_5_min": min(power5), "power_5_max": max(power5), "power_10_min": min(power10),
                 "mean_calls_pct": float(np.mean(calls)), "min_calls_pct": min(calls), "max_calls_pct": max(calls),
                 "mean_calls_null_pct": float(np.mean([r["mean_calls_pct"] for r in ff]))}
            # "within the fixed design": no cell where the sequential error rate is higher by more than 2 SE
            s["within_fixed"] = (s["excess_false_fail"] <= s["excess_false_fail_2se"]
                                 and s["excess_false_pass"] <= s["excess_false_pass_2se"])
            out.append(s)
    return out


def markdown(res: dict, summary: list[dict], trials: int, seconds: float) -> str:
    mcse = 100 * math.sqrt(0.05 * 0.95 / trials)
    lines = [f"{trials:,} trials per cell, n = {N_REPEATS} repeats, one-sided α = {ALPHA}, margin δ = "
             f"{MARGIN * 100:.0f} points; Monte Carlo SE of a 5% rate ±{mcse:.2f} points (differences between "
             f"designs are paired: same data). Run time {seconds:.0f} s.", ""]
    for k, b in res["boundaries"].items():
        lines.append(f"Boundaries for K = {k} (looks after {', '.join(map(str, b['cuts']))} attacks): FAIL z = "
                     f"{', '.join(f'{z:.3f}' for z in b['z_fail'])}; default PASS z = "
                     f"{', '.join(f'{z:.3f}' for z in b['z_pass_default'])}.")
    lines += ["", "### Summary: error rates (worst cell over S1–S3), excess over the fixed design, calls", "",
              "| K | design | false FAIL, Δ=0 | false PASS, Δ=+5 | excess false FAIL (±2 SE) | excess false PASS (±2 SE) "
              "| power +5 (S1–S3) | power +10 (min) | mean calls: all cells / under Δ=0 | within fixed |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for s in summary:
        fixed = s["design"] == "fixed cluster-t"
        exf = "—" if fixed else f"{s['excess_false_fail']:+.2f} (±{s['excess_false_fail_2se']:.2f})"
        exp = "—" if fixed else f"{s['excess_false_pass']:+.2f} (±{s['excess_false_pass_2se']:.2f})"
        within = "—" if fixed else ("yes" if s["within_fixed"] else "NO")
        lines.append(f"| {s['K']} | {s['design']} | {s['max_false_fail']:.1f}% | {s['max_false_pass']:.1f}% | {exf} | "
                     f"{exp} | {s['power_5_min']:.1f}–{s['power_5_max']:.1f}% | {s['power_10_min']:.1f}% | "
                     f"{s['mean_calls_pct']:.0f}% / {s['mean_calls_null_pct']:.0f}% | {within} |")
    lines += ["", "\"excess\" is the largest paired difference (sequential − fixed) of the error rate over the three "
              "scenarios, in points; \"within fixed\" = no scenario where it is above its 2 SE. The false PASS of the "
              "fixed design itself is above 5% at K = 50 because per-attack differences are skewed (docs/statistics.md §3.3)."]
    for k in sorted({r["K"] for r in res["rows"]}):
        lines += ["", f"### Verdicts (%) and mean candidate calls, K = {k} (full run = {k * N_REPEATS:,} calls)", "",
                  "| design | cell | PASS | WARN | FAIL | INCONCL. | mean calls |", "|---|---|---|---|---|---|---|"]
        for r in (r for r in res["rows"] if r["K"] == k):
            v = r["verdicts"]
            lines.append(f"| {r['design']} | {r['cell']} | {v[0]:.1f} | {v[1]:.1f} | {v[2]:.1f} | {v[3]:.1f} | "
                         f"{r['mean_calls_pct'] / 100 * k * N_REPEATS:.0f} ({r['mean_calls_pct']:.0f}%) |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--trials", type=int, default=20000)
    ap.add_argument("--attacks", default="50,100", help="comma-separated K values (default 50,100)")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.time()
    res = run([int(k) for k in args.attacks.split(",")], args.trials, args.seed)
    summary = error_summary(res["rows"], args.trials)
    seconds = time.time() - t0
    md = markdown(res, summary, args.trials, seconds)
    print(md)
    if not args.no_write:
        os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
        with open(os.path.join(HERE, "results", "sequential.md"), "w") as fh:
            fh.write(f"# Sequential mode: calls saved and error rates ({time.strftime('%Y-%m-%d')})\n\n"
                     "Reproduce: `.venv/bin/python bench/sequential.py` (generator and designs in its docstring).\n\n")
            fh.write(md)
        with open(os.path.join(HERE, "results", "sequential.json"), "w") as fh:
            json.dump({"trials": args.trials, "seed": args.seed, **res, "summary": summary}, fh, indent=1)
            fh.write("\n")
    ok = all(s["within_fixed"] for s in summary if s["design"] != "GSD 4 looks, §3.8 symmetric")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
