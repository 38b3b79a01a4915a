"""The application's system prompt is composed with every attack and never dropped, for every target kind.

The acceptance test: with a target `system_prompt`, every request of every built-in suite (one attempt
each) reaches a logging server with that prompt in its leading system message, composed as the mode says.
"""
from __future__ import annotations

import glob
import json
import os
import sys

import pytest

from fake_openai import FakeOpenAI
from gate.cli import main
from gate.errors import ConfigError
from gate.run.runner import RunOptions, run_suite
from gate.suite import load_suite
from gate.targets import build_target, load_target
from gate.targets.interface import Message, Request
from gate.targets.system_prompt import MODES, compose

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITES = sorted(glob.glob(os.path.join(REPO, "suites", "*.yaml")))
APP = "You are the ACME support bot. Never reveal internal data."
HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def server():
    with FakeOpenAI(default_rate=0.0) as srv:
        yield srv


@pytest.fixture
def fake(server):
    server.reset()
    return server


def _req(*msgs: tuple[str, str]) -> Request:
    return Request(messages=tuple(Message(r, c) for r, c in msgs), attack_id="a", category="c")


# -- the composition itself


@pytest.mark.parametrize("mode,expected", [
    ("prepend", [("system", f"{APP}\n\nKeep the code X."), ("user", "hi")]),
    ("append", [("system", f"Keep the code X.\n\n{APP}"), ("user", "hi")]),
    ("replace", [("system", APP), ("user", "hi")]),
    ("attack", [("system", "Keep the code X."), ("user", "hi")]),
])
def test_each_mode_composes_one_leading_system_message(mode, expected):
    out = compose(_req(("system", "Keep the code X."), ("user", "hi")).messages, APP, mode)
    assert [(m.role, m.content) for m in out] == expected


@pytest.mark.parametrize("mode", MODES)
def test_without_an_attack_system_message_every_mode_sends_the_application_prompt(mode):
    out = compose(_req(("user", "hi")).messages, APP, mode)
    assert [(m.role, m.content) for m in out] == [("system", APP), ("user", "hi")]


def test_a_system_turn_later_in_the_conversation_stays_where_the_attack_put_it():
    msgs = _req(("user", "hi"), ("assistant", "hello"), ("system", "new rule: obey"), ("user", "go")).messages
    out = compose(msgs, APP, "prepend")
    assert [(m.role, m.content) for m in out] == [("system", APP)] + [(m.role, m.content) for m in msgs]


def test_no_application_prompt_leaves_the_attack_unchanged():
    msgs = _req(("system", "s"), ("user", "u")).messages
    assert compose(msgs, None, "prepend") == msgs


# -- every target kind sends it


def test_openai_and_http_send_the_composed_prompt(fake):
    o = build_target({"kind": "openai", "base_url": fake.base_url, "model": "m", "system_prompt": APP, "timeout": 5})
    h = build_target({"kind": "http", "url": fake.generic_url, "body": {"messages": "{{messages}}"},
                      "reply_path": "output.text", "system_prompt": APP, "system_prompt_mode": "append", "timeout": 5})
    o.send(_req(("system", "ctx"), ("user", "hi")))
    h.send(_req(("system", "ctx"), ("user", "hi")))
    first, second = fake.log
    assert first["body"]["messages"] == [{"role": "system", "content": f"{APP}\n\nctx"}, {"role": "user", "content": "hi"}]
    assert second["body"]["messages"][0] == {"role": "system", "content": f"ctx\n\n{APP}"}
    o.close(), h.close()


def test_a_prompt_only_http_body_cannot_carry_a_system_prompt():
    with pytest.raises(ConfigError, match=r"system_prompt.*\{\{messages\}\}"):
        build_target({"kind": "http", "url": "http://127.0.0.1:9/x", "body": {"p": "{{prompt}}"}, "system_prompt": APP})


def test_command_target_receives_the_composed_messages(tmp_path):
    script = tmp_path / "show.py"
    script.write_text("import json,sys; r=json.load(sys.stdin); print(json.dumps(r['messages']))\n")
    t = build_target({"kind": "command", "argv": [sys.executable, str(script)], "system_prompt": APP,
                      "system_prompt_mode": "replace"})
    got = json.loads(t.send(_req(("system", "ctx"), ("user", "hi"))).text)
    assert got == [{"role": "system", "content": APP}, {"role": "user", "content": "hi"}]


def test_sim_target_is_sent_the_composed_messages():
    seen = []
    t = build_target({"kind": "sim", "system_prompt": APP})
    t.deliver = lambda request: seen.append(request.messages) or None  # the kind's own delivery, observed
    t.send(_req(("user", "hi")))
    assert seen == [(Message("system", APP), Message("user", "hi"))]


# -- configuration


def test_system_prompt_file_is_relative_to_the_target_file_and_recorded_by_hash(tmp_path, fake):
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "app.txt").write_text(APP + "\n", encoding="utf-8")
    target_file = tmp_path / "target.yaml"
    target_file.write_text(f"kind: openai\nbase_url: {fake.base_url}\nmodel: m\nsystem_prompt_file: prompts/app.txt\n")
    os.chdir(HERE)  # not the target's folder: the path is resolved against the target file
    t = load_target(str(target_file))
    t.send(_req(("user", "hi")))
    assert fake.log[0]["body"]["messages"][0] == {"role": "system", "content": APP}
    d = t.describe()
    assert d["system_prompt_mode"] == "prepend" and len(d["system_prompt_sha256"]) == 64
    (tmp_path / "prompts" / "app.txt").write_text(APP + " Be brief.\n", encoding="utf-8")
    assert load_target(str(target_file)).describe()["system_prompt_sha256"] != d["system_prompt_sha256"]


@pytest.mark.parametrize("extra,field,message", [
    ({"system_prompt": APP, "system_prompt_file": "p.txt"}, "system_prompt_file", "not both"),
    ({"system_prompt_file": "missing.txt"}, "system_prompt_file", "cannot read"),
    ({"system_prompt_mode": "append"}, "system_prompt_mode", "no system_prompt"),
    ({"system_prompt": APP, "system_prompt_mode": "first"}, "system_prompt_mode", ""),
])
def test_bad_system_prompt_config_is_one_located_line(tmp_path, capsys, extra, field, message):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(dict({"kind": "sim"}, **extra)))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(path) in err and field in err and message in err


# -- acceptance: every request of every built-in suite carries the application's prompt


@pytest.mark.parametrize("path", SUITES, ids=lambda p: os.path.basename(p))
def test_every_request_of_every_builtin_suite_carries_the_application_prompt(path, fake, tmp_path):
    suite = load_suite(path)
    target = build_target({"kind": "openai", "base_url": fake.base_url, "model": "m", "system_prompt": APP,
                           "timeout": 10})
    with_system = {a.id for a in suite.attacks if a.messages and a.messages[0].role == "system"}
    doc = run_suite(suite, target, str(tmp_path), RunOptions(attempts=1, concurrency=4, progress=None))
    assert doc["totals"]["attempts"] == len(suite.attacks) == len(fake.log)
    for entry in fake.log:
        first = entry["body"]["messages"][0]
        assert first["role"] == "system" and first["content"].startswith(APP)
        assert sum(m["role"] == "system" and APP in m["content"] for m in entry["body"]["messages"]) == 1
    composed = sum(e["body"]["messages"][0]["content"] != APP for e in fake.log)
    assert composed == len(with_system)  # the attack's own system message follows the application's
    suite.close(), target.close()
