"""The repository gates itself: .github/workflows/asr-gate.yml's own inputs, run the way the runner runs the
action, against the committed baselines/ and the same fake GitHub as the other action tests, must pass.

The simulated model is deterministic, so a pull request that changes how asr-gate counts changes the
measurement and this test (and the check on GitHub) says so. After an intended change to the suite or its
detectors, re-make the baseline as baselines/README.md says.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from action_harness import REPO_ROOT, pr_event, run_action, start_fake_github
from gate.suite import load_suite

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "asr-gate.yml"


def _gate_step() -> dict:
    wf = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    (step,) = [s for job in wf["jobs"].values() for s in job["steps"] if s.get("uses") == "./"]
    return step


def test_the_committed_baseline_is_of_the_committed_suite():
    inputs = _gate_step()["with"]
    suite = load_suite(str(REPO_ROOT / inputs["suite"]))
    baseline = json.loads((REPO_ROOT / "baselines" / f"{suite.id}.json").read_text(encoding="utf-8"))
    assert baseline["suite"]["hash"] == suite.hash and baseline["detector"]["hash"] == suite.detector_hash(), \
        "baselines/ is stale for the suite: re-make it as baselines/README.md says"
    suite.close()


def test_the_self_gate_passes_with_the_workflows_inputs(tmp_path):
    inputs = {k: str(v) for k, v in _gate_step()["with"].items()}
    ws = tmp_path / "ws"
    ws.mkdir()
    for part in ("suites", "baselines", ".github"):
        shutil.copytree(REPO_ROOT / part, ws / part)
    fake = start_fake_github()
    try:
        fake.add_pull_request("feature-1")
        head = fake.refs["heads/feature-1"]
        run = run_action(ws, inputs, api_url=fake.url, event=pr_event(number=1, head_sha=head), timeout=300)
        assert "Traceback" not in run.log, run.log[-3000:]
        assert run.returncode == 0 and run.outputs["verdict"] == "pass", run.log[-3000:]
        assert float(run.outputs["delta"]) == 0.0  # the deterministic model measured exactly the baseline
        (check,) = [c for c in fake.check_runs if c.head_sha == head]
        assert check.conclusion == "success"
        assert not fake.violations and not fake.response_violations
    finally:
        fake.stop()
    assert Path(ws / run.outputs["results-path"]).exists()
