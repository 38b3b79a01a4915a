"""Malformed configs: each exits 2 with one clear located line on stderr, no traceback, nothing written."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gate.cli import main

BAD = os.path.join(os.path.dirname(__file__), "fixtures", "bad")

# file → (substring the message must contain, line it must name or None)
EXPECT = {
    "suite_bad_yaml.yaml": ("invalid YAML", 4),
    "suite_attempts_type.yaml": ("defaults.attempts", 2),
    "suite_unknown_key.yaml": ("unknown key 'colour'", 4),
    "suite_duplicate_id.yaml": ("duplicate attack id 'a1'", 5),
    "suite_empty.yaml": ("no attacks", 3),
    "suite_no_prompt.yaml": ("needs `prompt` or `messages`", 4),
    "suite_unknown_placeholder.yaml": ("unknown placeholder '{{who}}'", 4),
    "suite_undeclared_category.yaml": ("category 'jailbreak' is not declared", 5),
    "suite_negative_attempts.yaml": ("attacks[0].attempts", 4),
    "suite_duplicate_key.yaml": ("duplicate key 'suite'", 2),
    "suite_no_detector.yaml": ("no detector", 3),
    "suite_unknown_detector.yaml": ("smells_bad", 2),
    "suite_bad_regex.yaml": ("regular expression", 2),
    "suite_prompt_and_messages.yaml": ("not both", 4),
    "suite_bad_role.yaml": ("attacks[0].messages[0].role", 4),
    "suite_import_outside.yaml": ("outside the workspace", 4),
    "suite_import_missing.yaml": ("missing.csv", 4),
    "suite_alias_bomb.yaml": ("alias bomb", None),
    "suite_not_utf8.yaml": ("not valid UTF-8", 2),
    "suite_empty_file.yaml": ("empty", 1),
    "suite_nan.yaml": ("not a finite number", 2),
    "target_missing_env.yaml": ("ASR_GATE_TEST_UNSET_VAR", 4),
    "target_concurrency_type.yaml": ("concurrency", 4),
    "target_unknown_kind.yaml": ("carrier-pigeon", 1),
    "target_missing_base_url.yaml": ("base_url", None),
    "target_header_env_unset.yaml": ("ASR_GATE_TEST_UNSET_TOKEN", 3),
    "target_unknown_key.yaml": ("modle", 4),
    "target_command_string.yaml": ("argv", 2),
    "results_successes_gt_attempts.json": ("successes (11) > attempts (10)", 6),
    "results_negative.json": ("attacks[0].attempts", 6),
    "results_nan.json": ("attacks[0].attempts", 6),
    "results_duplicate_id.json": ("duplicate attack id 'a'", 18),
    "results_string_count.json": ("attacks[0].attempts", 6),
    "results_missing_attempts.json": ("'attempts' is a required property", 6),
    "results_wrong_schema.json": ("not an asr-gate results file", 1),
    "results_not_object.json": ("is not of type 'object'", 1),
    "baseline_bad_detector_hash.json": ("detector.hash", 1),
    "baseline_asr_over_one.json": ("totals.asr", 1),
    "baseline_truncated.json": ("invalid YAML", 2),
    "policy_alpha_range.yaml": ("alpha", 1),
    "policy_margin_type.yaml": ("margin", 1),
    "policy_unknown_key.yaml": ("unknown key 'margn'", 2),
    "policy_on_inconclusive.yaml": ("on_inconclusive", 1),
    "policy_correction.yaml": ("correction", 2),
    "policy_negative_ceiling.yaml": ("max_asr", 1),
    "results_totals_mismatch.json": ("totals.asr: 0.9 does not match the per-attack counts (0.15)", 37),
}


def test_corpus_size():
    assert len(EXPECT) >= 40


@pytest.mark.parametrize("kind", ["suite", "results", "policy"])
def test_huge_file_is_refused_before_reading(tmp_path, capsys, kind):
    big = tmp_path / f"big-{kind}.yaml"
    with open(big, "wb") as fh:  # a sparse 300 MB file: larger than every limit, costs no disk
        fh.truncate(300 * 1024 * 1024)
    assert main(["validate", "--kind", kind, str(big)]) == 2
    err = capsys.readouterr().err
    assert "limit" in err and len(err.strip().splitlines()) == 1


def test_non_utf8_results(tmp_path, capsys):
    p = tmp_path / "r.json"
    p.write_bytes(b'{"schema": "asr-gate/results/v1",\n "suite": {"id": "\xff\xfe"}}\n')
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    assert "r.json:2:" in err and "UTF-8" in err


def _one_line_error(err: str, name: str, line: int | None, needle: str) -> None:
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    msg = lines[0]
    assert "Traceback" not in err
    assert name in msg, msg
    assert needle in msg, msg
    if line is not None:
        assert f"{name}:{line}:" in msg, msg


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_validate_bad_file(name, capsys, monkeypatch):
    monkeypatch.delenv("ASR_GATE_TEST_UNSET_VAR", raising=False)
    monkeypatch.delenv("ASR_GATE_TEST_UNSET_TOKEN", raising=False)
    monkeypatch.chdir(BAD)
    code = main(["validate", name])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    needle, line = EXPECT[name]
    _one_line_error(err, name, line, needle)


def test_every_fixture_has_an_expectation():
    assert sorted(f for f in os.listdir(BAD)) == sorted(EXPECT)


@pytest.mark.parametrize("path", ["does-not-exist.yaml", "."])
def test_unreadable(path, capsys, monkeypatch):
    monkeypatch.chdir(BAD)
    assert main(["validate", path]) == 2
    _, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and path in err


def test_run_with_bad_suite_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(BAD)
    out = tmp_path / "out"
    code = main(["run", "--suite", "suite_duplicate_id.yaml", "--target", "target_unknown_kind.yaml",
                 "--out", str(out), "--quiet"])
    assert code == 2
    assert not out.exists()


@pytest.mark.parametrize("name", ["suite_bad_yaml.yaml", "suite_alias_bomb.yaml", "target_missing_env.yaml"])
def test_subprocess_no_traceback(name):
    env = dict(os.environ)
    env.pop("ASR_GATE_TEST_UNSET_VAR", None)
    proc = subprocess.run([sys.executable, "-m", "gate.cli", "validate", name], cwd=BAD, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    _one_line_error(proc.stderr, name, EXPECT[name][1], EXPECT[name][0])


@pytest.mark.parametrize("text,needle", [
    ('{"schema": "asr-gate/results/v1", "x": ' + "9" * 5000 + "}", "invalid value"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ("a:\n" + "".join("  " * i + f"- k{i}:\n" for i in range(1, 400)), None),
])
def test_pathological_documents_are_one_line_errors(tmp_path, capsys, text, needle):
    p = tmp_path / "weird.json"
    p.write_text(text)
    code = main(["validate", str(p)])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "internal error" not in err
    if needle:
        assert needle in err
