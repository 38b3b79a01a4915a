"""The lean HTTP/1.1 exchange of HttpTargetBase (gate/targets/http.py): the request head built once per
route, and the response read and parsed here instead of by http.client (issue 16: urllib3's request and
response machinery was 0.27 ms of CPU per call, half of an attempt; this is 0.08 ms).

urllib3 still opens each connection (TLS, certificates) and keeps the pool; only the bytes on an open
connection are handled here. Framing: Content-Length, chunked, or until close; no content coding (the
request asks for `identity`). Every failure is a `Broken` with the phase it happened in, which
`HttpTargetBase` turns into the same TargetError as the urllib3 path.
"""
from __future__ import annotations

import socket
import time
from typing import Any, Generator, Mapping

#: read granularity
CHUNK_BYTES = 64 * 1024


def request_head(method: str, pool: Any, path: str, headers: Mapping[str, str],
                 own: Mapping[str, str]) -> bytes | None:
    """`METHOD path HTTP/1.1` and the headers, ending with `Content-Length: ` (the body's length and the
    blank line follow), for the lean exchange; None when the route must go through urllib3: a proxy,
    a caller's own Accept-Encoding (the lean exchange asks for `identity`: it decodes no content
    coding), or a name or value http.client would refuse."""
    if getattr(pool, "proxy", None) is not None or not path.startswith("/"):
        return None
    if any(str(k).lower() == "accept-encoding" for k in own):
        return None
    host = pool.host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    default = 443 if pool.scheme == "https" else 80
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}" + (f":{pool.port}" if pool.port and pool.port != default else "")]
    for k, v in headers.items():
        if k.lower() in ("host", "content-length", "transfer-encoding", "expect"):
            return None
        if k.lower() == "accept-encoding":
            v = "identity"
        if any(c in k + str(v) for c in "\r\n\0") or not k or any(c in k for c in " :\t"):
            return None
        lines.append(f"{k}: {v}")
    try:
        return ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
    except UnicodeEncodeError:
        return None


def request_bytes(head: bytes, body: bytes) -> bytes:
    """The whole request: the route's head (ending in `Content-Length: `), the length, a blank line, the body."""
    return head + str(len(body)).encode("ascii") + b"\r\n\r\n" + body


class Lean:
    """The parts of a response the callers read: status, reason and lower-case headers."""

    __slots__ = ("status", "reason", "headers")

    def __init__(self, status: int, reason: str, headers: dict[str, str]):
        self.status = status
        self.reason = reason
        self.headers = headers


class Broken(Exception):
    """The connection broke (or timed out) during the lean exchange; `phase` says when."""

    def __init__(self, phase: str, exc: BaseException | None = None):
        super().__init__(phase)
        self.phase = phase
        self.exc = exc


def read_response(sock: Any, deadline: float, max_reply_bytes: int, error_bytes: int) -> tuple[Lean, bytes, bool, bool]:
    """(response, body ≤ limit, truncated, connection reusable) from a blocking socket. Raises Broken."""
    parser = parse_response(max_reply_bytes, error_bytes)
    phase = next(parser)
    try:
        while True:
            try:
                chunk = _recv(sock, deadline, phase)
            except Broken as exc:  # thrown in where the parser waits: an error body may end it quietly
                phase = parser.throw(exc)
            else:
                phase = parser.send(chunk)
    except StopIteration as done:
        return done.value


Parser = Generator[str, bytes, "tuple[Lean, bytes, bool, bool]"]


def parse_response(max_reply_bytes: int, error_bytes: int) -> Parser:
    """The response parser, free of I/O: it yields the phase it is in ("head" or "body") each time it
    needs more bytes, is sent the next chunk (b"" at end of stream) or thrown the Broken that reading it
    raised, and returns (response, body ≤ limit, truncated, connection reusable). Raises Broken. The blocking exchange (`read_response`) and
    the asyncio engine (gate/run/engine_async.py) drive the same parser."""
    buf = bytearray()
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        if len(buf) > 65536:
            raise Broken("bad-head")
        chunk = yield "head"
        if not chunk:
            raise Broken("head")
        buf += chunk
    lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
    rest = bytes(buf[end + 4:])
    parts = lines[0].split(" ", 2)
    try:
        if not parts[0].startswith("HTTP/"):
            raise ValueError
        status = int(parts[1])
    except (ValueError, IndexError):
        raise Broken("bad-head") from None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            continue
        key = name.strip().lower()
        value = value.strip()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    resp = Lean(status, parts[2] if len(parts) > 2 else "", headers)
    ok = 200 <= status < 300
    limit = max_reply_bytes if ok else error_bytes
    keep = parts[0] == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
    if status in (204, 304) or 100 <= status < 200:
        return resp, b"", False, keep
    try:
        if headers.get("content-encoding", "identity").lower() not in ("identity", ""):
            if ok:
                raise Broken("coding")
            return resp, b"", False, False
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body, truncated, done = yield from _read_chunked(rest, limit)
        elif "content-length" in headers:
            try:
                expected = int(headers["content-length"])
            except ValueError:
                raise Broken("bad-head") from None
            body, truncated, done = yield from _read_length(rest, limit, expected)
        else:
            body, truncated, done = yield from _read_close(rest, limit)
            keep = False
    except Broken:
        if ok:
            raise
        return resp, b"", False, False  # an error body that cannot be read: the status is the news
    return resp, body, truncated, keep and done and not truncated


class Short(Exception):
    def __init__(self, got: int, expected: int):
        super().__init__(f"{got} of {expected} bytes")
        self.got = got
        self.expected = expected


def _recv(sock: Any, deadline: float, phase: str) -> bytes:
    if time.monotonic() > deadline:
        raise Broken("deadline")
    try:
        return sock.recv(CHUNK_BYTES)
    except (socket.timeout, TimeoutError):
        raise Broken(f"{phase}-timeout") from None
    except OSError as exc:
        raise Broken(phase, exc) from None


def _read_length(rest: bytes, limit: int, expected: int) -> Generator[str, bytes, tuple[bytes, bool, bool]]:
    """(body, truncated, read to its end) for a Content-Length body."""
    parts = [rest]
    size = len(rest)
    while size < expected and size <= limit:
        chunk = yield "body"
        if not chunk:
            raise Broken("body", Short(size, expected))
        parts.append(chunk)
        size += len(chunk)
    body = parts[0] if len(parts) == 1 else b"".join(parts)
    if len(body) > limit and expected > limit:
        return body[:limit], True, False
    return body[:expected], False, size == expected


def _read_close(rest: bytes, limit: int) -> Generator[str, bytes, tuple[bytes, bool, bool]]:
    parts = [rest]
    size = len(rest)
    while size <= limit:
        chunk = yield "body"
        if not chunk:
            body = b"".join(parts)
            return body, False, True
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)[:limit], True, False


def _read_chunked(rest: bytes, limit: int) -> Generator[str, bytes, tuple[bytes, bool, bool]]:
    buf = bytearray(rest)
    out = bytearray()

    def need(n: int) -> Generator[str, bytes, None]:
        while len(buf) < n:
            chunk = yield "body"
            if not chunk:
                raise Broken("body", ConnectionError("connection closed inside a chunked body"))
            buf.extend(chunk)

    while True:
        while b"\r\n" not in buf:
            yield from need(len(buf) + 1)
        line, _, tail = bytes(buf).partition(b"\r\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise Broken("body", ValueError("bad chunk size")) from None
        del buf[:len(line) + 2]
        if size == 0:
            while True:  # trailers up to the blank line
                while b"\r\n" not in buf:
                    yield from need(len(buf) + 1)
                line, _, _ = bytes(buf).partition(b"\r\n")
                del buf[:len(line) + 2]
                if not line:
                    return bytes(out), False, True
        yield from need(size + 2)
        out += buf[:size]
        del buf[:size + 2]
        if len(out) > limit:
            return bytes(out[:limit]), True, False
