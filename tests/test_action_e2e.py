"""The Docker action's entrypoint end to end, run exactly as the GitHub runner runs it.

`python -m gate.action` in a subprocess with hyphenated ``INPUT_*`` variables (defaults from
action.yml), ``GITHUB_EVENT_PATH`` holding GitHub's own webhook example payloads (npm
@octokit/webhooks-examples, rewritten to our repository and commits), ``GITHUB_OUTPUT`` /
``GITHUB_STEP_SUMMARY`` files, a model served by tests/fake_openai.py and the GitHub API served by
the stateful fake (find-and-edit) or by Prism on GitHub's OpenAPI description (request shapes).
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from action_harness import (ACTIONS_TOKEN, FORK_TOKEN, MERGE_SHA, REPO, make_baseline, pr_event, run_action,
                            start_fake_github, start_prism, webhook_example, workflow_run_event, write_suite,
                            write_target)
from fake_openai import FakeOpenAI
from gate.publish.github import sticky_marker

CHECK_NAME = "asr-gate / e2e"
UNVERIFIED_NAME = "asr-gate / e2e (unverified)"
MARKER = sticky_marker("e2e")
UNVERIFIED_MARKER = sticky_marker("e2e", unverified=True)
INPUTS = {"suite": "suite.yaml", "target": "target.yaml"}


@pytest.fixture(scope="module")
def models():
    """Baseline model: 5% everywhere. Candidate: role-play jailbreaks now work 90% of the time (a regression
    far too large for sampling noise to hide, so every run of this module is a `fail`)."""
    with FakeOpenAI(default_rate=0.05, seed=1) as base, \
            FakeOpenAI(default_rate=0.05, rates={"[jailbreak]": 0.9}, seed=2) as cand:
        yield base, cand


@pytest.fixture(scope="module")
def template(tmp_path_factory, models) -> Path:
    base, cand = models
    root = tmp_path_factory.mktemp("template") / "ws"
    root.mkdir()
    suite = write_suite(root)
    write_target(root, base.base_url, name="accepted-target.yaml")
    make_baseline(root, suite, root / "accepted-target.yaml", history_asrs=(0.02, 0.05, 0.04))
    write_target(root, cand.base_url)
    return root


@pytest.fixture
def ws(tmp_path, template) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(template, root)
    return root


@pytest.fixture
def fake():
    server = start_fake_github()
    yield server
    server.stop()
    assert not server.violations, server.violations
    assert not server.response_violations, server.response_violations


@pytest.fixture(scope="module")
def prism(tmp_path_factory):
    yield from start_prism(tmp_path_factory.mktemp("prism-e2e"))


def open_pr(fake, number: int = 2):
    """Pull requests 1..number on the fake; returns (number, head SHA) of the last one."""
    while max(fake.pulls, default=0) < number:
        fake.add_pull_request(f"feature-{len(fake.pulls) + 1}")
    pr = fake.pulls[number]
    return number, fake.refs[f"heads/{pr.head}"]


def ours(fake, name: str = CHECK_NAME):
    return [r for r in fake.check_runs if r.external_id == f"asr-gate:{name}"]


def writes(fake):
    return [r for r in fake.requests if r.method != "GET"]


def assert_no_traceback(run):
    assert "Traceback" not in run.log, run.log[-3000:]


# ------------------------------------------------------------------------------------------------
# a pull request from the same repository


def test_pull_request_gate_publishes_one_check_run_and_one_comment_and_edits_on_rerun(ws, fake):
    number, head = open_pr(fake)
    event = pr_event(number=number, head_sha=head)
    run = run_action(ws, INPUTS, api_url=fake.url, event=event)
    assert_no_traceback(run)
    assert run.returncode == 1, run.log[-3000:]

    # outputs, from GITHUB_OUTPUT in heredoc form
    out = run.outputs
    assert out["verdict"] == "fail"
    assert float(out["asr"]) > float(out["baseline-asr"])
    assert abs(float(out["asr"]) - float(out["baseline-asr"]) - float(out["delta"])) < 1e-5
    assert 0 <= float(out["p-value"]) <= 0.05
    assert out["results-path"] == "asr-gate-out/results.json"
    assert out["report-path"] == "asr-gate-out/report.md"
    results = json.loads((ws / out["results-path"]).read_text())
    assert results["git"]["head_sha"] == head and results["git"]["pr"] == number
    assert results["git"]["sha"] == MERGE_SHA
    assert (ws / "asr-gate-out" / "verdict.json").exists() and (ws / "asr-gate-out" / "junit.xml").exists()
    assert "<<ghadelimiter_" in Path(run.output_file).read_text()

    # job summary
    assert "ASR gate: FAIL" in run.summary
    planned = json.loads((ws / out["results-path"]).read_text())["plan"]["calls"]
    assert f"Planned: {planned} target calls" in run.summary and planned == 120  # the cost preview
    assert "| **Overall** |" in run.summary
    assert "Accepted baseline ASR over time" in run.summary
    assert "https://github.com/octo-org/widgets/actions/runs/4242" in run.summary

    # log: the token is masked first, then annotations
    first = run.stdout.splitlines()[0]
    assert first == f"::add-mask::{ACTIONS_TOKEN}"
    assert any(line.startswith("::error title=asr-gate%3A FAIL") for line in run.stdout.splitlines())
    assert any(line.startswith("::warning file=suite.yaml,line=") for line in run.stdout.splitlines())

    # exactly one check run, on the PR head (not the merge commit), and one sticky comment
    (check,) = ours(fake)
    assert check.name == CHECK_NAME and check.head_sha == head and check.head_sha != MERGE_SHA
    assert check.status == "completed" and check.conclusion == "failure"
    assert check.output["title"].startswith("asr-gate: FAIL")
    assert "ASR gate: FAIL" in check.output["summary"]
    assert check.details_url == "https://github.com/octo-org/widgets/actions/runs/4242"
    assert check.annotations and all(a["path"] == "suite.yaml" for a in check.annotations)
    (comment,) = fake.comments
    assert comment.login == "github-actions[bot]" and comment.issue == number
    assert comment.body.startswith(MARKER)
    assert "ASR gate: FAIL" in comment.body and "Accepted baseline ASR over time" in comment.body
    assert "actions/runs/4242" in comment.body and "[Check run](" in comment.body

    # a re-run (a new workflow run on the same commit) edits both in place
    run2 = run_action(ws, dict(INPUTS, out="second"), api_url=fake.url, event=event, run_id="4243")
    assert_no_traceback(run2)
    assert run2.returncode == 1 and run2.outputs["verdict"] == "fail"
    assert run2.outputs["results-path"] == "second/results.json"
    (comment2,) = fake.comments
    assert comment2 is comment and comment.edits == 1 and "actions/runs/4243" in comment.body
    assert len(fake.calls("issues/create-comment")) == 1
    assert len(ours(fake)) == 1 and len(fake.calls("checks/create")) == 1
    assert ours(fake)[0].details_url.endswith("/4243")


def test_underscore_input_names_and_switches(ws, fake):
    number, head = open_pr(fake)
    run = run_action(ws, dict(INPUTS, **{"check-run": "false", "fail-on-inconclusive": "true"}), api_url=fake.url,
                     event=pr_event(number=number, head_sha=head), underscore=True)
    assert_no_traceback(run)
    assert "INPUT_CHECK_RUN" in run.env and "INPUT_CHECK-RUN" not in run.env
    assert run.returncode == 1 and run.outputs["verdict"] == "fail"
    assert not fake.check_runs and not fake.calls("checks/list-for-ref")
    assert len(fake.comments) == 1


def test_push_event_gets_a_check_run_on_github_sha_and_no_comment(ws, fake):
    sha = fake.refs["heads/main"]
    event = webhook_example("push")
    event.update(after=sha, ref="refs/heads/main")
    event["repository"].update(full_name=REPO, default_branch="main")
    run = run_action(ws, INPUTS, api_url=fake.url, event=event, event_name="push")
    assert_no_traceback(run)
    assert run.returncode == 1
    (check,) = ours(fake)
    assert check.head_sha == sha
    assert not fake.comments and not fake.calls("issues/list-comments")


# ------------------------------------------------------------------------------------------------
# forks and read-only tokens: the verdict survives


def test_fork_pull_request_degrades_to_summary_and_outputs(ws, fake):
    number, head = open_pr(fake)
    run = run_action(ws, INPUTS, token=FORK_TOKEN, api_url=fake.url,
                     event=pr_event(number=number, head_sha=head, fork=True))
    assert_no_traceback(run)
    # no HTTP 403 quoted anywhere (a throughput figure such as "3403.1 attempts/s" is not one)
    assert not re.search(r"(?<!\d)(?<!\d\.)403(?!\.?\d)", run.log), run.log[-3000:]
    assert run.returncode == 1  # the verdict's exit code, not a publishing error
    assert run.outputs["verdict"] == "fail" and run.outputs["delta"]
    assert "ASR gate: FAIL" in run.summary and "comes from a fork" in run.summary
    notices = [line for line in run.stdout.splitlines() if line.startswith("::notice ")]
    assert any("fork pull request" in n and "workflow_run" in n for n in notices), run.stdout
    assert not writes(fake) and not fake.requests  # it did not even try
    results = json.loads((ws / "asr-gate-out" / "results.json").read_text())
    assert results["git"]["head_sha"] == head  # what `publish` will check


def test_an_approved_pull_request_target_run_publishes_the_required_check_for_a_fork(ws, fake):
    """The gate step of examples/workflows/asr-gate-fork-trusted.yml: `pull_request_target` for a fork's pull
    request, the default branch's files, a write token: the repository measured it, so the check is the real
    one, on the pull request's head commit."""
    number, head = open_pr(fake)
    event = pr_event(number=number, head_sha=head, fork=True, action="synchronize")
    run = run_action(ws, INPUTS, api_url=fake.url, event=event, event_name="pull_request_target")
    assert_no_traceback(run)
    assert run.returncode == 1, run.log[-3000:]
    (check,) = ours(fake)
    assert check.head_sha == head and check.conclusion == "failure" and not ours(fake, UNVERIFIED_NAME)
    (comment,) = fake.comments
    assert comment.body.startswith(MARKER) and "unverified" not in comment.body.lower()


def test_read_only_token_on_a_same_repo_pull_request_is_a_notice_not_a_crash(ws, fake):
    number, head = open_pr(fake)
    event = pr_event(number=number, head_sha=head)
    run = run_action(ws, INPUTS, token=FORK_TOKEN, api_url=fake.url, event=event)
    assert_no_traceback(run)
    assert run.returncode == 1 and run.outputs["verdict"] == "fail"
    notices = [line for line in run.stdout.splitlines() if line.startswith("::notice ")]
    assert len([n for n in notices if "read-only token" in n]) == 2, run.stdout  # check run and comment
    assert "not published" in run.summary
    assert not fake.check_runs and not fake.comments

    required = run_action(ws, dict(INPUTS, out="required", **{"require-publish": "true"}), token=FORK_TOKEN,
                          api_url=fake.url, event=event)
    assert required.returncode == 3 and required.outputs["verdict"] == "fail"
    assert "publishing was required" in required.stdout


# ------------------------------------------------------------------------------------------------
# usage errors


def test_missing_baseline_is_exit_2_with_advice_and_no_model_calls(ws, fake, models):
    _, cand = models
    (ws / "baselines" / "e2e.json").unlink()
    before = cand.requests
    number, head = open_pr(fake)
    run = run_action(ws, INPUTS, api_url=fake.url, event=pr_event(number=number, head_sha=head))
    assert_no_traceback(run)
    assert run.returncode == 2
    assert run.outputs["verdict"] == "error"
    assert "no baseline file at baselines/e2e.json" in run.summary and "asr-gate baseline update" in run.summary
    assert any(line.startswith("::error title=asr-gate%3A no baseline::") for line in run.stdout.splitlines())
    assert cand.requests == before
    assert not fake.requests


def _pre_run_error(run, cand, before, fake, heading):
    assert_no_traceback(run)
    assert run.returncode == 2, run.log[-3000:]
    assert run.outputs["verdict"] == "error"
    assert set(run.outputs) >= {"asr", "baseline-asr", "delta", "p-value", "results-path", "report-path"}
    assert f"ASR gate: {heading}" in run.summary
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and errors[0].startswith(f"::error title=asr-gate%3A {heading}::"), run.stdout
    assert cand.requests == before  # refused before any model call
    assert not fake.requests


def test_changed_detector_is_refused_before_any_model_call_with_outputs_and_summary(ws, fake, models):
    _, cand = models
    suite = (ws / "suite.yaml").read_text()
    (ws / "suite.yaml").write_text(suite.replace("contains: PWNED", "contains: HACKED"))
    before = cand.requests
    number, head = open_pr(fake)
    run = run_action(ws, INPUTS, api_url=fake.url, event=pr_event(number=number, head_sha=head))
    _pre_run_error(run, cand, before, fake, "detector changed")
    assert "different detector" in run.summary and "baselines/e2e.json" in run.summary
    assert not (ws / "asr-gate-out" / "results.json").exists()


def test_allow_detector_change_compares_anyway(ws, models):
    import os
    import subprocess
    import sys

    suite = (ws / "suite.yaml").read_text()
    (ws / "suite.yaml").write_text(suite.replace("contains: PWNED", "contains: HACKED"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    argv = [sys.executable, "-m", "gate.cli", "gate", "--suite", "suite.yaml", "--target", "target.yaml",
            "--no-comment", "--no-check-run", "--quiet"]
    proc = subprocess.run(argv + ["--allow-detector-change"], cwd=ws, env=env, capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    assert json.loads((ws / "asr-gate-out" / "verdict.json").read_text())["detector_changed"] is True
    proc = subprocess.run(argv + ["--out", "refused"], cwd=ws, env=env, capture_output=True, text=True)
    assert proc.returncode == 2 and "asr-gate: error: the baseline baselines/e2e.json was measured with a " \
        "different detector" in proc.stderr, proc.stderr
    assert not (ws / "refused").exists()


@pytest.mark.parametrize("what, heading", [("baseline", "invalid baseline"), ("policy", "invalid policy")])
def test_an_invalid_baseline_or_policy_is_reported_like_a_missing_baseline(ws, fake, models, what, heading):
    _, cand = models
    inputs = dict(INPUTS)
    if what == "baseline":
        (ws / "baselines" / "e2e.json").write_text('{"attacks": [{"id": "x"}]}')
    else:
        (ws / "policy.yaml").write_text("alpha: 0.9\n")
        inputs["policy"] = "policy.yaml"
    before = cand.requests
    number, head = open_pr(fake)
    run = run_action(ws, inputs, api_url=fake.url, event=pr_event(number=number, head_sha=head))
    _pre_run_error(run, cand, before, fake, heading)
    assert ("baselines/e2e.json" if what == "baseline" else "policy.yaml") in run.summary


def test_asr_outputs_are_overall_and_delta_is_paired(ws, fake):
    """The baseline lacks the jailbreak attacks: the paired test sees only the injections (no change), while
    `asr` is the candidate's overall ASR, jailbreaks (90%) included."""
    path = ws / "baselines" / "e2e.json"
    base = json.loads(path.read_text())
    base["attacks"] = [a for a in base["attacks"] if a["category"] != "jailbreak"]
    kept = base["attacks"]
    n, k = sum(a["attempts"] for a in kept), sum(a["successes"] for a in kept)
    base["totals"] = dict(base["totals"], attacks=len(kept), planned=sum(a.get("planned", 0) for a in kept),
                          attempts=n, successes=k, errors=sum(a.get("errors", 0) for a in kept), asr=round(k / n, 6))
    base["categories"] = {c: v for c, v in base["categories"].items() if c != "jailbreak"}
    path.write_text(json.dumps(base))
    number, head = open_pr(fake)
    run = run_action(ws, dict(INPUTS, **{"check-run": "false", "comment": "false"}), api_url=fake.url,
                     event=pr_event(number=number, head_sha=head))
    assert_no_traceback(run)
    assert run.outputs["verdict"] != "error", run.log[-3000:]
    results = json.loads((ws / "asr-gate-out" / "results.json").read_text())
    verdict = json.loads((ws / "asr-gate-out" / "verdict.json").read_text())
    out = run.outputs
    assert float(out["asr"]) == pytest.approx(results["totals"]["asr"], abs=1e-6)
    assert float(out["asr"]) > 0.3  # the jailbreaks count
    assert float(out["baseline-asr"]) == pytest.approx(base["totals"]["asr"], abs=1e-6)
    assert float(out["delta"]) == pytest.approx(verdict["overall"]["delta"], abs=1e-6)
    assert float(out["delta"]) < 0.2 < float(out["asr"]) - float(out["baseline-asr"])


def test_fail_on_inconclusive_input_false_overrides_the_policy_and_unset_keeps_it(ws, fake):
    (ws / "policy.yaml").write_text("on_inconclusive: fail\n")
    inputs = dict(INPUTS, policy="policy.yaml", comment="false", **{"check-run": "false"})

    def on_inconclusive(out_dir):
        return json.loads((ws / out_dir / "verdict.json").read_text())["policy"]["on_inconclusive"]

    run = run_action(ws, dict(inputs, out="unset"), api_url=fake.url, event=pr_event(number=1, head_sha="a" * 40))
    assert run.returncode == 1 and on_inconclusive("unset") == "fail"  # action.yml's default does not override
    run = run_action(ws, dict(inputs, out="off", **{"fail-on-inconclusive": "false"}), api_url=fake.url,
                     event=pr_event(number=1, head_sha="a" * 40))
    assert run.returncode == 1 and on_inconclusive("off") == "neutral"


@pytest.mark.parametrize("inputs, message", [
    ({"target": "target.yaml"}, "input 'suite' is required"),
    (dict(INPUTS, comment="yes"), "input 'comment' must be true or false"),
    (dict(INPUTS, margin="lots"), "input 'margin'"),
    (dict(INPUTS, mode="deploy"), "input 'mode' must be one of"),
])
def test_bad_inputs_are_one_line_and_exit_2(ws, fake, inputs, message):
    run = run_action(ws, inputs, api_url=fake.url, event=pr_event(number=1, head_sha="a" * 40))
    assert_no_traceback(run)
    assert run.returncode == 2
    errors = [line for line in run.stdout.splitlines() if line.startswith("::error")]
    assert len(errors) == 1 and message in errors[0], run.log
    assert not fake.requests


# ------------------------------------------------------------------------------------------------
# request shapes against GitHub's OpenAPI description (Prism)


def test_every_github_request_of_a_gate_run_matches_the_openapi_description(ws, prism):
    event = pr_event(number=2, head_sha="ec26c3e57ca3a959ca5aad62de7213c562f8c821")
    mark = prism.mark()
    run = run_action(ws, INPUTS, api_url=prism.url, event=event)
    assert_no_traceback(run)
    assert run.returncode == 1 and run.outputs["verdict"] == "fail"
    calls = prism.requests_since(mark)
    assert ("POST", f"/repos/{REPO}/check-runs") in calls, calls
    assert ("POST", f"/repos/{REPO}/issues/2/comments") in calls, calls
    assert prism.errors_since(mark) == []
    assert "Published: [check run](" in run.summary


# ------------------------------------------------------------------------------------------------
# the workflow_run pattern: publish an untrusted artifact


@pytest.fixture
def fork_artifact(ws, fake):
    """A fork PR run (publishes nothing) and its results.json, as the artifact a later workflow downloads."""
    number, head = open_pr(fake)
    run = run_action(ws, INPUTS, token=FORK_TOKEN, api_url=fake.url,
                     event=pr_event(number=number, head_sha=head, fork=True))
    assert run.returncode == 1
    artifact = ws / "asr-gate-artifact"
    artifact.mkdir()
    shutil.copy(ws / "asr-gate-out" / "results.json", artifact / "results.json")
    shutil.rmtree(ws / "asr-gate-out")
    fake.requests.clear()
    return number, head, artifact / "results.json"


def publish(ws, fake, head, **inputs):
    values = {"mode": "publish", "results": "asr-gate-artifact/results.json"}
    values.update(inputs)
    return run_action(ws, values, api_url=fake.url, event=workflow_run_event(head_sha=head),
                      event_name="workflow_run")


def test_publish_mode_publishes_a_checked_artifact_as_unverified(ws, fake, fork_artifact):
    number, head, _ = fork_artifact
    run = publish(ws, fake, head)
    assert_no_traceback(run)
    assert run.returncode == 1 and run.outputs["verdict"] == "fail"
    (get_pull,) = fake.calls("pulls/get")  # the head SHA is checked against the API before any write
    first_write = next(i for i, r in enumerate(fake.requests) if r.method != "GET")
    assert fake.requests.index(get_pull) < first_write
    assert not ours(fake)  # never under the name of the required check
    (check,) = ours(fake, UNVERIFIED_NAME)
    assert check.head_sha == head and check.conclusion == "failure"  # a fork can only hurt itself
    assert check.output["title"].startswith("asr-gate (unverified, measured by the pull request's workflow): FAIL")
    (comment,) = fake.comments
    assert comment.issue == number and comment.body.startswith(UNVERIFIED_MARKER)
    assert "ASR gate (unverified): FAIL" in run.summary and "Unverified: measured by" in comment.body
    assert "::notice title=asr-gate: unverified results::" in run.stdout.replace("%3A", ":")
    # and again: edits, never duplicates
    run = publish(ws, fake, head)
    assert run.returncode == 1 and len(fake.comments) == 1 and len(ours(fake, UNVERIFIED_NAME)) == 1


def forge_zero_successes(path: Path) -> None:
    """The review's forgery: every `successes` set to 0 and the summaries fixed up, the head SHA left correct."""
    data = json.loads(path.read_text())
    for a in data["attacks"]:
        a["successes"] = 0
    for block in [data["totals"], *data["categories"].values()]:
        block["successes"] = 0
        block["asr"] = 0.0 if block["attempts"] else None
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("trigger", ["workflow_run", "workflow_run_same_repo", "push", "pull_request_fork"])
def test_forged_counts_are_never_published_as_success(ws, fake, fork_artifact, trigger):
    """Issue 14, attack 1: a fork's artifact claiming zero successes passed every check and was published as
    a success with a ✅ comment. Its numbers are still shown, as unverified and neutral at best."""
    number, head, path = fork_artifact
    forge_zero_successes(path)
    values = {"mode": "publish", "results": "asr-gate-artifact/results.json", "pr-number": str(number)}
    if trigger.startswith("workflow_run"):
        event = workflow_run_event(head_sha=head, fork=trigger == "workflow_run")
        run = run_action(ws, values, api_url=fake.url, event=event, event_name="workflow_run")
    elif trigger == "push":
        event = webhook_example("push")
        event["repository"].update(full_name=REPO)
        run = run_action(ws, values, api_url=fake.url, event=event, event_name="push",
                         argv=("--head-sha", head))
    else:  # a fork's own pull_request run calling publish (its token is read-only here; say it anyway)
        run = run_action(ws, values, api_url=fake.url, event=pr_event(number=number, head_sha=head, fork=True),
                         argv=("--head-sha", head))
    assert_no_traceback(run)
    assert run.returncode == 0 and run.outputs["verdict"] in ("pass", "inconclusive"), run.log[-3000:]
    assert not ours(fake)
    (check,) = ours(fake, UNVERIFIED_NAME)
    assert check.conclusion == "neutral" and "unverified" in check.output["title"]
    assert "0.0%" in check.output["summary"]  # the numbers are shown
    (comment,) = fake.comments
    assert comment.body.startswith(UNVERIFIED_MARKER) and "✅" not in comment.body.splitlines()[1]
    assert "Unverified: measured by the pull request's workflow" in comment.body
    assert "validated" not in (comment.body + run.summary + run.log).lower()


def test_a_same_repo_pull_request_run_publishes_its_own_shards_under_the_required_name(ws, fake, fork_artifact):
    """The sharded workflow's merge job: a same-repository pull_request run publishing what it measured."""
    number, head, _ = fork_artifact
    values = {"mode": "publish", "results": "asr-gate-artifact/results.json"}
    run = run_action(ws, values, api_url=fake.url, event=pr_event(number=number, head_sha=head),
                     argv=("--head-sha", head))
    assert_no_traceback(run)
    assert run.returncode == 1, run.log[-3000:]
    (check,) = ours(fake)
    assert check.conclusion == "failure" and not ours(fake, UNVERIFIED_NAME)
    assert fake.comments[0].body.startswith(MARKER)


def test_publish_refuses_when_the_pull_request_moved_on(ws, fake, fork_artifact):
    number, head, _ = fork_artifact
    fake.commit_files(fake.pulls[number].head, {"new.txt": b"pushed after the run\n"})
    run = publish(ws, fake, head)
    assert_no_traceback(run)
    assert run.returncode == 2
    assert f"pull request #{number} is now at commit" in run.stdout and "refusing" in run.stdout
    assert not writes(fake) and not fake.comments and not fake.check_runs


def test_publish_refuses_a_forged_or_foreign_artifact(ws, fake, fork_artifact):
    number, head, path = fork_artifact
    data = json.loads(path.read_text())
    data["git"]["head_sha"] = "f" * 40  # claims another commit than the run GitHub reports
    path.write_text(json.dumps(data))
    run = publish(ws, fake, head)
    assert run.returncode == 2 and "refusing to publish" in run.stdout
    # schema-invalid: refused before anything else
    path.write_text(json.dumps({"schema": "asr-gate/results/v1", "attacks": "nope"}))
    run = publish(ws, fake, head)
    assert run.returncode == 2 and "asr-gate-artifact/results.json" in run.stdout
    assert_no_traceback(run)
    assert not fake.requests


@pytest.mark.parametrize("name", ["report.md", "verdict.json", "junit.xml", "nested/x.txt"])
def test_publish_refuses_an_artifact_folder_with_a_symlink(ws, fake, fork_artifact, name):
    """Issue 14, attack 5: report.md (or verdict.json) in the artifact as a link to the trusted baseline."""
    number, head, path = fork_artifact
    baseline = ws / "baselines" / "e2e.json"
    before = baseline.read_bytes()
    link = path.parent / name
    link.parent.mkdir(exist_ok=True)
    link.symlink_to(baseline)
    run = publish(ws, fake, head)
    assert_no_traceback(run)
    assert run.returncode == 2 and "contains a symbolic link" in run.stdout, run.log[-2000:]
    assert baseline.read_bytes() == before and link.is_symlink()
    assert not writes(fake) and not fake.comments and not fake.check_runs


def test_publish_refuses_an_oversized_artifact_before_parsing_it(ws, fake, fork_artifact, tmp_path):
    import os
    import subprocess
    import sys

    number, head, path = fork_artifact
    with open(path, "ab") as fh:
        fh.truncate(20 * 1024 * 1024 + 1)  # sparse: 20 MB + 1 byte of JSON followed by NULs
    run = publish(ws, fake, head)
    assert run.returncode == 2 and "refusing to parse it" in run.stdout
    assert not fake.requests
    # the limit is a CLI option too
    small = tmp_path / "r.json"
    small.write_text("{}" + " " * 2000)
    proc = subprocess.run([sys.executable, "-m", "gate.cli", "publish", "--results", str(small), "--max-bytes", "1KB",
                           "--head-sha", head, "--pr", str(number)], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")})
    assert proc.returncode == 2 and "refusing to parse it" in proc.stderr


# ------------------------------------------------------------------------------------------------
# baseline mode


def test_baseline_mode_opens_one_pull_request_with_the_baseline_and_its_history(ws, fake, models):
    base, _ = models
    (ws / "target.yaml").write_text((ws / "accepted-target.yaml").read_text())
    event = webhook_example("workflow_dispatch")
    event["repository"].update(full_name=REPO, default_branch="main")
    event["ref"] = "refs/heads/main"
    run = run_action(ws, dict(INPUTS, mode="baseline"), api_url=fake.url, event=event,
                     event_name="workflow_dispatch")
    assert_no_traceback(run)
    assert run.returncode == 0, run.log[-3000:]
    (pull,) = fake.open_pulls()
    assert pull.head == "asr-gate/baseline/e2e" and pull.base == "main"
    files = fake.files(pull.head)
    assert json.loads(files["baselines/e2e.json"])["suite"]["id"] == "e2e"
    assert len(files["baselines/history/e2e.jsonl"].decode().splitlines()) == 5
    assert run.outputs["results-path"] == "asr-gate-out/results.json"


def baseline_mode(ws, fake, models, **inputs):
    (ws / "target.yaml").write_text((ws / "accepted-target.yaml").read_text())
    event = webhook_example("workflow_dispatch")
    event["repository"].update(full_name=REPO, default_branch="main")
    event["ref"] = "refs/heads/main"
    return run_action(ws, dict(INPUTS, mode="baseline", **inputs), api_url=fake.url, event=event,
                      event_name="workflow_dispatch")


@pytest.mark.parametrize("given", ["./baselines/e2e.json", "{ws}/baselines/e2e.json", "baselines/x/../e2e.json"])
def test_baseline_mode_normalises_the_baseline_path_inside_the_workspace(ws, fake, models, given):
    """Issue 14, attack 6: `./` gave a traceback, an absolute path was committed as a relative one."""
    run = baseline_mode(ws, fake, models, baseline=given.format(ws=ws))
    assert_no_traceback(run)
    assert run.returncode == 0, run.log[-3000:]
    (pull,) = fake.open_pulls()
    assert set(fake.files(pull.head)) - set(fake.files("main")) == {"baselines/e2e.json", "baselines/history/e2e.jsonl"}


@pytest.mark.parametrize("inputs, message", [
    ({"branch": "bad..branch"}, "input 'branch': 'bad..branch' is not a valid branch name"),
    ({"branch": "-x"}, "input 'branch': '-x' is not a valid branch name"),
    ({"base": "main~1"}, "input 'base': 'main~1' is not a valid branch name"),
    ({"branch": "main"}, "the baseline branch must differ from the base branch (main)"),
    ({"baseline": "../outside.json"}, "is outside the workspace"),
    ({"baseline": "/etc/asr-gate/x.json"}, "is outside the workspace"),
    ({"baseline": "baselines/"}, "is not a file path"),
])
def test_baseline_mode_errors_are_one_line_and_exit_2_before_any_model_call(ws, fake, models, inputs, message):
    base, _ = models
    calls = base.requests
    run = baseline_mode(ws, fake, models, **inputs)
    assert_no_traceback(run)
    assert run.returncode == 2, run.log[-3000:]
    errors = [line for line in run.log.splitlines() if "::error" in line or "error:" in line]
    assert len(errors) == 1 and message in errors[0], run.log[-3000:]
    assert base.requests == calls and not writes(fake)


def test_github_unreachable_is_a_warning_and_the_verdict_stands(ws, models):
    run = run_action(ws, INPUTS, api_url="http://127.0.0.1:9", event=pr_event(number=2, head_sha="a" * 40))
    assert_no_traceback(run)
    assert run.returncode == 1 and run.outputs["verdict"] == "fail"
    warnings = [line for line in run.stdout.splitlines() if line.startswith("::warning title=asr-gate%3A")]
    assert any("GitHub API unreachable" in w and "check run" in w for w in warnings), run.stdout
    assert run.summary.count("could not be published") == 2 and "ASR gate: FAIL" in run.summary


# ------------------------------------------------------------------------------------------------
# sequential mode: stop early when the answer is clear


SEQ_ATTEMPTS = 5
SEQ_CATEGORIES = {"jailbreak": 20, "injection": 20}
SEQ_PLANNED = SEQ_ATTEMPTS * sum(SEQ_CATEGORIES.values())


@pytest.fixture(scope="module")
def seq_models():
    """Baseline 2% everywhere; `broken`: 90% everywhere (clear at the first look); `same`: 2% again."""
    with FakeOpenAI(default_rate=0.02, seed=11) as base, FakeOpenAI(default_rate=0.9, seed=12) as broken, \
            FakeOpenAI(default_rate=0.02, seed=13) as same:
        yield base, broken, same


@pytest.fixture(scope="module")
def seq_template(tmp_path_factory, seq_models) -> Path:
    base, broken, same = seq_models
    root = tmp_path_factory.mktemp("seq-template") / "ws"
    root.mkdir()
    suite = write_suite(root, categories=SEQ_CATEGORIES, attempts=SEQ_ATTEMPTS)
    write_target(root, base.base_url, name="accepted-target.yaml")
    make_baseline(root, suite, root / "accepted-target.yaml")
    write_target(root, broken.base_url, name="broken-target.yaml")
    write_target(root, same.base_url, name="same-target.yaml")
    return root


@pytest.fixture
def seq_ws(tmp_path, seq_template) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(seq_template, root)
    return root


def test_sequential_input_stops_a_clear_regression_early_and_says_where(seq_ws, fake, seq_models):
    _, broken, _ = seq_models
    number, head = open_pr(fake)
    before = broken.requests
    run = run_action(seq_ws, {"suite": "suite.yaml", "target": "broken-target.yaml", "sequential": "true",
                              "sequential-seed": "3"},
                     api_url=fake.url, event=pr_event(number=number, head_sha=head))
    assert_no_traceback(run)
    assert run.returncode == 1, run.log[-3000:]
    assert run.outputs["verdict"] == "fail"
    results = json.loads((seq_ws / run.outputs["results-path"]).read_text())
    seq = results["sequential"]
    assert seq["decision"] == "fail" and seq["stopped_early"] is True and seq["seed"] == 3
    assert seq["look"] < 4 and seq["attempts_planned"] == SEQ_PLANNED
    assert seq["attempts_run"] < SEQ_PLANNED
    assert broken.requests - before < SEQ_PLANNED  # fewer model calls than the fixed design makes
    # the verdict's own reason says where it stopped: in the summary and in the sticky comment
    where = f"stopped early at look {seq['look']} of 4"
    attempts = f"{seq['attempts_run']} of {SEQ_PLANNED} planned attempts"
    assert where in run.summary and attempts in run.summary, run.summary
    (comment,) = fake.comments
    assert where in comment.body and attempts in comment.body
    assert "continue it with --resume" not in run.log  # stopped by design, not interrupted
    (check,) = ours(fake)
    assert check.conclusion == "failure"


def test_sequential_input_without_a_regression_completes_or_passes_and_never_fails(seq_ws, fake, seq_models):
    """Same model: the design either stops early to PASS or runs every look; the per-category tests of the
    comparison may still call it inconclusive (neutral), never a failure."""
    _, _, same = seq_models
    number, head = open_pr(fake)
    before = same.requests
    run = run_action(seq_ws, {"suite": "suite.yaml", "target": "same-target.yaml", "sequential": "true",
                              "comment": "false", "check-run": "false"},
                     api_url=fake.url, event=pr_event(number=number, head_sha=head))
    assert_no_traceback(run)
    assert run.returncode == 0, run.log[-3000:]
    assert run.outputs["verdict"] in ("pass", "inconclusive"), run.summary
    seq = json.loads((seq_ws / run.outputs["results-path"]).read_text())["sequential"]
    assert seq["decision"] in ("pass", "inconclusive") and seq["seed"] == 0
    assert same.requests - before == seq["attempts_run"] <= SEQ_PLANNED
    if seq["stopped_early"]:
        assert seq["decision"] == "pass"
        assert f"stopped early at look {seq['look']} of 4" in run.summary
    else:
        assert seq["look"] == 4 and seq["attempts_run"] == SEQ_PLANNED and "stopped early" not in run.summary


def test_sequential_is_off_by_default_and_refused_with_baseline_target(seq_ws, fake, seq_models):
    _, _, same = seq_models
    run = run_action(seq_ws, {"suite": "suite.yaml", "target": "same-target.yaml", "comment": "false",
                              "check-run": "false"},
                     api_url=fake.url, event=pr_event(number=1, head_sha="a" * 40))
    assert_no_traceback(run)
    results = json.loads((seq_ws / "asr-gate-out" / "results.json").read_text())
    assert "sequential" not in results and results["totals"]["attempts"] == SEQ_PLANNED
    before = same.requests
    run = run_action(seq_ws, {"suite": "suite.yaml", "target": "same-target.yaml", "sequential": "true",
                              "baseline-target": "accepted-target.yaml", "out": "ab"},
                     api_url=fake.url, event=pr_event(number=1, head_sha="a" * 40))
    assert_no_traceback(run)
    assert run.returncode == 2 and run.outputs["verdict"] == "error"
    assert "ASR gate: sequential mode" in run.summary and "baseline-target" in run.summary
    assert same.requests == before  # refused before any model call
