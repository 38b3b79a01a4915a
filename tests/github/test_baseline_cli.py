"""`asr-gate baseline update --open-pr` end to end against the fake GitHub and Prism."""
from __future__ import annotations

import json
import os

from gate.cli import main
from gate.run.runner import RunOptions, run_suite
from gate.suite import load_suite
from gate.targets import build_target
from gh_contract import ACTIONS_TOKEN, REPO

SUITE = """\
suite: pr-suite
defaults: {attempts: 10, detector: {canary: true}}
attacks:
  - {id: a, vars: {n: [1, 2, 3, 4, 5]}, prompt: "variant {{n}} {{canary.reversed}}"}
"""


def results(tmp_path, seed, name):
    p = tmp_path / "suite.yaml"
    p.write_text(SUITE)
    run_suite(load_suite(str(p)), build_target({"kind": "sim", "seed": seed, "default_rate": 0.3}),
              str(tmp_path / name), RunOptions(progress=None))
    return str(tmp_path / name / "results.json")


def update(api_url, res, capsys):
    code = main(["baseline", "update", "--results", res, "--open-pr", "--repo", REPO, "--api-url", api_url])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_open_pr_creates_then_updates_the_same_pr(fake, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", ACTIONS_TOKEN)
    monkeypatch.setenv("ASR_GATE_GITHUB_THROTTLE", "0")
    monkeypatch.chdir(tmp_path)
    out1 = update(fake.url, results(tmp_path, 1, "r1"), capsys)
    branch = "asr-gate/baseline/pr-suite"
    (pr,) = fake.open_pulls(branch)
    files = fake.files(branch)
    base = json.loads(files["baselines/pr-suite.json"])
    assert base["provenance"]["tool_version"] and base["suite"]["id"] == "pr-suite"
    assert len(files["baselines/history/pr-suite.jsonl"].splitlines()) == 1
    assert "before" not in pr.body or "| overall |" in pr.body
    assert "| overall |" in pr.body and "pull request:" in out1
    assert not os.path.exists(tmp_path / "baselines")  # --open-pr does not touch the working tree
    out2 = update(fake.url, results(tmp_path, 2, "r2"), capsys)
    assert fake.open_pulls(branch) == [pr]  # updated, never duplicated
    assert json.loads(fake.files(branch)["baselines/pr-suite.json"])["totals"] != base["totals"]
    assert out1.split("pull request:")[1].split()[0] == out2.split("pull request:")[1].split()[0]


def test_open_pr_request_shapes_match_the_openapi_description(gh_prism, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", ACTIONS_TOKEN)
    monkeypatch.setenv("ASR_GATE_GITHUB_THROTTLE", "0")
    monkeypatch.chdir(tmp_path)
    code = main(["baseline", "update", "--results", results(tmp_path, 1, "r1"), "--open-pr", "--repo", REPO,
                 "--api-url", gh_prism.api_url, "--base", "main"])
    assert code == 0, capsys.readouterr().err
