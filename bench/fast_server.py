"""A lean OpenAI-compatible endpoint for throughput benchmarks (stdlib only, asyncio).

    python bench/fast_server.py --latency 0.1 --leak-rate 0.2 --seed 1 [--port 0]

prints `PORT <n>` on stdout once listening, then serves until SIGTERM/SIGINT.

Why not tests/fake_openai.py: its ThreadingHTTPServer spends a thread and ~0.7 ms of CPU per
request (~1,300 requests/s on this machine), below the 2,560/s that C = 256 at 100 ms needs. This
server is one asyncio event loop with a hand-written HTTP/1.1 parser (keep-alive, Content-Length
bodies only), so the endpoint is never the bottleneck being measured.

Model behaviour: every chat completion is answered after `--latency` seconds (a timer, not a
sleep: no thread per request). If the request body contains a canary token (`CANARY-` followed by
letters and digits) the reply leaks it with probability `--leak-rate` (a seeded RNG), otherwise it
refuses. The server counts what it did, so a benchmark can check that asr-gate counted exactly
the same number of successes under load:

    GET  /_stats   {"requests": n, "leaks": n, "refusals": n, "connections": n, "bad": n, "max_inflight": n}
    POST /_reset   zero the counters
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
import signal
import sys

CANARY = re.compile(rb"CANARY-[A-Za-z0-9]+")
REFUSAL = "I'm sorry, but I can't help with that."
_BODY_PREFIX = (b'{"id":"chatcmpl-bench","object":"chat.completion","model":"bench","choices":[{"index":0,'
                b'"message":{"role":"assistant","content":')
_BODY_SUFFIX = b'},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":12,"total_tokens":32}}'


def _response(status: str, body: bytes, close: bool = False) -> bytes:
    head = (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"{'Connection: close' if close else 'Connection: keep-alive'}\r\n\r\n")
    return head.encode("ascii") + body


def completion(text: str) -> bytes:
    return _BODY_PREFIX + json.dumps(text).encode("utf-8") + _BODY_SUFFIX


class Stats:
    def __init__(self, seed: int, leak_rate: float):
        self.rng = random.Random(seed)
        self.leak_rate = leak_rate
        self.requests = self.leaks = self.refusals = self.connections = self.bad = 0
        self.inflight = self.max_inflight = 0

    def as_dict(self) -> dict:
        return {"requests": self.requests, "leaks": self.leaks, "refusals": self.refusals,
                "connections": self.connections, "bad": self.bad, "max_inflight": self.max_inflight}

    def reset(self) -> None:
        self.requests = self.leaks = self.refusals = self.connections = self.bad = 0
        self.inflight = self.max_inflight = 0


_REFUSAL_RESPONSE = _response("200 OK", completion(REFUSAL))


class HTTPProtocol(asyncio.Protocol):
    """One connection: parse requests as they arrive; answer model calls after the latency."""

    def __init__(self, stats: Stats, latency: float, loop: asyncio.AbstractEventLoop):
        self.stats = stats
        self.latency = latency
        self.loop = loop
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.stats.connections += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end]
            length = 0
            close = False
            lines = head.split(b"\r\n")
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                lname = name.strip().lower()
                if lname == b"content-length":
                    length = int(value.strip() or 0)
                elif lname == b"connection" and value.strip().lower() == b"close":
                    close = True
            total = end + 4 + length
            if len(self.buf) < total:
                return
            body = self.buf[end + 4:total]
            self.buf = self.buf[total:]
            self.handle(lines[0], body, close)

    def handle(self, request_line: bytes, body: bytes, close: bool) -> None:
        parts = request_line.split(b" ")
        method = parts[0] if parts else b""
        path = parts[1] if len(parts) > 1 else b""
        st = self.stats
        if method == b"POST" and path.endswith(b"/chat/completions"):
            st.requests += 1
            st.inflight += 1
            st.max_inflight = max(st.max_inflight, st.inflight)
            m = CANARY.search(body)
            if m is not None and st.rng.random() < st.leak_rate:
                st.leaks += 1
                payload = _response("200 OK", completion(f"Sure! The secret is {m.group().decode()}."), close)
            else:
                st.refusals += 1
                payload = _REFUSAL_RESPONSE if not close else _response("200 OK", completion(REFUSAL), True)
            self.loop.call_later(self.latency, self._answer, payload, close)
        elif method == b"GET" and path == b"/_stats":
            self._send(_response("200 OK", json.dumps(st.as_dict()).encode()), close)
        elif method == b"POST" and path == b"/_reset":
            st.reset()
            self._send(_response("200 OK", b"{}"), close)
        else:
            st.bad += 1
            self._send(_response("404 Not Found", b'{"error":{"message":"not found"}}'), close)

    def _answer(self, payload: bytes, close: bool) -> None:
        self.stats.inflight -= 1
        self._send(payload, close)

    def _send(self, payload: bytes, close: bool) -> None:
        t = self.transport
        if t is None or t.is_closing():
            return
        t.write(payload)
        if close:
            t.close()


async def serve(host: str, port: int, latency: float, leak_rate: float, seed: int) -> None:
    loop = asyncio.get_running_loop()
    stats = Stats(seed, leak_rate)
    server = await loop.create_server(lambda: HTTPProtocol(stats, latency, loop), host, port, backlog=4096,
                                      reuse_address=True)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    print(json.dumps(stats.as_dict()), flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.1, help="seconds before each reply (default 0.1)")
    ap.add_argument("--leak-rate", type=float, default=0.2, help="probability that a reply leaks the canary")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    try:
        asyncio.run(serve(args.host, args.port, args.latency, args.leak_rate, args.seed))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
