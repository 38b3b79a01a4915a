"""Crash safety (issue 6): SIGKILL at random points, then --resume, always gives the numbers of an
uninterrupted run; a half-written last transcript line is tolerated."""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time

import pytest

SUITE = """\
suite: crash
defaults: {attempts: 15, detector: {canary: true}}
attacks:
  - {id: a, vars: {n: [1, 2, 3, 4, 5, 6, 7, 8]}, prompt: "variant {{n}} {{canary.reversed}}"}
"""
TARGET = "kind: sim\nseed: 11\ndefault_rate: 0.3\nlatency_ms: 20\nconcurrency: 6\n"
PLANNED = 8 * 15
TRIALS = 20


def cli(*args):
    return [sys.executable, "-m", "gate.cli", *args]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("crash")
    (d / "suite.yaml").write_text(SUITE)
    (d / "target.yaml").write_text(TARGET)
    ref = d / "reference"
    subprocess.run(cli("run", "--suite", str(d / "suite.yaml"), "--target", str(d / "target.yaml"),
                       "--out", str(ref), "--quiet"), check=True, capture_output=True, timeout=120)
    return d, json.load(open(ref / "results.json"))


def test_sigkill_at_random_points_then_resume(files):
    d, reference = files
    rng = random.Random(2026)
    survived = midway = 0
    for trial in range(TRIALS):
        out = d / f"trial{trial}"
        cmd = cli("run", "--suite", str(d / "suite.yaml"), "--target", str(d / "target.yaml"), "--out", str(out),
                  "--quiet")
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kill_after = rng.randint(1, PLANNED - 1)  # kill once this many attempts are on disk
        path = out / "transcript.jsonl"
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if path.exists() and open(path, "rb").read().count(b"\n") >= kill_after:
                break
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        at_kill = sum(1 for _ in open(path, "rb")) if path.exists() else 0
        midway += 0 < at_kill < PLANNED
        # resume, possibly more than once if the resume is killed as well
        if rng.random() < 0.3 and (out / "run.json").exists():
            p2 = subprocess.Popen(cmd + ["--resume"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.2, 0.4))
            p2.send_signal(signal.SIGKILL)
            p2.wait()
        done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        res = json.load(open(out / "results.json"))
        # the same per-attack counts as the uninterrupted run (sim outcomes depend only on attack+attempt)
        assert res["attacks"] == reference["attacks"], f"trial {trial}"
        assert res["totals"]["attempts"] == PLANNED
        lines = [json.loads(l) for l in open(out / "transcript.jsonl")]
        assert len(lines) == PLANNED and len({(r["attack"], r["attempt"]) for r in lines}) == PLANNED
        survived += 1
    assert survived == TRIALS
    assert midway >= TRIALS // 2, f"only {midway} kills landed mid-run"  # the kills really interrupted runs
