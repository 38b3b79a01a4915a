"""`asr-gate init` in an empty git repository: every file validates, the workflow passes actionlint, a second
run changes nothing, and nothing is overwritten without --force."""
from __future__ import annotations

import subprocess

import pytest
import yaml

from gate.cli import main
from test_lint import actionlint


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
            and ".git" not in p.relative_to(root).parts}


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


@pytest.mark.parametrize("runner_mode", [False, True], ids=["docker", "runner-mode"])
def test_init_writes_valid_files_and_a_second_run_changes_nothing(repo, capsys, monkeypatch, runner_mode):
    flags = ["--runner-mode"] if runner_mode else []
    assert main(["init", "--dir", str(repo), *flags]) == 0
    out = capsys.readouterr().out
    assert "next steps:" in out and out.count("    written  ") == len(_files(repo))
    files = _files(repo)
    assert {".github/workflows/asr-gate.yml", ".github/asr-gate/target.yaml", ".github/asr-gate/policy.yaml",
            ".github/asr-gate/system-prompt.txt", "baselines/README.md",
            ".github/asr-gate/suites/prompt-injection.yaml",
            ".github/asr-gate/suites/system-prompt-extraction.yaml"} <= set(files)

    # every YAML file validates with asr-gate itself (the target needs its key's variable to be set)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    monkeypatch.chdir(repo)
    yamls = [f for f in files if f.endswith(".yaml")]
    assert main(["validate", *yamls]) == 0
    assert capsys.readouterr().out.count("ok: ") == len(yamls)

    # the workflow passes actionlint, pins the actions it uses, and asks for least privilege
    wf_path = repo / ".github" / "workflows" / "asr-gate.yml"
    lint = actionlint([wf_path])
    assert lint.returncode == 0, lint.stdout + lint.stderr
    wf = yaml.safe_load(wf_path.read_text())
    assert wf["permissions"] == {}
    assert wf["jobs"]["gate"]["permissions"] == {"contents": "read", "checks": "write", "pull-requests": "write"}
    uses = [s["uses"] for s in wf["jobs"]["gate"]["steps"] if "uses" in s]
    assert all(len(u.split("@")[1]) == 40 for u in uses if u.startswith("actions/"))
    gate_step = next(s for s in wf["jobs"]["gate"]["steps"] if s.get("id") == "gate")
    assert ("/runner@" in gate_step["uses"]) == runner_mode

    # a second run: nothing changes
    assert main(["init", "--dir", str(repo), *flags]) == 0
    again = capsys.readouterr().out
    assert "written" not in again and again.count("  unchanged  ") == len(files)
    assert _files(repo) == files


def test_init_never_overwrites_without_force(repo, capsys):
    target = repo / ".github" / "asr-gate" / "target.yaml"
    target.parent.mkdir(parents=True)
    target.write_text("kind: sim\n")
    assert main(["init", "--dir", str(repo)]) == 0
    assert "kept  .github/asr-gate/target.yaml (exists with other content; --force to overwrite)" \
        in capsys.readouterr().out
    assert target.read_text() == "kind: sim\n"
    assert main(["init", "--dir", str(repo), "--force"]) == 0
    assert "overwritten  .github/asr-gate/target.yaml" in capsys.readouterr().out
    assert "kind: openai" in target.read_text()


def test_init_chooses_suites_and_refuses_unknown_ones(repo, capsys):
    assert main(["init", "--dir", str(repo), "--suite", "secret-leakage", "--suite", "jailbreak-wrappers"]) == 0
    files = _files(repo)
    assert ".github/asr-gate/suites/secret-leakage.yaml" in files
    assert any(f.startswith(".github/asr-gate/suites/corpus/") for f in files)  # what jailbreak-wrappers imports
    assert "suite: [secret-leakage, jailbreak-wrappers]" in files[".github/workflows/asr-gate.yml"].decode()
    capsys.readouterr()
    assert main(["init", "--dir", str(repo), "--suite", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--suite nope: no such built-in suite" in err
