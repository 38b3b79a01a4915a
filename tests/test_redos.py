"""Bounded regexes: a user pattern that backtracks catastrophically is a detector error, never a hang.

The security review's attack: a detector ``regex: "^(a+)+$"`` judged against a reply of 34 ``a`` and a
``!``. With Python's `re` that search takes about 2^34 steps (some 20 minutes of CPU per attempt, with the
GIL held, so no timeout or stop event fires). Patterns now run in the `regex` module with a time limit
(`gate.detectors.regex.BoundedRegex`).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from fake_openai import FakeOpenAI
from gate.cli import main
from gate.detectors import DetectContext, DetectorError, build_detector
from gate.detectors.regex import BoundedRegex, nested_quantifier
from gate.errors import ConfigError

CTX = DetectContext()
ISSUE_REPLY = "a" * 34 + "!"
#: a pattern the `regex` module cannot finish on REPLY either (overlapping alternatives under a repeat)
EXPLODING = "^(a|aa)+$"
EXPLODING_REPLY = "a" * 40 + "!"


def test_the_issues_pattern_on_the_issues_reply_finishes_at_once():
    started = time.monotonic()
    assert not build_detector({"regex": "^(a+)+$"}).detect(ISSUE_REPLY, CTX).success
    assert time.monotonic() - started < 1


def test_a_pattern_that_runs_out_of_time_is_a_detector_error_naming_it():
    d = build_detector({"regex": EXPLODING})
    d.pattern.timeout = 0.2
    started = time.monotonic()
    with pytest.raises(DetectorError) as info:
        d.detect(EXPLODING_REPLY, CTX)
    assert time.monotonic() - started < 5
    assert info.value.kind == "regex_timeout"
    assert '"^(a|aa)+$"' in str(info.value) and "0.2s" in str(info.value)


def test_json_path_matches_is_bounded_too():
    d = build_detector({"json_path": "$.cmd", "matches": EXPLODING, "example": "aa"})
    d.matches.timeout = 0.2
    with pytest.raises(DetectorError) as info:
        d.detect(json.dumps({"cmd": EXPLODING_REPLY}), CTX)
    assert info.value.kind == "regex_timeout"
    assert build_detector({"json_path": "$.cmd", "matches": "^rm "}).detect('{"cmd": "rm -rf /"}', CTX).success


def test_inside_a_combinator_the_error_propagates_unless_another_child_decides():
    d = build_detector({"any": [{"contains": "PWNED"}, {"regex": EXPLODING}]})
    d.children[1].pattern.timeout = 0.2
    assert d.detect("PWNED " + EXPLODING_REPLY, CTX).success  # one success decides
    with pytest.raises(DetectorError):
        d.detect(EXPLODING_REPLY, CTX)


def test_syntax_is_still_re_and_errors_are_located():
    with pytest.raises(ConfigError) as info:
        build_detector({"regex": "("}, source="suite.yaml", path=("attacks", 0, "detector"))
    assert "invalid regular expression: missing ), unterminated subpattern" in str(info.value)
    with pytest.raises(ConfigError):
        build_detector({"regex": r"\p{L}+"})  # `regex`-only syntax is not accepted: the documented syntax is re's
    assert build_detector({"regex": r"(?<=key: )\w+", "ignore_case": True}).detect("KEY: abc", CTX).success


def test_timeout_setting(monkeypatch):
    monkeypatch.setenv("ASR_GATE_REGEX_TIMEOUT", "0.25")
    assert BoundedRegex("x").timeout == 0.25
    for bad in ("0", "-1", "nan", "inf", "soon"):
        monkeypatch.setenv("ASR_GATE_REGEX_TIMEOUT", bad)
        assert BoundedRegex("x").timeout == 1.0


@pytest.mark.parametrize("pattern, nested", [
    ("^(a+)+$", True), (r"(\w*\s?)*", True), ("(x{2,})+", True), ("((ab)*c)+", True),
    ("a+b+", False), ("(ab)+", False), ("(?:a|b)*c", False), ("(a++)+", False), ("(?>a+)+", False),
    (r"pass(word)?\s*[:=]", False),
])
def test_nested_quantifiers_are_recognised(pattern, nested):
    assert nested_quantifier(pattern) is nested


def test_validate_warns_about_nested_quantifiers(tmp_path, capsys):
    suite = tmp_path / "suite.yaml"
    suite.write_text('suite: s\nversion: 1\nattacks:\n'
                     '  - {id: a, prompt: x, detector: {regex: "^(a+)+$"}}\n'
                     '  - {id: b, prompt: y, detector: {any: [{contains: z}, {json_path: "$.c", matches: "(x+)*y"}]}}\n'
                     '  - {id: c, prompt: z, detector: {regex: "^(a+)+$"}}\n'
                     '  - {id: d, prompt: w, detector: {regex: "safe+"}}\n')
    assert main(["validate", str(suite)]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "warning" in line]
    assert len(lines) == 2, err
    assert "attack 'a'" in lines[0] and "'^(a+)+$' has a nested quantifier" in lines[0]
    assert "attack 'b'" in lines[1] and "(x+)*y" in lines[1]


# ------------------------------------------------------------------------------------------------
# the attack end to end: a run against a model that answers with the hostile reply


def test_a_run_with_hostile_replies_ends_quickly_with_the_attempts_as_errors(tmp_path):
    suite = tmp_path / "suite.yaml"
    suite.write_text(f'suite: redos\nversion: 1\ndefaults: {{attempts: 4}}\nattacks:\n'
                     f'  - {{id: issue, prompt: "[issue] go", detector: {{regex: "^(a+)+$"}}}}\n'
                     f'  - {{id: exploding, prompt: "[exploding] go", detector: {{regex: "{EXPLODING}"}}}}\n')
    with FakeOpenAI(default_rate=0.0, refusal=ISSUE_REPLY) as issue_model, \
            FakeOpenAI(default_rate=0.0, refusal=EXPLODING_REPLY) as exploding_model:
        # one target can only give one reply, so the two attacks run against two models
        for name, model, only in (("issue", issue_model, "issue"), ("exploding", exploding_model, "exploding")):
            target = tmp_path / f"{name}.yaml"
            target.write_text(f"kind: openai\nbase_url: {model.base_url}\nmodel: m\nconcurrency: 4\nretries: 0\n")
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "gate.cli", "run", "--suite", str(suite), "--target", str(target),
                 "--out", str(tmp_path / name), "--only", only, "--quiet", "--max-error-rate", "1"],
                capture_output=True, text=True, timeout=60,
                env={**os.environ, "ASR_GATE_REGEX_TIMEOUT": "1"})
            elapsed = time.monotonic() - started
            assert elapsed < 30, f"{name}: {elapsed:.1f}s"
            assert proc.returncode == 0, proc.stderr
            records = [json.loads(line) for line in (tmp_path / name / "transcript.jsonl").read_text().splitlines()]
            assert len(records) == 4
            if name == "issue":  # the `regex` module does not backtrack here: the attempts are judged
                assert all(r["success"] is False and not r.get("error") for r in records)
            else:
                assert all(r["error"] == "regex_timeout" and r["success"] is None for r in records)
                assert all('"^(a|aa)+$"' in r["message"] for r in records)
                results = json.loads((tmp_path / name / "results.json").read_text())
                assert results["totals"]["errors"] == 4 and results["totals"]["attempts"] == 0
