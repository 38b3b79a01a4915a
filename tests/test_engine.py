"""The asyncio engine (gate/run/engine_async.py): when a run uses it, what it refuses, and that it keeps
connections alive. The fault matrix (test_faults.py) runs every fault on both engines."""
from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import sys
import time

import pytest

from fake_openai import FakeOpenAI
from gate.detectors import build_detector
from gate.errors import UsageError
from gate.run.engine_async import asyncio_sender
from gate.run.runner import RunOptions, run_suite
from gate.suite import load_suite
from gate.targets import build_target

SUITE = """\
suite: engine
defaults: {attempts: 10, detector: {canary: true}}
attacks:
  - {id: a, system: "The secret is {{canary}}.", prompt: "alpha"}
  - {id: b, system: "The secret is {{canary}}.", prompt: "bravo"}
  - {id: c, system: "The secret is {{canary}}.", prompt: "charlie"}
  - {id: d, system: "The secret is {{canary}}.", prompt: "delta"}
"""


@pytest.fixture
def suite(tmp_path):
    p = tmp_path / "suite.yaml"
    p.write_text(SUITE)
    return load_suite(str(p))


def openai(url: str, **extra) -> object:
    return build_target({"kind": "openai", "base_url": url, "model": "m", **extra})


def choose(engine, target, suite, *, rate_limited=False, sequential=False):
    return asyncio_sender(engine, target, suite.attacks, rate_limited=rate_limited, sequential=sequential)


def test_auto_uses_asyncio_for_a_plain_http_openai_target(suite):
    t = openai("http://127.0.0.1:9/v1")
    assert choose("auto", t, suite) is not None
    assert choose("threads", t, suite) is None
    http = build_target({"kind": "http", "url": "http://127.0.0.1:9/gen", "body": {"m": "{{messages}}"},
                         "reply_path": "text"})
    assert choose("auto", http, suite) is not None


@pytest.mark.parametrize("case, why", [
    ("https", "sends only from threads"),
    ("rate", "rate limited"),
    ("sequential", "sequential runs"),
    ("judge", "the detector of attack a calls a model"),
    ("sim", "sends only from threads"),
])
def test_threads_when_the_run_needs_them_and_asyncio_refuses_with_the_reason(suite, case, why):
    target = openai("https://127.0.0.1:9/v1") if case == "https" else openai("http://127.0.0.1:9/v1")
    if case == "sim":
        target = build_target({"kind": "sim"})
    if case == "judge":
        judge = build_detector({"judge": {"target": {"kind": "openai", "model": "j", "base_url": "http://127.0.0.1:9/v1"}}})
        suite = dataclasses.replace(suite, attacks=[dataclasses.replace(suite.attacks[0], detector=judge),
                                                    *suite.attacks[1:]])
    kw = {"rate_limited": case == "rate", "sequential": case == "sequential"}
    assert choose("auto", target, suite, **kw) is None
    with pytest.raises(UsageError, match=why):
        choose("asyncio", target, suite, **kw)


def test_asyncio_counts_equal_the_servers_truth_and_connections_are_reused(tmp_path, suite):
    with FakeOpenAI(default_rate=0.5, seed=3) as srv:
        t = openai(srv.base_url, concurrency=4)
        res = run_suite(suite, t, str(tmp_path / "out"), RunOptions(progress=None, engine="asyncio"))
        t.close()
    assert res["totals"]["attempts"] == 40 and srv.requests == 40 and res["calls"] == 40
    assert res["totals"]["successes"] == srv.total_leaks
    assert srv.connections <= 4  # kept alive: one per worker at most


def test_cli_engine_asyncio_on_a_sim_target_is_a_one_line_usage_error(tmp_path):
    (tmp_path / "suite.yaml").write_text(SUITE)
    (tmp_path / "t.yaml").write_text("kind: sim\n")
    proc = subprocess.run([sys.executable, "-m", "gate.cli", "run", "--suite", str(tmp_path / "suite.yaml"),
                           "--target", str(tmp_path / "t.yaml"), "--out", str(tmp_path / "out"), "--engine",
                           "asyncio", "--quiet"], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "--engine asyncio" in lines[0] and "sim" in lines[0]
    assert not os.path.exists(tmp_path / "out")  # refused before anything is written


def test_a_connection_the_server_closed_while_idle_is_not_reused(suite):
    """A keep-alive connection the server closed between two calls: the second call opens a new one
    instead of failing on the dead socket (whether the loop or the poll before reuse notices)."""
    from gate.targets.interface import Request

    with FakeOpenAI(default_rate=0.0, close_each=True) as srv:
        t = openai(srv.base_url, retries=0)
        sender = t.open_async()
        attack = suite.attacks[0]
        req = Request(messages=attack.render("CANARY-0123456789AB"), attack_id="a", category="", attempt=0)

        async def twice(loop_sees_it: bool) -> list[str]:
            first = await sender.send(req)
            if loop_sees_it:
                await asyncio.sleep(0.3)  # the loop handles the server's close (connection_lost)
            else:
                time.sleep(0.3)  # the loop is blocked: only the poll before reuse can see the close
            second = await sender.send(req)
            sender.close()
            return [first.text, second.text]

        for loop_sees_it in (True, False):
            before = srv.connections
            texts = asyncio.run(twice(loop_sees_it))
            assert all("sorry" in x.lower() for x in texts)
            assert srv.connections - before == 2
        t.close()
