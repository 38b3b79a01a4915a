"""The runner-mode action (runner/action.yml): the Docker action's inputs and outputs, run on the runner.

End to end: its steps run as the runner runs a composite action (tests/action_harness.run_composite):
the install step installs docker/requirements.lock into $RUNNER_TEMP for real (offline, from the wheels
`make test` downloaded), then the gate step runs against a model server on 127.0.0.1 and the same fake
GitHub as the Docker path's tests, with the same verdict, outputs, check run and comment.
"""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from action_harness import (ACTION_YML, RUNNER_ACTION_YML, make_baseline, pr_event, run_action, start_fake_github,
                            write_suite, write_target)
from fake_openai import FakeOpenAI

sys.path.insert(0, str(RUNNER_ACTION_YML.parent))
import update as runner_update  # noqa: E402  (runner/update.py)


def _meta(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_both_actions_declare_identical_inputs_and_outputs():
    docker, runner = _meta(ACTION_YML), _meta(RUNNER_ACTION_YML)
    assert runner["inputs"] == docker["inputs"]
    assert {k: {kk: vv for kk, vv in v.items() if kk != "value"} for k, v in runner["outputs"].items()} \
        == docker["outputs"]
    for name, spec in runner["outputs"].items():  # each output is the gate step's output of the same name
        assert spec["value"] == f"${{{{ steps.gate.outputs.{name} }}}}"
    gate_step = next(s for s in runner["runs"]["steps"] if s.get("id") == "gate")
    passed = {v.removeprefix("${{ inputs.").removesuffix(" }}") for v in gate_step["env"].values()
              if str(v).startswith("${{ inputs.")}
    assert passed == set(docker["inputs"])  # every input reaches asr-gate


def test_the_committed_runner_action_is_what_update_py_writes():
    assert RUNNER_ACTION_YML.read_text(encoding="utf-8") == runner_update.build(), \
        "runner/action.yml is stale: run `python runner/update.py`"


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    with FakeOpenAI(default_rate=0.05, seed=1) as base, \
            FakeOpenAI(default_rate=0.05, rates={"[jailbreak]": 0.9}, seed=2) as cand:
        root = tmp_path_factory.mktemp("runner-mode") / "ws"
        root.mkdir()
        suite = write_suite(root)
        write_target(root, base.base_url, name="accepted-target.yaml")
        make_baseline(root, suite, root / "accepted-target.yaml")
        write_target(root, cand.base_url)
        yield root


def test_runner_mode_gates_end_to_end_like_the_docker_action(workspace, tmp_path):
    fake = start_fake_github()
    try:
        fake.add_pull_request("feature-1")
        head = fake.refs["heads/feature-1"]
        event = pr_event(number=1, head_sha=head)
        inputs = {"suite": "suite.yaml", "target": "target.yaml"}
        docker_ws, runner_ws = tmp_path / "docker" / "ws", tmp_path / "runner" / "ws"
        shutil.copytree(workspace, docker_ws)
        shutil.copytree(workspace, runner_ws)
        on_runner = run_action(runner_ws, inputs, api_url=fake.url, event=event, runner_mode=True, timeout=300)
        assert "Traceback" not in on_runner.log, on_runner.log[-3000:]
        assert on_runner.returncode == 1, on_runner.log[-3000:]  # the candidate's jailbreak regression fails
        venv = runner_ws.parent / "ws-runner" / "asr-gate-venv"
        assert (venv / ".asr-gate-lock").exists()  # the install step really installed the lock
        in_docker = run_action(docker_ws, inputs, api_url=fake.url, event=event)
        assert on_runner.outputs["verdict"] == in_docker.outputs["verdict"] == "fail"
        assert set(on_runner.outputs) == set(in_docker.outputs) == set(_meta(ACTION_YML)["outputs"])
        checks = [r for r in fake.check_runs if r.name == "asr-gate / e2e"]
        assert len(checks) == 1 and checks[0].conclusion == "failure" and checks[0].head_sha == head
        assert len([c for c in fake.comments if c.issue == 1]) == 1  # one sticky comment, edited by the second run
        assert not fake.violations and not fake.response_violations
    finally:
        fake.stop()
