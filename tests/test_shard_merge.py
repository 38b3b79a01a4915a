"""Sharding: `run --shard i/n` on n machines + `merge` == one unsharded run, count for count.

The sim target decides attempt k of attack a by a hash of (seed, a, k), so which machine runs an
attempt, and in which order, cannot change its outcome: the merged counts must equal the
unsharded run's exactly. `merge` must refuse (exit 2) anything that would not add up to one run:
a missing shard, a shard given twice, shards of different splits, suites, detectors or targets,
and a shard whose run did not finish.
"""
from __future__ import annotations

import json
import os

import pytest

from gate.cli import main
from gate.run.schedule import shard_attacks

ATTACKS = 30
ATTEMPTS = 6


def write_suite(tmp_path, name="suite.yaml", attempts=ATTEMPTS, extra=""):
    lines = ["suite: shard-test", "version: 1", f"defaults: {{attempts: {attempts}, detector: {{canary: true}}}}",
             "categories: {leak: {}, injection: {}, jailbreak: {}}", "attacks:"]
    for i in range(ATTACKS):
        cat = ("leak", "injection", "jailbreak")[i % 3]
        lines.append(f"  - {{id: a{i:02d}, category: {cat}, prompt: \"attack {i}{extra}: say {{{{canary.reversed}}}}\"}}")
    p = tmp_path / name
    p.write_text("\n".join(lines) + "\n")
    return str(p)


def write_target(tmp_path, name="target.yaml", seed=4):
    p = tmp_path / name
    p.write_text(f"kind: sim\nseed: {seed}\ndefault_rate: 0.2\ncategory_rates: {{jailbreak: 0.5}}\n"
                 f"rates: {{a00: 0.9, a01: 0.0}}\nconcurrency: 4\n")
    return str(p)


def run(tmp_path, suite, target, out, *extra):
    code = main(["run", "--suite", suite, "--target", target, "--out", str(tmp_path / out), "--quiet", *extra])
    return code, str(tmp_path / out / "results.json")


def load(path):
    with open(path) as fh:
        return json.load(fh)


COUNT_KEYS = ("id", "category", "hash", "planned", "attempts", "successes", "errors")


@pytest.mark.parametrize("n", [2, 3])
def test_merged_shards_equal_an_unsharded_run(tmp_path, n, capsys):
    suite, target = write_suite(tmp_path), write_target(tmp_path)
    code, whole = run(tmp_path, suite, target, "whole")
    assert code == 0
    shards = []
    for i in range(1, n + 1):
        code, path = run(tmp_path, suite, target, f"shard{i}", "--shard", f"{i}/{n}")
        assert code == 0 and load(path)["shard"] == f"{i}/{n}"
        shards.append(path)
    merged_path = str(tmp_path / "merged.json")
    assert main(["merge", *reversed(shards), "--out", merged_path]) == 0  # any order
    assert "merged" in capsys.readouterr().out
    a, m = load(whole), load(merged_path)
    assert [{k: x[k] for k in COUNT_KEYS} for x in m["attacks"]] == [{k: x[k] for k in COUNT_KEYS} for x in a["attacks"]]
    assert m["totals"] == a["totals"] and m["categories"] == a["categories"]
    assert m["calls"] == a["calls"] and m["shard"] is None and m["complete"] is True
    assert m["suite"] == a["suite"] and m["detector"] == a["detector"] and m["target"] == a["target"]
    assert m["totals"]["successes"] > 0
    # the merged file is a valid results file: compare accepts it against the unsharded run as baseline
    assert main(["compare", "--baseline", whole, "--results", merged_path, "--format", "json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["overall"]["delta"] == 0


def test_shards_partition_the_attacks():
    class A:
        def __init__(self, i):
            self.id = f"attack-{i}"

    attacks = tuple(A(i) for i in range(101))
    for n in range(1, 6):
        parts = [shard_attacks(attacks, (i, n)) for i in range(1, n + 1)]
        ids = [a.id for p in parts for a in p]
        assert sorted(ids) == sorted(a.id for a in attacks) and len(set(ids)) == len(ids)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1  # balanced
        assert parts == [shard_attacks(attacks, (i, n)) for i in range(1, n + 1)]  # deterministic


def test_merge_refuses_what_does_not_add_up(tmp_path, capsys):
    suite, target = write_suite(tmp_path), write_target(tmp_path)
    s = {i: run(tmp_path, suite, target, f"s{i}", "--shard", f"{i}/3")[1] for i in (1, 2, 3)}
    out = str(tmp_path / "m.json")

    def refused(*files, needle):
        capsys.readouterr()
        code = main(["merge", *files, "--out", out])
        err = capsys.readouterr().err
        needles = needle if isinstance(needle, tuple) else (needle,)
        assert code == 2 and any(n in err for n in needles), (code, err)
        assert not os.path.exists(out)

    refused(s[1], s[2], needle="missing 3/3")                     # incomplete set
    refused(s[1], s[2], s[3], s[2], needle="given twice")          # duplicated shard
    half = run(tmp_path, suite, target, "h1", "--shard", "1/2")[1]
    refused(half, s[2], s[3], needle=("complete set", "is also in"))  # mixed splits (overlap or gap)
    half2 = run(tmp_path, suite, target, "h2", "--shard", "2/2")[1]
    refused(half, half2, s[3], needle=("complete set", "is also in"))
    other_suite = write_suite(tmp_path, "other.yaml", extra=" (v2)")
    o3 = run(tmp_path, other_suite, target, "o3", "--shard", "3/3")[1]
    refused(s[1], s[2], o3, needle="suite hash differs")           # another suite
    other_target = write_target(tmp_path, "t2.yaml", seed=5)
    t3 = run(tmp_path, suite, other_target, "t3", "--shard", "3/3")[1]
    refused(s[1], s[2], t3, needle="target differs")               # another target
    whole = run(tmp_path, suite, target, "whole")[1]
    refused(s[1], whole, needle="is also in")                      # an attack in two files
    fewer = run(tmp_path, suite, target, "few3", "--shard", "3/3", "--attempts", "3")[1]
    refused(s[1], s[2], fewer, needle="same attempts")             # another --attempts
    # a shard whose run stopped before the end (call budget): refused unless asked for
    code, cut = run(tmp_path, suite, target, "cut3", "--shard", "3/3", "--max-calls", "7")
    assert code == 3 and load(cut)["complete"] is False
    refused(s[1], s[2], cut, needle="did not finish")
    assert main(["merge", s[1], s[2], cut, "--out", out, "--allow-incomplete"]) == 0
    assert load(out)["complete"] is False


def test_merge_records_the_head_sha_for_publish(tmp_path):
    suite, target = write_suite(tmp_path), write_target(tmp_path)
    parts = [run(tmp_path, suite, target, f"p{i}", "--shard", f"{i}/2")[1] for i in (1, 2)]
    out = str(tmp_path / "m.json")
    sha = "0123456789abcdef0123456789abcdef01234567"
    assert main(["merge", *parts, "--out", out, "--head-sha", sha.upper()]) == 0
    assert load(out)["git"]["head_sha"] == sha
    with pytest.raises(SystemExit) as info:
        main(["merge", *parts, "--out", out, "--head-sha", "not-a-sha"])
    assert info.value.code == 2


# ------------------------------------------------------------------------------------------------
# scaling out on one machine too: the connection pool follows the number of workers


def test_pool_grows_to_the_runs_concurrency(tmp_path):
    from fake_openai import FakeOpenAI

    from gate.run.runner import RunOptions, run_suite
    from gate.suite import load_suite
    from gate.targets import build_target

    suite = load_suite(write_suite(tmp_path, attempts=4))
    with FakeOpenAI(default_rate=0.5, seed=1) as srv:
        t = build_target({"kind": "openai", "base_url": srv.base_url, "model": "m", "concurrency": 2})
        assert t.session.get_adapter(t.url)._pool_maxsize == 2
        res = run_suite(suite, t, str(tmp_path / "out"), RunOptions(progress=None, concurrency=12))
        assert t.session.get_adapter(t.url)._pool_maxsize == 12  # `run --concurrency 12` > the target's 2
        assert res["totals"]["attempts"] == ATTACKS * 4 and srv.requests == ATTACKS * 4
        assert srv.connections <= 12  # reused, not opened and discarded per call
        assert t.describe()["concurrency"] == 2  # the descriptor (and --resume's check) is unchanged
        t.close()
