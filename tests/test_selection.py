"""Part of a suite (`--only`, `--category`, `--tag`), runs that measured nothing, and what a baseline accepts."""
from __future__ import annotations

import json
import os
import socket

import pytest

from gate.cli import main
from gate.suite import load_suite

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LEAK = os.path.join(REPO, "suites", "secret-leakage.yaml")
INJ = os.path.join(REPO, "suites", "prompt-injection.yaml")


def _sim(tmp_path, rate: float = 0.3) -> str:
    path = tmp_path / "sim.json"
    path.write_text(json.dumps({"kind": "sim", "seed": 1, "default_rate": rate}))
    return str(path)


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now: every connection is refused
    return port


def _ran(out) -> list[str]:
    return sorted(json.loads((out / "results.json").read_text())["attacks"], key=lambda a: a["id"])


def _ids(out) -> set[str]:
    return {a["id"] for a in json.loads((out / "results.json").read_text())["attacks"]}


def test_category_only_and_tag_run_exactly_the_selected_attacks(tmp_path):
    suite = load_suite(INJ)
    by_cat = {}
    for a in suite.attacks:
        by_cat.setdefault(a.category, set()).add(a.id)
    cat, ids = sorted(by_cat.items())[0]
    t = _sim(tmp_path)
    assert main(["run", "--suite", INJ, "--target", t, "--out", str(tmp_path / "c"), "--attempts", "2",
                 "--category", cat, "--quiet"]) == 0
    assert _ids(tmp_path / "c") == ids
    doc = json.loads((tmp_path / "c" / "results.json").read_text())
    assert doc["selection"] == {"only": [], "categories": [cat], "tags": [], "attacks": len(ids),
                                "of": len(suite.attacks)}
    assert doc["totals"]["attempts"] == 2 * len(ids)

    first, second = sorted(a.id for a in suite.attacks)[:2]
    glob = first[:-1] + "*" if first[:-1] != second[:len(first) - 1] else first
    expected = {a.id for a in suite.attacks if a.id == glob or __import__("fnmatch").fnmatchcase(a.id, glob)}
    expected |= {second}
    assert main(["run", "--suite", INJ, "--target", t, "--out", str(tmp_path / "o"), "--attempts", "1",
                 "--only", glob, "--only", second, "--quiet"]) == 0
    assert _ids(tmp_path / "o") == expected

    tagged = [a for a in suite.attacks if a.tags]
    if tagged:  # the tag filter, when the suite uses tags
        tag = tagged[0].tags[0]
        assert main(["run", "--suite", INJ, "--target", t, "--out", str(tmp_path / "t"), "--attempts", "1",
                     "--tag", tag, "--quiet"]) == 0
        assert _ids(tmp_path / "t") == {a.id for a in suite.attacks if tag in a.tags}


def test_tag_filter_and_exact_ids_with_brackets(tmp_path):
    suite_file = tmp_path / "s.yaml"
    suite_file.write_text(
        "suite: tags\ndefaults: {attempts: 1, detector: {canary: true}}\nattacks:\n"
        "  - {id: a, category: c, tags: [web], prompt: '{{x}}', vars: {x: {one: 'say {{canary.reversed}}', two: 'write {{canary.reversed}}'}}}\n"
        "  - {id: m, category: c, tags: [mail], prompt: 'mail {{canary.reversed}}'}\n"
        "  - {id: b, category: d, tags: [web, mail], prompt: 'print {{canary.reversed}}'}\n")
    t = _sim(tmp_path)
    assert {a.id for a in load_suite(str(suite_file)).attacks} == {"a[x=one]", "a[x=two]", "m", "b"}
    assert main(["run", "--suite", str(suite_file), "--target", t, "--out", str(tmp_path / "w"), "--tag", "web",
                 "--quiet"]) == 0
    assert _ids(tmp_path / "w") == {"a[x=one]", "a[x=two]", "b"}
    assert main(["run", "--suite", str(suite_file), "--target", t, "--out", str(tmp_path / "x"),
                 "--only", "a[x=two]", "--quiet"]) == 0  # an exact id, although it reads as a glob class
    assert _ids(tmp_path / "x") == {"a[x=two]"}
    assert main(["run", "--suite", str(suite_file), "--target", t, "--out", str(tmp_path / "y"),
                 "--tag", "mail", "--category", "c", "--quiet"]) == 0  # different options must all hold
    assert _ids(tmp_path / "y") == {"m"}


@pytest.mark.parametrize("flags,message", [
    (["--category", "nope"], "--category nope: suite"),
    (["--only", "zzz*"], "--only zzz*: matches no attack id"),
    (["--tag", "nope"], "--tag nope: no attack"),
])
def test_a_selection_that_matches_nothing_is_a_usage_error(tmp_path, capsys, flags, message):
    code = main(["run", "--suite", LEAK, "--target", _sim(tmp_path), "--out", str(tmp_path / "o"), *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err
    assert not (tmp_path / "o" / "results.json").exists()


def test_a_subset_run_is_refused_as_a_baseline_unless_allowed(tmp_path, capsys):
    suite = load_suite(LEAK)
    cat = suite.attacks[0].category
    assert main(["run", "--suite", LEAK, "--target", _sim(tmp_path), "--out", str(tmp_path / "s"), "--attempts", "2",
                 "--category", cat, "--quiet"]) == 0
    capsys.readouterr()
    res, base = str(tmp_path / "s" / "results.json"), str(tmp_path / "b.json")
    assert main(["baseline", "update", "--results", res, "--baseline", base]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--allow-subset" in err and f"--category {cat}" in err
    assert not os.path.exists(base)
    assert main(["baseline", "update", "--results", res, "--baseline", base, "--allow-subset"]) == 0
    assert os.path.exists(base)


def test_a_small_run_against_a_closed_port_exits_3_and_cannot_become_a_baseline(tmp_path, capsys):
    target = tmp_path / "dead.yaml"
    target.write_text(f"kind: openai\nbase_url: http://127.0.0.1:{_closed_port()}/v1\nmodel: m\nretries: 1\n"
                      f"backoff_base: 0.01\n")
    suite = load_suite(LEAK)
    ten = [a.id for a in suite.attacks[:5]]
    only = [x for i in ten for x in ("--only", i)]
    code = main(["run", "--suite", LEAK, "--target", str(target), "--out", str(tmp_path / "d"), "--attempts", "2",
                 *only, "--quiet"])
    err = capsys.readouterr().err
    assert code == 3 and "every attempt ended in an error (10 of 10" in err
    res = str(tmp_path / "d" / "results.json")
    assert json.loads(open(res).read())["totals"]["attempts"] == 0
    assert main(["baseline", "update", "--results", res, "--baseline", str(tmp_path / "b.json"),
                 "--allow-subset"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and res in err and "0 judged attempts" in err


def test_an_error_rate_above_the_limit_exits_3_even_below_20_attempts(tmp_path, capsys):
    t = tmp_path / "flaky.json"
    t.write_text(json.dumps({"kind": "sim", "seed": 2, "default_rate": 0.2, "error_rate": 0.6, "retries": 0}))
    suite = load_suite(LEAK)
    only = [x for a in suite.attacks[:6] for x in ("--only", a.id)]
    code = main(["run", "--suite", LEAK, "--target", str(t), "--out", str(tmp_path / "f"), "--attempts", "2",
                 *only, "--max-error-rate", "0.1", "--quiet"])
    doc = json.loads((tmp_path / "f" / "results.json").read_text())
    errors, finished = doc["totals"]["errors"], doc["totals"]["errors"] + doc["totals"]["attempts"]
    assert finished == 12 and errors > 0.1 * finished  # the seed gives a clear excess; the check is the point
    assert code == 3 and "more than --max-error-rate 10%" in capsys.readouterr().err


def test_compare_refuses_an_empty_baseline_in_one_line(tmp_path, capsys):
    t = _sim(tmp_path)
    assert main(["run", "--suite", LEAK, "--target", t, "--out", str(tmp_path / "r"), "--attempts", "1", "--quiet"]) == 0
    res = tmp_path / "r" / "results.json"
    empty = json.loads(res.read_text())
    for a in empty["attacks"]:
        a.update(attempts=0, successes=0, errors=a.get("planned", 1))
    for block in [empty["totals"], *empty["categories"].values()]:
        block.update(attempts=0, successes=0, errors=block.get("planned", 0), asr=None)
    bad = tmp_path / "empty.json"
    bad.write_text(json.dumps(empty))
    capsys.readouterr()
    code = main(["compare", "--baseline", str(bad), "--results", str(res)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and str(bad) in err and "0 judged attempts" in err


def test_compare_says_how_much_of_the_suite_was_selected(tmp_path, capsys):
    t = _sim(tmp_path)
    suite = load_suite(LEAK)
    cat = suite.attacks[0].category
    k = sum(a.category == cat for a in suite.attacks)
    assert main(["run", "--suite", LEAK, "--target", t, "--out", str(tmp_path / "full"), "--attempts", "2",
                 "--quiet"]) == 0
    assert main(["run", "--suite", LEAK, "--target", t, "--out", str(tmp_path / "part"), "--attempts", "2",
                 "--category", cat, "--quiet"]) == 0
    capsys.readouterr()
    main(["compare", "--baseline", str(tmp_path / "full" / "results.json"),
          "--results", str(tmp_path / "part" / "results.json")])
    out = capsys.readouterr().out
    assert f"{k} of {len(suite.attacks)} attacks selected" in " ".join(out.split())
