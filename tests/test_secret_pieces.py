"""Scrub first, cut later: a secret quoted at any offset leaves no piece of 8+ characters in anything written.

An endpoint quotes the API key (and, in two modes, a header value and the GitHub token) at every offset from
0 to 300 of an error body, a malformed reply, a reply without choices, a reply, and a reply that the
transcript cuts at 2,000 characters. Excerpts of error bodies are cut (200 / 120 characters) by the target
before the runner sees them, so the key can arrive cut in half. After one run of the action entrypoint, no
8-character piece of any secret may appear in any file the run wrote (transcript, results, reports, job
summary, outputs), in what GitHub received, or in the log (except the ``::add-mask::`` lines).
"""
from __future__ import annotations

import json
import secrets
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
