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


def _one_call(target, suite):
    """One send through the target's asyncio sender; the TargetError it raises, or None."""
    from gate.targets.interface import Request, TargetError

    sender = target.open_async()
    req = Request(messages=suite.attacks[0].render("CANARY-0123456789AB"), attack_id="a", category="", attempt=0)

    async def call():
        try:
            await sender.send(req)
        except TargetError as exc:
            return exc
        finally:
            sender.close()
        return None

    return asyncio.run(call())


def test_a_refused_connection_is_a_retryable_connection_error(suite):
    """Nothing listens on the port: the connect to the literal address fails at once, as a TargetError."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    t = openai(f"http://127.0.0.1:{port}/v1", retries=0, timeout=5)
    started = time.monotonic()
    err = _one_call(t, suite)
    assert err is not None and err.kind == "connection" and err.retryable
    assert f"cannot connect to http://127.0.0.1:{port}" in str(err) and "refused" in str(err).lower()
    assert time.monotonic() - started < 2


def test_a_connect_that_never_completes_is_a_retryable_timeout(suite):
    """A listener whose backlog is full drops further SYNs, so the connect hangs: after the target's timeout
    it is a retryable `timeout` error, not a hang."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))  # takes the backlog's one place
    try:
        t = openai(f"http://127.0.0.1:{port}/v1", retries=0, timeout=0.5)
        started = time.monotonic()
        err = _one_call(t, suite)
        took = time.monotonic() - started
    finally:
        filler.close()
        listener.close()
    assert err is not None and err.kind == "timeout" and err.retryable, err
    assert "no response from" in str(err) and "within 0.5s" in str(err)
    assert 0.4 < took < 3


def test_a_host_name_is_resolved_and_counts_stay_exact(tmp_path, suite):
    """`localhost` (a name, not an address) on the asyncio engine: resolved, connected, counted exactly."""
    with FakeOpenAI(default_rate=0.5, seed=5) as srv:
        url = srv.base_url.replace("127.0.0.1", "localhost")
        t = openai(url, concurrency=3)
        res = run_suite(suite, t, str(tmp_path / "out"), RunOptions(progress=None, engine="asyncio"))
        t.close()
    assert res["totals"]["attempts"] == 40 and srv.requests == 40
    assert res["totals"]["successes"] == srv.total_leaks


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_the_event_loop_asked_for_is_the_one_used_and_counts_stay_exact(tmp_path, suite, monkeypatch, loop):
    """ASR_GATE_EVENT_LOOP picks the asyncio engine's loop (uvloop by default, being installed)."""
    from gate.run import engine_async

    used = []
    real_main = engine_async._main

    async def main(*args):
        used.append(type(asyncio.get_running_loop()).__module__.split(".")[0])
        return await real_main(*args)

    monkeypatch.setattr(engine_async, "_main", main)
    if loop == "asyncio":
        monkeypatch.setenv("ASR_GATE_EVENT_LOOP", "asyncio")
    else:
        monkeypatch.delenv("ASR_GATE_EVENT_LOOP", raising=False)  # the default
    with FakeOpenAI(default_rate=0.5, seed=11) as srv:
        t = openai(srv.base_url, concurrency=4)
        res = run_suite(suite, t, str(tmp_path / "out"), RunOptions(progress=None, engine="asyncio"))
        t.close()
    assert used == [loop]
    assert res["totals"]["attempts"] == 40 and srv.requests == 40 and res["totals"]["successes"] == srv.total_leaks


def test_an_event_loop_that_cannot_be_had_is_a_usage_error_before_anything_is_written(tmp_path, suite, monkeypatch):
    import importlib.util

    from gate.run.engine_async import event_loop

    assert event_loop("asyncio") == "asyncio"
    with pytest.raises(UsageError, match="ASR_GATE_EVENT_LOOP='tokio': expected one of uvloop, asyncio"):
        event_loop("tokio")
    real_find = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "uvloop" else real_find(name, *a))
    assert event_loop("") == "asyncio"  # not installed: the standard loop, unasked
    with pytest.raises(UsageError, match="uvloop is not installed"):
        event_loop("uvloop")
    monkeypatch.setenv("ASR_GATE_EVENT_LOOP", "uvloop")
    with FakeOpenAI() as srv:
        t = openai(srv.base_url)
        with pytest.raises(UsageError):
            run_suite(suite, t, str(tmp_path / "out"), RunOptions(progress=None, engine="asyncio"))
        t.close()
        assert srv.requests == 0
    assert not os.path.exists(tmp_path / "out")


def test_the_event_loop_setting_on_a_threaded_run_is_checked_and_said_to_be_unapplied(tmp_path, suite, monkeypatch):
    import io

    with FakeOpenAI(default_rate=0.5, seed=2) as srv:
        t = openai(srv.base_url, concurrency=2)
        monkeypatch.setenv("ASR_GATE_EVENT_LOOP", "bogus")
        with pytest.raises(UsageError, match="ASR_GATE_EVENT_LOOP='bogus'"):
            run_suite(suite, t, str(tmp_path / "a"), RunOptions(progress=None, engine="threads"))
        assert srv.requests == 0 and not os.path.exists(tmp_path / "a")
        monkeypatch.setenv("ASR_GATE_EVENT_LOOP", "asyncio")
        said = io.StringIO()
        res = run_suite(suite, t, str(tmp_path / "b"), RunOptions(progress=said, engine="threads"))
        t.close()
    assert res["totals"]["attempts"] == 40
    assert "ASR_GATE_EVENT_LOOP=asyncio is not applied: this run's workers are threads" in said.getvalue()


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_ctrl_c_on_the_asyncio_engine_stops_cleanly_and_resume_finishes_exactly(tmp_path, loop):
    """SIGINT to `asr-gate run` on either event loop: exit 3 with the resume hint, only finished attempts in the
    transcript; `--resume` then runs exactly the rest (no attempt lost or judged twice)."""
    import json
    import signal

    (tmp_path / "suite.yaml").write_text(SUITE)
    env = {**os.environ, "ASR_GATE_EVENT_LOOP": loop}
    with FakeOpenAI(default_rate=0.5, seed=4, latency=0.3) as srv:
        (tmp_path / "t.yaml").write_text(f"kind: openai\nbase_url: {srv.base_url}\nmodel: m\nconcurrency: 2\n")
        cmd = [sys.executable, "-m", "gate.cli", "run", "--suite", str(tmp_path / "suite.yaml"), "--target",
               str(tmp_path / "t.yaml"), "--out", str(tmp_path / "out"), "--quiet"]
        # SIGINT back to its default in the child: a job started in the background (nohup, CI) inherits it ignored,
        # and Python then installs no KeyboardInterrupt handler
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        deadline = time.monotonic() + 30
        while srv.requests < 4 and time.monotonic() < deadline:  # some attempts done, most still to come
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 3, err
        assert "interrupted; finish with --resume" in err and "Traceback" not in err
        first = (tmp_path / "out" / "transcript.jsonl").read_text().splitlines()
        assert 0 < len(first) < 40
        done = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, done.stderr
    recs = [json.loads(line) for line in (tmp_path / "out" / "transcript.jsonl").read_text().splitlines()]
    assert len(recs) == 40 and len({(r["attack"], r["attempt"]) for r in recs}) == 40
    res = json.loads((tmp_path / "out" / "results.json").read_text())
    assert res["totals"]["attempts"] == 40 and res["totals"]["successes"] == sum(bool(r["success"]) for r in recs)
