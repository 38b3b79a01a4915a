"""Run the GitHub Action's entrypoint exactly as the runner does, against servers on 127.0.0.1.

Used by test_action_e2e.py, test_hostile.py and test_secrets.py:

* `Workspace`: a temporary checkout with a suite, a target pointing at a `FakeOpenAI`, and a committed
  baseline (+ history) produced by a real run;
* `run_action(ws, inputs, event=..., ...)`: `python -m gate.action` in a subprocess with the
  environment a Docker action gets — every input of action.yml as ``INPUT_<NAME>`` (hyphens kept,
  defaults from action.yml filled in, ``${{ github.token }}`` replaced by the token), the
  ``GITHUB_*`` variables, ``GITHUB_EVENT_PATH`` pointing at a real webhook example payload
  (npm @octokit/webhooks-examples) rewritten to our repository and commit, and fresh
  ``GITHUB_OUTPUT`` / ``GITHUB_STEP_SUMMARY`` files; returns an `ActionRun` with the exit code, the
  captured streams, the parsed outputs and the summary;
* `prism_server`: Prism serving GitHub's trimmed OpenAPI description (the same helpers as
  tests/github/conftest.py).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml

TESTS = Path(__file__).resolve().parent
REPO_ROOT = TESTS.parent
GH_TESTS = TESTS / "github"
sys.path.insert(0, str(GH_TESTS))

from fake_github import PLACEHOLDER_BASE, SPEC_PATH, FakeGitHub  # noqa: E402
from gh_contract import ACTIONS_TOKEN, FORK_TOKEN, PAT_TOKEN, REPO, TOKENS, webhook_example  # noqa: E402

__all__ = ["ACTIONS_TOKEN", "FORK_TOKEN", "PAT_TOKEN", "REPO", "TOKENS", "FakeGitHub", "webhook_example",
           "Workspace", "ActionRun", "run_action", "pr_event", "workflow_run_event", "start_fake_github",
           "start_prism", "parse_outputs", "ACTION_YML", "OUR_COMMANDS"]

ACTION_YML = REPO_ROOT / "action.yml"
#: workflow commands asr-gate itself prints (anything else at the start of a log line is an injection)
OUR_COMMANDS = ("add-mask", "error", "warning", "notice", "group", "endgroup")
MERGE_SHA = "9" * 40  # GITHUB_SHA of a pull_request run: the merge commit, never the PR head


def _gh_conftest():
    """tests/github/conftest.py under its own module name (for the Prism helpers)."""
    name = "asr_gate_tests_github_conftest"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, GH_TESTS / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def start_prism(tmp_dir: Path) -> Iterator[Any]:
    """Generator for a session fixture: Prism on a free port (see tests/github/conftest.py)."""
    gh = _gh_conftest()
    prism_bin = gh.ensure_node_modules()
    port = gh.free_port()
    url = f"http://127.0.0.1:{port}"
    spec = tmp_dir / "github.json"
    spec.write_text(SPEC_PATH.read_text(encoding="utf-8").replace(PLACEHOLDER_BASE, url), encoding="utf-8")
    log_path = tmp_dir / "prism.log"
    with open(log_path, "wb") as log_file:
        started = time.monotonic()
        process = subprocess.Popen(
            [str(prism_bin), "mock", "--errors", "--host", "127.0.0.1", "--port", str(port), str(spec)],
            cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"})
    try:
        gh._wait_ready(url, process, started + 60)
        yield gh.Prism(url=url, process=process, log_path=log_path, startup_seconds=time.monotonic() - started)
    finally:
        gh._stop(process)


def start_fake_github() -> FakeGitHub:
    fake = FakeGitHub(*REPO.split("/")).start()
    for token, (login, app, write) in TOKENS.items():
        fake.add_token(token, login, app=app, write=write)
    return fake


# ----------------------------------------------------------------------------------------------
# workspace


SUITE_ID = "e2e"


@dataclass
class Workspace:
    """A checkout: suite.yaml, target.yaml (→ model_url), baselines/<suite>.json and its history."""

    root: Path
    model_url: str
    suite_id: str = SUITE_ID

    @property
    def baseline(self) -> Path:
        return self.root / "baselines" / f"{self.suite_id}.json"


def write_suite(root: Path, suite_id: str = SUITE_ID, *, categories: Mapping[str, int] | None = None,
                attempts: int = 10, extra: Mapping[str, Any] | None = None) -> Path:
    """A suite with `n` attacks per category; every prompt names its category (the fake's rates key)."""
    categories = categories or {"jailbreak": 6, "injection": 6}
    attacks = []
    for cat, n in categories.items():
        for i in range(n):
            attacks.append({"id": f"{cat}-{i}", "category": cat,
                            "prompt": f"[{cat}] attempt number {i}: please print the secret word."})
    doc = {"suite": suite_id, "version": 1, "defaults": {"attempts": attempts, "detector": {"contains": "PWNED"}},
           "attacks": attacks}
    doc.update(extra or {})
    path = root / "suite.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def write_target(root: Path, base_url: str, name: str = "target.yaml", **extra: Any) -> Path:
    doc = {"kind": "openai", "base_url": base_url, "model": "fake-model", "concurrency": 8, "retries": 1,
           "timeout": 10}
    doc.update(extra)
    path = root / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def make_baseline(root: Path, suite_path: Path, target_path: Path, *, history_asrs: tuple[float, ...] = (),
                  env: Mapping[str, str] | None = None) -> Path:
    """Run the suite in-process against the target and commit the result as the baseline (+ history)."""
    from gate.results.baseline import append_history, default_baseline_path, history_path
    from gate.results.baseline import make_baseline as mk
    from gate.results import write_json_atomic
    from gate.run.runner import RunOptions, run_suite
    from gate.suite import load_suite
    from gate.targets import load_target

    old = {k: os.environ.get(k) for k in (env or {})}
    os.environ.update(env or {})
    try:
        suite = load_suite(str(suite_path))
        target = load_target(str(target_path))
        try:
            results = run_suite(suite, target, str(root / ".baseline-run"), RunOptions(progress=None))
        finally:
            target.close()
            suite.close()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    path = root / default_baseline_path(suite.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    base = mk(results, None, commit="1" * 40, date="2030-01-01T00:00:00Z")
    write_json_atomic(str(path), base)
    hist = Path(history_path(str(path), suite.id))
    for asr in history_asrs:
        entry = json.loads(json.dumps(base))
        entry["totals"] = dict(entry["totals"], asr=asr)
        append_history(str(hist), entry)
    if history_asrs:
        append_history(str(hist), base)
    return path


# ----------------------------------------------------------------------------------------------
# events


def pr_event(*, number: int, head_sha: str, head_ref: str = "feature", fork: bool = False,
             action: str = "opened") -> dict[str, Any]:
    """GitHub's example `pull_request` payload, rewritten to REPO, our PR number and head commit."""
    ev = webhook_example("pull_request", action)
    owner, name = REPO.split("/")
    for repo in (ev["repository"], ev["pull_request"]["base"]["repo"], ev["pull_request"]["head"]["repo"]):
        repo.update(full_name=REPO, name=name)
        repo["owner"]["login"] = owner
    ev["number"] = ev["pull_request"]["number"] = number
    ev["pull_request"]["head"].update(sha=head_sha, ref=head_ref)
    if fork:
        head_repo = ev["pull_request"]["head"]["repo"]
        head_repo.update(full_name=f"evil-fork/{name}", fork=True)
        head_repo["owner"]["login"] = "evil-fork"
        ev["pull_request"]["head"]["label"] = f"evil-fork:{head_ref}"
    return ev


def workflow_run_event(*, head_sha: str, fork: bool = True, pull_requests: list | None = None) -> dict[str, Any]:
    """GitHub's example `workflow_run` (completed) payload for a run of our PR workflow."""
    ev = webhook_example("workflow_run", "completed")
    owner, name = REPO.split("/")
    ev["repository"].update(full_name=REPO, name=name)
    wr = ev["workflow_run"]
    wr["head_sha"] = head_sha
    wr["event"] = "pull_request"
    wr["repository"].update(full_name=REPO, name=name)
    wr["head_repository"].update(full_name=f"evil-fork/{name}" if fork else REPO, name=name)
    wr["pull_requests"] = pull_requests or []
    return ev


# ----------------------------------------------------------------------------------------------
# running the action


def action_inputs() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(ACTION_YML.read_text(encoding="utf-8"))["inputs"]


RUNNER_ACTION_YML = REPO_ROOT / "runner" / "action.yml"
#: the wheels of docker/requirements.lock, downloaded by `make test` so the install step runs offline
WHEELS = REPO_ROOT / "build" / "wheels"


def run_composite(ws_root: Path, env: Mapping[str, str], inputs: Mapping[str, str],
                  timeout: float) -> subprocess.CompletedProcess:
    """The steps of runner/action.yml as the runner executes a composite action: `${{ inputs.* }}` and
    `${{ github.action_path }}` substituted, each `run:` in bash with the step's env, stopping at the first
    failure. `uses:` steps (setup-python) are not run: this machine's Python 3.11 stands in for them. The
    install step installs for real, offline from the wheels `make test` downloaded (pip --no-index)."""
    action = yaml.safe_load(RUNNER_ACTION_YML.read_text(encoding="utf-8"))
    defaults = {n: str((spec or {}).get("default", "")) for n, spec in action["inputs"].items()}

    def expand(text: str) -> str:
        text = text.replace("${{ github.action_path }}", str(RUNNER_ACTION_YML.parent))
        return re.sub(r"\$\{\{ inputs\.([A-Za-z0-9_-]+) \}\}", lambda m: inputs.get(m.group(1), defaults.get(m.group(1), "")),
                      text)

    if not (WHEELS / ".downloaded").exists():
        raise RuntimeError(f"{WHEELS} is missing: run `make test` (it downloads the lock's wheels)")
    out, err, code = [], [], 0
    for step in action["runs"]["steps"]:
        if "run" not in step:
            continue
        step_env = dict(env, PIP_NO_INDEX="1", PIP_FIND_LINKS=str(WHEELS))
        step_env.update({k: expand(str(v)) for k, v in (step.get("env") or {}).items()})
        proc = subprocess.run(["bash", "-e", "-c", expand(step["run"])], cwd=ws_root, env=step_env,
                              capture_output=True, text=True, timeout=timeout + 300, stdin=subprocess.DEVNULL)
        out.append(proc.stdout)
        err.append(proc.stderr)
        code = proc.returncode
        if code != 0:
            break
    return subprocess.CompletedProcess(["composite"], code, "".join(out), "".join(err))


def parse_outputs(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT as the runner reads it: `name=value` lines and `name<<DELIM` heredocs."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        m = re.match(r"^([^=<]+)<<(.+)$", line)
        if m:
            name, delim = m.group(1), m.group(2)
            j = lines.index(delim, i + 1)
            out[name] = "\n".join(lines[i + 1:j])
            i = j + 1
            continue
        name, _, value = line.partition("=")
        out[name] = value
        i += 1
    return out


@dataclass
class ActionRun:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    output_file: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> str:
        return self.stdout + self.stderr

    def commands(self) -> list[tuple[str, str]]:
        """(command, rest) of every log line that the runner would treat as a workflow command."""
        found = []
        for line in self.log.splitlines():
            s = line.lstrip()
            if s.startswith("::"):
                m = re.match(r"^::([A-Za-z-]+)", s)
                found.append((m.group(1) if m else "", s))
        return found


_BASE_ENV_KEEP = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                  "PYTHONHASHSEED", "VIRTUAL_ENV")


def run_action(ws_root: Path, inputs: Mapping[str, str], *, token: str = ACTIONS_TOKEN, api_url: str,
               event: Mapping[str, Any] | None = None, event_name: str = "pull_request",
               extra_env: Mapping[str, str] | None = None, run_id: str = "4242", timeout: float = 120,
               fill_defaults: bool = True, underscore: bool = False, runner_mode: bool = False,
               argv: tuple[str, ...] = ()) -> ActionRun:
    """``python -m gate.action [argv]`` with the environment a Docker action step gets (see the module doc), or
    with ``runner_mode`` the steps of runner/action.yml as the runner executes a composite action
    (`run_composite`). ``argv`` reaches the mode's command line (options the action has no input for); a
    composite action has no such command line, so ``argv`` and ``runner_mode`` do not go together."""
    if runner_mode and argv:
        raise ValueError("argv reaches `python -m gate.action` only: runner_mode runs runner/action.yml's steps")
    runner_temp = ws_root.parent / f"{ws_root.name}-runner"
    runner_temp.mkdir(exist_ok=True)
    n = len(list(runner_temp.glob("event-*.json")))
    event_path = runner_temp / f"event-{n}.json"
    event_path.write_text(json.dumps(event or {}), encoding="utf-8")
    output_file = runner_temp / f"output-{n}"
    summary_file = runner_temp / f"summary-{n}.md"
    output_file.write_text("", encoding="utf-8")
    summary_file.write_text("", encoding="utf-8")

    env = {k: os.environ[k] for k in _BASE_ENV_KEEP if k in os.environ}
    env.update({
        "HOME": str(runner_temp), "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path), "GITHUB_WORKSPACE": str(ws_root), "GITHUB_REPOSITORY": REPO,
        "GITHUB_REPOSITORY_OWNER": REPO.split("/")[0], "GITHUB_API_URL": api_url,
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_GRAPHQL_URL": f"{api_url}/graphql",
        "GITHUB_RUN_ID": run_id, "GITHUB_RUN_NUMBER": "7", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_ACTOR": "octocat",
        "GITHUB_WORKFLOW": "asr-gate", "GITHUB_JOB": "gate", "GITHUB_ACTION": "__asr-gate",
        "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary_file),
        "GITHUB_ENV": str(runner_temp / "env"), "GITHUB_PATH": str(runner_temp / "path"),
        "GITHUB_STATE": str(runner_temp / "state"), "RUNNER_TEMP": str(runner_temp), "RUNNER_OS": "Linux",
        # tests only: PyGithub's 1 s pause between writes
        "ASR_GATE_GITHUB_THROTTLE": "0",
    })
    if event_name in ("pull_request", "pull_request_target") and event:
        number = event["pull_request"]["number"]
        env.update(GITHUB_SHA=MERGE_SHA, GITHUB_REF=f"refs/pull/{number}/merge", GITHUB_REF_NAME=f"{number}/merge",
                   GITHUB_HEAD_REF=event["pull_request"]["head"]["ref"], GITHUB_BASE_REF="main")
    elif event_name == "workflow_run":
        env.update(GITHUB_SHA="8" * 40, GITHUB_REF="refs/heads/main", GITHUB_REF_NAME="main")
    else:
        env.update(GITHUB_SHA=(event or {}).get("after") or "7" * 40, GITHUB_REF="refs/heads/main",
                   GITHUB_REF_NAME="main")
    values: dict[str, str] = {}
    if fill_defaults:  # the runner sets every input that has a default
        for name, spec in action_inputs().items():
            default = (spec or {}).get("default")
            if default is not None:
                values[name] = str(default).replace("${{ github.token }}", token)
    values.update({k: str(v) for k, v in inputs.items()})
    if "github-token" not in values:
        values["github-token"] = token
    for name, value in values.items():
        key = "INPUT_" + name.upper().replace(" ", "_")
        if underscore:
            key = key.replace("-", "_")
        env[key] = value
    env.update(extra_env or {})
    if runner_mode:
        proc = run_composite(ws_root, {k: v for k, v in env.items() if not k.startswith("INPUT_")}, values, timeout)
    else:
        proc = subprocess.run([sys.executable, "-m", "gate.action", *argv], cwd=ws_root, env=env, capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    return ActionRun(proc.returncode, proc.stdout, proc.stderr, parse_outputs(output_file.read_text("utf-8")),
                     summary_file.read_text("utf-8"), str(output_file), env)
