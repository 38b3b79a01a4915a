"""Calibration of the gate's verdict by simulation (docs/statistics.md §4).

Generator: per-attack baseline rates p_k ~ Beta(0.4, 1.6) (mean ASR 0.20, ICC 1/3); the candidate's
q_k = expit(logit p_k + γ + η_k), η_k ~ N(0, τ²); optional run drift ε ~ N(0, σ_run²) on the logit,
per run and attack. γ is calibrated (on 10⁶ draws) so that the super-population change
Δ = E[q_run] − E[p_run] is exactly 0, +5 or +10 points. n = 20 attempts per attack per run.

Scenarios: S1 sharp (τ = 0, σ_run = 0) · S2 heterogeneous change (τ = 1.0) · S3 run drift
(τ = 0.5, σ_run = 0.5). K = 20, 50, 100 attacks.

What is measured is the gate's own decision path: `gate.stats.paired_difference` (the paired
per-attack cluster-t test, vectorised across trials) followed by `gate.verdict.group_verdicts`
(the verdict rule), exactly as `gate.verdict.compare` applies them to a one-category suite. For
the first ``--crosscheck`` trials of every cell the full `compare()` is also run on the results
dictionaries and must give the same verdict, so the vectorised path cannot drift from the gate.
A second table runs `compare()` itself on suites with 5 categories × 20 attacks to measure the
Holm family over {overall} ∪ categories. A third runs `compare()` on suites with small categories
(3 attacks: too few to ever pass at pass_alpha, so *advisory* under the default
``categories_gate: powered``) next to powered ones, and measures the false PASS when the overall
group or a powered category sits exactly at the margin (target ≤ pass_alpha + 2 pp), the false
FAIL, and what the advisory rule costs and buys (docs/statistics.md §3.4).

A fourth section (``--detector-trials``; ``--section detector`` regenerates only it and splices it into
``--out``) puts an imperfect detector between the model and the gate: every true outcome is
misclassified with sensitivity 0.95 and specificity 0.85, the gate is given sens/spec *estimated* per
trial from 100 labelled positives and 100 negatives, and it reads the 5-point margin on the true scale
(observed margin = δ × Ĵ, Ĵ = ŝe + ŝp − 1; docs/statistics.md §3.12). Measured at K = 50: the false
FAIL with no true change, the false PASS at a true change equal to the margin (with Ĵ, with the true J,
and with the uncorrected margin), power, and the coverage of the corrected-ASR interval against the
delta method and against treating sens/spec as known.

Reported per cell:
* false FAIL = P(verdict fail | Δ = 0), and P(fail or warn | Δ = 0) = P(L > 0)  (target ≤ α + 1 pp)
* power = P(L > 0) at Δ = +5 and +10 pp, next to the planner's prediction
  (`gate.stats.predicted_power` with the generator's true ω², σ²_w,b and σ²_w,c)  (target within 3 pp)
* false PASS = P(pass or warn | Δ = +5 pp = the margin) = P(U < δ)  (target ≤ α + 2 pp), also with
  pass_alpha = 0.025

    nice .venv/bin/python bench/calibration.py [--trials 10000] [--holm-trials 2000] [--small-trials 2000]
                                               [--detector-trials 20000] [--quick] [--seed 1] [--out FILE]
                                               [--section detector]

``--quick`` divides every trial count by 10 (a smoke run; the table header says how many trials
were used and the Monte Carlo SE).
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import time
from dataclasses import dataclass

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
from scipy.optimize import brentq  # noqa: E402
from scipy.special import expit, logit  # noqa: E402

from gate import stats  # noqa: E402
from gate.detectors.accuracy import DetectorAccuracy  # noqa: E402
from gate.hashing import content_hash  # noqa: E402
from gate.verdict import Policy, combine, compare, group_verdicts  # noqa: E402

N_ATTEMPTS = 20
SCENARIOS = {"S1": (0.0, 0.0), "S2": (1.0, 0.0), "S3": (0.5, 0.5)}  # (tau, sigma_run)
KS = (20, 50, 100)
DELTAS = (0.0, 0.05, 0.10)


@dataclass(frozen=True)
class Population:
    gamma: float
    delta: float
    omega2: float
    sigma2_b: float
    sigma2_c: float

    def var_d(self, n: int) -> float:
        return stats.variance_of_difference(math.sqrt(self.omega2), self.sigma2_b, n, self.sigma2_c, n)


def _clip_logit(p: np.ndarray) -> np.ndarray:
    return logit(np.clip(p, 1e-12, 1 - 1e-12))


def calibrate(scenario: str, delta: float, draws: int = 1_000_000, seed: int = 12345) -> Population:
    """γ such that E[q_run] − E[p_run] = delta, and the true ω², σ²_w of the generator."""
    tau, s_run = SCENARIOS[scenario]
    rng = np.random.default_rng(seed)
    lp = _clip_logit(rng.beta(0.4, 1.6, draws))
    eta = rng.standard_normal(draws) * tau
    eb = rng.standard_normal(draws) * s_run
    ec = rng.standard_normal(draws) * s_run
    pb = expit(lp + eb)
    mean_b = pb.mean()

    def gap(g: float) -> float:
        return float(expit(lp + g + eta + ec).mean() - mean_b - delta)

    g = brentq(gap, -6, 6, xtol=1e-10)
    q = expit(lp + g + eta + ec)
    return Population(g, delta, float(np.var(q - pb)), float(np.mean(pb * (1 - pb))), float(np.mean(q * (1 - q))))


def simulate(scenario: str, K: int, pop: Population, trials: int, rng: np.random.Generator, n: int = N_ATTEMPTS):
    """Per-trial successes (b, c), each of shape (trials, K)."""
    tau, s_run = SCENARIOS[scenario]
    lp = _clip_logit(rng.beta(0.4, 1.6, (trials, K)))
    pb = expit(lp + rng.standard_normal((trials, K)) * s_run)
    qc = expit(lp + pop.gamma + rng.standard_normal((trials, K)) * tau + rng.standard_normal((trials, K)) * s_run)
    return rng.binomial(n, pb), rng.binomial(n, qc)


def gate_verdicts(b: np.ndarray, c: np.ndarray, policy: Policy, n: int = N_ATTEMPTS):
    """The gate's decision for a one-category suite, vectorised over trials (rows)."""
    m = np.full(b.shape, n)
    pd = stats.paired_difference(b, m, c, m, alpha=policy.alpha, pass_alpha=policy.pass_alpha)
    # family of one group: the Holm-adjusted p is the raw p
    return group_verdicts(pd.p_value, pd.upper, policy.margin, policy.alpha), pd


def _run_dict(x: np.ndarray, n: int, cats=None) -> dict:
    return {"suite": {"id": "sim"}, "attacks": [
        {"id": f"a{k}", "category": (cats[k] if cats is not None else "all"), "hash": f"h{k}", "attempts": n,
         "successes": int(x[k]), "errors": 0} for k in range(len(x))]}


def crosscheck(b: np.ndarray, c: np.ndarray, verdicts: np.ndarray, policy: Policy, count: int) -> int:
    """Run the full compare() on the first `count` trials; return the number checked (raises on mismatch)."""
    count = min(count, b.shape[0])
    for t in range(count):
        v = compare(_run_dict(b[t], N_ATTEMPTS), _run_dict(c[t], N_ATTEMPTS), policy, top=0)
        if v.overall.verdict != verdicts[t]:
            raise AssertionError(f"compare() gave {v.overall.verdict}, vectorised path {verdicts[t]} (trial {t})")
    return count


def run_cells(trials: int, seed: int, ks=KS, scenarios=tuple(SCENARIOS), crosscheck_n: int = 50,
              policies=None) -> list[dict]:
    """All (K, scenario) cells: rates of every verdict at Δ = 0, +5, +10 pp, plus the planner."""
    policies = policies or {"default": Policy()}
    pops = {(s, d): calibrate(s, d) for s in scenarios for d in DELTAS}
    rows = []
    rng = np.random.default_rng(seed)
    for K in ks:
        for s in scenarios:
            row = {"K": K, "scenario": s, "trials": trials, "checked": 0}
            for d in DELTAS:
                pop = pops[(s, d)]
                b, c = simulate(s, K, pop, trials, rng)
                for pname, pol in policies.items():
                    v, pd = gate_verdicts(b, c, pol)
                    if pname == "default":
                        row["checked"] += crosscheck(b, c, v, pol, crosscheck_n)
                        row[f"reject@{d}"] = float(np.mean(pd.lower > 0))
                        row[f"fail@{d}"] = float(np.mean(v == "fail"))
                        row[f"pass_or_warn@{d}"] = float(np.mean((v == "pass") | (v == "warn")))
                        row[f"inconclusive@{d}"] = float(np.mean(v == "inconclusive"))
                        if d > 0:  # what `asr-gate plan` predicts, fed with the generator's true ω², σ²_w
                            row[f"planner@{d}"] = stats.predicted_power(d, K, pop.var_d(N_ATTEMPTS), pol.alpha)
                            row[f"normal@{d}"] = stats.predicted_power(d, K, pop.var_d(N_ATTEMPTS), pol.alpha,
                                                                       method="normal")
                        row[f"omega@{d}"] = math.sqrt(pop.omega2)
                    else:
                        row[f"pass_or_warn@{d}[{pname}]"] = float(np.mean((v == "pass") | (v == "warn")))
            rows.append(row)
    return rows


def run_holm(trials: int, seed: int, categories: int = 5, per_cat: int = 20) -> list[dict]:
    """compare() itself on 5 categories × 20 attacks: family-wise false FAIL, and power when one
    category regresses by +15 pp (overall test alone vs the gate's Holm family)."""
    rng = np.random.default_rng(seed + 7)
    cats = [f"c{i}" for i in range(categories) for _ in range(per_cat)]
    K = len(cats)
    out = []
    pol = Policy()
    for s in SCENARIOS:
        null = calibrate(s, 0.0)
        bad = calibrate(s, 0.15)
        for label, pop_bad in (("no change", None), ("one category +15 pp", bad)):
            b, c = simulate(s, K, null, trials, rng)
            if pop_bad is not None:
                b2, c2 = simulate(s, per_cat, pop_bad, trials, rng)
                b[:, :per_cat], c[:, :per_cat] = b2, c2
            fails = overall_rej = cat0_fail = other_fail = 0
            for t in range(trials):
                v = compare(_run_dict(b[t], N_ATTEMPTS, cats), _run_dict(c[t], N_ATTEMPTS, cats), pol, top=0)
                fails += v.verdict == "fail"
                overall_rej += v.overall.p_raw <= pol.alpha
                cat0_fail += v.categories["c0"].verdict == "fail"
                other_fail += any(v.categories[f"c{i}"].verdict in ("fail", "warn") for i in range(1, categories))
            out.append({"scenario": s, "case": label, "trials": trials, "gate_fail": fails / trials,
                        "overall_alone": overall_rej / trials, "c0_fail": cat0_fail / trials,
                        "null_cats_flagged": other_fail / trials})
    return out


#: suites with small categories: (name, attacks) blocks; s* have 3 attacks (advisory by default)
SMALL_SUITES = {
    "A (K=30)": (("c0", 12), ("c1", 12), ("s0", 3), ("s1", 3)),
    "B (K=50)": (("c0", 22), ("c1", 22), ("s0", 3), ("s1", 3)),
    "C (K=50)": (("c0", 47), ("s0", 3)),
}
#: (label, {category: Δ}); "*" = every category. The margin is 5 pp.
SMALL_CASES = (
    ("no change", {}),
    ("every category at the margin (+5)", {"*": 0.05}),
    ("c0 at the margin (+5), rest 0", {"c0": 0.05}),
    ("s0 +15, rest 0", {"s0": 0.15}),
)


def run_small(trials: int, seed: int, suites=None, scenarios=tuple(SCENARIOS), cases=SMALL_CASES,
              crosscheck_n: int = 20) -> list[dict]:
    """compare() itself on suites with 3-attack categories next to powered ones.

    Per cell: the gate's verdict under the default ``categories_gate: powered`` and under ``all``
    (the same groups combined with every category; cross-checked against compare() with
    ``categories_gate: all`` on the first ``crosscheck_n`` trials), the powered category c0's own
    PASS/WARN rate, and how often the small category s0 FAILs."""
    suites = suites or SMALL_SUITES
    rng = np.random.default_rng(seed + 13)
    pol, pol_all = Policy(), Policy(categories_gate="all")
    pops: dict = {}
    out = []
    for sname, blocks in suites.items():
        cats = [name for name, size in blocks for _ in range(size)]
        for s in scenarios:
            for label, shifts in cases:
                parts_b, parts_c = [], []
                for name, size in blocks:
                    d = shifts.get(name, shifts.get("*", 0.0))
                    if (s, d) not in pops:
                        pops[(s, d)] = calibrate(s, d)
                    bb, cc = simulate(s, size, pops[(s, d)], trials, rng)
                    parts_b.append(bb)
                    parts_c.append(cc)
                b, c = np.hstack(parts_b), np.hstack(parts_c)
                n = {"pass": 0, "warn": 0, "fail": 0, "inconclusive": 0}
                n_all = dict(n)
                c0_pass = s0_fail = checked = 0
                advisory_ok = True
                for t in range(trials):
                    rb, rc = _run_dict(b[t], N_ATTEMPTS, cats), _run_dict(c[t], N_ATTEMPTS, cats)
                    v = compare(rb, rc, pol, top=0)
                    n[v.verdict] += 1
                    groups = [v.overall.verdict] + [g.verdict for g in v.categories.values()]
                    every = combine(groups)
                    n_all[every] += 1
                    if t < crosscheck_n:
                        other = compare(rb, rc, pol_all, top=0).verdict
                        if other != every:
                            raise AssertionError(f"categories_gate: all gave {other}, recombined {every} (trial {t})")
                        checked += 1
                    c0_pass += v.categories["c0"].verdict in ("pass", "warn")
                    s0_fail += v.categories["s0"].verdict == "fail"
                    advisory_ok &= v.categories["s0"].advisory and not v.categories["c0"].advisory
                if not advisory_ok:
                    raise AssertionError(f"{sname}: s0 should be advisory and c0 not")
                out.append({"suite": sname, "scenario": s, "case": label, "trials": trials, "checked": checked,
                            **{f"gate_{k}": x / trials for k, x in n.items()},
                            **{f"all_{k}": x / trials for k, x in n_all.items()},
                            "c0_pass_or_warn": c0_pass / trials, "s0_fail": s0_fail / trials})
    return out


# ---------------------------------------------------------------------------------------------
# An imperfect detector: the margin read on the true scale (docs/statistics.md §3.12)
# ---------------------------------------------------------------------------------------------

#: the simulated detector, and the labelled set its accuracy is estimated from in every trial
DET_SENS, DET_SPEC, DET_POS, DET_NEG = 0.95, 0.85, 100, 100
DET_DESCRIPTOR = {"contains": "SIMULATED"}
DET_SECTION = "## An imperfect detector: the margin on the true scale"


def misclassify(x: np.ndarray, n: int, sens: float, spec: float, rng: np.random.Generator) -> np.ndarray:
    """What a detector with ``sens``/``spec`` reports for ``x`` true successes of ``n`` attempts:
    each true success is seen with probability sens, each true failure called a success with 1 − spec."""
    return rng.binomial(x, sens) + rng.binomial(n - x, 1 - spec)


def _det_run_dict(x: np.ndarray, n: int) -> dict:
    d = _run_dict(x, n)
    d["detector"] = {"hash": content_hash([DET_DESCRIPTOR]), "descriptor": [DET_DESCRIPTOR]}
    return d


def run_detector(trials: int, seed: int, K: int = 50, scenarios=tuple(SCENARIOS), crosscheck_n: int = 30,
                 sens: float = DET_SENS, spec: float = DET_SPEC, n_pos: int = DET_POS,
                 n_neg: int = DET_NEG) -> list[dict]:
    """The gate behind an imperfect detector, per scenario at true Δ = 0, +5 (the margin) and +10 pp.

    Per trial: true outcomes from the §4 generator, misclassified by the detector; tp ~ Bin(n_pos, sens)
    and tn ~ Bin(n_neg, spec) give the Ĵ the gate is told. Verdicts: the paired test on the observed
    counts with the observed margin δ·Ĵ (the gate), δ·J (J known) and δ (no correction). The first
    ``crosscheck_n`` trials of every cell also run through compare() with a DetectorAccuracy built from
    the trial's counts, and must give the gate's verdict."""
    pol = Policy()
    rng = np.random.default_rng(seed + 29)
    j_true = sens + spec - 1
    out = []
    for s in scenarios:
        row = {"K": K, "scenario": s, "trials": trials, "checked": 0}
        for d in DELTAS:
            pop = calibrate(s, d)
            b, c = simulate(s, K, pop, trials, rng)
            bo, co = misclassify(b, N_ATTEMPTS, sens, spec, rng), misclassify(c, N_ATTEMPTS, sens, spec, rng)
            tp = rng.binomial(n_pos, sens, trials)
            tn = rng.binomial(n_neg, spec, trials)
            j_hat = tp / n_pos + tn / n_neg - 1
            m = np.full(bo.shape, N_ATTEMPTS)
            pd = stats.paired_difference(bo, m, co, m, alpha=pol.alpha, pass_alpha=pol.pass_alpha)
            gate = group_verdicts(pd.p_value, pd.upper, pol.margin * j_hat, pol.alpha)
            known = group_verdicts(pd.p_value, pd.upper, pol.margin * j_true, pol.alpha)
            naive = group_verdicts(pd.p_value, pd.upper, pol.margin, pol.alpha)
            for t in range(min(crosscheck_n, trials)):
                acc = DetectorAccuracy.from_counts(tp[t], n_neg - tn[t], n_pos - tp[t], tn[t],
                                                   descriptor=DET_DESCRIPTOR, name="simulated.json")
                v = compare(_det_run_dict(bo[t], N_ATTEMPTS), _det_run_dict(co[t], N_ATTEMPTS),
                            Policy(detector_accuracy=acc), top=0)
                if v.overall.verdict != gate[t]:
                    raise AssertionError(f"compare() gave {v.overall.verdict}, vectorised path {gate[t]} "
                                         f"({s}, Δ={d}, trial {t})")
                row["checked"] += 1
            row[f"reject@{d}"] = float(np.mean(pd.lower > 0))
            row[f"fail@{d}"] = float(np.mean(gate == "fail"))
            for name, v in (("gate", gate), ("known", known), ("naive", naive)):
                row[f"pass_or_warn@{d}[{name}]"] = float(np.mean((v == "pass") | (v == "warn")))
            row[f"j_sd@{d}"] = float(np.std(j_hat))
        out.append(row)
    return out


#: coverage settings: (true super-population ASR θ, labelled positives, labelled negatives)
COVERAGE_CASES = ((0.02, 100, 100), (0.10, 100, 100), (0.30, 100, 100), (0.02, 30, 30), (0.10, 30, 30),
                  (0.30, 30, 30))


def run_coverage(trials: int, seed: int, K: int = 50, n: int = N_ATTEMPTS, sens: float = DET_SENS,
                 spec: float = DET_SPEC, draws: int = 4000, cases=COVERAGE_CASES) -> list[dict]:
    """Coverage of 95% intervals for the true ASR θ behind the detector. Per trial: p_k ~ Beta(2θ, 2(1−θ))
    (ICC 1/3), true outcomes Bin(n, p_k), misclassified; labelled tp ~ Bin(n_pos, sens), tn ~ Bin(n_neg,
    spec). Methods: the gate's (`stats.corrected_asr`: Jeffreys Monte Carlo over the observed rate and
    sens/spec), the delta method (±1.96 SE, clipped), and sens/spec treated as known (the clustered
    Wilson bounds of the observed rate mapped through Rogan–Gladen with the point estimates)."""
    rng = np.random.default_rng(seed + 31)
    out = []
    for theta, n_pos, n_neg in cases:
        hit = {"gate": 0, "delta": 0, "known": 0}
        width = {"gate": 0.0, "delta": 0.0, "known": 0.0}
        skipped = 0
        for t in range(trials):
            p = rng.beta(2 * theta, 2 * (1 - theta), K)
            x = misclassify(rng.binomial(n, p), n, sens, spec, rng)
            tp, tn = int(rng.binomial(n_pos, sens)), int(rng.binomial(n_neg, spec))
            fn, fp = n_pos - tp, n_neg - tn
            if tp / n_pos + tn / n_neg <= 1:
                skipped += 1
                continue
            m = np.full(K, n)
            g = stats.corrected_asr(x, m, tp, fn, tn, fp, draws=draws, seed=t)
            se_hat, sp_hat = tp / n_pos, tn / n_neg
            dse = stats.rogan_gladen_delta_se(g.observed, g.n_eff, tp, fn, tn, fp)
            lo_d, hi_d = max(0.0, g.raw - 1.96 * dse), min(1.0, g.raw + 1.96 * dse)
            w = stats.clustered_wilson_interval(x, m, confidence=0.95)
            lo_k = float(stats.rogan_gladen(w.low, se_hat, sp_hat))
            hi_k = float(stats.rogan_gladen(w.high, se_hat, sp_hat))
            for name, lo, hi in (("gate", g.low, g.high), ("delta", lo_d, hi_d), ("known", lo_k, hi_k)):
                hit[name] += lo <= theta <= hi
                width[name] += hi - lo
        used = trials - skipped
        out.append({"theta": theta, "n_pos": n_pos, "n_neg": n_neg, "trials": used,
                    **{f"cover[{k}]": v / used for k, v in hit.items()},
                    **{f"width[{k}]": v / used for k, v in width.items()}})
    return out


def detector_report(rows: list[dict], coverage: list[dict], policy: Policy, trials: int, cov_trials: int,
                    elapsed: float) -> tuple[list[str], list[str]]:
    """The section's Markdown lines, and its misses (false FAIL ≤ α + 1 pp, false PASS ≤ α + 2 pp)."""
    alpha, pa = policy.alpha, policy.pass_alpha
    j = DET_SENS + DET_SPEC - 1
    lines = [
        f"{DET_SECTION} ({trials} trials per cell)",
        "",
        f"A simulated detector misclassifies every true outcome of the §4 generator: sensitivity {DET_SENS}, "
        f"specificity {DET_SPEC} (J = sens + spec − 1 = {j:.2f}). In every trial the gate is told sens/spec "
        f"*estimated* from a labelled set of {DET_POS} positives and {DET_NEG} negatives (Ĵ varies from trial to "
        f"trial: SD ≈ {100 * rows[0]['j_sd@0.0']:.1f} pp), tests the observed paired difference as always, and "
        f"compares its upper bound with margin × Ĵ (docs/statistics.md §3.12). Δ is the change of the *true* ASR; "
        f"the observed change is J·Δ. K = {rows[0]['K']} attacks × {N_ATTEMPTS} attempts, margin 5 pp, one-sided "
        f"α = {alpha:g}, pass_alpha = {pa:g}. Targets as above: false FAIL ≤ α + 1 pp = {100 * (alpha + 0.01):g}%, "
        f"false PASS ≤ α + 2 pp = {100 * (alpha + 0.02):g}% (and ≤ pass_alpha + 2 pp = {100 * (pa + 0.02):g}%, "
        f"the stricter target of the small-category table). ✗ marks a miss. Monte Carlo SE ≈ "
        f"±{100 * math.sqrt(pa * (1 - pa) / trials):.2f} pp at {100 * pa:g}%.",
        "",
        "| K | scen. | false FAIL (Δ=0) | FAIL or WARN (Δ=0) | false PASS at true Δ = margin: gate (Ĵ) "
        "| same, J known | same, margin not corrected | power +5 | power +10 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    misses = []
    for r in rows:
        ff, fp = r["fail@0.0"], r["pass_or_warn@0.05[gate]"]
        ok_ff, ok_fp = ff <= alpha + 0.01, fp <= pa + 0.02
        if not ok_ff:
            misses.append(f"detector {r['scenario']}: false FAIL")
        if not ok_fp:
            misses.append(f"detector {r['scenario']}: false PASS at the true margin")
        lines.append(f"| {r['K']} | {r['scenario']} | {_pc(ff)}{_flag(ok_ff)} | {_pc(r['reject@0.0'])} "
                     f"| {_pc(fp)}{_flag(ok_fp)} | {_pc(r['pass_or_warn@0.05[known]'])} "
                     f"| {_pc(r['pass_or_warn@0.05[naive]'])} | {_pc(r['reject@0.05'])} | {_pc(r['reject@0.1'])} |")
    lines += ["", f"Cross-checked against compare() with a DetectorAccuracy from each trial's labelled counts: "
                  f"{sum(r['checked'] for r in rows)} trials, all verdicts identical.", ""]
    naive = [r["pass_or_warn@0.05[naive]"] for r in rows]
    lines.append(f"- Without the correction (the 5-point margin applied to the observed change, which is only "
                 f"{100 * j * 0.05:.0f} points) a true regression of 5 points passes {_pc(min(naive))}–"
                 f"{_pc(max(naive))}% of the time. Read on the true scale it passes "
                 f"{_pc(min(r['pass_or_warn@0.05[gate]'] for r in rows))}–"
                 f"{_pc(max(r['pass_or_warn@0.05[gate]'] for r in rows))}% of the time with the estimated Ĵ and "
                 f"{_pc(min(r['pass_or_warn@0.05[known]'] for r in rows))}–"
                 f"{_pc(max(r['pass_or_warn@0.05[known]'] for r in rows))}% with the true J: the labelled set's "
                 "noise in Ĵ costs little, because it moves the threshold by δ·SD(Ĵ), a fraction of the SE of the "
                 "change.")
    lines.append("- The false FAIL rate does not depend on the margin (significance is L > 0 on the observed "
                 "scale, and Δ_obs ≤ 0 exactly when Δ ≤ 0): the detector costs power, not validity. Compare the "
                 "power columns with the first table's K = 50 rows (a perfect detector).")
    if coverage:
        lines += ["", f"Coverage of the 95% interval for the true ASR θ behind the same detector ({cov_trials} trials "
                      f"per row; {rows[0]['K']} attacks × {N_ATTEMPTS} attempts, p_k ~ Beta(2θ, 2(1−θ)), ICC 1/3; "
                      f"Monte Carlo SE ≈ ±{100 * math.sqrt(0.05 * 0.95 / max(cov_trials, 1)):.1f} pp at 95%): "
                      "the gate's interval (Monte Carlo over Jeffreys Beta "
                      "distributions of the observed rate and of sens/spec, 4,000 draws here), the delta method "
                      "(±1.96 SE, clipped to [0, 1]), and sens/spec treated as known (the observed rate's clustered "
                      "Wilson bounds mapped through Rogan–Gladen). Mean width in points.", "",
                  "| θ | labelled (pos + neg) | gate: coverage | gate: width | delta method: coverage | width "
                  "| sens/spec as known: coverage | width |",
                  "|---|---|---|---|---|---|---|---|"]
        for c in coverage:
            lines.append(f"| {_pc(c['theta'])}% | {c['n_pos']} + {c['n_neg']} | {_pc(c['cover[gate]'])} "
                         f"| {_pc(c['width[gate]'])} | {_pc(c['cover[delta]'])} | {_pc(c['width[delta]'])} "
                         f"| {_pc(c['cover[known]'])} | {_pc(c['width[known]'])} |")
    lines += ["", "Misses in this section: " + ("none." if not misses else "; ".join(misses) + "."),
              "", f"Section run time {elapsed:.0f} s.", ""]
    return lines, misses


def splice_section(path: str, section: str) -> str:
    """The file at ``path`` with the detector section replaced by ``section`` (or inserted before the
    final "Misses:" line when the file has none yet)."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    start = text.find(DET_SECTION)
    if start >= 0:
        nxt = [i for i in (text.find("\n## ", start + 1), text.find("\nMisses:", start + 1)) if i >= 0]
        end = min(nxt) + 1 if nxt else len(text)
        return text[:start] + section + text[end:]
    at = text.rfind("\nMisses:")
    at = at + 1 if at >= 0 else len(text)
    return text[:at] + section + text[at:]


def _pc(x: float) -> str:
    return f"{100 * x:.1f}"


def _flag(ok: bool) -> str:
    return "" if ok else " ✗"


def _small_report(small: list[dict], policy: Policy, trials: int) -> tuple[list[str], list[str]]:
    """The small-category table and its misses."""
    pa, alpha = policy.pass_alpha, policy.alpha
    se = 100 * math.sqrt(pa * (1 - pa) / trials)
    se5 = 100 * math.sqrt(alpha * (1 - alpha) / trials)
    lines = [
        f"## Small categories: compare() with 3-attack categories ({trials} trials per row)",
        "",
        "Suites: A = c0, c1 (12 attacks each) + s0, s1 (3 each); B = c0, c1 (22 each) + s0, s1 (3 each); "
        "C = c0 (47) + s0 (3). The 3-attack categories can never pass at pass_alpha = "
        f"{pa:g} (the exact sign-flip test needs ≥ {stats.sign_flip_min_attacks(pa)} attacks), so under the default "
        "`categories_gate: powered` they are advisory; `all` is the former rule (every category must pass). "
        f"Monte Carlo SE ≈ ±{se:.2f} pp at a {100 * pa:g}% rate, ±{se5:.2f} pp at {100 * alpha:g}%. Targets: gate "
        f"FAIL with no change ≤ α + 1 pp = {100 * (alpha + 0.01):g}%; gate PASS/WARN when the overall group or a "
        f"powered category is at the margin ≤ pass_alpha + 2 pp = {100 * (pa + 0.02):g}%. ✗ marks a miss.",
        "",
        "| suite | scen. | case | gate PASS/WARN (powered, default) | gate PASS/WARN (all) | gate FAIL "
        "| gate INCONCL. (powered) | c0 PASS/WARN | s0 FAILs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    misses, own = [], []
    for r in small:
        pw = r["gate_pass"] + r["gate_warn"]
        pw_all = r["all_pass"] + r["all_warn"]
        flag_pw = flag_ff = flag_c0 = ""
        if "margin" in r["case"]:
            ok = pw <= pa + 0.02
            flag_pw = _flag(ok)
            if not ok:
                misses.append(f"{r['suite']} {r['scenario']} {r['case']}: false PASS")
            if r["c0_pass_or_warn"] > pa + 0.02:
                flag_c0 = " †"
                own.append(r)
        if r["case"] == "no change":
            ok = r["gate_fail"] <= alpha + 0.01
            flag_ff = _flag(ok)
            if not ok:
                misses.append(f"{r['suite']} {r['scenario']}: false FAIL")
        lines.append(f"| {r['suite']} | {r['scenario']} | {r['case']} | {_pc(pw)}{flag_pw} | {_pc(pw_all)} "
                     f"| {_pc(r['gate_fail'])}{flag_ff} | {_pc(r['gate_inconclusive'])} "
                     f"| {_pc(r['c0_pass_or_warn'])}{flag_c0} | {_pc(r['s0_fail'])} |")
    lines += ["", f"`categories_gate: all` cross-checked against compare(): {sum(r['checked'] for r in small)} "
              "trials, all verdicts identical.", ""]
    margin_rows = [r for r in small if "margin" in r["case"]]
    if margin_rows:
        worst = max(margin_rows, key=lambda r: r["gate_pass"] + r["gate_warn"])
        lines.append(f"- False PASS of the gate with the overall group or a powered category at the margin: at most "
                     f"{_pc(worst['gate_pass'] + worst['gate_warn'])}% ({worst['suite']} {worst['scenario']}, "
                     f"{worst['case']}); target {100 * (pa + 0.02):g}%.")
    if own:
        lines.append(f"- † c0's own row says pass/warn {_pc(min(r['c0_pass_or_warn'] for r in own))}–"
                     f"{_pc(max(r['c0_pass_or_warn'] for r in own))}% of the time at the margin in "
                     f"{len(own)} row(s) (" + ", ".join(sorted({r["suite"] + " " + r["scenario"] for r in own}))
                     + "): the skew caveat of docs/statistics.md §3.3 for a cluster-t group of "
                     "few attacks, the same with or without advisory categories. The gate's PASS also needs the "
                     "overall group and the other powered categories, so its own false PASS stays lower (column 4).")
    small_cases = [r for r in small if r["case"].startswith("s0 +15")]
    if small_cases:
        lines.append(f"- The price of advisory categories: with only s0 regressed by +15 pp the gate passes "
                     f"{_pc(min(r['gate_pass'] + r['gate_warn'] for r in small_cases))}–"
                     f"{_pc(max(r['gate_pass'] + r['gate_warn'] for r in small_cases))}% of the time (0% under "
                     f"`all`, which never passes with a 3-attack category) and s0 FAILs "
                     f"{_pc(max(r['s0_fail'] for r in small_cases))}% at most: 3 attacks can never be significant "
                     "(2^-3 > α). A PASS says nothing about an advisory category.")
    lines.append("")
    return lines, misses


def report(rows: list[dict], holm: list[dict], alpha: float, elapsed: float, trials: int, holm_trials: int,
           small: list[dict] | None = None, small_trials: int = 0, detector: list[str] | None = None,
           detector_misses: list[str] | None = None) -> str:
    lines = [
        "# Calibration of the asr-gate verdict (bench/calibration.py)",
        "",
        f"Generator of docs/statistics.md §4: p_k ~ Beta(0.4, 1.6), n = {N_ATTEMPTS} attempts per attack per run, "
        f"one-sided α = {alpha}, margin δ = 5 pp, {trials} trials per cell (Monte Carlo SE of a 5% rate ≈ "
        f"±{100 * math.sqrt(0.05 * 0.95 / trials):.1f} pp). S1 sharp (τ=0), S2 heterogeneous change (τ=1), "
        "S3 run drift (τ=0.5, σ_run=0.5). Decision path: gate.stats.paired_difference → "
        "gate.verdict.group_verdicts, cross-checked against gate.verdict.compare() on the first trials of every "
        "cell. All rates in %.",
        "",
        "Targets: false FAIL ≤ α + 1 pp; |power − planner| ≤ 3 pp; false PASS at the margin ≤ α + 2 pp. "
        "✗ marks a miss. \"power\" = P(L > 0), i.e. FAIL or WARN. \"planner\" = gate.stats.predicted_power as "
        "`asr-gate plan` uses it (t-corrected for K < 20, normal from K = 20), fed with the "
        "generator's true ω², σ²_w,b, σ²_w,c; in brackets the plain normal formula of docs/statistics.md §3.7.",
        "",
        "| K | scen. | ω | false FAIL (Δ=0) | FAIL or WARN (Δ=0) | power +5 | planner +5 (normal) | power +10 "
        "| planner +10 (normal) | false PASS at +5 (default pass_alpha=α/2) | same, pass_alpha=α | INCONCL. at Δ=0 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    misses = []
    for r in rows:
        ff = r["fail@0.0"]
        rej0 = r["reject@0.0"]
        p5, pl5 = r["reject@0.05"], r["planner@0.05"]
        p10, pl10 = r["reject@0.1"], r["planner@0.1"]
        fp = r["pass_or_warn@0.05"]
        fp2 = r.get("pass_or_warn@0.05[pass_alpha=alpha]")
        ok_ff = ff <= alpha + 0.01
        ok5, ok10 = abs(p5 - pl5) <= 0.03, abs(p10 - pl10) <= 0.03
        ok_fp = fp <= alpha + 0.02
        for ok, what in ((ok_ff, "false FAIL"), (ok5, "power +5 vs planner"), (ok10, "power +10 vs planner"),
                         (ok_fp, "false PASS at margin")):
            if not ok:
                misses.append(f"K={r['K']} {r['scenario']}: {what}")
        lines.append(
            f"| {r['K']} | {r['scenario']} | {r['omega@0.05']:.3f} | {_pc(ff)}{_flag(ok_ff)} | {_pc(rej0)} "
            f"| {_pc(p5)} | {_pc(pl5)}{_flag(ok5)} ({_pc(r['normal@0.05'])}) | {_pc(p10)} "
            f"| {_pc(pl10)}{_flag(ok10)} ({_pc(r['normal@0.1'])}) "
            f"| {_pc(fp)}{_flag(ok_fp)} | {'' if fp2 is None else _pc(fp2)} | {_pc(r['inconclusive@0.0'])} |")
    lines += ["", f"Cross-checked against compare(): {sum(r['checked'] for r in rows)} trials, all verdicts identical.",
              ""]
    if holm:
        lines += [
            f"## Holm family: compare() on 5 categories × 20 attacks ({holm_trials} trials per row)",
            "",
            "| scen. | case | gate FAIL | overall test alone rejects | regressed category c0 FAILs "
            "| a null category flagged (fail/warn) |",
            "|---|---|---|---|---|---|",
        ]
        for h in holm:
            lines.append(f"| {h['scenario']} | {h['case']} | {_pc(h['gate_fail'])} | {_pc(h['overall_alone'])} "
                         f"| {_pc(h['c0_fail'])} | {_pc(h['null_cats_flagged'])} |")
        lines.append("")
    if small:
        more, small_misses = _small_report(small, Policy(), small_trials)
        lines += more
        misses += small_misses
    if detector:
        lines += detector
        misses += detector_misses or []
    lines.append("Misses: " + ("none." if not misses else "; ".join(misses) + "."))
    lines.append("")
    # data-driven notes on the misses (no claims that the numbers above do not support)
    pw = [(r, d) for r in rows for d in (0.05, 0.1) if abs(r[f"reject@{d}"] - r[f"planner@{d}"]) > 0.03]
    if pw:
        above = all(r[f"reject@{d}"] > r[f"planner@{d}"] for r, d in pw)
        normal_ok = sum(abs(r[f"reject@{d}"] - r[f"normal@{d}"]) <= 0.03 for r in rows for d in (0.05, 0.1))
        worst = max(r[f"reject@{d}"] - r[f"planner@{d}"] for r, d in pw)
        lines.append(
            f"- Power vs planner: {len(pw)} cell(s) off by more than 3 pp"
            + (f", all with simulated power *above* the prediction (by up to {100 * worst:.1f} pp): the planner is "
               "conservative there" if above else "") + f". The plain normal formula is within 3 pp in {normal_ok} "
            f"of {2 * len(rows)} cells. D is right-skewed, so a trial's mean and SD are positively correlated, "
            "which helps the t test at high power; normal theory with a t correction ignores this.")
    fp = [r for r in rows if r["pass_or_warn@0.05"] > alpha + 0.02]
    if fp:
        lines.append(
            f"- False PASS at the margin above α + 2 pp in {len(fp)} cell(s) (max "
            f"{100 * max(r['pass_or_warn@0.05'] for r in fp):.1f}%; the skew caveat of docs/statistics.md §3.3).")
    loose = [r.get("pass_or_warn@0.05[pass_alpha=alpha]") for r in rows]
    if all(x is not None for x in loose):
        over = sum(x > alpha + 0.02 for x in loose)
        lines.append(
            f"- With `pass_alpha` = α instead of the default α/2, the false PASS rate at the margin reaches "
            f"{100 * max(loose):.1f}% ({over} cell(s) above α + 2 pp): right-skewed per-attack differences make "
            "the symmetric t bound too optimistic at small K, which is why the default holds PASS to α/2.")
    lines.append("")
    lines.append(f"Run time {elapsed:.0f} s.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=10_000, help="trials per cell (≥ 2000 recommended)")
    ap.add_argument("--holm-trials", type=int, default=2000, help="trials per row of the category table (0: skip)")
    ap.add_argument("--small-trials", type=int, default=2000,
                    help="trials per row of the small-category table (0: skip)")
    ap.add_argument("--detector-trials", type=int, default=20_000,
                    help="trials per cell of the imperfect-detector table (0: skip); coverage uses a tenth")
    ap.add_argument("--section", choices=("all", "detector"), default="all",
                    help="detector: compute only the imperfect-detector section and splice it into --out")
    ap.add_argument("--quick", action="store_true", help="divide every trial count by 10 (smoke run)")
    ap.add_argument("--crosscheck", type=int, default=50, help="trials per cell also run through compare()")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", help="also write the Markdown table to this file")
    args = ap.parse_args(argv)
    if args.quick:
        args.trials, args.holm_trials, args.small_trials, args.detector_trials = (
            max(1, x // 10) if x > 0 else 0
            for x in (args.trials, args.holm_trials, args.small_trials, args.detector_trials))
    t0 = time.time()
    det_lines, det_misses = [], []
    if args.detector_trials > 0:
        cov_trials = max(1, args.detector_trials // 10)
        det_rows = run_detector(args.detector_trials, args.seed)
        coverage = run_coverage(cov_trials, args.seed)
        det_lines, det_misses = detector_report(det_rows, coverage, Policy(), args.detector_trials, cov_trials,
                                                time.time() - t0)
    if args.section == "detector":
        section = "\n".join(det_lines)
        text = splice_section(args.out, section) if args.out and os.path.exists(args.out) else section
        sys.stdout.write(section)
        if args.out:
            with open(args.out, "w", encoding="utf-8") as fh:
                fh.write(text)
        return 0
    policies = {"default": Policy(), "pass_alpha=alpha": Policy(pass_alpha=Policy().alpha)}
    rows = run_cells(args.trials, args.seed, crosscheck_n=args.crosscheck, policies=policies)
    holm = run_holm(args.holm_trials, args.seed) if args.holm_trials > 0 else []
    small = run_small(args.small_trials, args.seed) if args.small_trials > 0 else []
    text = report(rows, holm, Policy().alpha, time.time() - t0, args.trials, args.holm_trials, small,
                  args.small_trials, det_lines, det_misses)
    sys.stdout.write(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
