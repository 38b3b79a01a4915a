"""The cost preview: `run --dry-run`, the plan line at the start of every run, and `--max-cost`."""
from __future__ import annotations

import json
import math
import os

from gate.cli import main
from gate.run.cost import ASSUMED_COMPLETION_TOKENS, estimate
from gate.run.schedule import attempts_per_attack
from gate.suite import load_suite
from gate.targets import build_target

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEAK = os.path.join(REPO, "suites", "secret-leakage.yaml")
APP = "You are the assistant of ACME. " * 10


def _target(tmp_path, **cfg) -> str:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(dict({"kind": "sim", "seed": 1}, **cfg)))
    return str(path)


def test_the_estimate_counts_calls_and_the_composed_prompt():
    suite = load_suite(LEAK)
    plain = build_target({"kind": "sim"})
    with_app = build_target({"kind": "sim", "system_prompt": APP, "price_per_1k_input_tokens": 1.0,
                             "price_per_1k_output_tokens": 2.0})
    n_of = attempts_per_attack(3)
    a, b = estimate(suite.attacks, n_of, plain), estimate(suite.attacks, n_of, with_app)
    assert a.calls == b.calls == 3 * len(suite.attacks)
    # every request carries the prompt and a blank line (prepend): (len + 2) / 4 tokens more each
    extra = b.prompt_tokens - a.prompt_tokens
    assert abs(extra - a.calls * math.ceil((len(APP) + 2) / 4)) <= a.calls
    assert a.completion_tokens == a.calls * ASSUMED_COMPLETION_TOKENS and not a.completion_bounded
    assert a.money is None and b.money == b.prompt_tokens / 1000 * 1.0 + b.completion_tokens / 1000 * 2.0
    suite.close()


def test_dry_run_prints_the_plan_and_calls_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    t = _target(tmp_path, price_per_1k_input_tokens=0.5, price_per_1k_output_tokens=1.5)
    assert main(["run", "--suite", LEAK, "--target", t, "--out", str(out), "--attempts", "2", "--dry-run"]) == 0
    line = capsys.readouterr().out.strip()
    suite = load_suite(LEAK)
    assert line.startswith(f"plan: {2 * len(suite.attacks)} target calls") and "estimated cost" in line
    assert not out.exists()  # no file, no call


def test_every_run_starts_with_the_plan_line(tmp_path, capsys):
    t = _target(tmp_path)
    assert main(["run", "--suite", LEAK, "--target", t, "--out", str(tmp_path / "o"), "--attempts", "1"]) == 0
    err = capsys.readouterr().err
    assert "plan: " in err and "target calls" in err


def test_max_cost_refuses_before_the_first_call(tmp_path, capsys):
    t = _target(tmp_path, price_per_1k_input_tokens=10.0, price_per_1k_output_tokens=10.0)
    out = tmp_path / "o"
    assert main(["run", "--suite", LEAK, "--target", t, "--out", str(out), "--max-cost", "0.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "above --max-cost 0.5" in err
    assert not (out / "transcript.jsonl").exists()
    assert main(["run", "--suite", LEAK, "--target", t, "--out", str(out), "--max-cost", "1000000", "--quiet"]) == 0


def test_max_cost_without_prices_is_a_usage_error(tmp_path, capsys):
    assert main(["run", "--suite", LEAK, "--target", _target(tmp_path), "--out", str(tmp_path / "o"),
                 "--max-cost", "5"]) == 2
    assert "price_per_1k_input_tokens" in capsys.readouterr().err
