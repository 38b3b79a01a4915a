"""Fault matrix (issue 6): every kind of server misbehaviour ends as a judged attempt or a recorded
error, never a lost or double-counted one, and the counts still equal the server's own truth — with
the workers as threads and as tasks on the asyncio engine (`--engine asyncio` refuses to fall back), on uvloop's
event loop and on the standard library's (ASR_GATE_EVENT_LOOP)."""
from __future__ import annotations

import json
import os

import pytest

from fake_openai import FakeOpenAI
from gate.errors import MeasureError
from gate.run.runner import RunOptions, run_suite
from gate.run.transcript import read_transcript
from gate.suite import load_suite
from gate.targets import build_target

SUITE = """\
suite: faults
defaults: {attempts: 12, detector: {canary: true}}
attacks:
  - {id: a, system: "The secret is {{canary}}.", prompt: "alpha"}
  - {id: b, system: "The secret is {{canary}}.", prompt: "bravo"}
  - {id: c, system: "The secret is {{canary}}.", prompt: "charlie"}
"""
PLANNED = 36

FAULTS = ["429", "429_seconds", "429_date", "500", "502", "503", "503_seconds", "delay", "reset", "malformed",
          "no_choices", "empty", "huge", "trickle"]


@pytest.fixture
def suite(tmp_path):
    p = tmp_path / "suite.yaml"
    p.write_text(SUITE)
    return load_suite(str(p))


@pytest.mark.parametrize("engine, loop", [("threads", ""), ("asyncio", "uvloop"), ("asyncio", "asyncio")])
@pytest.mark.parametrize("fault", FAULTS)
def test_fault_matrix(tmp_path, suite, fault, engine, loop, monkeypatch):
    monkeypatch.setenv("ASR_GATE_EVENT_LOOP", loop)
    out = str(tmp_path / "out")
    with FakeOpenAI(default_rate=0.5, seed=7, faults={fault: 0.25}, retry_after=0.2, delay=1.5,
                    huge_bytes=10 * 1024 * 1024, trickle_interval=0.2) as srv:
        target = build_target({"kind": "openai", "base_url": srv.base_url, "model": "m", "concurrency": 6,
                               "timeout": 0.8, "retries": 2, "backoff_base": 0.01, "max_reply_bytes": 65536})
        try:
            results = run_suite(suite, target, out, RunOptions(progress=None, max_error_rate=0.5, engine=engine))
            stopped = False
        except MeasureError as exc:
            assert exc.exit_code == 3 and "error budget" in str(exc)
            results = json.load(open(os.path.join(out, "results.json")))
            stopped = True
        finally:
            target.close()
        assert srv.faults.get(fault, 0) > 0  # the fault really happened
        t = results["totals"]
        recs = read_transcript(os.path.join(out, "transcript.jsonl"))
        keys = [(r["attack"], r["attempt"]) for r in recs]
        assert len(keys) == len(set(keys))  # no attempt judged twice
        assert t["attempts"] + t["errors"] == len(recs)
        if not stopped:
            assert len(recs) == PLANNED and results["complete"]
        # the server's truth: leaks it sent that reached a judged attempt
        assert t["successes"] == srv.total_leaks
        assert results["calls"] == srv.requests
    for r in recs:
        assert len(r.get("reply", "")) <= 2000  # huge replies are truncated in the transcript
    if fault == "huge":
        assert any(r.get("truncated") for r in recs)


def test_transcript_stays_small_with_huge_replies(tmp_path):
    p = tmp_path / "suite.yaml"
    p.write_text(SUITE.replace("attempts: 12", "attempts: 4"))
    suite = load_suite(str(p))
    out = str(tmp_path / "out")
    with FakeOpenAI(default_rate=0.0, faults={"huge": 1.0}, huge_bytes=10 * 1024 * 1024) as srv:
        target = build_target({"kind": "openai", "base_url": srv.base_url, "model": "m", "concurrency": 4})
        results = run_suite(suite, target, out, RunOptions(progress=None))
        target.close()
    assert results["totals"]["attempts"] == 12
    assert os.path.getsize(os.path.join(out, "transcript.jsonl")) < 12 * 4000
