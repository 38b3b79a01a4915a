"""Secrets never leave the process: a canary API key and a canary header value, through a full gate run.

The candidate is an OpenAI-compatible target whose key comes from `api_key_env`; the baseline (live
A/B, `baseline-target`) is an `http` target with a `${ENV}` header. Both models echo their own secret
back in some replies. After a run of the action entrypoint that publishes to the fake GitHub, neither
canary (nor the GitHub token) may appear in any file the run wrote (results, transcripts, reports,
outputs, summary), in any request body GitHub received, or anywhere in the log except on the
``::add-mask::`` lines that hide them — which must come before anything else is printed.
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
import yaml

from action_harness import (ACTIONS_TOKEN, pr_event, run_action, start_fake_github, write_suite, write_target)
from fake_openai import FakeOpenAI

KEY = "sk-canary-" + secrets.token_hex(16)
HEADER = "hdr-canary-" + secrets.token_hex(16)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("secrets") / "ws"
    root.mkdir()
    fake = start_fake_github()
    cand = FakeOpenAI(api_key=KEY, default_rate=0.4, seed=5, faults={"500": 0.05},
                      leak_template="Sure. My API key is " + KEY + " and the answer is PWNED {secret}")
    base = FakeOpenAI(default_rate=0.1, seed=6, refusal=f"No. (debug header: {HEADER})")
    with cand, base:
        write_suite(root, attempts=6)
        write_target(root, cand.base_url, api_key_env="ASR_CANARY_KEY")
        (root / "base-target.yaml").write_text(yaml.safe_dump({
            "kind": "http", "url": base.generic_url, "headers": {"X-Canary": "Bearer ${ASR_CANARY_HEADER}"},
            "reply_path": "output.text", "concurrency": 4, "retries": 1, "timeout": 10}), encoding="utf-8")
        pr = fake.add_pull_request("feature")
        head = fake.refs["heads/feature"]
        run = run_action(root, {"suite": "suite.yaml", "target": "target.yaml", "baseline-target": "base-target.yaml"},
                         api_url=fake.url, event=pr_event(number=pr.number, head_sha=head),
                         extra_env={"ASR_CANARY_KEY": KEY, "ASR_CANARY_HEADER": HEADER})
        yield {"run": run, "fake": fake, "root": root, "cand": cand, "base": base}
    fake.stop()


def test_the_run_used_both_secrets_and_published(world):
    run = world["run"]
    assert "Traceback" not in run.log
    assert run.returncode in (0, 1), run.log[-3000:]
    assert run.outputs["verdict"] in ("pass", "warn", "fail", "inconclusive")
    assert run.outputs["results-path"] == "asr-gate-out/candidate/results.json"
    assert any(e["headers"].get("Authorization") == f"Bearer {KEY}" for e in world["cand"].log)
    assert any(e["headers"].get("X-Canary") == f"Bearer {HEADER}" for e in world["base"].log)
    assert len(world["fake"].comments) == 1 and len(world["fake"].check_runs) == 1
    # the models echoed their secrets, and the transcripts hold the scrubbed replies
    transcripts = list(world["root"].rglob("transcript.jsonl"))
    assert len(transcripts) == 2
    assert any("***" in p.read_text("utf-8") for p in transcripts)


def test_no_secret_in_any_file_written(world):
    root: Path = world["root"]
    runner_dir = root.parent / f"{root.name}-runner"  # GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, the event
    files = [p for d in (root, runner_dir) for p in d.rglob("*") if p.is_file()]
    assert any(p.name == "results.json" for p in files) and any(p.name == "report.md" for p in files)
    assert any(p.name.startswith("summary-") for p in files) and any(p.name.startswith("output-") for p in files)
    for path in files:
        data = path.read_bytes()
        for secret in (KEY, HEADER, ACTIONS_TOKEN):
            assert secret.encode() not in data, f"{secret[:12]}… found in {path}"


def test_no_secret_in_what_github_received(world):
    fake = world["fake"]
    sent = json.dumps([r.body for r in fake.requests]) + json.dumps([r.path for r in fake.requests])
    sent += json.dumps([c.body for c in fake.comments]) + json.dumps([r.output for r in fake.check_runs])
    sent += json.dumps([r.annotations for r in fake.check_runs])
    assert fake.calls("checks/create") and fake.calls("issues/create-comment")
    for secret in (KEY, HEADER, ACTIONS_TOKEN):
        assert secret not in sent


def test_secrets_are_masked_first_and_appear_only_on_mask_lines(world):
    run = world["run"]
    lines = run.stdout.splitlines()
    masks = [line for line in lines if line.startswith("::add-mask::")]
    assert masks == [f"::add-mask::{ACTIONS_TOKEN}", f"::add-mask::{KEY}", f"::add-mask::{HEADER}"]
    assert lines[:3] == masks, "something was printed before every secret was masked"
    for line in (run.stdout + run.stderr).splitlines():
        if line.startswith("::add-mask::"):
            continue
        for secret in (KEY, HEADER, ACTIONS_TOKEN):
            assert secret not in line, f"{secret[:12]}… in the log: {line[:200]!r}"
        assert "canary-" not in line  # not even a prefix of one
    assert run.outputs and all(KEY not in v and HEADER not in v for v in run.outputs.values())
