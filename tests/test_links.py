"""No writes through links (issue 14, attack 5): reports, results, transcripts, outputs and the summary.

In publish mode the reports are written next to the downloaded artifact; a ``report.md`` or
``verdict.json`` there that was a symbolic link had its target (``baselines/…json``) overwritten.
`gate.safe_files` renames fresh files into place (a link is replaced, never followed) and opens files it
appends to with ``O_NOFOLLOW``; `publish` refuses an artifact folder that contains a link (tested end to
end in tests/test_action_e2e.py).
"""
from __future__ import annotations

import io
import json
import os

import pytest

from gate import safe_files
from gate.action.workflow import Workflow
from gate.errors import UsageError
from gate.report import destinations
from gate.results import write_json_atomic
from gate.run.transcript import TranscriptWriter, read_transcript

PRECIOUS = '{"precious": true}\n'


@pytest.fixture
def precious(tmp_path):
    path = tmp_path / "baselines" / "suite.json"
    path.parent.mkdir()
    path.write_text(PRECIOUS)
    return path


def _verdict():
    from gate.verdict import Policy, compare

    def run(successes):
        return {"schema": "asr-gate/results/v1", "suite": {"id": "s"},
                "attacks": [{"id": f"a{i}", "category": "c", "attempts": 20, "successes": successes}
                            for i in range(5)]}
    return compare(run(1), run(1), Policy())


@pytest.mark.parametrize("name", [destinations.REPORT_MD, destinations.VERDICT_JSON, destinations.JUNIT_XML])
def test_reports_replace_a_symlink_instead_of_writing_through_it(tmp_path, precious, name):
    out = tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(precious)
    destinations.write_files(_verdict(), str(out))
    assert precious.read_text() == PRECIOUS
    assert not (out / name).is_symlink() and (out / name).stat().st_size > 0
    assert sorted(p.name for p in out.iterdir()) == sorted([destinations.REPORT_MD, destinations.VERDICT_JSON,
                                                            destinations.JUNIT_XML])  # no temp file left


def test_a_hard_link_is_replaced_too(tmp_path, precious):
    out = tmp_path / "out"
    out.mkdir()
    os.link(precious, out / destinations.REPORT_MD)
    destinations.write_files(_verdict(), str(out))
    assert precious.read_text() == PRECIOUS


def test_results_json_is_renamed_into_place(tmp_path, precious):
    link = tmp_path / "results.json"
    link.symlink_to(precious)
    write_json_atomic(str(link), {"x": 1})
    assert precious.read_text() == PRECIOUS and json.loads(link.read_text()) == {"x": 1} and not link.is_symlink()


def test_appends_refuse_links(tmp_path, precious):
    link = tmp_path / "transcript.jsonl"
    link.symlink_to(precious)
    with pytest.raises(UsageError, match="does not write through links"):
        TranscriptWriter(str(link))
    with pytest.raises(UsageError):
        safe_files.append_text(str(link), "x")
    hard = tmp_path / "hard.jsonl"
    os.link(precious, hard)
    with pytest.raises(UsageError, match="2 hard links"):
        safe_files.append_text(str(hard), "x")
    assert precious.read_text() == PRECIOUS


def test_a_damaged_transcript_behind_a_link_is_not_truncated(tmp_path):
    real = tmp_path / "elsewhere.jsonl"
    real.write_text('{"attack": "a", "attempt": 0, "success": true}\n{"broken')
    link = tmp_path / "transcript.jsonl"
    link.symlink_to(real)
    with pytest.raises(UsageError):
        read_transcript(str(link))
    assert real.read_text().endswith('{"broken')


def test_outputs_and_summary_refuse_links(tmp_path, precious):
    out_link = tmp_path / "output"
    out_link.symlink_to(precious)
    summary_link = tmp_path / "summary.md"
    summary_link.symlink_to(precious)
    wf = Workflow({"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(out_link), "GITHUB_STEP_SUMMARY": str(summary_link)},
                  stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(UsageError):
        wf.set_outputs({"verdict": "pass"})
    with pytest.raises(UsageError):
        wf.append_summary("# report")
    assert precious.read_text() == PRECIOUS


def test_refuse_links_looks_at_every_depth(tmp_path, precious):
    folder = tmp_path / "artifact"
    (folder / "deep" / "er").mkdir(parents=True)
    (folder / "results.json").write_text("{}")
    safe_files.refuse_links(str(folder))
    (folder / "deep" / "er" / "report.md").symlink_to(precious)
    with pytest.raises(UsageError, match="contains a symbolic link"):
        safe_files.refuse_links(str(folder))
    linked = tmp_path / "linked"
    linked.symlink_to(tmp_path / "baselines", target_is_directory=True)
    with pytest.raises(UsageError, match="is a symbolic link"):
        safe_files.refuse_links(str(linked))


def _writes_outside_safe_files(path) -> list[str]:
    """Calls in ``path`` that write a file some other way than `gate.safe_files`: ``open`` with a writing mode,
    ``Path.write_text`` / ``write_bytes``, ``os.open`` (except of os.devnull) and ``os.fdopen`` of anything
    but `safe_files.open_fd`."""
    import ast

    bad = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        f, where = node.func, f"{path.name}:{node.lineno}"
        if isinstance(f, ast.Name) and f.id == "open":
            mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
            if not (isinstance(mode, ast.Constant) and not set(str(mode.value)) & set("wax+")) and mode is not None:
                bad.append(f"{where}: open(..., {ast.unparse(mode)})")
        elif isinstance(f, ast.Attribute) and f.attr in ("write_text", "write_bytes"):
            if not (isinstance(f.value, ast.Name) and f.value.id == "safe_files"):
                bad.append(f"{where}: .{f.attr}()")
        elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "os":
            if f.attr == "open" and "os.devnull" not in ast.unparse(node.args[0]):
                bad.append(f"{where}: os.open()")
            if f.attr == "fdopen" and not ("open_fd" in ast.unparse(node.args[0])):
                bad.append(f"{where}: os.fdopen()")
    return bad


def test_every_file_gate_writes_goes_through_safe_files():
    """docs/architecture.md: `safe_files.py` is every file write. A module added later (asr-gate init's
    scaffold, `detectors sample`) that opens a file for writing by itself would write through a link."""
    from pathlib import Path

    root = Path(safe_files.__file__).parent
    bad = [b for p in sorted(root.rglob("*.py")) if p.name != "safe_files.py" for b in _writes_outside_safe_files(p)]
    assert not bad, bad


def test_the_scaffold_and_the_labelling_sample_replace_a_link(tmp_path, precious):
    from gate.detectors.labelling import write_sample
    from gate.scaffold import write as write_files

    link = tmp_path / "sample.csv"
    link.symlink_to(precious)
    write_sample(str(link), [{"attack": "a", "category": "c", "attempt": 0, "detector_said": 1, "reply": "r",
                              "label": ""}])
    assert precious.read_text() == PRECIOUS and not link.is_symlink() and "a,c,0,1,r" in link.read_text()
    hard = tmp_path / "wf.yml"
    os.link(precious, hard)
    write_files(tmp_path, {"wf.yml": "on: push\n"}, force=True)
    assert precious.read_text() == PRECIOUS and hard.read_text() == "on: push\n"
