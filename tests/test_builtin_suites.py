"""The built-in suites under suites/: each validates with the CLI, runs on the simulated target, and
is this project's own text (no file in the repository is a copy of a shared dataset file)."""
from __future__ import annotations

import glob
import hashlib
import os

import pytest

from gate.cli import main
from gate.run.runner import RunOptions, run_suite
from gate.suite import load_suite
from gate.targets import build_target

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITES = sorted(glob.glob(os.path.join(REPO, "suites", "*.yaml")))
DATA = os.path.realpath(os.path.join(REPO, "..", "shared", "data"))

EXPECTED = {"prompt-injection", "indirect-injection", "system-prompt-extraction", "secret-leakage",
            "jailbreak-wrappers", "encoding-transforms", "over-refusal"}


def test_the_library_is_complete():
    assert {os.path.basename(p)[:-5] for p in SUITES} == EXPECTED


@pytest.mark.parametrize("path", SUITES, ids=lambda p: os.path.basename(p))
def test_validates_from_any_directory(path, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("ASR_GATE_DATA_ROOTS", raising=False)
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)  # imports next to the suite work without configuration
    assert main(["validate", path]) == 0
    assert capsys.readouterr().out.startswith(f"ok: {path}: suite '")


@pytest.mark.parametrize("path", SUITES, ids=lambda p: os.path.basename(p))
def test_runs_on_the_simulated_target(path, tmp_path):
    suite = load_suite(path)
    assert suite.id == os.path.basename(path)[:-5]
    assert len(suite.attacks) >= 15 and suite.categories
    assert all(c.get("description") for c in suite.categories.values())
    used = {a.category for a in suite.attacks}
    assert used == set(suite.categories), "every declared category has attacks"
    target = build_target({"kind": "sim", "seed": 5, "default_rate": 0.5, "concurrency": 4}, source="<test>")
    results = run_suite(suite, target, str(tmp_path), RunOptions(attempts=2, progress=None))
    totals = results["totals"]
    assert totals["attempts"] == 2 * len(suite.attacks) and totals["errors"] == 0
    assert 0 < totals["successes"] < totals["attempts"]  # both outcomes were synthesised and judged
    suite.close()


def test_canary_suites_use_fresh_tokens_and_over_refusal_counts_refusals():
    for name in ("prompt-injection", "indirect-injection", "system-prompt-extraction", "secret-leakage"):
        suite = load_suite(os.path.join(REPO, "suites", f"{name}.yaml"))
        canary = [a for a in suite.attacks if "canary" in str(a.detector.describe())]
        assert canary and all(a.uses_canary for a in canary), name
    over = load_suite(os.path.join(REPO, "suites", "over-refusal.yaml"))
    from gate.detectors.refusal import RULES_VERSION

    assert {str(a.detector.describe()) for a in over.attacks} == {str({"not": {"refusal": {"rules": RULES_VERSION}}})}
    from gate.detectors.interface import DetectContext

    det = over.attacks[0].detector
    assert det.detect("I'm sorry, but I can't help with that.", DetectContext()).success
    assert not det.detect("Run `pkill -P <pid>` to kill the children of a process.", DetectContext()).success


def test_jailbreak_wrappers_cover_the_classic_templates():
    suite = load_suite(os.path.join(REPO, "suites", "jailbreak-wrappers.yaml"))
    templates = {t.split(":", 1)[1] for a in suite.attacks for t in a.tags if t.startswith("template:")}
    assert {"plain", "roleplay", "hypothetical", "prefix-injection", "refusal-suppression"} <= templates
    enc = load_suite(os.path.join(REPO, "suites", "encoding-transforms.yaml"))
    transforms = {t.split(":", 1)[1] for a in enc.attacks for t in a.tags if t.startswith("transform:")}
    assert {"base64", "rot13", "leetspeak", "homoglyphs", "split4", "reverse"} <= transforms


@pytest.mark.skipif(not os.path.isdir(DATA), reason=f"shared datasets not present at {DATA}")
def test_no_shared_dataset_file_is_copied_into_the_repository():
    def digest(path: str) -> str:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()

    shared = {digest(p) for p in glob.glob(os.path.join(DATA, "**", "*"), recursive=True)
              if os.path.isfile(p) and not p.endswith("SOURCE.md")}
    skip = {".git", ".venv", "node_modules", ".pytest_cache", ".ruff_cache", "asr_gate.egg-info"}
    copies = []
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [x for x in dirs if x not in skip]
        for f in files:
            p = os.path.join(root, f)
            if os.path.getsize(p) > 200 and digest(p) in shared:
                copies.append(os.path.relpath(p, REPO))
    assert not copies
