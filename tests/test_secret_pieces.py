"""Scrub first, cut later: a secret quoted at any offset leaves no piece of 8+ characters in anything written.

An endpoint quotes the API key (and, in two modes, a header value and the GitHub token) at every offset from
0 to 300 of an error body, a malformed reply, a reply without choices, a reply, and a reply that the
transcript cuts at 2,000 characters. Excerpts of error bodies are cut (200 / 120 characters) by the target
before the runner sees them, so the target must scrub before it cuts too. After one run of the action
entrypoint, no 8-character piece of any secret, nor a prefix of 5 or more characters, may appear in any file
the run wrote (transcript, results, reports, job summary, outputs), in what GitHub received, or in the log
(except the ``::add-mask::`` lines). Then each target kind, and the LLM judge, is swept across its excerpt's
cut directly, including a program whose stderr tail starts inside the key.
"""
from __future__ import annotations

import json
import re
import secrets
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from action_harness import make_baseline, pr_event, run_action, start_fake_github
from gate import redact

KEY = "sk-" + secrets.token_hex(20)
HEADER = "hv-" + secrets.token_hex(20)
GH_TOKEN = "ghs_" + secrets.token_hex(18)
OFFSETS = range(0, 301)
REPLY_CHARS = 2000  # the runner's default `reply_chars`
#: attack mode → the secret it quotes
MODES = {"err-json": KEY, "err-text": KEY, "err-500": KEY, "bad-json": KEY, "no-choices": KEY, "reply": KEY,
         "reply-cut": KEY, "err-header": HEADER, "reply-token": GH_TOKEN}
FILL = "x"


def pieces(secret: str, n: int = redact.MIN_PIECE) -> set[str]:
    return {secret[i:i + n] for i in range(len(secret) - n + 1)}


class LeakyEndpoint:
    """An OpenAI-compatible endpoint that quotes a secret at the next offset of each mode (0, 1, ... 300)."""

    def __init__(self, clean: bool = False):
        self.clean = clean
        self.next = {m: 0 for m in MODES}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                prompt = body["messages"][-1]["content"]
                mode = next((m for m in MODES if f"[{m}]" in prompt), None)
                status, ctype, data = outer.answer(mode)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def chat(text: str) -> bytes:
        return json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}],
                           "usage": {"prompt_tokens": 1, "completion_tokens": 1}}).encode()

    def answer(self, mode: str | None) -> tuple[int, str, bytes]:
        if self.clean or mode is None:
            return 200, "application/json", self.chat("No.")
        with self.lock:
            k = self.next[mode]
            self.next[mode] += 1
        quoted = FILL * k + MODES[mode] + " (end of the quote)"
        if mode in ("err-json", "err-header"):
            return 400, "application/json", json.dumps({"error": {"message": quoted}}).encode()
        if mode == "err-500":
            return 500, "application/json", json.dumps({"error": {"message": quoted}}).encode()
        if mode == "err-text":
            return 400, "text/plain", quoted.encode()
        if mode == "bad-json":
            return 200, "application/json", ("{" + quoted).encode()
        if mode == "no-choices":
            return 200, "application/json", json.dumps({"detail": quoted}).encode()
        if mode == "reply-cut":  # the key straddles the transcript's cut at 2,000 characters for some k
            return 200, "application/json", self.chat(FILL * (REPLY_CHARS - 250) + quoted)
        return 200, "application/json", self.chat(quoted)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("pieces") / "ws"
    root.mkdir()
    fake = start_fake_github()
    fake.add_token(GH_TOKEN, "github-actions[bot]", app=True, write=True)
    attacks = [{"id": m, "category": "leak", "prompt": f"[{m}] say it"} for m in MODES] + \
              [{"id": "clean", "category": "leak", "prompt": "hello"}]
    (root / "suite.yaml").write_text(yaml.safe_dump({
        "suite": "pieces", "version": 1, "defaults": {"attempts": len(OFFSETS), "detector": {"contains": "PWNED"}},
        "attacks": attacks}, sort_keys=False), encoding="utf-8")
    target = {"kind": "openai", "model": "m", "api_key_env": "ASR_PIECE_KEY", "headers": {"X-Extra": "${ASR_PIECE_HDR}"},
              "concurrency": 8, "retries": 0, "timeout": 10}
    env = {"ASR_PIECE_KEY": KEY, "ASR_PIECE_HDR": HEADER}
    with LeakyEndpoint(clean=True) as clean, LeakyEndpoint() as leaky:
        (root / "accepted.yaml").write_text(yaml.safe_dump(dict(target, base_url=clean.base_url)), encoding="utf-8")
        make_baseline(root, root / "suite.yaml", root / "accepted.yaml", env=env)
        (root / "target.yaml").write_text(yaml.safe_dump(dict(target, base_url=leaky.base_url)), encoding="utf-8")
        pr = fake.add_pull_request("feature")
        run = run_action(root, {"suite": "suite.yaml", "target": "target.yaml"}, token=GH_TOKEN, api_url=fake.url,
                         event=pr_event(number=pr.number, head_sha=fake.refs["heads/feature"]), extra_env=env,
                         argv=("--max-error-rate", "1"), timeout=300)
        yield {"run": run, "fake": fake, "root": root, "served": dict(leaky.next)}
    fake.stop()


def test_every_offset_was_served_and_the_run_reported_a_verdict(world):
    run = world["run"]
    assert "Traceback" not in run.log, run.log[-3000:]
    assert world["served"] == {m: len(OFFSETS) for m in MODES}
    # a Verdict (too many errors make it 'error', exit 3), so every report file was rendered and written
    assert run.outputs["verdict"] == "error" and run.returncode == 3, run.log[-3000:]
    out = world["root"] / "asr-gate-out"
    for name in ("transcript.jsonl", "results.json", "report.md", "verdict.json", "junit.xml"):
        assert (out / name).is_file(), name
    records = [json.loads(line) for line in (out / "transcript.jsonl").read_text("utf-8").splitlines()]
    assert len(records) == len(OFFSETS) * (len(MODES) + 1)
    kinds = {r["attack"]: r.get("error") for r in records}
    assert kinds["err-json"] == "http_400" and kinds["err-500"] == "http_500"
    assert kinds["bad-json"] == "bad_response" and kinds["reply"] is None
    # the redaction is visible: whole values and pieces both became ***; an error excerpt quotes the secret only
    # when it starts within the excerpt (200 characters of an error body, 120 of a malformed reply)
    starred: dict[str, int] = {}
    for r in records:
        starred[r["attack"]] = starred.get(r["attack"], 0) + ("***" in (r.get("reply") or r.get("message") or ""))
    assert starred["reply"] == starred["reply-token"] == len(OFFSETS)
    assert starred["clean"] == 0
    assert all(starred[m] > 90 for m in MODES), starred


def _written_files(world) -> list[Path]:
    root: Path = world["root"]
    runner_dir = root.parent / f"{root.name}-runner"
    return [p for d in (root, runner_dir) for p in d.rglob("*")
            if p.is_file() and ".baseline-run" not in p.parts and not p.name.startswith("event-")]


def _find_piece(text: str) -> str | None:
    for secret in (KEY, HEADER, GH_TOKEN):
        for piece in pieces(secret):
            if piece in text:
                return f"{piece!r} of {secret[:3]}…"
    return None


def test_no_piece_of_a_secret_in_any_file_written(world):
    files = _written_files(world)
    names = {p.name for p in files}
    assert {"transcript.jsonl", "results.json", "report.md", "verdict.json", "junit.xml"} <= names
    assert any(n.startswith("summary-") for n in names) and any(n.startswith("output-") for n in names)
    for path in files:
        found = _find_piece(path.read_text("utf-8", errors="replace"))
        assert found is None, f"{found} in {path}"


def test_no_piece_of_a_secret_in_the_log_or_on_github(world):
    run, fake = world["run"], world["fake"]
    for line in run.log.splitlines():
        if not line.startswith("::add-mask::"):
            assert _find_piece(line) is None, line[:300]
    sent = json.dumps([r.body for r in fake.requests]) + json.dumps([c.body for c in fake.comments])
    assert fake.comments and _find_piece(sent) is None


def test_no_prefix_of_a_secret_at_any_cut_of_the_full_run(world):
    """Shorter than a piece, so no scrub after the fact could find it: a prefix of 5+ characters is left only
    where something cut a secret before scrubbing it (an error body's excerpt at 200 characters, a malformed
    reply's at 120: offsets 193-199 and 113-119 of this run put the key across those cuts)."""
    run, fake = world["run"], world["fake"]
    for path in _written_files(world):
        found = _prefix_of_a_secret(path.read_text("utf-8", errors="replace"))
        assert found is None, f"{found} in {path}"
    for line in run.log.splitlines():
        if not line.startswith("::add-mask::"):
            assert _prefix_of_a_secret(line) is None, line[:300]
    sent = json.dumps([r.body for r in fake.requests]) + json.dumps([c.body for c in fake.comments])
    assert _prefix_of_a_secret(sent) is None


# ------------------------------------------------------------------------------------------------
# gate.redact itself


def test_scrub_replaces_whole_values_and_every_piece_of_eight_or_more():
    s = redact.prepare([KEY, "tiny", None, ""])
    assert s == [KEY, "tiny"]
    assert redact.scrub(f"a {KEY} b", s) == "a *** b"
    assert redact.scrub(f"cut: {KEY[:20]}…", s) == "cut: ***…"
    assert redact.scrub(f"{KEY[-9:]} was the tail", s) == "*** was the tail"
    assert redact.scrub(f"mid {KEY[5:13]} mid", s) == "mid *** mid"
    assert redact.scrub(f"seven {KEY[:7]} stays", s) == f"seven {KEY[:7]} stays"  # below the piece length
    assert redact.scrub("a tiny word", s) == "a *** word"  # short secrets: whole values only
    assert redact.scrub("nothing here", s) == "nothing here"


@pytest.mark.parametrize("offset", range(0, 60))
def test_cut_scrubs_before_and_after_the_cut(offset):
    s = redact.prepare([KEY])
    text = "x" * offset + KEY + "y" * 50
    for limit in range(0, offset + len(KEY) + 10, 7):
        kept = redact.cut(text, limit, s)
        assert _find_piece(kept) is None and len(kept) <= limit + len(redact.REDACTED)


def test_remembered_secrets_are_scrubbed_by_the_runner(monkeypatch):
    from gate.run.transcript import secrets_of

    monkeypatch.setattr(redact, "_known", set())
    redact.remember(GH_TOKEN, None, "abc")

    class T:
        config = {"headers": {"X-Extra": "${V}"}}
        headers = {"X-Extra": HEADER, "Content-Type": "application/json"}

        def secrets(self):
            return [KEY]

    found = secrets_of(T(), [])
    assert set(found) == {KEY, HEADER, GH_TOKEN} and [len(x) for x in found] == sorted(map(len, found), reverse=True)


def test_every_piece_of_eight_or_more_is_found_whatever_its_alignment():
    """The fast pre-check looks for 5-character windows at every 4th offset; no piece of 8+ may slip by it."""
    s = redact.prepare([KEY])
    for start in range(len(KEY) - redact.MIN_PIECE + 1):
        for end in range(start + redact.MIN_PIECE, len(KEY) + 1):
            text = f"before {KEY[start:end]} after"
            assert redact.scrub(text, s) == "before *** after", (start, end)


@pytest.mark.parametrize("offset", range(0, 40))
def test_cut_redacts_a_piece_the_sender_cut_that_straddles_our_cut(offset):
    """A piece of 8+ characters (the sender had cut the key already, so no whole value is there to replace)
    that our cut would shorten below 8 characters is still recognised, and its kept part redacted."""
    s = redact.prepare([KEY])
    for piece in (KEY[:8], KEY[:20], KEY[5:30], KEY[-12:]):
        text = "x" * offset + piece + "y" * 50
        for limit in range(offset - 2, offset + len(piece) + 3):
            kept = redact.cut(text, max(limit, 0), s)
            assert not any(c in kept for c in "0123456789abcdef"), (piece, limit, kept)
            assert len(kept) <= max(limit, 0) + len(redact.REDACTED) - 1


@pytest.mark.parametrize("limit", [60, 80, 120, 200])
def test_excerpt_scrubs_before_the_cut_at_every_offset(limit):
    from gate.targets.text import excerpt

    s = redact.prepare([KEY, HEADER])
    for secret in (KEY, HEADER):
        for k in range(limit - len(secret) - 5, limit + 5):
            shown = excerpt("x" * k + secret + " (end of the quote)\n\tmore", limit, s)
            assert len(shown) <= limit + len(redact.REDACTED) and shown.endswith(("…", "more"))
            assert _prefix_of_a_secret(shown) is None, (k, shown)


# ------------------------------------------------------------------------------------------------
# the targets scrub an endpoint's or a program's text before they cut an excerpt of it
#
# The runner's scrub can only recognise pieces of 8 or more characters, so a key that a target's excerpt cut
# after its first 1-7 characters used to reach every file and the log as that short prefix (issue 14).


#: the shortest prefix (and suffix) of a secret that counts as found: the 3-4 character prefixes ("sk-",
#: "hv-", "ghs_") are not secret, one random character more is
SHORTEST = 5


def _prefix_of_a_secret(text: str) -> str | None:
    for secret in (KEY, HEADER, GH_TOKEN):
        for n in range(SHORTEST, len(secret) + 1):
            if secret[:n] in text:
                return f"{secret[:n]!r} (a prefix of {secret[:3]}…)"
    return _find_piece(text)


class BoundaryEndpoint:
    """Quotes a secret at the offset the request names: a prompt "[mode] k" gets FILL * k + secret + a tail,
    in the place the mode says (an error body, a reason phrase, a malformed reply, a judge's answer, ...)."""

    def __init__(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                m = re.search(r"\[([a-z0-9-]+)\] (\d+)", raw)
                status, reason, ctype, data = outer.answer(m.group(1), int(m.group(2)))
                self.send_response(status, reason)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    @staticmethod
    def answer(mode: str, k: int) -> tuple[int, str | None, str, bytes]:
        secret = HEADER if mode == "err-header" else KEY
        quoted = FILL * k + secret + " (end of the quote)"
        as_json = "application/json"
        if mode in ("err-json", "err-header"):
            return 400, None, as_json, json.dumps({"error": {"message": quoted}}).encode()
        if mode == "err-500":
            return 500, None, as_json, json.dumps({"message": quoted}).encode()
        if mode == "err-text":
            return 400, None, "text/plain", quoted.encode()
        if mode == "err-200":  # 200 with an error object and no choices
            return 200, None, as_json, json.dumps({"error": {"message": quoted}}).encode()
        if mode == "reason":
            return 400, quoted, as_json, b""
        if mode == "bad-json":
            return 200, None, as_json, ("{" + quoted).encode()
        if mode in ("no-choices", "no-path"):
            return 200, None, as_json, json.dumps({"detail": quoted}).encode()
        if mode == "bad-content":
            return 200, None, as_json, json.dumps({"choices": [{"message": {"content": 5}}], "x": quoted}).encode()
        if mode == "judge":  # an answer that is neither yes nor no
            return 200, None, as_json, LeakyEndpoint.chat(quoted)
        raise AssertionError(mode)


#: (mode, the excerpt's cut): offsets from well before to past it are served
OPENAI_MODES = [("err-json", 200), ("err-header", 200), ("err-500", 200), ("err-text", 200), ("err-200", 200),
                ("reason", 60), ("bad-json", 120), ("no-choices", 120), ("bad-content", 120)]


@pytest.fixture(scope="module")
def boundary(monkeypatch_module):
    monkeypatch_module.setenv("ASR_PIECE_KEY", KEY)
    monkeypatch_module.setenv("ASR_PIECE_HDR", HEADER)
    with BoundaryEndpoint() as srv:
        yield srv


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def _sweep(target, modes, *, around) -> dict[str, list[str]]:
    """The TargetError message for each mode and offset k from `around(cut)` (the secret from wholly
    inside the excerpt, across the cut, to wholly past it)."""
    from gate.targets import Message, Request, TargetError

    messages: dict[str, list[str]] = {}
    for mode, cut in modes:
        for k in around(cut):
            with pytest.raises(TargetError) as info:
                target.send(Request(messages=(Message("user", f"[{mode}] {k}"),)))
            messages.setdefault(mode, []).append(str(info.value))
    return messages


def _check_sweep(messages: dict[str, list[str]]) -> None:
    for mode, texts in messages.items():
        for text in texts:
            assert _prefix_of_a_secret(text) is None, (mode, text)
        # the sweep crossed the cut: the redaction is seen in some messages, the secret is past the cut in others
        assert any("*" in t for t in texts) and any("*" not in t for t in texts), (mode, texts)


def test_openai_target_excerpts_keep_no_prefix_of_a_secret_at_the_cut(boundary):
    from gate.targets import build_target

    target = build_target({"kind": "openai", "base_url": boundary.base_url, "model": "m", "retries": 0,
                           "timeout": 10, "api_key_env": "ASR_PIECE_KEY",
                           "headers": {"X-Extra": "${ASR_PIECE_HDR}"}})
    try:
        _check_sweep(_sweep(target, OPENAI_MODES, around=lambda cut: range(max(0, cut - 60), cut + 20)))
    finally:
        target.close()


def test_http_target_excerpts_keep_no_prefix_of_a_secret_at_the_cut(boundary):
    from gate.targets import build_target

    target = build_target({"kind": "http", "url": boundary.base_url + "/ask", "reply_path": "answer",
                           "retries": 0, "timeout": 10, "headers": {"Authorization": "Bearer ${ASR_PIECE_KEY}"}})
    try:
        modes = [("err-json", 200), ("err-text", 200), ("reason", 60), ("bad-json", 120), ("no-path", 120)]
        _check_sweep(_sweep(target, modes, around=lambda cut: range(max(0, cut - 60), cut + 20)))
    finally:
        target.close()


def test_judge_answer_excerpt_keeps_no_prefix_of_a_secret(boundary):
    from gate.detectors import build_detector
    from gate.detectors.interface import DetectContext, DetectorError

    d = build_detector({"judge": {"target": {"kind": "openai", "base_url": boundary.base_url, "model": "j",
                                             "timeout": 10, "retries": 0, "api_key_env": "ASR_PIECE_KEY"}}})
    texts = []
    for k in range(0, 75):
        with pytest.raises(DetectorError) as info:
            d.detect(f"[judge] {k}", DetectContext(prompt="p", attack_id="a", meta={}))
        texts.append(str(info.value))
    d.close()
    _check_sweep({"judge": texts})


COMMAND = r"""
import json, os, sys
req = json.loads(sys.stdin.readline())
mode, k = req["prompt"].split()
k, key = int(k), os.environ["ASR_PIECE_KEY"]
if mode == "[exit]":  # the key in the last line of stderr, then a failure
    sys.stderr.write("an earlier line\n" + "x" * k + key + " (end of the quote)\n")
    sys.exit(1)
if mode == "[tail]":  # one stderr line longer than the tail asr-gate keeps, cut k characters into the key
    sys.stderr.write("y" * 100 + key + "z" * (4096 - (len(key) - k)))
    sys.exit(1)
sys.stdout.write("x" * k + key + " is not JSON")  # [stdout]
"""


def test_command_target_excerpts_keep_no_piece_of_a_secret_at_either_end(boundary, tmp_path):
    from gate.targets import build_target
    from gate.targets.command import STDERR_TAIL_BYTES

    assert STDERR_TAIL_BYTES == 4096
    script = tmp_path / "leaky.py"
    script.write_text(COMMAND, encoding="utf-8")
    target = build_target({"kind": "command", "argv": [sys.executable, str(script)], "env": ["ASR_PIECE_KEY"],
                           "reply_path": "answer", "timeout": 20})
    messages = _sweep(target, [("exit", 200), ("stdout", 120)], around=lambda cut: range(cut - 50, cut + 5))
    _check_sweep(messages)
    # stderr's tail starts inside the key: its end (1 to len - 1 characters) is dropped with the cut line
    tail = _sweep(target, [("tail", 0)], around=lambda _: range(1, len(KEY)))["tail"]
    for text in tail:
        assert "exited with status 1" in text and "y" not in text.split("status 1", 1)[1], text
        assert not any(KEY[-n:] in text for n in range(SHORTEST, len(KEY))), text
    target.close()
