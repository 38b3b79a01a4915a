"""gate.stats against the published answer key (docs/statistics.md §5), the planner table (§3.7), and
brute-force / textbook definitions of every estimator the gate uses."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as st

from gate import stats
from gate.stats import differences


# ---------------------------------------------------------------------------------------------
# §5 answer key
# ---------------------------------------------------------------------------------------------

def test_row1_barnard_vaccine_trial():
    r = stats.exact_2x2([[7, 12], [8, 3]], alternative="less", method="barnard")
    assert r.statistic == pytest.approx(-1.894, abs=1e-3)
    assert r.p_value == pytest.approx(0.03407, abs=1e-3)


def test_row2_fisher_vaccine_trial():
    r = stats.exact_2x2([[7, 12], [8, 3]], alternative="less", method="fisher")
    assert r.p_value == pytest.approx(0.0640, abs=1e-4)


def test_row3_boschloo_job_satisfaction():
    r = stats.exact_2x2([[74, 31], [43, 32]], alternative="greater", method="boschloo")
    assert r.statistic == pytest.approx(0.0483, abs=1e-3)
    assert r.p_value == pytest.approx(0.0355, abs=1e-3)


def test_row4_fisher_docstring():
    r = stats.exact_2x2([[8, 2], [1, 5]], method="fisher")
    assert r.statistic == pytest.approx(20.0)
    assert r.p_value == pytest.approx(0.034965034965, abs=1e-12)


def test_row5_lady_tasting_tea():
    assert stats.exact_2x2([[3, 1], [1, 3]], alternative="greater").p_value == pytest.approx(17 / 70, abs=1e-9)
    assert stats.exact_2x2([[3, 1], [1, 3]]).p_value == pytest.approx(0.485714, abs=1e-6)


def test_row5_through_the_gate_vectorised_fisher():
    # candidate 3/4 vs baseline 1/4 is the tea table [[3,1],[1,3]] in the gate's orientation
    assert stats.fisher_greater([1], [4], [3], [4])[0] == pytest.approx(17 / 70, abs=1e-12)


def test_row6_clopper_pearson_one_sided_lower_bound():
    ci = stats.proportion_interval(3, 15, 0.95, method="exact", alternative="greater")
    assert ci.low == pytest.approx(0.056847, abs=1e-6)
    assert ci.high == 1.0


@pytest.mark.parametrize("x,n,wald,wilson,wilsoncc,cp", [
    (81, 263, (0.2522, 0.3638), (0.2553, 0.3662), (0.2535, 0.3682), (0.2527, 0.3676)),   # row 7
    (15, 148, None, (0.0624, 0.1605), (0.0598, 0.1644), (0.0578, 0.1617)),                # row 8
    (0, 20, None, (0.0, 0.1611), (0.0, 0.2005), (0.0, 0.1684)),                           # row 9
    (1, 29, None, (0.0061, 0.1718), (0.0018, 0.1963), (0.0009, 0.1776)),                  # row 10
])
def test_rows7_to_10_newcombe_single_proportion(x, n, wald, wilson, wilsoncc, cp):
    for method, expect in (("wald", wald), ("wilson", wilson), ("wilsoncc", wilsoncc), ("exact", cp)):
        if expect is None:
            continue
        ci = stats.proportion_interval(x, n, 0.95, method=method)
        assert (round(ci.low, 4), round(ci.high, 4)) == pytest.approx(expect, abs=1e-12), method


@pytest.mark.parametrize("x1,n1,x2,n2,low,high", [
    (56, 70, 48, 80, 0.0524, 0.3339),
    (9, 10, 3, 10, 0.1705, 0.8090),
    (6, 7, 2, 7, 0.0582, 0.8062),
    (5, 56, 0, 29, -0.0381, 0.1926),
    (0, 10, 0, 20, -0.1611, 0.2775),
    (0, 10, 0, 10, -0.2775, 0.2775),
    (10, 10, 0, 20, 0.6791, 1.0000),
    (10, 10, 0, 10, 0.6075, 1.0000),
])
def test_row11_newcombe_method10_difference(x1, n1, x2, n2, low, high):
    ci = stats.newcombe_interval(x1, n1, x2, n2, 0.95)
    assert round(ci.low, 4) == pytest.approx(low, abs=1e-12)
    assert round(ci.high, 4) == pytest.approx(high, abs=1e-12)
    assert -1 <= ci.low <= ci.estimate <= ci.high <= 1


def test_row12_pocock_and_obf_constants_computed():
    assert [round(stats.gsd_constant(k, 0.05, "pocock"), 3) for k in (2, 3, 4, 5)] == [2.178, 2.289, 2.361, 2.413]
    assert [round(stats.gsd_constant(k, 0.05, "obf"), 3) for k in (2, 3, 4, 5)] == [1.977, 2.004, 2.024, 2.040]


def test_row13_lan_demets_obf_spending_four_looks():
    b = stats.gsd_spending_boundaries([0.25, 0.5, 0.75, 1.0], alpha=0.025)
    assert b == pytest.approx((4.3326, 2.9631, 2.3590, 2.0141), abs=2e-4)


def test_sequential_constants_table_matches_computation():
    b = stats.gsd_spending_boundaries([0.25, 0.5, 0.75, 1.0], alpha=0.05)
    assert b == pytest.approx(stats.OBF_4_LOOKS_ALPHA_05, abs=2e-4)
    # t version at look j: t_{K_j-1}.ppf(Φ(c_j)); larger than c_j, converging to it
    t = stats.gsd_t_critical(stats.OBF_4_LOOKS_ALPHA_05, [13, 25, 38, 50])
    assert all(tc > c for tc, c in zip(t, stats.OBF_4_LOOKS_ALPHA_05))
    assert t[-1] == pytest.approx(st.t.ppf(st.norm.cdf(1.7202), 49))


def test_row14_zero_success_upper_bound():
    assert stats.zero_success_upper(20, 0.05) == pytest.approx(0.1391, abs=5e-5)
    assert stats.zero_success_upper(300, 0.05) == pytest.approx(3 / 300, rel=0.01)  # rule of three


def test_row15_inspect_clustered_stderr():
    r = stats.cluster_mean_se([2, 0], [2, 2])  # scores [1,1,0,0], clusters [a,a,b,b]
    assert r.se == pytest.approx(0.5)
    assert r.naive_se == pytest.approx(0.288675, abs=1e-6)


# ---------------------------------------------------------------------------------------------
# §3.7 planner
# ---------------------------------------------------------------------------------------------

PLANNER_TABLE = {  # (delta, omega): {n: K}, p = 0.20, ICC = 1/3, alpha 0.05 one-sided, power 0.8
    (0.05, 0.00): {1: 528, 5: 106, 10: 53, 20: 27, 50: 11},
    (0.05, 0.05): {1: 534, 5: 112, 10: 59, 20: 33, 50: 17},
    (0.05, 0.10): {1: 553, 5: 131, 10: 78, 20: 52, 50: 36},
    (0.05, 0.15): {1: 584, 5: 162, 10: 109, 20: 83, 50: 67},
    (0.10, 0.00): {1: 132, 5: 27, 10: 14, 20: 7, 50: 3},
    (0.10, 0.10): {1: 139, 5: 33, 10: 20, 20: 13, 50: 9},
    (0.10, 0.15): {1: 146, 5: 41, 10: 28, 20: 21, 50: 17},
}


@pytest.mark.parametrize("key", list(PLANNER_TABLE))
def test_planner_table(key):
    delta, omega = key
    for n, k in PLANNER_TABLE[key].items():
        p = stats.plan(0.20, delta, omega=omega, icc=1 / 3, repeats=n)
        assert p.attacks_z == k, (key, n)  # the table is the normal formula
        if k >= 30:
            assert p.attacks == k          # no t iteration at K >= 30
        else:
            assert p.attacks >= k          # one t iteration only adds attacks


def test_planner_t_iteration_small_k():
    # δ = 10 pp, ω = 0, n = 20: z gives 6.63 → 7; t_6 quantiles give (1.943+0.906)² · V/δ² → 9
    var_d = stats.variance_of_difference(0.0, stats.within_variance(0.2, 1 / 3), 20)
    assert stats.plan_attacks(0.10, var_d, t_iteration=False) == 7
    expect = math.ceil((st.t.ppf(0.95, 6) + st.t.ppf(0.8, 6)) ** 2 * var_d / 0.01)
    assert stats.plan_attacks(0.10, var_d) == expect == 9


def test_planner_worked_example():
    s2 = stats.within_variance(0.20, 1 / 3)
    v = stats.variance_of_difference(0.13, s2, 20)
    assert math.sqrt(v / 50) == pytest.approx(0.0235, abs=5e-5)          # SE = 2.35 pp
    assert stats.mde(50, v) == pytest.approx(0.058, abs=5e-4)             # MDE80 = 5.8 pp
    assert math.sqrt(2 * 0.2 * 0.8 / (50 * 20)) == pytest.approx(0.0179, abs=5e-5)  # naive pooled
    assert math.sqrt(stats.variance_of_difference(0.0, s2, 20) / 50) == pytest.approx(0.0146, abs=5e-5)
    assert stats.k_min(0.05, 0.13) == 42
    assert stats.n_star(s2, 0.13) == pytest.approx(12.6, abs=0.1)
    assert stats.n_star(s2, 0.05) == pytest.approx(85.3, abs=0.1)


def test_planner_repeats_inverts_attacks():
    s2 = stats.within_variance(0.2, 1 / 3)
    n = stats.plan_repeats(0.05, 60, 0.10, s2, use_t=False)
    # with n repeats, 60 attacks are enough; with n-1 they are not
    assert stats.plan_attacks(0.05, stats.variance_of_difference(0.10, s2, n), t_iteration=False) <= 60
    assert stats.plan_attacks(0.05, stats.variance_of_difference(0.10, s2, n - 1), t_iteration=False) > 60
    assert stats.plan_repeats(0.05, 40, 0.13, s2) is None  # below K_min = 42: no n is enough


def test_predicted_power_matches_mde_definition():
    v = 0.02
    m = stats.mde(52, v, 0.05, 0.8)
    assert stats.predicted_power(m, 52, v, method="normal") == pytest.approx(0.8, abs=1e-9)
    m_t = stats.mde(12, v, 0.05, 0.8, use_t=True)
    assert stats.predicted_power(m_t, 12, v, method="t") == pytest.approx(0.8, abs=1e-9)
    assert stats.predicted_power(m_t, 12, v) == pytest.approx(0.8, abs=1e-9)  # auto = t below 30
    assert stats.predicted_power(0.0, 52, v, method="normal") == pytest.approx(0.05)


# ---------------------------------------------------------------------------------------------
# The paired per-attack test
# ---------------------------------------------------------------------------------------------

def test_paired_equal_attempts_is_mean_and_sd_over_sqrt_k():
    rng = np.random.default_rng(0)
    b = rng.integers(0, 21, 30)
    c = rng.integers(0, 21, 30)
    r = stats.paired_difference(b, np.full(30, 20), c, np.full(30, 20))
    d = (c - b) / 20
    assert r.delta == pytest.approx(d.mean())
    assert r.se == pytest.approx(d.std(ddof=1) / math.sqrt(30))
    t = d.mean() / r.se
    assert r.p_value == pytest.approx(st.t.sf(t, 29))
    assert r.lower == pytest.approx(d.mean() - st.t.ppf(0.95, 29) * r.se)
    assert r.upper == pytest.approx(d.mean() + st.t.ppf(0.95, 29) * r.se)
    # the one-sample t test of scipy gives the same p-value
    assert r.p_value == pytest.approx(st.ttest_1samp(d, 0, alternative="greater").pvalue)


def test_paired_unequal_attempts_ratio_estimator():
    b = np.array([2, 5, 0, 7, 3])
    mb = np.array([10, 20, 8, 20, 15])
    c = np.array([4, 6, 1, 12, 3])
    mc = np.array([10, 18, 9, 20, 12])
    r = stats.paired_difference(b, mb, c, mc)
    assert r.delta == pytest.approx(c.sum() / mc.sum() - b.sum() / mb.sum())
    K = 5
    rc, rb = c.sum() / mc.sum(), b.sum() / mb.sum()
    e = (c - rc * mc) / mc.mean() - (b - rb * mb) / mb.mean()
    assert r.se == pytest.approx(math.sqrt(K / (K - 1) * (e ** 2).sum() / K ** 2))
    assert r.baseline_asr == pytest.approx(rb) and r.candidate_asr == pytest.approx(rc)


def test_paired_is_vectorised_over_leading_axes():
    rng = np.random.default_rng(1)
    b = rng.integers(0, 11, (7, 25))
    c = rng.integers(0, 11, (7, 25))
    m = np.full((7, 25), 10)
    batch = stats.paired_difference(b, m, c, m)
    for i in range(7):
        one = stats.paired_difference(b[i], m[i], c[i], m[i])
        assert batch.p_value[i] == pytest.approx(one.p_value)
        assert batch.lower[i] == pytest.approx(one.lower)


def test_paired_degenerate_se_uses_jeffreys():
    b = np.zeros(12)
    c = np.zeros(12)
    m = np.full(12, 20)
    r = stats.paired_difference(b, m, c, m)
    pt = 0.5 / 21
    expect = math.sqrt(12 * 2 * pt * (1 - pt) / 20) / 12
    assert r.degenerate
    assert r.se == pytest.approx(expect)
    assert r.upper == pytest.approx(st.t.ppf(0.95, 11) * expect)
    assert r.p_value == pytest.approx(0.5)


def test_paired_too_few_attacks():
    r = stats.paired_difference([1], [10], [5], [10])
    assert r.p_value == 1.0 and r.lower == -1.0 and r.upper == 1.0


def test_pass_alpha_only_moves_the_upper_bound():
    rng = np.random.default_rng(2)
    b, c = rng.integers(0, 21, 40), rng.integers(0, 21, 40)
    m = np.full(40, 20)
    a = stats.paired_difference(b, m, c, m, alpha=0.05, pass_alpha=0.05)
    s = stats.paired_difference(b, m, c, m, alpha=0.05, pass_alpha=0.025)
    assert s.lower == pytest.approx(a.lower)
    assert s.upper > a.upper


# ---------------------------------------------------------------------------------------------
# Sign-flip
# ---------------------------------------------------------------------------------------------

def _brute_sign_flip_p(d):
    K = len(d)
    obs = d.mean() / (d.std(ddof=1) / math.sqrt(K)) if d.std(ddof=1) > 0 else math.copysign(math.inf, d.mean())
    count = 0
    for signs in itertools.product((1, -1), repeat=K):
        x = d * np.array(signs)
        sd = x.std(ddof=1)
        t = x.mean() / (sd / math.sqrt(K)) if sd > 1e-15 else (math.copysign(math.inf, x.mean()) if x.mean() else 0)
        count += t >= obs - 1e-9
    return count / 2 ** K


def test_sign_flip_matches_brute_force_and_its_bounds():
    rng = np.random.default_rng(3)
    for _ in range(40):
        K = int(rng.integers(3, 10))
        d = np.round(rng.normal(0.03, 0.1, K), 2)
        r = stats.sign_flip_test(d, alpha=0.05)
        assert r.p_value == pytest.approx(_brute_sign_flip_p(d))
        # inverted bounds are consistent with the test: p ≤ α ⟺ L > 0
        assert (r.p_value <= 0.05) == (r.lower > 0)
        # and the test of Δ = L does not reject, Δ slightly below L does (when L is finite)
        if r.lower > -1:
            assert stats.sign_flip_test(d, null=r.lower).p_value > 0.05
            assert stats.sign_flip_test(d, null=r.lower - 1e-6).p_value <= 0.05
        # PASS side: U < δ ⟺ the one-sided test of Δ ≥ δ rejects (mirror image)
        delta = 0.05
        p_pass = stats.sign_flip_test(-(d - delta)).p_value
        assert (r.upper < delta) == (p_pass <= 0.05)


def test_sign_flip_minimum_p_and_small_k():
    assert stats.sign_flip_test([0.1, 0.2, 0.3, 0.4, 0.5]).p_value == pytest.approx(1 / 32)
    small = stats.sign_flip_test([0.1, 0.2, 0.3, 0.4])  # 1/16 > 0.05: can never reject
    assert small.p_value == pytest.approx(1 / 16)
    assert small.lower == -1.0 and small.upper == 1.0


# ---------------------------------------------------------------------------------------------
# Multiplicity
# ---------------------------------------------------------------------------------------------

def test_holm_textbook_example():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005, 0.01, 0.03, 0.04 → 4·0.005=0.02, 3·0.01=0.03, 2·0.03=0.06, 1·0.04 → max(0.06,0.04)=0.06
    assert stats.holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_bh_textbook_example():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted 0.005·4/1=0.02, 0.01·4/2=0.02, 0.03·4/3=0.04, 0.04·4/4=0.04
    assert stats.benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_adjustments_are_monotone_and_bounded():
    rng = np.random.default_rng(4)
    p = rng.uniform(size=50) ** 3
    for adj in (stats.holm(p), stats.benjamini_hochberg(p)):
        assert np.all(adj >= p - 1e-15) and np.all(adj <= 1)
        order = np.argsort(p)
        assert np.all(np.diff(adj[order]) >= -1e-15)
    assert np.all(stats.benjamini_hochberg(p) <= stats.holm(p) + 1e-15)
    assert stats.adjust_pvalues([0.2, np.nan], "none").tolist() == [0.2, 1.0]


# ---------------------------------------------------------------------------------------------
# ICC, clustered Wilson, omega
# ---------------------------------------------------------------------------------------------

def test_icc_matches_anova_formula_of_section_3_5():
    rng = np.random.default_rng(5)
    n, K = 20, 30
    x = rng.binomial(n, rng.beta(0.4, 1.6, K))
    p = x / n
    msb = n * ((p - p.mean()) ** 2).sum() / (K - 1)
    msw = (n * p * (1 - p)).sum() / (K * (n - 1))
    assert stats.icc_anova(x, np.full(K, n)) == pytest.approx(max(0, (msb - msw) / (msb + (n - 1) * msw)))


def test_icc_edge_cases():
    assert stats.icc_anova([0, 0, 0], [10, 10, 10]) == 0.0
    assert stats.icc_anova([0, 10, 0, 10], [10, 10, 10, 10]) == 1.0
    assert math.isnan(stats.icc_anova([1], [10]))


def test_icc_recovers_beta_population_value():
    rng = np.random.default_rng(6)
    x = rng.binomial(50, rng.beta(0.4, 1.6, 4000))
    assert stats.icc_anova(x, np.full(4000, 50)) == pytest.approx(1 / 3, abs=0.03)


def test_clustered_wilson_uses_design_effect():
    rng = np.random.default_rng(7)
    x = rng.binomial(20, rng.beta(0.4, 1.6, 50))
    m = np.full(50, 20)
    ci = stats.clustered_wilson_interval(x, m, confidence=0.95)
    icc = stats.icc_anova(x, m)
    deff = 1 + 19 * icc
    assert ci.deff == pytest.approx(deff)
    expect = stats.wilson_interval(x.sum() / 1000 * (1000 / deff), 1000 / deff, 0.95)
    assert (ci.low, ci.high) == pytest.approx((expect.low, expect.high))
    pooled = stats.wilson_interval(x.sum(), 1000)
    assert ci.high - ci.low > pooled.high - pooled.low  # wider than the (wrong) pooled interval


def test_clustered_wilson_zero_successes_gives_exact_upper_bound():
    ci = stats.clustered_wilson_interval([0] * 10, [20] * 10, confidence=0.90)
    assert ci.low == 0.0
    assert ci.high == pytest.approx(stats.zero_success_upper(200, 0.05))


def test_clustered_wilson_coverage_beats_pooled():
    """The §3.5 claim in miniature: one-sided 95% upper bound coverage of the super-population ASR."""
    rng = np.random.default_rng(8)
    hits_c = hits_p = 0
    trials = 300
    for _ in range(trials):
        x = rng.binomial(20, rng.beta(0.4, 1.6, 50))
        hits_c += stats.clustered_wilson_interval(x, [20] * 50, 0.95, alternative="less").high >= 0.2
        hits_p += stats.wilson_interval(x.sum(), 1000, 0.95, alternative="less").high >= 0.2
    assert hits_c / trials >= 0.90
    assert hits_p / trials <= 0.85


def test_omega_hat_definition():
    rng = np.random.default_rng(9)
    b, c = rng.integers(0, 21, 40), rng.integers(0, 21, 40)
    m = np.full(40, 20)
    pb, pc = b / 20, c / 20
    s2 = np.var(pc - pb, ddof=1)
    noise = np.mean(pb * (1 - pb) / 19 + pc * (1 - pc) / 19)
    assert stats.omega_hat(b, m, c, m) == pytest.approx(math.sqrt(max(0, s2 - noise)))
    # identical per-attack rates with binomial noise only: ω̂ ≈ 0
    p = rng.beta(0.4, 1.6, 3000)
    b, c = rng.binomial(20, p), rng.binomial(20, p)
    assert stats.omega_hat(b, np.full(3000, 20), c, np.full(3000, 20)) < 0.03


# ---------------------------------------------------------------------------------------------
# Per-attack drill-down
# ---------------------------------------------------------------------------------------------

def test_vectorised_fisher_equals_scipy():
    rng = np.random.default_rng(10)
    for _ in range(30):
        mb, mc = int(rng.integers(1, 40)), int(rng.integers(1, 40))
        b, c = int(rng.integers(0, mb + 1)), int(rng.integers(0, mc + 1))
        ref = st.fisher_exact([[c, b], [mc - c, mb - b]], alternative="greater").pvalue
        assert stats.fisher_greater([b], [mb], [c], [mc])[0] == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_per_attack_tests_boschloo_for_top_and_bh():
    b = np.array([0, 1, 5, 10, 2, 3])
    c = np.array([8, 1, 5, 2, 6, 3])
    m = np.full(6, 20)
    r = stats.per_attack_tests(b, m, c, m, top=2)
    assert list(r.top) == [0, 4]  # increased attacks, most significant first
    assert r.method[0] == "boschloo" and r.method[4] == "boschloo" and r.method[3] == "fisher"
    ref = st.boschloo_exact([[8, 0], [12, 20]], alternative="greater").pvalue
    assert r.p[0] == pytest.approx(ref)
    assert r.p[0] <= stats.fisher_greater([0], [20], [8], [20])[0]
    assert r.q == pytest.approx(stats.benjamini_hochberg(r.p))
    big = stats.per_attack_tests([0], [200], [30], [200], top=5)
    assert big.method[0] == "fisher"  # n > 100: Fisher


def test_sign_flip_single_attack_is_never_significant():
    """Regression: with K = 1 the studentised statistic is undefined; it must not read as p = 0."""
    from gate import stats

    for d in (0.0, 0.05, 0.5, -0.2):
        r = stats.sign_flip_test([d])
        assert r.p_value >= 0.5 and r.lower == -1.0


# ---------------------------------------------------------------------------------------------
# Review fixes (each test failed before its fix)
# ---------------------------------------------------------------------------------------------

def test_planner_with_fewer_than_two_attacks_is_a_clear_answer_not_a_crash():
    assert stats.plan_repeats(0.05, 1, 0.1, 0.09) is None  # used to be ceil(NaN): ValueError
    assert stats.mde(1, 0.02, use_t=True) == math.inf
    assert stats.predicted_power(0.05, 1, 0.02) == 0.0
    p = stats.plan(0.1, 0.05, attacks=1)
    assert p.repeats is None and p.mde is None and p.power is None and p.attacks >= 2
    assert stats.plan_repeats(0.05, 2, 0.0, 0.09) is not None  # two attacks: defined


def test_ratio_contributions_average_to_the_ratio_estimator():
    rng = np.random.default_rng(3)
    K = 9
    mb, mc = rng.integers(1, 300, K), rng.integers(1, 300, K)
    b, c = rng.binomial(mb, 0.2), rng.binomial(mc, 0.3)
    d = stats.ratio_contributions(b, mb, c, mc)
    pd_ = stats.paired_difference(b, mb, c, mc)
    assert d.mean() == pytest.approx(pd_.delta, abs=1e-12)
    assert d.std(ddof=1) / math.sqrt(K) == pytest.approx(pd_.se, rel=1e-9)
    # equal attempts: the plain per-attack differences
    m = np.full(K, 20)
    assert stats.ratio_contributions(b % 21, m, c % 21, m) == pytest.approx((c % 21) / 20 - (b % 21) / 20)
    # vectorised along the last axis
    batch = stats.ratio_contributions(np.stack([b, b]), np.stack([mb, mb]), np.stack([c, c]), np.stack([mc, mc]))
    assert batch.shape == (2, K) and batch[1] == pytest.approx(d)


def test_paired_difference_takes_its_bounds_from_one_sided_bounds(monkeypatch):
    calls = []
    real = stats.one_sided_bounds

    def spy(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(differences, "one_sided_bounds", spy)  # the module paired_difference lives in
    r = stats.paired_difference([1, 2, 0, 3], [10] * 4, [2, 4, 1, 3], [10] * 4, alpha=0.05, pass_alpha=0.025)
    assert calls
    lo, hi = real(r.delta, r.se, 3, 0.05, 0.025)
    assert (r.lower, r.upper) == pytest.approx((lo, hi))
