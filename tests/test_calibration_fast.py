"""A few-hundred-trial version of bench/calibration.py with loose bounds (the full run, ≥ 2000
trials per cell, is `make bench`; its output is bench/results/calibration.md).

Fixed seeds make this deterministic; the bounds are about 3 Monte Carlo SEs from the targets, so a
gate that pooled attempts (≈10% false FAIL under heterogeneous change) or a broken interval
would fail them."""
from __future__ import annotations

import importlib.util
import os
import sys

import numpy as np
import pytest

from gate.verdict import Policy

_PATH = os.path.join(os.path.dirname(__file__), "..", "bench", "calibration.py")
_spec = importlib.util.spec_from_file_location("asr_gate_calibration", _PATH)
cal = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = cal  # dataclasses look their module up here
_spec.loader.exec_module(cal)

TRIALS = 600


@pytest.fixture(scope="module")
def rows():
    policies = {"default": Policy(), "pass_alpha=0.025": Policy(pass_alpha=0.025)}
    return {(r["K"], r["scenario"]): r for r in cal.run_cells(TRIALS, seed=11, ks=(50,), crosscheck_n=15,
                                                            policies=policies)}


def test_gamma_calibration_hits_the_target_delta():
    for s in cal.SCENARIOS:
        pop = cal.calibrate(s, 0.05, draws=200_000)
        rng = np.random.default_rng(0)
        b, c = cal.simulate(s, 2000, pop, 20, rng)
        assert (c.mean() - b.mean()) / 20 == pytest.approx(0.05, abs=0.006)


@pytest.mark.parametrize("scenario", ["S1", "S2", "S3"])
def test_false_fail_rate_under_no_regression(rows, scenario):
    r = rows[(50, scenario)]
    assert r["fail@0.0"] <= 0.05 + 0.03
    assert r["reject@0.0"] <= 0.05 + 0.03


@pytest.mark.parametrize("scenario", ["S1", "S2", "S3"])
def test_power_matches_planner_loosely(rows, scenario):
    r = rows[(50, scenario)]
    assert abs(r["reject@0.05"] - r["planner@0.05"]) <= 0.07
    assert abs(r["reject@0.1"] - r["planner@0.1"]) <= 0.07


@pytest.mark.parametrize("scenario", ["S1", "S2", "S3"])
def test_false_pass_at_the_margin(rows, scenario):
    r = rows[(50, scenario)]
    assert r["pass_or_warn@0.05"] <= 0.05 + 0.04
    assert r["pass_or_warn@0.05[pass_alpha=0.025]"] <= r["pass_or_warn@0.05"]


def test_vectorised_path_agrees_with_compare(rows):
    assert all(r["checked"] == 3 * 15 for r in rows.values())


# ---------------------------------------------------------------------------------------------
# Small (advisory) categories: compare() itself, docs/statistics.md §3.4 / §4.6
# ---------------------------------------------------------------------------------------------

SMALL_TRIALS = 120


@pytest.fixture(scope="module")
def small():
    suites = {k: cal.SMALL_SUITES[k] for k in ("A (K=30)", "C (K=50)")}
    cases = tuple(c for c in cal.SMALL_CASES if c[0] in ("no change", "c0 at the margin (+5), rest 0"))
    rows = cal.run_small(SMALL_TRIALS, seed=5, suites=suites, scenarios=("S1",), cases=cases, crosscheck_n=10)
    return {(r["suite"], r["case"]): r for r in rows}


def test_small_categories_do_not_hold_back_a_pass(small):
    r = small[("C (K=50)", "no change")]
    # under the former rule a 3-attack category makes every PASS impossible; advisory, it does not
    assert r["all_pass"] + r["all_warn"] == 0
    assert r["gate_pass"] + r["gate_warn"] >= 0.5
    for (suite, case), r in small.items():
        if case == "no change":
            assert r["gate_fail"] <= 0.05 + 0.05, suite


def test_false_pass_with_a_powered_category_at_the_margin(small):
    pa = Policy().pass_alpha
    for suite in ("A (K=30)", "C (K=50)"):
        r = small[(suite, "c0 at the margin (+5), rest 0")]
        assert r["gate_pass"] + r["gate_warn"] <= pa + 0.02 + 0.04, suite
        assert r["gate_pass"] + r["gate_warn"] <= r["c0_pass_or_warn"]  # the PASS needs the powered category
    assert all(r["checked"] == 10 for r in small.values())


@pytest.fixture(scope="module")
def detector_rows():
    return cal.run_detector(TRIALS, seed=13, crosscheck_n=10)


def test_imperfect_detector_keeps_the_error_rates_on_the_true_scale(detector_rows):
    """sens 0.95 / spec 0.85 estimated from 100 + 100 labels (docs/statistics.md §3.12): the false FAIL
    with no true change and the false PASS at a true change of the margin stay near their targets
    (SE ≈ 0.9 and 0.6 points at 600 trials), while the uncorrected margin passes more often."""
    for r in detector_rows:
        assert r["fail@0.0"] <= 0.05 + 0.03
        assert r["pass_or_warn@0.05[gate]"] <= 0.025 + 0.025
        assert r["pass_or_warn@0.05[naive]"] > r["pass_or_warn@0.05[gate]"]
        assert r["checked"] == 30
