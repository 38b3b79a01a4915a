"""The command line as a whole: every subcommand documents itself, the demo runs, usage errors exit 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gate.cli import COMMANDS, main


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: asr-gate " + command)


def test_top_level_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


def test_unknown_option_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "--suite", "s.yaml", "--target", "t.yaml", "--attempts", "zero"])
    assert info.value.code == 2
    assert "--attempts" in capsys.readouterr().err


def test_demo_runs_offline_and_blocks_the_regression(tmp_path):
    """`make demo`'s command: baseline and candidate on the sim target, a FAIL verdict on the jailbreak
    category, the PR comment written; the demo itself exits 0."""
    proc = subprocess.run([sys.executable, "-m", "gate.cli", "demo", "--out", str(tmp_path)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "ASR_GATE_DEBUG": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "FAIL" in proc.stdout and "jailbreak" in proc.stdout and "Traceback" not in proc.stderr
    comment = (tmp_path / "comment.md").read_text()
    assert comment.startswith("### ❌ ASR gate: FAIL") and "xychart-beta" in comment
    base = json.loads((tmp_path / "baseline" / "results.json").read_text())
    cand = json.loads((tmp_path / "candidate" / "results.json").read_text())
    assert base["totals"]["attempts"] == cand["totals"]["attempts"] == 44 * 20
    assert cand["categories"]["jailbreak"]["asr"] > base["categories"]["jailbreak"]["asr"] + 0.1


def test_demo_without_regression_does_not_fail(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "gate.cli", "demo", "--out", str(tmp_path), "--no-regression"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert "would exit with code 1" not in proc.stdout


def test_compare_formats_are_the_report_registry(capsys):
    from gate.report import FORMATS

    assert tuple(FORMATS) == ("text", "json", "markdown", "junit")  # the order `compare --help` lists them
    assert all(callable(FORMATS.get(name)) for name in FORMATS)
    with pytest.raises(SystemExit):
        main(["compare", "--baseline", "b.json", "--results", "r.json", "--format", "html"])
    assert "choose from 'text', 'json', 'markdown', 'junit'" in capsys.readouterr().err
