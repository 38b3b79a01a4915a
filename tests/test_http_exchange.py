"""The lean HTTP exchange of HttpTargetBase (gate/targets/http.py): response framings the fake OpenAI
server does not produce (chunked, close-delimited, a short Content-Length body, a content coding)."""
from __future__ import annotations

import gzip
import json
import socket
import threading

import pytest

from gate.targets.interface import Message, Request, TargetError
from gate.targets.openai import OpenAITarget

REPLY = json.dumps({"choices": [{"message": {"role": "assistant", "content": "hello there"}}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2}}).encode()


class Canned:
    """A socket server answering every request on a connection with the next canned response."""

    def __init__(self, responses: list[bytes], close_after: bool = False):
        self.responses = list(responses)
        self.requests: list[bytes] = []
        self.close_after = close_after
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._conn, args=(conn,), daemon=True).start()

    def _conn(self, conn: socket.socket) -> None:
        buf = b""
        with conn:
            while self.responses:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, rest = buf.partition(b"\r\n\r\n")
                length = int([ln.split(b":")[1] for ln in head.split(b"\r\n") if ln.lower().startswith(b"content-length")][0])
                while len(rest) < length:
                    rest += conn.recv(65536)
                self.requests.append(head + b"\r\n\r\n" + rest[:length])
                buf = rest[length:]
                conn.sendall(self.responses.pop(0))
                if self.close_after:
                    return

    def close(self) -> None:
        self.sock.close()


def target(port: int, **extra) -> OpenAITarget:
    return OpenAITarget({"kind": "openai", "base_url": f"http://127.0.0.1:{port}/v1", "model": "m", "timeout": 5,
                         "retries": 0, **extra}, source="test")


def request() -> Request:
    return Request(messages=(Message("user", "hi"),), attack_id="a", category="c", attempt=0)


def ok(body: bytes, extra: str = "") -> bytes:
    return (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
            .encode() + body)


def chunked(body: bytes) -> bytes:
    parts = [body[:10], body[10:]]
    out = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    for p in parts:
        out += f"{len(p):x};ext=1\r\n".encode() + p + b"\r\n"
    return out + b"0\r\nX-Trailer: t\r\n\r\n"


def test_keep_alive_chunked_and_content_length_on_one_connection():
    srv = Canned([ok(REPLY), chunked(REPLY), ok(REPLY)])
    try:
        t = target(srv.port)
        for _ in range(3):
            assert t.send(request()).text == "hello there"
        assert len(srv.requests) == 3
        head = srv.requests[0].split(b"\r\n\r\n")[0].decode()
        assert head.startswith("POST /v1/chat/completions HTTP/1.1\r\n")
        assert f"Host: 127.0.0.1:{srv.port}" in head and "Accept-Encoding: identity" in head
        assert json.loads(srv.requests[0].split(b"\r\n\r\n", 1)[1])["model"] == "m"
    finally:
        srv.close()


def test_close_delimited_body():
    srv = Canned([b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n" + REPLY],
                 close_after=True)
    try:
        assert target(srv.port).send(request()).text == "hello there"
    finally:
        srv.close()


def test_short_body_is_a_connection_error():
    srv = Canned([f"HTTP/1.1 200 OK\r\nContent-Length: {len(REPLY) + 50}\r\n\r\n".encode() + REPLY], close_after=True)
    try:
        with pytest.raises(TargetError) as e:
            target(srv.port).send(request())
        assert e.value.kind == "connection" and e.value.retryable and "closed after" in str(e.value)
    finally:
        srv.close()


def test_no_reply_is_a_connection_error_and_a_coded_reply_is_bad_response():
    srv = Canned([b""], close_after=True)
    try:
        with pytest.raises(TargetError) as e:
            target(srv.port).send(request())
        assert e.value.kind == "connection" and e.value.retryable
    finally:
        srv.close()
    srv = Canned([ok(gzip.compress(REPLY), "Content-Encoding: gzip\r\n")])
    try:
        with pytest.raises(TargetError) as e:
            target(srv.port).send(request())
        assert e.value.kind == "bad_response" and e.value.retryable
    finally:
        srv.close()


def test_error_status_with_retry_after_and_truncation():
    body = b'{"error": {"message": "slow down"}}'
    srv = Canned([f"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: {len(body)}\r\n\r\n"
                  .encode() + body, ok(REPLY)])
    try:
        t = target(srv.port, max_reply_bytes=40)
        with pytest.raises(TargetError) as e:
            t.send(request())
        assert e.value.kind == "http_429" and e.value.retry_after == 7 and "slow down" in str(e.value)
        reply = t.send(request())  # 40 bytes of the reply: truncated, parsed leniently or refused, never hung
        assert reply.truncated
    except TargetError as exc:
        assert exc.kind in ("too_large", "bad_response")
    finally:
        srv.close()


def test_own_accept_encoding_or_a_proxy_keeps_urllib3():
    t = target(1, headers={"Accept-Encoding": "gzip"})
    assert t._route(t.url, t.headers).head is None
    t = target(1)
    assert t._route(t.url, t.headers).head is not None
