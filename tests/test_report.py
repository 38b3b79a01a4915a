"""Renderers of a Verdict, and the escaping of untrusted text (attack ids, category names)."""
from __future__ import annotations

import html
import json
import re
import unicodedata
import xml.etree.ElementTree as ET

import pytest

from gate.verdict import Policy, compare
from gate.report import json_report, junit, markdown, text
from gate.report.escape import command_escape, log_escape, md_escape, mermaid_label, xml_text

HOSTILE = [
    "@org/team",
    "@octocat please look",
    "![x](http://e)",
    "[click](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "</details><script>x</script>",
    "a|b\nc",
    "```",
    "`code` and ``more``",
    "::error::x",
    "::add-mask::secret",
    "line1\r\n::warning file=a::boom",
    "zero\u200bwidth\u200d\ufeffjoin",
    "rtl \u202eevil\u202c \u2066iso\u2069",
    ":white_check_mark: looks fine",
    "www.evil.example/path",
    "https://evil.example",
    "mail me a@b.example",
    "see #1 and org/repo#2",
    "$\\color{red}{PASS}$",
    "*bold* _em_ ~~strike~~",
    "- list\n# heading",
    "1. ordered",
    "&lt;b&gt; entity &amp;",
    "\\|escaped pipe",
    "%0A::error::x",
    "\x1b[2J\x1b[31mred",
]

_INVISIBLE = {"Cc", "Cf", "Zl", "Zp"}


def _visible_text(md: str) -> str:
    """Roughly what a reader sees from one escaped fragment: entities decoded."""
    return html.unescape(md)


@pytest.mark.parametrize("s", HOSTILE)
def test_md_escape_is_inert(s):
    out = md_escape(s, max_len=200)
    assert "\n" not in out and "\r" not in out
    # no raw markup characters survive; a raw ':' only before a space or at the end ("Note: ...")
    for ch in "<>[]`|*~\\!$&@#":
        assert ch not in out.replace("&#", "").replace(";", "") or ch in "&#", (ch, out)
    # a raw '_' only inside a word, where CommonMark never reads it as emphasis
    assert not re.search(r"(?<![^\W_])_|_(?![^\W_])", out.replace("&#95;", "")), out
    assert not re.search(r":(?!\s|$)", out.replace("&#", "").replace(";", "")), out
    assert not re.search(r"&(?!#\d+;)", out)          # every & starts a numeric entity we wrote
    assert "](" not in out and "![" not in out and "http://" not in out and "https://" not in out
    assert not re.search(r"(?i)www\.", out)
    assert not out.lstrip().startswith(("-", "+", "#", "1.", ">"))
    # no mention / issue reference: @ and # are always followed by a zero-width space
    decoded = _visible_text(out)
    assert not re.search(r"@[A-Za-z0-9]", decoded) and not re.search(r"#[0-9A-Za-z]", decoded)
    # no emoji shortcode even once entities are decoded (GitHub replaces them in the rendered text)
    assert not re.search(r":[A-Za-z0-9_+-]+:", decoded), out
    # no invisible or control characters except the zero-width spaces we inserted after @ / # / :
    for ch in decoded.replace("@\u200b", "@").replace("#\u200b", "#").replace(":\u200b", ":"):
        assert unicodedata.category(ch) not in _INVISIBLE, (repr(ch), out)


def test_md_escape_keeps_text_readable_and_shows_hidden_chars():
    assert md_escape("injection-basic v2.1 (50%)") == "injection-basic v2.1 (50%)"
    # prose colons stay readable in the raw Markdown; only colons GitHub could read as markup are encoded
    assert md_escape("Note: the run stopped: 3 attacks") == "Note: the run stopped: 3 attacks"
    assert md_escape("ends with a colon:") == "ends with a colon:"
    assert md_escape("http://e") == "http&#58;//e"
    assert md_escape(":x: ok") == "&#58;&#8203;x: ok"
    assert md_escape("prompt_injection") == "prompt_injection"
    assert md_escape("_em_ a_ _b") == "&#95;em&#95; a&#95; &#95;b"
    assert md_escape("a\u202eb") == "a⟨U+202E⟩b"
    assert md_escape("x" * 500, max_len=10) == "x" * 9 + "…"
    assert html.unescape(md_escape("<b>&</b>")) == "<b>&</b>"


@pytest.mark.parametrize("s", HOSTILE)
def test_log_escape_defuses_workflow_commands(s):
    out = log_escape(s)
    assert "\n" not in out and "\r" not in out and "\x1b" not in out
    assert "::" not in out and "##[" not in out
    assert not any(unicodedata.category(ch) in _INVISIBLE for ch in out)


def test_command_escape_follows_runner_rules():
    assert command_escape("50%\nx\r") == "50%25%0Ax%0D"
    assert command_escape("a:b,c", property=True) == "a%3Ab%2Cc"


@pytest.mark.parametrize("s", HOSTILE + ['"quoted"', "a]b[c", "%%{init: {}}%%", 'x"]\n  bar [1]'])
def test_mermaid_label_is_whitelisted(s):
    out = mermaid_label(s)
    assert re.fullmatch(r"[A-Za-z0-9 _\-.+/]{1,24}", out)


def test_xml_text_drops_invalid_characters():
    assert xml_text("a\x00b\x1bc\ud800") == "a\ufffdb\ufffdc\ufffd"


# ---------------------------------------------------------------------------------------------
# A verdict full of hostile names
# ---------------------------------------------------------------------------------------------

def _hostile_runs():
    base, cand = [], []
    cats = ["@org/team", "</details>", "a|b\nc", ":x: jail"]
    for ci, cat in enumerate(cats):
        for k in range(12):
            aid = f"{HOSTILE[(ci * 12 + k) % len(HOSTILE)]}#{ci}-{k}"
            b = (k * 3 + ci) % 8
            c = min(20, b + (9 if cat == "</details>" else 0))
            base.append({"id": aid, "category": cat, "hash": f"h{ci}-{k}", "attempts": 20, "successes": b})
            cand.append({"id": aid, "category": cat, "hash": f"h{ci}-{k}", "attempts": 20, "successes": c})
    cand.append({"id": "![new](http://e) @everyone", "category": "@org/team", "hash": "n", "attempts": 20,
                 "successes": 3})
    det = {"hash": "sha256:" + "a" * 64}
    return ({"suite": {"id": "suite @x <b>"}, "detector": det, "attacks": base},
            {"suite": {"id": "suite @x <b>"}, "detector": det, "attacks": cand})


@pytest.fixture(scope="module")
def hostile_verdict():
    b, c = _hostile_runs()
    return compare(b, c, Policy(max_asr=0.9, categories={"</details>": {"max_asr": 0.1}}))


def test_markdown_with_hostile_names_is_inert(hostile_verdict):
    v = hostile_verdict
    assert v.verdict == "fail" and v.categories["</details>"].verdict == "fail"
    md = markdown.render(v)
    outside_fences = re.sub(r"```mermaid\n.*?\n```", "", md, flags=re.S)
    # the only HTML is ours: details/summary/sub, balanced
    tags = re.findall(r"</?([a-zA-Z]+)", outside_fences)
    assert set(tags) <= {"details", "summary", "sub"}
    assert outside_fences.count("<details>") == outside_fences.count("</details>")
    assert not re.search(r"@[A-Za-z0-9]", html.unescape(outside_fences))
    assert "![" not in outside_fences and "](" not in outside_fences
    assert "::error" not in outside_fences and "\u202e" not in md and "\u200b" not in md
    # every table row has the same number of cells as its header
    for block in re.findall(r"((?:^\|.*\|$\n?)+)", outside_fences, flags=re.M):
        rows = [r for r in block.strip().split("\n")]
        widths = {r.count("|") for r in rows}
        assert len(widths) == 1, rows
    # exactly one mermaid fence, with only whitelisted labels
    fences = re.findall(r"```mermaid\n(.*?)\n```", md, flags=re.S)
    assert len(fences) == 1 and md.count("```") == 2
    x_axis = next(line for line in fences[0].splitlines() if line.strip().startswith("x-axis"))
    labels = re.findall(r'"([^"]*)"', x_axis)
    assert len(labels) == 4 and len(set(labels)) == 4
    assert all(re.fullmatch(r"[A-Za-z0-9 _\-.+/]+", lab) for lab in labels)
    assert x_axis.count('"') == 8 and x_axis.strip().endswith("]")
    # the failing category is named (escaped) in the table with a fail mark
    assert any("&#60;/details&#62;" in line and "❌" in line for line in md.splitlines() if line.startswith("|"))


def test_markdown_sections(hostile_verdict):
    md = markdown.render(hostile_verdict)
    assert md.startswith("### ❌ ASR gate: FAIL")
    assert "Most regressed attacks (exploratory)" in md
    assert "xychart-beta" in md and "bar [" in md and "line [" in md
    assert "p (Holm-adjusted)" in md and "95% / 97.5% bounds" in md
    assert "Attacks left out of the comparison" in md


def test_markdown_inconclusive_shows_planner_advice():
    base = {"attacks": [{"id": f"a{k}", "category": "c", "attempts": 20, "successes": k % 5} for k in range(12)]}
    cand = {"attacks": [{"id": f"a{k}", "category": "c", "attempts": 20, "successes": (k + 1) % 5} for k in range(12)]}
    v = compare(base, cand, Policy())
    assert v.verdict == "inconclusive"
    md = markdown.render(v)
    assert "❔" in md and "How to get a clear answer" in md and "attacks" in md


def test_markdown_prints_the_advice_once_and_keeps_prose_colons_readable():
    base = {"attacks": [{"id": f"a{k}", "category": "c", "attempts": 20, "successes": k % 5} for k in range(12)]}
    cand = {"attacks": [{"id": f"a{k}", "category": "c", "attempts": 20, "successes": (k + 1) % 5} for k in range(12)]}
    v = compare(base, cand, Policy())
    assert v.verdict == "inconclusive" and v.advice
    assert any(a.text in v.reasons for a in v.advice)  # the text and log views show it among the reasons
    md = markdown.render(v)
    for a in v.advice:
        assert md.count(md_escape(a.text, 800)) == 1, a.text
    assert md.count("To settle it") == 1
    assert "&#58;" not in md  # "To settle it overall: run about ..." stays readable in the raw Markdown
    assert "overall: run about" in md


def _advisory_verdict(**policy):
    rows_b = [(f"a{k}", "big", 6, 20) for k in range(30)] + [(f"t{k}", "tiny", 6, 20) for k in range(3)]
    rows_c = [(f"a{k}", "big", k % 2, 20) for k in range(30)] + [(f"t{k}", "tiny", 1, 20) for k in range(3)]
    mk = lambda rows: {"attacks": [{"id": i, "category": c, "attempts": m, "successes": x}  # noqa: E731
                                   for i, c, x, m in rows]}
    return compare(mk(rows_b), mk(rows_c), Policy(**policy), top=0)


def test_every_view_shows_an_advisory_category_the_same_way():
    v = _advisory_verdict()
    assert v.verdict == "pass"
    tiny = v.categories["tiny"]
    label = "too few attacks to judge alone (K=3; needs ≥ 6)"
    assert tiny.advisory and tiny.advisory_label == label and not v.categories["big"].advisory
    md = markdown.render(v)
    row = next(line for line in md.splitlines() if line.startswith("| tiny |"))
    assert f"advisory: {label}" in row and "inconclusive" not in row
    assert "does not hold back a pass" in md
    out = text.render(v)
    assert any(line.strip().startswith("tiny") and f"ADVISORY: {label}" in line for line in out.splitlines())
    doc = json.loads(json_report.render(v))
    assert doc["categories"]["tiny"]["advisory"] is True and doc["categories"]["tiny"]["advisory_label"] == label
    assert doc["categories"]["tiny"]["attacks_to_pass"] == 6 and doc["categories"]["big"]["advisory"] is False
    assert doc["policy"]["categories_gate"] == "powered"
    root = ET.fromstring(junit.render(v))
    case = next(tc for tc in root.iter("testcase") if tc.get("name") == "category tiny")
    assert case.find("skipped").get("message").startswith(f"advisory, {label}")
    # the reasons name it; with categories_gate: all nothing is advisory and the gate is inconclusive
    assert any("Too few attacks to judge alone" in r and "'tiny'" in r for r in v.reasons)
    strict = _advisory_verdict(categories_gate="all")
    assert strict.verdict == "inconclusive" and not strict.categories["tiny"].advisory
    assert "advisory" not in markdown.render(strict)


def test_markdown_respects_size_limit():
    n = 3000
    base = {"attacks": [{"id": f"{'<' * 40}{k}", "category": f"cat{'|' * 30}{k % 400}", "attempts": 20,
                         "successes": k % 7} for k in range(n)]}
    cand = {"attacks": [{"id": f"{'<' * 40}{k}", "category": f"cat{'|' * 30}{k % 400}", "attempts": 20,
                         "successes": (k + 2) % 7, "hash": None if k % 2 else "x"} for k in range(n)]}
    v = compare(base, cand, Policy(), top=20)
    md = markdown.render(v, max_chars=20_000)
    assert len(md) <= 20_000
    assert md.count("<details>") == md.count("</details>") and md.count("```") % 2 == 0


def test_text_report_is_log_safe(hostile_verdict):
    out = text.render(hostile_verdict)
    assert out.startswith("asr-gate: FAIL")
    for line in out.splitlines():
        assert not line.lstrip().startswith("::") and "::" not in line and "\x1b" not in line
    assert "\u202e" not in out


def test_json_report_round_trips(hostile_verdict):
    d = json.loads(json_report.render(hostile_verdict))
    assert d["verdict"] == "fail"
    assert "</details>" in d["categories"]
    assert d["categories"]["</details>"]["verdict"] == "fail"
    assert d["exit_code"] == 1 and d["conclusion"] == "failure"


def test_junit_parses_and_reports_failures(hostile_verdict):
    xml = junit.render(hostile_verdict)
    root = ET.fromstring(xml.encode("utf-8"))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    names = [c.get("name") for c in cases]
    assert "overall" in names and "category </details>" in names
    assert sum(1 for c in cases if c.get("classname") == "asr-gate.attack") == len(hostile_verdict.top_regressed)
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    assert "category </details>" in failed and "ceiling </details>" in failed
    assert int(suite.get("failures")) == len(failed) and int(suite.get("tests")) == len(cases)
    # attack testcases never fail on their own (exploratory)
    assert not any(c.find("failure") is not None for c in cases if c.get("classname") == "asr-gate.attack")


def test_junit_error_verdict():
    v = compare({"attacks": [{"id": "a", "attempts": 1, "successes": 0}]},
                {"attacks": [{"id": "b", "attempts": 1, "successes": 0}]}, Policy())
    root = ET.fromstring(junit.render(v))
    assert root.find("testsuite").get("errors") == "1"


# ---------------------------------------------------------------------------------------------
# Review fixes (each test failed before its fix)
# ---------------------------------------------------------------------------------------------

def _one_category_regression():
    base = {"attacks": [{"id": f"a{k}", "category": "inj", "attempts": 20, "successes": 0} for k in range(12)]}
    cand = {"attacks": [{"id": f"a{k}", "category": "inj", "attempts": 20, "successes": 10} for k in range(12)]}
    return compare(base, cand, Policy())


def test_junit_counts_one_regression_once_with_a_single_category():
    v = _one_category_regression()
    assert v.verdict == "fail" and list(v.categories) == ["inj"]
    suite = ET.fromstring(junit.render(v)).find("testsuite")
    groups = [c.get("name") for c in suite.findall("testcase") if c.get("classname") == "asr-gate.group"]
    assert groups == ["overall"]
    assert suite.get("failures") == "1"


def test_markdown_footer_uses_the_policys_power():
    base = {"attacks": [{"id": f"a{k}", "category": "c", "attempts": 20, "successes": k % 5} for k in range(12)]}
    md = markdown.render(compare(base, base, Policy(power=0.9)))
    assert "with 90% power" in md and "80% power" not in md
    assert "with 80% power" in markdown.render(compare(base, base, Policy()))


def test_markdown_says_what_the_hidden_categories_are():
    # 70 categories of 2 attacks: every one is too small to ever pass
    rows = [{"id": f"a{k}", "category": f"cat{k // 2:02d}", "attempts": 20, "successes": 2} for k in range(140)]
    hidden = 70 - markdown.MAX_CATEGORY_ROWS
    # categories_gate: all (every category decides): all inconclusive
    v = compare({"attacks": rows}, {"attacks": rows}, Policy(categories_gate="all"), top=0)
    assert len(v.categories) == 70 and {g.verdict for g in v.categories.values()} == {"inconclusive"}
    md = markdown.render(v)
    assert f"{hidden} more categories are not shown ({hidden} inconclusive)" in md
    assert "that passed" not in md
    # the default: they are advisory, and said to be
    v = compare({"attacks": rows}, {"attacks": rows}, Policy(), top=0)
    assert all(g.advisory for g in v.categories.values())
    md = markdown.render(v)
    assert f"{hidden} more categories are not shown ({hidden} advisory (too few attacks to judge alone))" in md
