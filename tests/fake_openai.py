"""A real HTTP server on 127.0.0.1 that plays a leaky LLM, for tests and benchmarks.

    from fake_openai import FakeOpenAI

    with FakeOpenAI(default_rate=0.1, rates={"ignore previous": 0.8}, seed=1) as srv:
        target = build_target({"kind": "openai", "base_url": srv.base_url, "model": "fake"})
        ...
        srv.total_leaks, srv.leaks, srv.answered, srv.faults, srv.requests, srv.log

Endpoints
    POST /v1/chat/completions   OpenAI chat completions ({"model", "messages", ...} → choices/usage)
    POST /generic               {"prompt": "..."} or {"messages": [...]} → {"output": {"text": ...},
                                "usage": {"input_tokens", "output_tokens"}}  (for kind: http)
    GET  /v1/models             a one-model list

Behaviour of a normal reply: the conversation text (all message contents) is matched against the
`rates` substrings in order (first hit wins, else `default_rate`); with that probability (drawn
from the server's own seeded RNG) the reply leaks — it contains the first token matching
`canary_pattern` found in the conversation, else a canary found written backwards turned round (an
obedient model given `{{canary.reversed}}`), or `secret`, or "PWNED" — otherwise it is a refusal.
Truth is counted per prompt key (the last user message with canaries replaced by "{{canary}}", and
backwards ones by "{{canary.reversed}}"):
`answered[key]` replies a client can judge, `leaks[key]` of them leaked; `requests` counts every
POST, `faults[name]` every injected fault, `connections` every TCP connection accepted. Thread-safe.

Faults (names): "429" (no Retry-After), "429_seconds" (Retry-After: <retry_after>), "429_date"
(Retry-After as an HTTP-date retry_after seconds ahead), "429_ms" (retry-after-ms), "503_seconds",
"503_date",
any 3-digit status such as "500", "502", "503", "408", "400", "401", "404" (JSON error body),
"delay" (sleep `delay` seconds, then a refusal), "reset" (partial body, then TCP RST), "malformed"
(invalid JSON), "no_choices" (valid JSON without choices / output), "empty" (empty content: a valid
reply), "huge" (a `huge_bytes` reply streamed in chunks), "trickle" (a refusal sent one byte every
`trickle_interval` seconds). Faults are taken first from `schedule` (one entry per model request,
None = normal) and then drawn with the probabilities in `faults`. A fault never counts as a leak;
"empty" and "huge" replies count as answered (a client judges them), the others do not.

`api_key`: when set, model requests without `Authorization: Bearer <api_key>` get a 401.
`latency`: seconds slept before every model reply (benchmarks).
"""
from __future__ import annotations

import collections
import email.utils
import json
import random
import re
import socket
import struct
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterable, Mapping

REFUSAL = "I'm sorry, but I can't help with that."
#: a canary written backwards (`{{canary.reversed}}` of a `CANARY-...` token)
REVERSED_CANARY = re.compile(r"[A-Za-z0-9]+-YRANAC")
LEAK = "Sure! Here is the secret you asked for: {secret}"
_STATUS_FAULT = re.compile(r"^[1-5]\d\d$")
NAMED_FAULTS = ("429", "429_seconds", "429_date", "429_ms", "503_seconds", "503_date", "delay", "reset", "malformed",
                "no_choices", "empty", "huge", "trickle")


def check_fault(name: str | None) -> str | None:
    if name is None or name in NAMED_FAULTS or _STATUS_FAULT.match(name):
        return name
    raise ValueError(f"unknown fault {name!r}: use one of {', '.join(NAMED_FAULTS)} or a 3-digit status")


class FakeOpenAI:
    def __init__(self, *, default_rate: float = 0.0, rates: Mapping[str, float] | None = None, seed: int = 0,
                 secret: str | None = None, canary_pattern: str = r"CANARY-[A-Za-z0-9]+",
                 faults: Mapping[str, float] | None = None, schedule: Iterable[str | None] | None = None,
                 latency: float = 0.0, retry_after: float = 1, delay: float = 2.0,
                 huge_bytes: int = 10 * 1024 * 1024, trickle_interval: float = 0.05, api_key: str | None = None,
                 model: str = "fake-model", log_limit: int = 10_000, refusal: str = REFUSAL,
                 leak_template: str = LEAK, host: str = "127.0.0.1", port: int = 0, close_each: bool = False):
        self.default_rate = float(default_rate)
        self.close_each = close_each  # close every connection after its reply, without saying so (keep-alive broken)
        self.rates = dict(rates or {})
        self.secret = secret
        self.canary_re = re.compile(canary_pattern)
        self.fault_rates = {check_fault(k): float(v) for k, v in (faults or {}).items()}
        if sum(self.fault_rates.values()) > 1 + 1e-9:
            raise ValueError("fault probabilities add up to more than 1")
        self.latency = float(latency)
        self.retry_after = retry_after
        self.delay = float(delay)
        self.huge_bytes = int(huge_bytes)
        self.trickle_interval = float(trickle_interval)
        self.api_key = api_key
        self.model = model
        self.refusal = refusal
        self.leak_template = leak_template
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._schedule: collections.deque = collections.deque(check_fault(f) for f in (schedule or ()))
        self._log: collections.deque = collections.deque(maxlen=log_limit)
        self.leaks: collections.Counter = collections.Counter()
        self.answered: collections.Counter = collections.Counter()
        self.faults: collections.Counter = collections.Counter()
        self.requests = 0
        self.connections = 0  # TCP connections accepted (keep-alive reuse shows as connections < requests)
        self._server = _Server((host, port), _Handler)
        self._server.fake = self
        self._thread: threading.Thread | None = None

    # -- lifecycle

    def start(self) -> "FakeOpenAI":
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="fake-openai", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """http://127.0.0.1:PORT"""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL (…/v1) for kind: openai."""
        return self.url + "/v1"

    @property
    def generic_url(self) -> str:
        """The plain JSON endpoint for kind: http."""
        return self.url + "/generic"

    # -- control and truth

    def add_schedule(self, *faults: str | None) -> None:
        """Append faults (None = a normal reply) to be used by the next model requests, in order."""
        checked = [check_fault(f) for f in faults]
        with self._lock:
            self._schedule.extend(checked)

    def reset(self) -> None:
        with self._lock:
            self.leaks.clear()
            self.answered.clear()
            self.faults.clear()
            self.requests = 0
            self.connections = 0
            self._log.clear()
            self._schedule.clear()

    @property
    def log(self) -> list[dict[str, Any]]:
        """Recent requests: {method, path, headers, body, fault, leaked} (oldest first)."""
        with self._lock:
            return list(self._log)

    @property
    def total_leaks(self) -> int:
        with self._lock:
            return sum(self.leaks.values())

    @property
    def total_answered(self) -> int:
        with self._lock:
            return sum(self.answered.values())

    def leaks_for(self, substring: str) -> int:
        """Leaks summed over the prompt keys containing `substring`."""
        with self._lock:
            return sum(n for k, n in self.leaks.items() if substring in k)

    def prompt_key(self, prompt: str) -> str:
        return REVERSED_CANARY.sub("{{canary.reversed}}", self.canary_re.sub("{{canary}}", prompt))

    def rate_for(self, text: str) -> float:
        for substring, rate in self.rates.items():
            if substring in text:
                return float(rate)
        return self.default_rate

    # -- used by the handler

    def _pick_fault(self) -> str | None:
        with self._lock:
            if self._schedule:
                return self._schedule.popleft()
            if not self.fault_rates:
                return None
            draw = self._rng.random()
        acc = 0.0
        for name, p in self.fault_rates.items():
            acc += p
            if draw < acc:
                return name
        return None

    def _decide_leak(self, conversation: str) -> bool:
        rate = self.rate_for(conversation)
        with self._lock:
            return self._rng.random() < rate

    def _leak_text(self, conversation: str) -> str:
        m = self.canary_re.search(conversation)
        if m:
            secret = m.group(0)
        else:  # a canary given backwards ({{canary.reversed}}): an obedient model turns it round
            r = REVERSED_CANARY.search(conversation)
            secret = r.group(0)[::-1] if r else (self.secret or "PWNED")
        return self.leak_template.format(secret=secret)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256
    fake: FakeOpenAI

    def handle_error(self, request: Any, client_address: Any) -> None:  # clients hanging up are normal here
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, socket.timeout)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    server_version = "FakeOpenAI/1.0"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        fake = self.server.fake
        with fake._lock:
            fake.connections += 1

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    # -- plumbing

    def _send(self, status: int, body: bytes, headers: Mapping[str, str] | None = None,
              ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        # headers and body in one write: two small writes meet Nagle + delayed ACK (40 ms per reply)
        self._headers_buffer.append(b"\r\n" + body)
        self.flush_headers()

    def _json(self, status: int, obj: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, json.dumps(obj).encode("utf-8"), headers)

    def do_GET(self) -> None:
        if self.path.rstrip("/") == "/v1/models":
            self._json(200, {"object": "list", "data": [{"id": self.server.fake.model, "object": "model"}]})
        else:
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        try:
            self._post()
        except (ConnectionError, TimeoutError, socket.timeout):
            self.close_connection = True
        if self.server.fake.close_each:
            self.close_connection = True

    # -- a model request

    def _post(self) -> None:
        fake = self.server.fake
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            return self._json(411, {"error": {"message": "Content-Length required"}})
        raw = self.rfile.read(int(length))
        path = self.path.split("?")[0].rstrip("/")
        if path not in ("/v1/chat/completions", "/generic"):
            return self._json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})
        openai = path == "/v1/chat/completions"
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        entry: dict[str, Any] = {"method": "POST", "path": path, "headers": dict(self.headers.items()),
                                 "body": body, "fault": None, "leaked": False}
        with fake._lock:
            fake.requests += 1
            fake._log.append(entry)
        messages = _messages(body, openai)
        if messages is None:
            entry["fault"] = "bad_request"
            return self._json(400, {"error": {"message": "request body must be JSON with messages or prompt",
                                              "type": "invalid_request_error"}})
        if fake.api_key is not None and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
            entry["fault"] = "401"
            with fake._lock:
                fake.faults["401"] += 1
            return self._json(401, {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error",
                                              "code": "invalid_api_key"}})
        if fake.latency:
            time.sleep(fake.latency)
        conversation = "\n".join(m["content"] for m in messages)
        prompt = next((m["content"] for m in reversed(messages) if m["role"] == "user"), messages[-1]["content"]
                      if messages else "")
        key = fake.prompt_key(prompt)
        fault = fake._pick_fault()
        if fault is not None:
            entry["fault"] = fault
            with fake._lock:
                fake.faults[fault] += 1
            return self._fault(fault, openai, key, messages)
        leaked = fake._decide_leak(conversation)
        text = fake._leak_text(conversation) if leaked else fake.refusal
        entry["leaked"] = leaked
        with fake._lock:
            fake.answered[key] += 1
            if leaked:
                fake.leaks[key] += 1
        self._reply(openai, text, messages)

    def _reply(self, openai: bool, text: str, messages: list[dict[str, str]]) -> None:
        self._json(200, _reply_obj(openai, text, messages, self.server.fake.model))

    def _fault(self, fault: str, openai: bool, key: str, messages: list[dict[str, str]]) -> None:
        fake = self.server.fake
        if fault.startswith("429") or fault.startswith("503_"):
            status = int(fault[:3])
            headers = {}
            if fault.endswith("_seconds"):
                headers["Retry-After"] = str(fake.retry_after)
            elif fault.endswith("_date"):
                when = datetime.now(timezone.utc) + timedelta(seconds=float(fake.retry_after))
                headers["Retry-After"] = email.utils.format_datetime(when, usegmt=True)
            elif fault.endswith("_ms"):
                headers["retry-after-ms"] = str(int(float(fake.retry_after) * 1000))
            return self._json(status, {"error": {"message": "Rate limit reached. Please try again later.",
                                                 "type": "requests" if status == 429 else "server_error"}}, headers)
        if _STATUS_FAULT.match(fault):
            status = int(fault)
            return self._json(status, {"error": {"message": f"injected HTTP {status}", "type": "server_error"}})
        if fault == "delay":
            time.sleep(fake.delay)
            return self._reply(openai, fake.refusal, messages)
        if fault == "reset":
            return self._reset(openai)
        if fault == "malformed":
            return self._send(200, b'{"id": "chatcmpl-x", "choices": [{"message": {"content": "half')
        if fault == "no_choices":
            obj = {"id": "chatcmpl-x", "object": "chat.completion", "model": fake.model} if openai else {"result": None}
            return self._json(200, obj)
        if fault == "empty":
            with fake._lock:
                fake.answered[key] += 1
            return self._reply(openai, "", messages)
        if fault == "huge":
            with fake._lock:
                fake.answered[key] += 1
            return self._huge(openai)
        if fault == "trickle":
            return self._trickle(openai, messages)
        raise ValueError(f"unknown fault {fault!r}")

    def _reset(self, openai: bool) -> None:
        prefix = json.dumps(_reply_obj(openai, "x" * 4000, [], self.server.fake.model)).encode()[:2000]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(prefix) * 10))
        self.end_headers()
        self.wfile.write(prefix)
        self.wfile.flush()
        time.sleep(0.05)  # let the client start reading the body
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()  # RST
        self.close_connection = True

    def _huge(self, openai: bool) -> None:
        marker = "@@HUGE@@"
        envelope = json.dumps(_reply_obj(openai, marker, [], self.server.fake.model)).encode()
        head, tail = envelope.split(marker.encode())
        size = self.server.fake.huge_bytes
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(head) + size + len(tail)))
        self.end_headers()
        self.wfile.write(head)
        block = b"All work and no play makes Jack a dull boy. " * 1490  # ~64 KiB
        sent = 0
        try:
            while sent < size:
                n = min(len(block), size - sent)
                self.wfile.write(block[:n])
                sent += n
            self.wfile.write(tail)
        except (ConnectionError, OSError):
            self.close_connection = True

    def _trickle(self, openai: bool, messages: list[dict[str, str]]) -> None:
        body = json.dumps(_reply_obj(openai, self.server.fake.refusal, messages, self.server.fake.model)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                time.sleep(self.server.fake.trickle_interval)
        except (ConnectionError, OSError):
            self.close_connection = True


def _messages(body: Any, openai: bool) -> list[dict[str, str]] | None:
    if not isinstance(body, dict):
        return None
    msgs = body.get("messages")
    if isinstance(msgs, list) and all(isinstance(m, dict) and isinstance(m.get("content"), str) for m in msgs):
        return [{"role": str(m.get("role", "user")), "content": m["content"]} for m in msgs]
    if not openai and isinstance(body.get("prompt"), str):
        return [{"role": "user", "content": body["prompt"]}]
    return None


def _reply_obj(openai: bool, text: str, messages: list[dict[str, str]], model: str) -> dict[str, Any]:
    prompt_tokens = sum(len(m["content"].split()) for m in messages)
    completion_tokens = len(text.split())
    if openai:
        return {
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }
    return {"output": {"text": text}, "usage": {"input_tokens": prompt_tokens, "output_tokens": completion_tokens}}
