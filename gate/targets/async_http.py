"""The asyncio side of the lean HTTP/1.1 exchange, for the runner's asyncio engine (gate/run/engine_async.py).

Why: at high concurrency a thread per request is the limit, not the endpoint. With 256 threads each
reply wakes a thread that must win the GIL back; the process then spent more CPU in futex calls than
in asr-gate's own work (bench/throughput.py; issue 16). One event loop has nothing to contend for.

What is sent and read is the same as the blocking exchange (gate/targets/lean_http.py): the request
head the route built once, the body the kind prepared (`HttpTargetBase.prepare`), the same response
parser (`parse_response`), the same limits and the same TargetErrors (`HttpTargetBase._broken`,
`_status_error`), and the kind's own `finish` reads the reply. Only plain-HTTP routes without a proxy
qualify (`AsyncSender.open` returns None otherwise and the runner keeps its threads): TLS, proxies and
a caller's own Accept-Encoding stay with urllib3.

Connections are kept alive and reused; a connection the server closed while idle (noticed by the loop,
or by one poll before reuse as urllib3 does) is never reused, so no attempt is sent on a dead socket.
"""
from __future__ import annotations

import asyncio
import collections
import select
import socket
import time
from typing import TYPE_CHECKING, Any

from .http import ERROR_BODY_BYTES
from .interface import Reply, Request, TargetError
from .lean_http import Broken, parse_response, request_bytes

if TYPE_CHECKING:
    from .http import HttpTargetBase


class _Connection(asyncio.Protocol):
    """One keep-alive connection: received chunks queue up until the exchange reads them."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.chunks: collections.deque[bytes | BaseException] = collections.deque()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    # -- protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def data_received(self, data: bytes) -> None:
        self._push(data)

    def eof_received(self) -> bool:
        self.closed = True
        self._push(b"")
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._push(exc if exc is not None else b"")

    def _push(self, item: bytes | BaseException) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            self.waiter = None
            waiter.set_result(item)
        else:
            self.chunks.append(item)

    # -- the exchange's side

    async def recv(self, phase: str, stall: float, deadline: float) -> bytes:
        """The next chunk (b"" at end of stream), or Broken: `phase`-timeout after `stall` seconds without
        a byte, "deadline" past the call's deadline, `phase` when the connection broke."""
        if self.chunks:
            item = self.chunks.popleft()
        else:
            if time.monotonic() > deadline:
                raise Broken("deadline")
            waiter = self.waiter = self.loop.create_future()
            timer = self.loop.call_later(stall, _expire, waiter)
            try:
                item = await waiter
            finally:
                timer.cancel()
                self.waiter = None
            if item is _STALLED:
                raise Broken(f"{phase}-timeout")
        if isinstance(item, BaseException):
            raise Broken(phase, item)
        return item

    def dropped(self) -> bool:
        """Whether the idle connection has something to read — the server's close, most likely — that the
        loop has not handled yet (the check urllib3 makes before reusing a connection: one poll)."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is None:
            return True
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


_STALLED = object()


def _expire(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_result(_STALLED)


class AsyncSender:
    """Sends requests of one HTTP target from the event loop: `await send(request)` is `target.send(request)`."""

    def __init__(self, target: "HttpTargetBase", host: str, port: int):
        self.target = target
        self.host = host
        self.port = port
        self.idle: list[_Connection] = []

    @classmethod
    def open(cls, target: "HttpTargetBase") -> "AsyncSender | None":
        """A sender when every call of `target` can take the lean exchange over plain HTTP, else None."""
        url = getattr(target, "url", None)
        if not url:
            return None
        try:
            route = target._route(url, target.headers)  # type: ignore[attr-defined]
        except Exception:  # noqa: BLE001 - an unusable URL is reported by the threads' first call
            return None
        pool = route.pool
        if route.head is None or pool.scheme != "http":
            return None
        return cls(target, pool.host, int(pool.port or 80))

    async def send(self, request: Request) -> Reply:
        t = self.target
        call = t.prepare(t.composed(request))
        content, truncated, headers = await self._call(call.url, t.encode(call.body), call.headers, call.shown_url)
        return t.finish(content, truncated, headers)

    async def _call(self, url: str, data: bytes, headers: Any, shown_url: str) -> tuple[bytes, bool, Any]:
        t = self.target
        deadline = time.monotonic() + t.timeout
        route = t._route(url, headers)
        conn = await self._connection(shown_url)
        keep = False
        try:
            assert conn.transport is not None
            conn.transport.write(request_bytes(route.head, data))
            try:
                resp, content, truncated, keep = await self._read(conn, deadline)
            except Broken as exc:
                raise t._broken(exc, shown_url) from None
            return t.accepted(resp, content, truncated, shown_url)
        finally:
            if keep and not conn.closed and not conn.chunks:
                self.idle.append(conn)
            else:
                conn.close()

    async def _read(self, conn: _Connection, deadline: float) -> tuple[Any, bytes, bool, bool]:
        t = self.target
        parser = parse_response(t.max_reply_bytes, ERROR_BODY_BYTES)
        phase = next(parser)
        try:
            while True:
                try:
                    chunk = await conn.recv(phase, t.timeout, deadline)
                except Broken as exc:
                    phase = parser.throw(exc)
                else:
                    phase = parser.send(chunk)
        except StopIteration as done:
            return done.value

    async def _connection(self, shown_url: str) -> _Connection:
        """An idle keep-alive connection still open, or a new one (TargetError when it cannot be opened)."""
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed and not conn.chunks and not conn.dropped():
                return conn
            conn.close()
        t = self.target
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: _Connection(loop), self.host, self.port), t.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise t.fail(f"no response from {shown_url} within {t.timeout:g}s", kind="timeout", retryable=True) from None
        except OSError as exc:
            raise t.fail(f"cannot connect to {shown_url}: {t.reason(exc)}", kind="connection", retryable=True) from None
        return conn

    async def warm(self) -> None:
        """Open one connection ahead of the first request (a worker calls this once before its first attempt,
        so the run's connections are set up together instead of one after each attempt's rendering). A
        failure is left for the attempt to meet and record."""
        try:
            self.idle.append(await self._connection(self.target.shown_url))
        except TargetError:
            pass

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()
