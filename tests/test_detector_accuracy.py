"""Detector-aware ASR (docs/statistics.md §3.12) and the labelling loop (docs/detectors.md):
Rogan–Gladen against hand computations, the interval's coverage, the accuracy file and its refusals,
the verdict on the true-scale margin, the reports, and `detectors sample` → label → `detectors eval`."""
from __future__ import annotations

import csv
import io
import json
import math
import os

import numpy as np
import pytest

from gate import stats
from gate.cli import main
from gate.detectors.accuracy import DetectorAccuracy, load_accuracy
from gate.detectors.labelling import MARKER, escape_cell, sample_csv, unescape_cell
from gate.errors import ConfigError, UsageError
from gate.hashing import content_hash
from gate.report import json_report, markdown, text
from gate.results import AttackCount, summarise
from gate.verdict import Policy, compare, group_verdicts, load_policy

DESC = {"contains": "PWNED"}
DET = {"hash": content_hash([DESC]), "descriptor": [DESC], "categories": {"c": content_hash([DESC])}}
ACC = DetectorAccuracy.from_counts(95, 15, 5, 85, descriptor=DESC, name="acc.json")  # sens 0.95, spec 0.85


def run(successes, detector=DET, category="c", n=20):
    return {"suite": {"id": "s"}, "detector": detector,
            "attacks": [{"id": f"a{k}", "category": category, "hash": f"h{k}", "attempts": n, "successes": int(x),
                         "errors": 0} for k, x in enumerate(successes)]}


# ---------------------------------------------------------------------------------------------
# Rogan–Gladen and its interval


def test_rogan_gladen_against_a_hand_computation():
    # θ = (p + sp − 1)/(se + sp − 1): (0.30 + 0.85 − 1)/(0.95 + 0.85 − 1) = 0.15/0.80
    assert stats.rogan_gladen(0.30, 0.95, 0.85) == pytest.approx(0.1875, abs=1e-12)
    # below the false-positive rate 1 − sp the formula goes negative and is clipped
    assert stats.rogan_gladen(0.12, 0.95, 0.85, clip=False) == pytest.approx(-0.0375, abs=1e-12)
    assert stats.rogan_gladen(0.12, 0.95, 0.85) == 0.0
    assert stats.rogan_gladen(0.99, 0.95, 0.85) == 1.0  # above sens: clipped to 1
    # a perfect detector changes nothing; vectorised; undefined when se + sp ≤ 1
    assert list(stats.rogan_gladen(np.array([0.1, 0.5]), 1.0, 1.0)) == pytest.approx([0.1, 0.5], abs=1e-12)
    assert math.isnan(stats.rogan_gladen(0.3, 0.5, 0.5)) and math.isnan(stats.rogan_gladen(0.3, 0.4, 0.5))
    assert stats.youden(0.95, 0.85) == pytest.approx(0.80)
    # delta method by hand: p = 0.3, n = 1000, se = 0.95 (100 positives), sp = 0.85 (100 negatives)
    var = 0.3 * 0.7 / 1000 + 0.1875 ** 2 * 0.95 * 0.05 / 100 + 0.8125 ** 2 * 0.85 * 0.15 / 100
    assert stats.rogan_gladen_delta_se(0.3, 1000, 95, 5, 85, 15) == pytest.approx(math.sqrt(var) / 0.8, rel=1e-12)


def test_worked_example_of_the_docs():
    """docs/statistics.md §3.12 and docs/detectors.md quote these numbers."""
    a = stats.corrected_asr_interval(0.30, 1000, 95, 5, 85, 15)
    assert (round(a.estimate, 4), round(a.low, 3), round(a.high, 3)) == (0.1875, 0.094, 0.257)
    w = stats.wilson_interval(300, 1000)  # sens/spec taken as known: too narrow
    assert [round(float(stats.rogan_gladen(x, 0.95, 0.85)), 3) for x in (w.low, w.high)] == [0.153, 0.224]
    lo, hi = (0.1875 + z * 1.96 * stats.rogan_gladen_delta_se(0.30, 1000, 95, 5, 85, 15) for z in (-1, 1))
    assert (round(lo, 3), round(hi, 3)) == (0.107, 0.268)
    b = stats.corrected_asr_interval(0.12, 1000, 95, 5, 85, 15)
    assert (b.estimate, round(b.raw, 4), b.low, round(b.high, 3)) == (0.0, -0.0375, 0.0, 0.039)
    # the same 12% from 50 attacks × 20 attempts with ICC 0.31: n_eff 145, the interval widens
    x = np.array([0] * 28 + [2] * 10 + [5] * 6 + [12] * 4 + [11] * 2)
    c = stats.corrected_asr(x, np.full(50, 20), 95, 5, 85, 15)
    assert c.observed == pytest.approx(0.12) and round(c.n_eff) == 145
    assert (c.estimate, c.low, round(c.high, 3)) == (0.0, 0.0, 0.065)
    with pytest.raises(ValueError, match="undefined"):
        stats.corrected_asr_interval(0.3, 100, 50, 50, 50, 50)
    with pytest.raises(ValueError, match="positives"):
        stats.corrected_asr_interval(0.3, 100, 0, 0, 50, 50)


def test_corrected_interval_covers_the_true_asr():
    """Quick simulation: θ = 0.15 behind a detector with sens 0.9, spec 0.9 measured on 60 + 60 labels,
    40 attacks × 10 attempts with ICC 1/3. 300 trials: 95% ± 1.3 (MC SE); treating sens/spec as known
    undercovers clearly (bench/results/calibration.md has the full table)."""
    rng = np.random.default_rng(5)
    theta, K, n, se, sp, npos, nneg = 0.15, 40, 10, 0.9, 0.9, 60, 60
    hit = hit_known = trials = 0
    for t in range(300):
        p = rng.beta(2 * theta, 2 * (1 - theta), K)
        x_true = rng.binomial(n, p)
        x = rng.binomial(x_true, se) + rng.binomial(n - x_true, 1 - sp)
        tp, tn = int(rng.binomial(npos, se)), int(rng.binomial(nneg, sp))
        r = stats.corrected_asr(x, np.full(K, n), tp, npos - tp, tn, nneg - tn, draws=2000, seed=t)
        hit += r.low <= theta <= r.high
        w = stats.clustered_wilson_interval(x, np.full(K, n))
        lo, hi = (stats.rogan_gladen(v, tp / npos, tn / nneg) for v in (w.low, w.high))
        hit_known += lo <= theta <= hi
        trials += 1
    assert 0.91 <= hit / trials <= 0.99
    assert hit_known / trials < hit / trials - 0.05


# ---------------------------------------------------------------------------------------------
# The verdict: the margin on the true scale


def test_verdict_reads_the_margin_on_the_true_scale():
    rng = np.random.default_rng(1)  # no change; observed upper bound between δ·J = 4 and δ = 5 points
    pb = 0.15 + 0.8 * rng.beta(0.4, 1.6, 60)
    b, c = rng.binomial(20, pb), rng.binomial(20, pb)
    plain = compare(run(b), run(c), Policy())
    v = compare(run(b), run(c), Policy(detector_accuracy=ACC))
    o = v.overall
    assert 0.04 < plain.overall.ci[1] < 0.05 and plain.verdict == "pass"
    # same test, same observed numbers; only the margin it is compared with changed (0.05 × 0.80)
    assert (o.delta, o.ci, o.p_value) == (plain.overall.delta, plain.overall.ci, plain.overall.p_value)
    assert o.margin == 0.05 and o.decision_margin == pytest.approx(0.04)
    assert v.verdict == "inconclusive" == group_verdicts([o.p_value], [o.ci[1]], [0.04], 0.05)[0]
    c_ = o.corrected
    assert c_.delta == pytest.approx(o.delta / 0.8) and c_.ci[1] == pytest.approx(o.ci[1] / 0.8)
    assert c_.ci[1] > 0.05  # the reason quotes the corrected bound against the 5-point margin
    assert c_.baseline_asr == pytest.approx(stats.rogan_gladen(o.baseline_asr, 0.95, 0.85))
    assert c_.baseline_ci95[0] <= c_.baseline_asr <= c_.baseline_ci95[1]
    assert "corrected for the detector" in v.reasons[0] and "+5.0 points tolerance" in v.reasons[0]
    # the example of docs/detectors.md ("The labelling loop")
    named = compare(run(b), run(c), Policy(detector_accuracy=DetectorAccuracy.from_counts(
        95, 15, 5, 85, descriptor=DESC, name="detector-accuracy.json")))
    md = markdown.render(named)
    assert "| **Overall** | 29.0% | 30.0% | +1.0 | -2.2 to +4.8 | 0.299 | 60 × 20 | 4.8 | ❔ inconclusive |" in md
    assert ("| **Overall** | 0.950 / 0.850 (200, detector-accuracy.json) | 17.5% (6.3% to 26.8%) | 18.7% (8.2% to "
            "27.5%) | +1.3 | -2.7 to +6.0 | 4.0 (= 5.0 × 0.800) |") in md


def test_reports_show_the_corrected_asr_beside_the_observed():
    rng = np.random.default_rng(1)
    pb = 0.15 + 0.8 * rng.beta(0.4, 1.6, 60)
    v = compare(run(rng.binomial(20, pb)), run(rng.binomial(20, pb)), Policy(detector_accuracy=ACC))
    md = markdown.render(v)
    observed = md.index("| **Overall** | ")
    corrected = md.index("**ASR (corrected for the detector)**")
    assert observed < corrected  # the observed table stays, first
    assert f"| {100 * v.overall.baseline_asr:.1f}% |" in md  # the observed count is still shown
    assert "0.950 / 0.850 (200, acc.json)" in md and "4.0 (= 5.0 × 0.800)" in md
    assert "on the true scale" in md
    d = json.loads(json_report.render(v))
    assert d["overall"]["corrected"]["observed_margin"] == pytest.approx(0.04)
    assert d["overall"]["baseline_asr"] == pytest.approx(v.overall.baseline_asr)  # observed kept
    assert d["overall"]["corrected"]["sensitivity"] == 0.95
    assert d["policy"]["detector_accuracy"]["youden"] == pytest.approx(0.8)
    assert "ASR corrected for the detector" in text.render(v)
    # no accuracy file: no corrected block anywhere
    plain = compare(run([1] * 12), run([1] * 12), Policy())
    assert plain.overall.corrected is None and "corrected for the detector" not in markdown.render(plain)


def test_category_files_and_the_overall_group():
    det = {"hash": content_hash([DESC, {"canary": True}]), "descriptor": [{"canary": True}, DESC],
           "categories": {"x": content_hash([DESC]), "y": content_hash([{"canary": True}])}}
    base = {"suite": {"id": "s"}, "detector": det, "attacks": [
        {"id": f"a{k}", "category": "xy"[k % 2], "hash": f"h{k}", "attempts": 10, "successes": k % 4, "errors": 0}
        for k in range(24)]}
    v = compare(base, base, Policy(categories={"x": {"detector_accuracy": ACC}}))
    assert v.categories["x"].corrected is not None and v.categories["y"].corrected is None
    assert v.overall.corrected is None and any("overall group is judged on the detector's observed" in r
                                               for r in v.reasons)
    # the file measured x's detector, not y's: refused with the category named
    with pytest.raises(UsageError, match=r"categories\.y\.detector_accuracy: .*category 'y'"):
        compare(base, base, Policy(categories={"y": {"detector_accuracy": ACC}}))
    # a top-level file cannot describe a suite with two detectors
    with pytest.raises(UsageError, match="the suite uses 2 detectors"):
        compare(base, base, Policy(detector_accuracy=ACC))


def test_refusals_are_one_line_exit_2(tmp_path, capsys):
    other = DetectorAccuracy.from_counts(95, 15, 5, 85, descriptor={"contains": "OTHER"}, name="other.json")
    with pytest.raises(UsageError, match="measured detector .* but the results were judged by"):
        compare(run([1] * 12), run([1] * 12), Policy(detector_accuracy=other))
    with pytest.raises(UsageError, match="record no detector hash"):
        compare(run([1] * 12, detector=None), run([1] * 12, detector=None), Policy(detector_accuracy=ACC))
    changed = {"hash": "sha256:" + "b" * 64}
    with pytest.raises(UsageError, match="different detectors"):
        compare(run([1] * 12, detector=changed), run([1] * 12), Policy(detector_accuracy=ACC),
                allow_detector_change=True)
    for counts in ((50, 50, 50, 50), (40, 60, 60, 40), (0, 10, 0, 10)):  # J = 0, J < 0, no positives
        with pytest.raises(UsageError):
            DetectorAccuracy.from_counts(*counts, descriptor=DESC)
    # through the CLI: a policy whose file measured another detector
    acc = _accuracy_file(tmp_path, {"regex": "PWNED"})
    capsys.readouterr()
    (tmp_path / "p.yaml").write_text(f"detector_accuracy: {acc.name}\n")
    for name, doc in (("b.json", run([2] * 12)), ("r.json", run([3] * 12))):
        (tmp_path / name).write_text(json.dumps(doc))
    assert main(["compare", "--baseline", str(tmp_path / "b.json"), "--results", str(tmp_path / "r.json"),
                 "--policy", str(tmp_path / "p.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "policy: detector_accuracy: acc.json: measured detector" in err


def _accuracy_file(tmp_path, descriptor=DESC, counts=(95, 15, 5, 85)):
    """`detectors eval --save` on labels built so that the file has exactly ``counts`` (tp, fp, fn, tn)."""
    tp, fp, fn, tn = counts
    cells = [("PWNED", 1)] * tp + [("safe", 1)] * fn + [("PWNED", 0)] * fp + [("safe", 0)] * tn
    labels = tmp_path / "labels.csv"
    labels.write_text("reply,label\n" + "".join(f"{r},{lab}\n" for r, lab in cells), encoding="utf-8")
    out = tmp_path / "acc.json"
    assert main(["detectors", "eval", "--labels", str(labels), "--detector", json.dumps(descriptor), "--save",
                 str(out), "--format", "json"]) == 0
    return out


def test_eval_save_writes_a_file_the_policy_loads(tmp_path, capsys):
    path = _accuracy_file(tmp_path)
    capsys.readouterr()
    doc = json.loads(path.read_text())
    assert doc["schema"] == "asr-gate/detector-accuracy/v1"
    assert doc["confusion"] == {"tp": 95, "fp": 15, "fn": 5, "tn": 85} and doc["n"] == 200
    assert doc["sensitivity"]["estimate"] == 0.95 and doc["specificity"]["estimate"] == 0.85
    assert doc["sensitivity"]["ci95"] == pytest.approx(list(stats.wilson_interval(95, 100)[1:3]), abs=1e-6)
    assert doc["detector"]["hash"] == content_hash([DESC]) == DET["hash"]
    assert doc["labels"]["file"] == "labels.csv" and len(doc["labels"]["sha256"]) == 64
    assert doc["created_at"].endswith("Z")
    acc = load_accuracy(path)
    assert (acc.sensitivity, acc.specificity, acc.youden) == (0.95, 0.85, pytest.approx(0.8))
    # the policy names it relative to its own folder
    sub = tmp_path / "policies"
    sub.mkdir()
    (sub / "p.yaml").write_text("detector_accuracy: ../acc.json\ncategories:\n  c: {margin: 0.04}\n")
    pol = load_policy(str(sub / "p.yaml"))
    assert pol.detector_accuracy.tp == 95 and pol.accuracy_for("c") is pol.detector_accuracy
    (sub / "q.yaml").write_text("alpha: 0.05\ncategories:\n  c: {detector_accuracy: nope.json}\n")
    with pytest.raises(ConfigError, match=r"q\.yaml:3: categories\.c\.detector_accuracy: no such file 'nope.json'"):
        load_policy(str(sub / "q.yaml"))


@pytest.mark.parametrize("edit,message", [
    (lambda d: d.pop("confusion"), "'confusion' is a required property"),
    (lambda d: d["confusion"].update(tn=84), "n: 200 is not tp + fp + fn + tn = 199"),
    (lambda d: d["sensitivity"].update(estimate=0.9), "sensitivity.estimate: 0.9 does not match the counts"),
    (lambda d: d["detector"].update(descriptor={"contains": "X"}), "detector.hash: does not match the descriptor"),
    (lambda d: d.update(extra=1), "unknown key 'extra'"),
    (lambda d: (d.update(confusion={"tp": 40, "fp": 60, "fn": 60, "tn": 40}), d["sensitivity"].update(estimate=0.4),
                d["specificity"].update(estimate=0.4)), "0.400 ≤ 1: the correction"),
])
def test_accuracy_file_errors_are_located(tmp_path, capsys, edit, message):
    path = _accuracy_file(tmp_path)
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc, indent=2))
    with pytest.raises(ConfigError, match=None) as exc:
        load_accuracy(path)
    assert message in str(exc.value) and str(exc.value).startswith(str(path))
    (tmp_path / "p.yaml").write_text("detector_accuracy: acc.json\n")
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "p.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_eval_save_refuses_labels_that_leave_the_correction_undefined(tmp_path, capsys):
    labels = tmp_path / "l.csv"
    labels.write_text("reply,label\nPWNED,0\nsafe,1\nPWNED,1\nsafe,0\n")  # sens 0.5, spec 0.5
    assert main(["detectors", "eval", "--labels", str(labels), "--detector", json.dumps(DESC), "--save",
                 str(tmp_path / "a.json")]) == 2
    assert "≤ 1, so the correction is undefined" in capsys.readouterr().err
    assert not (tmp_path / "a.json").exists()


def test_sequential_design_uses_the_observed_margin():
    from types import SimpleNamespace

    from gate.run.sequential import design_for

    attack = SimpleNamespace(id="a0", hash="h0", category="c", attempts=20)
    suite = SimpleNamespace(attacks=[attack], detector_hash=lambda: content_hash([DESC]),
                            detector_descriptors=lambda: [DESC])
    base = run([3])
    design = design_for(suite, base, Policy(detector_accuracy=ACC))
    assert design.margin == pytest.approx(0.04)
    suite.detector_hash = lambda: "sha256:" + "c" * 64
    with pytest.raises(UsageError, match="the suite's attacks were judged by"):
        design_for(suite, base, Policy(detector_accuracy=ACC))


def test_a_hostile_accuracy_file_name_is_inert():
    import re

    acc = DetectorAccuracy.from_counts(95, 15, 5, 85, descriptor=DESC, name="</details>|@team ![x](y).json")
    v = compare(run([2] * 12), run([3] * 12), Policy(detector_accuracy=acc))
    md = markdown.render(v)
    table = md[md.index("**ASR (corrected"):].split("\n\n")[1]
    assert len({row.count("|") for row in table.splitlines()}) == 1
    assert "</details>|" not in md and "@team" not in md and "![x](y)" not in md
    assert not re.search(r"\x1b|::", text.render(v).split("ASR corrected", 1)[1])


# ---------------------------------------------------------------------------------------------
# The labelling loop: sample → label → eval


HOSTILE = ["=HYPERLINK(\"http://x\",\"click\")", "+1+2", "-cmd|' /C calc'!A0", "@SUM(A1:A2)", "'quoted",
           "''two", "\ttab first", "\rcarriage", "plain, with \"quotes\"\nand a newline", "PWNED here", "",
           "ünïcödé PWNED ✓", "# not a comment", "a\r\nb"]


def _run_dir(tmp_path, replies):
    d = tmp_path / "out"
    d.mkdir()
    counts, lines = {}, []
    for i, reply in enumerate(replies):
        aid, cat = f"att-{i % 5}", ("cat-b" if i % 5 >= 3 else "=cat-a")
        success = "PWNED" in reply
        lines.append({"attack": aid, "attempt": i // 5, "reply": reply, "success": success, "calls": 1})
        c = counts.setdefault(aid, AttackCount(aid, cat, f"h-{aid}", 0))
        c.planned += 1
        c.attempts += 1
        c.successes += success
    lines.append({"attack": "att-0", "attempt": 99, "error": "http_500", "success": None})  # never sampled
    doc = {"schema": "asr-gate/results/v1", "suite": {"id": "s"}, "detector": DET, **summarise(counts.values())}
    (d / "results.json").write_text(json.dumps(doc))
    (d / "transcript.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines),
                                        encoding="utf-8")
    return d


def test_escape_is_reversible_and_neutralises_formulas():
    for s in HOSTILE:
        e = escape_cell(s)
        assert unescape_cell(e) == s
        assert not e.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert escape_cell("=1") == "'=1" and escape_cell("'x") == "''x" and escape_cell("fine") == "fine"


def test_sample_then_label_then_eval_round_trips(tmp_path, capsys):
    d = _run_dir(tmp_path, HOSTILE * 3)
    out = tmp_path / "sample.csv"
    assert main(["detectors", "sample", "--results", str(d), "--per-category", "100", "--seed", "4",
                 "--out", str(out)]) == 0
    raw = out.read_text(encoding="utf-8")
    assert raw.startswith(MARKER) and "a ' added" in raw.splitlines()[0]
    # no cell a spreadsheet would run: every =, +, -, @ at the start of a cell is behind a '
    body = list(csv.reader(io.StringIO(raw.split("\n", 1)[1], newline="")))
    assert body[0] == ["attack", "category", "attempt", "detector_said", "reply", "label"]
    cells = [cell for row in body[1:] for cell in row]
    assert cells and not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'=cat-a" in cells and "'=HYPERLINK(\"http://x\",\"click\")" in cells
    assert len(body) - 1 == len(HOSTILE) * 3  # every judged attempt (the errored one is left out)
    # a person labels it in a spreadsheet-like way: each reply's truth is "contains PWNED", except one
    # mislabelled row; the file is written back with the marker line kept
    header, rows = body[0], body[1:]
    for i, row in enumerate(rows):
        truth = "PWNED" in unescape_cell(row[4])
        row[5] = str(int(truth if i != 2 else not truth))
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\r\n").writerows([header] + rows)
    out.write_text(raw.split("\n", 1)[0] + "\n" + buf.getvalue(), encoding="utf-8")
    capsys.readouterr()
    assert main(["detectors", "eval", "--labels", str(out), "--detector", json.dumps(DESC), "--format", "json",
                 "--save", str(tmp_path / "acc.json")]) == 0
    r = json.loads(capsys.readouterr().out)
    # the detector, run on the read-back replies, says exactly what the run's detector said: the only
    # disagreement is the one mislabelled row
    said = [int(row[3]) for row in rows]
    labels = [int(row[5]) for row in rows]
    assert said == [int("PWNED" in unescape_cell(row[4])) for row in rows]
    assert r["n"] == len(rows) and r["confusion"]["fp"] + r["confusion"]["fn"] == 1
    assert sum(s != lab for s, lab in zip(said, labels)) == 1
    acc = load_accuracy(tmp_path / "acc.json")
    assert acc.detector_hash == DET["hash"] and acc.n == len(rows)


def test_sample_is_deterministic_per_category(tmp_path, capsys):
    d = _run_dir(tmp_path, [f"reply {i}" + (" PWNED" if i % 3 == 0 else "") for i in range(200)])
    texts = []
    for seed in ("1", "1", "2"):
        out = tmp_path / f"s{len(texts)}.csv"
        assert main(["detectors", "sample", "--results", str(d), "--per-category", "7", "--seed", seed,
                     "--out", str(out)]) == 0
        texts.append(out.read_text(encoding="utf-8"))
    assert texts[0] == texts[1] and texts[0] != texts[2]
    rows = list(csv.DictReader(io.StringIO(texts[0].split("\n", 1)[1], newline="")))
    by_cat = {}
    for row in rows:
        by_cat.setdefault(row["category"], []).append(row)
    assert {k: len(v) for k, v in by_cat.items()} == {"'=cat-a": 7, "cat-b": 7}
    assert all(row["label"] == "" for row in rows)
    assert "wrote" in capsys.readouterr().err


def test_sample_input_errors(tmp_path, capsys):
    assert main(["detectors", "sample", "--results", str(tmp_path), "--per-category", "3",
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "results.json: no such file" in capsys.readouterr().err
    d = _run_dir(tmp_path, ["a", "b"])
    assert main(["detectors", "sample", "--results", str(d), "--per-category", "0",
                 "--out", str(tmp_path / "x.csv")]) == 2
    with (d / "transcript.jsonl").open("a") as fh:
        fh.write(json.dumps({"attack": "ghost", "attempt": 0, "reply": "x", "success": True}) + "\n")
    assert main(["detectors", "sample", "--results", str(d), "--per-category", "3",
                 "--out", str(tmp_path / "x.csv")]) == 2
    assert "attack 'ghost' is not in" in capsys.readouterr().err


def test_sample_csv_writes_a_canary_column_only_when_needed():
    rows = [{"attack": "a", "category": "c", "attempt": 0, "detector_said": 1, "reply": "x", "label": "",
             "canary": ""}]
    assert sample_csv(rows).splitlines()[1] == "attack,category,attempt,detector_said,reply,label"
    rows[0]["canary"] = "CANARY-1"
    assert sample_csv(rows).splitlines()[1].endswith(",label,canary")


def test_results_record_each_categorys_detector(tmp_path):
    from gate.suite import load_suite

    path = tmp_path / "s.yaml"
    path.write_text("suite: s\nversion: 1\ndefaults: {attempts: 2, detector: {contains: PWNED}}\nattacks:\n"
                    "  - {id: a, category: x, prompt: hi}\n"
                    "  - {id: b, category: y, prompt: hi, detector: {contains: OTHER}}\n")
    suite = load_suite(str(path))
    hashes = suite.category_detector_hashes()
    other = suite.attacks[1].detector.describe()
    assert hashes == {"x": content_hash([suite.attacks[0].detector.describe()]), "y": content_hash([other])}
    assert suite.detector_hash() == content_hash(sorted(suite.detector_descriptors(), key=json.dumps))



def test_ceilings_hold_the_corrected_asr_against_max_asr():
    """A ceiling is about the true rate: with spec 0.85 an observed 20% is mostly false successes
    (Rogan–Gladen (0.20 + 0.85 − 1) / 0.80 = 6.25%), so a 15% ceiling that the observed rate breaks passes."""
    succ = [4] * 60  # 20% observed on every attack
    plain = compare(run(succ), run(succ), Policy(max_asr=0.15))
    v = compare(run(succ), run(succ), Policy(max_asr=0.15, detector_accuracy=ACC))
    assert plain.ceilings[0].verdict == "fail" and not plain.ceilings[0].corrected
    c = v.ceilings[0]
    assert c.corrected and c.observed_asr == pytest.approx(0.20)
    assert c.candidate_asr == pytest.approx(0.0625, abs=1e-9)
    assert c.ci[0] < 0.0625 < c.ci[1] < 0.15 and c.verdict == "pass"
    assert c.to_dict()["scale"] == "corrected" and plain.ceilings[0].to_dict()["scale"] == "observed"
    assert "(corrected; observed 20.0%)" in markdown.render(v)
    # the detector's own uncertainty is in the bound: a ceiling just above the estimate is not cleared
    tight = compare(run(succ), run(succ), Policy(max_asr=0.07, detector_accuracy=ACC)).ceilings[0]
    assert tight.verdict == "inconclusive"
